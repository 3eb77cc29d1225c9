"""The catalog of MCP servers: entry model, loading from TOML directories, ranked search, importers.

A leaf of the package: the registry facade reads it, and it imports nothing above it.
"""

from mcp_registry_server.catalog.collection import Catalog, CatalogWarning, search
from mcp_registry_server.catalog.entry import (
    CatalogEntry,
    EnvVar,
    KnownTool,
    OAuthProvider,
    Package,
    Parameter,
    Provenance,
    RemoteServer,
    SecretVar,
    ToolFilter,
    Volume,
)
from mcp_registry_server.catalog.loader import (
    CATALOG_PATH_ENV,
    bundled_catalog_dir,
    default_catalog_dirs,
    load_catalog,
    user_catalog_dir,
)
from mcp_registry_server.catalog.search import SearchHit, SearchIndex, closest_ids, tokenize

__all__ = [
    "CATALOG_PATH_ENV",
    "Catalog",
    "CatalogEntry",
    "CatalogWarning",
    "EnvVar",
    "KnownTool",
    "OAuthProvider",
    "Package",
    "Parameter",
    "Provenance",
    "RemoteServer",
    "SearchHit",
    "SearchIndex",
    "SecretVar",
    "ToolFilter",
    "Volume",
    "bundled_catalog_dir",
    "closest_ids",
    "default_catalog_dirs",
    "load_catalog",
    "search",
    "tokenize",
    "user_catalog_dir",
]
