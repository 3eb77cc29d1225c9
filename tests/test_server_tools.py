"""Unit tests for the registry tools' argument checking."""

from __future__ import annotations

from typing import Any

import pytest

from mcp_registry_server.server.tools import REGISTRY_TOOL_NAMES, REGISTRY_TOOLS, ArgumentError, parse_arguments


def test_the_eight_registry_tools_exist() -> None:
    assert REGISTRY_TOOL_NAMES == {
        "registry_search", "registry_list", "registry_info", "registry_add",
        "registry_exec", "registry_remove", "registry_status", "registry_config_set",
    }  # fmt: skip
    for tool in REGISTRY_TOOLS:
        assert tool["inputSchema"]["type"] == "object" and tool["description"]


def test_defaults_are_filled() -> None:
    assert parse_arguments("registry_search", {"query": "x"}) == {"query": "x", "limit": 10}
    assert parse_arguments("registry_exec", {"tool_name": "a_b"}) == {"tool_name": "a_b", "arguments": {}}
    assert parse_arguments("registry_list", None) == {}
    # An explicit null is "not given": the default applies (found by the hostile-input test).
    assert parse_arguments("registry_search", {"query": "x", "limit": None}) == {"query": "x", "limit": 10}
    assert parse_arguments("registry_exec", {"tool_name": "a_b", "arguments": None})["arguments"] == {}


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("registry_search", {}, "missing required argument(s): query"),
        ("registry_search", {"query": 1}, "query must be a string"),
        ("registry_search", {"query": "x", "limit": True}, "limit must be an integer"),
        ("registry_search", {"query": "x", "limit": 0}, "between 1 and 100"),
        ("registry_search", {"query": "x\x00"}, "without NUL"),
        ("registry_search", {"query": "x" * 5000}, "at most 4096"),
        ("registry_info", {"entry_id": "a", "rm": "-rf"}, "unexpected argument(s) 'rm'"),
        ("registry_exec", {"tool_name": "a", "arguments": []}, "arguments must be an object, not list"),
        ("registry_add", ["sqlite"], "arguments must be an object"),
    ],
)
def test_bad_arguments_are_rejected_clearly(tool: str, arguments: Any, message: str) -> None:
    with pytest.raises(ArgumentError) as caught:
        parse_arguments(tool, arguments)
    assert message in str(caught.value)
