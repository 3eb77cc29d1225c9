"""Doctor checks about what the catalog's servers may do: their network access.

`check_network_access` lists which entries may reach which hosts: none (the default), only their
`allow_hosts` through the egress proxy, or everything (`network = "bridge"` without a list), which
it reports as a warning, since such a server can send what it reads anywhere.
"""

from __future__ import annotations

from mcp_registry_server.catalog import Catalog
from mcp_registry_server.doctor.check import Check
from mcp_registry_server.settings import RegistrySettings

__all__ = ["check_network_access"]


def check_network_access(catalog: Catalog, settings: RegistrySettings) -> Check:
    full = sorted(entry.id for entry in catalog.values() if entry.network == "bridge" and not entry.allow_hosts)
    proxied = sorted(entry.id for entry in catalog.values() if entry.allow_hosts)
    details = [f"{entry_id}: full network access (network = bridge, no allow_hosts)" for entry_id in full]
    details += [f"{entry_id}: {catalog[entry_id].network_access}" for entry_id in proxied]
    if proxied:
        details.append(
            f"egress proxy: {settings.proxy_image} (MCP_REGISTRY_PROXY_IMAGE) on network {settings.egress_network!r} "
            "(MCP_REGISTRY_EGRESS_NETWORK); only HTTP and HTTPS get out"
        )
    data = {"full": full, "allow_hosts": {entry_id: list(catalog[entry_id].allow_hosts) for entry_id in proxied}}
    others = len(catalog) - len(full) - len(proxied)
    summary = f"{len(full)} with full network access, {len(proxied)} limited to allow_hosts, {others} with none"
    if full:
        return Check(
            "network",
            "warn",
            summary,
            tuple(details),
            fix='Give those entries `allow_hosts = ["host:port", …]` instead of network = "bridge" '
            "(in your own catalog override), so they reach only what they need.",
            data=data,
        )
    return Check("network", "ok", summary, tuple(details), data=data)
