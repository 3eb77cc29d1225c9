"""Unit tests for the routing table: exposed names, collisions, prefixes."""

from __future__ import annotations

from typing import Any, cast

import pytest

from mcp_registry_server.catalog import CatalogEntry, ToolFilter
from mcp_registry_server.mcp_client import MCPClient
from mcp_registry_server.registry.router import ActiveMount, ToolRouter, check_prefix, default_prefix, exposed_name

ENTRY = CatalogEntry(id="demo", name="Demo", description="d", image="localhost/demo")


def mount(prefix: str, *tool_names: str, **tool_fields: Any) -> ActiveMount:
    tools = [{"name": name, "inputSchema": {"type": "object"}, **tool_fields} for name in tool_names]
    return ActiveMount(
        entry=ENTRY, prefix=prefix, container_name=f"c-{prefix}", client=cast(MCPClient, None), tools=tools
    )


def test_prefixes_and_tool_names_with_underscores_route_exactly() -> None:
    router = ToolRouter()
    first = mount("db", "list_tables", "read_query")
    second = mount("db-two", "list_tables")
    router.add(first)
    router.add(second)
    assert router.resolve("db_list_tables") == (first, "list_tables")
    assert router.resolve("db-two_list_tables") == (second, "list_tables")
    assert router.resolve("db_read_query") == (first, "read_query")
    assert router.resolve("db_nope") is None


def test_schemas_and_annotations_are_kept_unchanged() -> None:
    router = ToolRouter()
    schema = {"type": "object", "properties": {"q": {"type": "string"}}}
    tool = {
        "name": "search",
        "description": "d",
        "inputSchema": schema,
        "outputSchema": {"type": "object"},
        "annotations": {"readOnlyHint": True},
    }
    router.add(ActiveMount(entry=ENTRY, prefix="s", container_name="c", client=cast(MCPClient, None), tools=[tool]))
    (exposed,) = router.exposed_tools()
    assert exposed == {**tool, "name": "s_search"}
    assert tool["name"] == "search"  # the child's definition is not mutated


def test_whether_a_routed_tool_declares_an_output_schema() -> None:
    router = ToolRouter()
    router.add(typed := mount("typed", "get", outputSchema={"type": "object"}))
    router.add(mount("plain", "get"))
    assert router.declares_output_schema("typed_get")
    assert not router.declares_output_schema("plain_get")
    assert not router.declares_output_schema("registry_exec")  # not routed
    router.replace_tools(typed, [{"name": "get", "inputSchema": {"type": "object"}}])  # its list changed
    assert not router.declares_output_schema("typed_get")
    router.remove("plain")
    assert not router.declares_output_schema("plain_get")


def test_invalid_characters_and_collisions_are_never_fatal() -> None:
    router = ToolRouter()
    odd = mount("x", "a b", "a:b", "a_b", "ü" * 200)
    names = router.add(odd)
    assert len(names) == 4 and len(set(names)) == 4
    for name in names:
        assert len(name) <= 128
        assert all(c.isascii() and (c.isalnum() or c in "_.-") for c in name)
    assert {router.resolve(name)[1] for name in names} == {"a b", "a:b", "a_b", "ü" * 200}


def test_remove_and_replace_tools_rebuild_the_table() -> None:
    router = ToolRouter()
    m = mount("t", "one")
    router.add(m)
    router.replace_tools(m, [{"name": "two", "inputSchema": {"type": "object"}}])
    assert router.exposed_names() == ["t_two"]
    assert router.remove("t") is m
    assert router.exposed_names() == [] and router.resolve("t_two") is None
    router.add(m)  # a removed mount can come back
    with pytest.raises(ValueError, match="already mounted"):
        router.add(m)


@pytest.mark.parametrize("prefix", ["a", "sqlite", "brave-search", "a" + "b" * 30])
def test_valid_prefixes(prefix: str) -> None:
    assert check_prefix(prefix) is None


@pytest.mark.parametrize("prefix", ["", "A", "1a", "a_b", "a" * 32, "registry", "results", "a b", "a\x00", "ä"])
def test_invalid_prefixes(prefix: str) -> None:
    assert check_prefix(prefix) is not None


def test_default_prefix_is_always_valid() -> None:
    for entry_id in ["sqlite", "aws.docs", "9lives", "registry", "results", "a" * 64, "x_y"]:
        assert check_prefix(default_prefix(entry_id)) is None, entry_id
    assert exposed_name("db", "list_tables") == "db_list_tables"


# -- exposure and tool filters ----------------------------------------------------------------------


def test_a_search_mount_is_callable_but_not_in_the_tool_list() -> None:
    router = ToolRouter()
    shown, hidden = mount("shown", "a"), mount("hidden", "b")
    hidden.expose = "search"
    router.add(shown)
    router.add(hidden)
    assert [tool["name"] for tool in router.exposed_tools()] == ["shown_a"]
    assert [tool["name"] for tool in router.routed_tools()] == ["hidden_b", "shown_a"]
    assert router.resolve("hidden_b") == (hidden, "b")


def test_the_tool_list_object_stays_the_same_while_only_search_mounts_change() -> None:
    # The direct lane keeps its shaped tools/list pages while this object stays the same.
    router = ToolRouter()
    router.add(mount("shown", "a"))
    before = router.exposed_tools()
    hidden = mount("hidden", "b")
    hidden.expose = "search"
    router.add(hidden)
    router.replace_tools(hidden, [{"name": "c", "inputSchema": {"type": "object"}}])
    router.remove("hidden")
    assert router.exposed_tools() is before
    router.remove("shown")
    assert router.exposed_tools() is not before and router.exposed_tools() == []


def test_a_tool_filter_keeps_tools_out_of_the_list_and_out_of_reach() -> None:
    router = ToolRouter()
    narrowed = mount("fs", "read_file", "write_file", "delete_file", "list_directory")
    narrowed.tool_filter = ToolFilter(allow=("read_*", "list_*", "delete_file"), deny=("delete_*",))
    router.add(narrowed)
    assert router.exposed_names() == ["fs_list_directory", "fs_read_file"]
    assert router.resolve("fs_write_file") is None and router.resolve("fs_delete_file") is None
    assert router.filtered_out(narrowed) == ["write_file", "delete_file"]


def test_tool_filter_reasons() -> None:
    only_reads = ToolFilter(allow=("read_*",), deny=("read_secret",))
    assert only_reads.allows("read_file") and not only_reads.allows("write_file")
    assert only_reads.why_not("write_file") == "it matches none of tools_allow ['read_*']"
    assert only_reads.why_not("read_secret") == "it matches tools_deny ['read_secret']"
    assert ToolFilter().allows("anything") and not ToolFilter(deny=("*",)).allows("x")
    assert not ToolFilter(allow=("Read",)).allows("read")  # names are matched case-sensitively


def unprefixed(prefix: str, *tool_names: str) -> ActiveMount:
    plain = mount(prefix, *tool_names)
    plain.unprefixed = True
    return plain


def test_an_unprefixed_mount_routes_the_childs_own_names() -> None:
    router = ToolRouter()
    plain = unprefixed("everything", "test_simple_text", "a b")
    other = mount("db", "query")
    assert router.add(plain) == ["a_b", "test_simple_text"]
    router.add(other)
    assert router.resolve("test_simple_text") == (plain, "test_simple_text")
    assert router.resolve("db_query") == (other, "query")
    assert router.resolve("everything_test_simple_text") is None


def test_an_unprefixed_mount_with_a_registry_name_is_refused() -> None:
    router = ToolRouter()
    with pytest.raises(ValueError) as raised:
        router.add(unprefixed("sneaky", "echo", "registry_add"))
    assert str(raised.value) == (
        "demo cannot be mounted unprefixed: its tool 'registry_add' is in the registry's own registry_ "
        "namespace. Mount it with a prefix instead."
    )
    assert router.mounts == {} and router.exposed_names() == []


@pytest.mark.parametrize("unprefixed_first", [True, False])
def test_a_clash_with_an_unprefixed_mounts_name_is_refused_either_way(unprefixed_first: bool) -> None:
    router = ToolRouter()
    plain, prefixed = unprefixed("plain", "db_query", "echo"), mount("db", "query")
    first, second = (plain, prefixed) if unprefixed_first else (prefixed, plain)
    router.add(first)
    assert router.conflict(second) is not None
    with pytest.raises(ValueError, match=r"its tool name 'db_query' is also routed for demo .* mounted unprefixed"):
        router.add(second)
    assert list(router.mounts.values()) == [first]


def test_two_unprefixed_mounts_with_distinct_names_both_join() -> None:
    router = ToolRouter()
    router.add(unprefixed("one", "alpha"))
    router.add(unprefixed("two", "beta"))
    assert router.exposed_names() == ["alpha", "beta"]
    assert router.conflict(unprefixed("three", "beta")) is not None
    filtered = unprefixed("four", "beta", "gamma")
    filtered.tool_filter = ToolFilter(deny=("beta",))
    assert router.conflict(filtered) is None  # a name its filter keeps out claims nothing
