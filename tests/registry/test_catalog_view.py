"""The catalog as the registry's tools show it (`catalog_view.CatalogView`): no Podman involved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mcp_registry_server.catalog import Catalog
from mcp_registry_server.config import ConfigStore
from mcp_registry_server.registry.catalog_view import CatalogView, one_line
from mcp_registry_server.registry.errors import RegistryError
from mcp_registry_server.registry.router import ToolRouter
from tests.registry.support import make_entry, make_mount

SQLITE = make_entry(
    "sqlite",
    name="SQLite",
    description="Query SQLite databases.\nSecond line.",
    tags=["database"],
    tools=[{"name": "read_query", "description": "Run a SELECT"}],
    env=[{"name": "MODE", "default": "ro", "description": "access mode"}],
    secrets=[{"name": "TOKEN", "description": "api token"}],
    volumes=[{"name": "data", "target": "/data", "source": "sqlite-data", "read_only": True}],
)
BRAVE = make_entry("brave-search", name="Brave Search", description="Web search with Brave.")


def view(tmp_path: Path, *active: str) -> CatalogView:
    router = ToolRouter()
    for entry_id in active:
        router.add(make_mount(f"p-{entry_id}", entry_id=entry_id))
    return CatalogView(Catalog([SQLITE, BRAVE]), ConfigStore(tmp_path), router)


def test_entry_returns_the_catalog_entry(tmp_path: Path) -> None:
    assert view(tmp_path).entry("sqlite") is SQLITE


@pytest.mark.parametrize(
    ("entry_id", "message"),
    [
        ("sqlit", "Unknown catalog entry 'sqlit'. Closest matches: sqlite. Use registry_search to find entries."),
        ("zzzzzz", "Unknown catalog entry 'zzzzzz'. Use registry_search to find entries."),
        (7, "Unknown catalog entry 7. Use registry_search to find entries."),
        ("x" * 200, "Unknown catalog entry '" + "x" * 79 + ". Use registry_search to find entries."),
    ],
)
def test_an_unknown_entry_names_the_closest_ids(tmp_path: Path, entry_id: Any, message: str) -> None:
    with pytest.raises(RegistryError) as raised:
        view(tmp_path).entry(entry_id)
    assert str(raised.value) == message


def test_active_prefix_of_finds_the_mount_of_an_entry(tmp_path: Path) -> None:
    catalog = view(tmp_path, "sqlite")
    assert catalog.active_prefix_of("sqlite") == "p-sqlite"
    assert catalog.active_prefix_of("brave-search") is None


def test_search_describes_each_hit_in_one_line(tmp_path: Path) -> None:
    (hit,) = view(tmp_path).search("sqlite", limit=5)
    assert hit == {
        "id": "sqlite",
        "name": "SQLite",
        "description": "Query SQLite databases.",
        "tools": ["read_query"],
        "matched_tools": [],
        "active": False,
    }


def test_an_active_entry_is_found_by_its_live_tools_under_their_exposed_names(tmp_path: Path) -> None:
    router = ToolRouter()
    live = [{"name": "post_message", "description": "Post a message to a channel.\nMore.", "inputSchema": {}}]
    router.add(make_mount("chat", entry_id="brave-search", tools=()))
    router.replace_tools(router.mounts["chat"], live)
    catalog = CatalogView(Catalog([SQLITE, BRAVE]), ConfigStore(tmp_path), router)  # BRAVE lists no tools
    hit = catalog.search("post a message", limit=5)[0]
    assert hit["id"] == "brave-search" and hit["active"] is True and hit["prefix"] == "chat"
    assert hit["tools"] == hit["matched_tools"] == ["chat_post_message"]
    assert catalog.search("brave")[0]["matched_tools"] == []  # the prefix does not match every tool
    router.remove("chat")
    assert [hit["id"] for hit in catalog.search("post message")] == []  # inactive: the catalog's knowledge


def test_active_and_inactive_hits_are_ranked_together(tmp_path: Path) -> None:
    hits = view(tmp_path, "sqlite").search("echo web", limit=5)
    assert [(hit["id"], hit["active"]) for hit in hits] == [("sqlite", True), ("brave-search", False)]
    assert hits[0]["tools"] == ["p-sqlite_echo"]  # the live list, not the catalog's read_query


@pytest.mark.parametrize("limit", [0, -3])
def test_search_asks_for_at_least_one_hit(tmp_path: Path, limit: int) -> None:
    assert len(view(tmp_path).search("search", limit=limit)) == 1


def test_list_entries_marks_the_active_ones(tmp_path: Path) -> None:
    assert view(tmp_path, "brave-search").list_entries() == [
        {"id": "brave-search", "name": "Brave Search", "active": True},
        {"id": "sqlite", "name": "SQLite", "active": False},
    ]


def test_info_shows_the_whole_entry_and_what_it_still_needs(tmp_path: Path) -> None:
    info = view(tmp_path).info("sqlite")
    assert info["description"] == "Query SQLite databases.\nSecond line."  # in full, not one line
    assert info["tools"] == [{"name": "read_query", "description": "Run a SELECT"}]
    assert info["env"] == [{"name": "MODE", "description": "access mode", "default": "ro"}]
    assert info["secrets"] == [{"name": "TOKEN", "description": "api token", "required": True}]
    assert info["volumes"] == [{"name": "data", "target": "/data", "description": "", "read_only": True}]
    assert info["network"] == "none" and info["tags"] == ["database"] and info["active_prefix"] is None
    assert info["configured"]["missing_required"] == ["TOKEN"]


def test_info_of_an_unknown_entry_is_a_registry_error(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="Unknown catalog entry 'nope'"):
        view(tmp_path).info("nope")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("", ""),
        ("   \n  ", ""),
        ("\n  first\nsecond", "first"),
        ("a" * 200, "a" * 200),
        ("a" * 201, "a" * 197 + "..."),
    ],
)
def test_one_line(text: str, line: str) -> None:
    assert one_line(text) == line


# -- tools ------------------------------------------------------------------------------------------


def test_tool_search_covers_active_tools_by_exposed_name_and_inactive_ones_by_entry(tmp_path: Path) -> None:
    router = ToolRouter()
    hidden = make_mount("chat", entry_id="brave-search", tools=())
    hidden.expose = "search"
    router.add(hidden)
    table = {"name": "post_message", "description": "Post a message.", "inputSchema": {"properties": {"channel": {}}}}
    router.replace_tools(hidden, [table])
    catalog = CatalogView(Catalog([SQLITE, BRAVE]), ConfigStore(tmp_path), router)
    (live,) = catalog.search_tools("post to a channel")  # by an argument name, in a "search" mount
    assert live == {
        "name": "chat_post_message",
        "entry": "brave-search",
        "tool": "post_message",
        "description": "Post a message.",
        "callable": True,
    }
    (known,) = catalog.search_tools("run a select")
    assert known == {
        "entry": "sqlite",
        "tool": "read_query",
        "description": "Run a SELECT",
        "callable": False,
        "activate": 'registry_add("sqlite")',
    }


def test_tool_search_leaves_out_what_an_entrys_tool_filter_denies(tmp_path: Path) -> None:
    denied = SQLITE.model_copy(update={"tools_deny": ["read_*"]})
    catalog = CatalogView(Catalog([denied]), ConfigStore(tmp_path), ToolRouter())
    assert catalog.search_tools("run a select") == []


def test_tool_info_gives_an_active_tools_whole_definition(tmp_path: Path) -> None:
    router = ToolRouter()
    router.add(make_mount("db", entry_id="sqlite", tools=("read_query",)))
    info = CatalogView(Catalog([SQLITE, BRAVE]), ConfigStore(tmp_path), router).tool_info("db_read_query")
    assert info == {
        "name": "db_read_query",
        "entry": "sqlite",
        "prefix": "db",
        "tool": "read_query",
        "callable": True,
        "in_tools_list": True,
        "definition": {"name": "db_read_query", "inputSchema": {"type": "object"}},
    }


def test_tool_info_of_an_inactive_tool_is_the_catalogs_knowledge(tmp_path: Path) -> None:
    info = view(tmp_path).tool_info("read_query")
    assert (info["entry"], info["tool"], info["callable"], info["known_from"]) == (
        "sqlite",
        "read_query",
        False,
        "catalog",
    )
    assert info["why"] == 'sqlite is not active: registry_add("sqlite"), then the full definition is here'
    assert view(tmp_path).tool_info("read_query", "sqlite") == info


@pytest.mark.parametrize(
    ("tool", "entry_id", "message"),
    [
        ("nope", None, "No tool 'nope' in the active tools or the catalog. Active tools go by their exposed name"),
        ("nope", "sqlite", "No tool 'nope' in sqlite's known tools. Find tools with registry_search."),
        ("read_query", "nope", "Unknown catalog entry 'nope'"),
    ],
)
def test_tool_info_of_an_unknown_tool_says_where_it_looked(
    tmp_path: Path, tool: str, entry_id: str | None, message: str
) -> None:
    with pytest.raises(RegistryError) as raised:
        view(tmp_path).tool_info(tool, entry_id)
    assert str(raised.value).startswith(message)
