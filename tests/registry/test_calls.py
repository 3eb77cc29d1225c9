"""Routing a request to its mount (`calls.CallRouter`), with fake clients: outcomes, errors, questions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp_types import INTERNAL_ERROR

from mcp_registry_server.catalog import ToolFilter
from mcp_registry_server.mcp_client import (
    MCPClientClosedError,
    MCPProcessExitedError,
    MCPRemoteError,
    MCPTimeoutError,
)
from mcp_registry_server.registry.asks import InputRequired, ParkedRequests
from mcp_registry_server.registry.calls import MAX_INPUT_ROUNDS, CallOutcome, CallRouter
from mcp_registry_server.registry.child_events import ChildEvents
from mcp_registry_server.registry.errors import RequestError
from mcp_registry_server.registry.passthrough import Passthrough
from mcp_registry_server.registry.router import ActiveMount, ToolRouter
from mcp_registry_server.settings import RegistrySettings
from tests.registry.support import FakeClient, FakeEditor, client_of, make_mount

SETTINGS = RegistrySettings(catalog_dirs=(), config_dir=Path("/nonexistent"), runtime_dir=Path("/nonexistent"))
ELICIT = {"method": "elicitation/create", "params": {"message": "name?", "requestedSchema": {"type": "object"}}}
RESULT = {"content": [{"type": "text", "text": "ok"}]}


def input_required(state: str | None = "st-1", **requests: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"resultType": "input_required", "inputRequests": requests or {"q": ELICIT}}
    if state is not None:
        result["requestState"] = state
    return result


@dataclass
class Routing:
    calls: CallRouter
    router: ToolRouter
    editor: FakeEditor
    events: ChildEvents

    def mount(self, mount: ActiveMount) -> ActiveMount:
        self.router.add(mount)
        return mount


@asynccontextmanager
async def routing(capabilities: dict[str, Any] | None = None) -> AsyncIterator[Routing]:
    editor = FakeEditor(capabilities if capabilities is not None else {"sampling": {}, "elicitation": {}})
    router = ToolRouter()
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tasks:
            parked = ParkedRequests(tasks, park_ttl=30)
            calls = CallRouter(router, SETTINGS, editor, parked)
            events = ChildEvents(router, Passthrough(router.mounts, calls), editor)
            yield Routing(calls, router, editor, events)
            parked.cancel_all()
            tasks.cancel_scope.cancel()


def text(outcome: Any) -> str:
    assert isinstance(outcome, CallOutcome), outcome
    return "".join(item["text"] for item in outcome.result["content"])


# -- the call's way in ---------------------------------------------------------------------------


async def test_a_call_reaches_the_childs_tool_under_its_own_name() -> None:
    async with routing() as r:
        mount = r.mount(make_mount("db", FakeClient(RESULT), tools=("list_tables",)))
        outcome = await r.calls.call_tool("db_list_tables", {"limit": 2})
    assert outcome == CallOutcome(RESULT, server="db server (prefix 'db')")
    ((method, params, options),) = client_of(mount).requests
    assert (method, params) == ("tools/call", {"name": "list_tables", "arguments": {"limit": 2}})
    assert options["max_timeout"] == SETTINGS.call_timeout_bound
    assert options["on_progress"] is None  # nobody to forward progress to
    assert mount.calls_served == 1


async def test_no_arguments_are_sent_as_an_empty_object() -> None:
    async with routing() as r:
        mount = r.mount(make_mount())
        await r.calls.call_tool("demo_echo")
    assert client_of(mount).requests[0][1] == {"name": "echo", "arguments": {}}


@pytest.mark.parametrize("arguments", [[1, 2], "text", 3])
async def test_arguments_that_are_not_an_object_are_a_tool_error(arguments: Any) -> None:
    async with routing() as r:
        mount = r.mount(make_mount())
        outcome = await r.calls.call_tool("demo_echo", arguments)
    assert outcome.result["isError"] is True
    assert text(outcome) == f"arguments must be a JSON object, not {type(arguments).__name__}."
    assert client_of(mount).requests == [] and outcome.server is None


async def test_an_unknown_tool_with_nothing_active_says_how_to_activate_one() -> None:
    async with routing() as r:
        outcome = await r.calls.call_tool("nope_tool", {})
    assert outcome.result["isError"] is True
    assert text(outcome) == (
        "Unknown tool 'nope_tool': no server is active. Activate one with registry_add (see registry_search)."
    )


async def test_a_filtered_out_tool_says_why_and_who_can_change_it() -> None:
    async with routing() as r:
        narrowed = make_mount("fs", tools=("read_file", "write_file"))
        narrowed.tool_filter = ToolFilter(deny=("write_*",))
        r.mount(narrowed)
        outcome = await r.calls.call_tool("fs_write_file", {"path": "/x"})
    assert outcome.result["isError"] is True and client_of(narrowed).requests == []
    assert text(outcome) == (
        "Tool 'fs_write_file' of fs is not offered: it matches tools_deny ['write_*']. "
        "The user can change tools_allow / tools_deny for fs in the registry's config.toml."
    )


async def test_an_unknown_tool_lists_the_available_ones() -> None:
    async with routing() as r:
        r.mount(make_mount("a", tools=("one", "two")))
        outcome = await r.calls.call_tool("a_three", {})
        not_a_name = await r.calls.call_tool(["a_one"], {})
    assert text(outcome) == "Unknown tool 'a_three'. Available tools: a_one, a_two."
    assert text(not_a_name).startswith("Unknown tool ['a_one']. Available tools:")


async def test_a_long_tool_listing_is_cut_at_200_names() -> None:
    async with routing() as r:
        r.mount(make_mount("m", tools=tuple(f"t{n:03}" for n in range(205))))
        outcome = await r.calls.call_tool("m_zzz", {})
    assert text(outcome).endswith("m_t199 … and 5 more.") and "m_t200" not in text(outcome)


async def test_progress_is_forwarded_to_the_editors_callback() -> None:
    seen: list[Any] = []

    async def progress(value: float, total: float | None, message: str | None) -> None:
        seen.append((value, total, message))

    async def child(method: str, params: Any, options: dict[str, Any]) -> dict[str, Any]:
        await options["on_progress"]({"progress": 1, "total": 4, "message": "a quarter"})
        await options["on_progress"]({})
        return RESULT

    async with routing() as r:
        r.mount(make_mount(client=FakeClient(child)))
        await r.calls.call_tool("demo_echo", {}, progress)
    assert seen == [(1, 4, "a quarter"), (0, None, None)]


# -- failures ------------------------------------------------------------------------------------


async def test_a_timeout_is_a_tool_error_that_says_the_server_was_told_to_cancel() -> None:
    async with routing() as r:
        mount = r.mount(make_mount(client=FakeClient(MCPTimeoutError("tools/call", 5))))
        outcome = await r.calls.call_tool("demo_echo", {})
    assert outcome.result["isError"] is True
    assert text(outcome).startswith("demo_echo timed out: 'tools/call' got no response within 5 s")
    assert text(outcome).endswith("The server was told to cancel the call.")
    assert "got no response" in (mount.last_error or "")
    assert mount.calls_served == 0


async def test_a_server_that_exits_mid_call_says_to_remove_and_add_it_again() -> None:
    async with routing() as r:
        r.mount(make_mount(client=FakeClient(MCPProcessExitedError(3))))
        outcome = await r.calls.call_tool("demo_echo", {})
    assert text(outcome).startswith("The demo server (prefix 'demo') exited during demo_echo: ")
    assert "exited with code 3" in text(outcome)
    assert text(outcome).endswith('Remove it with registry_remove("demo") and add it again.')


async def test_a_server_that_exits_mid_call_and_restarts_says_to_try_again() -> None:
    async with routing() as r:
        r.mount(make_mount(client=FakeClient(MCPProcessExitedError(None)), restart="on-failure", max_restarts=2))
        outcome = await r.calls.call_tool("demo_echo", {})
    assert "closed its output" in text(outcome)
    assert text(outcome).endswith("It is being restarted (its entry says restart = on-failure); try again in a moment.")


async def test_a_server_out_of_restarts_says_to_remove_it() -> None:
    async with routing() as r:
        mount = r.mount(make_mount(client=FakeClient(MCPProcessExitedError(1)), restart="on-failure", max_restarts=1))
        mount.restarts = 1
        outcome = await r.calls.call_tool("demo_echo", {})
    assert "registry_remove" in text(outcome) and "being restarted" not in text(outcome)


async def test_a_childs_jsonrpc_error_is_a_tool_error_for_tools_call() -> None:
    async with routing() as r:
        mount = r.mount(make_mount(client=FakeClient(MCPRemoteError(-32000, "boom", {"x": 1}))))
        outcome = await r.calls.call_tool("demo_echo", {})
    assert text(outcome) == "demo_echo failed in the server: error -32000: boom"
    assert mount.last_error == "error -32000: boom"


async def test_a_client_error_is_a_tool_error_for_tools_call() -> None:
    async with routing() as r:
        mount = r.mount(make_mount(client=FakeClient(MCPClientClosedError("the client was closed"))))
        outcome = await r.calls.call_tool("demo_echo", {})
    assert text(outcome) == "demo_echo failed: the client was closed"
    assert mount.last_error == "the client was closed"


async def test_url_elicitation_required_passes_through_as_a_request_error() -> None:
    data = {"elicitations": [{"mode": "url", "url": "https://example.com/auth", "elicitationId": "e1"}]}
    async with routing() as r:
        r.mount(make_mount(client=FakeClient(MCPRemoteError(-32042, "open this URL", data))))
        with pytest.raises(RequestError) as raised:
            await r.calls.call_tool("demo_echo", {})
    assert (raised.value.code, raised.value.message, raised.value.data) == (-32042, "open this URL", data)


async def test_other_methods_get_the_childs_jsonrpc_error_as_it_was() -> None:
    async with routing() as r:
        mount = r.mount(make_mount(client=FakeClient(MCPRemoteError(-32002, "no such resource", {"uri": "x"}))))
        with pytest.raises(RequestError) as raised:
            await r.calls.request(mount, "resources/read", {"uri": "x"})
    assert (raised.value.code, raised.value.message, raised.value.data) == (-32002, "no such resource", {"uri": "x"})


async def test_other_methods_get_an_internal_error_with_the_failure_text() -> None:
    async with routing() as r:
        mount = r.mount(make_mount(client=FakeClient(MCPTimeoutError("prompts/get", 2))))
        with pytest.raises(RequestError) as raised:
            await r.calls.request(mount, "prompts/get", {"name": "p"})
    assert raised.value.code == INTERNAL_ERROR
    assert raised.value.message.startswith("prompts/get timed out:")


# -- a 2026-07-28 child's InputRequiredResult ------------------------------------------------------


async def test_relay_answers_the_childs_input_requests_and_retries_with_them() -> None:
    async with routing() as r:
        r.editor.answers["elicitation/create"] = {"action": "accept", "content": {"name": "Ada"}}
        mount = r.mount(make_mount(client=FakeClient(input_required(), RESULT)))
        outcome = await r.calls.call_tool("demo_echo", {"a": 1})
    assert outcome == CallOutcome(RESULT, server="demo server (prefix 'demo')")
    assert r.editor.asked == [(ELICIT["method"], ELICIT["params"])]
    first, retry = client_of(mount).requests
    assert first[1] == {"name": "echo", "arguments": {"a": 1}}
    assert retry[1] == {
        "name": "echo",
        "arguments": {"a": 1},
        "inputResponses": {"q": {"action": "accept", "content": {"name": "Ada"}}},
        "requestState": "st-1",
    }


async def test_a_retry_without_request_state_sends_none() -> None:
    async with routing() as r:
        mount = r.mount(make_mount(client=FakeClient(input_required(state=None), RESULT)))
        await r.calls.call_tool("demo_echo", {})
    assert "requestState" not in client_of(mount).requests[1][1]


async def test_input_requests_without_a_method_are_not_asked() -> None:
    asks = input_required(q=ELICIT, bad={"params": {}}, worse="nope")  # type: ignore[arg-type]
    async with routing() as r:
        mount = r.mount(make_mount(client=FakeClient(asks, RESULT)))
        await r.calls.call_tool("demo_echo", {})
    assert [method for method, _ in r.editor.asked] == ["elicitation/create"]
    assert list(client_of(mount).requests[1][1]["inputResponses"]) == ["q"]


async def test_relay_an_editor_refusal_is_a_tool_error_and_the_child_is_not_retried() -> None:
    async with routing() as r:
        r.editor.refusal = RequestError(-32601, "no elicitation")
        mount = r.mount(make_mount(client=FakeClient(input_required(), RESULT)))
        outcome = await r.calls.call_tool("demo_echo", {})
    assert text(outcome) == "demo_echo: the editor did not answer the server's question: no elicitation"
    assert len(client_of(mount).requests) == 1


async def test_defer_parks_the_childs_input_requests_and_retries_on_resume() -> None:
    async with routing() as r:
        mount = r.mount(make_mount(client=FakeClient(input_required(), RESULT)))
        first = await r.calls.call_tool("demo_echo", {}, mode="defer")
        assert isinstance(first, InputRequired) and first.asks == {"q": ELICIT}
        assert mount.open_requests  # the parked request belongs to the mount
        outcome = await r.calls.resume(first.state, {"q": {"action": "decline"}})
    assert outcome == CallOutcome(RESULT, server="demo server (prefix 'demo')")
    assert client_of(mount).requests[1][1]["inputResponses"] == {"q": {"action": "decline"}}
    assert mount.open_requests == [] and r.editor.asked == []


async def test_defer_a_missing_answer_fails_the_call_without_a_retry() -> None:
    async with routing() as r:
        mount = r.mount(make_mount(client=FakeClient(input_required(), RESULT)))
        first = await r.calls.call_tool("demo_echo", {}, mode="defer")
        outcome = await r.calls.resume(first.state, {})
    assert "the editor did not answer the server's question: The editor gave no answer to elicitation/create (q)" in (
        text(outcome)
    )
    assert len(client_of(mount).requests) == 1


async def test_defer_a_mid_call_request_of_the_child_becomes_an_ask_of_the_oldest_request() -> None:
    r_events: list[ChildEvents] = []

    async def child(method: str, params: Any, options: dict[str, Any]) -> dict[str, Any]:
        assert options["on_progress"] is not None  # a deferred call always listens, for a later retry
        answer = await r_events[0].on_request("demo", "sampling/createMessage", {"messages": [], "maxTokens": 1})
        return {"content": [{"type": "text", "text": answer["model"]}]}

    async with routing() as r:
        r_events.append(r.events)
        mount = r.mount(make_mount(client=FakeClient(child)))
        first = await r.calls.call_tool("demo_echo", {}, mode="defer")
        assert isinstance(first, InputRequired)
        assert first.asks == {"ask-1": {"method": "sampling/createMessage", "params": {"messages": [], "maxTokens": 1}}}
        outcome = await r.calls.resume(first.state, {"ask-1": {"model": "editor-llm"}})
    assert text(outcome) == "editor-llm" and r.editor.asked == []
    assert mount.open_requests == []


async def test_defer_a_call_that_does_not_ask_returns_its_outcome_directly() -> None:
    async with routing() as r:
        mount = r.mount(make_mount(client=FakeClient(RESULT)))
        outcome = await r.calls.call_tool("demo_echo", {}, mode="defer")
    assert outcome == CallOutcome(RESULT, server="demo server (prefix 'demo')")
    assert mount.open_requests == []


async def test_a_child_that_keeps_asking_is_given_up_after_max_input_rounds() -> None:
    async with routing() as r:
        mount = r.mount(make_mount(client=FakeClient(input_required())))
        outcome = await r.calls.call_tool("demo_echo", {})
        with pytest.raises(RequestError) as raised:
            await r.calls.request(mount, "prompts/get", {"name": "p"})
    assert text(outcome) == f"demo_echo: the server kept asking for input after {MAX_INPUT_ROUNDS} rounds; gave up."
    assert raised.value.code == INTERNAL_ERROR and "kept asking" in raised.value.message
    assert len(client_of(mount).requests) == 2 * (MAX_INPUT_ROUNDS + 1)


async def test_a_final_result_after_the_last_allowed_round_is_kept() -> None:
    # MAX_INPUT_ROUNDS rounds of input are allowed ("asked again ... at most MAX_INPUT_ROUNDS
    # times"): the result of the last allowed retry is the child's answer, not a give-up.
    replies = [input_required(state=f"s{n}") for n in range(MAX_INPUT_ROUNDS)]
    async with routing() as r:
        mount = r.mount(make_mount(client=FakeClient(*replies, RESULT)))
        outcome = await r.calls.call_tool("demo_echo", {})
    assert len(client_of(mount).requests) == MAX_INPUT_ROUNDS + 1
    assert client_of(mount).requests[-1][1]["requestState"] == f"s{MAX_INPUT_ROUNDS - 1}"
    assert outcome.result == RESULT


# -- shape ---------------------------------------------------------------------------------------


def tagged(result: dict[str, Any]) -> dict[str, Any]:
    return {**result, "shaped": True}


@pytest.mark.parametrize("mode", ["relay", "defer"])
async def test_shape_maps_the_final_result(mode: str) -> None:
    async with routing() as r:
        mount = r.mount(make_mount(client=FakeClient(input_required(), {"contents": []})))
        outcome = await r.calls.request(mount, "resources/read", {"uri": "x"}, mode=mode, shape=tagged)  # type: ignore[arg-type]
        if isinstance(outcome, InputRequired):
            outcome = await r.calls.resume(outcome.state, {"q": {"action": "accept"}})
    assert outcome == CallOutcome({"contents": [], "shaped": True}, server="demo server (prefix 'demo')")


def test_call_outcome_error_is_a_tool_error_result() -> None:
    assert CallOutcome.error("no") == CallOutcome({"content": [{"type": "text", "text": "no"}], "isError": True})
