"""What children send on their own (`child_events.ChildEvents`), and the editor's settings for them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp_types import METHOD_NOT_FOUND

from mcp_registry_server.mcp_client import MCPClientClosedError, MCPRemoteError
from mcp_registry_server.registry.asks import ParkedRequests
from mcp_registry_server.registry.calls import CallRouter
from mcp_registry_server.registry.child_events import ChildEvents
from mcp_registry_server.registry.errors import RequestError
from mcp_registry_server.registry.passthrough import Passthrough
from mcp_registry_server.registry.router import ActiveMount, ToolRouter
from mcp_registry_server.settings import RegistrySettings
from tests.registry.support import FakeClient, FakeEditor, client_of, make_mount

SETTINGS = RegistrySettings(catalog_dirs=(), config_dir=Path("/nonexistent"), runtime_dir=Path("/nonexistent"))
ALL = {"sampling": {}, "elicitation": {}, "roots": {"listChanged": True}}


@dataclass
class Events:
    events: ChildEvents
    router: ToolRouter
    passthrough: Passthrough
    editor: FakeEditor
    calls: CallRouter

    def mount(self, prefix: str, client: FakeClient | None = None, **kwargs: Any) -> ActiveMount:
        mount = make_mount(prefix, client, **kwargs)
        self.router.add(mount)
        return mount


@asynccontextmanager
async def child_events(capabilities: dict[str, Any] | None = None) -> AsyncIterator[Events]:
    editor = FakeEditor(capabilities if capabilities is not None else ALL)
    router = ToolRouter()
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tasks:
            parked = ParkedRequests(tasks, park_ttl=30)
            calls = CallRouter(router, SETTINGS, editor, parked)
            passthrough = Passthrough(router.mounts, calls)
            yield Events(ChildEvents(router, passthrough, editor), router, passthrough, editor, calls)
            parked.cancel_all()
            tasks.cancel_scope.cancel()


def resources(*uris: str) -> FakeClient:
    client = FakeClient(capabilities={"resources": {}, "prompts": {}})
    client.lists["resources"] = [{"uri": uri, "name": uri} for uri in uris]
    client.lists["prompts"] = [{"name": "hello"}]
    return client


# -- notifications ------------------------------------------------------------------------------


async def test_tools_list_changed_refreshes_the_routes_then_tells_the_editor() -> None:
    async with child_events() as e:
        mount = e.mount("db", tools=("old",))
        client_of(mount).tools = [{"name": "new", "inputSchema": {"type": "object"}}]
        await e.events.on_notification("db", "notifications/tools/list_changed", None)
    assert e.router.exposed_names() == ["db_new"] and e.router.resolve("db_old") is None
    assert e.editor.changed == ["tools"]


async def test_a_tools_list_changed_that_changes_nothing_shown_is_not_passed_on() -> None:
    async with child_events() as e:
        same = e.mount("same", tools=("a",))
        client_of(same).tools = list(same.tools)  # re-listed: the very same tools
        hidden = make_mount("hidden", tools=("a",))
        hidden.expose = "search"
        e.router.add(hidden)
        client_of(hidden).tools = [{"name": "b", "inputSchema": {"type": "object"}}]
        await e.events.on_notification("same", "notifications/tools/list_changed", None)
        await e.events.on_notification("hidden", "notifications/tools/list_changed", None)
    assert e.router.resolve("hidden_b") is not None  # callable, but not in tools/list
    assert e.editor.changed == []


async def test_a_failed_tool_refresh_is_recorded_and_the_editor_is_not_told() -> None:
    async with child_events() as e:
        mount = e.mount("db", tools=("old",))
        client_of(mount).list_error = MCPClientClosedError("closed")
        await e.events.on_notification("db", "notifications/tools/list_changed", {})
    assert e.router.exposed_names() == ["db_old"] and e.editor.changed == []
    assert mount.last_error == "refreshing tools after list_changed failed: closed"


async def test_resources_list_changed_drops_the_cached_lists_then_tells_the_editor() -> None:
    async with child_events() as e:
        mount = e.mount("files", resources("file:///a"))
        await e.passthrough.list_resources()
        await e.passthrough.list_resource_templates()
        await e.passthrough.list_resources()  # cached: not fetched again
        assert client_of(mount).list_calls == ["resources/list", "resources/templates/list"]
        await e.events.on_notification("files", "notifications/resources/list_changed", None)
        await e.passthrough.list_resources()
        await e.passthrough.list_resource_templates()
    assert client_of(mount).list_calls[2:] == ["resources/list", "resources/templates/list"]
    assert e.editor.changed == ["resources"]


async def test_prompts_list_changed_drops_only_the_prompts() -> None:
    async with child_events() as e:
        mount = e.mount("p", resources("file:///a"))
        await e.passthrough.list_prompts()
        await e.passthrough.list_resources()
        await e.events.on_notification("p", "notifications/prompts/list_changed", None)
        await e.passthrough.list_prompts()
        await e.passthrough.list_resources()
    assert client_of(mount).list_calls == ["prompts/list", "resources/list", "prompts/list"]
    assert e.editor.changed == ["prompts"]


async def test_resource_updated_reaches_the_editor_under_the_uri_it_knows() -> None:
    async with child_events() as e:
        e.mount("one", resources("file:///shared", "file:///only-one"))
        e.mount("two", resources("file:///shared"))
        exposed = {item["uri"] for item in await e.passthrough.list_resources()}
        await e.events.on_notification("two", "notifications/resources/updated", {"uri": "file:///shared"})
        await e.events.on_notification("one", "notifications/resources/updated", {"uri": "file:///only-one"})
        await e.events.on_notification("one", "notifications/resources/updated", {"uri": "file:///never-listed"})
    assert e.editor.updated[0] == "mcp-registry://two/file%3A%2F%2F%2Fshared"
    assert e.editor.updated[0] in exposed
    assert e.editor.updated[1:] == ["file:///only-one", "file:///never-listed"]


async def test_resource_updated_without_a_uri_is_dropped() -> None:
    async with child_events() as e:
        e.mount("one")
        await e.events.on_notification("one", "notifications/resources/updated", {"uri": 5})
        await e.events.on_notification("one", "notifications/resources/updated", None)
    assert e.editor.updated == []


async def test_elicitation_complete_is_passed_on_as_it_is() -> None:
    async with child_events() as e:
        e.mount("one")
        await e.events.on_notification("one", "notifications/elicitation/complete", {"elicitationId": "e-7"})
        await e.events.on_notification("one", "notifications/elicitation/complete", {"elicitationId": 7})
    assert e.editor.completed == ["e-7"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"level": "warning", "logger": "db", "data": "slow"}, ("warning", "slow", "srv/db")),
        ({"level": "error", "data": {"n": 1}}, ("error", {"n": 1}, "srv")),
        ({"level": "error", "logger": "", "data": 1}, ("error", 1, "srv")),
        ({"level": "loud", "logger": 5, "data": "x"}, ("info", "x", "srv")),
        ({}, ("info", None, "srv")),
    ],
)
async def test_log_messages_are_tagged_with_the_prefix(params: dict[str, Any], expected: tuple[Any, ...]) -> None:
    async with child_events() as e:
        e.mount("srv")
        await e.events.on_notification("srv", "notifications/message", params)
    assert e.editor.logs == [expected]


async def test_notifications_of_unknown_mounts_and_methods_are_dropped() -> None:
    async with child_events() as e:
        e.mount("srv")
        await e.events.on_notification("gone", "notifications/message", {"level": "info", "data": "x"})
        await e.events.on_notification("srv", "notifications/whatever", {"uri": "x"})
    assert (e.editor.logs, e.editor.changed, e.editor.updated, e.editor.completed) == ([], [], [], [])


# -- a child's requests ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["sampling/createMessage", "elicitation/create", "roots/list"])
async def test_a_declared_request_is_relayed_and_its_answer_returned(method: str) -> None:
    async with child_events() as e:
        e.mount("srv")
        e.editor.answers[method] = {"the": "answer"}
        answer = await e.events.on_request("srv", method, {"p": 1})
    assert answer == {"the": "answer"} and e.editor.asked == [(method, {"p": 1})]


@pytest.mark.parametrize(
    ("method", "capabilities"),
    [
        ("sampling/createMessage", {"elicitation": {}, "roots": {}}),
        ("elicitation/create", {"sampling": {}}),
        ("roots/list", {}),
        ("ping", ALL),
        ("tools/call", ALL),
    ],
)
async def test_an_undeclared_or_unknown_request_is_method_not_found(method: str, capabilities: dict[str, Any]) -> None:
    async with child_events(capabilities) as e:
        e.mount("srv")
        with pytest.raises(MCPRemoteError) as raised:
            await e.events.on_request("srv", method, None)
    assert raised.value.code == METHOD_NOT_FOUND and method in raised.value.message
    assert e.editor.asked == []


async def test_the_editors_refusal_goes_back_to_the_child_with_its_code() -> None:
    async with child_events() as e:
        e.mount("srv")
        e.editor.refusal = RequestError(-1, "User rejected", {"why": "no"})
        with pytest.raises(MCPRemoteError) as raised:
            await e.events.on_request("srv", "sampling/createMessage", {})
    assert (raised.value.code, raised.value.message, raised.value.data) == (-1, "User rejected", {"why": "no"})


async def test_a_request_of_an_unknown_mount_is_still_relayed() -> None:
    async with child_events() as e:
        assert await e.events.on_request("gone", "roots/list", None) == {"answered": "roots/list"}


async def test_with_a_2026_request_open_on_the_mount_the_oldest_one_gets_the_question() -> None:
    class Recorder:
        def __init__(self, name: str) -> None:
            self.name = name
            self.asked: list[str] = []

        async def ask(self, method: str, params: Any) -> dict[str, Any]:
            self.asked.append(method)
            return {"from": self.name}

    async with child_events() as e:
        mount = e.mount("srv")
        oldest, newer = Recorder("oldest"), Recorder("newer")
        mount.open_requests.extend([oldest, newer])
        answer = await e.events.on_request("srv", "elicitation/create", {})
    assert answer == {"from": "oldest"} and oldest.asked == ["elicitation/create"] and newer.asked == []
    assert e.editor.asked == []


# -- the editor's settings --------------------------------------------------------------------------


async def test_set_logging_level_goes_to_every_live_mount_that_logs_and_is_remembered() -> None:
    async with child_events() as e:
        logs = e.mount("logs", FakeClient({}, capabilities={"logging": {}}))
        silent = e.mount("silent", FakeClient({}, capabilities={}))
        dead = e.mount("dead", FakeClient({}, capabilities={"logging": {}}))
        client_of(dead).is_alive = False
        failing = e.mount("failing", FakeClient(MCPClientClosedError("gone"), capabilities={"logging": {}}))
        await e.events.set_logging_level("debug")
    assert e.events.log_level == "debug"
    assert [(m, p) for m, p, _ in client_of(logs).requests] == [("logging/setLevel", {"level": "debug"})]
    assert client_of(silent).requests == [] and client_of(dead).requests == []
    assert failing.last_error == "logging/setLevel failed: gone"


async def test_roots_list_changed_goes_to_live_handshake_era_mounts() -> None:
    async with child_events() as e:
        old = e.mount("old")
        modern = e.mount("modern", FakeClient(modern=True))
        dead = e.mount("dead")
        client_of(dead).is_alive = False
        failing = e.mount("failing")
        client_of(failing).notify_error = MCPClientClosedError("gone")
        await e.events.roots_list_changed()
    assert client_of(old).notified == ["notifications/roots/list_changed"]
    assert client_of(modern).notified == [] and client_of(dead).notified == []
    assert failing.last_error == "roots/list_changed failed: gone"


async def test_roots_list_changed_is_not_passed_on_without_the_roots_capability() -> None:
    async with child_events({"sampling": {}}) as e:
        old = e.mount("old")
        await e.events.roots_list_changed()
    assert client_of(old).notified == []
