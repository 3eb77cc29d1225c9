"""Re-adding an entry answers from the tool cache at once; the first call waits for the server.

The second `registry_add` of the same entry and configuration lists the cached tools before the
container has finished starting, and a call made right away still gets the server's answer
(the call waits for the handshake). A different configuration is a different cache entry.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.support import connect_registry, text_of


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    return result.structured_content


async def test_readd_uses_cached_tools_and_calls_wait_for_the_server(registry_env: dict[str, str]) -> None:
    async with connect_registry(registry_env) as session:
        first = structured(await session.call_tool("registry_add", {"entry_id": "misbehave"}))
        structured(await session.call_tool("registry_remove", {"entry_id_or_prefix": "misbehave"}))

        again = structured(await session.call_tool("registry_add", {"entry_id": "misbehave"}))
        assert again["tools"] == first["tools"]
        echoed = await session.call_tool("misbehave_echo", {"text": "right away"})
        assert not echoed.is_error and text_of(echoed) == "right away"
        listed = {tool.name for tool in (await session.list_tools()).tools}
        assert set(first["tools"]) <= listed

        # Another configuration is another cache entry: its tools come from the server itself.
        structured(await session.call_tool("registry_remove", {"entry_id_or_prefix": "misbehave"}))
        structured(
            await session.call_tool(
                "registry_config_set", {"entry_id": "misbehave", "values": {"MISBEHAVE_TOOL_COUNT": "3"}}
            )
        )
        more = structured(await session.call_tool("registry_add", {"entry_id": "misbehave"}))
        assert len(more["tools"]) == len(first["tools"]) + 3
