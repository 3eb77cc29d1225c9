"""The registry's private `podman system service`, against real Podman: an editor's SIGTERM to the
whole process group is a clean shutdown, the service dies with a registry that is SIGKILLed, the
leftovers of a dead registry are swept at the next start (a live one's are not), a server is
removed cleanly after the service died, and a service that dies under a running registry is
started again at the next need.

Every registry here runs its own private service: XDG_RUNTIME_DIR (so the runtime dir) is a short
temp dir of the test's own, which holds no Podman socket, and the tests run as root without
/run/podman/podman.sock or as a user without a rootless socket there.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from mcp_registry_server.podman.ownership import Owner, process_start_token
from mcp_registry_server.podman.service_files import ServiceFiles
from tests.e2e.harness import RawRegistry, all_cmdlines, cmdline, descendants, instance_containers, wait_for


@pytest.fixture
def short_runtime_dir() -> Iterator[Path]:
    # Short on purpose: it holds Unix sockets, whose path must fit in 104 bytes.
    path = Path(tempfile.mkdtemp(prefix="mcpr-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def private_env(registry_env: dict[str, str], short_runtime_dir: Path) -> dict[str, str]:
    """A registry environment in which no Podman socket answers, so the registry runs its own.

    (Not by a CONTAINER_HOST that points at nothing: the podman CLI would obey it too.)"""
    env = {**registry_env, "XDG_RUNTIME_DIR": str(short_runtime_dir)}
    env.pop("CONTAINER_HOST", None)
    return env


def runtime_dir_of(env: dict[str, str]) -> Path:
    return Path(env["XDG_RUNTIME_DIR"]) / "mcp-registry"


def services_serving(runtime_dir: Path) -> list[int]:
    """Pids of `podman system service` processes whose socket is in `runtime_dir`."""
    marker = f"unix://{runtime_dir}/".encode()
    return [pid for pid, argv in all_cmdlines().items() if b"system\x00service" in argv and marker in argv]


def private_service_of(registry_pid: int) -> int:
    services = [pid for pid in descendants(registry_pid) if "system service" in cmdline(pid)]
    assert len(services) == 1, [cmdline(pid) for pid in descendants(registry_pid)]
    return services[0]


def pid_is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie (not yet reaped by init) no longer runs.
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return True


async def start_time_server(registry: RawRegistry) -> dict[str, str]:
    """Add the `time` entry; return the registry's instance id and container name."""
    await registry.initialize()
    added = await registry.structured("registry_add", {"entry_id": "time"})
    status = await registry.structured("registry_status")
    assert status["podman"]["socket_origin"] == "private", status["podman"]
    return {"instance": status["instance"], "container": added["container"]}


async def test_sigterm_to_the_whole_process_group_is_a_clean_shutdown(
    private_env: dict[str, str], tmp_path: Path
) -> None:
    log_path = tmp_path / "registry.log"
    async with RawRegistry.start(private_env, log_path, own_process_group=True) as registry:
        started = await start_time_server(registry)
        service = private_service_of(registry.pid)
        # What Codex CLI does to a registry it no longer needs: SIGTERM to every process in its group.
        os.killpg(registry.pid, signal.SIGTERM)
        with anyio.fail_after(20):
            await registry.process.wait()
    log = log_path.read_text()
    assert registry.process.returncode == 0, log[-3000:]
    assert " ERROR " not in log and "Traceback" not in log, log[-3000:]
    assert "closed all servers" in log
    assert instance_containers(started["instance"]) == []
    assert await wait_for(lambda: pid_is_gone(service), 5)
    assert list(runtime_dir_of(private_env).glob("podman-*")) == []


async def test_the_private_service_dies_with_a_sigkilled_registry(private_env: dict[str, str], tmp_path: Path) -> None:
    async with RawRegistry.start(private_env, tmp_path / "registry.log") as registry:
        started = await start_time_server(registry)
        service = private_service_of(registry.pid)
        registry.process.kill()
        await registry.process.wait()
        killed_at = time.monotonic()
        assert await wait_for(lambda: pid_is_gone(service), 5), cmdline(service)
        print(f"private service gone {time.monotonic() - killed_at:.2f} s after the registry's SIGKILL")
    # `podman run --rm` removes the container once its stdin (the dead registry's pipe) closes.
    assert await wait_for(lambda: instance_containers(started["instance"]) == [], 15)

    # What is left, its files, goes at the next start.
    def leftovers() -> list[Path]:
        return list(runtime_dir_of(private_env).glob(f"podman-{started['instance']}.*"))

    assert {path.suffix for path in leftovers()} >= {".log", ".owner"}
    async with RawRegistry.start(private_env, tmp_path / "next.log") as registry:
        await registry.initialize()
        assert await wait_for(lambda: leftovers() == [], 10), leftovers()


async def test_a_dead_registrys_service_and_socket_are_swept_at_the_next_start(
    private_env: dict[str, str], tmp_path: Path
) -> None:
    runtime_dir = runtime_dir_of(private_env)
    runtime_dir.mkdir(parents=True, mode=0o700)  # as the registry makes it (it refuses a wider one)
    # A registry that died without its service dying too (as on macOS, which has no parent-death
    # signal): a real service that outlives its owner.
    stale = await anyio.to_thread.run_sync(start_foreign_service, runtime_dir, "0123456789ab", dead_owner_label())
    # A live registry's (this test process stands in for it): not to be touched.
    live = await anyio.to_thread.run_sync(
        start_foreign_service, runtime_dir, "ba9876543210", owner_label_of(os.getpid())
    )
    try:
        log_path = tmp_path / "registry.log"
        async with RawRegistry.start(private_env, log_path) as registry:
            await start_time_server(registry)
            assert await wait_for(lambda: stale.poll() is not None, 10), log_path.read_text()[-3000:]
            assert not (runtime_dir / "podman-0123456789ab.sock").exists()
            assert not (runtime_dir / "podman-0123456789ab.owner").exists()
            assert live.poll() is None
            assert (runtime_dir / "podman-ba9876543210.sock").exists()
            assert (runtime_dir / "podman-ba9876543210.owner").exists()
        assert "Stopped the Podman service of a registry that is gone" in log_path.read_text()
    finally:
        for service in (stale, live):
            service.terminate()
            service.wait(10)
    assert services_serving(runtime_dir) == []


async def test_a_private_service_that_dies_is_started_again_at_the_next_need(
    private_env: dict[str, str], tmp_path: Path
) -> None:
    log_path = tmp_path / "registry.log"
    async with RawRegistry.start(private_env, log_path) as registry:
        started = await start_time_server(registry)
        first = private_service_of(registry.pid)
        os.kill(first, signal.SIGKILL)
        assert await wait_for(lambda: pid_is_gone(first), 5)
        podman = (await registry.structured("registry_status"))["podman"]
        assert podman["available"] is False and "cannot be reached" in podman["error"]
        assert "restart the registry" not in podman["remedy"]
        # The running server does not need the API.
        now = await registry.call_tool("time_get_current_time", {"timezone": "UTC"})
        assert not now.get("isError"), now

        added = await registry.structured("registry_add", {"entry_id": "misbehave", "prefix": "chaos"})
        assert "chaos_echo" in added["tools"]
        second = private_service_of(registry.pid)
        assert second != first
        status = await registry.structured("registry_status")
        assert status["podman"]["available"] is True and status["podman"]["socket_origin"] == "private"
        echoed = await registry.call_tool("chaos_echo", {"text": "after the restart"})
        assert echoed["structuredContent"] == {"text": "after the restart"}
        # The server started before the service died still runs and is removed as usual.
        removed = await registry.structured("registry_remove", {"entry_id_or_prefix": "time"})
        assert removed["container_removed"] is True
    log = log_path.read_text()
    assert " ERROR " not in log and "Traceback" not in log, log[-3000:]
    assert await wait_for(lambda: instance_containers(started["instance"]) == [], 10)
    assert await wait_for(lambda: pid_is_gone(second), 5)


def owner_label_of(pid: int) -> str:
    """The owner label a registry running as `pid` would write."""
    return Owner(host=socket.gethostname(), pid=pid, start_token=process_start_token(pid) or "gone").label


def dead_owner_label() -> str:
    """The owner label of a process that ran and is gone."""
    process = subprocess.Popen(["sleep", "300"])
    label = owner_label_of(process.pid)
    process.kill()
    process.wait()
    return label


def start_foreign_service(runtime_dir: Path, instance: str, owner_label: str) -> subprocess.Popen[bytes]:
    """A private service as another registry instance leaves it: socket, log and owner file."""
    files = ServiceFiles(runtime_dir, instance)
    files.write_owner(owner_label)
    with files.log.open("wb") as log:
        service = subprocess.Popen(
            ["podman", "system", "service", "--time=0", files.url],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    files.write_owner(owner_label, service.pid)
    deadline = time.monotonic() + 15
    while not files.socket.exists():
        assert service.poll() is None and time.monotonic() < deadline, "the stand-in service did not start"
        time.sleep(0.05)
    return service


async def test_a_server_is_removed_cleanly_after_the_private_service_died(
    private_env: dict[str, str], tmp_path: Path
) -> None:
    log_path = tmp_path / "registry.log"
    async with RawRegistry.start(private_env, log_path) as registry:
        started = await start_time_server(registry)
        service = private_service_of(registry.pid)
        os.kill(service, signal.SIGKILL)
        assert await wait_for(lambda: pid_is_gone(service), 5)
        # No need for a new service: the podman command confirms the container is gone.
        removed = await registry.structured("registry_remove", {"entry_id_or_prefix": "time"})
        assert removed["container_removed"] is True
        assert instance_containers(started["instance"]) == []
        assert [pid for pid in descendants(registry.pid) if "system service" in cmdline(pid)] == []
    log = log_path.read_text()
    assert " ERROR " not in log and "Traceback" not in log, log[-3000:]
    assert "with the podman command instead" in log
