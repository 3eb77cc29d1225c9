"""The config dir on disk: reading, writing, moving aside, locking: config/storage.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mcp_registry_server.config import MAX_FILE_BYTES
from mcp_registry_server.config.documents import ConfigDocument, SecretsDocument
from mcp_registry_server.config.storage import (
    LOCK_FILE,
    SECRETS_FILE,
    StoredFile,
    locked,
    loose_mode,
    move_aside,
    read_document,
    write_document,
)
from tests.config.support import POSIX_ONLY, mode, parse


def test_a_missing_file_is_an_empty_document(tmp_path: Path) -> None:
    stored = read_document(tmp_path / "config.toml", ConfigDocument)
    assert stored.document == ConfigDocument() and stored.problem is None


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"[entries.github\nLOG_LEVEL = ", "is not valid TOML ("),
        (b'x = "\xff\xfe"', "is not UTF-8 text"),
        (b"entries = 3\n", "has 'entries' that is not a table"),
        (b"x" * (MAX_FILE_BYTES + 1), "is larger than 16 MiB"),
    ],
    ids=["toml", "utf-8", "shape", "size"],
)
def test_a_bad_file_is_an_empty_document_and_a_problem(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "secrets.toml"
    path.write_bytes(content)
    stored = read_document(path, SecretsDocument)
    assert stored.document == SecretsDocument()
    assert stored.problem is not None and stored.problem.startswith(problem)


@POSIX_ONLY
def test_a_fifo_is_reported_not_waited_on(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "config.toml")  # no writer: a plain read would block forever
    assert read_document(tmp_path / "config.toml", ConfigDocument).problem == "could not be read (not a regular file)"


@POSIX_ONLY
def test_write_document_is_0600_and_parses_back(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    document = ConfigDocument.model_validate({"note": "n", "entries": {"a": {"env": {"X": "1"}}}})
    write_document(StoredFile(path, document))
    assert mode(path) == 0o600
    assert parse(path) == {"note": "n", "entries": {"a": {"env": {"X": "1"}}}}


@POSIX_ONLY
def test_move_aside_keeps_both_copies_and_a_secrets_copy_private(tmp_path: Path) -> None:
    path = tmp_path / SECRETS_FILE
    moved = []
    for content in (b"one", b"two"):
        path.write_bytes(content)
        path.chmod(0o644)
        moved.append(move_aside(path))
    assert [copy.read_bytes() for copy in moved] == [b"one", b"two"]
    assert all(copy.name.startswith(f"{SECRETS_FILE}.corrupt-") and mode(copy) == 0o600 for copy in moved)
    assert not path.exists()


@POSIX_ONLY
def test_loose_mode_is_reported_only_when_others_may_access(tmp_path: Path) -> None:
    path = tmp_path / SECRETS_FILE
    path.write_text("")
    path.chmod(0o640)
    assert loose_mode(path) == 0o640
    path.chmod(0o600)
    assert loose_mode(path) is None
    assert loose_mode(tmp_path / "missing") is None


@POSIX_ONLY
@pytest.mark.usefixtures("umask_002")
def test_a_writer_creates_the_dir_0700_and_the_lock_0600(config_dir: Path) -> None:
    with locked(config_dir, exclusive=True):
        assert mode(config_dir) == 0o700
        assert mode(config_dir / LOCK_FILE) == 0o600


def test_a_reader_creates_nothing(config_dir: Path) -> None:
    with locked(config_dir, exclusive=False):
        pass
    assert not config_dir.exists()


@POSIX_ONLY
def test_an_existing_config_dir_keeps_its_mode(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    with locked(tmp_path, exclusive=True):
        pass
    assert mode(tmp_path) == 0o755
