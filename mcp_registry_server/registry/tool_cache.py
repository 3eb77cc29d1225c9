"""Tool lists of servers the registry has started before, so activating one again is instant.

Contract: `ToolCache(directory)` stores one small JSON file per key. `ToolCache.key(...)` names
what a server's tool list can depend on: the image (by content digest, so a new image is a new
key), the catalog entry as loaded (command, args, declared env, resources), the resolved
configuration (env and secret values, enabled volumes) and the capabilities the child is told
about. Values only enter the key through SHA-256, so no secret is written to disk. `get` returns
the stored list or None: a missing, unreadable or malformed file is a miss, never an error. `put`
writes atomically (temp file, then rename) and only logs when it cannot.

A hit is a promise, not a proof: the registry shows the cached tools at once and compares them with
the live list when the server answers, and `put` replaces an entry that turned out stale.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mcp_registry_server.files import write_atomic

__all__ = ["ToolCache"]

logger = logging.getLogger(__name__)

# Part of every key: bump it when the stored format or the meaning of a key changes.
_FORMAT = 1


class ToolCache:
    """Tool lists on disk, keyed by `ToolCache.key`. See the module docstring."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @staticmethod
    def key(
        *,
        image_digest: str,
        entry: Mapping[str, Any],
        values: Mapping[str, str],
        volumes: Mapping[str, str],
        capabilities: Mapping[str, Any],
    ) -> str:
        """A hex digest of everything the tool list may depend on."""
        material = {
            "format": _FORMAT,
            "image": image_digest,
            "entry": entry,
            "values": dict(values),
            "volumes": dict(volumes),
            "capabilities": capabilities,
        }
        canonical = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def get(self, key: str) -> list[dict[str, Any]] | None:
        try:
            stored = json.loads(self._path(key).read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            logger.info("ignoring unreadable tool cache entry %s: %s", key, error)
            return None
        tools = stored.get("tools") if isinstance(stored, dict) else None
        if not isinstance(tools, list) or not all(isinstance(tool, dict) for tool in tools):
            return None
        return tools

    def put(self, key: str, tools: list[dict[str, Any]]) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            data = json.dumps({"tools": tools}, separators=(",", ":"), ensure_ascii=False).encode()
            write_atomic(self._path(key), data, durable=False)  # a cache: a lost write is only a miss
        except (OSError, TypeError, ValueError) as error:
            logger.warning("could not store the tool list in %s: %s", self.directory, error)
