"""Unit tests for the routing table: exposed names, collisions, prefixes."""

from __future__ import annotations

from typing import Any, cast

import pytest

from mcp_registry_server.catalog import CatalogEntry
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
