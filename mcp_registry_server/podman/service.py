"""Find a Podman API socket that answers, or run a private `podman system service` for the registry.

Contract: `podman_service(settings)` is an async context manager that yields a `PodmanEndpoint`.
It first sweeps the private services and sockets of dead registries (`service_files`). Then
candidates are tried in order, and the first that answers a ping (bounded by `ping_timeout`) wins:
`settings.container_host` (CONTAINER_HOST, unless ssh://), the rootful `/run/podman/podman.sock` (only as root),
the rootless `$XDG_RUNTIME_DIR/podman/podman.sock`. When none answers, the registry starts
`podman system service --time=0 unix://<runtime_dir>/podman-<instance>.sock` as its own child,
waits (bounded by `start_timeout`) until the socket answers, and on exit stops it: SIGTERM, a
bounded wait, SIGKILL, all under a cancellation shield, then removes its files (socket, log, owner
record). The child runs in a session of its own, so a signal to the editor's process group does not
stop it under the registry, and on Linux it gets SIGTERM when the registry dies (a parent-death
signal; see `helper_process.spawn`); on macOS, which has none, a killed registry's service runs until the next
registry's sweep stops it. The child's stderr goes to the log file (no drain task needed) and is
quoted in the error when the service does not come up. A missing podman binary raises
`PodmanUnavailable`. Call it from the event loop's thread (see `helper_process.spawn`).

A remote host (an ssh:// CONTAINER_HOST or MCP_REGISTRY_PODMAN_CONNECTION, see `remote`) replaces
all of that: the endpoint is the local end of an ssh tunnel to it, with origin `remote`. So does
`connection`, one of the named hosts (MCP_REGISTRY_PODMAN_HOSTS) that entries may run on.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

import anyio

from mcp_registry_server.files import ensure_private_dir
from mcp_registry_server.podman.diagnostics import PODMAN_MISSING, explain
from mcp_registry_server.podman.errors import PodmanError, PodmanUnavailable
from mcp_registry_server.podman.helper_process import log_tail, ping, spawn, stop, wait_until_answering
from mcp_registry_server.podman.ownership import own_owner_label
from mcp_registry_server.podman.remote import remote_host, ssh_tunnel, tunnel_files
from mcp_registry_server.podman.service_files import ServiceFiles, sweep_dead_services
from mcp_registry_server.settings import RegistrySettings

__all__ = ["ROOTFUL_SOCKET", "PodmanEndpoint", "candidate_endpoints", "podman_service", "require_podman"]

logger = logging.getLogger(__name__)

ROOTFUL_SOCKET = Path("/run/podman/podman.sock")
# sockaddr_un.sun_path is 108 bytes on Linux and 104 on macOS, including the final NUL.
_MAX_SOCKET_PATH_BYTES = 103

Origin = Literal["CONTAINER_HOST", "rootful", "rootless", "private", "remote"]


@dataclass(frozen=True)
class PodmanEndpoint:
    """A Podman API URL that answered, and where it came from.

    For a remote host (`remote`), `url` is the local end of the ssh tunnel and `host` names the host;
    the podman CLI must then be told `--remote --url <url>` (see `cli_prefix`)."""

    url: str
    origin: Origin
    host: str | None = None

    @property
    def described(self) -> str:
        """How to name this endpoint in a message: the remote host, or the socket URL."""
        return f"{self.host}, through ssh" if self.host else self.url

    def cli_prefix(self, executable: str) -> list[str]:
        """The podman command's start that reaches this same Podman."""
        return [executable, "--remote", "--url", self.url] if self.origin == "remote" else [executable]


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
    if settings.container_host and not settings.container_host.startswith("ssh://"):  # ssh: see `remote`
        candidates.append(PodmanEndpoint(settings.container_host, "CONTAINER_HOST"))
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        candidates.append(PodmanEndpoint(f"unix://{ROOTFUL_SOCKET}", "rootful"))
    if runtime_dir := environ.get("XDG_RUNTIME_DIR"):
        candidates.append(PodmanEndpoint(f"unix://{Path(runtime_dir) / 'podman' / 'podman.sock'}", "rootless"))
    return candidates


@asynccontextmanager
async def podman_service(
    settings: RegistrySettings,
    *,
    environ: Mapping[str, str] | None = None,
    ping_timeout: float = 2.0,
    start_timeout: float = 15.0,
    stop_timeout: float = 5.0,
    connection: str | None = None,
) -> AsyncIterator[PodmanEndpoint]:
    """Yield an endpoint that answers; start (and later stop) a private service if none does.

    `connection` names a `podman system connection` to reach instead of the default host.

    `environ` is only read for XDG_RUNTIME_DIR (podman's own rootless socket location); it
    defaults to `os.environ`.
    """
    executable = require_podman(settings)
    env = os.environ if environ is None else environ
    swept = await anyio.to_thread.run_sync(
        sweep_dead_services, settings.runtime_dir, settings.hostname, settings.instance_id
    )
    if swept:
        logger.info("Removed the Podman services and sockets of %d registry instance(s) that are gone", len(swept))
    if (host := await remote_host(settings, executable, connection)) is not None:
        files = tunnel_files(settings, connection)
        async with ssh_tunnel(
            settings, host, files, ping_timeout=ping_timeout, start_timeout=start_timeout, stop_timeout=stop_timeout
        ) as url:
            yield PodmanEndpoint(url, "remote", host=host.described)
        return
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
    files = ServiceFiles(settings.runtime_dir, settings.instance_id)
    endpoint = PodmanEndpoint(files.url, "private")
    if len(str(files.socket).encode()) > _MAX_SOCKET_PATH_BYTES:
        raise PodmanUnavailable(
            f"No Podman API socket answered, and the registry cannot run its own because the socket path "
            f"{files.socket} is longer than Unix sockets allow.",
            remedy="Set XDG_RUNTIME_DIR to a short directory, or start the Podman API yourself and set CONTAINER_HOST.",
        )
    try:
        ensure_private_dir(settings.runtime_dir)
    except OSError as error:
        raise PodmanUnavailable(
            f"No Podman API socket answered, and the registry will not run its own in {settings.runtime_dir}: {error}",
            remedy="Fix or remove that directory (it must be yours, mode 0700), set XDG_RUNTIME_DIR to a private "
            "directory, or start the Podman API yourself and set CONTAINER_HOST.",
        ) from error
    owner = own_owner_label(settings.hostname)
    try:
        log_file = _prepare_files(files, owner)
    except OSError as error:
        files.remove()
        raise PodmanUnavailable(
            f"No Podman API socket answered, and the registry cannot run its own in {settings.runtime_dir} ({error}).",
            remedy="Make that directory writable (it comes from XDG_RUNTIME_DIR), or start the Podman API yourself "
            "and set CONTAINER_HOST.",
        ) from error
    try:
        with log_file:  # The child gets its own copy of the descriptor.
            process = spawn([executable, "system", "service", "--time=0", endpoint.url], log_file)
    except OSError as error:
        files.remove()
        raise PodmanUnavailable(
            f"Could not start `podman system service` ({error}), so the registry has no Podman API.",
            remedy=PODMAN_MISSING.remedy,
        ) from error
    try:
        try:
            files.write_owner(owner, process.pid)
        except OSError as error:  # The service works without it; only a later sweep could not stop it.
            logger.warning("Could not record the Podman service's pid in %s: %s", files.owner_record, error)
        await wait_until_answering(
            process,
            endpoint.url,
            ping_timeout=ping_timeout,
            start_timeout=start_timeout,
            failed=lambda what: _start_failure(what, files.log),
        )
        logger.info("Started a private Podman API service at %s (pid %d)", endpoint.url, process.pid)
        yield endpoint
    finally:
        with anyio.CancelScope(shield=True):
            await stop(process, stop_timeout)
            files.remove()


def _prepare_files(files: ServiceFiles, owner: str) -> IO[bytes]:
    # The record comes first, so a sweep by another registry never finds our socket or log unexplained.
    files.write_owner(owner)
    # A socket left by a crashed registry with the same instance id would make podman fail to bind.
    files.socket.unlink(missing_ok=True)
    return files.log.open("wb")


def _start_failure(what: str, log_path: Path) -> PodmanError:
    stderr = log_tail(log_path)
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
