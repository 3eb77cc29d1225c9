"""The catalog as the registry's tools show it: entry lookup, search, listing, entry details.

Reads the loaded `Catalog`, the user's configuration (what an entry still needs) and the router
(which entries are active). An active entry is searched with its live tools (under their exposed
names, which is what the model calls), not the catalog's list, which may be empty or out of date.

Tool search (`search_tools`, BM25, `catalog.tool_search`) covers every routed tool of the active
mounts (whether exposed "direct" or "search") and the known tools of entries not active yet (their
entry's tool filter applied), in one index rebuilt when a mount's tools change. `tool_info` gives
an active tool's full definition, or what the catalog knows of an inactive one. Nothing here touches Podman, so it works before Podman is reachable
and without it. An unknown entry id is a `RegistryError` that names the closest ids.
"""

from __future__ import annotations

from typing import Any

from mcp_registry_server.catalog import Catalog, CatalogEntry, closest_ids, search
from mcp_registry_server.catalog.entry import KnownTool
from mcp_registry_server.catalog.search import SearchHit, SearchIndex
from mcp_registry_server.catalog.tool_search import ToolDocument, ToolIndex
from mcp_registry_server.config import ConfigStore
from mcp_registry_server.registry.errors import RegistryError
from mcp_registry_server.registry.router import ToolRouter

__all__ = ["CatalogView", "one_line"]


def one_line(text: str) -> str:
    """The first line of `text`, at most 200 characters."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= 200 else first[:197] + "..."


class CatalogView:
    """Catalog lookups for the registry tools and the editor."""

    def __init__(self, catalog: Catalog, config: ConfigStore, router: ToolRouter) -> None:
        self.catalog = catalog
        self._config = config
        self._router = router
        # The active entries with their live tools, for the router's current tools.
        self._live: tuple[object, SearchIndex] | None = None
        self._live_names: dict[str, dict[str, str]] = {}  # entry id → child tool name → exposed name
        self._tools: tuple[object, ToolIndex, dict[tuple[str, str], str]] | None = None
        self._catalog_tools: dict[str, list[ToolDocument]] | None = None

    def entry(self, entry_id: Any) -> CatalogEntry:
        if isinstance(entry_id, str) and entry_id in self.catalog:
            return self.catalog[entry_id]
        shown = repr(entry_id)[:80]
        suggestions = closest_ids(self.catalog, entry_id if isinstance(entry_id, str) else "")
        hint = f" Closest matches: {', '.join(suggestions)}." if suggestions else ""
        raise RegistryError(f"Unknown catalog entry {shown}.{hint} Use registry_search to find entries.")

    def active_prefix_of(self, entry_id: str) -> str | None:
        return next((p for p, m in self._router.mounts.items() if m.entry.id == entry_id), None)

    def search(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        limit = max(1, min(limit, 100))
        live = self._live_index()
        active = {mount.entry.id for mount in self._router.mounts.values()}
        # Scores do not depend on the index an entry sits in, so the two rankings merge.
        hits = [hit for hit in search(self.catalog, query, limit + len(active)) if hit.entry.id not in active]
        hits += live.search(query, limit)
        hits.sort(key=lambda hit: (-hit.score, hit.entry.id))
        return [self._described(hit) for hit in hits[:limit]]

    def _described(self, hit: SearchHit) -> dict[str, Any]:
        prefix = self.active_prefix_of(hit.entry.id)
        exposed = self._live_names.get(hit.entry.id, {}) if prefix is not None else {}
        return {
            "id": hit.entry.id,
            "name": hit.entry.name,
            "description": one_line(hit.entry.description),
            "tools": [exposed.get(tool.name, tool.name) for tool in hit.entry.tools],
            "matched_tools": [exposed.get(name, name) for name in hit.matched_tools],
            "active": prefix is not None,
            **({"prefix": prefix} if prefix is not None else {}),
        }

    def _live_index(self) -> SearchIndex:
        """The active entries with the tools their servers listed, indexed by the servers' own names
        (so a query for the server's name does not match every tool through the prefix)."""
        exposed = self._router.routed_tools()  # a new list whenever a mount's tools change
        if self._live is None or self._live[0] is not exposed:
            tools: dict[str, list[KnownTool]] = {mount.entry.id: [] for mount in self._router.mounts.values()}
            names: dict[str, dict[str, str]] = {entry_id: {} for entry_id in tools}
            for tool in exposed:
                if (route := self._router.resolve(tool["name"])) is not None:
                    mount, child_name = route
                    description = tool.get("description")
                    text = one_line(description) if isinstance(description, str) else ""
                    tools[mount.entry.id].append(KnownTool(name=child_name, description=text))
                    names[mount.entry.id][child_name] = tool["name"]
            entries = [self.catalog[entry_id].model_copy(update={"tools": known}) for entry_id, known in tools.items()]
            self._live = (exposed, SearchIndex(entries))
            self._live_names = names
        return self._live[1]

    # -- tools ------------------------------------------------------------------------------

    def search_tools(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        """Tools that do what `query` says, best first: callable ones by exposed name, the others by entry."""
        index, callable_as = self._tool_index()
        hits = []
        for document, _ in index.search(query, max(1, min(limit, 100))):
            hit: dict[str, Any] = {"entry": document.entry_id, "tool": document.name}
            exposed = callable_as.get((document.entry_id, document.name))
            if exposed is not None:
                hit = {"name": exposed, **hit}
            hit["description"] = one_line(document.description)
            hit["callable"] = exposed is not None
            if exposed is None:
                hit["activate"] = f'registry_add("{document.entry_id}")'
            hits.append(hit)
        return hits

    def _tool_index(self) -> tuple[ToolIndex, dict[tuple[str, str], str]]:
        routed = self._router.routed_tools()  # a new list whenever a mount's tools change
        if self._tools is None or self._tools[0] is not routed:
            active = {mount.entry.id for mount in self._router.mounts.values()}
            documents = [
                doc for entry_id, docs in self._known_tools().items() if entry_id not in active for doc in docs
            ]
            callable_as: dict[tuple[str, str], str] = {}
            for tool in routed:
                if (route := self._router.resolve(tool["name"])) is None:
                    continue
                mount, child_name = route
                description = tool.get("description")
                schema = tool.get("inputSchema")
                properties = schema.get("properties") if isinstance(schema, dict) else None
                arguments = (
                    [name for name in properties if isinstance(name, str)] if isinstance(properties, dict) else []
                )
                documents.append(
                    ToolDocument.of(
                        mount.entry.id,
                        child_name,
                        description if isinstance(description, str) else "",
                        arguments,
                        server=mount.entry.name,
                    )
                )
                callable_as[(mount.entry.id, child_name)] = tool["name"]
            self._tools = (routed, ToolIndex(documents), callable_as)
        return self._tools[1], self._tools[2]

    def _known_tools(self) -> dict[str, list[ToolDocument]]:
        """The catalog's known tools as search documents, per entry (built once)."""
        if self._catalog_tools is None:
            self._catalog_tools = {
                entry.id: [
                    ToolDocument.of(entry.id, tool.name, tool.description, tool.argument_names, server=entry.name)
                    for tool in entry.tools
                    if entry.tool_filter.allows(tool.name)
                ]
                for entry in self.catalog.values()
            }
        return self._catalog_tools

    def tool_info(self, tool_name: str, entry_id: str | None = None) -> dict[str, Any]:
        """An active tool's whole definition by exposed name; else the catalog's knowledge of one."""
        if entry_id is None and (route := self._router.resolve(tool_name)) is not None:
            mount, child_name = route
            definition = next(tool for tool in self._router.routed_tools() if tool["name"] == tool_name)
            return {
                "name": tool_name,
                "entry": mount.entry.id,
                "prefix": mount.prefix,
                "tool": child_name,
                "callable": True,
                "in_tools_list": mount.expose == "direct",
                "definition": definition,
            }
        candidates = [self.entry(entry_id)] if entry_id is not None else list(self.catalog.values())
        known = [(entry, tool) for entry in candidates for tool in entry.tools if tool.name == tool_name]
        if len(known) == 1:
            entry, tool = known[0]
            prefix = self.active_prefix_of(entry.id)
            return {
                "entry": entry.id,
                "tool": tool.name,
                "description": tool.description,
                **({"input_schema": tool.input_schema} if tool.input_schema is not None else {}),
                "callable": False,
                "why": (
                    f"{entry.id} is active as {prefix!r}, but its server does not offer {tool.name} "
                    "(or its tool filter keeps it out)"
                    if prefix is not None
                    else f'{entry.id} is not active: registry_add("{entry.id}"), then the full definition is here'
                ),
                "known_from": "catalog",
            }
        if known:
            entries = ", ".join(entry.id for entry, _ in known)
            raise RegistryError(f"Several entries know a tool {tool_name!r}: {entries}. Pass entry_id to pick one.")
        hint = "" if entry_id is not None else " Active tools go by their exposed name (<prefix>_<tool>)."
        where = f"{entry_id}'s known tools" if entry_id is not None else "the active tools or the catalog"
        raise RegistryError(f"No tool {tool_name[:80]!r} in {where}.{hint} Find tools with registry_search.")

    def list_entries(self) -> list[dict[str, Any]]:
        return [
            {"id": entry.id, "name": entry.name, "active": self.active_prefix_of(entry.id) is not None}
            for entry in self.catalog.values()
        ]

    def info(self, entry_id: Any) -> dict[str, Any]:
        entry = self.entry(entry_id)
        return {
            "id": entry.id,
            "name": entry.name,
            "description": entry.description,
            "image": entry.image,
            "runs": entry.runs,
            "source": entry.source,
            "tags": list(entry.tags),
            "tools": [{"name": t.name, "description": t.description} for t in entry.tools],
            "env": [{"name": v.name, "description": v.description, "default": v.default} for v in entry.env],
            "secrets": [{"name": s.name, "description": s.description, "required": s.required} for s in entry.secrets],
            "volumes": [
                {"name": v.name, "target": v.target, "description": v.description, "read_only": v.read_only}
                for v in entry.volumes
            ],
            "network": entry.network,
            "allow_hosts": list(entry.allow_hosts),
            "network_access": entry.network_access,
            "parameters": [
                {"name": p.name, "description": p.description, "default": p.default, "required": p.required}
                for p in entry.parameters
            ],
            **({"remote": entry.remote.model_dump()} if entry.remote is not None else {}),
            **({"oauth": entry.oauth_note()} if entry.oauth else {}),
            **({"cannot_activate": reason} if (reason := entry.not_runnable_reason()) else {}),
            **({"imported": entry.imported.model_dump()} if entry.imported is not None else {}),
            "configured": self._config.describe_entry_config(entry),
            "active_prefix": self.active_prefix_of(entry.id),
        }
