"""Who the editor is and how to reach it (`editor_session.EditorSession`), with a fake SDK session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp.server.context import ServerRequestContext
from mcp.server.subscriptions import (
    InMemorySubscriptionBus,
    PromptsListChanged,
    ResourcesListChanged,
    ResourceUpdated,
    ToolsListChanged,
)
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, METHOD_NOT_FOUND

from mcp_registry_server.registry import RequestError
from mcp_registry_server.server.editor_session import EditorSession
from tests.server.wire import request, running_registry

MODERN = "2026-07-28"
CAPABILITIES = {"sampling": {}, "roots": {"listChanged": True}, "experimental": {"x": {}}, "elicitation": {}}
SAMPLING = {"messages": [{"role": "user", "content": {"type": "text", "text": "hi"}}], "maxTokens": 5}


class FakeSession:
    """What `EditorSession` uses of the SDK's `ServerSession`: records what it was asked to send."""

    def __init__(self, capabilities: dict[str, Any] | None = None) -> None:
        self.client_capabilities = (
            types.ClientCapabilities.model_validate(capabilities) if capabilities is not None else None
        )
        self.sent: list[Any] = []
        self.failure: BaseException | None = None
        self.answer: dict[str, Any] | MCPError = {"role": "assistant", "content": {"type": "text", "text": "ok"}}

    async def _record(self, what: Any) -> None:
        if self.failure is not None:
            raise self.failure
        self.sent.append(what)

    async def send_tool_list_changed(self) -> None:
        await self._record("tools")

    async def send_resource_list_changed(self) -> None:
        await self._record("resources")

    async def send_prompt_list_changed(self) -> None:
        await self._record("prompts")

    async def send_resource_updated(self, uri: str) -> None:
        await self._record(("updated", uri))

    async def send_elicit_complete(self, elicitation_id: str) -> None:
        await self._record(("complete", elicitation_id))

    async def send_notification(self, notification: Any) -> None:
        await self._record(notification)

    async def send_request(self, request: Any, result_type: Any) -> Any:
        await self._record(request)
        if isinstance(self.answer, MCPError):
            raise self.answer
        return result_type.model_validate(self.answer)


def context(session: FakeSession, method: str, version: str, params: Any = None, request_id: Any = 1) -> Any:
    return ServerRequestContext(
        session=session,  # type: ignore[arg-type]
        lifespan_context={},
        protocol_version=version,
        method=method,
        params=params,
        request_id=request_id,
    )


def init_params(version: str, capabilities: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "protocolVersion": version,
        "capabilities": capabilities if capabilities is not None else CAPABILITIES,
        "clientInfo": {"name": "editor", "version": "1"},
    }


async def handshake(version: str = "2025-06-18", capabilities: dict[str, Any] | None = None) -> tuple[Any, ...]:
    editor = EditorSession(InMemorySubscriptionBus())
    session = FakeSession()

    async def call_next(ctx: Any) -> dict[str, Any]:
        return {"protocolVersion": version, "capabilities": {}, "serverInfo": {"name": "r", "version": "1"}}

    ctx = context(session, "initialize", version, init_params(version, capabilities))
    await editor.observe(ctx, call_next)
    return editor, session


async def modern_request(capabilities: dict[str, Any] | None = CAPABILITIES) -> tuple[Any, ...]:
    editor = EditorSession(InMemorySubscriptionBus())
    session = FakeSession(capabilities)
    seen: list[Any] = []

    async def call_next(ctx: Any) -> dict[str, Any]:
        seen.append(ctx)
        return {"tools": []}

    ctx = context(session, "tools/list", MODERN)
    assert await editor.observe(ctx, call_next) == {"tools": []}
    assert seen == [ctx]  # passed on unchanged
    return editor, session


def events_of(editor: EditorSession) -> list[Any]:
    events: list[Any] = []
    editor.bus.subscribe(events.append)
    return events


# -- learning who the editor is ---------------------------------------------------------------------


async def test_before_anything_the_editor_is_nobody() -> None:
    editor = EditorSession(InMemorySubscriptionBus())
    assert editor.handshake_version() is None and editor.protocol_version is None and not editor.is_modern
    assert editor.client_capabilities() == {}


async def test_initialize_records_the_negotiated_version_and_the_relayable_capabilities() -> None:
    editor, _ = await handshake("2025-06-18")
    assert editor.handshake_version() == "2025-06-18" and editor.protocol_version == "2025-06-18"
    assert not editor.is_modern
    assert editor.client_capabilities() == {"sampling": {}, "roots": {"listChanged": True}, "elicitation": {}}


async def test_an_initialize_the_sdk_refused_negotiates_nothing() -> None:
    editor = EditorSession(InMemorySubscriptionBus())

    async def refused(ctx: Any) -> dict[str, Any]:
        return {"protocolVersion": "2025-06-18"}

    await editor.observe(context(FakeSession(), "initialize", "2025-06-18", {"protocolVersion": 5}), refused)
    assert editor.handshake_version() is None


async def test_an_initialize_result_without_a_version_negotiates_nothing() -> None:
    editor = EditorSession(InMemorySubscriptionBus())

    async def no_version(ctx: Any) -> Any:
        return types.EmptyResult()

    await editor.observe(context(FakeSession(), "initialize", "2025-06-18", init_params("2025-06-18")), no_version)
    assert editor.handshake_version() is None and editor.protocol_version is None


async def test_a_2026_request_records_its_version_and_capabilities() -> None:
    editor, _ = await modern_request()
    assert editor.is_modern and editor.protocol_version == MODERN and editor.handshake_version() is None
    assert editor.client_capabilities() == {"sampling": {}, "roots": {"listChanged": True}, "elicitation": {}}


async def test_a_2026_request_without_capabilities_declares_none() -> None:
    editor, _ = await modern_request(capabilities=None)
    assert editor.is_modern and editor.client_capabilities() == {}


async def test_a_2026_notification_or_a_handshake_era_request_changes_nothing() -> None:
    editor = EditorSession(InMemorySubscriptionBus())

    async def call_next(ctx: Any) -> None:
        return None

    await editor.observe(context(FakeSession(CAPABILITIES), "notifications/x", MODERN, request_id=None), call_next)
    await editor.observe(context(FakeSession(CAPABILITIES), "tools/list", "2025-06-18"), call_next)
    assert editor.protocol_version is None and editor.client_capabilities() == {}


# -- telling a handshake-era editor -------------------------------------------------------------------


async def test_list_changed_and_resource_updated_go_through_the_handshake_session() -> None:
    editor, session = await handshake()
    events = events_of(editor)
    for kind in ("tools", "resources", "prompts"):
        editor.listed(kind)
        await editor.list_changed(kind)
    await editor.resource_updated("file:///a")
    assert session.sent == ["tools", "resources", "prompts", ("updated", "file:///a")]
    assert events == []


async def test_a_kind_the_editor_has_not_listed_yet_gets_no_list_changed() -> None:
    editor, session = await handshake()
    editor.listed("tools")
    for kind in ("tools", "resources", "prompts"):
        await editor.list_changed(kind)
    assert session.sent == ["tools"]  # its first resources or prompts list will show the change


async def test_nothing_is_sent_before_the_handshake() -> None:
    editor = EditorSession(InMemorySubscriptionBus())
    events = events_of(editor)
    await editor.list_changed("tools")
    await editor.resource_updated("file:///a")
    await editor.log("info", "x", "srv")
    await editor.elicitation_complete("e1")
    assert events == []


@pytest.mark.parametrize("failure", [anyio.BrokenResourceError(), anyio.ClosedResourceError(), OSError("EPIPE")])
async def test_notifications_to_an_editor_that_went_away_are_best_effort(failure: BaseException) -> None:
    editor, session = await handshake()
    session.failure = failure
    editor.listed("tools")
    await editor.list_changed("tools")
    await editor.resource_updated("file:///a")
    await editor.log("error", "x", "srv")
    assert session.sent == []


async def test_log_messages_reach_a_handshake_era_editor_as_notifications() -> None:
    editor, session = await handshake()
    await editor.log("warning", {"n": 1}, "srv/db")
    (notification,) = session.sent
    assert isinstance(notification, types.LoggingMessageNotification)
    assert (notification.params.level, notification.params.data, notification.params.logger) == (
        "warning",
        {"n": 1},
        "srv/db",
    )


@pytest.mark.parametrize(("version", "sent"), [("2025-11-25", [("complete", "e1")]), ("2025-06-18", [])])
async def test_elicitation_complete_only_where_the_version_defines_it(version: str, sent: list[Any]) -> None:
    editor, session = await handshake(version)
    await editor.elicitation_complete("e1")
    assert session.sent == sent


# -- telling a 2026-07-28 editor --------------------------------------------------------------------


async def test_a_2026_editor_is_told_on_the_subscription_bus() -> None:
    editor, session = await modern_request()
    events = events_of(editor)
    await editor.list_changed("tools")
    await editor.list_changed("resources")
    await editor.list_changed("prompts")
    await editor.resource_updated("file:///a")
    assert [type(event) for event in events] == [
        ToolsListChanged,
        ResourcesListChanged,
        PromptsListChanged,
        ResourceUpdated,
    ]
    assert events[3].uri == "file:///a" and session.sent == []


async def test_a_2026_editor_gets_no_log_messages_or_elicitation_complete_outside_a_request() -> None:
    editor, session = await handshake("2025-11-25")

    async def call_next(ctx: Any) -> dict[str, Any]:
        return {}

    await editor.observe(context(FakeSession(CAPABILITIES), "tools/list", MODERN), call_next)  # now 2026-07-28
    await editor.log("info", "x", "srv")
    await editor.elicitation_complete("e1")
    assert editor.is_modern and session.sent == []


# -- relaying requests ----------------------------------------------------------------------------------


async def test_a_request_before_the_handshake_cannot_reach_the_editor() -> None:
    editor = EditorSession(InMemorySubscriptionBus())
    with pytest.raises(RequestError) as raised:
        await editor.request("roots/list", None)
    assert raised.value.code == METHOD_NOT_FOUND
    assert raised.value.message.startswith("roots/list cannot reach this editor now: it speaks no protocol yet")


async def test_a_2026_editor_cannot_be_sent_requests() -> None:
    editor, session = await modern_request()
    with pytest.raises(RequestError) as raised:
        await editor.request("sampling/createMessage", SAMPLING)
    assert raised.value.code == METHOD_NOT_FOUND and f"it speaks {MODERN}" in raised.value.message
    assert session.sent == []


async def test_a_request_is_typed_on_the_way_out_and_answered_whole() -> None:
    editor, session = await handshake()
    session.answer = {"role": "assistant", "content": {"type": "text", "text": "ok"}, "model": "m", "x-extra": 1}
    answer = await editor.request("sampling/createMessage", SAMPLING)
    (request,) = session.sent
    assert isinstance(request, types.CreateMessageRequest) and request.params.max_tokens == 5
    assert answer == {"role": "assistant", "content": {"type": "text", "text": "ok"}, "model": "m", "x-extra": 1}


async def test_a_request_with_invalid_params_is_refused_before_it_is_sent() -> None:
    editor, session = await handshake()
    with pytest.raises(RequestError) as raised:
        await editor.request("sampling/createMessage", {"maxTokens": "many"})
    assert raised.value.code == INVALID_PARAMS and raised.value.message.startswith(
        "Invalid sampling/createMessage params"
    )
    assert session.sent == []


async def test_the_editors_error_comes_back_as_a_request_error() -> None:
    editor, session = await handshake()
    session.answer = MCPError(-1, "User rejected sampling", {"why": "no"})
    with pytest.raises(RequestError) as raised:
        await editor.request("sampling/createMessage", SAMPLING)
    assert (raised.value.code, raised.value.message, raised.value.data) == (-1, "User rejected sampling", {"why": "no"})


# -- end to end, on pipes with a scripted child (no Podman) ------------------------------------------------

CHATTY = {
    "tools": [{"name": "chatty", "inputSchema": {"type": "object"}}, {"name": "gone", "inputSchema": {}}],
    "calls": {
        "chatty": {
            "setTools": [{"name": "chatty", "inputSchema": {"type": "object"}}],
            "notify": [
                {"method": "notifications/message", "params": {"level": "warning", "logger": "db", "data": "slow"}},
                {"method": "notifications/tools/list_changed"},
            ],
        }
    },
}


async def test_a_childs_log_and_list_changed_reach_a_handshake_era_editor(tmp_path: Path) -> None:
    version = "2025-11-25"
    async with running_registry(tmp_path, {"fake": CHATTY}) as (wire, _):
        await wire.handshake(version)
        await wire.call(version, 1, "registry_add", {"entry_id": "fake"})
        await wire.exchange(request(version, 3, "tools/list", {}), 3)  # it now hears list changes
        seen = await wire.exchange(request(version, 2, "tools/call", {"name": "fake_chatty", "arguments": {}}), 2)
        with anyio.fail_after(5):
            while not any(message.get("method") == "notifications/tools/list_changed" for message in seen):
                seen.append(await wire.next_message())  # after the registry re-listed the child's tools
    logs = [message["params"] for message in seen if message.get("method") == "notifications/message"]
    assert logs == [{"level": "warning", "logger": "fake/db", "data": "slow"}]


async def test_a_2026_editor_gets_no_log_messages_outside_its_request(tmp_path: Path) -> None:
    async with running_registry(tmp_path, {"fake": CHATTY}) as (wire, _):
        await wire.call(MODERN, 1, "registry_add", {"entry_id": "fake"})
        seen = await wire.exchange(request(MODERN, 2, "tools/call", {"name": "fake_chatty", "arguments": {}}), 2)
        with anyio.move_on_after(0.3):
            seen.append(await wire.next_message())
    assert [message.get("method") for message in seen if "method" in message] == []
    assert seen[0]["result"]["resultType"] == "complete"
