"""Full MCP passthrough end to end: the registry in front of server-everything (and misbehave),
driven by the SDK client with sampling, elicitation and roots callbacks, compared with a direct
connection to the same image where the issue asks for "the same as direct"."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import ClientSession
from mcp.client.stdio import stdio_client

from tests.e2e.support import connect_registry, podman_stdio_params, text_of


class EditorRecorder:
    """An editor's callbacks: answers sampling/elicitation/roots and records what arrives."""

    def __init__(self) -> None:
        self.sampling_requests: list[types.CreateMessageRequestParams] = []
        self.elicitations: list[Any] = []
        self.logs: list[types.LoggingMessageNotificationParams] = []
        self.notifications: list[str] = []
        self.resource_updates: list[str] = []
        self._arrival = anyio.Event()
        self.root_uris = ["file:///workspace/project"]

    def _arrived(self) -> None:
        self._arrival.set()
        self._arrival = anyio.Event()

    async def until(self, predicate: Callable[[], bool]) -> None:
        """Wait for notifications until `predicate` holds (callers bound it with fail_after)."""
        while not predicate():
            await self._arrival.wait()

    async def sampling(self, context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        self.sampling_requests.append(params)
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(type="text", text="the editor's answer"), model="editor-model"
        )

    async def elicitation(self, context: Any, params: Any) -> types.ElicitResult:
        self.elicitations.append(params)
        properties = params.requested_schema.get("properties", {}) if hasattr(params, "requested_schema") else {}
        content = {}
        for name, schema in properties.items():
            kind = schema.get("type")
            if "enum" in schema:
                content[name] = schema["enum"][0]
            elif kind == "string":
                content[name] = "x@example.com" if schema.get("format") == "email" else "answer"
            elif kind in {"number", "integer"}:
                content[name] = schema.get("minimum", 1)
            elif kind == "boolean":
                content[name] = True
        return types.ElicitResult(action="accept", content=content)

    async def roots(self, context: Any) -> types.ListRootsResult:
        return types.ListRootsResult(roots=[types.Root(uri=uri, name=uri.rsplit("/", 1)[-1]) for uri in self.root_uris])

    async def logging(self, params: types.LoggingMessageNotificationParams) -> None:
        self.logs.append(params)
        self._arrived()

    async def messages(self, message: Any) -> None:
        if isinstance(message, types.ServerNotification):
            self.notifications.append(message.method)
            if message.method == "notifications/resources/updated":
                self.resource_updates.append(str(message.params.uri))
            self._arrived()

    def session_options(self) -> dict[str, Any]:
        return {
            "sampling_callback": self.sampling,
            "elicitation_callback": self.elicitation,
            "list_roots_callback": self.roots,
            "logging_callback": self.logging,
            "message_handler": self.messages,
        }


def untimed(contents: Any) -> str:
    return re.sub(r"\d{1,2}:\d\d:\d\d(?:\.\d+)?(?:\s?[AP]M)?|\d{4}-\d\d-\d\dT[\d:.]+Z?", "<time>", json.dumps(contents))


@asynccontextmanager
async def registry_with(env: dict[str, str], *entries: str, editor: EditorRecorder | None = None) -> AsyncIterator[Any]:
    options = (editor or EditorRecorder()).session_options()
    async with connect_registry(env, **options) as session:
        for entry in entries:
            added = await session.call_tool("registry_add", {"entry_id": entry})
            assert not added.is_error, text_of(added)
        yield session


@asynccontextmanager
async def direct_everything(env: dict[str, str], editor: EditorRecorder | None = None) -> AsyncIterator[Any]:
    params = podman_stdio_params("localhost/mcp-registry-test/everything", "stdio", env=env)
    options = (editor or EditorRecorder()).session_options()
    async with stdio_client(params) as (read, write), ClientSession(read, write, **options) as session:
        await session.initialize()
        yield session


async def test_sampling_elicitation_and_roots_round_trip(registry_env: dict[str, str]) -> None:
    editor = EditorRecorder()
    async with registry_with(registry_env, "everything", editor=editor) as session:
        sampled = await session.call_tool("everything_trigger-sampling-request", {"prompt": "Say hi", "maxTokens": 20})
        assert not sampled.is_error, text_of(sampled)
        assert "the editor's answer" in text_of(sampled)
        assert editor.sampling_requests and "Say hi" in json.dumps(editor.sampling_requests[0].model_dump(mode="json"))

        elicited = await session.call_tool("everything_trigger-elicitation-request", {})
        assert not elicited.is_error, text_of(elicited)
        assert editor.elicitations, "the elicitation never reached the editor"
        assert "accept" in text_of(elicited).lower()

        roots = await session.call_tool("everything_get-roots-list", {})
        assert "file:///workspace/project" in text_of(roots)

        # notifications/roots/list_changed goes editor → child; the child asks for the new roots.
        editor.root_uris.append("file:///workspace/second")
        await session.send_roots_list_changed()
        with anyio.fail_after(10):
            while "file:///workspace/second" not in text_of(roots):
                roots = await session.call_tool("everything_get-roots-list", {})


async def test_progress_arrives_with_the_editors_token_in_order(registry_env: dict[str, str]) -> None:
    async with registry_with(registry_env, "everything") as session:
        seen: list[tuple[float, float | None]] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            seen.append((progress, total))

        result = await session.call_tool(
            "everything_trigger-long-running-operation", {"duration": 1, "steps": 4}, progress_callback=on_progress
        )
        assert not result.is_error, text_of(result)
        assert [p for p, _ in seen] == sorted(p for p, _ in seen) and len(seen) == 4
        assert seen[-1] == (4, 4)

        # The same through registry_exec.
        seen.clear()
        result = await session.call_tool(
            "registry_exec",
            {"tool_name": "everything_trigger-long-running-operation", "arguments": {"duration": 1, "steps": 3}},
            progress_callback=on_progress,
        )
        assert not result.is_error and [p for p, _ in seen] == [1, 2, 3]


async def test_cancelling_a_call_reaches_the_child(registry_env: dict[str, str]) -> None:
    async with registry_with(registry_env, "misbehave") as session:
        with anyio.move_on_after(1.0) as scope:
            await session.call_tool("misbehave_hang", {"seconds": 60})
        assert scope.cancelled_caught
        # The registry keeps serving, and the child got notifications/cancelled for the hung call.
        received: list[str] = []
        with anyio.fail_after(10):
            while not received:
                result = await session.call_tool("misbehave_cancellations", {})
                received = result.structured_content["cancelled"]
                await anyio.sleep(0.1)
        assert len(received) == 1
        echo = await session.call_tool("misbehave_echo", {"text": "still here"})
        assert echo.structured_content == {"text": "still here"}


async def test_resources_prompts_and_completion_match_a_direct_connection(registry_env: dict[str, str]) -> None:
    async with registry_with(registry_env, "everything") as via, direct_everything(registry_env) as direct:
        listed = (await via.list_resources()).resources
        direct_listed = (await direct.list_resources()).resources
        assert sorted(r.uri for r in listed) == sorted(r.uri for r in direct_listed)
        assert all(r.meta["io.mcp-registry/origin"]["prefix"] == "everything" for r in listed)

        for uri in [direct_listed[0].uri, "demo://resource/dynamic/text/1", "demo://resource/dynamic/blob/2"]:
            through = (await via.read_resource(uri)).model_dump(mode="json")
            straight = (await direct.read_resource(uri)).model_dump(mode="json")
            # Dynamic resources carry the time they were read; two reads may straddle a second.
            assert untimed(through["contents"]) == untimed(straight["contents"]), uri

        templates = (await via.list_resource_templates()).resource_templates
        assert {t.uri_template for t in templates} == {
            t.uri_template for t in (await direct.list_resource_templates()).resource_templates
        }

        prompts = {p.name for p in (await via.list_prompts()).prompts}
        assert {"everything_simple-prompt", "everything_args-prompt"} <= prompts
        for name, arguments in [("simple-prompt", None), ("args-prompt", {"city": "Paris", "state": "IDF"})]:
            through = await via.get_prompt(f"everything_{name}", arguments)
            straight = await direct.get_prompt(name, arguments)
            assert through.model_dump(mode="json")["messages"] == straight.model_dump(mode="json")["messages"]

        ref = types.PromptReference(type="ref/prompt", name="everything_completable-prompt")
        through = await via.complete(ref, {"name": "department", "value": "E"})
        direct_ref = types.PromptReference(type="ref/prompt", name="completable-prompt")
        straight = await direct.complete(direct_ref, {"name": "department", "value": "E"})
        assert through.completion.values == straight.completion.values and through.completion.values

        with pytest.raises(Exception, match=r"not found|not offered"):
            await via.read_resource("nothing://here")


async def test_logging_and_subscriptions_are_relayed(registry_env: dict[str, str]) -> None:
    editor = EditorRecorder()
    async with registry_with(registry_env, "everything", editor=editor) as session:
        await session.set_logging_level("debug")
        toggled = await session.call_tool("everything_toggle-simulated-logging", {})
        assert not toggled.is_error, text_of(toggled)
        uri = "demo://resource/dynamic/text/1"
        await session.subscribe_resource(uri)
        toggled = await session.call_tool("everything_toggle-subscriber-updates", {})
        assert not toggled.is_error, text_of(toggled)
        with anyio.fail_after(30):
            await editor.until(lambda: bool(editor.logs and editor.resource_updates))
        assert all(log.logger and log.logger.startswith("everything") for log in editor.logs)
        assert uri in editor.resource_updates
        await session.unsubscribe_resource(uri)


async def test_children_list_changes_refresh_tables_before_the_editor_hears(registry_env: dict[str, str]) -> None:
    editor = EditorRecorder()
    async with registry_with(registry_env, "misbehave", editor=editor) as session:
        before = {t.name for t in (await session.list_tools()).tools}
        assert "misbehave_extra_tool" not in before
        await session.call_tool("misbehave_change_tools", {})
        with anyio.fail_after(10):
            # The first it hears: the add came before its first list, so it was not told of that.
            await editor.until(lambda: "notifications/tools/list_changed" in editor.notifications)
        after = {t.name for t in (await session.list_tools()).tools}
        assert "misbehave_extra_tool" in after
        extra = await session.call_tool("misbehave_extra_tool", {})
        assert text_of(extra) == "extra"


async def test_our_lists_paginate(registry_env: dict[str, str]) -> None:
    env = dict(registry_env)
    async with connect_registry(env) as session:
        configured = await session.call_tool(
            "registry_config_set", {"entry_id": "misbehave", "values": {"MISBEHAVE_TOOL_COUNT": "700"}}
        )
        assert not configured.is_error, text_of(configured)
        added = await session.call_tool("registry_add", {"entry_id": "misbehave"})
        assert not added.is_error, text_of(added)
        names: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            page = await session.list_tools(params=types.PaginatedRequestParams(cursor=cursor) if cursor else None)
            names += [tool.name for tool in page.tools]
            pages += 1
            cursor = page.next_cursor
            if not cursor:
                break
        assert pages == 2 and len(names) == len(set(names))
        assert {"registry_add", "misbehave_synthetic_0699", "misbehave_echo"} <= set(names)


async def test_colliding_uris_and_prompt_names_are_namespaced(registry_env: dict[str, str]) -> None:
    async with registry_with(registry_env, "everything", "everything-twin") as session:
        resources = (await session.list_resources()).resources
        origins = {(r.meta["io.mcp-registry/origin"]["prefix"], r.meta["io.mcp-registry/origin"]["uri"]): r.uri
                   for r in resources}  # fmt: skip
        original = "demo://resource/static/document/features.md"
        first, second = origins[("everything", original)], origins[("everything-twin", original)]
        assert first != second and first.startswith("mcp-registry://everything/")
        for exposed in (first, second):
            read = await session.read_resource(exposed)
            assert read.contents[0].uri == exposed and "text" in read.contents[0].model_dump()

        templates = {t.uri_template for t in (await session.list_resource_templates()).resource_templates}
        assert "mcp-registry://everything-twin/demo://resource/dynamic/text/{resourceId}" in templates
        dynamic = await session.read_resource("mcp-registry://everything-twin/demo://resource/dynamic/text/3")
        assert "3" in dynamic.contents[0].text

        prompts = {p.name for p in (await session.list_prompts()).prompts}
        assert {"everything_simple-prompt", "everything-twin_simple-prompt"} <= prompts
