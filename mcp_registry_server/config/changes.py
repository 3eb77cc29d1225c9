"""A user's `set_values` request: checked as a whole first, then applied to the documents in memory.

Contract: `plan_changes` validates every key and value of a request and returns the changes to make,
or raises one `ConfigError` naming every problem and that nothing was changed (all or nothing).
`apply_changes` makes the planned changes on the two documents, drops a plain copy of a value that is
now a secret, prunes tables the changes emptied, and returns what changed as `ConfigChange`s, which
hold names and plain values only, never a secret. Nothing here touches the disk.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from mcp_registry_server.catalog.entry import CatalogEntry
from mcp_registry_server.config.documents import ConfigDocument, EntryConfig, SecretsDocument
from mcp_registry_server.config.keys import (
    VOLUME_KEY_PREFIX,
    ConfigError,
    VolumeChoice,
    settable_keys,
    text_value,
    unknown_key_message,
    volume_value,
)

__all__ = ["ChangeKind", "ConfigChange", "PlannedChange", "SetResult", "apply_changes", "plan_changes"]

ChangeKind = Literal["env", "parameter", "secret", "volume"]


@dataclass(frozen=True)
class PlannedChange:
    """One checked key of a request; `value` None means unset."""

    key: str
    kind: ChangeKind
    value: VolumeChoice | None


@dataclass(frozen=True)
class ConfigChange:
    """One key changed by `set_values`. `shown` is the new plain value or volume source; never a secret."""

    key: str
    kind: ChangeKind
    action: Literal["set", "unset"]
    shown: str | None = None

    def describe(self) -> str:
        if self.kind == "secret":
            return f"stored secret {self.key} (hidden)" if self.action == "set" else f"removed secret {self.key}"
        if self.kind == "volume":
            name = self.key.removeprefix(VOLUME_KEY_PREFIX)
            return f"enabled volume {name} from {self.shown}" if self.action == "set" else f"disabled volume {name}"
        what = "parameter " if self.kind == "parameter" else ""
        return f"set {what}{self.key} = {self.shown!r}" if self.action == "set" else f"unset {what}{self.key}"


@dataclass(frozen=True)
class SetResult:
    """What `set_values` changed: names and plain values only, so it is safe to print or log."""

    entry_id: str
    changes: tuple[ConfigChange, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def set_names(self) -> tuple[str, ...]:
        return tuple(change.key for change in self.changes if change.action == "set")

    @property
    def unset_names(self) -> tuple[str, ...]:
        return tuple(change.key for change in self.changes if change.action == "unset")

    @property
    def secret_names(self) -> tuple[str, ...]:
        return tuple(change.key for change in self.changes if change.kind == "secret")

    def describe(self) -> str:
        lines = [change.describe() for change in self.changes] or [f"nothing changed for {self.entry_id}"]
        return "\n".join(lines + [f"warning: {warning}" for warning in self.warnings])


def plan_changes(entry: CatalogEntry, values: Mapping[str, object]) -> list[PlannedChange]:
    """Every key of `values` checked against `entry`; one ConfigError listing all problems if any is bad."""
    if not isinstance(values, Mapping):
        raise ConfigError(f"settings must be a mapping of key to value; got a {type(values).__name__}")
    env_names = {var.name for var in entry.env}
    parameter_names = {parameter.name for parameter in entry.parameters}
    volume_keys = {VOLUME_KEY_PREFIX + volume.name for volume in entry.volumes}
    valid = settable_keys(entry)
    plan: list[PlannedChange] = []
    problems: list[str] = []
    for key, value in values.items():
        try:
            if not isinstance(key, str) or key not in valid:
                raise ConfigError(unknown_key_message(entry, key))
            if key in volume_keys:
                plan.append(PlannedChange(key, "volume", _volume_choice(entry, key, value)))
            else:
                kind: ChangeKind = "env" if key in env_names else "parameter" if key in parameter_names else "secret"
                plan.append(PlannedChange(key, kind, text_value(key, value)))
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError("; ".join(problems) + f". Nothing was changed for {entry.id}.")
    return plan


def _volume_choice(entry: CatalogEntry, key: str, value: object) -> VolumeChoice | None:
    choice = volume_value(key, value)
    name = key.removeprefix(VOLUME_KEY_PREFIX)
    if choice is True and not next(volume.source for volume in entry.volumes if volume.name == name):
        raise ConfigError(f"{key} has no default source; give one: {key}=/absolute/host/path or a Podman volume name")
    return choice


def apply_changes(
    entry: CatalogEntry, plan: list[PlannedChange], config: ConfigDocument, stored_secrets: SecretsDocument
) -> tuple[ConfigChange, ...]:
    """Make `plan` on the documents (in memory) and say what changed."""
    table = config.entries.setdefault(entry.id, EntryConfig())
    secret_table = stored_secrets.entries.setdefault(entry.id, {})
    changes = tuple(
        _apply_volume(entry, table, planned) if planned.kind == "volume" else _apply_text(table, secret_table, planned)
        for planned in plan
    )
    if not table.to_toml():
        del config.entries[entry.id]
    if not secret_table:
        del stored_secrets.entries[entry.id]
    return changes


def _apply_volume(entry: CatalogEntry, table: EntryConfig, planned: PlannedChange) -> ConfigChange:
    name = planned.key.removeprefix(VOLUME_KEY_PREFIX)
    if planned.value is None:
        table.volumes.pop(name, None)
        return ConfigChange(planned.key, "volume", "unset")
    table.volumes[name] = planned.value
    declared = next(volume.source for volume in entry.volumes if volume.name == name)
    return ConfigChange(planned.key, "volume", "set", declared if planned.value is True else planned.value)


def _apply_text(table: EntryConfig, secret_table: dict[str, str], planned: PlannedChange) -> ConfigChange:
    target = {"env": table.env, "parameter": table.parameters}.get(planned.kind, secret_table)
    if planned.kind == "secret":
        table.env.pop(planned.key, None)  # a value stored before the catalog made it a secret must not linger
    if planned.value is None:
        target.pop(planned.key, None)
        return ConfigChange(planned.key, planned.kind, "unset")
    assert isinstance(planned.value, str)  # text_value gives text or None, never True
    target[planned.key] = planned.value
    return ConfigChange(planned.key, planned.kind, "set", None if planned.kind == "secret" else planned.value)
