"""`registry.remote_records` and `mcp-registry ps`'s reading of them: a registry's remote mounts are
recorded without secrets, the record goes with the last of them, and `ps` lists those of live
registries only."""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path

from mcp_registry_server.cli.container_commands import _remote_mounts
from mcp_registry_server.registry.remote_records import RemoteRecord, read_remote_records

ROW = {"prefix": "far", "entry": "far", "url": "https://mcp.example.test/mcp", "transport": "sse", "state": "running"}


def test_a_record_is_private_listed_while_its_registry_lives_and_goes_with_its_last_mount(tmp_path: Path) -> None:
    record = RemoteRecord(tmp_path, "abc123", socket.gethostname())
    record.publish([ROW])
    assert stat.S_IMODE(record.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(record.path.parent.stat().st_mode) == 0o700
    (listed,) = _remote_mounts(tmp_path)
    assert (listed["url"], listed["entry"], listed["instance"], listed["registry_alive"]) == (
        ROW["url"],
        "far",
        "abc123",
        True,
    )
    assert listed["registry"] == f"pid {os.getpid()} alive"
    record.publish([])
    assert not record.path.exists() and _remote_mounts(tmp_path) == []


def test_the_records_of_registries_that_are_gone_are_not_listed(tmp_path: Path) -> None:
    directory = tmp_path / "remotes"
    directory.mkdir(mode=0o700)
    dead = {"instance": "dead", "owner": f"{socket.gethostname()}:999999999:1", "mounts": [ROW]}
    (directory / "dead.json").write_text(json.dumps(dead))
    (directory / "broken.json").write_text("{not json")
    assert [r["instance"] for r in read_remote_records(tmp_path)] == ["dead"]
    assert _remote_mounts(tmp_path) == []
