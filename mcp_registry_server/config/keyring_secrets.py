"""Secret values in the OS keyring, when there is one; `secrets.toml` then holds only their names.

Contract: `SecretVault.detect()` returns a vault over `keyring`'s chosen backend, or None when that
backend cannot store anything (priority below 1: `keyring.backends.fail`, the headless case,
or a chainer with no usable backend), and then `secrets.toml` keeps the values, 0600, as before.
With a vault, `ConfigStore` calls `fill` after reading secrets.toml and `store` before writing it:
- `fill(document)` puts, for each name listed under the top-level `[keyring]` table
  (`<entry id> = ["NAME", …]`), the keyring's value into `document.entries` (a name the keyring
  no longer has is skipped); values written in the file itself (an older registry's) stay.
- `store(document)` moves every value of `document.entries` into the keyring (service
  `mcp-registry`, username `<entry id>/<NAME>`), deletes the keyring items no longer in it, and
  leaves the document with the names only, under `[keyring]`, so no value reaches the file.
Keyring errors (a locked or vanished store) raise `KeyringError` out of `store`, which the store
reports as a failed save; `fill` logs them and carries on without that value.
"""

from __future__ import annotations

import logging
from typing import Any

import keyring
import keyring.backend
import keyring.errors

from mcp_registry_server.config.documents import SecretsDocument

__all__ = ["INDEX_TABLE", "SERVICE", "SecretVault"]

logger = logging.getLogger(__name__)

SERVICE = "mcp-registry"
INDEX_TABLE = "keyring"


class SecretVault:
    """The keyring that holds secret values; see the module contract."""

    def __init__(self, backend: keyring.backend.KeyringBackend) -> None:
        self.backend = backend

    @classmethod
    def detect(cls) -> SecretVault | None:
        backend = keyring.get_keyring()
        return cls(backend) if _priority(backend) >= 1 else None

    def fill(self, document: SecretsDocument) -> None:
        for entry_id, names in _index(document).items():
            for name in names:
                try:
                    value = self.backend.get_password(SERVICE, f"{entry_id}/{name}")
                except keyring.errors.KeyringError as error:
                    logger.warning("Could not read secret %s of %s from the keyring: %s", name, entry_id, error)
                    continue
                if value is not None:
                    document.entries.setdefault(entry_id, {}).setdefault(name, value)

    def store(self, document: SecretsDocument) -> None:
        previous = _index(document)
        for entry_id, values in document.entries.items():
            for name, value in values.items():
                self.backend.set_password(SERVICE, f"{entry_id}/{name}", value)
        for entry_id, names in previous.items():
            for name in set(names) - set(document.entries.get(entry_id, {})):
                try:
                    self.backend.delete_password(SERVICE, f"{entry_id}/{name}")
                except keyring.errors.PasswordDeleteError:
                    pass  # already gone
        index = {entry_id: sorted(values) for entry_id, values in document.entries.items() if values}
        document.entries = {}
        if index:
            setattr(document, INDEX_TABLE, index)  # an extra table: kept and written by to_toml
        elif document.model_extra is not None:
            document.model_extra.pop(INDEX_TABLE, None)


def _index(document: SecretsDocument) -> dict[str, list[str]]:
    raw: Any = (document.model_extra or {}).get(INDEX_TABLE) or {}
    if not isinstance(raw, dict):
        return {}
    return {
        str(entry_id): [n for n in names if isinstance(n, str)]
        for entry_id, names in raw.items()
        if isinstance(names, list)
    }


def _priority(backend: keyring.backend.KeyringBackend) -> float:
    try:
        return float(backend.priority)
    except Exception:  # a backend's priority check may raise when it is unusable
        return 0.0
