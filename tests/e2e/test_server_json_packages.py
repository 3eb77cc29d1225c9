"""server.json records of real npm and PyPI packages, imported with `mcp-registry catalog import
mcp-registry`, activated through `mcp-registry serve` by the SDK client: each package is built into a
local image on the first add (MCP_REGISTRY_NODE_IMAGE / MCP_REGISTRY_PYTHON_IMAGE are the test bed's
bases) and its tools answer; a second add reuses the image."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from tests.e2e.harness import structured, with_catalog
from tests.e2e.support import connect_registry, text_of

RECORDS = Path(__file__).resolve().parents[1] / "data" / "server-json"
REGISTRY_CLI = str(Path(sys.executable).parent / "mcp-registry")


def import_records(env: dict[str, str], out: Path) -> subprocess.CompletedProcess[str]:
    command = [REGISTRY_CLI, "catalog", "import", "mcp-registry", str(RECORDS), "--out", str(out)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.parametrize(
    ("entry_id", "tool", "arguments", "expected"),
    [
        (
            "modelcontextprotocol-server-memory",
            "create_entities",
            {"entities": [{"name": "registry", "entityType": "project", "observations": ["built from npm"]}]},
            "registry",
        ),
        ("modelcontextprotocol-server-time", "get_current_time", {"timezone": "Europe/Paris"}, "Europe/Paris"),
    ],
)
async def test_an_imported_package_record_builds_activates_and_answers(
    registry_env: dict[str, str], tmp_path: Path, entry_id: str, tool: str, arguments: dict, expected: str
) -> None:
    out = tmp_path / "imported"
    imported = await anyio.to_thread.run_sync(import_records, registry_env, out)
    assert imported.returncode == 0, imported.stderr
    async with connect_registry(with_catalog(registry_env, out)) as session:
        added = await session.call_tool("registry_add", {"entry_id": entry_id, "prefix": "pkg"})
        assert not added.is_error, text_of(added)
        result = await session.call_tool(f"pkg_{tool}", arguments)
        assert not result.is_error, text_of(result)
        assert expected in text_of(result)
        image = structured(await session.call_tool("registry_status", {}))["mounts"][0]["image"]
        assert image.startswith("localhost/mcp-registry-pkg/"), image
        removed = await session.call_tool("registry_remove", {"target": "pkg"})
        assert not removed.is_error, text_of(removed)
        again = await session.call_tool("registry_add", {"entry_id": entry_id, "prefix": "pkg"})
        assert not again.is_error, text_of(again)
        assert structured(await session.call_tool("registry_status", {}))["mounts"][0]["image"] == image
