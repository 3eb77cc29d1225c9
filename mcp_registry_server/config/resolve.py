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
from mcp_registry_server.config.templates import render

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
    # The entry's args with their templates filled in, and the parameter values that filled them.
    args: tuple[str, ...] = ()
    parameters: dict[str, str] = field(default_factory=dict)

    @property
    def container_env(self) -> dict[str, str]:
        return self.env | self.secret_env

    def runnable(self, entry: CatalogEntry) -> CatalogEntry:
        """`entry` as it is run: its args with the templates filled in."""
        return entry if list(self.args) == entry.args else entry.model_copy(update={"args": list(self.args)})

    def __repr__(self) -> str:
        hidden = {name: "<hidden>" for name in self.secret_env}
        return (
            f"ResolvedValues(entry_id={self.entry_id!r}, env={self.env!r}, secret_env={hidden!r}, "
            f"missing_required={self.missing_required!r}, enabled_volumes={self.enabled_volumes!r}, "
            f"warnings={self.warnings!r}, tool_filter={self.tool_filter!r}, args={self.args!r}, "
            f"parameters={self.parameters!r})"
        )

    __str__ = __repr__


def resolve(
    entry: CatalogEntry,
    config: ConfigDocument,
    stored_secrets: SecretsDocument,
    warnings: tuple[str, ...] = (),
    *,
    home: str | None = None,
) -> ResolvedValues:
    """Env, secrets, args and volumes for `entry`'s container; required values still missing are listed.

    Defaults are templates (`templates`): `{{parameter}}` takes the parameter's value (the user's, else
    its default); `$NAME` an env value or secret of the entry, or `home` for HOME. An env value built
    from a secret is passed with the secrets (never shown). Args never see secrets.
    """
    user = config.entries.get(entry.id, EntryConfig())
    user_secrets = stored_secrets.entries.get(entry.id, {})
    secret_env = {secret.name: user_secrets[secret.name] for secret in entry.secrets if secret.name in user_secrets}
    missing: list[str] = []
    plain = {"HOME": home} if home else {}
    plain |= {var.name: user.env[var.name] for var in entry.env if var.name in user.env}
    parameters: dict[str, str] = {}
    for parameter in entry.parameters:
        value = user.parameters.get(parameter.name)
        if value is None and parameter.default is not None:
            value = render(parameter.default, {}, plain).text
        if value:
            parameters[parameter.name] = value
        elif parameter.required:
            missing.append(parameter.name)
    env: dict[str, str] = {}
    for var in entry.env:
        value = user.env.get(var.name)
        if value is None and var.default is not None:
            rendered = render(var.default, parameters, plain | secret_env)
            value = rendered.text
            if rendered.variables_used & entry.secret_names:
                secret_env[var.name] = value  # holds a secret: passed like one, never shown
                continue
        if value is not None:
            env[var.name] = value
        if var.required and not value:
            missing.append(var.name)
    missing += [secret.name for secret in entry.secrets if secret.required and secret.name not in user_secrets]
    args = tuple(render(arg, parameters, plain | env).text for arg in entry.args)
    volumes: dict[str, str] = {}
    notes = list(warnings)
    for volume in entry.volumes:
        choice = user.volumes.get(volume.name, False)
        if choice is True and not volume.source:
            notes.append(
                f"volume {volume.name} of {entry.id} is on but has no source; set volume:{volume.name}=<source>"
            )
        elif choice is not False:
            volumes[volume.name] = volume.source if choice is True else choice
    tool_filter = ToolFilter(
        tuple(entry.tools_allow if user.tools_allow is None else user.tools_allow),
        tuple(entry.tools_deny if user.tools_deny is None else user.tools_deny),
    )
    return ResolvedValues(
        entry.id, env, secret_env, tuple(missing), volumes, tuple(notes), tool_filter, args, parameters
    )


def describe_entry(
    entry: CatalogEntry,
    config: ConfigDocument,
    stored_secrets: SecretsDocument,
    warnings: tuple[str, ...] = (),
    *,
    home: str | None = None,
) -> dict[str, Any]:
    """The entry's settings for status output: plain values, which secrets are set, volumes. No secret values."""
    resolved = resolve(entry, config, stored_secrets, warnings, home=home)
    user = config.entries.get(entry.id, EntryConfig())
    user_env = user.env
    user_secrets = stored_secrets.entries.get(entry.id, {})
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
        "parameters": [
            {
                "name": parameter.name,
                "value": resolved.parameters.get(parameter.name),
                "from": "user"
                if parameter.name in user.parameters
                else "default"
                if parameter.default is not None
                else "unset",
                "required": parameter.required,
                "description": parameter.description,
            }
            for parameter in entry.parameters
        ],
        "secrets": [{"name": secret.name, "set": secret.name in user_secrets} for secret in entry.secrets],
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
        "warnings": list(resolved.warnings),
    }
