"""The direct lane (`lane.DirectLane`) in a whole registry on pipes with fake containers (no Podman):
cancellation, the requests it must leave to the SDK, and many requests in flight."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.server.wire import MODERN, EditorWire, request, running_registry

VERSION = "2025-11-25"
SLOW = {"delay": 0.4}
SCRIPT = {
    "tools": [{"name": name, "inputSchema": {"type": "object"}} for name in ("echo", "slow", "url")],
    "calls": {
        "slow": SLOW,
        "url": {
            "reply": json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": "ID",
                    "error": {
                        "code": -32042,
                        "message": "Authorize first",
                        "data": {
                            "elicitations": [
                                {
                                    "mode": "url",
                                    "url": "https://example.com/auth",
                                    "elicitationId": "e-1",
                                    "message": "Sign in",
                                }
                            ]
                        },
                    },
                }
            )
        },
    },
}


def call_line(request_id: Any, name: str, arguments: dict[str, Any] | None = None, **params: Any) -> bytes:
    return request(VERSION, request_id, "tools/call", {"name": name, "arguments": arguments or {}, **params})


async def add_fake(wire: EditorWire) -> None:
    result = await wire.call(VERSION, "add", "registry_add", {"entry_id": "fake"})
    assert result.get("isError") is False, result


@pytest.mark.parametrize("lane", [True, False])
async def test_a_cancelled_request_gets_no_reply_and_the_child_is_told(tmp_path: Path, lane: bool) -> None:
    log = tmp_path / f"child-{lane}.jsonl"
    async with running_registry(tmp_path, {"fake": SCRIPT}, lane=lane) as (wire, serving):
        serving.registry.podman.default.runner.env["SCRIPTED_CHILD_LOG"] = str(log)  # type: ignore[attr-defined]
        await wire.handshake(VERSION)
        await add_fake(wire)
        await wire.send(call_line(10, "fake_slow"))
        await anyio.sleep(0.1)
        await wire.send(b'{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":10}}\n')
        await anyio.sleep(SLOW["delay"] + 0.2)  # the child has answered by now; nothing may follow
        seen = await wire.exchange(call_line(11, "fake_echo", {"after": 1}), 11)
        if lane:
            assert serving.lane is not None and serving.lane.requests_taken == 3
    assert [message.get("id") for message in seen] == [11], seen
    assert seen[-1]["result"]["content"][0]["text"] == '{"after": 1}'
    received = [json.loads(line) for line in log.read_text().splitlines()]
    assert any(message.get("method") == "notifications/cancelled" for message in received)


async def test_requests_the_lane_must_decline_go_to_the_sdk(tmp_path: Path) -> None:
    async with running_registry(tmp_path, {"fake": SCRIPT}, lane=True) as (wire, serving):
        lane = serving.lane
        assert lane is not None
        # Before initialize: no handshake-era version yet; the SDK answers.
        (early,) = await wire.exchange(request(VERSION, "early", "tools/list"), "early")
        assert lane.requests_taken == 0 and "error" in early
        await wire.handshake(VERSION)
        await add_fake(wire)
        taken = lane.requests_taken
        assert taken == 1
        # Not a lane method; a 2026-07-28 envelope; a requestState: all for the SDK, whose middleware
        # owns the last two (the lane would have run the call and answered with its result).
        prompts = await wire.exchange(request(VERSION, "p", "prompts/list"), "p")
        modern = await wire.exchange(request(MODERN, "m", "tools/list"), "m")
        state = await wire.exchange(call_line("s", "fake_echo", {"n": 1}, requestState="x"), "s")
        assert lane.requests_taken == taken
        assert prompts[-1]["result"] == {"prompts": []}
        assert modern[-1]["error"]["code"] == -32600 and "2026-07-28 envelope" in modern[-1]["error"]["message"]
        assert state[-1]["error"] == {
            "code": -32602,
            "message": "Invalid or expired requestState",
            "data": {"reason": "invalid_request_state"},
        }
        # An id already in flight on the lane: the second request is not the lane's.
        await wire.send(call_line(20, "fake_slow"))
        await wire.send(call_line(20, "fake_echo", {"twin": True}))
        answers = [await wire.until_response(20), await wire.until_response(20)]
        assert lane.requests_taken == taken + 1
    assert {message[-1]["id"] for message in answers} == {20}


async def test_many_requests_in_flight_are_all_answered_by_a_bounded_pool(tmp_path: Path) -> None:
    async with running_registry(tmp_path, {"fake": SCRIPT}, lane=True) as (wire, serving):
        await wire.handshake(VERSION)
        await add_fake(wire)
        for round_number in range(2):
            ids = [f"r{round_number}-{n}" for n in range(20)]
            for request_id in ids:
                await wire.send(call_line(request_id, "fake_echo", {"id": request_id}))
            answered: dict[Any, Any] = {}
            while len(answered) < len(ids):
                for message in await wire.until_any_response():
                    answered[message["id"]] = message
            assert all(
                answered[request_id]["result"]["content"][0]["text"] == json.dumps({"id": request_id})
                for request_id in ids
            )
        lane = serving.lane
        assert lane is not None and lane.requests_taken == 41
        assert len(lane._idle) <= 8  # a few idle workers kept, the rest left


@pytest.mark.parametrize("lane", [True, False])
async def test_url_elicitation_required_reaches_the_editor_as_a_jsonrpc_error(tmp_path: Path, lane: bool) -> None:
    async with running_registry(tmp_path, {"fake": SCRIPT}, lane=lane) as (wire, _):
        await wire.handshake(VERSION)
        await add_fake(wire)
        (response,) = await wire.exchange(call_line(5, "fake_url"), 5)
    assert response["error"]["code"] == -32042 and response["error"]["message"] == "Authorize first"
    assert response["error"]["data"]["elicitations"][0]["url"] == "https://example.com/auth"
