"""The sessions of one workspace as one `EditorLink` (`server.http.editors.WorkspaceEditors`)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import anyio
from mcp.server.subscriptions import InMemorySubscriptionBus, ToolsListChanged

from mcp_registry_server.server.http.editors import WorkspaceEditors
from tests.server.test_editor_session import CAPABILITIES, FakeSession, context, init_params

VERSION = "2025-06-18"


class HttpSession(FakeSession):
    """A fake SDK session on the HTTP session `session_id` (the SDK makes one per request)."""

    def __init__(self, session_id: str | None) -> None:
        super().__init__(CAPABILITIES)
        self._connection = SimpleNamespace(session_id=session_id)


def handler(workspace: WorkspaceEditors) -> Any:
    """The SDK handler behind the middleware: answers initialize, and marks tools as listed."""

    async def answer(ctx: Any) -> dict[str, Any]:
        if ctx.method == "initialize":
            return {"protocolVersion": VERSION, "capabilities": {}, "serverInfo": {"name": "r", "version": "1"}}
        if ctx.method == "tools/list":
            workspace.listed("tools")
        return {}

    return answer


async def _open(workspace: WorkspaceEditors, session_id: str) -> HttpSession:
    session = HttpSession(session_id)
    await workspace.observe(context(session, "initialize", VERSION, init_params(VERSION)), handler(workspace))
    return session


async def test_notifications_reach_every_session_under_its_own_rules_and_ended_ones_are_forgotten() -> None:
    editors = WorkspaceEditors(InMemorySubscriptionBus())
    live = {"a", "b", "c"}
    editors.live_sessions = lambda: live
    a, b, c = [await _open(editors, name) for name in ("a", "b", "c")]
    for session in (a, b):
        await editors.observe(context(session, "tools/list", VERSION), handler(editors))
    await editors.list_changed("tools")
    await editors.log("info", "hello", "misbehave")
    assert a.sent[0] == "tools" and b.sent[0] == "tools"
    assert c.sent[0] != "tools"  # c never listed tools: it hears no list_changed
    assert all(len(session.sent) == (2 if session is not c else 1) for session in (a, b, c))
    live.discard("b")
    await editors.log("info", "again", "misbehave")
    assert len(b.sent) == 2 and len(a.sent) == 3  # b ended: forgotten


async def test_a_relayed_request_goes_to_the_session_whose_call_is_running_else_the_last_heard() -> None:
    editors = WorkspaceEditors(InMemorySubscriptionBus())
    editors.live_sessions = lambda: {"a", "b"}
    a, b = await _open(editors, "a"), await _open(editors, "b")
    in_call = anyio.Event()
    release = anyio.Event()

    async def long_call(ctx: Any) -> dict[str, Any]:
        in_call.set()
        await release.wait()
        return {}

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(editors.observe, context(a, "tools/call", VERSION, {"name": "x"}), long_call)
        await in_call.wait()
        await editors.observe(context(b, "ping", VERSION), handler(editors))  # b was heard from later
        await editors.request("roots/list", None)
        assert len(a.sent) == 1 and b.sent == []  # a's running call asked
        release.set()
    await editors.request("roots/list", None)
    assert len(b.sent) == 1  # no call running: the session heard from last
    assert editors.client_capabilities() == {"sampling": {}, "roots": {"listChanged": True}, "elicitation": {}}


async def test_modern_requests_use_the_workspace_bus_and_no_session_table() -> None:
    bus = InMemorySubscriptionBus()
    workspace = WorkspaceEditors(bus)
    events: list[Any] = []
    bus.subscribe(events.append)
    session = HttpSession(None)
    await workspace.observe(context(session, "tools/list", "2026-07-28"), handler(workspace))
    await workspace.list_changed("tools")
    assert [type(event) for event in events] == [ToolsListChanged]
    assert workspace._sessions == {}
