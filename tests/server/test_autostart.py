"""With MCP_REGISTRY_AUTOSTART, every request that can reach a mount waits for the autostart (bounded).

A client may call right after `initialize`, before the autostarted server is up: a tool by its
exposed name, through registry_exec, a prompt, a tool list. Each must find the server instead
of failing. The scripted child takes a second to start, so without the wait each would fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.server.wire import request, running_registry

SLOW = {"startDelay": 1.0, "prompts": [{"name": "hello"}]}
VERSION = "2025-11-25"


@pytest.mark.parametrize("lane", [True, False])
async def test_requests_right_after_initialize_wait_for_the_autostart(tmp_path: Path, lane: bool) -> None:
    async with running_registry(tmp_path, {"slow": SLOW}, lane=lane, autostart=(("slow", None),)) as (wire, _):
        await wire.handshake(VERSION)
        # Sent at once, before the child could have answered anything.
        await wire.send(request(VERSION, 1, "tools/call", {"name": "slow_echo", "arguments": {"n": 1}}))
        await wire.send(
            request(VERSION, 2, "tools/call", {"name": "registry_exec", "arguments": {"tool_name": "slow_echo"}})
        )
        await wire.send(request(VERSION, 3, "prompts/get", {"name": "slow_hello"}))
        await wire.send(request(VERSION, 4, "tools/list"))
        answers = {}
        for _ in range(4):
            for message in await wire.until_any_response():
                answers[message["id"]] = message
        assert answers[1]["result"]["content"][0]["text"] == '{"n": 1}', answers[1]
        assert answers[2]["result"]["content"][0]["text"] == "{}", answers[2]
        assert answers[3]["result"]["messages"][0]["content"]["text"] == "prompt hello", answers[3]
        assert "slow_echo" in [tool["name"] for tool in answers[4]["result"]["tools"]]


@pytest.mark.parametrize("lane", [True, False])
async def test_the_autostart_sends_no_list_changed_before_the_editors_first_list(tmp_path: Path, lane: bool) -> None:
    # Gemini CLI lists the tools right after `initialized` and registers each tool again on every
    # list_changed ("Tool with name … is already registered"): the autostart's change is in the list.
    scripts = {"slow": SLOW, "later": {}}
    async with running_registry(tmp_path, scripts, lane=lane, autostart=(("slow", None),)) as (wire, _):
        await wire.handshake(VERSION)
        seen = await wire.exchange(request(VERSION, 1, "tools/list"), 1)
        assert "slow_echo" in [tool["name"] for tool in seen[-1]["result"]["tools"]]
        add = {"name": "registry_add", "arguments": {"entry_id": "later"}}  # a change after the list
        seen += await wire.exchange(request(VERSION, 2, "tools/call", add), 2, seconds=60)
        seen += await wire.exchange(request(VERSION, 3, "ping"), 3)
    notices = [message["method"] for message in seen if "method" in message]
    assert notices == ["notifications/tools/list_changed"]  # for `later` only; nothing else was listed
