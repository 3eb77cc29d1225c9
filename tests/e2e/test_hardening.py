"""The hardening defaults, seen by `podman inspect` (and from inside) on containers the registry
started: all capabilities dropped, no-new-privileges, read-only root with a /tmp tmpfs, no
network, memory/cpu/pids limits (the defaults, or the entry's own), no log driver, and the
registry's labels. (The exact argv is pinned in `tests/test_podman_command.py`.)
"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from tests.e2e.harness import misbehave_entry, podman_inspect, structured, with_catalog, write_catalog
from tests.e2e.support import TEST_LABEL, TEST_RUN_LABEL, connect_registry

MIB = 1024 * 1024


def inside(container: str, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", "exec", container, *command], capture_output=True, text=True, check=False)


async def test_registry_containers_are_hardened(registry_env: dict[str, str], tmp_path: Path) -> None:
    tight = misbehave_entry("tight", memory="128m", cpus=0.5, pids_limit=32)
    env = with_catalog(registry_env, write_catalog(tmp_path / "extra-catalog", [tight]))
    async with connect_registry(env) as session:
        status = structured(await session.call_tool("registry_status", {}))
        limits = {"time": (512 * MIB, 1_000_000_000, 256), "tight": (128 * MIB, 500_000_000, 32)}
        containers = {
            entry_id: structured(await session.call_tool("registry_add", {"entry_id": entry_id}))["container"]
            for entry_id in limits
        }

        for entry_id, container in containers.items():
            details = podman_inspect(container)
            host = details["HostConfig"]
            assert host["CapAdd"] == [] and {"CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_NET_BIND_SERVICE"} <= set(
                host["CapDrop"]
            )
            assert "no-new-privileges" in host["SecurityOpt"]
            assert host["ReadonlyRootfs"] is True and "/tmp" in host["Tmpfs"]
            assert host["NetworkMode"] == "none"
            assert (host["Memory"], host["NanoCpus"], host["PidsLimit"]) == limits[entry_id]
            assert host["LogConfig"]["Type"] == "none"
            assert host["AutoRemove"] is True and host["Init"] is True

            labels = details["Config"]["Labels"]
            assert labels["io.mcp-registry.managed"] == "true"
            assert labels["io.mcp-registry.instance"] == status["instance"]
            assert labels["io.mcp-registry.owner"].startswith(f"{socket.gethostname()}:{status['pid']}:")
            assert labels["io.mcp-registry.entry"] == entry_id and labels["io.mcp-registry.prefix"] == entry_id
            assert f"{TEST_LABEL}={labels[TEST_LABEL]}" == TEST_RUN_LABEL

            # And as the server sees it: no capabilities, no privilege gain, nowhere to write or call.
            statuses = inside(container, "sh", "-c", "cat /proc/[0-9]*/status").stdout.splitlines()
            capabilities = [line.split()[1] for line in statuses if line.startswith("CapEff:")]
            no_new_privileges = [line.split()[1] for line in statuses if line.startswith("NoNewPrivs:")]
            assert len(capabilities) >= 3, statuses  # init, the server, and this `sh`
            assert set(capabilities) == {"0000000000000000"} and set(no_new_privileges) == {"1"}
            assert inside(container, "touch", "/etc/written").returncode != 0
            assert inside(container, "touch", "/tmp/written").returncode == 0
            interfaces = inside(container, "cat", "/proc/net/dev").stdout
            assert [line.split(":")[0].strip() for line in interfaces.splitlines()[2:]] == ["lo"]
