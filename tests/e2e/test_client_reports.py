"""Problems found running the registry under real clients (issue 16), against real containers.

- The MCP Inspector sends `logging/setLevel` right after `initialized`; a server that advertises
  `logging` but refuses setLevel must still be added (it was killed during its handshake), and an
  autostart that fails shows in `registry_status`.
- Gemini CLI lists the tools right after `initialized` and registers them all again on every
  `list_changed`: the autostart must not announce a change before the client's first list.
- `registry_search` on an active entry whose catalog lists no tools shows its live tools.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import mcp_types as types

from tests.e2e.harness import misbehave_entry, structured, with_catalog, write_catalog
from tests.e2e.support import connect_registry, text_of


def misbehave_with(entry_id: str, *, tools: list[dict[str, str]] | None = None, **env: str) -> dict[str, Any]:
    """A misbehave copy whose environment defaults are `env`."""
    entry = misbehave_entry(entry_id)
    entry["env"] = [{**var, "default": env[var["name"]]} if var["name"] in env else var for var in entry["env"]]
    if tools is not None:
        entry["tools"] = tools
    return entry


async def test_a_server_that_refuses_setlevel_is_added_after_the_editor_set_a_level(
    registry_env: dict[str, str], tmp_path: Path
) -> None:
    catalog = write_catalog(tmp_path / "extra", [misbehave_with("picky", MISBEHAVE_REFUSE_SET_LEVEL="1")])
    async with connect_registry(with_catalog(registry_env, catalog)) as session:
        await session.set_logging_level("debug")  # what the Inspector CLI sends after `initialized`
        added = await session.call_tool("registry_add", {"entry_id": "picky"})
        assert not added.is_error, text_of(added)
        echoed = await session.call_tool("picky_echo", {"text": "still here"})
        assert text_of(echoed) == "still here"
        (mount,) = structured(await session.call_tool("registry_status", {}))["mounts"]
        assert mount["state"] == "running"


async def test_a_failed_autostart_shows_in_registry_status(registry_env: dict[str, str], tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path / "extra", [misbehave_with("mute", MISBEHAVE_NEVER_INIT="1")])
    env = {**with_catalog(registry_env, catalog), "MCP_REGISTRY_AUTOSTART": "mute", "MCP_REGISTRY_INIT_TIMEOUT": "3"}
    async with connect_registry(env) as session:
        await session.list_tools()  # waits for the autostart
        status = structured(await session.call_tool("registry_status", {}))
    assert status["mounts"] == []
    assert status["autostart"]["entries"] == ["mute"] and status["autostart"]["done"] is True
    (failure,) = status["autostart"]["failed"]
    assert failure["entry"] == "mute"
    assert "did not complete the MCP handshake" in failure["error"] and "'initialize'" in failure["error"]


async def test_no_list_changed_reaches_the_client_before_its_first_list(registry_env: dict[str, str]) -> None:
    heard: list[str] = []
    tools_changed = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ServerNotification):
            heard.append(message.method)
            if message.method == "notifications/tools/list_changed":
                tools_changed.set()

    env = {**registry_env, "MCP_REGISTRY_AUTOSTART": "time"}
    async with connect_registry(env, message_handler=on_message) as session:
        listed = await session.list_tools()  # sent at once, as Gemini CLI does: the autostart is still running
        assert "time_get_current_time" in {tool.name for tool in listed.tools}
        await anyio.sleep(0.5)
        assert heard == []
        added = await session.call_tool("registry_add", {"entry_id": "sqlite"})
        assert not added.is_error, text_of(added)
        with anyio.fail_after(10):
            await tools_changed.wait()
    assert set(heard) == {"notifications/tools/list_changed"}  # resources and prompts were never listed


async def test_search_shows_an_active_entrys_live_tools(registry_env: dict[str, str], tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path / "extra", [misbehave_with("bare", tools=[])])  # the catalog knows no tools
    async with connect_registry(with_catalog(registry_env, catalog)) as session:
        before = structured(await session.call_tool("registry_search", {"query": "bare"}))["results"][0]
        assert (before["id"], before["tools"]) == ("bare", [])
        await session.call_tool("registry_add", {"entry_id": "bare"})
        found = structured(await session.call_tool("registry_search", {"query": "echo the text unchanged"}))
    hit = next(result for result in found["results"] if result["id"] == "bare")
    assert hit["active"] is True and hit["prefix"] == "bare"
    assert "bare_echo" in hit["matched_tools"] and {"bare_echo", "bare_crash", "bare_hang"} <= set(hit["tools"])
