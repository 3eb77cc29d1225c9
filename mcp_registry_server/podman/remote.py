"""A remote Podman host, reached through one ssh tunnel that both the API and the podman CLI use.

Contract: `remote_host(settings, podman, connection)` says which remote host to use: the named
`connection` from `podman system connection list` (its URI and identity) when one is given (one of
`MCP_REGISTRY_PODMAN_HOSTS`); otherwise, for the registry's default host, the connection
`MCP_REGISTRY_PODMAN_CONNECTION` or an ssh:// CONTAINER_HOST (with CONTAINER_SSHKEY as the
identity, as podman itself reads it); None when the default host is local. A connection name
that does not exist, or a URI that is not ssh://, is a `PodmanUnavailable` naming it.
`ssh_tunnel(settings, host, files)` is an async context manager that runs
`ssh -N -L <local socket>:<remote socket>` as the registry's child (own session, dies with the
registry like the private service, see `helper_process.spawn`), waits (bounded) until the Podman API
answers through it, and yields the local socket's URL; on exit it stops ssh and removes the socket.
The socket, ssh's log and an owner record are the files a private service would have
(`service_files`), named per host (`tunnel_files`), so a killed registry's are swept like a dead
private service's (the record has no pid: ssh dies with the registry; on macOS, without a
parent-death signal, it may outlive it).
An ssh that exits or a host that does not answer raises `PodmanUnavailable` naming the host, with
ssh's own stderr as detail. ssh runs in batch mode (no prompts: the registry has no terminal),
fails when the forward fails, and gives up on a host that stopped answering within ~15 s
(ServerAlive), so a dropped host surfaces as a dead socket, which `registry.podman_link` handles by
connecting again.

Why one tunnel instead of podman-py's and podman's own ssh clients: podman-py waits up to 300 s for
a host that refuses and turns off host key checking; with one tunnel the API and every `podman
--remote --url unix://<tunnel>` command provably talk to the same Podman, through one ssh session
that obeys the user's ssh configuration and known_hosts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio

from mcp_registry_server.files import ensure_private_dir
from mcp_registry_server.podman.cli_command import run_podman
from mcp_registry_server.podman.errors import PodmanError, PodmanUnavailable
from mcp_registry_server.podman.helper_process import log_tail, spawn, stop, wait_until_answering
from mcp_registry_server.podman.ownership import own_owner_label
from mcp_registry_server.podman.service_files import ServiceFiles
from mcp_registry_server.settings import RegistrySettings

__all__ = ["RemoteHost", "remote_host", "ssh_argv", "ssh_tunnel", "tunnel_files"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RemoteHost:
    """A Podman service on another machine, as `ssh://user@host[:port]/path/to/podman.sock`."""

    name: str  # the connection's name, or the URL's host for CONTAINER_HOST
    url: str
    identity: Path | None = None

    @property
    def described(self) -> str:
        return self.url if self.name == urllib.parse.urlparse(self.url).hostname else f"{self.name} ({self.url})"


async def remote_host(settings: RegistrySettings, podman: str, connection: str | None = None) -> RemoteHost | None:
    """The remote host of `connection`, or the default host's (None for a local Podman). See the module contract."""
    if connection is not None:
        return await _named_connection(connection, podman, source="MCP_REGISTRY_PODMAN_HOSTS")
    if settings.podman_connection:
        return await _named_connection(settings.podman_connection, podman, source="MCP_REGISTRY_PODMAN_CONNECTION")
    if settings.container_host and settings.container_host.startswith("ssh://"):
        host = _checked(settings.container_host, "CONTAINER_HOST")
        return RemoteHost(urllib.parse.urlparse(host).hostname or host, host, settings.ssh_identity)
    return None


async def _named_connection(name: str, podman: str, *, source: str) -> RemoteHost:
    try:
        listed = json.loads(await run_podman(podman, ["system", "connection", "list", "--format", "json"], timeout=15))
    except (PodmanError, ValueError) as error:
        raise PodmanUnavailable(
            f"Could not read Podman's connections to find {name!r} ({source}): {error}",
            remedy="Check `podman system connection list`.",
        ) from error
    for connection in listed or []:
        if connection.get("Name") == name:
            identity = connection.get("Identity") or None
            return RemoteHost(
                name, _checked(str(connection.get("URI", "")), name), Path(identity) if identity else None
            )
    known = ", ".join(sorted(str(connection.get("Name")) for connection in listed or [])) or "none"
    raise PodmanUnavailable(
        f"{source} names the Podman connection {name!r}, which does not exist (known: {known}).",
        remedy="Add it with `podman system connection add NAME ssh://user@host/run/podman/podman.sock`, or fix the "
        "name.",
    )


def _checked(url: str, source: str) -> str:
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme != "ssh" or not parsed.hostname or not parsed.path.startswith("/"):
        raise PodmanUnavailable(
            f"The Podman host {source} has the URI {url!r}, which is not ssh://[user@]host[:port]/path/to/podman.sock.",
            remedy="Give the remote Podman socket as ssh://user@host/run/podman/podman.sock (rootful) or "
            "ssh://user@host/run/user/UID/podman/podman.sock (rootless).",
        )
    return url


def ssh_argv(settings: RegistrySettings, host: RemoteHost, local_socket: Path) -> list[str]:
    """The `ssh` argv of the tunnel (pinned by a unit test)."""
    parsed = urllib.parse.urlparse(host.url)
    argv = [
        "ssh",
        "-N",
        "-T",
        "-o", "BatchMode=yes",
        "-o", "ExitOnForwardFailure=yes",
        "-o", "StreamLocalBindUnlink=yes",
        "-o", "ConnectTimeout=10",
        "-o", "ServerAliveInterval=5",
        "-o", "ServerAliveCountMax=3",
    ]  # fmt: skip
    if settings.ssh_known_hosts is not None:
        argv += ["-o", f"UserKnownHostsFile={settings.ssh_known_hosts}"]
    if host.identity is not None:
        argv += ["-o", "IdentitiesOnly=yes", "-i", str(host.identity)]
    if parsed.port:
        argv += ["-p", str(parsed.port)]
    if parsed.username:
        argv += ["-l", urllib.parse.unquote(parsed.username)]
    argv += ["-L", f"{local_socket}:{urllib.parse.unquote(parsed.path)}", "--", str(parsed.hostname)]
    return argv


def tunnel_files(settings: RegistrySettings, connection: str | None) -> ServiceFiles:
    """The tunnel's files: the private service's for the default host (which a remote host replaces),
    and one set per named host, so a killed registry's are removed by the next one's sweep too."""
    if connection is None:
        return ServiceFiles(settings.runtime_dir, settings.instance_id)
    # Short and path-safe, whatever the name: a Unix socket path is bounded (~104 bytes).
    tag = hashlib.sha256(connection.encode()).hexdigest()[:8]
    return ServiceFiles(settings.runtime_dir, f"{settings.instance_id}-{tag}")


@asynccontextmanager
async def ssh_tunnel(
    settings: RegistrySettings,
    host: RemoteHost,
    files: ServiceFiles,
    *,
    ping_timeout: float,
    start_timeout: float,
    stop_timeout: float,
) -> AsyncIterator[str]:
    """Yield `unix://<local socket>` forwarding to the host's Podman socket. See the module contract."""
    local_socket, log_path, url = files.socket, files.log, files.url
    try:
        ensure_private_dir(settings.runtime_dir)
        files.write_owner(own_owner_label(settings.hostname))
        local_socket.unlink(missing_ok=True)
        with log_path.open("wb") as log_file:
            process = spawn(ssh_argv(settings, host, local_socket), log_file)
    except OSError as error:
        files.remove()
        raise PodmanUnavailable(
            f"Could not run ssh ({error.strerror or error}) to reach the Podman host {host.described}.",
            remedy="Install the OpenSSH client, and check that the runtime dir (XDG_RUNTIME_DIR) is writable.",
        ) from error
    try:
        await wait_until_answering(
            process,
            url,
            ping_timeout=ping_timeout,
            start_timeout=start_timeout,
            failed=lambda what: _unreachable(host, f"the ssh tunnel {what}", log_path),
        )
        logger.info("Using the Podman host %s through ssh (pid %d)", host.described, process.pid)
        yield url
    finally:
        with anyio.CancelScope(shield=True):
            await stop(process, stop_timeout)
            files.remove()


def _unreachable(host: RemoteHost, what: str, log_path: Path) -> PodmanUnavailable:
    return PodmanUnavailable(
        f"The Podman host {host.described} cannot be reached: {what}.",
        remedy="Check that `ssh` to that host works without a prompt (key in CONTAINER_SSHKEY or the connection's "
        "identity, host key in known_hosts) and that Podman's API socket runs there "
        "(`systemctl start podman.socket`).",
        detail=log_tail(log_path),
    )
