"""Every tool call the editor makes, on either dispatch path, leaves one audit line; values only on request."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.e2e.support import connect_registry


@pytest.mark.parametrize("lane", ["on", "off"])
async def test_every_tool_call_is_audited_without_its_values(registry_env: dict[str, str], lane: str) -> None:
    env = {**registry_env, "MCP_REGISTRY_DIRECT_LANE": lane}
    async with connect_registry(env) as session:
        await session.call_tool("registry_add", {"entry_id": "misbehave"})
        await session.call_tool("misbehave_echo", {"text": "a value the log must not hold"})
        await session.call_tool("misbehave_nope", {})
        await session.call_tool("registry_info", {"entry_id": "no-such-entry"})
    path = Path(registry_env["XDG_STATE_HOME"]) / "mcp-registry" / "audit.jsonl"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "a value the log must not hold" not in path.read_text()
    seen = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(line["entry"], line["tool"], line["outcome"]) for line in seen] == [
        ("registry", "registry_add", "ok"),
        ("misbehave", "misbehave_echo", "ok"),
        ("unknown", "misbehave_nope", "error"),
        ("registry", "registry_info", "error"),
    ]
    assert seen[1]["argument_bytes"] == len(
        json.dumps({"text": "a value the log must not hold"}, separators=(",", ":"))
    )
    assert all(line["workspace"] == "default" and line["duration_ms"] >= 0 for line in seen)


async def test_argument_values_are_audited_when_the_setting_asks(registry_env: dict[str, str]) -> None:
    env = {**registry_env, "MCP_REGISTRY_AUDIT_ARGUMENTS": "on"}
    async with connect_registry(env) as session:
        await session.call_tool("registry_search", {"query": "misbehave"})
    path = Path(registry_env["XDG_STATE_HOME"]) / "mcp-registry" / "audit.jsonl"
    (line,) = [json.loads(line) for line in path.read_text().splitlines()]
    assert line["arguments"] == {"query": "misbehave"}
