"""What happens when an active server exits on its own: mark its mount failed, maybe restart it.

Contract: `supervise_mount(mount, is_mounted, restart)` runs for the whole life of one mount, as a
task in the registry's task group, and returns once the mount is removed. When the mount's
server ends while the mount is still active, the mount becomes `failed` with the exit code and
the tail of the server's stderr in `last_error`. If the catalog entry says
`restart = "on-failure"`, the supervisor waits `restart_backoff` seconds (doubling after each
attempt, capped at `MAX_BACKOFF`) with the mount `restarting`, then awaits `restart(mount)`,
which replaces the mount's client and container in place, so its exposed tools keep routing
to it. At most `max_restarts` attempts are made over the mount's life; after that the mount
stays failed and `last_error` says so. Nothing raised by `restart` escapes: a failed attempt is
recorded and counts as an attempt, because a supervisor that raised would take the registry down.
A mount the registry itself marked failed before its server ended is left as it is.

A remote mount has no process to exit: its connection ends instead (the transport says why,
naming the URL), and since a connection can die without a word (a server gone while idle), the
supervisor pings it every `ping_interval` seconds; a ping that gets no answer marks it failed
like an exit, and `restart = "on-failure"` connects again. `on_end(mount, reason)` hears each end.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import anyio

from mcp_registry_server.catalog import CatalogEntry
from mcp_registry_server.mcp_client import MCPClient, MCPClientError, MCPRemoteError, display_url
from mcp_registry_server.registry.router import ActiveMount

__all__ = ["MAX_BACKOFF", "backoff_delay", "exit_description", "supervise_mount", "wait_for_end"]

logger = logging.getLogger(__name__)

MAX_BACKOFF = 300.0
_STDERR_CHARS = 1000


def backoff_delay(entry: CatalogEntry, attempt: int) -> float:
    """Seconds to wait before restart number `attempt + 1`."""
    return min(entry.restart_backoff * 2**attempt, MAX_BACKOFF)


def exit_description(client: MCPClient) -> str:
    if client.connection_failure is not None:
        return f"The connection to the remote server failed: {client.connection_failure}"
    if client.end_reason is not None:
        return f"The registry stopped the server: {client.end_reason}."
    code = client.exit_code
    how = "closed its output" if code is None else f"exited with code {code}"
    tail = client.stderr_tail(_STDERR_CHARS).strip()
    return f"The server {how}." + (f"\n--- last stderr output ---\n{tail}" if tail else "")


async def wait_for_end(mount: ActiveMount, client: MCPClient, ping_interval: float | None) -> str:
    """Returns, in words, why `client` ended: its exit, or (pinged every `ping_interval` s) its silence."""
    if ping_interval is None:
        await client.wait_ended()
        return exit_description(client)
    silence: MCPClientError | None = None
    async with anyio.create_task_group() as watching:

        async def ended() -> None:
            await client.wait_ended()
            watching.cancel_scope.cancel()

        watching.start_soon(ended)
        while silence is None:
            await anyio.sleep(ping_interval)
            try:
                await client.request("ping", timeout=ping_interval)
            except MCPRemoteError:
                pass  # an answer, even a refusal, means it is there
            except MCPClientError as error:
                if client.is_alive:
                    silence = error
        watching.cancel_scope.cancel()
    if silence is None or not client.is_alive:
        return exit_description(client)
    where = display_url(mount.entry.remote.url) if mount.entry.remote is not None else mount.prefix
    return f"The remote server at {where} stopped answering pings: {silence}"


async def supervise_mount(
    mount: ActiveMount,
    is_mounted: Callable[[ActiveMount], bool],
    restart: Callable[[ActiveMount], Awaitable[bool]],
    *,
    ping_interval: float | None = None,
    on_end: Callable[[ActiveMount, str], None] | None = None,
) -> None:
    """Watch one mount until it is removed; see the module contract.

    `restart(mount)` returns False when the mount was removed meanwhile (nothing to do).
    """
    entry = mount.entry
    while True:
        client = mount.client
        reason = await wait_for_end(mount, client, ping_interval)
        if not is_mounted(mount) or mount.client is not client:
            return
        if mount.state == "failed":
            return  # the registry already gave up on it (a handshake that failed) and said why
        mount.state = "failed"
        mount.last_error = reason
        logger.warning("%s (%s): %s", mount.prefix, entry.id, reason)
        if on_end is not None:
            on_end(mount, reason)
        while True:
            if entry.restart != "on-failure":
                return
            if mount.restarts >= entry.max_restarts:
                mount.last_error = (
                    f"{reason}\nNot restarted again: it was restarted {mount.restarts} time(s), the entry's "
                    f"max_restarts. Remove it with registry_remove and add it again."
                )
                logger.warning("%s: giving up after %d restart(s)", mount.prefix, mount.restarts)
                return
            delay = backoff_delay(entry, mount.restarts)
            mount.restarts += 1
            attempt = f"restart {mount.restarts} of {entry.max_restarts}"
            mount.state = "restarting"
            mount.last_error = f"{reason}\nRestarting ({attempt}) in {delay:g} s."
            logger.info("%s: %s in %.2f s", mount.prefix, attempt, delay)
            await anyio.sleep(delay)
            try:
                if not await restart(mount):
                    return
            except Exception as error:
                reason = f"The {attempt} failed: {error}"
                mount.state = "failed"
                mount.last_error = reason
                logger.warning("%s: %s", mount.prefix, reason)
                continue
            mount.last_error = f"Restarted ({attempt}) after: {reason}"
            logger.info("%s: %s done; now %s", mount.prefix, attempt, mount.container_name or "connected")
            break
