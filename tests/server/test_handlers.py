"""The editor's request handlers (`handlers`): pagination, tool calls and their failures, both protocol eras.

A real registry on fake Podman (`tests/registry/support.py`) sits behind the handlers; mounts with
fake clients stand in where a test needs a child to answer something exact.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from mcp.server.context import ServerRequestContext
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from mcp_registry_server.mcp_client import MCPRemoteError
from mcp_registry_server.registry import Registry, RequestError
from mcp_registry_server.server.editor_session import EditorSession
from mcp_registry_server.server.handlers import PAGE_SIZE, EditorHandlers, paginate
from mcp_registry_server.server.registry_tools import ToolCall
from mcp_registry_server.server.tools import REGISTRY_TOOLS
from tests.registry.support import FakeClient, client_of, make_mount, open_test_registry
from tests.server.wire import request, running_registry

MODERN = "2026-07-28"
VERSION = "2025-11-25"
RELAY = ToolCall(None, "relay")
ITEMS = [{"n": n} for n in range(2 * PAGE_SIZE + 7)]


def cursor_of(state: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode()


# -- paginate -------------------------------------------------------------------------------------


def test_a_short_list_is_one_page_without_a_cursor() -> None:
    assert paginate(ITEMS[:PAGE_SIZE], "tools", None) == {"tools": ITEMS[:PAGE_SIZE]}


def test_cursors_walk_the_whole_list_in_pages() -> None:
    pages, cursor = [], None
    while True:
        page = paginate(ITEMS, "tools", cursor)
        pages.append(page["tools"])
        cursor = page.get("nextCursor")
        if cursor is None:
            break
    assert [len(page) for page in pages] == [PAGE_SIZE, PAGE_SIZE, 7]
    assert [item for page in pages for item in page] == ITEMS


def test_a_cursor_past_the_end_gives_an_empty_last_page() -> None:
    assert paginate(ITEMS[:3], "tools", cursor_of({"k": "tools", "o": 10})) == {"tools": []}


@pytest.mark.parametrize(
    "cursor",
    [
        "nope!",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        cursor_of({"k": "prompts", "o": 0}),  # another list's cursor
        cursor_of({"k": "tools", "o": -1}),
        cursor_of({"k": "tools", "o": "5"}),
        cursor_of({"k": "tools"}),
        cursor_of([1, 2]),
    ],
)
def test_a_cursor_we_did_not_make_is_invalid_params(cursor: str) -> None:
    with pytest.raises(MCPError) as raised:
        paginate(ITEMS, "tools", cursor)
    assert raised.value.error.code == INVALID_PARAMS
    assert raised.value.error.message == "Invalid cursor for tools: start again without a cursor."


# -- the handlers, with a registry ------------------------------------------------------------------


class Session:
    """The SDK session a handler's context carries: only progress is used."""

    def __init__(self) -> None:
        self.progress: list[tuple[Any, ...]] = []
        self.client_capabilities = None

    async def report_progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        self.progress.append((progress, total, message))


def ctx(method: str, params: dict[str, Any] | None = None, version: str = VERSION) -> Any:
    return ServerRequestContext(
        session=Session(),  # type: ignore[arg-type]
        lifespan_context={},
        protocol_version=version,
        method=method,
        params=params,
        request_id=1,
    )


@dataclass
class Served:
    handlers: EditorHandlers
    registry: Registry


@asynccontextmanager
async def served(tmp_path: Path, scripts: dict[str, dict[str, Any]] | None = None) -> AsyncIterator[Served]:
    bus = InMemorySubscriptionBus()
    handlers = EditorHandlers(EditorSession(bus), ListenHandler(bus))
    async with open_test_registry(tmp_path, scripts or {"demo": {}}) as r:
        handlers.registry = r.registry
        yield Served(handlers, r.registry)


def tool_text(result: dict[str, Any]) -> str:
    return "".join(item["text"] for item in result["content"])


async def test_before_the_registry_is_open_a_call_is_a_tool_error() -> None:
    bus = InMemorySubscriptionBus()
    handlers = EditorHandlers(EditorSession(bus), ListenHandler(bus))
    result = await handlers.tool_call("registry_list", {}, None, RELAY, VERSION)
    assert result == {
        "content": [{"type": "text", "text": "The registry is still starting; try again in a moment."}],
        "isError": True,
    }
    with pytest.raises(MCPError):
        await handlers.tool_list(None, "2025-06-18")


async def test_tool_list_puts_the_registry_tools_first_and_pages(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        s.registry.router.add(make_mount("big", tools=tuple(f"t{n:04}" for n in range(PAGE_SIZE))))
        first = await s.handlers.list_tools(ctx("tools/list"), None)
        second = await s.handlers.list_tools(
            ctx("tools/list"), types.PaginatedRequestParams(cursor=first["nextCursor"])
        )
        assert await s.handlers.tool_list_generation() is s.registry.router.exposed_tools()
    # 2025-11-25 editors also read which tools run as tasks: every routed one, and registry_exec.
    without_execution = [{k: v for k, v in tool.items() if k != "execution"} for tool in first["tools"]]
    assert without_execution[: len(REGISTRY_TOOLS)] == REGISTRY_TOOLS
    runs_as_task = {tool["name"] for tool in first["tools"] if tool.get("execution") == {"taskSupport": "optional"}}
    assert runs_as_task == {"registry_exec", *(f"big_t{n:04}" for n in range(PAGE_SIZE - len(REGISTRY_TOOLS)))}
    names = [tool["name"] for tool in first["tools"] + second["tools"]]
    assert len(names) == len(REGISTRY_TOOLS) + PAGE_SIZE and names[-1] == f"big_t{PAGE_SIZE - 1:04}"
    assert "nextCursor" not in second


async def test_a_routed_call_comes_back_in_the_editors_shape(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        await s.registry.mounts.add("demo")
        params = types.CallToolRequestParams(name="demo_echo", arguments={"a": 1})
        result = await s.handlers.call_tool(ctx("tools/call", {"name": "demo_echo"}), params)
        modern = await s.handlers.tool_call("demo_echo", {"a": 2}, {}, RELAY, MODERN)
    assert result == {"content": [{"type": "text", "text": '{"a": 1}'}]}
    assert modern == {"content": [{"type": "text", "text": '{"a": 2}'}], "resultType": "complete"}


@pytest.mark.parametrize(
    ("name", "arguments", "text"),
    [
        ("registry_search", {}, "registry_search: missing required argument(s): query"),
        ("registry_info", {"entry_id": "nope"}, "Unknown catalog entry 'nope'."),
        ("registry_remove", {"entry_id_or_prefix": "nope"}, "Nothing active matches 'nope'. Active prefixes: none."),
        ("nope_tool", {}, "Unknown tool 'nope_tool': no server is active."),
        ("demo_echo", [1], "Unknown tool 'demo_echo'"),
    ],
)
async def test_failures_the_user_can_act_on_are_tool_errors(
    tmp_path: Path, name: str, arguments: Any, text: str
) -> None:
    async with served(tmp_path) as s:
        result = await s.handlers.tool_call(name, arguments, {}, RELAY, VERSION)
    assert result["isError"] is True and tool_text(result).startswith(text)


async def test_a_registry_tool_result_is_returned_as_it_is(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        result = await s.handlers.tool_call("registry_list", None, None, RELAY, VERSION)
    assert result["structuredContent"] == {"entries": [{"id": "demo", "name": "Demo", "active": False}]}


async def test_an_unexpected_exception_is_an_internal_tool_error(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        s.registry.router.add(make_mount("demo", FakeClient(RuntimeError("bug in the registry"))))
        result = await s.handlers.tool_call("demo_echo", {}, {}, RELAY, VERSION)
    assert result["isError"] is True
    assert tool_text(result) == (
        "Internal error in demo_echo; the registry keeps serving. Details are in the registry's log."
    )


async def test_url_elicitation_required_becomes_the_editors_jsonrpc_error(tmp_path: Path) -> None:
    data = {"elicitations": [{"mode": "url", "url": "https://example.com", "elicitationId": "e"}]}
    async with served(tmp_path) as s:
        s.registry.router.add(make_mount("demo", FakeClient(MCPRemoteError(-32042, "open it", data))))
        with pytest.raises(MCPError) as raised:
            await s.handlers.tool_call("demo_echo", {}, {}, RELAY, VERSION)
    assert (raised.value.error.code, raised.value.error.message, raised.value.error.data) == (-32042, "open it", data)


async def test_a_2026_call_that_asks_returns_input_required_and_its_retry_resumes(tmp_path: Path) -> None:
    asks = {"resultType": "input_required", "inputRequests": {"q": {"method": "roots/list"}}, "requestState": "c"}
    done = {"content": [{"type": "text", "text": "thanks"}]}
    async with served(tmp_path) as s:
        mount = make_mount("demo", FakeClient(asks, done))
        s.registry.router.add(mount)
        defer = ToolCall(None, "defer")
        first = await s.handlers.tool_call("demo_echo", {}, {}, defer, MODERN)
        assert first["resultType"] == "input_required" and first["inputRequests"] == {"q": {"method": "roots/list"}}
        retry = {"requestState": first["requestState"], "inputResponses": {"q": {"roots": []}}}
        final = await s.handlers.tool_call("demo_echo", {}, retry, defer, MODERN)
        again = await s.handlers.tool_call("demo_echo", {}, retry, defer, MODERN)
    assert final == {**done, "resultType": "complete"}
    assert client_of(mount).requests[1][1]["inputResponses"] == {"q": {"roots": []}}
    assert again["isError"] is True and "Call it again" in tool_text(again)


async def test_a_large_result_at_the_end_of_a_resumed_call_is_offloaded_too(tmp_path: Path) -> None:
    asks = {"resultType": "input_required", "inputRequests": {"q": {"method": "roots/list"}}, "requestState": "c"}
    big = "r" * 100_000
    async with served(tmp_path) as s:
        s.registry.router.add(make_mount("demo", FakeClient(asks, {"content": [{"type": "text", "text": big}]})))
        defer = ToolCall(None, "defer")
        first = await s.handlers.tool_call("demo_echo", {}, {}, defer, MODERN)
        retry = {"requestState": first["requestState"], "inputResponses": {"q": {"roots": []}}}
        final = await s.handlers.tool_call("demo_echo", {}, retry, defer, MODERN)
        preview, note, link = final["content"]
        ref = link["uri"].removeprefix("mcp-registry://results/")
        rest = await s.handlers.tool_call("registry_get_content", {"ref": ref, "offset": 4096}, None, defer, MODERN)
    assert final["resultType"] == "complete" and preview["text"] == big[:4096] and "100,000 bytes" in note["text"]
    assert rest["content"][0]["text"] == big[4096 : 4096 + 32768]


async def test_a_handshake_era_request_state_is_not_a_retry(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        await s.registry.mounts.add("demo")
        result = await s.handlers.tool_call("demo_echo", {"a": 1}, {"requestState": "x"}, RELAY, VERSION)
    assert tool_text(result) == '{"a": 1}'


async def test_a_request_with_a_progress_token_forwards_progress(tmp_path: Path) -> None:
    async def child(method: str, params: Any, options: dict[str, Any]) -> dict[str, Any]:
        await options["on_progress"]({"progress": 1, "total": 2})
        return {"content": []}

    async with served(tmp_path) as s:
        s.registry.router.add(make_mount("demo", FakeClient(child)))
        context = ctx("tools/call", {"name": "demo_echo", "_meta": {"progressToken": "t"}})
        await s.handlers.call_tool(context, types.CallToolRequestParams(name="demo_echo"))
        quiet = ctx("tools/call", {"name": "demo_echo"})
        call = s.handlers._tool_call(quiet)
        modern = s.handlers._tool_call(ctx("tools/call", {"name": "x"}, MODERN))
    assert context.session.progress == [(1, 2, None)]
    assert call.progress is None and call.mode == "relay" and modern.mode == "defer"


# -- the other methods, through the SDK-facing wrappers ---------------------------------------------------


async def test_wrapped_handlers_turn_request_errors_into_mcp_errors(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        handlers = s.handlers.handlers()
        with pytest.raises(MCPError) as raised:
            await handlers["on_get_prompt"](ctx("prompts/get"), types.GetPromptRequestParams(name="nope"))
        retry = {"requestState": "stale", "inputResponses": {}}
        with pytest.raises(MCPError) as stale:
            await handlers["on_read_resource"](
                ctx("resources/read", retry, MODERN), types.ReadResourceRequestParams(uri="file:///x")
            )
    assert raised.value.error.code == INVALID_PARAMS and "Unknown prompt 'nope'" in raised.value.error.message
    assert stale.value.error.code == INVALID_PARAMS and "Call it again" in stale.value.error.message


async def test_wrapped_handlers_give_2026_results_their_result_type(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        handlers = s.handlers.handlers()
        old = await handlers["on_list_prompts"](ctx("prompts/list"), None)
        modern = await handlers["on_list_prompts"](ctx("prompts/list", version=MODERN), None)
        tools = await handlers["on_list_tools"](ctx("tools/list", version=MODERN), None)
    assert old == {"prompts": []} and modern == {"prompts": [], "resultType": "complete"}
    assert tools["resultType"] == "complete"


async def test_prompts_resources_and_completion_reach_their_mount(tmp_path: Path) -> None:
    client = FakeClient(
        {"completion": {"values": ["a"]}}, capabilities={"prompts": {}, "resources": {}, "completions": {}}
    )
    client.lists["prompts"] = [{"name": "hello"}]
    client.lists["resources"] = [{"uri": "file:///r", "name": "r"}]
    async with served(tmp_path) as s:
        s.registry.router.add(make_mount("demo", client))
        handlers = s.handlers.handlers()
        prompts = await handlers["on_list_prompts"](ctx("prompts/list"), None)
        resources = await handlers["on_list_resources"](ctx("resources/list"), None)
        templates = await handlers["on_list_resource_templates"](ctx("resources/templates/list"), None)
        params = types.CompleteRequestParams.model_validate(
            {
                "ref": {"type": "ref/prompt", "name": "demo_hello"},
                "argument": {"name": "who", "value": "a"},
                "_meta": {"progressToken": "t"},
            }
        )
        completion = await handlers["on_completion"](ctx("completion/complete"), params)
        await handlers["on_subscribe_resource"](
            ctx("resources/subscribe"), types.SubscribeRequestParams(uri="file:///r")
        )
        await handlers["on_unsubscribe_resource"](
            ctx("resources/unsubscribe"), types.UnsubscribeRequestParams(uri="file:///r")
        )
    assert [prompt["name"] for prompt in prompts["prompts"]] == ["demo_hello"]
    assert [resource["uri"] for resource in resources["resources"]] == ["file:///r"]
    assert templates == {"resourceTemplates": []}
    assert completion == {"completion": {"values": ["a"]}}
    sent = [(method, params) for method, params, _ in client.requests]
    assert sent[0] == (
        "completion/complete",
        {"ref": {"type": "ref/prompt", "name": "hello"}, "argument": {"name": "who", "value": "a"}},
    )  # the editor's _meta stays with the editor
    assert sent[1:] == [("resources/subscribe", {"uri": "file:///r"}), ("resources/unsubscribe", {"uri": "file:///r"})]


async def test_logging_level_and_roots_changes_reach_the_mounts(tmp_path: Path) -> None:
    client = FakeClient({}, capabilities={"logging": {}})
    async with served(tmp_path) as s:
        s.registry.router.add(make_mount("demo", client))
        s.registry.events._editor.capabilities["roots"] = {}  # type: ignore[attr-defined]
        assert (
            await s.handlers.set_logging_level(ctx("logging/setLevel"), types.SetLevelRequestParams(level="error"))
            == {}
        )
        await s.handlers.roots_list_changed(ctx("notifications/roots/list_changed"), types.NotificationParams())
    assert s.registry.events.log_level == "error"
    assert client.requests[0][:2] == ("logging/setLevel", {"level": "error"})
    assert client.notified == ["notifications/roots/list_changed"]


async def test_a_resource_no_mount_offers_is_an_error_for_the_editor(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        with pytest.raises(RequestError):
            await s.handlers.read_resource(ctx("resources/read"), types.ReadResourceRequestParams(uri="file:///none"))


# -- end to end, on pipes with a scripted child (no Podman) ------------------------------------------------

ASKER = {
    "tools": [{"name": "ask", "inputSchema": {"type": "object"}}],
    "calls": {"ask": {"ask": [{"method": "roots/list"}]}},
}
ROOTS = {"io.modelcontextprotocol/clientCapabilities": {"roots": {}}}


async def test_a_2026_editor_answers_a_childs_question_by_retrying_with_the_sealed_state(tmp_path: Path) -> None:
    def call(request_id: int, name: str = "demo_ask", **params: Any) -> bytes:
        return request(MODERN, request_id, "tools/call", {"name": name, "arguments": {}, "_meta": ROOTS, **params})

    async with running_registry(tmp_path, {"demo": ASKER}) as (wire, _):
        await wire.exchange(
            request(MODERN, 1, "tools/call", {"name": "registry_add", "arguments": {"entry_id": "demo"}}), 1
        )
        (first,) = await wire.exchange(call(2), 2)
        asked = first["result"]
        assert asked["resultType"] == "input_required" and asked["inputRequests"] == {"ask-1": {"method": "roots/list"}}
        assert "." in asked["requestState"] and "ask-1" not in asked["requestState"]  # sealed, not our park id
        (forged,) = await wire.exchange(call(3, requestState=asked["requestState"][:-4] + "AAAA"), 3)
        (elsewhere,) = await wire.exchange(call(4, "registry_list", requestState=asked["requestState"]), 4)
        answers = {"ask-1": {"roots": [{"uri": "file:///w", "name": "w"}]}}
        (final,) = await wire.exchange(call(5, requestState=asked["requestState"], inputResponses=answers), 5)
    assert forged["error"]["code"] == -32602 and elsewhere["error"]["code"] == -32602
    assert final["result"]["resultType"] == "complete"
    assert json.loads(final["result"]["content"][0]["text"]) == [answers["ask-1"]]
