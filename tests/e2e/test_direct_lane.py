"""The direct lane answers routed calls and tools/list exactly as the SDK path would.

The first tools/list after initialize goes through the SDK server; later ones are built by the
lane (`server.direct_lane`). Both must be the same list, and a routed call must give the same
result by its exposed name and through registry_exec.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.support import connect_registry, text_of


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    return result.structured_content


async def test_lane_lists_and_calls_like_the_sdk_path(registry_env: dict[str, str]) -> None:
    async with connect_registry(registry_env) as session:
        structured(await session.call_tool("registry_add", {"entry_id": "misbehave"}))
        by_sdk = (await session.list_tools()).model_dump(mode="json", exclude_none=True)
        by_lane = (await session.list_tools()).model_dump(mode="json", exclude_none=True)
        assert by_lane == by_sdk
        assert {"registry_add", "misbehave_echo"} <= {tool["name"] for tool in by_lane["tools"]}

        direct = await session.call_tool("misbehave_add", {"a": 2, "b": 3})
        via_exec = await session.call_tool(
            "registry_exec", {"tool_name": "misbehave_add", "arguments": {"a": 2, "b": 3}}
        )
        assert not direct.is_error and direct.model_dump() == via_exec.model_dump()
        assert direct.structured_content == {"sum": 5}

        # Bad arguments and unknown names still get the SDK path's clear answers.
        unknown = await session.call_tool("misbehave_nope", {})
        assert unknown.is_error and "Unknown tool" in text_of(unknown)
        bad = await session.call_tool("registry_exec", {"tool_name": 5})
        assert bad.is_error and "tool_name" in text_of(bad)
