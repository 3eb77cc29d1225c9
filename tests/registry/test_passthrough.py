"""Resources, templates, prompts and completion of the active mounts (`passthrough`): the pure parts
(template matching, namespacing), then routing through mounts with fake clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import anyio
import pytest
from mcp_types import INTERNAL_ERROR

from mcp_registry_server.mcp_client import MCPClientClosedError, MCPRemoteError
from mcp_registry_server.registry.asks import ParkedRequests
from mcp_registry_server.registry.calls import CallOutcome, CallRouter
from mcp_registry_server.registry.errors import RequestError
from mcp_registry_server.registry.passthrough import (
    NAMESPACE,
    ORIGIN_META,
    RESOURCE_NOT_FOUND,
    Passthrough,
    namespaced_template,
    namespaced_uri,
    template_pattern,
)
from mcp_registry_server.registry.router import ActiveMount, ToolRouter
from mcp_registry_server.settings import RegistrySettings
from tests.registry.support import FakeClient, FakeEditor, client_of, make_mount

SETTINGS = RegistrySettings(catalog_dirs=(), config_dir=Path("/nonexistent"), runtime_dir=Path("/nonexistent"))


@pytest.mark.parametrize(
    ("template", "uri", "matches"),
    [
        ("demo://resource/dynamic/text/{resourceId}", "demo://resource/dynamic/text/42", True),
        ("demo://resource/dynamic/text/{resourceId}", "demo://resource/dynamic/text/4/2", False),
        ("file:///{+path}", "file:///home/user/a.txt", True),
        ("repo://{owner}/{repo}/issues", "repo://me/tool/issues", True),
        ("repo://{owner}/{repo}/issues", "repo://me/issues", False),
        ("search://q{?query,limit}", "search://q?query=x&limit=2", True),
        ("a.b://{x}", "aXb://1", False),  # literal characters are escaped
    ],
)
def test_template_pattern(template: str, uri: str, matches: bool) -> None:
    assert bool(template_pattern(template).match(uri)) is matches


def test_namespaced_uri_round_trips_any_uri() -> None:
    for uri in ["file:///a b/c?d=e#f", "demo://x/y", "urn:isbn:0451450523", "ü://ñ"]:
        namespaced = namespaced_uri("pre-fix", uri)
        assert namespaced.startswith(f"{NAMESPACE}pre-fix/")
        prefix, _, rest = namespaced[len(NAMESPACE) :].partition("/")
        assert prefix == "pre-fix" and unquote(rest) == uri and "/" not in rest


def test_namespaced_template_expands_to_a_routable_uri() -> None:
    template = namespaced_template("twin", "demo://resource/{id}")
    expanded = template.replace("{id}", "7")
    prefix, _, rest = expanded[len(NAMESPACE) :].partition("/")
    assert prefix == "twin" and unquote(rest) == "demo://resource/7"


# -- routing through mounts, with fake clients ----------------------------------------------------------


@asynccontextmanager
async def passing(*mounts: ActiveMount) -> AsyncIterator[Passthrough]:
    router = ToolRouter()
    for mount in mounts:
        router.add(mount)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tasks:
            parked = ParkedRequests(tasks, park_ttl=30)
            yield Passthrough(router.mounts, CallRouter(router, SETTINGS, FakeEditor(), parked))
            parked.cancel_all()
            tasks.cancel_scope.cancel()


def offering(
    *uris: str, templates: tuple[str, ...] = (), replies: tuple[Any, ...] = (), capabilities: Any = None
) -> FakeClient:
    client = FakeClient(*replies, capabilities=capabilities or {"resources": {}, "prompts": {}, "completions": {}})
    client.lists["resources"] = [{"uri": uri, "name": uri} for uri in uris]
    client.lists["resourceTemplates"] = [{"uriTemplate": t, "name": t} for t in templates]
    return client


async def test_a_uri_two_mounts_list_is_namespaced_and_read_back_under_that_name() -> None:
    contents = {"contents": [{"uri": "file:///same", "text": "from two"}, {"uri": "file:///other", "text": "x"}]}
    one = make_mount("one", offering("file:///same"))
    two = make_mount("two", offering("file:///same", replies=(contents,)))
    async with passing(one, two) as passthrough:
        listed = await passthrough.list_resources()
        public = namespaced_uri("two", "file:///same")
        assert {item["uri"] for item in listed} == {namespaced_uri("one", "file:///same"), public}
        assert {item["_meta"][ORIGIN_META]["prefix"] for item in listed} == {"one", "two"}
        outcome = await passthrough.read_resource(public)
    assert client_of(two).requests[0][:2] == ("resources/read", {"uri": "file:///same"})
    assert isinstance(outcome, CallOutcome)
    assert outcome.result["contents"] == [
        {"uri": public, "text": "from two"},  # the editor's name for it
        {"uri": "file:///other", "text": "x"},
    ]


async def test_templates_route_expanded_uris_and_two_mounts_matching_is_ambiguous() -> None:
    one = make_mount("one", offering(templates=("demo://item/{id}", "shared://{x}"), replies=({"contents": []},)))
    two = make_mount("two", offering(templates=("shared://{x}",)))
    async with passing(one, two) as passthrough:
        templates = await passthrough.list_resource_templates()
        assert (await passthrough.route_uri("demo://item/7")) == (one, "demo://item/7")
        with pytest.raises(RequestError) as ambiguous:
            await passthrough.route_uri("shared://thing")
        with pytest.raises(RequestError) as unknown:
            await passthrough.route_uri("nowhere://x")
    assert sorted(t["uriTemplate"] for t in templates) == [
        "demo://item/{id}",
        namespaced_template("one", "shared://{x}"),
        namespaced_template("two", "shared://{x}"),
    ]
    assert ambiguous.value.code == RESOURCE_NOT_FOUND and "(one, two)" in ambiguous.value.message
    assert unknown.value.code == RESOURCE_NOT_FOUND and "not offered by any active server" in unknown.value.message


async def test_a_uri_no_list_names_goes_to_the_only_mount_offering_resources() -> None:
    only = make_mount("only", offering("file:///listed"))
    tools_only = make_mount("tools", FakeClient(capabilities={"tools": {}}))
    async with passing(only, tools_only) as passthrough:
        assert await passthrough.route_uri("file:///unlisted") == (only, "file:///unlisted")


async def test_a_namespaced_uri_of_an_unknown_prefix_is_not_found() -> None:
    async with passing(make_mount("one", offering())) as passthrough:
        with pytest.raises(RequestError) as raised:
            await passthrough.route_uri(namespaced_uri("gone", "file:///a"))
    assert raised.value.code == RESOURCE_NOT_FOUND and "no active server has prefix 'gone'" in raised.value.message


async def test_a_listed_uri_is_found_even_after_the_templates_were_listed_first() -> None:
    # An editor may list templates, then read a resource it knows (from an earlier session, or a
    # tool result) without listing resources; the mount that lists the URI must get the read.
    one = make_mount("one", offering("file:///a", templates=("tpl://{x}",), replies=({"contents": []},)))
    two = make_mount("two", offering("file:///b"))
    async with passing(one, two) as passthrough:
        await passthrough.list_resource_templates()
        assert await passthrough.route_uri("file:///a") == (one, "file:///a")


async def test_a_failing_list_leaves_that_mount_out_and_records_why() -> None:
    broken = offering("file:///x")

    async def fail(*args: Any, **kwargs: Any) -> list[Any]:
        raise MCPClientClosedError("closed")

    broken.list_paged = fail  # type: ignore[method-assign]
    bad = make_mount("bad", broken)
    async with passing(bad, make_mount("good", offering("file:///g"))) as passthrough:
        listed = await passthrough.list_resources()
    assert [item["uri"] for item in listed] == ["file:///g"]
    assert bad.last_error == "resources/list failed: closed"


async def test_prompts_are_exposed_by_prefix_and_got_with_their_arguments() -> None:
    client = offering(replies=({"messages": []},))
    client.lists["prompts"] = [{"name": "hello"}, {"name": ""}, {"title": "no name"}]
    mount = make_mount("p", client)
    async with passing(mount) as passthrough:
        assert [prompt["name"] for prompt in await passthrough.list_prompts()] == ["p_hello"]
        await passthrough.get_prompt("p_hello", {"who": "Ada"})
        with pytest.raises(RequestError) as raised:
            await passthrough.get_prompt("p_nope", None)
    assert client.requests[0][:2] == ("prompts/get", {"name": "hello", "arguments": {"who": "Ada"}})
    assert raised.value.message == "Unknown prompt 'p_nope'. Available prompts: p_hello."


async def test_an_unprefixed_mounts_prompts_keep_their_names() -> None:
    client = offering(replies=({"messages": []},))
    client.lists["prompts"] = [{"name": "test_simple_prompt"}]
    mount = make_mount("p", client)
    mount.unprefixed = True
    async with passing(mount) as passthrough:
        assert [prompt["name"] for prompt in await passthrough.list_prompts()] == ["test_simple_prompt"]
        await passthrough.get_prompt("test_simple_prompt", None)
    assert client.requests[0][:2] == ("prompts/get", {"name": "test_simple_prompt"})


async def test_completion_routes_by_prompt_or_template_and_needs_the_capability() -> None:
    answer = {"completion": {"values": ["7"], "hasMore": False}}
    with_completions = make_mount("c", offering(templates=("demo://item/{id}",), replies=(answer,)))
    without = make_mount("n", offering(templates=("n://{x}",), capabilities={"resources": {}}))
    argument = {"name": "id", "value": ""}
    async with passing(with_completions, without) as passthrough:
        by_template = await passthrough.complete(
            {"ref": {"type": "ref/resource", "uri": "demo://item/{id}"}, "argument": argument}
        )
        none = await passthrough.complete({"ref": {"type": "ref/resource", "uri": "n://{x}"}, "argument": argument})
        with pytest.raises(RequestError) as raised:
            await passthrough.complete({"ref": {"type": "ref/tool"}, "argument": argument})
    assert by_template == answer
    assert client_of(with_completions).requests[0][1]["ref"] == {"type": "ref/resource", "uri": "demo://item/{id}"}
    assert none == {"completion": {"values": [], "hasMore": False}}
    assert raised.value.message == "completion/complete: unknown ref type 'ref/tool'."


async def test_a_childs_error_to_a_relayed_request_goes_back_as_it_was() -> None:
    remote = make_mount("r", offering("file:///r", replies=(MCPRemoteError(-32002, "gone", {"uri": "file:///r"}),)))
    closed = make_mount("c", offering("file:///c", replies=(MCPClientClosedError("closed"),)))
    async with passing(remote, closed) as passthrough:
        await passthrough.list_resources()
        with pytest.raises(RequestError) as by_child:
            await passthrough.subscribe("file:///r", "resources/subscribe")
        with pytest.raises(RequestError) as by_client:
            await passthrough.subscribe("file:///c", "resources/subscribe")
        await passthrough.unsubscribe_quietly("file:///c")  # best effort: no error
    assert (by_child.value.code, by_child.value.message, by_child.value.data) == (-32002, "gone", {"uri": "file:///r"})
    assert by_client.value.code == INTERNAL_ERROR
    assert by_client.value.message == "resources/subscribe to 'c' failed: closed"
