"""Background calls end to end: the registry in front of the misbehave image, driven by the SDK client.

Both task paths: `registry_exec(..., background=true)` with `registry_task` (every editor), and
2025-11-25 protocol tasks (`tools/call` with `task`, `tasks/get`, `tasks/list`, `tasks/result`,
`tasks/cancel`, `notifications/tasks/status`). The SDK (2.3.0) defines the task types but checks
every `tools/call` answer as a `CallToolResult`, so the task-augmented call goes through its
dispatcher, below that check; everything else uses its typed requests.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import mcp_types as types
from mcp import ClientSession
from mcp.client.extension import NotificationBinding

from tests.e2e.harness import structured
from tests.e2e.support import connect_registry, text_of


async def call(session: ClientSession, name: str, **arguments: Any) -> types.CallToolResult:
    with anyio.fail_after(60):
        return await session.call_tool(name, arguments)


async def call_as_task(session: ClientSession, name: str, arguments: dict[str, Any]) -> types.CreateTaskResult:
    params = types.CallToolRequestParams(name=name, arguments=arguments, task=types.TaskMetadata(ttl=60_000))
    wire = params.model_dump(by_alias=True, mode="json", exclude_none=True)
    raw = await session._dispatcher.send_raw_request("tools/call", wire, {})  # see the module docstring
    return types.CreateTaskResult.model_validate(raw, by_name=False)


async def test_a_three_second_call_in_the_background_then_registry_task(registry_env: dict[str, str]) -> None:
    async with connect_registry(registry_env) as session:
        structured(await call(session, "registry_add", entry_id="misbehave"))
        started = time.monotonic()
        report = structured(
            await call(session, "registry_exec", tool_name="misbehave_slow", arguments={"seconds": 3}, background=True)
        )
        answered = time.monotonic() - started
        assert answered < 1.0, f"registry_exec(background=true) took {answered:.2f} s"
        print(f"background registry_exec answered in {answered * 1000:.0f} ms")
        await anyio.sleep(1.5)
        now = structured(await call(session, "registry_task", task_id=report["task_id"]))
        assert now["status"] == "working" and now["progress"]["total"] == 3 and now["progress"]["progress"] > 0, now
        done = await call(session, "registry_task", task_id=report["task_id"], wait_seconds=20)
        assert not done.is_error and text_of(done) == "slept", text_of(done)
        assert time.monotonic() - started >= 3

        crash = structured(
            await call(
                session, "registry_exec", tool_name="misbehave_crash",
                arguments={"message": "the disk is on fire"}, background=True,
            )
        )  # fmt: skip
        failed = await call(session, "registry_task", task_id=crash["task_id"], wait_seconds=20)
        assert failed.is_error and "the disk is on fire" in text_of(failed), text_of(failed)  # the stderr tail


async def test_protocol_tasks_through_the_sdk_client(registry_env: dict[str, str]) -> None:
    completed: dict[str, anyio.Event] = {}

    async def on_status(params: types.TaskStatusNotificationParams) -> None:
        if params.status == "completed":
            completed.setdefault(params.task_id, anyio.Event()).set()

    binding = NotificationBinding(
        method="notifications/tasks/status", params_type=types.TaskStatusNotificationParams, handler=on_status
    )
    async with connect_registry(registry_env, notification_bindings=[binding]) as session:
        capabilities = session.server_capabilities
        assert capabilities is not None and capabilities.tasks is not None
        assert capabilities.tasks.requests is not None and capabilities.tasks.requests.tools is not None
        structured(await call(session, "registry_add", entry_id="misbehave"))
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        assert tools["misbehave_slow"].execution is not None
        assert tools["misbehave_slow"].execution.task_support == "optional"

        started = time.monotonic()
        created = await call_as_task(session, "misbehave_slow", {"seconds": 3})
        assert time.monotonic() - started < 1.0 and created.task.status == "working"
        task_id = created.task.task_id
        got = await session.send_request(
            types.GetTaskRequest(params=types.GetTaskRequestParams(task_id=task_id)), types.GetTaskResult
        )
        assert got.status == "working"
        listed = await session.send_request(types.ListTasksRequest(), types.ListTasksResult)
        assert [task.task_id for task in listed.tasks] == [task_id]
        with anyio.fail_after(30):
            result = await session.send_request(
                types.GetTaskPayloadRequest(params=types.GetTaskPayloadRequestParams(task_id=task_id)),
                types.CallToolResult,
            )
        assert text_of(result) == "slept" and time.monotonic() - started >= 3
        with anyio.fail_after(5):
            await completed.setdefault(task_id, anyio.Event()).wait()

        stuck = await call_as_task(session, "misbehave_slow", {"seconds": 60})
        cancelled = await session.send_request(
            types.CancelTaskRequest(params=types.CancelTaskRequestParams(task_id=stuck.task.task_id)),
            types.CancelTaskResult,
        )
        assert cancelled.status == "cancelled"
        for _ in range(50):  # the child was sent notifications/cancelled (it may take a moment to arrive)
            if structured(await call(session, "misbehave_cancellations"))["cancelled"]:
                break
            await anyio.sleep(0.1)
        else:
            raise AssertionError("the child never heard of the cancellation")
