"""`ConfigStore`: the settings in one config dir, read fresh on every call and written under a lock.

Contract:
- Reads (`load`, `resolved_values`, `describe_entry_config`) never crash on a bad file: it contributes
  nothing, and `warnings` names it and the problem, as it does a secrets file others may read.
- `set_values` checks the whole request first (all or nothing), then, under the exclusive lock,
  re-reads both files, applies the changes and rewrites only the files whose content changed. A
  broken file that is rewritten is first moved to `<name>.corrupt-<UTC time>`; a secrets file with
  loose permissions is tightened to 0600. It raises only `ConfigError`.
- Secret values live in the OS keyring when `keyring` has a usable backend (`keyring_secrets`:
  secrets.toml then lists only their names), else in secrets.toml itself (0600). Reads and writes
  look the same either way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import keyring.errors

from mcp_registry_server.catalog.entry import CatalogEntry
from mcp_registry_server.config.changes import SetResult, apply_changes, plan_changes
from mcp_registry_server.config.documents import ConfigDocument, SecretsDocument
from mcp_registry_server.config.keyring_secrets import SecretVault
from mcp_registry_server.config.keys import ConfigError
from mcp_registry_server.config.resolve import ResolvedValues, describe_entry, resolve
from mcp_registry_server.config.storage import (
    CONFIG_FILE,
    CORRUPT_MARK,
    SECRETS_FILE,
    DocumentT,
    StoredFile,
    locked,
    loose_mode,
    move_aside,
    read_document,
    write_document,
)

__all__ = ["ConfigStore"]

_Files = tuple[StoredFile[ConfigDocument], StoredFile[SecretsDocument]]


class ConfigStore:
    """The settings in one config dir. Every read goes to disk, so other registries' writes show up."""

    def __init__(self, config_dir: Path | str, *, vault: SecretVault | Literal["detect"] | None = "detect") -> None:
        """`vault`: where secret values go; "detect" uses the OS keyring if one works, None the file only."""
        self._dir = Path(config_dir)
        self._vault = SecretVault.detect() if vault == "detect" else vault
        self._warnings: tuple[str, ...] = ()
        self._values_in_file = False

    @property
    def config_dir(self) -> Path:
        return self._dir

    @property
    def warnings(self) -> tuple[str, ...]:
        """Problems found by the latest read or write: broken files, loose permissions."""
        return self._warnings

    def load(self) -> None:
        """Read both files; whatever cannot be understood is skipped and reported in `warnings`."""
        self._load()

    def resolved_values(self, entry: CatalogEntry) -> ResolvedValues:
        """Env, secrets and volumes for `entry`'s container: defaults overridden by the user's values."""
        config, stored_secrets = self._load()
        return resolve(entry, config.document, stored_secrets.document, self._warnings, home=_home())

    def describe_entry_config(self, entry: CatalogEntry) -> dict[str, Any]:
        """The entry's settings for status output: plain values, which secrets are set, volumes. No secret values."""
        config, stored_secrets = self._load()
        return describe_entry(entry, config.document, stored_secrets.document, self._warnings, home=_home())

    def set_values(self, entry: CatalogEntry, values: Mapping[str, object]) -> SetResult:
        """Store, change or unset (None or "") settings of `entry`; raise ConfigError and change nothing if any is bad."""
        plan = plan_changes(entry, values)
        try:
            with locked(self._dir, exclusive=True):
                files = self._read_both()
                before = [stored.document.to_toml() for stored in files]
                changes = apply_changes(entry, plan, files[0].document, files[1].document)
                self._warnings = self._write_changed(files, before)
        except OSError as exc:
            raise ConfigError(
                f"Could not save the settings for {entry.id} in {self._dir}: {exc}. "
                "Files not yet replaced keep their previous contents; check disk space and permissions."
            ) from exc
        except keyring.errors.KeyringError as exc:
            raise ConfigError(
                f"Could not save the secrets of {entry.id} in the keyring ({type(exc).__name__}); the files were "
                "not changed. Unlock the keyring and try again."
            ) from exc
        return SetResult(entry.id, changes, self._warnings)

    # --- internals -------------------------------------------------------------------------------

    def _read_both(self) -> _Files:
        stored_secrets = read_document(self._dir / SECRETS_FILE, SecretsDocument)
        # Values in the file itself (written before there was a keyring) move to it at the next write.
        self._values_in_file = bool(stored_secrets.document.entries)
        if self._vault is not None:
            self._vault.fill(stored_secrets.document)
        return read_document(self._dir / CONFIG_FILE, ConfigDocument), stored_secrets

    def _load(self) -> _Files:
        with locked(self._dir, exclusive=False):
            config, stored_secrets = self._read_both()
        warnings = [_ignored_warning(stored) for stored in (config, stored_secrets) if stored.problem]
        if (mode := loose_mode(stored_secrets.path)) is not None:
            warnings.append(
                f"{stored_secrets.path} holds secrets but has mode {mode:04o}, so other users may read it; "
                f"it will be tightened to 0600 on the next change, or run: chmod 600 {stored_secrets.path}"
            )
        self._warnings = tuple(warnings)
        return config, stored_secrets

    def _write_changed(self, files: _Files, before: list[dict[str, Any]]) -> tuple[str, ...]:
        """Rewrite the files whose content changed; the warnings to report. Call under the lock."""
        config, stored_secrets = files
        secrets_mode = loose_mode(stored_secrets.path)
        if self._vault is not None and (self._values_in_file or stored_secrets.document.to_toml() != before[1]):
            self._vault.store(stored_secrets.document)  # first: the file then lists names only
        warnings = [_rewrite_if_changed(config, before[0]), _rewrite_if_changed(stored_secrets, before[1])]
        if secrets_mode is not None:
            if loose_mode(stored_secrets.path) is not None:  # not rewritten (rewrites are 0600)
                os.chmod(stored_secrets.path, 0o600)
            warnings.append(
                f"{stored_secrets.path} had mode {secrets_mode:04o}, readable by other users; tightened it to 0600. "
                "Rotate any secret in it that others may have read."
            )
        return tuple(warning for warning in warnings if warning)


def _home() -> str | None:
    # `$HOME` in an entry's defaults (Docker writes `$HOME/.kube/config`) means the user's home.
    try:
        return str(Path.home())
    except RuntimeError:
        return None


def _rewrite_if_changed(stored: StoredFile[DocumentT], before: dict[str, Any]) -> str | None:
    """Write `stored` if its document differs from `before`, moving a broken file aside first; the warning."""
    if stored.document.to_toml() == before:
        return _ignored_warning(stored) if stored.problem else None
    warning = None
    if stored.problem and stored.path.exists():
        moved = move_aside(stored.path)
        warning = f"{stored.path} {stored.problem}; moved it to {moved} and started a fresh file"
    write_document(stored)
    return warning


def _ignored_warning(stored: StoredFile[Any]) -> str:
    return (
        f"{stored.path} {stored.problem}; its settings are ignored. Fix or delete it; otherwise the next "
        f"change moves it to {stored.path.name}{CORRUPT_MARK}<UTC time> (nothing is lost) and starts a fresh file"
    )
