"""The loaded catalog: an immutable id -> entry mapping with provenance, the warnings, and search.

Contract: `Catalog` maps entry id to `CatalogEntry` in id order and cannot be changed; a later
entry with the same id replaces an earlier one. It records the file each entry came from and the
`CatalogWarning`s of files that were skipped, and builds its `SearchIndex` once, on first use.
`search(catalog, query, limit)` ranks entries through that index (the `search` module says how).
`loader.load_catalog` builds a `Catalog` from directories; tests build one in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import MappingProxyType

from mcp_registry_server.catalog.entry import CatalogEntry
from mcp_registry_server.catalog.search import SearchHit, SearchIndex

__all__ = ["Catalog", "CatalogWarning", "search"]


@dataclass(frozen=True)
class CatalogWarning:
    """A catalog file or directory that was skipped, and why."""

    path: Path
    message: str
    # Dotted locations of the offending fields, e.g. "volumes[0].target"; empty for syntax errors.
    fields: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class Catalog(Mapping[str, CatalogEntry]):
    """An immutable mapping of entry id to `CatalogEntry`, in id order, with provenance."""

    def __init__(
        self,
        entries: Iterable[CatalogEntry] = (),
        *,
        sources: Mapping[str, Path] | None = None,
        warnings: Iterable[CatalogWarning] = (),
    ) -> None:
        by_id: dict[str, CatalogEntry] = {}
        for entry in entries:
            by_id[entry.id] = entry  # a later entry with the same id wins, as in load_catalog
        self._entries: Mapping[str, CatalogEntry] = MappingProxyType(dict(sorted(by_id.items())))
        known_sources = sources or {}
        self._sources: Mapping[str, Path] = MappingProxyType(
            {entry_id: known_sources[entry_id] for entry_id in self._entries if entry_id in known_sources}
        )
        self._warnings: tuple[CatalogWarning, ...] = tuple(warnings)

    def __getitem__(self, entry_id: str) -> CatalogEntry:
        return self._entries[entry_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Catalog({len(self)} entries, {len(self._warnings)} warnings)"

    @property
    def warnings(self) -> tuple[CatalogWarning, ...]:
        """Files and directories that were skipped while loading."""
        return self._warnings

    @property
    def sources(self) -> Mapping[str, Path]:
        """The file each entry was read from (absent for entries built in memory)."""
        return self._sources

    def source_of(self, entry_id: str) -> Path | None:
        return self._sources.get(entry_id)

    @cached_property
    def search_index(self) -> SearchIndex:
        """Token index for `catalog.search`, built on first use and kept for the catalog's life."""
        return SearchIndex(self._entries.values())


def search(catalog: Catalog, query: str, limit: int = 10) -> list[SearchHit]:
    """Return up to `limit` entries of `catalog` that match `query`, best first."""
    return catalog.search_index.search(query, limit)
