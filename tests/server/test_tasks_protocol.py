"""Background calls through the editor-facing server: 2025-11-25 tasks and `registry_task`, on both paths.

Raw JSON-RPC lines as an editor sends them (`wire.running_registry`, scripted fake children, no
Podman): a task-augmented `tools/call` is answered at once with a task, and `tasks/get`,
`tasks/result`, `tasks/list`, `tasks/cancel` and `notifications/tasks/status` follow it; the same
calls run through `registry_exec(background=true)` and `registry_task` in every protocol era.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from mcp_registry_server.server.handlers import TASKS_CAPABILITY
from tests.server.wire import MODERN, VERSIONS, EditorWire, request, running_registry

TASKS = "2025-11-25"
SCRIPT: dict[str, Any] = {
    "tools": [{"name": name, "inputSchema": {"type": "object"}} for name in ("echo", "slow", "stuck", "crash")],
    "calls": {
        "slow": {
            "delay": 1.5,
            "progress": [{"progress": 1, "total": 2, "message": "half"}],
            "reply": json.dumps(
                {"jsonrpc": "2.0", "id": "ID", "result": {"content": [{"type": "text", "text": "slept"}]}}
            ),
        },
        "stuck": {"delay": 60},
        "crash": {"delay": 0.2, "exit": 3, "stderr": "fatal: the disk is on fire\n"},
    },
}
# A child that runs tasks itself; two of them hand out the same task ids.
TASK_CHILD: dict[str, Any] = {
    "tasks": True,
    "tools": [{"name": "slow", "inputSchema": {"type": "object"}, "execution": {"taskSupport": "optional"}}],
    "calls": {"slow": {"delay": 0.5}},
}


async def add(wire: EditorWire, version: str, entry: str = "fake") -> None:
    result = await wire.call(version, f"add-{entry}", "registry_add", {"entry_id": entry})
    assert not result.get("isError"), result


async def rpc(
    wire: EditorWire, version: str, request_id: Any, method: str, params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    return await wire.exchange(request(version, request_id, method, params), request_id, seconds=30)


def text(result: dict[str, Any]) -> str:
    return "".join(block.get("text", "") for block in result["content"])


async def initialize(wire: EditorWire, version: str) -> dict[str, Any]:
    params = {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    (response,) = await wire.exchange(request(version, "init", "initialize", params), "init")
    await wire.send(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
    return response["result"]


@pytest.mark.parametrize("lane", [True, False], ids=["lane", "sdk"])
async def test_a_task_augmented_call_is_answered_at_once_and_its_result_follows(tmp_path: Path, lane: bool) -> None:
    async with running_registry(tmp_path, {"fake": SCRIPT}, lane=lane) as (wire, _):
        assert (await initialize(wire, TASKS))["capabilities"]["tasks"] == TASKS_CAPABILITY
        await add(wire, TASKS)
        (listed,) = await rpc(wire, TASKS, "list", "tools/list")
        tools = {tool["name"]: tool for tool in listed["result"]["tools"]}
        assert tools["fake_slow"]["execution"] == {"taskSupport": "optional"}
        assert tools["registry_exec"]["execution"] == {"taskSupport": "optional"}
        assert "execution" not in tools["registry_add"]

        params = {"name": "fake_slow", "arguments": {}, "task": {"ttl": 60_000}, "_meta": {"progressToken": "tok"}}
        started = time.monotonic()
        seen = await rpc(wire, TASKS, 1, "tools/call", params)
        created = seen[-1]["result"]
        assert time.monotonic() - started < 0.5, "the task must be answered before the 1.5 s call ends"
        task = created["task"]
        assert task["status"] == "working" and task["ttl"] == 60_000 and "content" not in created

        seen += await rpc(wire, TASKS, 2, "tasks/get", {"taskId": task["taskId"]})
        got = seen[-1]["result"]
        assert got["taskId"] == task["taskId"] and got["status"] == "working"
        seen += await rpc(wire, TASKS, 3, "tasks/list")
        listed_tasks = seen[-1]["result"]["tasks"]
        assert [t["taskId"] for t in listed_tasks] == [task["taskId"]]

        seen += await rpc(wire, TASKS, 4, "tasks/result", {"taskId": task["taskId"]})
        result = seen[-1]["result"]
        assert text(result) == "slept" and not result.get("isError")
        assert result["_meta"]["io.modelcontextprotocol/related-task"] == {"taskId": task["taskId"]}
        assert time.monotonic() - started > 1.4
        notes = [m for m in seen if m.get("method")]
        progress = [m["params"] for m in notes if m["method"] == "notifications/progress"]
        assert progress == [{"progressToken": "tok", "progress": 1, "total": 2, "message": "half"}]
        statuses = [m["params"] for m in notes if m["method"] == "notifications/tasks/status"]
        assert [s["status"] for s in statuses] == ["completed"] and statuses[0]["taskId"] == task["taskId"]
        got = (await rpc(wire, TASKS, 5, "tasks/get", {"taskId": task["taskId"]}))[-1]["result"]
        assert got["status"] == "completed"


async def test_tasks_cancel_tells_the_child_and_a_finished_task_refuses_it(tmp_path: Path) -> None:
    async with running_registry(tmp_path, {"fake": SCRIPT}) as (wire, serving):
        log = tmp_path / "child.log"
        serving.registry.podman.default.runner.env["SCRIPTED_CHILD_LOG"] = str(log)  # type: ignore[attr-defined]
        await initialize(wire, TASKS)
        await add(wire, TASKS)
        params = {"name": "fake_stuck", "arguments": {}, "task": {}}
        task = (await rpc(wire, TASKS, 1, "tools/call", params))[-1]["result"]["task"]
        messages = await rpc(wire, TASKS, 2, "tasks/cancel", {"taskId": task["taskId"]})
        assert messages[-1]["result"]["status"] == "cancelled"
        statuses = [m["params"]["status"] for m in messages if m.get("method") == "notifications/tasks/status"]
        assert statuses == ["cancelled"]
        again = (await rpc(wire, TASKS, 3, "tasks/cancel", {"taskId": task["taskId"]}))[-1]
        assert again["error"]["code"] == -32602 and "already cancelled" in again["error"]["message"]
        result = (await rpc(wire, TASKS, 4, "tasks/result", {"taskId": task["taskId"]}))[-1]["result"]
        assert result["isError"] is True and "cancelled" in text(result)
        unknown = (await rpc(wire, TASKS, 5, "tasks/get", {"taskId": "nope"}))[-1]
        assert unknown["error"]["code"] == -32602
        # The registry's own tools other than registry_exec do not run as tasks (taskSupport forbidden).
        refused = (await rpc(wire, TASKS, 6, "tools/call", {"name": "registry_status", "task": {}}))[-1]
        assert (
            refused["error"]["code"] == -32601
            and "registry_status does not run as a task" in refused["error"]["message"]
        )
    received = [json.loads(line) for line in log.read_text().splitlines()]
    assert any(message.get("method") == "notifications/cancelled" for message in received)  # the child was told


@pytest.mark.parametrize("version", [v for v in VERSIONS if v != TASKS])
async def test_other_versions_see_no_tasks_but_registry_task_works(tmp_path: Path, version: str) -> None:
    async with running_registry(tmp_path, {"fake": SCRIPT}) as (wire, _):
        if version != MODERN:
            assert "tasks" not in (await initialize(wire, version))["capabilities"]
        await add(wire, version)
        (listed,) = await rpc(wire, version, "list", "tools/list")
        assert all("execution" not in tool for tool in listed["result"]["tools"])
        assert (await rpc(wire, version, 1, "tasks/list"))[-1]["error"]["code"] == -32601
        # A `task` field is not a task request outside 2025-11-25: the call runs in the foreground.
        params = {"name": "fake_echo", "arguments": {"a": 1}, "task": {}}
        answer = (await rpc(wire, version, 2, "tools/call", params))[-1]
        assert "task" not in answer.get("result", {}), answer


@pytest.mark.parametrize("version", VERSIONS)
async def test_registry_exec_in_the_background_then_registry_task(tmp_path: Path, version: str) -> None:
    async with running_registry(tmp_path, {"fake": SCRIPT}) as (wire, _):
        await wire.handshake(version)
        await add(wire, version)
        started = time.monotonic()
        report = await wire.call(version, 1, "registry_exec", {"tool_name": "fake_slow", "background": True})
        assert time.monotonic() - started < 0.5
        task_id = report["structuredContent"]["task_id"]
        assert report["structuredContent"]["status"] == "working"
        now = await wire.call(version, 2, "registry_task", {"task_id": task_id})
        assert now["structuredContent"]["status"] == "working", now
        done = await wire.call(version, 3, "registry_task", {"task_id": task_id, "wait_seconds": 10})
        assert text(done) == "slept" and not done.get("isError"), done
        assert time.monotonic() - started > 1.4
        unknown = await wire.call(version, 4, "registry_task", {"task_id": "nope"})
        assert unknown["isError"] is True and "No task 'nope'" in text(unknown)


async def test_registry_task_cancels_and_the_bound_holds(tmp_path: Path) -> None:
    async with running_registry(tmp_path, {"fake": SCRIPT}, max_tasks=1) as (wire, _):
        await wire.handshake(TASKS)
        await add(wire, TASKS)
        first = await wire.call(TASKS, 1, "registry_exec", {"tool_name": "fake_stuck", "background": True})
        task_id = first["structuredContent"]["task_id"]
        refused = await wire.call(TASKS, 2, "registry_exec", {"tool_name": "fake_echo", "background": True})
        assert refused["isError"] is True and "MCP_REGISTRY_MAX_TASKS" in text(refused)
        params = {"name": "fake_echo", "arguments": {}, "task": {}}
        error = (await rpc(wire, TASKS, 3, "tools/call", params))[-1]["error"]
        assert error["code"] == -32602 and "MCP_REGISTRY_MAX_TASKS" in error["message"]
        cancelled = await wire.call(TASKS, 4, "registry_task", {"task_id": task_id, "cancel": True})
        assert cancelled["structuredContent"]["status"] == "cancelled" and not cancelled["isError"]
        later = await wire.call(TASKS, 5, "registry_task", {"task_id": task_id})
        assert later["isError"] is True and later["structuredContent"]["status"] == "cancelled"
        now_room = await wire.call(TASKS, 6, "registry_exec", {"tool_name": "fake_echo", "background": True})
        assert not now_room["isError"], now_room


async def test_a_crash_fails_the_task_with_the_stderr_tail(tmp_path: Path) -> None:
    async with running_registry(tmp_path, {"fake": SCRIPT}) as (wire, _):
        await initialize(wire, TASKS)
        await add(wire, TASKS)
        task = (await rpc(wire, TASKS, 1, "tools/call", {"name": "fake_crash", "arguments": {}, "task": {}}))[-1]
        task_id = task["result"]["task"]["taskId"]
        result = (await rpc(wire, TASKS, 2, "tasks/result", {"taskId": task_id}))[-1]["result"]
        assert result["isError"] is True and "the disk is on fire" in text(result)
        got = (await rpc(wire, TASKS, 3, "tasks/get", {"taskId": task_id}))[-1]["result"]
        assert got["status"] == "failed" and "the disk is on fire" in got["statusMessage"]


async def test_a_finished_task_is_forgotten_after_its_ttl(tmp_path: Path) -> None:
    async with running_registry(tmp_path, {"fake": SCRIPT}, task_ttl=0.3) as (wire, _):
        await initialize(wire, TASKS)
        await add(wire, TASKS)
        params = {"name": "fake_echo", "arguments": {}, "task": {"ttl": 3_600_000}}
        task = (await rpc(wire, TASKS, 1, "tools/call", params))[-1]["result"]["task"]
        assert task["ttl"] == 300  # the editor may not ask for more than MCP_REGISTRY_TASK_TTL
        assert text((await rpc(wire, TASKS, 2, "tasks/result", {"taskId": task["taskId"]}))[-1]["result"]) == "{}"
        await anyio.sleep(0.5)
        assert (await rpc(wire, TASKS, 3, "tasks/get", {"taskId": task["taskId"]}))[-1]["error"]["code"] == -32602


async def test_a_childs_own_tasks_are_relayed_under_the_registrys_ids(tmp_path: Path) -> None:
    async with running_registry(tmp_path, {"one": TASK_CHILD, "two": TASK_CHILD}) as (wire, serving):
        log = tmp_path / "child.log"
        serving.registry.podman.default.runner.env["SCRIPTED_CHILD_LOG"] = str(log)  # type: ignore[attr-defined]
        await initialize(wire, TASKS)
        await add(wire, TASKS, "one")
        await add(wire, TASKS, "two")
        ids = []
        for number, name in enumerate(("one_slow", "two_slow"), 1):
            params = {"name": name, "arguments": {"n": number}, "task": {}}
            ids.append((await rpc(wire, TASKS, number, "tools/call", params))[-1]["result"]["task"]["taskId"])
        assert len(set(ids)) == 2 and not any(task_id.startswith("task-") for task_id in ids)
        for number, task_id in enumerate(ids, 1):
            result = (await rpc(wire, TASKS, 10 + number, "tasks/result", {"taskId": task_id}))[-1]["result"]
            assert text(result) == json.dumps({"n": number})
            assert result["_meta"]["io.modelcontextprotocol/related-task"] == {"taskId": task_id}
        sent = [json.loads(line) for line in log.read_text().splitlines()]
        calls = [m["params"] for m in sent if m.get("method") == "tools/call"]
        assert all("task" in params for params in calls) and len(calls) == 2  # each child ran its own task
        assert {m["params"]["taskId"] for m in sent if m.get("method") == "tasks/result"} == {"task-1"}
