"""The shared file helpers: atomic replace, backup names, safe reads (mcp_registry_server/files.py)."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mcp_registry_server.files import (
    ensure_private_dir,
    private_dir_problem,
    read_regular_file,
    timestamped_sibling,
    write_atomic,
)

POSIX_ONLY = pytest.mark.skipif(os.name != "posix", reason="file modes and FIFOs are POSIX")
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_atomic_replaces_the_file_and_leaves_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(b"old")
    write_atomic(path, b"new")
    assert path.read_bytes() == b"new"
    assert [entry.name for entry in tmp_path.iterdir()] == ["settings.json"]


@POSIX_ONLY
@pytest.mark.usefixtures("umask_002")
@pytest.mark.parametrize("wanted", [0o600, 0o644, 0o640])
def test_write_atomic_sets_exactly_the_mode_asked_for(tmp_path: Path, wanted: int) -> None:
    path = tmp_path / "file"
    write_atomic(path, b"x", mode=wanted, durable=False)
    assert mode(path) == wanted


def test_a_failed_replace_keeps_the_old_file_and_removes_the_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "file"
    path.write_bytes(b"old")

    def crash(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(path, b"new")
    monkeypatch.undo()
    assert path.read_bytes() == b"old"
    assert [entry.name for entry in tmp_path.iterdir()] == ["file"]


@POSIX_ONLY  # the dangling link
def test_timestamped_sibling_counts_up_while_the_name_is_taken(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    first = timestamped_sibling(path, ".corrupt-", NOW)
    assert first == tmp_path / "config.toml.corrupt-20260102T030405Z"
    first.write_text("")
    second = timestamped_sibling(path, ".corrupt-", NOW)
    assert second == tmp_path / "config.toml.corrupt-20260102T030405Z-1"
    second.symlink_to(tmp_path / "nowhere")  # a dangling link still takes the name
    assert timestamped_sibling(path, ".corrupt-", NOW).name.endswith("Z-2")


def test_read_regular_file_reads_one_byte_past_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "big"
    path.write_bytes(b"x" * 100)
    assert read_regular_file(path, 10) == b"x" * 11
    assert read_regular_file(path, 1000) == b"x" * 100


@POSIX_ONLY
def test_read_regular_file_does_not_wait_on_a_fifo_or_read_a_directory(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")  # no writer: a plain read would block forever
    assert read_regular_file(tmp_path / "fifo", 10) is None
    assert read_regular_file(tmp_path, 10) is None


def test_ensure_private_dir_creates_0700_and_refuses_a_symlink(tmp_path: Path) -> None:
    created = ensure_private_dir(tmp_path / "a" / "run")
    assert stat.S_IMODE(created.stat().st_mode) == 0o700
    (tmp_path / "link").symlink_to(created)
    with pytest.raises(PermissionError, match="not a directory"):
        ensure_private_dir(tmp_path / "link")
    assert private_dir_problem(created) is None
