"""Secrets in the OS keyring (`config/keyring_secrets.py`), through `ConfigStore`, and the file fallback.

The keyring path runs against an in-memory `KeyringBackend` installed with keyring's own
`keyring.set_keyring`; keyring ships no in-memory backend, so the one here is checked first by
keyring's own backend test suite (`keyring.testing.backend.BackendBasicTests`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import keyring.errors
import pytest
from keyring.compat import properties
from keyring.testing.backend import BackendBasicTests

from mcp_registry_server.config import SECRETS_FILE, ConfigStore
from mcp_registry_server.config.keyring_secrets import SERVICE, SecretVault
from tests.config.support import ENTRY, SECRET


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring that forgets everything when the process ends; usable only while a test installs it.

    Defining a backend registers it with keyring, which would then choose it over the fail
    backend everywhere; an unusable backend's priority raises (keyring's own viability rule).
    """

    installed = False

    @properties.classproperty
    def priority(cls) -> float:
        if not cls.installed:
            raise RuntimeError("MemoryKeyring is only usable inside a test that installs it")
        return 1

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.items.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError(username)


class TestMemoryKeyringIsAKeyring(BackendBasicTests):
    def init_keyring(self) -> MemoryKeyring:
        MemoryKeyring.installed = True
        return MemoryKeyring()

    @pytest.fixture(autouse=True)
    def uninstall(self) -> Iterator[None]:
        yield
        MemoryKeyring.installed = False


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    before = keyring.get_keyring()
    MemoryKeyring.installed = True
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(before)
    MemoryKeyring.installed = False


def test_this_headless_machine_has_no_keyring_so_the_file_keeps_secrets(config_dir: Path) -> None:
    assert SecretVault.detect() is None
    ConfigStore(config_dir).set_values(ENTRY, {"GITHUB_PERSONAL_ACCESS_TOKEN": SECRET})
    assert SECRET in (config_dir / SECRETS_FILE).read_text()


def test_with_a_keyring_the_file_holds_names_only(config_dir: Path, memory_keyring: MemoryKeyring) -> None:
    store = ConfigStore(config_dir)
    store.set_values(ENTRY, {"GITHUB_PERSONAL_ACCESS_TOKEN": SECRET, "GITHUB_HOST": "github.example.com"})
    text = (config_dir / SECRETS_FILE).read_text()
    assert SECRET not in text and "GITHUB_PERSONAL_ACCESS_TOKEN" in text
    assert memory_keyring.items == {(SERVICE, f"{ENTRY.id}/GITHUB_PERSONAL_ACCESS_TOKEN"): SECRET}

    fresh = ConfigStore(config_dir)  # reads the names from the file and the values from the keyring
    assert fresh.resolved_values(ENTRY).secret_env == {"GITHUB_PERSONAL_ACCESS_TOKEN": SECRET}
    described = fresh.describe_entry_config(ENTRY)
    assert {"name": "GITHUB_PERSONAL_ACCESS_TOKEN", "set": True} in [
        {key: item[key] for key in ("name", "set")} for item in described["secrets"]
    ]

    fresh.set_values(ENTRY, {"GITHUB_PERSONAL_ACCESS_TOKEN": None})
    assert memory_keyring.items == {}
    assert ConfigStore(config_dir).resolved_values(ENTRY).secret_env == {}


def test_a_value_left_in_the_file_moves_to_the_keyring_at_the_next_change(
    config_dir: Path, memory_keyring: MemoryKeyring
) -> None:
    ConfigStore(config_dir, vault=None).set_values(ENTRY, {"GITHUB_PERSONAL_ACCESS_TOKEN": SECRET})
    store = ConfigStore(config_dir)
    assert store.resolved_values(ENTRY).secret_env == {"GITHUB_PERSONAL_ACCESS_TOKEN": SECRET}
    store.set_values(ENTRY, {"GITHUB_HOST": "github.example.com"})
    assert SECRET not in (config_dir / SECRETS_FILE).read_text()
    assert ConfigStore(config_dir).resolved_values(ENTRY).secret_env == {"GITHUB_PERSONAL_ACCESS_TOKEN": SECRET}
