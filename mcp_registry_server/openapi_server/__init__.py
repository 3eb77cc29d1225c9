"""How an openapi entry runs: the registry's OpenAPI server (`server.py`) in the OpenAPI runtime image.

Contract: `runtime_entry(entry, image)` gives the entry as it is started: the runtime `image`, the
command that starts `server.py` and its arguments (the spec's path in the container and the entry's
`[openapi]` table as JSON, which names secrets but holds no value); `missing_document(entry)` says
when the stored document is gone. `runtime_mounts(entry)` gives
the two read-only mounts that `podman.command` adds for it: this package's `server.py` and the
entry's stored document. These are the registry's own files, so they need no consent the way a
user volume does.

The runtime image is the setting `MCP_REGISTRY_OPENAPI_IMAGE` for now, an image holding Python and
`RUNTIME_REQUIREMENT`. Once package entries build images, `runtime_entry` is the one place to switch:
it would name `Package(registry="pypi", name="fastmcp", version=...)` instead of an image.
"""

from __future__ import annotations

import json
from pathlib import Path

from mcp_registry_server.catalog.entry import CatalogEntry

__all__ = [
    "CONTAINER_DIR",
    "RUNTIME_REQUIREMENT",
    "SERVER_SCRIPT",
    "missing_document",
    "runtime_entry",
    "runtime_mounts",
]

SERVER_SCRIPT = Path(__file__).resolve().with_name("server.py")
# The FastMCP release server.py is written and tested against (the test-bed runtime image pins it too).
RUNTIME_REQUIREMENT = "fastmcp==4.2.3"
CONTAINER_DIR = "/opt/mcp-registry-openapi"
_SCRIPT_TARGET = f"{CONTAINER_DIR}/server.py"
_SPEC_TARGET = f"{CONTAINER_DIR}/openapi.json"


def runtime_entry(entry: CatalogEntry, image: str) -> CatalogEntry:
    """`entry` (an openapi entry) as it runs in `image`; other entries are returned unchanged."""
    if entry.openapi is None:
        return entry
    config = entry.openapi.model_dump(mode="json", exclude={"spec"}, exclude_none=True)
    # model_copy skips validation on purpose: the entry validator keeps image, command and args for
    # the runtime to set, and these values are the runtime's, not the catalog's.
    return entry.model_copy(
        update={
            "image": image,
            "command": ["python3", _SCRIPT_TARGET],
            "args": [_SPEC_TARGET, json.dumps(config, separators=(",", ":"), sort_keys=True)],
        }
    )


def missing_document(entry: CatalogEntry) -> str | None:
    """Why `entry` cannot start because its stored document is gone, or None (podman would fail to mount it)."""
    if entry.openapi is None or Path(entry.openapi.spec).is_file():
        return None
    return (
        f"{entry.id}'s OpenAPI document {entry.openapi.spec} is missing, so it cannot start. Import it again: "
        f"mcp-registry catalog import openapi SPEC --name {entry.id}"
    )


def runtime_mounts(entry: CatalogEntry) -> list[tuple[str, str]]:
    """(host path, container path) pairs to mount read-only for `entry`; none unless it is an openapi entry."""
    if entry.openapi is None:
        return []
    return [(str(SERVER_SCRIPT), _SCRIPT_TARGET), (entry.openapi.spec, _SPEC_TARGET)]
