"""The restart policy of `supervisor.supervise_mount`, with fake clients (the e2e version is in
tests/e2e/test_faults.py): failed on exit, restarts with doubling backoff up to max_restarts,
failed attempts count, a removed mount is left alone; a remote mount's lost connection and its
silence (pings) mark it failed, naming the URL."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from mcp_registry_server.catalog import CatalogEntry
from mcp_registry_server.mcp_client import MCPRemoteError, MCPTimeoutError
from mcp_registry_server.registry.router import ActiveMount
from mcp_registry_server.registry.supervisor import MAX_BACKOFF, backoff_delay, supervise_mount


class FakeClient:
    def __init__(self, exit_code: int | None = 3, stderr: str = "boom") -> None:
        self.ended = anyio.Event()
        self.exit_code = exit_code
        self.end_reason: str | None = None
        self.connection_failure: str | None = None
        self.is_alive = True
        self.pings: list[float] = []
        self.ping_reply: Any = {}
        self._stderr = stderr

    async def request(self, method: str, params: Any = None, **options: Any) -> Any:
        assert method == "ping"
        self.pings.append(options["timeout"])
        if isinstance(self.ping_reply, BaseException):
            raise self.ping_reply
        return self.ping_reply

    async def wait_ended(self) -> None:
        await self.ended.wait()

    def stderr_tail(self, max_chars: int = 4000) -> str:
        return self._stderr[-max_chars:]


def make_mount(**policy: Any) -> ActiveMount:
    entry = CatalogEntry.model_validate(
        {"id": "flaky", "name": "Flaky", "description": "d", "image": "localhost/flaky", **policy}
    )
    return ActiveMount(entry=entry, prefix="flaky", container_name="c0", client=FakeClient())  # type: ignore[arg-type]


class Harness:
    """Runs the supervisor; `restart` swaps in a new fake client, or raises while `failing`."""

    def __init__(self, mount: ActiveMount) -> None:
        self.mount = mount
        self.mounted = True
        self.failing = 0
        self.restart_times: list[float] = []

    def is_mounted(self, mount: ActiveMount) -> bool:
        return self.mounted

    async def restart(self, mount: ActiveMount) -> bool:
        self.restart_times.append(anyio.current_time())
        if not self.mounted:
            return False
        if self.failing:
            self.failing -= 1
            raise RuntimeError("image vanished")
        mount.client = FakeClient()  # type: ignore[assignment]
        mount.container_name = f"c{len(self.restart_times)}"
        mount.state = "running"
        return True

    def crash(self) -> None:
        self.mount.client.ended.set()  # type: ignore[attr-defined]


async def settle() -> None:
    for _ in range(20):
        await anyio.lowlevel.checkpoint()


async def until(predicate: Callable[[], bool]) -> None:
    while True:
        if predicate():
            return
        await anyio.sleep(0.01)


async def test_restart_off_marks_the_mount_failed_with_exit_code_and_stderr() -> None:
    harness = Harness(make_mount())
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(supervise_mount, harness.mount, harness.is_mounted, harness.restart)
            await settle()
            harness.crash()
    assert harness.mount.state == "failed" and harness.restart_times == []
    assert "exited with code 3" in (harness.mount.last_error or "") and "boom" in (harness.mount.last_error or "")


async def test_on_failure_restarts_with_doubling_backoff_up_to_the_maximum() -> None:
    harness = Harness(make_mount(restart="on-failure", max_restarts=2, restart_backoff=0.05))
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(supervise_mount, harness.mount, harness.is_mounted, harness.restart)
            crashed_at = []
            for expected in (1, 2):
                await settle()
                crashed_at.append(anyio.current_time())
                harness.crash()
                await until(lambda: harness.mount.restarts == expected and harness.mount.state == "running")  # noqa: B023
                assert "Restarted" in (harness.mount.last_error or "")
            harness.crash()  # the third exit: no restart left
    assert len(harness.restart_times) == 2
    assert harness.restart_times[0] - crashed_at[0] >= 0.05 and harness.restart_times[1] - crashed_at[1] >= 0.1
    assert harness.mount.state == "failed" and "Not restarted again" in (harness.mount.last_error or "")


async def test_a_failed_restart_counts_as_an_attempt_and_the_next_one_follows() -> None:
    harness = Harness(make_mount(restart="on-failure", max_restarts=3, restart_backoff=0.01))
    harness.failing = 1
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(supervise_mount, harness.mount, harness.is_mounted, harness.restart)
            await settle()
            harness.crash()
            await until(lambda: harness.mount.restarts == 2 and harness.mount.state == "running")
            tasks.cancel_scope.cancel()
    assert harness.mount.restarts == 2 and len(harness.restart_times) == 2
    assert "image vanished" in (harness.mount.last_error or "")


async def test_a_removed_mount_is_left_alone() -> None:
    harness = Harness(make_mount(restart="on-failure"))
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(supervise_mount, harness.mount, harness.is_mounted, harness.restart)
            await settle()
            harness.mounted = False  # registry_remove takes it out, then closes its client
            harness.crash()
    assert harness.restart_times == [] and harness.mount.state == "running"


@pytest.mark.parametrize(("attempt", "delay"), [(0, 1.0), (1, 2.0), (3, 8.0), (20, MAX_BACKOFF)])
def test_backoff_doubles_and_is_capped(attempt: int, delay: float) -> None:
    assert backoff_delay(make_mount(restart="on-failure").entry, attempt) == delay


async def test_a_mount_the_registry_already_failed_is_not_restarted() -> None:
    harness = Harness(make_mount(restart="on-failure"))
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(supervise_mount, harness.mount, harness.is_mounted, harness.restart)
            await settle()
            harness.mount.state, harness.mount.last_error = "failed", "did not complete the MCP handshake"
            harness.crash()
    assert harness.restart_times == [] and harness.mount.last_error == "did not complete the MCP handshake"


def make_remote_mount(**policy: Any) -> ActiveMount:
    entry = CatalogEntry.model_validate(
        {
            "id": "far",
            "name": "Far",
            "description": "d",
            "remote": {"url": "https://u:p@mcp.example.com/mcp?k=1"},
            **policy,
        }
    )
    return ActiveMount(entry=entry, prefix="far", container_name="", client=FakeClient())  # type: ignore[arg-type]


async def test_a_remote_mount_whose_connection_fails_says_so_and_reconnects() -> None:
    harness = Harness(make_remote_mount(restart="on-failure", restart_backoff=0.01))
    ends: list[str] = []
    first = harness.mount.client
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(
                partial(supervise_mount, ping_interval=60.0, on_end=lambda _, reason: ends.append(reason)),
                harness.mount,
                harness.is_mounted,
                harness.restart,
            )
            await settle()
            first.connection_failure = "could not connect to https://mcp.example.com/mcp (refused)"  # type: ignore[attr-defined]
            first.is_alive = False  # type: ignore[attr-defined]
            harness.crash()
            await until(lambda: len(harness.restart_times) == 1 and harness.mount.state == "running")
            harness.mounted = False
            tasks.cancel_scope.cancel()
    assert ends == [
        "The connection to the remote server failed: could not connect to https://mcp.example.com/mcp (refused)"
    ]
    assert harness.mount.client is not first
    assert "Restarted (restart 1 of 3) after: The connection to the remote server failed" in (
        harness.mount.last_error or ""
    )


async def test_a_remote_mount_that_stops_answering_pings_is_marked_failed() -> None:
    harness = Harness(make_remote_mount())
    client: Any = harness.mount.client
    client.ping_reply = MCPRemoteError(-32601, "no ping here")  # a refusal is an answer: alive
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(
                partial(supervise_mount, ping_interval=0.01), harness.mount, harness.is_mounted, harness.restart
            )
            await until(lambda: len(client.pings) >= 3)
            assert harness.mount.state == "running"
            client.ping_reply = MCPTimeoutError("ping", 0.01, client_name="far")
            await until(lambda: harness.mount.state == "failed")
    assert client.pings[0] == 0.01
    assert (harness.mount.last_error or "").startswith(
        "The remote server at https://mcp.example.com/mcp stopped answering pings: MCP server 'far': 'ping' got no response"
    )
    assert "u:p" not in (harness.mount.last_error or "") and "k=1" not in (harness.mount.last_error or "")
