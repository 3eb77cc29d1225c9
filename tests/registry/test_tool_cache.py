"""Tests for mcp_registry_server.tool_cache."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from mcp_registry_server.registry.tool_cache import ToolCache

TOOLS = [{"name": "echo", "inputSchema": {"type": "object"}}]


def key(**changes: Any) -> str:
    material: dict[str, Any] = {
        "image_digest": "sha256:abc",
        "entry": {"id": "x", "args": []},
        "values": {"TOKEN": "s3cret"},
        "volumes": {},
        "capabilities": {},
    }
    material.update(changes)
    return ToolCache.key(**material)


def test_key_is_stable_and_changes_with_everything_it_names() -> None:
    assert key() == key()
    # The key is canonical JSON: the order in which a mapping was built must not matter.
    assert key(values={"A": "1", "TOKEN": "s3cret"}) == key(values={"TOKEN": "s3cret", "A": "1"})
    assert key(entry={"args": [], "id": "x"}) == key()
    for change in (
        {"image_digest": "sha256:def"},
        {"entry": {"id": "x", "args": ["--flag"]}},
        {"values": {"TOKEN": "other"}},
        {"volumes": {"data": "/srv"}},
        {"capabilities": {"roots": {}}},
    ):
        assert key(**change) != key(), change


def test_put_then_get_and_no_secret_on_disk(tmp_path: Path) -> None:
    cache = ToolCache(tmp_path / "tools")
    assert cache.get(key()) is None
    cache.put(key(), TOOLS)
    assert cache.get(key()) == TOOLS
    stored = b"".join(path.read_bytes() for path in (tmp_path / "tools").iterdir())
    assert b"s3cret" not in stored
    assert [path.name for path in (tmp_path / "tools").iterdir()] == [f"{key()}.json"]


def test_unreadable_or_malformed_entries_are_misses(tmp_path: Path) -> None:
    cache = ToolCache(tmp_path)
    for content in (b"not json", b'{"tools": "nope"}', b'{"tools": [1]}', b"[]"):
        (tmp_path / f"{key()}.json").write_bytes(content)
        assert cache.get(key()) is None


def test_put_into_an_unwritable_place_only_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with caplog.at_level(logging.WARNING):
        ToolCache(blocker / "tools").put(key(), TOOLS)  # a file where the directory should be: must not raise
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith(f"could not store the tool list in {blocker / 'tools'}: ")
    assert blocker.read_text() == ""  # the file in the way is left alone
