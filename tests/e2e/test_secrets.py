"""Secret values never leak: not into any process's argv while the server runs, not into the
registry's log (even at DEBUG), not into any tool result or error message; the files of ours that
hold them are 0600 in a 0700 dir, and Podman's own copy of the container's environment is
unreadable to other users. Secret values travel as Podman secrets, so neither the registry's
environment nor podman's holds them, and the secrets are gone with the container.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import subprocess
from pathlib import Path
from typing import Any

from tests.e2e.harness import all_cmdlines, descendants, podman_inspect, structured
from tests.e2e.support import connect_registry, text_of


def readable_by_others(path: Path) -> bool:
    """Whether a user other than the owner could read `path` (its mode and every parent dir's search bit)."""
    if not path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH):
        return False
    return all(parent.stat().st_mode & (stat.S_IXGRP | stat.S_IXOTH) for parent in path.parents)


def files_containing(root: Path, needle: bytes) -> list[Path]:
    found = []
    for directory, _, names in os.walk(root):
        for name in names:
            path = Path(directory) / name
            try:
                if path.is_file() and needle in path.read_bytes():
                    found.append(path)
            except OSError:
                continue
    return found


def environ_of(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return b""


def host_side_processes(registry_pid: int) -> list[int]:
    """The registry, its descendants, and every podman and conmon process (not the container's own)."""
    named = [
        pid
        for pid, argv in all_cmdlines().items()
        if os.path.basename(argv.split(b"\x00")[0]) in (b"podman", b"conmon")
    ]
    return sorted({registry_pid, *descendants(registry_pid), *named})


def json_paths_holding(value: Any, needle: str, path: str = "") -> list[str]:
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in json_paths_holding(item, needle, f"{path}.{key}".lstrip("."))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in json_paths_holding(item, needle, f"{path}[{index}]")]
    return [path] if isinstance(value, str) and needle in value else []


def env_index(inspected: dict[str, Any]) -> int:
    return next(i for i, item in enumerate(inspected["Config"]["Env"]) if item.startswith("MISBEHAVE_TOKEN="))


def podman_masks_env_secrets() -> bool:
    """Podman 5.3 and later mask `type=env` secrets in `podman inspect` (containers/podman#23959)."""
    version = subprocess.run(["podman", "version", "--format", "{{.Client.Version}}"], capture_output=True, text=True)
    major, minor = (int(part) for part in version.stdout.strip().split(".")[:2])
    return (major, minor) >= (5, 3)


def podman_secret_names() -> list[str]:
    listed = subprocess.run(["podman", "secret", "ls", "--noheading", "--format", "{{.Name}}"], capture_output=True)
    return listed.stdout.decode().split()


def result_text(result: Any) -> str:
    return text_of(result) + json.dumps(result.structured_content or {})


async def test_secret_values_never_leak(registry_env: dict[str, str], tmp_path: Path) -> None:
    secret = f"mcpr-secret-{secrets.token_hex(12)}"
    log_path = tmp_path / "registry.log"
    seen: list[str] = []  # every tool result the editor got

    async def call(session: Any, tool: str, arguments: dict[str, Any]) -> Any:
        result = await session.call_tool(tool, arguments)
        seen.append(f"{tool}: {result_text(result)}")
        return result

    with log_path.open("w") as log:
        async with connect_registry(registry_env, "--log-level", "DEBUG", errlog=log) as session:
            stored = await call(
                session, "registry_config_set", {"entry_id": "misbehave", "values": {"MISBEHAVE_TOKEN": secret}}
            )
            assert not stored.is_error and "MISBEHAVE_TOKEN" in text_of(stored)

            # Refused values are described, never echoed.
            for values in [
                {"MISBEHAVE_TOKEN": secret + "\x00"},
                {"MISBEHAVE_TOKEN": secret * 5000},
                {"NOT_DECLARED": secret},
                {"MISBEHAVE_TOKEN": [secret]},
                {"volume:nope": secret},
            ]:
                refused = await call(session, "registry_config_set", {"entry_id": "misbehave", "values": values})
                assert refused.is_error, values

            added = await call(session, "registry_add", {"entry_id": "misbehave"})
            container = structured(added)["container"]

            # While the server runs: in no process's argv, nor in the environment of the registry or
            # any podman process (it travels as a Podman secret), yet in the container's environment.
            leaking = {pid: argv for pid, argv in all_cmdlines().items() if secret.encode() in argv}
            assert leaking == {}, leaking
            registry_pid = structured(await call(session, "registry_status", {}))["pid"]
            hosts = host_side_processes(registry_pid)
            assert len(hosts) >= 3, hosts  # the registry, its `podman run`, conmon
            assert [pid for pid in hosts if secret.encode() in environ_of(pid)] == []
            echoed = await session.call_tool("misbehave_env", {"name": "MISBEHAVE_TOKEN"})
            assert text_of(echoed) == secret

            # Podman shows it only where Podman itself cannot help it: before 5.3 `podman inspect`
            # of a running container lists env secrets in Config.Env (masked from 5.3 on).
            inspected = podman_inspect(container)
            leaks = [path for path in json_paths_holding(inspected, secret)]
            assert leaks == ([] if podman_masks_env_secrets() else [f"Config.Env[{env_index(inspected)}]"]), leaks
            assert f"{container}-MISBEHAVE_TOKEN" in json.dumps(inspected["Config"].get("CreateCommand"))

            # Podman keeps the container's environment in its storage; only its owner can read it.
            static_dir = Path(podman_inspect(container)["StaticDir"])
            for path in files_containing(static_dir, secret.encode()):
                assert not readable_by_others(path), path

            for tool, arguments in [
                ("registry_status", {}),
                ("registry_info", {"entry_id": "misbehave"}),
                ("registry_list", {}),
                ("registry_search", {"query": "misbehave MISBEHAVE_TOKEN"}),
                ("registry_add", {"entry_id": "misbehave"}),
                ("registry_config_set", {"entry_id": "misbehave", "values": {"MISBEHAVE_PAGE_SIZE": "0"}}),
                ("misbehave_crash", {"message": "crashing with the token in my environment"}),
                ("registry_status", {}),
                ("registry_remove", {"entry_id_or_prefix": "misbehave"}),
            ]:
                await call(session, tool, arguments)

    leaked = [text for text in seen if secret in text]
    assert leaked == [], leaked
    assert secret not in log_path.read_text()
    assert [name for name in podman_secret_names() if name.startswith(container)] == []  # gone with it
    assert "DEBUG" in log_path.read_text()  # the log really was at its most verbose

    config_dir = Path(registry_env["XDG_CONFIG_HOME"]) / "mcp-registry"
    assert stat.S_IMODE(config_dir.stat().st_mode) == 0o700
    holders = files_containing(tmp_path, secret.encode())
    assert holders == [config_dir / "secrets.toml"]
    assert stat.S_IMODE(holders[0].stat().st_mode) == 0o600
    # The private Podman service's socket and log (a missing dir holds nothing).
    assert files_containing(Path(f"/tmp/mcp-registry-{os.getuid()}"), secret.encode()) == []
