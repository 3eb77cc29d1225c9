"""A record of Docker's catalog, imported with `mcp-registry catalog import docker`, activated through
`mcp-registry serve` by a real SDK client in a real container: its parameter filled into the command
line, its tools callable; a remote record that signs in with OAuth only is refused, saying so and naming its URL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import anyio

from tests.e2e.harness import podman_inspect, structured, with_catalog
from tests.e2e.support import connect_registry, text_of

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "docker_catalog"


def import_fixture(env: dict[str, str], out: Path) -> subprocess.CompletedProcess[str]:
    """`mcp-registry catalog import docker FIXTURE --out out`, as a user runs it."""
    command = [str(Path(sys.executable).parent / "mcp-registry"), "catalog", "import", "docker", str(FIXTURE)]
    return subprocess.run([*command, "--out", str(out)], capture_output=True, text=True, env=env, timeout=60)


async def test_an_imported_docker_record_activates_and_its_tools_work(
    registry_env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "imported"
    imported = await anyio.to_thread.run_sync(import_fixture, registry_env, out)
    assert imported.returncode == 0, imported.stderr
    assert sorted(path.name for path in out.glob("*.toml")) == ["remote-test.toml", "sqlite-test.toml"]

    async with connect_registry(with_catalog(registry_env, out)) as session:
        found = structured(await session.call_tool("registry_search", {"query": "create a table", "kind": "tools"}))
        hits = [(hit["entry"], hit["tool"], hit["callable"]) for hit in found["tools"]]
        assert ("sqlite-test", "create_table", False) in hits  # known before activation

        refused = await session.call_tool("registry_add", {"entry_id": "sqlite-test"})
        assert refused.is_error and "needs values for: db_name" in text_of(refused)
        stored = await session.call_tool(
            "registry_config_set", {"entry_id": "sqlite-test", "values": {"db_name": "imported.sqlite"}}
        )
        assert not stored.is_error, text_of(stored)

        added = structured(await session.call_tool("registry_add", {"entry_id": "sqlite-test", "prefix": "imp"}))
        container = podman_inspect(added["container"])
        assert container["Args"][-2:] == ["--db-path", "/mcp/imported.sqlite"]
        assert container["HostConfig"]["NetworkMode"] == "none"

        created = await session.call_tool("imp_create_table", {"query": "CREATE TABLE t (x INTEGER)"})
        assert not created.is_error, text_of(created)
        tables = await session.call_tool("imp_list_tables", {})
        assert "t" in text_of(tables)
        assert structured(await session.call_tool("registry_remove", {"entry_id_or_prefix": "imp"}))[
            "container_removed"
        ]

        remote = await session.call_tool("registry_add", {"entry_id": "remote-test"})
        assert remote.is_error
        assert "needs that OAuth sign-in" in text_of(remote) and "does not handle yet" in text_of(remote)
        assert "https://mcp.example.invalid/mcp" in text_of(remote)
        info = structured(await session.call_tool("registry_info", {"entry_id": "remote-test"}))
        assert "OAuth (example)" in info["oauth"] and "not handle" in info["oauth"]
