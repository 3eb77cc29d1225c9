"""The files of a registry's private `podman system service`, and the sweep of those a dead registry left.

Contract: a registry instance's private service lives in the runtime dir as three files, all
named `podman-<instance id>.<suffix>`: `.sock` (the API socket), `.log` (the service's stderr) and
`.owner`, a JSON record `{"owner": "<host>:<pid>:<start token>", "service_pid": N}` of the
registry process (an `ownership.Owner` label) and, once started, the service's pid. The owner
record is written before the other two exist, so every socket and log of this version comes
with a record that says whose it is.

`sweep_dead_services(runtime_dir, hostname, own_instance)` removes what registries that are gone
left behind: for each record whose owner is on this host and provably dead (`owner_is_alive`), it
stops the service (SIGTERM, a bounded wait, SIGKILL) if the recorded pid still runs `podman system
service` on that very socket, then removes the three files. A live owner's files, another host's, a
malformed record, files without a record and a pid that now runs something else are left alone:
only what is provably ours and provably dead is touched. On Linux a service dies with its registry
anyway (a parent-death signal, see `service`), so the sweep mostly removes files; on macOS, which has
no parent-death signal, it is what stops a killed registry's service.

Everything here blocks (it reads /proc or runs `ps`, and waits for a process to stop): call it from
a worker thread in async code.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from mcp_registry_server.files import private_dir_problem, write_atomic
from mcp_registry_server.podman.ownership import Owner, owner_is_alive

__all__ = ["ServiceFiles", "sweep_dead_services"]

logger = logging.getLogger(__name__)

_PREFIX = "podman-"
_STOP_SECONDS = 5.0
_POLL_SECONDS = 0.05
_PS_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class ServiceFiles:
    """Where one registry instance keeps its private service's socket, log and owner record."""

    runtime_dir: Path
    instance_id: str

    @property
    def socket(self) -> Path:
        return self.runtime_dir / f"{_PREFIX}{self.instance_id}.sock"

    @property
    def log(self) -> Path:
        return self.runtime_dir / f"{_PREFIX}{self.instance_id}.log"

    @property
    def owner_record(self) -> Path:
        return self.runtime_dir / f"{_PREFIX}{self.instance_id}.owner"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def write_owner(self, owner_label: str, service_pid: int | None = None) -> None:
        record = {"owner": owner_label, "service_pid": service_pid}
        write_atomic(self.owner_record, json.dumps(record).encode() + b"\n", durable=False)

    def read_owner(self) -> tuple[Owner, int | None] | None:
        """The owner and service pid recorded, or None when the record is missing or not one of ours."""
        try:
            record = json.loads(self.owner_record.read_text(encoding="utf-8"))
            owner = Owner.parse(str(record["owner"]))
            pid = record.get("service_pid")
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None
        if owner is None or not (pid is None or (isinstance(pid, int) and pid > 0)):
            return None
        return owner, pid

    def remove(self) -> None:
        """Remove the socket, the log and, last, the owner record (so no file is ever left unexplained)."""
        for path in (self.socket, self.log, self.owner_record):
            with suppress(OSError):
                path.unlink(missing_ok=True)


def sweep_dead_services(runtime_dir: Path, hostname: str, own_instance: str) -> list[str]:
    """Stop the services and remove the files of dead registries; return their instance ids.

    A runtime dir that is not ours alone is left untouched: its records may be planted.
    """
    try:
        if runtime_dir.exists() and (problem := private_dir_problem(runtime_dir)):
            logger.warning("Not sweeping %s for dead Podman services: %s", runtime_dir, problem)
            return []
        records = sorted(runtime_dir.glob(f"{_PREFIX}*.owner"))
    except OSError:
        return []
    swept: list[str] = []
    for record in records:
        files = ServiceFiles(runtime_dir, record.name.removeprefix(_PREFIX).removesuffix(".owner"))
        if files.instance_id == own_instance:
            continue
        recorded = files.read_owner()
        if recorded is None:
            continue
        owner, service_pid = recorded
        if owner.host != hostname or owner_is_alive(owner):
            continue
        if service_pid is not None and _serves(service_pid, files.url):
            if not _stop(service_pid, files.url):
                logger.warning(
                    "The Podman service (pid %d) of registry %s, which is gone, did not stop; leaving it and %s",
                    service_pid,
                    owner.label,
                    files.socket,
                )
                continue
            logger.info("Stopped the Podman service of a registry that is gone (%s, pid %d)", owner.label, service_pid)
        files.remove()
        swept.append(files.instance_id)
    return swept


def _serves(pid: int, url: str) -> bool:
    """Whether `pid` runs `podman system service` on `url` (so is still the service the record names)."""
    argv = _argv_of(pid)
    return argv is not None and url in argv and "service" in argv and "system" in argv


def _argv_of(pid: int) -> list[str] | None:
    if sys.platform.startswith("linux"):
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        return raw.decode(errors="replace").split("\x00") if raw else None  # A zombie's is empty.
    try:
        completed = subprocess.run(
            ["ps", "-ww", "-o", "command=", "-p", str(pid)],  # -ww: never cut to the terminal width
            capture_output=True,
            text=True,
            timeout=_PS_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    # No socket path of ours holds a space (the runtime dir would be too long), so splitting is safe.
    return completed.stdout.split() if completed.returncode == 0 else None


def _stop(pid: int, url: str) -> bool:
    """SIGTERM, then SIGKILL; True once `pid` no longer serves `url`."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            return True
        except OSError:
            return False
        deadline = time.monotonic() + _STOP_SECONDS
        while time.monotonic() < deadline:
            if not _serves(pid, url):
                return True
            time.sleep(_POLL_SECONDS)
    return not _serves(pid, url)
