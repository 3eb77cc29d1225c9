"""Small file-system helpers the rest of the package shares: atomic replace, backup names, safe reads.

A leaf: it imports only the standard library.

Contract:
- `write_atomic(path, data, mode=..., durable=...)` writes `data` to a temp file in `path`'s own
  directory (created exclusively, not following a symlink, at 0600 so it is never readable by others
  while it is written), sets exactly `mode` on it (the umask does not apply), then `os.replace`s it
  over `path`. Readers see the old file or the new one, never part of one. With `durable` the data
  is fsynced before the rename and the directory after it (where the platform allows), so the new
  file survives a crash. On any failure the temp file is removed and the error is raised; `path`
  keeps its previous contents.
- `timestamped_sibling(path, mark)` names a free sibling `<name><mark><UTC time>`, with `-1`, `-2`…
  appended while that name is taken. It only picks the name; the caller creates the file, and should
  do so under a lock if other writers may pick at the same moment.
- `ensure_private_dir(path)` creates `path` (and its parents) at 0700 and returns it, or raises
  `PermissionError` saying why when it is not a directory of ours alone: owned by another user, or
  readable, writable or searchable by group or others. A shared temp dir lets anyone create our
  name first, so a dir we did not make must never be trusted with sockets or logs.
  `private_dir_problem(path)` is the same check for a dir that exists, as a message (None: fine).
- `read_regular_file(path, limit)` reads at most `limit + 1` bytes, so a caller can tell "too big"
  without reading it all, and returns None for anything but a regular file (a FIFO would block).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["ensure_private_dir", "private_dir_problem", "read_regular_file", "timestamped_sibling", "write_atomic"]

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"


def ensure_private_dir(path: Path) -> Path:
    """Create `path` at 0700 if needed and check it is ours alone; see the module docstring."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if problem := private_dir_problem(path):
        raise PermissionError(problem)
    return path


def private_dir_problem(path: Path) -> str | None:
    """Why the existing dir `path` is not ours alone (another owner, group/other bits), or None."""
    info = path.lstat()  # lstat: a symlink someone planted under our name is not our dir
    if not stat.S_ISDIR(info.st_mode):
        return f"{path} is not a directory (a symlink or file took its name); remove it"
    uid = os.getuid() if hasattr(os, "getuid") else info.st_uid
    if info.st_uid != uid:
        return f"{path} belongs to uid {info.st_uid}, not to you (uid {uid}); remove it or use another dir"
    if wide := stat.S_IMODE(info.st_mode) & 0o077:
        return (
            f"{path} has mode {stat.S_IMODE(info.st_mode):04o}, so other users can reach into it "
            f"(bits {wide:04o}); make it 0700 (`chmod 700 {path}`)"
        )
    return None


def write_atomic(path: Path, data: bytes, *, mode: int = 0o600, durable: bool = True) -> None:
    """Replace `path` with `data` in one rename; see the module docstring."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(temp, flags, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            # os.open's mode was filtered by the umask; the caller asked for exactly `mode`.
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), mode)
            if durable:
                os.fsync(handle.fileno())
        if not hasattr(os, "fchmod"):
            os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    if durable:
        _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; directories cannot be opened this way everywhere (Windows).
    with contextlib.suppress(OSError, AttributeError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def timestamped_sibling(path: Path, mark: str, now: datetime | None = None) -> Path:
    """A free name next to `path`: `<name><mark><UTC time>`, then `-1`, `-2`… while that is taken."""
    stamp = (now or datetime.now(UTC)).strftime(STAMP_FORMAT)
    candidate = path.with_name(f"{path.name}{mark}{stamp}")
    counter = 1
    while candidate.exists() or candidate.is_symlink():  # a dangling link is taken too
        candidate = path.with_name(f"{path.name}{mark}{stamp}-{counter}")
        counter += 1
    return candidate


def read_regular_file(path: Path, limit: int) -> bytes | None:
    """Up to `limit` + 1 bytes of `path`; None when it is not a regular file (after symlinks)."""
    # O_NONBLOCK: opening a FIFO that has no writer must not wait for one.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # checked before fdopen, which refuses a directory
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(limit + 1)
    finally:
        os.close(fd)
