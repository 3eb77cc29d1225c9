"""`PodmanRunner` against real Podman: a started container answers over its pipes, is hardened and
labelled, keeps secrets off argv, goes away when asked, and orphan cleanup removes only the dead's."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream

from mcp_registry_server.catalog.entry import CatalogEntry
from mcp_registry_server.podman import service
from mcp_registry_server.podman.api import open_podman_api
from mcp_registry_server.podman.errors import PodmanError, PodmanUnavailable
from mcp_registry_server.podman.runner import PodmanRunner, StartedContainer
from mcp_registry_server.settings import RegistrySettings
from tests.e2e.support import TEST_LABEL

SECRET = "s3cr3t-do-not-leak-7f1c"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}},
}

pytestmark = pytest.mark.usefixtures("podman_env")


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[RegistrySettings]:
    runtime_dir = Path(tempfile.mkdtemp(prefix="mcpr-"))  # short: it holds a Unix socket
    monkeypatch.setattr(service, "ROOTFUL_SOCKET", runtime_dir / "no-rootful.sock")
    yield RegistrySettings(
        catalog_dirs=(),
        config_dir=runtime_dir / "config",
        runtime_dir=runtime_dir / "run",
        extra_labels={TEST_LABEL: "1"},
    )
    shutil.rmtree(runtime_dir, ignore_errors=True)


@asynccontextmanager
async def open_runner(settings: RegistrySettings) -> AsyncIterator[PodmanRunner]:
    async with open_podman_api(settings, environ={}) as api:
        yield PodmanRunner(settings, api)


def misbehave_entry(image: str, **fields: Any) -> CatalogEntry:
    return CatalogEntry.model_validate(
        {
            "id": "misbehave",
            "name": "Misbehave",
            "description": "Fault-test server.",
            "image": image,
            "env": [{"name": "MISBEHAVE_PAGE_SIZE", "default": "0"}],
            "secrets": [{"name": "MISBEHAVE_TOKEN"}],
            **fields,
        }
    )


async def rpc(container: StartedContainer, reader: BufferedByteReceiveStream, message: dict[str, Any]) -> Any:
    assert container.process.stdin is not None
    await container.process.stdin.send(json.dumps(message).encode() + b"\n")
    with anyio.fail_after(20):
        while True:
            reply = json.loads(await reader.receive_until(b"\n", 1 << 20))
            if reply.get("id") == message["id"]:
                return reply


async def podman(*args: str, check: bool = True, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """The podman CLI, independent of the API under test."""
    return await anyio.run_process(["podman", *args], check=check, input=stdin)


async def inspect(name: str) -> dict[str, Any]:
    return json.loads((await podman("inspect", name, "--format", "json")).stdout)[0]


async def container_exists(name: str) -> bool:
    return (await podman("container", "exists", name, check=False)).returncode == 0


async def wait_running(runner: PodmanRunner, name: str) -> None:
    with anyio.fail_after(20):
        while not await runner.api.container_exists(name):  # noqa: ASYNC110 polling podman is the point
            await anyio.sleep(0.05)


async def test_started_container_talks_stdio_is_hardened_and_goes_away(
    settings: RegistrySettings, test_images: dict[str, str]
) -> None:
    async with open_runner(settings) as runner:
        container = await runner.start_interactive_container(
            misbehave_entry(test_images["misbehave"]),
            prefix="misbehave",
            values={"MISBEHAVE_TOKEN": SECRET, "UNDECLARED": "ignored"},
            enabled_volumes={},
        )
        assert container.process.stdout is not None
        reader = BufferedByteReceiveStream(container.process.stdout)
        try:
            reply = await rpc(container, reader, INITIALIZE)
            assert reply["result"]["serverInfo"]["name"] == "misbehave"

            # The secret reached the server ...
            call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call"}
            env_call = call | {"params": {"name": "env", "arguments": {"name": "MISBEHAVE_TOKEN"}}}
            reply = await rpc(container, reader, env_call)
            assert reply["result"]["content"][0]["text"] == SECRET
            # ... but not through podman's command line or environment: as a Podman secret.
            podman_proc = anyio.Path(f"/proc/{container.process.pid}")
            assert SECRET.encode() not in await (podman_proc / "cmdline").read_bytes()
            assert SECRET.encode() not in await (podman_proc / "environ").read_bytes()
            assert not any(SECRET in arg for arg in container.argv)
            secret_name = f"{container.name}-MISBEHAVE_TOKEN"
            flag = container.argv[container.argv.index("--secret") :][:2]
            assert flag == ["--secret", f"{secret_name},type=env,target=MISBEHAVE_TOKEN"]
            assert "MISBEHAVE_TOKEN" not in container.argv
            assert secret_name in await podman_secrets()
            assert "UNDECLARED" not in container.argv

            details = await inspect(container.name)
            host = details["HostConfig"]
            assert container.name.startswith("mcp-registry-misbehave-")
            assert host["CapAdd"] == [] and "CAP_CHOWN" in host["CapDrop"] and "CAP_SYS_CHROOT" in host["CapDrop"]
            assert "no-new-privileges" in host["SecurityOpt"]
            assert host["ReadonlyRootfs"] is True
            assert host["NetworkMode"] == "none"
            assert host["Memory"] == 512 * 1024 * 1024
            assert host["NanoCpus"] == 1_000_000_000
            assert host["PidsLimit"] == 256
            assert host["LogConfig"]["Type"] == "none"
            assert "/tmp" in host["Tmpfs"]
            labels = details["Config"]["Labels"]
            assert {key: labels.get(key) for key in container.labels} == dict(container.labels)
            assert labels["io.mcp-registry.managed"] == "true"
            assert labels["io.mcp-registry.instance"] == settings.instance_id
            assert labels["io.mcp-registry.owner"] == runner.owner_label()
            assert labels["io.mcp-registry.owner"].startswith(f"{socket.gethostname()}:{os.getpid()}:")
            assert labels["io.mcp-registry.entry"] == "misbehave"
            assert labels["io.mcp-registry.prefix"] == "misbehave"
            assert labels[TEST_LABEL] == "1"
            capabilities = await podman("exec", container.name, "grep", "CapEff", "/proc/1/status")
            assert capabilities.stdout.split() == [b"CapEff:", b"0000000000000000"]
        finally:
            assert container.process.stdin is not None
            await container.process.stdin.aclose()
            assert await runner.ensure_gone(container.name, grace=10)
        with anyio.fail_after(10):
            assert await container.process.wait() == 0
    assert not await container_exists(container.name)
    assert not [name for name in await podman_secrets() if name.startswith(container.name)]


async def test_ensure_gone_force_removes_a_container_that_ignores_stdin(
    settings: RegistrySettings, test_images: dict[str, str]
) -> None:
    entry = misbehave_entry(test_images["misbehave"], command=["sleep", "300"])
    async with open_runner(settings) as runner:
        container = await runner.start_interactive_container(entry, prefix="sleeper", values={}, enabled_volumes={})
        await wait_running(runner, container.name)
        assert container.process.stdin is not None
        await container.process.stdin.aclose()
        started = time.monotonic()
        assert await runner.ensure_gone(container.name, grace=0.5)
        assert time.monotonic() - started < 10
        with anyio.fail_after(10):
            await container.process.wait()
    assert not await container_exists(container.name)


def dead_pid() -> int:
    for pid in range(int(Path("/proc/sys/kernel/pid_max").read_text()) - 1, 300, -1):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            continue
    raise AssertionError("no free pid found")


async def podman_secrets() -> dict[str, dict[str, str]]:
    """Every Podman secret's name and labels."""
    ids = (await podman("secret", "ls", "--noheading", "--format", "{{.ID}}")).stdout.split()
    inspected = json.loads((await podman("secret", "inspect", *ids)).stdout) if ids else []
    return {item["Spec"]["Name"]: item["Spec"].get("Labels") or {} for item in inspected}


async def test_remove_orphans_removes_only_containers_of_dead_owners_on_this_host(
    settings: RegistrySettings, test_images: dict[str, str]
) -> None:
    async with open_runner(settings) as runner:
        hostname = settings.hostname
        suffix = f"{os.getpid()}-{time.monotonic_ns() % 10**8}"
        managed = ["io.mcp-registry.managed=true"]
        cases = {
            "dead-owner": [*managed, f"io.mcp-registry.owner={hostname}:{dead_pid()}:12345"],
            "reused-pid": [*managed, f"io.mcp-registry.owner={hostname}:{os.getppid()}:not-its-start-time"],
            "live-owner": [*managed, f"io.mcp-registry.owner={runner.owner_label()}"],
            "other-host": [*managed, f"io.mcp-registry.owner=elsewhere.example:{dead_pid()}:1"],
            "no-registry-label": [f"io.mcp-registry.owner={hostname}:{dead_pid()}:1"],
        }
        names = {case: f"mcp-registry-test-{case}-{suffix}" for case in cases}
        try:
            for case, labels in cases.items():
                label_args = [arg for label in [f"{TEST_LABEL}=1", *labels] for arg in ("--label", label)]
                await podman(
                    *("run", "-d", "--name", names[case], *label_args, "--network=none"),
                    *("--entrypoint", '["sleep", "300"]', test_images["misbehave"]),
                )
                # A secret a registry made for that container, left behind when the registry died.
                await podman("secret", "create", *label_args, f"{names[case]}-TOKEN", "-", stdin=b"left-behind")

            removed = await runner.remove_orphans()

            assert names["dead-owner"] in removed and names["reused-pid"] in removed
            assert not await container_exists(names["dead-owner"])
            assert not await container_exists(names["reused-pid"])
            for case in ("live-owner", "other-host", "no-registry-label"):
                assert names[case] not in removed
                assert await container_exists(names[case]), case
            secrets_left = await podman_secrets()
            assert {case for case in cases if f"{names[case]}-TOKEN" in secrets_left} == {
                "live-owner",
                "other-host",
                "no-registry-label",
            }
        finally:
            # Later tests count the test-labelled containers; leave none behind.
            await podman("rm", "--force", "--ignore", "--time", "0", *names.values(), check=False)
            for name in names.values():
                await podman("secret", "rm", f"{name}-TOKEN", check=False)


async def test_a_missing_image_is_refused_before_anything_starts(settings: RegistrySettings) -> None:
    async with open_runner(settings) as runner:
        with pytest.raises(PodmanError, match="not available locally") as caught:
            await runner.start_interactive_container(
                misbehave_entry("localhost/mcp-registry-test/absent:1"), prefix="absent", values={}, enabled_volumes={}
            )
    assert "podman pull localhost/mcp-registry-test/absent:1" in (caught.value.remedy or "")


async def test_status_and_a_podman_that_cannot_be_run(settings: RegistrySettings, test_images: dict[str, str]) -> None:
    async with open_runner(settings) as runner:
        status = await runner.podman_status()
        assert status.available and status.version and status.socket_origin == "private" and status.error is None

        broken = PodmanRunner(replace(settings, podman_executable="/nonexistent/podman"), runner.api)
        with pytest.raises(PodmanUnavailable, match="Could not run '/nonexistent/podman'") as caught:
            await broken.start_interactive_container(
                misbehave_entry(test_images["misbehave"]), prefix="broken", values={}, enabled_volumes={}
            )
        assert "Install Podman" in (caught.value.remedy or "")
