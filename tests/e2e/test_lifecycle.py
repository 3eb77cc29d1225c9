"""The registry's own lifecycle: when the editor closes stdin or sends SIGTERM, every container is
gone within 5 s, even with calls and an activation in flight; a second registry's orphan cleanup
never touches the containers of a registry that is alive.

(SIGKILL followed by a restart that removes the orphans, and spares containers that are not ours,
is `test_registry_core.test_sigkill_then_restart_leaves_no_orphans`.)
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

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
from tests.e2e.support import connect_registry, text_of

STOP_BOUND = 5.0


async def start_busy_registry(registry: RawRegistry) -> str:
    """Two servers, a call hanging in one, and an activation still starting; returns the instance id."""
    await registry.initialize()
    await registry.structured("registry_add", {"entry_id": "time"})
    await registry.structured("registry_add", {"entry_id": "misbehave", "prefix": "chaos"})
    instance = (await registry.structured("registry_status"))["instance"]
    await registry.send_request("tools/call", {"name": "chaos_hang", "arguments": {}})
    # A server that sleeps before reading stdin: it notices neither initialize nor the closed stdin.
    delay = {"entry_id": "sleepy", "values": {"MISBEHAVE_START_DELAY": "30"}}
    await registry.structured("registry_config_set", delay)
    await registry.send_request("tools/call", {"name": "registry_add", "arguments": {"entry_id": "sleepy"}})
    assert await wait_for(lambda: len(instance_containers(instance)) == 3, 20), instance_containers(instance)
    return instance


async def seconds_until_no_containers(registry: RawRegistry, instance: str) -> float:
    started = time.monotonic()
    assert await wait_for(lambda: instance_containers(instance) == [], 20, interval=0.02)
    return time.monotonic() - started


@pytest.fixture
def sleepy_env(registry_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return with_catalog(registry_env, write_catalog(tmp_path / "extra-catalog", [misbehave_entry("sleepy")]))


@pytest.mark.parametrize("how", ["close-stdin", "sigterm"])
async def test_editor_leaving_stops_every_container_within_5_s(
    how: str, sleepy_env: dict[str, str], tmp_path: Path
) -> None:
    log_path = tmp_path / "registry.log"
    async with RawRegistry.start(sleepy_env, log_path) as registry:
        instance = await start_busy_registry(registry)
        started = time.monotonic()
        if how == "close-stdin":
            await registry.close_stdin()
        else:
            registry.process.send_signal(signal.SIGTERM)
        elapsed = await seconds_until_no_containers(registry, instance)
        with anyio.fail_after(15):
            await registry.process.wait()
        exited = time.monotonic() - started
    log = log_path.read_text()
    assert elapsed <= STOP_BOUND, f"containers still there {elapsed:.2f} s after {how}\n{log[-3000:]}"
    assert registry.process.returncode == 0, log[-3000:]
    assert "closed all servers" in log and "Traceback" not in log
    print(f"{how}: containers gone after {elapsed:.2f} s, registry exited after {exited:.2f} s")


async def test_a_second_registry_leaves_a_live_registrys_containers_alone(
    registry_env: dict[str, str], tmp_path: Path
) -> None:
    async with connect_registry(registry_env) as first:
        added = structured(await first.call_tool("registry_add", {"entry_id": "time"}))
        instance = structured(await first.call_tool("registry_status", {}))["instance"]

        second_log = tmp_path / "second.log"
        async with RawRegistry.start(registry_env, second_log) as second:
            await second.initialize()
            assert await wait_for(lambda: "orphan check done" in second_log.read_text(), 30)
            assert (await second.structured("registry_status"))["podman"]["available"] is True

        assert added["container"] not in second_log.read_text()
        assert instance_containers(instance) == [added["container"]]
        still = await first.call_tool("time_get_current_time", {"timezone": "UTC"})
        assert not still.is_error, text_of(still)


async def test_a_registry_killed_outright_takes_its_servers_with_it(
    registry_env: dict[str, str], tmp_path: Path
) -> None:
    # An editor that gives up on a slow shutdown sends SIGKILL. A server that does not stop when its
    # stdin closes is then stopped by the podman run's parent-death signal, not left running until
    # the next registry's orphan sweep.
    stubborn = misbehave_entry("stubborn")
    stubborn["env"] = [*stubborn["env"], {"name": "MISBEHAVE_IGNORE_EOF", "default": "1"}]
    env = with_catalog(registry_env, write_catalog(tmp_path / "extra", [stubborn]))
    async with connect_registry(env) as session:
        structured(await session.call_tool("registry_add", {"entry_id": "stubborn"}))
        status = structured(await session.call_tool("registry_status", {}))
        instance, pid = status["instance"], status["pid"]
        assert instance_containers(instance)
        os.kill(pid, signal.SIGKILL)
        with anyio.move_on_after(5):
            try:
                await session.list_tools()
            except Exception:
                pass  # the registry is gone
    assert await wait_for(lambda: instance_containers(instance) == [], 20), instance_containers(instance)
