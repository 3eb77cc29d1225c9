"""An entry's effective settings: the catalog's defaults overridden by what the user stored.

Contract: `resolve` is pure. It takes the entry and the two documents as read and returns
`ResolvedValues`, whose `secret_env` is the only place a secret value appears; its repr and str hide
those values. `describe_entry` turns the same inputs into the status view (plain values and where
each came from, which secrets are set, volumes), which never holds a secret value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mcp_registry_server.catalog.entry import CatalogEntry, ToolFilter
from mcp_registry_server.config.documents import ConfigDocument, EntryConfig, SecretsDocument
from mcp_registry_server.config.keys import settable_keys

__all__ = ["ResolvedValues", "describe_entry", "resolve"]


@dataclass(frozen=True, repr=False)
class ResolvedValues:
    """What to give an entry's container. Pass `secret_env` through the process environment, not argv."""

    entry_id: str
    env: dict[str, str] = field(default_factory=dict)
    secret_env: dict[str, str] = field(default_factory=dict)
    missing_required: tuple[str, ...] = ()
    enabled_volumes: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    tool_filter: ToolFilter = field(default_factory=ToolFilter)

    @property
    def container_env(self) -> dict[str, str]:
        return self.env | self.secret_env

    def __repr__(self) -> str:
        hidden = {name: "<hidden>" for name in self.secret_env}
        return (
            f"ResolvedValues(entry_id={self.entry_id!r}, env={self.env!r}, secret_env={hidden!r}, "
            f"missing_required={self.missing_required!r}, enabled_volumes={self.enabled_volumes!r}, "
            f"warnings={self.warnings!r}, tool_filter={self.tool_filter!r})"
        )

    __str__ = __repr__


def resolve(
    entry: CatalogEntry, config: ConfigDocument, stored_secrets: SecretsDocument, warnings: tuple[str, ...] = ()
) -> ResolvedValues:
    """Env, secrets and volumes for `entry`'s container; required values still missing are listed."""
    user = config.entries.get(entry.id, EntryConfig())
    user_secrets = stored_secrets.entries.get(entry.id, {})
    env: dict[str, str] = {}
    missing: list[str] = []
    for var in entry.env:
        value = user.env.get(var.name, var.default)
        if value is not None:
            env[var.name] = value
        if var.required and not value:
            missing.append(var.name)
    secret_env = {secret.name: user_secrets[secret.name] for secret in entry.secrets if secret.name in user_secrets}
    missing += [secret.name for secret in entry.secrets if secret.required and secret.name not in secret_env]
    volumes: dict[str, str] = {}
    for volume in entry.volumes:
        choice = user.volumes.get(volume.name, False)
        if choice is not False:
            volumes[volume.name] = volume.source if choice is True else choice
    tool_filter = ToolFilter(
        tuple(entry.tools_allow if user.tools_allow is None else user.tools_allow),
        tuple(entry.tools_deny if user.tools_deny is None else user.tools_deny),
    )
    return ResolvedValues(entry.id, env, secret_env, tuple(missing), volumes, warnings, tool_filter)


def describe_entry(
    entry: CatalogEntry, config: ConfigDocument, stored_secrets: SecretsDocument, warnings: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The entry's settings for status output: plain values, which secrets are set, volumes. No secret values."""
    resolved = resolve(entry, config, stored_secrets, warnings)
    user_env = config.entries.get(entry.id, EntryConfig()).env
    return {
        "entry": entry.id,
        "env": [
            {
                "name": var.name,
                "value": resolved.env.get(var.name),
                "from": "user" if var.name in user_env else "default" if var.default is not None else "unset",
                "required": var.required,
                "description": var.description,
            }
            for var in entry.env
        ],
        "secrets": [{"name": secret.name, "set": secret.name in resolved.secret_env} for secret in entry.secrets],
        "volumes": [
            {
                "name": volume.name,
                "enabled": volume.name in resolved.enabled_volumes,
                "source": resolved.enabled_volumes.get(volume.name, volume.source),
                "target": volume.target,
                "read_only": volume.read_only,
            }
            for volume in entry.volumes
        ],
        "tools_allow": list(resolved.tool_filter.allow),
        "tools_deny": list(resolved.tool_filter.deny),
        "missing_required": list(resolved.missing_required),
        "settable_keys": list(settable_keys(entry)),
        "warnings": list(warnings),
    }
