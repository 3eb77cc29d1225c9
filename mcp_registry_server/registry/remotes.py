"""What a remote entry's mount needs besides its connection: its headers, where it is, its allow_hosts.

Contract: pure functions of the entry and its resolved values. `remote_headers` and `remote_urls`
are the only places a remote entry's secrets are filled in (headers; a URL's `${NAME}`), and
`remote_urls` also gives the URL to show, with parameters and plain values filled in and secrets
left as `${NAME}`; `mount_location` and `remote_rows` say where a
mount runs with the URL cut to what may be shown (`mcp_client.display_url`: no user info, query
or fragment). For a remote server the registry process itself connects, to the URL's origin only
(the SDK follows no redirect elsewhere), so `network` does not apply and `allow_hosts`, when an
entry gives it, must list the URL's host:port (`allow_hosts_problem`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from mcp_registry_server.catalog import CatalogEntry
from mcp_registry_server.config.resolve import ResolvedValues
from mcp_registry_server.config.templates import render
from mcp_registry_server.mcp_client import display_url
from mcp_registry_server.registry.errors import RegistryError
from mcp_registry_server.registry.remote_records import utc_stamp
from mcp_registry_server.registry.router import ActiveMount
from mcp_registry_server.settings import LOCAL_HOST

__all__ = ["allow_hosts_problem", "mount_location", "remote_headers", "remote_rows", "remote_urls"]


def mount_location(mount: ActiveMount) -> dict[str, Any]:
    """Where a mount runs, for status and results: its container, or a remote one's URL (no credentials)."""
    remote = mount.entry.remote
    if remote is None:
        return {"container": mount.container_name, **({"host": mount.host} if mount.host != LOCAL_HOST else {})}
    return {"url": display_url(remote.url), "transport": remote.transport}


def remote_urls(entry: CatalogEntry, resolved: ResolvedValues) -> tuple[str, str]:
    """The URL to connect to (`{{parameter}}` and `${NAME}` filled in) and the one to show (secrets
    left as `${NAME}`, then without user info, query or fragment)."""
    assert entry.remote is not None
    url = entry.remote.url
    connect = render(url, resolved.parameters, resolved.container_env).text
    unshown = {name: f"${{{name}}}" for name in resolved.secret_env}
    return connect, display_url(render(url, resolved.parameters, resolved.env | unshown).text)


def remote_headers(entry: CatalogEntry, resolved: ResolvedValues) -> dict[str, str]:
    """A remote entry's HTTP headers with `${NAME}` filled from its secrets and env values.

    A header that names only values that are not set is left out (an optional token not given),
    so no `Authorization: Bearer ` with nothing after it goes out. A value with a line break or
    another control character is refused, naming the header but not the value.
    """
    assert entry.remote is not None
    values = resolved.container_env
    headers: dict[str, str] = {}
    for name, template in entry.remote.headers.items():
        rendered = render(template, resolved.parameters, values)
        if rendered.variables_used and not any(values.get(used) for used in rendered.variables_used):
            continue
        if any(ord(char) < 32 or ord(char) == 127 for char in name + rendered.text):
            raise RegistryError(
                f"The header {name!r} of {entry.id} would hold a line break or another control character "
                "(from the values it names); fix those values with registry_config_set, then add it again."
            )
        headers[name] = rendered.text
    return headers


def allow_hosts_problem(entry: CatalogEntry) -> str | None:
    """Why a remote entry's allow_hosts does not cover its URL, or None."""
    assert entry.remote is not None
    if not entry.allow_hosts:
        return None
    parts = urlsplit(entry.remote.url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = f"{(parts.hostname or '').lower()}:{port}"
    if target in entry.allow_hosts:
        return None
    return (
        f"{entry.id} connects to {target}, which its allow_hosts ({', '.join(entry.allow_hosts)}) does not list. "
        "For a remote server the registry itself connects, only to its URL's host; fix the entry's url or allow_hosts."
    )


def remote_rows(mounts: Iterable[ActiveMount]) -> list[dict[str, Any]]:
    """The remote mounts among `mounts`, as `remote_records` keeps them for `mcp-registry ps`."""
    now = time.time()
    return [
        {
            "prefix": mount.prefix,
            "entry": mount.entry.id,
            **mount_location(mount),
            "state": mount.state,
            "started": utc_stamp(now - mount.uptime_seconds),
        }
        for mount in mounts
        if mount.entry.remote is not None
    ]
