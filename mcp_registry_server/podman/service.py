"""Find a Podman API socket that answers, or run a private `podman system service` for the registry.

Contract: `podman_service(settings)` is an async context manager that yields a `PodmanEndpoint`.
Candidates are tried in order, and the first that answers a ping (bounded by `ping_timeout`) wins:
`settings.container_host` (CONTAINER_HOST), the rootful `/run/podman/podman.sock` (only as root),
the rootless `$XDG_RUNTIME_DIR/podman/podman.sock`. When none answers, the registry starts
`podman system service --time=0 unix://<runtime_dir>/podman-<instance>.sock` as its own child,
waits (bounded by `start_timeout`) until the socket answers, and on exit stops it: SIGTERM, a
bounded wait, SIGKILL, all under a cancellation shield, then removes the socket and log files. The
child's stderr goes to a log file next to the socket (no drain task needed) and is quoted in the
error when the service does not come up. A missing podman binary raises `PodmanUnavailable`.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import urllib.parse
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

import anyio
import podman
from anyio.abc import Process

from mcp_registry_server.podman.diagnostics import PODMAN_MISSING, explain
from mcp_registry_server.podman.errors import PodmanError, PodmanUnavailable
from mcp_registry_server.settings import RegistrySettings

__all__ = ["ROOTFUL_SOCKET", "PodmanEndpoint", "candidate_endpoints", "ping", "podman_service", "require_podman"]

logger = logging.getLogger(__name__)

ROOTFUL_SOCKET = Path("/run/podman/podman.sock")
_POLL_INTERVAL = 0.05
_LOG_TAIL_BYTES = 4000
# sockaddr_un.sun_path is 108 bytes on Linux and 104 on macOS, including the final NUL.
_MAX_SOCKET_PATH_BYTES = 103

Origin = Literal["CONTAINER_HOST", "rootful", "rootless", "private"]


@dataclass(frozen=True)
class PodmanEndpoint:
    """A Podman API URL that answered, and where it came from."""

    url: str
    origin: Origin


def require_podman(settings: RegistrySettings) -> str:
    """The podman executable's full path; `PodmanUnavailable` when it is not installed."""
    executable = shutil.which(settings.podman_executable)
    if executable is None:
        raise PodmanUnavailable(
            f"Podman was not found ({settings.podman_executable!r} is not an executable on PATH), so no MCP "
            "server can be started.",
            remedy=PODMAN_MISSING.remedy + " Or point MCP_REGISTRY_PODMAN at the podman executable.",
        )
    return executable


def candidate_endpoints(settings: RegistrySettings, environ: Mapping[str, str]) -> list[PodmanEndpoint]:
    """The sockets to try, in order (see the module contract)."""
    candidates: list[PodmanEndpoint] = []
    if settings.container_host:
        candidates.append(PodmanEndpoint(settings.container_host, "CONTAINER_HOST"))
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        candidates.append(PodmanEndpoint(f"unix://{ROOTFUL_SOCKET}", "rootful"))
    if runtime_dir := environ.get("XDG_RUNTIME_DIR"):
        candidates.append(PodmanEndpoint(f"unix://{Path(runtime_dir) / 'podman' / 'podman.sock'}", "rootless"))
    return candidates


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


@asynccontextmanager
async def podman_service(
    settings: RegistrySettings,
    *,
    environ: Mapping[str, str] | None = None,
    ping_timeout: float = 2.0,
    start_timeout: float = 15.0,
    stop_timeout: float = 5.0,
) -> AsyncIterator[PodmanEndpoint]:
    """Yield an endpoint that answers; start (and later stop) a private service if none does.

    `environ` is only read for XDG_RUNTIME_DIR (podman's own rootless socket location); it
    defaults to `os.environ`.
    """
    executable = require_podman(settings)
    env = os.environ if environ is None else environ
    for candidate in candidate_endpoints(settings, env):
        if await ping(candidate.url, ping_timeout):
            logger.info("Using the Podman API at %s (%s)", candidate.url, candidate.origin)
            yield candidate
            return
        logger.debug("No Podman API answers at %s (%s)", candidate.url, candidate.origin)
    async with _private_service(
        settings, executable, ping_timeout=ping_timeout, start_timeout=start_timeout, stop_timeout=stop_timeout
    ) as endpoint:
        yield endpoint


@asynccontextmanager
async def _private_service(
    settings: RegistrySettings, executable: str, *, ping_timeout: float, start_timeout: float, stop_timeout: float
) -> AsyncIterator[PodmanEndpoint]:
    socket_path = settings.runtime_dir / f"podman-{settings.instance_id}.sock"
    log_path = socket_path.with_suffix(".log")
    endpoint = PodmanEndpoint(f"unix://{socket_path}", "private")
    argv = [executable, "system", "service", "--time=0", endpoint.url]
    if len(str(socket_path).encode()) > _MAX_SOCKET_PATH_BYTES:
        raise PodmanUnavailable(
            f"No Podman API socket answered, and the registry cannot run its own because the socket path "
            f"{socket_path} is longer than Unix sockets allow.",
            remedy="Set XDG_RUNTIME_DIR to a short directory, or start the Podman API yourself and set CONTAINER_HOST.",
        )
    try:
        log_file = _prepare_files(settings.runtime_dir, socket_path, log_path)
    except OSError as error:
        raise PodmanUnavailable(
            f"No Podman API socket answered, and the registry cannot run its own in {settings.runtime_dir} ({error}).",
            remedy="Make that directory writable (it comes from XDG_RUNTIME_DIR), or start the Podman API yourself "
            "and set CONTAINER_HOST.",
        ) from error
    try:
        with log_file:  # The child gets its own copy of the descriptor.
            process = await anyio.open_process(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log_file
            )
    except OSError as error:
        _remove_files(socket_path, log_path)
        raise PodmanUnavailable(
            f"Could not start `podman system service` ({error}), so the registry has no Podman API.",
            remedy=PODMAN_MISSING.remedy,
        ) from error
    try:
        await _wait_until_answering(process, endpoint.url, log_path, ping_timeout, start_timeout)
        logger.info("Started a private Podman API service at %s (pid %d)", endpoint.url, process.pid)
        yield endpoint
    finally:
        with anyio.CancelScope(shield=True):
            await _stop(process, stop_timeout)
            _remove_files(socket_path, log_path)


def _prepare_files(runtime_dir: Path, socket_path: Path, log_path: Path) -> IO[bytes]:
    runtime_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    # A socket left by a crashed registry with the same instance id would make podman fail to bind.
    socket_path.unlink(missing_ok=True)
    return log_path.open("wb")


def _remove_files(*paths: Path) -> None:
    for path in paths:
        with suppress(OSError):
            path.unlink(missing_ok=True)


async def _wait_until_answering(
    process: Process, url: str, log_path: Path, ping_timeout: float, start_timeout: float
) -> None:
    try:
        with anyio.fail_after(start_timeout):
            while not await ping(url, ping_timeout):
                if process.returncode is not None:
                    raise _start_failure(f"exited with code {process.returncode}", log_path)
                await anyio.sleep(_POLL_INTERVAL)
    except TimeoutError:
        raise _start_failure(f"did not answer within {start_timeout:g} s", log_path) from None


def _start_failure(what: str, log_path: Path) -> PodmanError:
    try:
        with log_path.open("rb") as log:
            log.seek(max(0, log.seek(0, os.SEEK_END) - _LOG_TAIL_BYTES))
            stderr = log.read().decode(errors="replace")
    except OSError:
        stderr = ""
    known = explain(stderr)
    return PodmanUnavailable(
        f"No Podman API socket answered and the registry's own `podman system service` {what}, so no MCP "
        "server can be started.",
        remedy=known.remedy
        if known
        else "Start the Podman API yourself (`systemctl --user start podman.socket`, or as root "
        "`systemctl start podman.socket`) or set CONTAINER_HOST to a socket that answers.",
        detail=stderr,
    )


async def _stop(process: Process, grace: float) -> None:
    """SIGTERM, wait up to `grace`, SIGKILL, wait as long again. Call under a shield."""
    if process.returncode is None:
        with suppress(ProcessLookupError):
            process.terminate()
        with anyio.move_on_after(grace):
            await process.wait()
    if process.returncode is None:
        logger.warning("podman system service (pid %d) ignored SIGTERM; killing it", process.pid)
        with suppress(ProcessLookupError):
            process.kill()
        with anyio.move_on_after(grace):
            await process.wait()
    if process.returncode is None:
        logger.error("podman system service (pid %d) survived SIGKILL; leaving it", process.pid)
    else:
        await process.aclose()  # Already exited: this only releases the transport.
