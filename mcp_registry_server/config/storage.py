"""The config dir on disk: reading and writing its two TOML files, its lock, and its permissions.

Contract:
- `read_document(path, model)` never raises for a bad file: a missing file is an empty document; one
  that cannot be read, is not a regular file, is over MAX_FILE_BYTES, is not UTF-8 TOML or does not
  have the shape `model` describes comes back empty with `problem` saying why (worded to follow the
  file's path).
- `write_document` replaces a file atomically at 0600 (`files.write_atomic`); `move_aside` renames a
  broken file to `<name>.corrupt-<UTC time>` first, so nothing is lost, and keeps a secrets copy 0600.
- `locked(config_dir, exclusive=True)` creates the dir 0700 if needed and holds an exclusive `flock`
  on `<config_dir>/.lock`; readers take a shared lock, and only if the dir exists. Off POSIX there is
  no cross-process lock.
"""

from __future__ import annotations

import contextlib
import os
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import tomli_w
from pydantic import ValidationError

from mcp_registry_server.config.documents import ConfigDocument, SecretsDocument, shape_problem
from mcp_registry_server.files import read_regular_file, timestamped_sibling, write_atomic

try:
    import fcntl
except ImportError:  # not POSIX: no cross-process lock
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "CONFIG_FILE",
    "CORRUPT_MARK",
    "LOCK_FILE",
    "MAX_FILE_BYTES",
    "SECRETS_FILE",
    "StoredFile",
    "locked",
    "loose_mode",
    "move_aside",
    "read_document",
    "write_document",
]

CONFIG_FILE = "config.toml"
SECRETS_FILE = "secrets.toml"
LOCK_FILE = ".lock"
CORRUPT_MARK = ".corrupt-"
MAX_FILE_BYTES = 16 * 1024 * 1024

DocumentT = TypeVar("DocumentT", ConfigDocument, SecretsDocument)


@dataclass
class StoredFile(Generic[DocumentT]):
    """One of the two files as read: its document (empty if missing or broken) and what was wrong."""

    path: Path
    document: DocumentT
    problem: str | None = None


def read_document(path: Path, model: type[DocumentT]) -> StoredFile[DocumentT]:
    """`path` parsed and validated as `model`; see the module docstring for what a bad file gives."""
    try:
        raw = read_regular_file(path, MAX_FILE_BYTES)
    except FileNotFoundError:
        return StoredFile(path, model())
    except OSError as exc:
        return StoredFile(path, model(), f"could not be read ({exc.strerror or exc})")
    if raw is None:
        return StoredFile(path, model(), "could not be read (not a regular file)")
    if len(raw) > MAX_FILE_BYTES:
        return StoredFile(path, model(), f"is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    try:
        parsed = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return StoredFile(path, model(), "is not UTF-8 text")
    except tomllib.TOMLDecodeError as exc:
        return StoredFile(path, model(), f"is not valid TOML ({exc})")
    try:
        return StoredFile(path, model.model_validate(parsed))
    except ValidationError as exc:
        return StoredFile(path, model(), shape_problem(exc, model))


def write_document(stored: StoredFile[DocumentT]) -> None:
    """Replace the file with its document, atomically and 0600 (config.toml too: it may name hosts)."""
    write_atomic(stored.path, tomli_w.dumps(stored.document.to_toml()).encode("utf-8"), mode=0o600)


def move_aside(path: Path) -> Path:
    """Rename a broken file to a free `<name>.corrupt-<UTC time>`; call under the lock."""
    destination = timestamped_sibling(path, CORRUPT_MARK)
    os.rename(path, destination)
    if path.name == SECRETS_FILE and loose_mode(destination) is not None:
        os.chmod(destination, 0o600)
    return destination


def loose_mode(path: Path) -> int | None:
    """The file's mode if group or others may access it (POSIX only), else None."""
    if os.name != "posix":
        return None
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        return None
    return mode if mode & 0o077 else None


@contextlib.contextmanager
def locked(config_dir: Path, *, exclusive: bool) -> Iterator[None]:
    """Exclusive flock for writers (creating the dir); shared for readers, and only if the dir exists."""
    if exclusive:
        _ensure_private_dir(config_dir)
    if fcntl is None or not config_dir.is_dir():
        yield
        return
    try:
        fd = os.open(config_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        if exclusive:
            raise
        yield  # a read-only config dir can still be read
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # releases the lock


def _ensure_private_dir(config_dir: Path) -> None:
    if config_dir.is_dir():
        return  # an existing dir keeps the mode its owner gave it
    config_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.mkdir(config_dir, 0o700)
    except FileExistsError:
        return
    os.chmod(config_dir, 0o700)  # mkdir's mode is filtered by the umask
