"""Per-container log files of what each MCP server writes to stderr: where they live, writing, reading.

The registry runs containers with `--log-driver=none` (tool results may hold secrets, and conmon
would copy them to disk), so `podman logs` has nothing. Instead the registry appends each stderr
line of a server to `<state dir>/logs/<container name>.log` with a `ContainerLogWriter`, and
`mcp-registry logs` reads the files back.

Contract:
- `default_log_dir()` is `platformdirs.user_state_dir("mcp-registry")/logs` (on Linux
  `$XDG_STATE_HOME/mcp-registry/logs`, else `~/.local/state/mcp-registry/logs`). The directory is
  created 0700 and every file 0600: stderr may hold anything a server prints.
- One line per stderr line: `<UTC time, RFC 3339 with milliseconds> <text>\\n`; text longer than
  `MAX_LINE_CHARS` is cut and marked. A file that reaches `MAX_LOG_BYTES` is renamed to
  `<name>.log.1` (replacing the older one) and a new file is started, so one server keeps at most
  twice that on disk. Opening a writer also deletes logs not written for `KEEP_DAYS` days and all
  but the newest `KEEP_FILES`.
- The writer never raises: a log that cannot be written is switched off with one warning, because
  serving the editor matters more than logging. Its `write_line` is a plain function, so it fits
  `MCPClient`'s `on_stderr_line` hook directly; each line is flushed, so `logs -f` sees it at once.
- Readers (`find_logs`, `tail_lines`, `follow`) only read, and treat a missing file as empty.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

__all__ = [
    "KEEP_DAYS",
    "KEEP_FILES",
    "MAX_LOG_BYTES",
    "ContainerLogWriter",
    "LogFile",
    "RotatingFile",
    "default_log_dir",
    "ensure_log_dir",
    "find_logs",
    "follow",
    "log_path",
    "tail_lines",
]

logger = logging.getLogger(__name__)

APP_NAME = "mcp-registry"
MAX_LOG_BYTES = 4 * 1024 * 1024
MAX_LINE_CHARS = 16 * 1024
KEEP_DAYS = 7
KEEP_FILES = 50
# `podman.command.container_name`: mcp-registry-<prefix>-<8 hex>.
_CONTAINER_NAME = re.compile(r"mcp-registry-(?P<prefix>[A-Za-z0-9][A-Za-z0-9_.-]*)-(?P<token>[0-9a-f]{8})")
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,200}")


def default_log_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_state_dir(APP_NAME)) / "logs"


def log_path(log_dir: Path, container_name: str) -> Path:
    """The log file of `container_name`; ValueError for a name that could escape the directory."""
    if not _SAFE_NAME.fullmatch(container_name) or container_name in {".", ".."}:
        raise ValueError(f"{container_name!r} is not a container name")
    return log_dir / f"{container_name}.log"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ensure_log_dir(directory: Path) -> None:
    """Create `directory` at 0700 (and tighten it to 0700 if it exists wider)."""
    if not directory.is_dir():
        directory.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.mkdir(directory, 0o700)
    if os.name == "posix" and directory.stat().st_mode & 0o077:
        os.chmod(directory, 0o700)


def _prune(directory: Path, keep: Path, now: float) -> None:
    files = [path for path in directory.glob("*.log*") if path.is_file() and path != keep]
    files.sort(key=lambda path: path.stat().st_mtime, reverse=True)
    for index, path in enumerate(files):
        if index >= KEEP_FILES or now - path.stat().st_mtime > KEEP_DAYS * 86_400:
            with contextlib.suppress(OSError):
                path.unlink()


class RotatingFile:
    """An append-only 0600 file that is rotated by size: `<name>.1` … `<name>.<keep>`, oldest last.

    Never raises: `write` returns False once the file could not be written, and stays off. Each
    write is flushed, so readers (`logs -f`, an auditor's `tail -f`) see it at once.
    """

    def __init__(self, path: Path, *, max_bytes: int = MAX_LOG_BYTES, keep: int = 1) -> None:
        self.path = path
        self.error: OSError | None = None
        self._max_bytes = max_bytes
        self._keep = keep
        self._file: IO[bytes] | None = None
        self._size = 0

    def write(self, data: bytes) -> bool:
        if self.error is not None:
            return False
        try:
            if self._file is None:
                self._file = self._open_file()
            if self._size and self._size + len(data) > self._max_bytes:
                self._file.close()
                self._rotate()
                self._file = self._open_file()
            self._file.write(data)
            self._file.flush()
            self._size += len(data)
        except OSError as error:
            self.error = error
            self.close()
            return False
        return True

    def _rotate(self) -> None:
        for index in range(self._keep, 1, -1):
            older = self.path.with_name(f"{self.path.name}.{index - 1}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{index}"))
        os.replace(self.path, self.path.with_name(self.path.name + ".1"))

    def _open_file(self) -> IO[bytes]:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
        fd = os.open(self.path, flags, 0o600)
        handle = os.fdopen(fd, "ab")
        self._size = os.fstat(fd).st_size
        return handle

    def close(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None


class ContainerLogWriter:
    """Appends one container's stderr lines to its log file. See the module contract."""

    def __init__(self, path: Path, *, max_bytes: int = MAX_LOG_BYTES, clock: Callable[[], str] = _now) -> None:
        self.path = path
        self._clock = clock
        self._file = RotatingFile(path, max_bytes=max_bytes)
        self._failed = False

    @classmethod
    def open(cls, container_name: str, log_dir: Path | None = None) -> ContainerLogWriter:
        """A writer for `container_name` in `log_dir` (default: `default_log_dir()`); never raises."""
        directory = log_dir or default_log_dir()
        try:
            writer = cls(log_path(directory, container_name))
            ensure_log_dir(directory)
            _prune(directory, writer.path, time.time())
        except (OSError, ValueError) as error:
            writer = cls(directory / "unusable.log")
            writer._fail(error)
        return writer

    def _fail(self, error: BaseException) -> None:
        if not self._failed:
            logger.warning("Not logging stderr to %s any more: %s", self.path, error)
        self._failed = True
        self.close()

    def write_line(self, line: str) -> None:
        if self._failed:
            return
        if len(line) > MAX_LINE_CHARS:
            line = line[:MAX_LINE_CHARS] + f" … [{len(line) - MAX_LINE_CHARS} more characters cut]"
        if not self._file.write(f"{self._clock()} {line}\n".encode("utf-8", errors="replace")):
            assert self._file.error is not None
            self._fail(self._file.error)

    def close(self) -> None:
        self._file.close()


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogFile:
    container: str
    prefix: str | None
    path: Path
    size: int
    modified: float


def _log_file(path: Path) -> LogFile | None:
    container = path.name.removesuffix(".log")
    try:
        stat = path.stat()
    except OSError:
        return None
    match = _CONTAINER_NAME.fullmatch(container)
    rotated = path.with_name(path.name + ".1")
    size = stat.st_size + (rotated.stat().st_size if rotated.is_file() else 0)
    return LogFile(container, match["prefix"] if match else None, path, size, stat.st_mtime)


def find_logs(log_dir: Path, selector: str | None = None) -> list[LogFile]:
    """Logs whose container is `selector` or whose prefix is `selector` (all when None), newest first."""
    if not log_dir.is_dir():
        return []
    found = [log for path in log_dir.glob("*.log") if (log := _log_file(path)) is not None]
    if selector is not None:
        found = [log for log in found if selector in {log.container, log.prefix}]
    return sorted(found, key=lambda log: log.modified, reverse=True)


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []


def tail_lines(path: Path, count: int | None) -> list[str]:
    """The last `count` lines of the log (all when None), including its rotated part."""
    lines = _read_lines(path)
    if count is None or len(lines) < count:
        lines = _read_lines(path.with_name(path.name + ".1")) + lines
    if count is None:
        return lines
    return list(deque(lines, maxlen=count)) if count > 0 else []


def follow(path: Path, *, poll_interval: float = 0.25, stop: Callable[[], bool] = lambda: False) -> Iterator[str]:
    """Lines appended to the log from now on, across rotations, until `stop()` is true."""
    identity = _identity(path)
    position = path.stat().st_size if identity is not None else 0
    pending = b""
    while not stop():
        chunk = b""
        try:
            with path.open("rb") as handle:
                status = os.fstat(handle.fileno())
                if (status.st_dev, status.st_ino) != identity:
                    # Rotated: finish the old file (now `.1`) from where we were, then read the new one.
                    rotated = path.with_name(path.name + ".1")
                    if identity is not None and _identity(rotated) == identity:
                        with rotated.open("rb") as old:
                            old.seek(position)
                            chunk = old.read()
                    identity, position = (status.st_dev, status.st_ino), 0
                elif status.st_size < position:  # truncated
                    position = 0
                handle.seek(position)
                fresh = handle.read()
        except FileNotFoundError:
            fresh = b""
        position += len(fresh)
        pending += chunk + fresh
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line.decode("utf-8", errors="replace")
        if not chunk and not fresh:
            time.sleep(poll_interval)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino
