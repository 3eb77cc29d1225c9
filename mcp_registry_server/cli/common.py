"""What most commands start with: the settings from the environment, the catalog, one entry by id.

Each turns the failure a user can cause (a bad MCP_REGISTRY_* value, an unknown entry id) into a
`CLIError` that says what to do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcp_registry_server.cli.output import CLIError, warn

if TYPE_CHECKING:
    from mcp_registry_server.catalog import Catalog, CatalogEntry
    from mcp_registry_server.settings import RegistrySettings


def load_settings() -> RegistrySettings:
    from mcp_registry_server.settings import RegistrySettings

    try:
        return RegistrySettings.from_environ()
    except ValueError as error:
        raise CLIError(str(error), hint="Fix or unset that environment variable.", exit_code=2) from None


def load_catalog(settings: RegistrySettings, *, show_warnings: bool = True) -> Catalog:
    from mcp_registry_server.catalog import load_catalog as load

    catalog = load(settings.catalog_dirs)
    if show_warnings:
        for problem in catalog.warnings:
            warn(str(problem))
    return catalog


def find_entry(catalog: Catalog, entry_id: str) -> CatalogEntry:
    from mcp_registry_server.catalog import closest_ids

    if entry_id in catalog:
        return catalog[entry_id]
    suggestions = closest_ids(catalog, entry_id)
    hint = f"Did you mean {', '.join(suggestions)}? " if suggestions else ""
    raise CLIError(
        f"{entry_id!r} is not in the catalog ({len(catalog)} entries).",
        hint=hint + f"Find entries with `mcp-registry search {entry_id}` or `mcp-registry list`.",
    )
