"""Which remote servers each running registry is connected to, for `mcp-registry ps`.

A remote mount has no container for `podman ps` to list, so each registry keeps a record of its
remote mounts in `<runtime dir>/remotes/<instance id>.json` (0600, in a 0700 dir), rewritten when
one is added, ends, reconnects or is removed, and deleted when the last goes. The record holds the
owner label (the same `host:pid:start` containers carry, see `podman.ownership`) and, per mount:
prefix, entry, the URL without credentials or query, transport, state, and when it connected.
Never a header or a secret. Writing never raises (a record that cannot be written only hides the
mount from `ps`, with one warning); `read_remote_records` skips files it cannot read.
"""

from __future__ import annotations

import contextlib
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mcp_registry_server.files import ensure_private_dir, read_regular_file, write_atomic
from mcp_registry_server.podman.ownership import own_owner_label

__all__ = ["RemoteRecord", "read_remote_records", "utc_stamp"]

logger = logging.getLogger(__name__)

_MAX_RECORD_BYTES = 1024 * 1024


def _records_dir(runtime_dir: Path) -> Path:
    return runtime_dir / "remotes"


class RemoteRecord:
    """This registry's record of its remote mounts. See the module docstring."""

    def __init__(self, runtime_dir: Path, instance_id: str, hostname: str) -> None:
        self.path = _records_dir(runtime_dir) / f"{instance_id}.json"
        self._instance_id = instance_id
        self._hostname = hostname
        self._warned = False

    def publish(self, mounts: list[dict[str, Any]]) -> None:
        """Replace the record with `mounts` (no file when there are none)."""
        try:
            if not mounts:
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()
                return
            ensure_private_dir(self.path.parent)
            record = {"instance": self._instance_id, "owner": own_owner_label(self._hostname), "mounts": mounts}
            write_atomic(self.path, json.dumps(record, indent=1).encode(), durable=False)
        except OSError as error:
            if not self._warned:
                self._warned = True
                logger.warning(
                    "could not write %s, so `mcp-registry ps` will not list remote servers: %s", self.path, error
                )


def utc_stamp(timestamp: float) -> str:
    """`timestamp` (seconds since the epoch) as RFC 3339 UTC, as records hold it."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def read_remote_records(runtime_dir: Path) -> list[dict[str, Any]]:
    """Every registry's record (`instance`, `owner`, `mounts`), whether its owner lives or not."""
    records = []
    directory = _records_dir(runtime_dir)
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        try:
            data = read_regular_file(path, _MAX_RECORD_BYTES)
            record = json.loads(data) if data is not None else None
        except (OSError, ValueError):
            record = None  # gone meanwhile, or being replaced: the next `ps` sees it
        if isinstance(record, dict) and isinstance(record.get("mounts"), list):
            records.append({**record, "path": str(path)})
    return records
