"""The registry's own processes that serve it a Podman API socket: the private `podman system
service` (`service`) and the ssh tunnel to a remote host (`remote`).

Contract:
- `spawn(argv, log_file)` starts one in a session of its own, bound to die with the registry where
  the OS allows (see its docstring), its stderr going to `log_file`. Call it from the event loop's thread.
- `wait_until_answering(process, url, ...)` polls until the Podman API at `url` answers a ping. When
  the process exits first, or `start_timeout` passes, it raises `failed(what)`, where `what` says
  which ("exited with code 1", "did not answer within 30 s").
- `stop(process, grace)`: SIGTERM, a bounded wait, SIGKILL, as long again. Call it under a shield.
- `log_tail(path)`: the end of such a process's log, for an error's detail ("" when unreadable).
- `ping(url, within)`: whether the Podman API at `url` answers within `within` seconds.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import urllib.parse
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import IO

import anyio
import podman

__all__ = ["log_tail", "ping", "spawn", "stop", "wait_until_answering"]

logger = logging.getLogger(__name__)

_POLL_INTERVAL = 0.05
_LOG_TAIL_BYTES = 4000
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def spawn(argv: list[str], log_file: IO[bytes]) -> subprocess.Popen[bytes]:
    """Start `argv` in a session of its own, bound to die with this process where the OS allows.

    Its own session: an editor that stops the registry by signalling the registry's whole process
    group (Codex CLI sends SIGTERM so) must not stop the Podman API before the registry has used it to
    remove its containers. Dying with us: on Linux, a parent-death signal. The kernel sends it when
    the *thread* that forked the child ends, so this must run in the event loop's thread (which
    lives as long as the registry), never in a worker thread, which anyio ends when idle. Hence a
    plain `Popen` here (anyio's `open_process` has no `preexec_fn`), watched by polling. macOS has
    no parent-death signal: there the next registry's `sweep_dead_services` stops a killed
    registry's service.
    """
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=log_file,
        start_new_session=True,
        preexec_fn=_parent_death_signal(),
    )


def _parent_death_signal() -> Callable[[], None] | None:
    """On Linux, a `preexec_fn` that has the kernel SIGTERM the child when its parent thread ends."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # Looked up before the fork, not in the child.
    parent = os.getpid()

    def die_with_parent() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
        if os.getppid() != parent:  # The registry died before the signal was armed.
            os._exit(1)

    return die_with_parent


async def wait_until_answering(
    process: subprocess.Popen[bytes],
    url: str,
    *,
    ping_timeout: float,
    start_timeout: float,
    failed: Callable[[str], Exception],
) -> None:
    try:
        with anyio.fail_after(start_timeout):
            while not await ping(url, ping_timeout):
                if process.poll() is not None:
                    raise failed(f"exited with code {process.returncode}")
                await anyio.sleep(_POLL_INTERVAL)
    except TimeoutError:
        raise failed(f"did not answer within {start_timeout:g} s") from None


def log_tail(path: Path) -> str:
    try:
        with path.open("rb") as log:
            log.seek(max(0, log.seek(0, os.SEEK_END) - _LOG_TAIL_BYTES))
            return log.read().decode(errors="replace").strip()
    except OSError:
        return ""


async def stop(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM, wait up to `grace`, SIGKILL, wait as long again. Call under a shield."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            process.terminate()
    if not await _exited_within(process, grace):
        logger.warning("%s (pid %d) ignored SIGTERM; killing it", _name(process), process.pid)
        with suppress(ProcessLookupError):
            process.kill()
        if not await _exited_within(process, grace):
            logger.error("%s (pid %d) survived SIGKILL; leaving it", _name(process), process.pid)


def _name(process: subprocess.Popen[bytes]) -> str:
    argv = process.args
    return " ".join(map(str, argv[:3])) if isinstance(argv, list) else str(argv)


async def _exited_within(process: subprocess.Popen[bytes], seconds: float) -> bool:
    # A Popen has no exit event to wait on; polling is bounded.
    with anyio.move_on_after(seconds):
        while True:
            if process.poll() is not None:
                return True
            await anyio.sleep(_POLL_INTERVAL)
    return False


async def ping(url: str, within: float) -> bool:
    """Whether the Podman API at `url` answers within `within` seconds."""

    def _ping() -> bool:
        if not _unix_socket_accepts(url, within):
            return False
        try:
            with podman.PodmanClient(base_url=url, timeout=within) as client:
                return bool(client.ping())
        except Exception:  # Any failure means "does not answer"; the caller tries the next one.
            return False

    with anyio.move_on_after(within + 1):
        # Abandoned on timeout or cancellation: the thread ends by itself within the HTTP timeout.
        return await anyio.to_thread.run_sync(_ping, abandon_on_cancel=True)
    return False


def _unix_socket_accepts(url: str, within: float) -> bool:
    """False when `url` is a Unix socket nobody listens on; True otherwise (also for other schemes).

    podman-py leaks its socket object when a Unix connect fails, so that case is settled here first.
    """
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in {"unix", "http+unix"}:
        return True
    path = urllib.parse.unquote(parsed.netloc) if parsed.scheme == "http+unix" else parsed.path
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(within)
        try:
            probe.connect(path)
        except OSError:
            return False
    return True
