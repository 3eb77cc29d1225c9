"""A server's questions mid-call reach the editor in either protocol era, through real containers.

Four combinations, each driven by the SDK's `Client` with sampling, elicitation and roots
callbacks against `mcp-registry serve`:
- handshake-era editor, handshake-era child (misbehave `ask`): relayed as requests;
- 2026-07-28 editor, handshake-era child: the call returns an `InputRequiredResult`, the SDK
  client answers and retries, the parked call resumes (no "Cannot send …" failure);
- 2026-07-28 editor, 2026-07-28 child (the `modern` image, on the SDK 2.x): the child's own
  input-required rounds pass through, for tools, prompts and resources;
- handshake-era editor, 2026-07-28 child: the child's rounds become requests to the editor.
Plus: a forged `requestState` is refused, and URL-mode elicitation, sampling with tools and icons
pass through.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError

from mcp_registry_server.mcp_client.incoming import MAX_SERVER_REQUESTS
from tests.e2e.support import REGISTRY_EXECUTABLE

MODERN = "2026-07-28"


class Editor:
    """The editor's answers, and a record of what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, Any]] = []
        self.notifications: list[Any] = []
        self._arrival = anyio.Event()

    async def messages(self, message: Any) -> None:
        if isinstance(message, types.ServerNotification):
            self.notifications.append(message)
            self._arrival.set()
            self._arrival = anyio.Event()

    async def until_completed(self, elicitation_id: str) -> None:
        """Waits for the `notifications/elicitation/complete` of `elicitation_id` (bound it yourself)."""
        while elicitation_id not in self.completed_elicitations():
            await self._arrival.wait()

    async def sampling(self, context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        self.asked.append(("sampling", params))
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(type="text", text="hello from the editor"), model="editor-llm"
        )

    async def elicitation(self, context: Any, params: Any) -> types.ElicitResult:
        self.asked.append(("elicitation", params))
        if getattr(params, "mode", None) == "url":
            return types.ElicitResult(action="accept")
        return types.ElicitResult(action="accept", content={"name": "Ada", "count": 3})

    async def roots(self, context: Any) -> types.ListRootsResult:
        self.asked.append(("roots", None))
        return types.ListRootsResult(roots=[types.Root(uri="file:///workspace/project", name="project")])

    def completed_elicitations(self) -> list[str]:
        """The ids of the `notifications/elicitation/complete` that arrived so far."""
        return [n.params.elicitation_id for n in self.notifications if n.method == "notifications/elicitation/complete"]

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.asked]


@asynccontextmanager
async def editor_client(env: dict[str, str], mode: str, editor: Editor) -> AsyncIterator[Client]:
    params = StdioServerParameters(command=str(REGISTRY_EXECUTABLE), args=["serve"], env=env)
    client = Client(
        params,
        mode=mode,  # type: ignore[arg-type]
        sampling_callback=editor.sampling,
        sampling_capabilities=types.SamplingCapability(tools=types.SamplingToolsCapability()),
        elicitation_callback=editor.elicitation,
        list_roots_callback=editor.roots,
        message_handler=editor.messages,
        read_timeout_seconds=120,
    )
    async with client:  # the test's own deadlines bound it (a cancel scope may not cut into its task group)
        yield client


async def add(client: Client, entry_id: str) -> None:
    with anyio.fail_after(120):
        result = await client.call_tool("registry_add", {"entry_id": entry_id})
    assert not result.is_error, result


def text(result: Any) -> str:
    return "".join(item.text for item in result.content if getattr(item, "type", None) == "text")


def misbehave_answers(result: Any) -> list[dict[str, Any]]:
    assert not result.is_error, text(result)
    return result.structured_content["answers"]


class SlowEditor(Editor):
    """Takes a moment over every elicitation, so a flood of them is still in flight when the next arrive."""

    async def elicitation(self, context: Any, params: Any) -> types.ElicitResult:
        await anyio.sleep(0.05)
        return await super().elicitation(context, params)


async def test_a_child_that_floods_requests_gets_errors_past_the_bound(registry_env: dict[str, str]) -> None:
    flood = 3 * MAX_SERVER_REQUESTS
    editor = SlowEditor()
    async with editor_client(registry_env, "legacy", editor) as client:
        await add(client, "misbehave")
        with anyio.fail_after(90):
            answers = misbehave_answers(
                await client.call_tool("misbehave_ask", {"asks": ["elicitation"] * flood, "concurrent": True})
            )
        refused = [a["error"] for a in answers if "error" in a]
        assert len(answers) == flood
        # Sent at once, so the requests past the bound arrive while the first ones wait for the editor.
        assert len(refused) >= flood - 2 * MAX_SERVER_REQUESTS, len(refused)
        assert all("Too many requests" in error["message"] for error in refused), refused[:3]
        assert len(editor.asked) == flood - len(refused)
        # The registry and the child keep serving.
        with anyio.fail_after(30):
            answers = misbehave_answers(await client.call_tool("misbehave_ask", {"asks": "roots"}))
        assert "result" in answers[0]


@pytest.mark.parametrize("mode", ["legacy", MODERN])
async def test_a_handshake_era_child_asks_mid_call(registry_env: dict[str, str], mode: str) -> None:
    editor = Editor()
    async with editor_client(registry_env, mode, editor) as client:
        await add(client, "misbehave")
        with anyio.fail_after(60):
            answers = misbehave_answers(await client.call_tool("misbehave_ask", {"asks": ["elicitation", "sampling"]}))
        assert [a["method"] for a in answers] == ["elicitation/create", "sampling/createMessage"]
        assert answers[0]["result"]["content"] == {"name": "Ada", "count": 3}
        assert answers[1]["result"]["content"]["text"] == "hello from the editor"
        assert editor.kinds() == ["elicitation", "sampling"]

        # Roots, two questions at once, and the same through registry_exec.
        with anyio.fail_after(60):
            roots = misbehave_answers(await client.call_tool("misbehave_ask", {"asks": "roots"}))
            both = misbehave_answers(
                await client.call_tool(
                    "registry_exec",
                    {"tool_name": "misbehave_ask", "arguments": {"asks": ["sampling", "roots"], "concurrent": True}},
                )
            )
        assert roots[0]["result"]["roots"][0]["uri"] == "file:///workspace/project"
        assert {a["method"] for a in both} == {"sampling/createMessage", "roots/list"}
        assert all("result" in a for a in both), both

        # 2025-11-25 additions pass through: sampling with tools, URL-mode elicitation.
        with anyio.fail_after(60):
            extra = misbehave_answers(
                await client.call_tool("misbehave_ask", {"asks": ["sampling_tools", "elicitation_url"]})
            )
        sampling_params = [params for kind, params in editor.asked if kind == "sampling"][-1]
        assert sampling_params.tools and sampling_params.tools[0].name == "lookup"
        url_params = [params for kind, params in editor.asked if kind == "elicitation"][-1]
        assert url_params.mode == "url" and url_params.url.startswith("https://example.invalid/misbehave/")
        assert extra[1]["result"]["action"] == "accept"
        if mode == "legacy":  # 2025-11-25: the id travels, and the server's completion reaches the editor
            assert url_params.elicitation_id.startswith("misbehave-elicitation-")
            with anyio.fail_after(10):
                await editor.until_completed(url_params.elicitation_id)
        else:  # 2026-07-28 defines neither: the answer rides the retry
            assert url_params.elicitation_id is None and not editor.completed_elicitations()

        # A server that needs the user to open a URL first: -32042 reaches the editor as it is.
        with pytest.raises(MCPError) as needs_url:
            await client.call_tool("misbehave_url_required", {})
        assert needs_url.value.error.code == -32042
        assert needs_url.value.error.data["elicitations"][0]["url"] == "https://example.invalid/misbehave/sign-in"


@pytest.mark.parametrize("mode", ["legacy", MODERN])
async def test_a_2026_child_asks_through_input_required(registry_env: dict[str, str], mode: str) -> None:
    editor = Editor()
    async with editor_client(registry_env, mode, editor) as client:
        await add(client, "modern")
        with anyio.fail_after(90):
            name = await client.call_tool("modern_ask_elicitation", {})
            sampled = await client.call_tool("modern_ask_sampling", {})
            roots = await client.call_tool("modern_ask_roots_list", {})
            sequence = await client.call_tool("modern_ask_in_sequence", {})
            both = await client.call_tool("modern_ask_both", {})
        assert text(name) == "name=Ada", text(name)
        assert text(sampled).startswith("sampled=hello from the editor"), text(sampled)
        assert json.loads(text(roots).removeprefix("roots=")) == ["file:///workspace/project"]
        assert text(sequence).startswith("name=Ada; sampled=hello from the editor"), text(sequence)
        assert text(both).startswith("name=Ada; sampled="), text(both)
        assert editor.kinds().count("elicitation") == 3 and editor.kinds().count("roots") == 1

        # prompts/get and resources/read ask too.
        with anyio.fail_after(60):
            prompt = await client.get_prompt("modern_greeting")
            read = await client.read_resource("modern://greeting/en")
        assert prompt.messages[0].content.text == "Please greet Ada."
        assert read.contents[0].text == "[en] Hello, Ada!"


async def test_a_forged_request_state_is_refused(registry_env: dict[str, str]) -> None:
    editor = Editor()
    async with editor_client(registry_env, MODERN, editor) as client:
        await add(client, "misbehave")
        with anyio.fail_after(60):
            first = await client.session.call_tool("misbehave_ask", {"asks": "roots"}, allow_input_required=True)
        assert isinstance(first, types.InputRequiredResult), first
        assert first.request_state and len(first.request_state) < 2048
        assert list(first.input_requests or {}) and "misbehave" not in first.request_state  # opaque
        forged = first.request_state[:-4] + ("AAAA" if not first.request_state.endswith("AAAA") else "BBBB")
        answers = {key: {"roots": []} for key in first.input_requests or {}}
        with pytest.raises(MCPError) as refused:
            await client.session.call_tool(
                "misbehave_ask", {"asks": "roots"}, input_responses=answers, request_state=forged
            )
        assert refused.value.error.code == -32602
        # Another tool's arguments cannot reuse the state either; the genuine retry still works.
        with pytest.raises(MCPError):
            await client.session.call_tool(
                "misbehave_ask", {"asks": "sampling"}, input_responses=answers, request_state=first.request_state
            )
        with anyio.fail_after(60):
            done = await client.session.call_tool(
                "misbehave_ask", {"asks": "roots"}, input_responses=answers, request_state=first.request_state
            )
        assert not isinstance(done, types.InputRequiredResult)
        assert done.structured_content["answers"][0]["result"] == {"roots": []}


async def test_icons_and_lists_pass_through(registry_env: dict[str, str]) -> None:
    async with editor_client(registry_env, MODERN, Editor()) as client:
        await add(client, "misbehave")
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert tools["misbehave_ask"].icons and len(tools["misbehave_ask"].icons) == 2
        prompts = {prompt.name: prompt for prompt in (await client.list_prompts()).prompts}
        assert prompts["misbehave_greeting"].icons
        resources = {str(r.uri): r for r in (await client.list_resources()).resources}
        assert resources["misbehave://readme"].icons
        names = [tool.name for tool in tools.values()]
        again = [tool.name for tool in (await client.list_tools(cache_mode="refresh")).tools]
        assert names == again  # the same order every time


async def test_a_2026_editor_hears_of_list_changes_on_its_listen_stream(registry_env: dict[str, str]) -> None:
    async with editor_client(registry_env, MODERN, Editor()) as client:
        listed = await client.session.list_tools()
        assert listed.ttl_ms == 0 and listed.cache_scope == "private"  # never fresh, never shared
        async with client.listen(tools_list_changed=True) as subscription:
            await add(client, "misbehave")
            with anyio.fail_after(30):
                event = await subscription.__anext__()
            assert type(event).__name__ == "ToolsListChanged"
        names = [tool.name for tool in (await client.list_tools(cache_mode="refresh")).tools]
        assert "misbehave_echo" in names
