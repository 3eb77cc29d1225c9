"""Faults in the servers the registry runs, and in Podman: each one gives a clear error, the registry
keeps serving, and nothing is left behind.

Every test drives a real `mcp-registry` through MCP with the misbehave fault-injection image: the
SDK client as an editor would, or `RawRegistry` where the SDK client itself is the bottleneck (it
reads a 50 MB line in quadratic time, which measures the SDK rather than us). (The registry's
private Podman service dying under it, and coming back: `test_podman_service.py`.)
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import anyio
import pytest

from tests.e2e.harness import (
    RawRegistry,
    instance_containers,
    misbehave_entry,
    structured,
    wait_for,
    with_catalog,
    write_catalog,
)
from tests.e2e.support import (
    IMAGE_PREFIX,
    TEST_LABEL,
    connect_registry,
    labelled_containers,
    owned_by_this_process,
    text_of,
)

MIB = 1024 * 1024


@pytest.fixture
def catalog_env(registry_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The test catalog plus misbehave copies with other policies, and an image that cannot exist."""
    extra = write_catalog(
        tmp_path / "extra-catalog",
        [
            misbehave_entry("steady"),
            misbehave_entry("flaky", restart="on-failure", max_restarts=2, restart_backoff=0.3),
            {
                "id": "ghost",
                "name": "Ghost",
                "description": "An entry whose image exists nowhere.",
                "image": f"{IMAGE_PREFIX}/never-built:nowhere",
            },
        ],
    )
    return with_catalog(registry_env, extra)


@pytest.fixture
def errlog(tmp_path: Path) -> Iterator[TextIO]:
    """The registry's stderr, kept in a file the test can read afterwards."""
    with (tmp_path / "registry.log").open("w+") as log:
        yield log


def log_text(log: TextIO) -> str:
    log.flush()
    return Path(log.name).read_text()


async def status_of(session: Any, prefix: str) -> dict[str, Any]:
    status = structured(await session.call_tool("registry_status", {}))
    return next(mount for mount in status["mounts"] if mount["prefix"] == prefix)


async def wait_for_state(
    session: Any, prefix: str, state: str, *, restarts: int, seconds: float = 20
) -> dict[str, Any]:
    with anyio.fail_after(seconds):
        while True:
            mount = await status_of(session, prefix)
            if mount["state"] == state and mount["restarts"] == restarts:
                return mount
            await anyio.sleep(0.05)


async def test_crash_mid_call_fails_fast_with_stderr_and_spares_other_mounts(
    catalog_env: dict[str, str], errlog: TextIO
) -> None:
    async with connect_registry(catalog_env, errlog=errlog) as session:
        chaos = structured(await session.call_tool("registry_add", {"entry_id": "misbehave", "prefix": "chaos"}))
        structured(await session.call_tool("registry_add", {"entry_id": "steady"}))
        structured(await session.call_tool("registry_add", {"entry_id": "time"}))
        instance = structured(await session.call_tool("registry_status", {}))["instance"]

        in_flight: dict[str, Any] = {}

        async def slow_call_elsewhere() -> None:
            in_flight["slow"] = await session.call_tool("steady_slow", {"seconds": 1})

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(slow_call_elsewhere)
            await anyio.sleep(0.2)
            crashed = await session.call_tool("chaos_crash", {"message": "boom-4711", "exit_code": 7})
            # Fast: it failed while the other mount's 1 s call was still running (an order, not a timing).
            crashed_first = "slow" not in in_flight

        assert crashed.is_error and crashed_first
        message = text_of(crashed)
        assert "exited with code 7" in message and "boom-4711" in message, message
        assert 'registry_remove("chaos")' in message

        # The other mounts did not notice: the call in flight finished, new calls work.
        assert not in_flight["slow"].is_error and text_of(in_flight["slow"]) == "slept"
        assert text_of(await session.call_tool("steady_echo", {"text": "still here"})) == "still here"
        assert not (await session.call_tool("time_get_current_time", {"timezone": "UTC"})).is_error

        failed = await status_of(session, "chaos")
        assert failed["state"] == "failed" and "boom-4711" in failed["last_error"]
        assert failed["restarts"] == 0
        assert (await status_of(session, "steady"))["state"] == "running"
        assert (await status_of(session, "time"))["state"] == "running"

        again = await session.call_tool("chaos_echo", {"text": "x"})
        assert again.is_error and "exited" in text_of(again)
        await anyio.sleep(0.5)  # restart is off by default: it stays failed
        assert (await status_of(session, "chaos"))["state"] == "failed"

        removed = structured(await session.call_tool("registry_remove", {"entry_id_or_prefix": "chaos"}))
        assert removed["container_removed"] is True
        assert chaos["container"] not in instance_containers(instance)
        assert len(instance_containers(instance)) == 2


async def test_on_failure_restarts_with_backoff_keeps_routing_then_gives_up(
    catalog_env: dict[str, str], errlog: TextIO
) -> None:
    async with connect_registry(catalog_env, errlog=errlog) as session:
        first = structured(await session.call_tool("registry_add", {"entry_id": "flaky"}))
        instance = structured(await session.call_tool("registry_status", {}))["instance"]
        containers = [first["container"]]

        for restart in (1, 2):
            crashed_at = time.monotonic()
            crashed = await session.call_tool("flaky_crash", {"message": f"crash-{restart}"})
            assert crashed.is_error and "being restarted" in text_of(crashed), text_of(crashed)
            restarting = await status_of(session, "flaky")
            assert f"crash-{restart}" in restarting["last_error"], restarting
            # (A slow status call may already see the restarted server.)
            assert restarting["state"] in {"failed", "restarting"} or restarting["restarts"] == restart, restarting

            mount = await wait_for_state(session, "flaky", "running", restarts=restart)
            # Backoff 0.3 s, doubling: the second restart waits 0.6 s.
            assert time.monotonic() - crashed_at >= 0.3 * 2 ** (restart - 1)
            assert mount["container"] not in containers
            containers.append(mount["container"])
            assert f"crash-{restart}" in mount["last_error"] and "Restarted" in mount["last_error"]
            # Same exposed names, now served by the new container.
            assert text_of(await session.call_tool("flaky_echo", {"text": f"alive-{restart}"})) == f"alive-{restart}"
            assert text_of(await session.call_tool("flaky_env", {"name": "HOSTNAME"}))
            assert await wait_for(lambda: instance_containers(instance) == [containers[-1]], 10)

        final = await session.call_tool("flaky_crash", {"message": "crash-3"})
        assert final.is_error and 'registry_remove("flaky")' in text_of(final)
        await anyio.sleep(1.5)  # longer than the next backoff would be: no third restart
        gave_up = await status_of(session, "flaky")
        assert gave_up["state"] == "failed" and gave_up["restarts"] == 2
        assert "Not restarted again" in gave_up["last_error"] and "crash-3" in gave_up["last_error"]
        assert await wait_for(lambda: instance_containers(instance) == [], 10)
        structured(await session.call_tool("registry_remove", {"entry_id_or_prefix": "flaky"}))
    assert "restart 1 of 2" in log_text(errlog)


async def test_hang_times_out_cancels_in_the_child_and_progress_extends_up_to_the_bound(
    registry_env: dict[str, str], errlog: TextIO
) -> None:
    env = {**registry_env, "MCP_REGISTRY_CALL_TIMEOUT": "1", "MCP_REGISTRY_MAX_CALL_TIMEOUT": "3"}
    async with connect_registry(env, errlog=errlog) as session:
        structured(await session.call_tool("registry_add", {"entry_id": "misbehave", "prefix": "chaos"}))

        started = time.monotonic()
        hung = await session.call_tool("chaos_hang", {})
        assert hung.is_error and "timed out" in text_of(hung)
        assert 0.9 <= time.monotonic() - started < 2.5
        cancelled = structured(await session.call_tool("chaos_cancellations", {}))["cancelled"]
        assert len(cancelled) == 1, "the child was not sent notifications/cancelled"

        # Progress every 0.5 s keeps a 2 s call alive past the 1 s timeout ...
        progress: list[float] = []

        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            progress.append(value)

        started = time.monotonic()
        slow = await session.call_tool("chaos_slow", {"seconds": 2}, progress_callback=on_progress)
        assert not slow.is_error and text_of(slow) == "slept"
        assert time.monotonic() - started >= 2 and len(progress) >= 2

        # ... but never past the hard bound of 3 s.
        started = time.monotonic()
        endless = await session.call_tool("chaos_slow", {"seconds": 30}, progress_callback=on_progress)
        assert endless.is_error and "timed out" in text_of(endless)
        assert 2.9 <= time.monotonic() - started < 5

        # Without a progress token the child sends no progress, so the plain timeout applies.
        started = time.monotonic()
        quiet = await session.call_tool("chaos_slow", {"seconds": 2})
        assert quiet.is_error and time.monotonic() - started < 1.9

        assert len(structured(await session.call_tool("chaos_cancellations", {}))["cancelled"]) == 3
        assert text_of(await session.call_tool("chaos_echo", {"text": "fine"})) == "fine"
        assert (await status_of(session, "chaos"))["state"] == "running"


async def test_garbage_is_skipped_50_mb_result_delivered_10_mb_stderr_drained(
    registry_env: dict[str, str], tmp_path: Path
) -> None:
    log_path = tmp_path / "registry.log"
    whole = {**registry_env, "MCP_REGISTRY_OFFLOAD_BYTES": "0"}  # 0: results are never offloaded
    async with RawRegistry.start(whole, log_path) as registry:
        await registry.initialize()
        await registry.structured("registry_add", {"entry_id": "misbehave", "prefix": "chaos"})

        garbage = await registry.call_tool("chaos_garbage", {"lines": 8})
        assert garbage["content"][0]["text"] == "ok" and not garbage.get("isError")

        with anyio.fail_after(20):
            drained = await registry.call_tool("chaos_big_stderr", {"megabytes": 10})
        assert drained["content"][0]["text"] == "ok"

        with anyio.fail_after(60):
            big = await registry.call_tool("chaos_big_result", {"megabytes": 50}, within=60)
        text = big["content"][0]["text"]
        assert len(text) == 50 * MIB and text.count("x") == len(text)
        del big, text

        echoed = await registry.call_tool("chaos_echo", {"text": "after the flood"})
        assert echoed["structuredContent"] == {"text": "after the flood"}
        status = await registry.structured("registry_status")
        assert status["mounts"][0]["state"] == "running"
    log = log_path.read_text()
    assert log.count("Skipping a stdout line") == 6, log[-3000:]  # 8 lines, 2 of them blank
    assert "Traceback" not in log


async def test_slow_start_is_awaited_and_a_silent_server_fails_cleanly(
    registry_env: dict[str, str], errlog: TextIO
) -> None:
    env = {**registry_env, "MCP_REGISTRY_INIT_TIMEOUT": "4"}
    async with connect_registry(env, errlog=errlog) as session:
        instance = structured(await session.call_tool("registry_status", {}))["instance"]
        set_delay = {"entry_id": "misbehave", "values": {"MISBEHAVE_START_DELAY": "2"}}
        structured(await session.call_tool("registry_config_set", set_delay))
        started = time.monotonic()
        added = structured(await session.call_tool("registry_add", {"entry_id": "misbehave"}))
        assert time.monotonic() - started >= 2 and "misbehave_echo" in added["tools"]
        structured(await session.call_tool("registry_remove", {"entry_id_or_prefix": "misbehave"}))

        never = {"MISBEHAVE_START_DELAY": "", "MISBEHAVE_NEVER_INIT": "1"}
        structured(await session.call_tool("registry_config_set", {"entry_id": "misbehave", "values": never}))
        started = time.monotonic()
        failed = await session.call_tool("registry_add", {"entry_id": "misbehave"})
        elapsed = time.monotonic() - started
        assert failed.is_error, text_of(failed)
        message = text_of(failed)
        assert "did not complete the MCP handshake" in message and "'initialize'" in message
        assert "within 4 s" in message and "The container was removed" in message
        assert 4 <= elapsed < 12
        assert instance_containers(instance) == []

        status = structured(await session.call_tool("registry_status", {}))
        assert status["mounts"] == []
        assert structured(await session.call_tool("registry_search", {"query": "time"}))["results"]


# --- Podman faults --------------------------------------------------------------------------------


async def test_podman_missing_gives_a_clear_error_and_the_registry_keeps_serving(
    registry_env: dict[str, str], errlog: TextIO
) -> None:
    env = {**registry_env, "MCP_REGISTRY_PODMAN": "/nonexistent/podman", "CONTAINER_HOST": "unix:///nonexistent.sock"}
    async with connect_registry(env, errlog=errlog) as session:
        failed = await session.call_tool("registry_add", {"entry_id": "time"})
        assert failed.is_error
        message = text_of(failed)
        assert "Podman is not available" in message and "/nonexistent/podman" in message
        assert "Install Podman" in message and "Search, list and info still work" in message
        podman = structured(await session.call_tool("registry_status", {}))["podman"]
        assert podman["available"] is False and "Install Podman" in podman["remedy"]
        assert structured(await session.call_tool("registry_info", {"entry_id": "time"}))["id"] == "time"
    assert "Traceback" not in log_text(errlog)


async def test_unpullable_image_and_taken_container_name_give_clear_errors(
    catalog_env: dict[str, str], errlog: TextIO, tmp_path: Path, test_images: dict[str, str]
) -> None:
    # Container names are random; this registry process is made to pick a fixed one.
    taken = f"mcp-registry-test-taken-{os.getpid()}"
    inject = tmp_path / "inject"
    inject.mkdir()
    (inject / "sitecustomize.py").write_text(
        "import os\n"
        "if name := os.environ.get('MCP_REGISTRY_TEST_CONTAINER_NAME'):\n"
        "    import mcp_registry_server.podman.runner as runner\n"
        "    runner.container_name = lambda prefix: name\n"
    )
    env = {**catalog_env, "PYTHONPATH": str(inject), "MCP_REGISTRY_TEST_CONTAINER_NAME": taken}
    squatter = [
        "podman",
        "run",
        "-d",
        "--rm",
        "--name",
        taken,
        f"--label={TEST_LABEL}=squatter",
        owned_by_this_process(),
    ]
    squatter += ["--entrypoint", "sleep", test_images["misbehave"], "300"]
    await anyio.run_process(squatter)
    try:
        async with connect_registry(env, errlog=errlog) as session:
            ghost = await session.call_tool("registry_add", {"entry_id": "ghost"})
            assert ghost.is_error
            message = text_of(ghost)
            assert f"Could not pull image {IMAGE_PREFIX}/never-built:nowhere" in message, message
            assert "What to do:" in message

            clash = await session.call_tool("registry_add", {"entry_id": "misbehave"})
            assert clash.is_error
            message = text_of(clash)
            assert "already in use" in message and taken in message, message
            assert structured(await session.call_tool("registry_status", {}))["mounts"] == []
            assert structured(await session.call_tool("registry_search", {"query": "sqlite"}))["results"]
        # The container that held the name first is not ours: it must survive.
        assert labelled_containers(f"{TEST_LABEL}=squatter") == [taken]
    finally:
        await anyio.run_process(["podman", "rm", "-f", "-t", "0", taken], check=False)
    assert "Traceback" not in log_text(errlog)
