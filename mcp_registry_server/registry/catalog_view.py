"""The catalog as the registry's tools show it: entry lookup, search, listing, entry details.

Reads the loaded `Catalog`, the user's configuration (what an entry still needs) and the router
(which entries are active). Nothing here touches Podman, so it works before Podman is reachable
and without it. An unknown entry id is a `RegistryError` that names the closest ids.
"""

from __future__ import annotations

from typing import Any

from mcp_registry_server.catalog import Catalog, CatalogEntry, closest_ids, search
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
        hits = search(self.catalog, query, limit=max(1, min(limit, 100)))
        return [
            {
                "id": hit.entry.id,
                "name": hit.entry.name,
                "description": one_line(hit.entry.description),
                "tools": [tool.name for tool in hit.entry.tools],
                "matched_tools": list(hit.matched_tools),
                "active": self.active_prefix_of(hit.entry.id) is not None,
            }
            for hit in hits
        ]

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
            "configured": self._config.describe_entry_config(entry),
            "active_prefix": self.active_prefix_of(entry.id),
        }
