"""Unit tests for the registry tools' definitions and argument checking (server/tools.py)."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from mcp_registry_server.server.tools import REGISTRY_TOOL_NAMES, REGISTRY_TOOLS, ArgumentError, parse_arguments


def test_the_registry_tools_exist() -> None:
    assert REGISTRY_TOOL_NAMES == {
        "registry_search", "registry_list", "registry_info", "registry_tool_info", "registry_add",
        "registry_exec", "registry_remove", "registry_status", "registry_config_set",
        "registry_get_content", "registry_task",
    }  # fmt: skip
    for tool in REGISTRY_TOOLS:
        assert tool["inputSchema"]["type"] == "object" and tool["description"]
        Draft202012Validator.check_schema(tool["inputSchema"])  # a valid JSON Schema


def test_schemas_are_compact_and_closed() -> None:
    for tool in REGISTRY_TOOLS:
        schema = tool["inputSchema"]
        assert schema["additionalProperties"] is False, tool["name"]
        assert "title" not in str(schema), tool["name"]  # generated titles only cost tokens
    add = next(tool for tool in REGISTRY_TOOLS if tool["name"] == "registry_add")["inputSchema"]
    assert add["properties"]["prefix"] == {
        "description": 'Name prefix for the server\'s tools (default: derived from the entry id); "" keeps '
        "the server's own tool and prompt names (refused if one clashes with another tool).",
        "pattern": "^([a-z][a-z0-9-]{0,30})?$",
        "type": "string",
    }
    assert add["required"] == ["entry_id"]


def test_get_content_bounds_its_slices() -> None:
    args = parse_arguments("registry_get_content", {"ref": "abc123-1"})
    assert (args.offset, args.length, args.part) == (0, 32 * 1024, None)
    with pytest.raises(ArgumentError, match="length"):
        parse_arguments("registry_get_content", {"ref": "abc123-1", "length": 2 * 1024 * 1024})
    with pytest.raises(ArgumentError, match="offset"):
        parse_arguments("registry_get_content", {"ref": "abc123-1", "offset": -1})


def test_defaults_are_filled() -> None:
    assert parse_arguments("registry_search", {"query": "x"}).limit == 10
    assert parse_arguments("registry_exec", {"tool_name": "a_b"}).arguments == {}
    assert parse_arguments("registry_list", None).model_dump() == {}
    # An explicit null is "not given": the default applies (found by the hostile-input test).
    assert parse_arguments("registry_search", {"query": "x", "limit": None}).limit == 10
    assert parse_arguments("registry_exec", {"tool_name": "a_b", "arguments": None}).arguments == {}
    assert parse_arguments("registry_add", {"entry_id": "sqlite"}).prefix is None


def test_each_call_gets_its_own_default_object() -> None:
    first = parse_arguments("registry_exec", {"tool_name": "a"})
    first.arguments["leaked"] = True
    assert parse_arguments("registry_exec", {"tool_name": "a"}).arguments == {}


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("registry_search", {}, "registry_search: missing required argument(s): query"),
        ("registry_search", {"query": 1}, "query must be a string"),
        ("registry_search", {"query": "x", "limit": True}, "limit must be an integer"),
        ("registry_search", {"query": "x", "limit": "5"}, "limit must be an integer"),
        ("registry_search", {"query": "x", "limit": 0}, "limit: Input should be greater than or equal to 1"),
        ("registry_search", {"query": "x", "limit": 101}, "limit: Input should be less than or equal to 100"),
        ("registry_search", {"query": "x\x00"}, "query must not contain NUL bytes"),
        ("registry_search", {"query": "x" * 5000}, "query: String should have at most 4096 characters"),
        ("registry_info", {"entry_id": "a", "rm": "-rf"}, "unexpected argument(s) 'rm'; expected: entry_id"),
        ("registry_exec", {"tool_name": "a", "arguments": []}, "arguments must be an object"),
        ("registry_add", ["sqlite"], "registry_add: arguments must be an object, not list"),
        # The schema's pattern is enforced (it was ignored before).
        ("registry_add", {"entry_id": "sqlite", "prefix": "Bad Prefix"}, "prefix: String should match pattern"),
    ],
)
def test_bad_arguments_are_rejected_clearly(tool: str, arguments: Any, message: str) -> None:
    with pytest.raises(ArgumentError) as caught:
        parse_arguments(tool, arguments)
    assert message in str(caught.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ArgumentError) as caught:
        parse_arguments("registry_config_set", {"values": 3, "extra": 1})
    text = str(caught.value)
    assert "missing required argument(s): entry_id" in text
    assert "unexpected argument(s) 'extra'" in text
    assert "values must be an object" in text
