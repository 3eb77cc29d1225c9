"""A small model context with many servers active (issue 12): `search` exposure, tool search,
tool info and the tool list's size, against five real servers in containers.

With MCP_REGISTRY_EXPOSE=search, five active servers leave `tools/list` at the registry's own
tools; `registry_search` finds a tool of each by what it does and `registry_exec` runs it.
"""

from __future__ import annotations

import json
from typing import Any

from mcp_registry_server.server.tools import REGISTRY_TOOLS
from tests.e2e.harness import structured
from tests.e2e.support import connect_registry, text_of

# Per server: a request in the user's words, the tool it must find, arguments, and what the answer holds.
ASKED: dict[str, tuple[str, str, dict[str, Any], str]] = {
    "time": ("what time is it in Tokyo", "time_get_current_time", {"timezone": "Asia/Tokyo"}, "Asia/Tokyo"),
    "sqlite": ("create a table", "sqlite_create_table", {"query": "CREATE TABLE t (id INTEGER)"}, ""),
    "git": ("git commit log", "git_git_log", {"repo_path": "/repo"}, "Add hello.py"),
    "everything": ("add two numbers", "everything_get-sum", {"a": 2, "b": 40}, "42"),
    "memory": (
        "create entities in the knowledge graph",
        "memory_create_entities",
        {"entities": [{"name": "e2e", "entityType": "test", "observations": ["x"]}]},
        "e2e",
    ),
}


async def test_five_servers_in_search_mode_keep_the_tool_list_to_the_registrys_own(
    registry_env: dict[str, str],
) -> None:
    env = {**registry_env, "MCP_REGISTRY_EXPOSE": "search"}
    async with connect_registry(env) as session:
        for entry in ASKED:
            added = structured(await session.call_tool("registry_add", {"entry_id": entry}))
            assert added["expose"] == "search" and added["tools"], added
        listed = [tool.name for tool in (await session.list_tools()).tools]
        assert listed == [tool["name"] for tool in REGISTRY_TOOLS]

        for entry, (query, tool, arguments, expected) in ASKED.items():
            found = structured(await session.call_tool("registry_search", {"query": query, "kind": "tools"}))
            names = [hit.get("name") for hit in found["tools"][:3]]
            assert tool in names, (query, found["tools"][:3])
            hit = next(hit for hit in found["tools"] if hit.get("name") == tool)
            assert hit["callable"] is True and hit["entry"] == entry
            result = await session.call_tool("registry_exec", {"tool_name": tool, "arguments": arguments})
            assert not result.is_error, text_of(result)
            assert expected in text_of(result)

        info = structured(await session.call_tool("registry_tool_info", {"tool_name": "sqlite_create_table"}))
        assert info["in_tools_list"] is False and info["definition"]["inputSchema"]["required"] == ["query"]

        status = structured(await session.call_tool("registry_status", {}))
    assert status["tool_list"]["tools"] == len(REGISTRY_TOOLS)
    own = len(json.dumps(REGISTRY_TOOLS, separators=(",", ":")))
    assert status["tool_list"]["bytes"] == own and status["tool_list"]["tokens_estimate"] == own // 4
    assert all(mount["tools_listed"] == 0 < mount["tools_callable"] for mount in status["mounts"])


async def test_in_direct_mode_the_status_counts_each_servers_share_of_the_tool_list(
    registry_env: dict[str, str],
) -> None:
    async with connect_registry(registry_env) as session:
        for entry in ("time", "sqlite"):
            await session.call_tool("registry_add", {"entry_id": entry})
        tools = (await session.list_tools()).tools
        status = structured(await session.call_tool("registry_status", {}))
    assert status["tool_list"]["tools"] == len(tools)
    listed = {mount["entry"]: mount["tools_listed"] for mount in status["mounts"]}
    assert listed == {"time": 2, "sqlite": 6}
    assert (
        sum(mount["tool_list_tokens_estimate"] for mount in status["mounts"]) < status["tool_list"]["tokens_estimate"]
    )
