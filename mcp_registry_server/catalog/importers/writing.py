"""An entry as TOML text, in the shape `catalog.loader` reads back: for importers and the catalog generator.

Contract: `entry_toml(entry, header)` gives deterministic text (the model's field order, defaults left
out, `header` lines as `#` comments first), so the same entry always gives the same bytes and
`load_catalog` reads back an equal entry.
"""

from __future__ import annotations

from collections.abc import Iterable

import tomli_w

from mcp_registry_server.catalog.entry import CatalogEntry

__all__ = ["entry_toml"]


def entry_toml(entry: CatalogEntry, header: Iterable[str] = ()) -> str:
    data = entry.model_dump(mode="json", exclude_defaults=True)
    comments = "".join(f"# {line}\n" if line else "#\n" for line in header)
    return comments + tomli_w.dumps(data, multiline_strings=False)
