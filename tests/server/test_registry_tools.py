"""The registry's own tools (`registry_tools.run_registry_tool`) on a registry with fake Podman."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mcp_registry_server.registry import CallOutcome, InputRequired, RegistryError
from mcp_registry_server.server.registry_tools import ToolCall, run_registry_tool
from mcp_registry_server.server.tools import ArgumentError
from tests.registry.support import open_test_registry

RELAY = ToolCall(None, "relay")
ENTRIES = {"demo": {"env": [{"name": "MODE", "default": "fast"}]}}


def data(result: dict[str, Any]) -> Any:
    """The tool's data, which the text content and structuredContent both carry."""
    assert result["isError"] is False
    assert json.loads(result["content"][0]["text"]) == result["structuredContent"]
    return result["structuredContent"]


async def test_search_list_and_info(tmp_path: Path) -> None:
    async with open_test_registry(tmp_path, {"demo": {}, "other": {}}, entries=ENTRIES) as r:
        found = data(await run_registry_tool(r.registry, "registry_search", {"query": "demo", "limit": 1}, RELAY))
        listed = data(await run_registry_tool(r.registry, "registry_list", {}, RELAY))
        info = data(await run_registry_tool(r.registry, "registry_info", {"entry_id": "demo"}, RELAY))
    assert [hit["id"] for hit in found["results"]] == ["demo"]
    assert [entry["id"] for entry in listed["entries"]] == ["demo", "other"]
    assert info["id"] == "demo" and info["env"][0]["name"] == "MODE"


async def test_add_exec_status_and_remove(tmp_path: Path) -> None:
    seen: list[Any] = []

    async def progress(value: float, total: float | None, message: str | None) -> None:
        seen.append(value)

    async with open_test_registry(tmp_path, {"demo": {}}) as r:
        call = ToolCall(progress, "relay")
        added = data(await run_registry_tool(r.registry, "registry_add", {"entry_id": "demo", "prefix": "d"}, call))
        executed = await run_registry_tool(
            r.registry, "registry_exec", {"tool_name": "d_echo", "arguments": {"x": 1}}, call
        )
        status = data(await run_registry_tool(r.registry, "registry_status", {}, RELAY))
        removed = data(await run_registry_tool(r.registry, "registry_remove", {"entry_id_or_prefix": "d"}, RELAY))
    assert added["prefix"] == "d" and added["tools"] == ["d_echo"]
    assert isinstance(executed, CallOutcome) and executed.result["content"][0]["text"] == '{"x": 1}'
    assert [mount["prefix"] for mount in status["mounts"]] == ["d"] and status["mounts"][0]["calls_served"] == 1
    assert removed["container_removed"] is True


async def test_exec_in_defer_mode_may_ask_for_input(tmp_path: Path) -> None:
    script = {"tools": [{"name": "ask", "inputSchema": {}}], "calls": {"ask": {"ask": [{"method": "roots/list"}]}}}
    async with open_test_registry(tmp_path, {"demo": script}) as r:
        r.editor.capabilities["roots"] = {}
        await r.registry.mounts.add("demo")
        outcome = await run_registry_tool(
            r.registry, "registry_exec", {"tool_name": "demo_ask"}, ToolCall(None, "defer")
        )
        assert isinstance(outcome, InputRequired)
        final = await r.registry.calls.resume(outcome.state, {"ask-1": {"roots": []}})
    assert isinstance(final, CallOutcome) and json.loads(final.result["content"][0]["text"]) == [{"roots": []}]


async def test_config_set_stores_the_values(tmp_path: Path) -> None:
    async with open_test_registry(tmp_path, {"demo": {}}, entries=ENTRIES) as r:
        result = data(
            await run_registry_tool(
                r.registry, "registry_config_set", {"entry_id": "demo", "values": {"MODE": "x"}}, RELAY
            )
        )
        env = r.registry.config.resolved_values(r.registry.catalog.entry("demo")).env
    assert result["entry"] == "demo" and env == {"MODE": "x"}


@pytest.mark.parametrize(
    ("name", "arguments", "message"),
    [
        ("registry_add", {"entry_id": "demo", "prefix": "Bad"}, "registry_add: prefix:"),
        ("registry_search", {"query": "x", "limit": 0}, "registry_search: limit:"),
        ("registry_list", {"extra": 1}, "registry_list: unexpected argument(s) 'extra'; expected: none"),
        ("registry_exec", "demo_echo", "registry_exec: arguments must be an object, not str"),
    ],
)
async def test_bad_arguments_are_argument_errors(tmp_path: Path, name: str, arguments: Any, message: str) -> None:
    async with open_test_registry(tmp_path, {"demo": {}}) as r:
        with pytest.raises(ArgumentError) as raised:
            await run_registry_tool(r.registry, name, arguments, RELAY)
        assert r.podman.runner.started == []
    assert str(raised.value).startswith(message)


async def test_an_operation_that_fails_raises_its_registry_error(tmp_path: Path) -> None:
    async with open_test_registry(tmp_path, {"demo": {}}) as r:
        with pytest.raises(RegistryError, match="Unknown catalog entry 'nope'"):
            await run_registry_tool(r.registry, "registry_add", {"entry_id": "nope"}, RELAY)


async def test_an_unknown_registry_tool_is_a_registry_error(tmp_path: Path) -> None:
    # The module says it raises ArgumentError and RegistryError, and its last line means to raise
    # RegistryError("Unknown registry tool ...") for a name it does not know.
    async with open_test_registry(tmp_path, {"demo": {}}) as r:
        with pytest.raises(RegistryError, match="Unknown registry tool 'registry_nope'"):
            await run_registry_tool(r.registry, "registry_nope", {}, RELAY)
