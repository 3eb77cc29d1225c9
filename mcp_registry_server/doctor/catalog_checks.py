"""Doctor checks about what the catalog's servers are and may do: network access, image trust.

`check_network_access` lists which entries may reach which hosts: none (the default), only their
`allow_hosts` through the egress proxy, or everything (`network = "bridge"` without a list), which
it reports as a warning, since such a server can send what it reads anywhere.

`check_image_trust` reads Podman's signature policy (`~/.config/containers/policy.json` when it
exists, as Podman does, else `/etc/containers/policy.json`) and says, for each registry the catalog
pulls from, whether pulls must be signed (a `signedBy` or `sigstoreSigned` requirement for its
scope, else the docker transport's default, else the policy's default), and whether the image lock
file pins the images. No signature policy and no lock file is a warning.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mcp_registry_server.catalog import Catalog
from mcp_registry_server.config.image_lock import LOCK_FILE_NAME
from mcp_registry_server.doctor.check import Check
from mcp_registry_server.settings import RegistrySettings

__all__ = ["check_image_trust", "check_network_access", "policy_paths"]

_SIGNED = frozenset({"signedBy", "sigstoreSigned"})


_LISTED = 12  # entries named in the text output; --json has them all


def check_network_access(catalog: Catalog, settings: RegistrySettings) -> Check:
    full = sorted(entry.id for entry in catalog.values() if entry.network == "bridge" and not entry.allow_hosts)
    proxied = sorted(entry.id for entry in catalog.values() if entry.allow_hosts)
    shown = ", ".join(full[:_LISTED]) + (
        f" … and {len(full) - _LISTED} more (--json lists all)" if len(full) > _LISTED else ""
    )
    details = [f"full network access (network = bridge, no allow_hosts): {shown}"] if full else []
    details += [f"{entry_id}: {catalog[entry_id].network_access}" for entry_id in proxied[:_LISTED]]
    if len(proxied) > _LISTED:
        details.append(f"… and {len(proxied) - _LISTED} more limited to allow_hosts (--json lists all)")
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


def policy_paths(home: Path) -> list[Path]:
    """Where Podman looks for its signature policy, in order; it uses the first that exists."""
    return [home / ".config" / "containers" / "policy.json", Path("/etc/containers/policy.json")]


def registry_of(image: str) -> str:
    first, sep, _ = image.partition("/")
    return first if sep and ("." in first or ":" in first or first == "localhost") else "docker.io"


def _requirements(policy: dict[str, Any], registry: str) -> tuple[str, list[str]]:
    """The scope that decides pulls from `registry` and its requirement types."""
    scopes = (policy.get("transports") or {}).get("docker") or {}
    # A scope for one repository would not cover the whole registry; the registry's own scope does.
    for scope, where in ((registry, registry), ("", "docker transport default")):
        if scope in scopes:
            return where, [str(rule.get("type")) for rule in scopes[scope] or []]
    return "default", [str(rule.get("type")) for rule in policy.get("default") or []]


def check_image_trust(catalog: Catalog, settings: RegistrySettings, home: Path) -> Check:
    # Package, openapi and remote entries name no image to trust: theirs is built here, or there is none.
    registries = sorted({registry_of(entry.image) for entry in catalog.values() if entry.image} - {"localhost"})
    locked = (settings.config_dir / LOCK_FILE_NAME).is_file()
    lock_line = (
        f"image lock file: {settings.config_dir / LOCK_FILE_NAME}"
        if locked
        else "no image lock file (`mcp-registry catalog lock` pins the local images)"
    )
    path = next((candidate for candidate in policy_paths(home) if candidate.is_file()), None)
    if path is None:
        policy: dict[str, Any] = {}
        details = ["no policy.json found: Podman refuses every pull without one"]
    else:
        try:
            policy = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            return Check("image-trust", "warn", f"cannot read {path}: {error}", fix=f"Fix or remove {path}.")
        details = [f"signature policy: {path}"]
    unsigned = []
    for registry in registries:
        where, types = _requirements(policy, registry)
        enforced = bool(_SIGNED & set(types))
        if not enforced:
            unsigned.append(registry)
        details.append(f"{registry}: {', '.join(types) or 'no rule'} ({where}){'' if enforced else ', not enforced'}")
    details.append(lock_line)
    data = {"policy": str(path) if path else None, "unsigned_registries": unsigned, "lock_file": locked}
    if not unsigned:
        summary = f"signatures required for {', '.join(registries) or 'no registry'}"
        return Check("image-trust", "ok", summary, tuple(details), data=data)
    summary = f"signatures not enforced for {', '.join(unsigned)}; " + (
        "the lock file pins local images" if locked else "images are not pinned"
    )
    if locked:
        return Check("image-trust", "ok", summary, tuple(details), data=data)
    return Check(
        "image-trust",
        "warn",
        summary,
        tuple(details),
        fix="Run `mcp-registry catalog lock` to pin the images you have, and/or require signatures for those "
        "registries in policy.json (containers-policy.json(5): signedBy or sigstoreSigned).",
        data=data,
    )
