"""`BackgroundTasks`: the task table on a real registry with scripted children (fake Podman)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from mcp_registry_server.registry import RegistryError, RequestError
from mcp_registry_server.registry import tasks as tasks_module
from mcp_registry_server.registry.tasks import BackgroundTask
from tests.registry.support import open_test_registry

SCRIPT: dict[str, Any] = {
    "tools": [{"name": name, "inputSchema": {"type": "object"}} for name in ("echo", "stuck", "rpcerror")],
    "calls": {
        "stuck": {"delay": 60},
        "rpcerror": {"reply": '{"jsonrpc": "2.0", "id": "ID", "error": {"code": -32042, "message": "open a URL"}}'},
    },
}


async def test_start_returns_at_once_and_the_outcome_follows(tmp_path: Path) -> None:
    seen: list[str] = []

    async def on_status(task: BackgroundTask) -> None:
        seen.append(task.status)

    async with open_test_registry(tmp_path, {"demo": SCRIPT}) as r:
        await r.registry.mounts.add("demo")
        task = r.registry.tasks.start("demo_echo", {"a": 1}, on_status=on_status)
        assert task.status == "working" and task.outcome is None
        done = await r.registry.tasks.wait(task.task_id, 10)
    assert done.status == "completed" and done.outcome is not None
    assert done.outcome.result["content"][0]["text"] == '{"a": 1}'
    assert seen == ["completed"] and done.describe()["taskId"] == task.task_id


async def test_unknown_tools_and_a_json_rpc_error(tmp_path: Path) -> None:
    async with open_test_registry(tmp_path, {"demo": SCRIPT}) as r:
        await r.registry.mounts.add("demo")
        with pytest.raises(RegistryError, match="Unknown tool 'demo_nope'"):
            r.registry.tasks.start("demo_nope", {})
        # A child's -32042 is the one tools/call error kept as a JSON-RPC error: tasks/result answers with it.
        failed = await r.registry.tasks.wait(r.registry.tasks.start("demo_rpcerror", {}).task_id, 10)
    assert failed.status == "failed" and isinstance(failed.error, RequestError) and failed.error.code == -32042


async def test_closing_the_registry_cancels_its_tasks(tmp_path: Path) -> None:
    async with open_test_registry(tmp_path, {"demo": SCRIPT}) as r:
        await r.registry.mounts.add("demo")
        task = r.registry.tasks.start("demo_stuck", {})
        await anyio.sleep(0.1)
    assert task.status == "cancelled" and task.done.is_set()


async def test_finished_tasks_are_kept_up_to_a_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks_module, "MAX_FINISHED", 3)
    async with open_test_registry(tmp_path, {"demo": SCRIPT}) as r:
        await r.registry.mounts.add("demo")
        ids = []
        for n in range(5):
            ids.append(r.registry.tasks.start("demo_echo", {"n": n}).task_id)
            await r.registry.tasks.wait(ids[-1], 10)
        assert [task.task_id for task in r.registry.tasks.all()] == ids[2:]  # the oldest went first
        with pytest.raises(RequestError, match="No task"):
            r.registry.tasks.get(ids[0])
