"""Which process owns a container, and whether that process still lives.

Contract: an owner is `<hostname>:<pid>:<start token>`. The start token tells a live owner from a
new process that happens to have the same pid: on Linux it is field 22 of `/proc/<pid>/stat` (start
time in clock ticks since boot), elsewhere the output of `ps -o lstart= -p PID`. An owner counts as
dead only when we can show it: the pid does not exist, or its start token differs. Anything we
cannot read (no permission, `ps` missing, a malformed label) counts as alive, because removing a
live instance's container is worse than leaving an orphan.

These functions block (they read /proc or run `ps`); call them from a worker thread in async code.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = ["Owner", "own_owner_label", "owner_is_alive", "process_start_token"]

_PS_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class Owner:
    host: str
    pid: int
    start_token: str

    @property
    def label(self) -> str:
        return f"{self.host}:{self.pid}:{self.start_token}"

    @classmethod
    def parse(cls, label: str) -> Owner | None:
        """The owner named by a label value, or None when it is not one of ours."""
        host, sep1, rest = label.partition(":")
        pid, sep2, token = rest.partition(":")
        if not (sep1 and sep2 and host and token and pid.isdigit() and int(pid) > 0):
            return None
        return cls(host=host, pid=int(pid), start_token=token)


def process_start_token(pid: int) -> str | None:
    """A token that changes when `pid` is reused; None when no such process exists."""
    if sys.platform.startswith("linux"):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return None
        except OSError:
            return "unreadable"
        # Field 2 (comm) is in parentheses and may contain spaces and ')'; count from the last ')'.
        fields_after_comm = stat.rpartition(")")[2].split()
        # fields_after_comm[0] is field 3, so field 22 is at index 19.
        return fields_after_comm[19] if len(fields_after_comm) > 19 else "unreadable"
    try:
        completed = subprocess.run(
            ["ps", "-o", "lstart=", "-p", str(pid)],
            capture_output=True,
            text=True,
            timeout=_PS_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unreadable"
    token = "_".join(completed.stdout.split())
    if completed.returncode != 0 and not token:
        return None
    return token or "unreadable"


def owner_is_alive(owner: Owner) -> bool:
    """Whether `owner` (a process on this host) still runs; see the module contract."""
    try:
        os.kill(owner.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # It exists, under another user.
    except OSError:
        return True
    token = process_start_token(owner.pid)
    if token is None:
        return False
    if token == "unreadable":
        return True
    return token == owner.start_token


def own_owner_label(hostname: str) -> str:
    """The owner label of this process."""
    return _owner_label(hostname, os.getpid())


@cache  # A process's start time never changes; keyed by pid so a forked child gets its own.
def _owner_label(hostname: str, pid: int) -> str:
    return Owner(host=hostname, pid=pid, start_token=process_start_token(pid) or "unreadable").label
