"""The direct lane answers exactly as the SDK's own loop does, against a real container.

Two registries run side by side: one as shipped, one with `MCP_REGISTRY_DIRECT_LANE=off`, so
every request goes through the SDK's loop. The same requests (routed calls by exposed name
and through registry_exec, a child's invalid result, unknown fields, bad arguments, an unknown
tool, tool lists) must give the same answers. `tests/server/test_dispatch_parity.py` does the
same line by line on every protocol version without Podman; this is the real-container check.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.support import connect_registry, text_of

CALLS: list[tuple[str, dict[str, Any]]] = [
    ("misbehave_add", {"a": 2, "b": 3}),
    ("registry_exec", {"tool_name": "misbehave_add", "arguments": {"a": 2, "b": 3}}),
    ("misbehave_echo", {"text": "héllo"}),
    ("misbehave_invalid_result", {}),
    ("registry_exec", {"tool_name": "misbehave_invalid_result"}),
    ("misbehave_unknown_fields", {}),
    ("misbehave_nope", {}),
    ("registry_exec", {"tool_name": 5}),
    ("misbehave_echo", {"text": 5}),
]


async def transcript(env: dict[str, str]) -> tuple[list[Any], list[Any]]:
    async with connect_registry(env) as session:
        added = await session.call_tool("registry_add", {"entry_id": "misbehave"})
        assert not added.is_error, text_of(added)
        lists = [
            (await session.list_tools()).model_dump(mode="json", by_alias=True, exclude_none=True) for _ in range(2)
        ]
        results = [
            (await session.call_tool(name, args)).model_dump(mode="json", by_alias=True, exclude_none=True)
            for name, args in CALLS
        ]
    return lists, results


async def test_the_lane_answers_as_the_sdk_loop(registry_env: dict[str, str]) -> None:
    lane_lists, lane_results = await transcript(registry_env)
    sdk_lists, sdk_results = await transcript({**registry_env, "MCP_REGISTRY_DIRECT_LANE": "off"})
    assert lane_lists == sdk_lists and lane_lists[0] == lane_lists[1]
    for (name, args), by_lane, by_sdk in zip(CALLS, lane_results, sdk_results, strict=True):
        assert by_lane == by_sdk, f"{name}({args}) differs between the lane and the SDK loop"

    add, via_exec, echo, invalid, invalid_exec, unknown_fields, nope, bad_exec, bad_echo = lane_results
    assert add["structuredContent"] == {"sum": 5} and add == via_exec
    assert echo["content"][0]["text"] == "héllo"
    for result in (invalid, invalid_exec):
        assert result["isError"] is True
        assert (
            "misbehave server (prefix 'misbehave') returned an invalid tools/call result"
            in result["content"][0]["text"]
        )
    # Fields the protocol does not define are dropped, at the top and inside content items.
    assert unknown_fields["content"] == [{"type": "text", "text": "unknown fields"}]
    assert "x-misbehave-top" not in str(unknown_fields)
    assert nope["isError"] and "Unknown tool 'misbehave_nope'" in nope["content"][0]["text"]
    assert bad_exec["isError"] and "tool_name must be a string" in bad_exec["content"][0]["text"]
    # The child validates its own arguments; its complaint comes back as a tool error.
    assert bad_echo["isError"] is True
