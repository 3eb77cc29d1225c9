"""`ConfigStore` on a real config dir: round trips, modes, secrecy, corruption, atomicity, bad input.

The rules the store builds on have their own tests next to this one (keys, documents, storage,
resolve, changes); here they are checked end to end through the files on disk.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mcp_registry_server.catalog import CatalogEntry
from mcp_registry_server.config import (
    CONFIG_FILE,
    SECRETS_FILE,
    ConfigError,
    ConfigStore,
    ResolvedValues,
    SetResult,
)
from tests.config.support import ENTRY, POSIX_ONLY, SECRET, make_entry, mode, parse

# --- round trip ----------------------------------------------------------------------------------


def test_round_trip_env_secret_and_volume(store: ConfigStore, config_dir: Path) -> None:
    result = store.set_values(
        ENTRY,
        {"GITHUB_HOST": "github.example.com", "GITHUB_PERSONAL_ACCESS_TOKEN": SECRET, "volume:projects": "/srv/code"},
    )
    assert result.set_names == ("GITHUB_HOST", "GITHUB_PERSONAL_ACCESS_TOKEN", "volume:projects")
    assert result.secret_names == ("GITHUB_PERSONAL_ACCESS_TOKEN",)

    resolved = ConfigStore(config_dir).resolved_values(ENTRY)  # a fresh store reads from disk
    assert resolved.env == {"LOG_LEVEL": "info", "GITHUB_HOST": "github.example.com"}
    assert resolved.secret_env == {"GITHUB_PERSONAL_ACCESS_TOKEN": SECRET}
    assert resolved.container_env["GITHUB_PERSONAL_ACCESS_TOKEN"] == SECRET
    assert resolved.enabled_volumes == {"projects": "/srv/code"}
    assert resolved.missing_required == ()

    assert parse(config_dir / CONFIG_FILE) == {
        "entries": {"github": {"env": {"GITHUB_HOST": "github.example.com"}, "volumes": {"projects": "/srv/code"}}}
    }
    assert parse(config_dir / SECRETS_FILE) == {"entries": {"github": {"GITHUB_PERSONAL_ACCESS_TOKEN": SECRET}}}


def test_user_value_overrides_default_and_missing_required_is_reported(store: ConfigStore) -> None:
    resolved = store.resolved_values(ENTRY)
    assert resolved.env == {"LOG_LEVEL": "info"}
    assert resolved.missing_required == ("GITHUB_HOST", "GITHUB_PERSONAL_ACCESS_TOKEN")
    store.set_values(ENTRY, {"LOG_LEVEL": "debug", "GITHUB_HOST": "h"})
    assert store.resolved_values(ENTRY).env == {"LOG_LEVEL": "debug", "GITHUB_HOST": "h"}


@pytest.mark.parametrize("empty", [None, ""])
def test_none_or_empty_unsets(store: ConfigStore, empty: object) -> None:
    store.set_values(ENTRY, {"LOG_LEVEL": "debug", "GITHUB_PERSONAL_ACCESS_TOKEN": SECRET, "volume:projects": True})
    result = store.set_values(
        ENTRY, {"LOG_LEVEL": empty, "GITHUB_PERSONAL_ACCESS_TOKEN": empty, "volume:projects": empty}
    )
    assert result.unset_names == ("LOG_LEVEL", "GITHUB_PERSONAL_ACCESS_TOKEN", "volume:projects")
    resolved = store.resolved_values(ENTRY)
    assert resolved.env == {"LOG_LEVEL": "info"}  # back to the default
    assert resolved.secret_env == {} and resolved.enabled_volumes == {}
    assert parse(store.config_dir / SECRETS_FILE) == {"entries": {}}


def test_unsetting_something_never_set_writes_nothing(store: ConfigStore, config_dir: Path) -> None:
    result = store.set_values(ENTRY, {"LOG_LEVEL": None})
    assert result.unset_names == ("LOG_LEVEL",)
    assert not (config_dir / CONFIG_FILE).exists()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, {"projects": "mcp-projects"}),
        ("on", {"projects": "mcp-projects"}),
        ("TRUE", {"projects": "mcp-projects"}),
        ("/home/me/code", {"projects": "/home/me/code"}),
        ("my-volume.v2", {"projects": "my-volume.v2"}),
        (False, {}),
        ("off", {}),
    ],
)
def test_volume_on_off_and_sources(store: ConfigStore, value: object, expected: dict[str, str]) -> None:
    store.set_values(ENTRY, {"volume:projects": "/somewhere/else"})
    result = store.set_values(ENTRY, {"volume:projects": value})
    assert store.resolved_values(ENTRY).enabled_volumes == expected
    assert ("enabled volume projects" in result.describe()) == bool(expected)


def test_a_bad_volume_source_is_refused_and_nothing_is_stored(store: ConfigStore) -> None:
    # The source rules are pinned once, in tests/test_catalog_entry.py; here only that they apply.
    with pytest.raises(ConfigError, match=r"the source for volume:projects is a host path with '\.\.' segments"):
        store.set_values(ENTRY, {"LOG_LEVEL": "debug", "volume:projects": "/srv/../etc"})
    resolved = store.resolved_values(ENTRY)
    assert resolved.enabled_volumes == {} and resolved.env == {"LOG_LEVEL": "info"}


# --- refusals ------------------------------------------------------------------------------------


def test_a_refused_request_stores_nothing_and_echoes_no_secret(store: ConfigStore) -> None:
    with pytest.raises(ConfigError) as caught:
        store.set_values(ENTRY, {"LOG_LEVEL": "debug", "GITHUB_PERSONAL_ACCESS_TOKEN": SECRET + "\x00"})
    assert "Nothing was changed" in str(caught.value) and SECRET not in str(caught.value)
    assert store.resolved_values(ENTRY).container_env == {"LOG_LEVEL": "info"}
    assert not store.config_dir.exists()


def test_newlines_in_values_are_kept(store: ConfigStore) -> None:
    pem = "-----BEGIN KEY-----\nabc\n-----END KEY-----\n"
    store.set_values(ENTRY, {"OPTIONAL_KEY": pem})
    assert store.resolved_values(ENTRY).secret_env == {"OPTIONAL_KEY": pem}


# --- secrecy -------------------------------------------------------------------------------------


def test_secret_value_appears_nowhere_but_the_secrets_file(store: ConfigStore, config_dir: Path) -> None:
    result = store.set_values(ENTRY, {"GITHUB_PERSONAL_ACCESS_TOKEN": SECRET, "LOG_LEVEL": "debug"})
    assert isinstance(result, SetResult)
    for text in (repr(result), str(result), result.describe(), repr(result.changes)):
        assert SECRET not in text
    assert "stored secret GITHUB_PERSONAL_ACCESS_TOKEN (hidden)" in result.describe()
    assert "set LOG_LEVEL = 'debug'" in result.describe()

    assert SECRET not in (config_dir / CONFIG_FILE).read_text()
    assert SECRET in (config_dir / SECRETS_FILE).read_text()

    resolved = store.resolved_values(ENTRY)
    assert isinstance(resolved, ResolvedValues)
    assert SECRET not in repr(resolved) and SECRET not in str(resolved) and SECRET not in f"{resolved}"
    assert "GITHUB_PERSONAL_ACCESS_TOKEN" in repr(resolved)

    described = store.describe_entry_config(ENTRY)
    assert SECRET not in json.dumps(described)
    assert {"name": "GITHUB_PERSONAL_ACCESS_TOKEN", "set": True} in described["secrets"]
    assert {"name": "OPTIONAL_KEY", "set": False} in described["secrets"]


def test_describe_entry_config_shows_values_defaults_and_volumes(store: ConfigStore) -> None:
    store.set_values(ENTRY, {"GITHUB_HOST": "h", "volume:projects": "on"})
    described = store.describe_entry_config(ENTRY)
    env = {item["name"]: (item["value"], item["from"]) for item in described["env"]}
    assert env == {"LOG_LEVEL": ("info", "default"), "GITHUB_HOST": ("h", "user")}
    assert described["volumes"][0] | {"description": None} == {
        "name": "projects",
        "enabled": True,
        "source": "mcp-projects",
        "target": "/projects",
        "read_only": False,
        "description": None,
    }
    assert described["missing_required"] == ["GITHUB_PERSONAL_ACCESS_TOKEN"]


# --- file modes ----------------------------------------------------------------------------------


@POSIX_ONLY
@pytest.mark.usefixtures("umask_002")
def test_modes_after_creation_and_every_write(store: ConfigStore, config_dir: Path) -> None:
    store.set_values(ENTRY, {"GITHUB_PERSONAL_ACCESS_TOKEN": SECRET})
    assert mode(config_dir) == 0o700
    assert mode(config_dir / SECRETS_FILE) == 0o600
    for value in ("a", "b", None, "c"):
        store.set_values(ENTRY, {"OPTIONAL_KEY": value, "LOG_LEVEL": value})
        assert mode(config_dir / SECRETS_FILE) == 0o600
        assert mode(config_dir / CONFIG_FILE) == 0o600
    assert mode(config_dir / ".lock") == 0o600


@POSIX_ONLY
def test_loose_secrets_file_is_tightened_on_next_write(store: ConfigStore, config_dir: Path) -> None:
    config_dir.mkdir(parents=True)
    secrets_path = config_dir / SECRETS_FILE
    secrets_path.write_text(f'[entries.github]\nGITHUB_PERSONAL_ACCESS_TOKEN = "{SECRET}"\n')
    secrets_path.chmod(0o644)

    store.load()
    assert any("0644" in warning and str(secrets_path) in warning for warning in store.warnings)
    assert store.resolved_values(ENTRY).secret_env == {"GITHUB_PERSONAL_ACCESS_TOKEN": SECRET}

    result = store.set_values(ENTRY, {"LOG_LEVEL": "debug"})  # touches config.toml only
    assert mode(secrets_path) == 0o600
    assert any("tightened it to 0600" in warning for warning in result.warnings)
    store.load()
    assert store.warnings == ()


# --- corruption ----------------------------------------------------------------------------------

BROKEN = {
    "not TOML": b"[entries.github\nLOG_LEVEL = ",
    "not UTF-8": b'x = "\xff\xfe"',
    "entries not a table": b"entries = 3\n",
    "entry not a table": b'[entries]\ngithub = "x"\n',
    "value not a string": b"[entries.github.env]\nLOG_LEVEL = 5\n[entries.github]\nGITHUB_HOST = 5\n",
    "NUL in a value": b'[entries.github.env]\nLOG_LEVEL = "a\\u0000"\n[entries.github]\nOPTIONAL_KEY = "\\u0000"\n',
}


@pytest.mark.parametrize("file_name", [CONFIG_FILE, SECRETS_FILE])
@pytest.mark.parametrize("content", BROKEN.values(), ids=BROKEN.keys())
def test_corrupt_file_is_reported_then_preserved_on_next_write(
    store: ConfigStore, config_dir: Path, file_name: str, content: bytes
) -> None:
    config_dir.mkdir(parents=True)
    broken = config_dir / file_name
    broken.write_bytes(content)
    broken.chmod(0o600)

    resolved = store.resolved_values(ENTRY)  # no crash; the broken file contributes nothing
    assert resolved.env == {"LOG_LEVEL": "info"} and resolved.secret_env == {}
    assert len(store.warnings) == 1 and str(broken) in store.warnings[0]
    assert broken.read_bytes() == content  # reading never rewrites

    key = "LOG_LEVEL" if file_name == CONFIG_FILE else "OPTIONAL_KEY"
    result = store.set_values(ENTRY, {key: "fresh"})
    preserved = list(config_dir.glob(f"{file_name}.corrupt-*"))
    assert len(preserved) == 1 and preserved[0].read_bytes() == content
    assert any(str(preserved[0]) in warning for warning in result.warnings)
    parse(broken)  # valid again
    assert store.resolved_values(ENTRY).container_env[key] == "fresh"
    assert store.warnings == ()


def test_corrupt_file_is_left_alone_when_a_write_does_not_touch_it(store: ConfigStore, config_dir: Path) -> None:
    config_dir.mkdir(parents=True)
    (config_dir / SECRETS_FILE).write_bytes(b"garbage ===")
    result = store.set_values(ENTRY, {"LOG_LEVEL": "debug"})
    assert (config_dir / SECRETS_FILE).read_bytes() == b"garbage ==="
    assert not list(config_dir.glob("*.corrupt-*"))
    assert any("secrets.toml" in warning and "ignored" in warning for warning in result.warnings)


@POSIX_ONLY
def test_a_fifo_in_place_of_a_file_is_reported_not_waited_on(store: ConfigStore, config_dir: Path) -> None:
    config_dir.mkdir(parents=True)
    os.mkfifo(config_dir / CONFIG_FILE)  # no writer: a plain read would block forever
    store.load()
    assert len(store.warnings) == 1 and "not a regular file" in store.warnings[0]
    result = store.set_values(ENTRY, {"LOG_LEVEL": "debug"})
    assert any("moved it to" in warning for warning in result.warnings)
    assert parse(config_dir / CONFIG_FILE)["entries"]["github"]["env"] == {"LOG_LEVEL": "debug"}


def test_two_corruptions_in_one_second_keep_both(store: ConfigStore, config_dir: Path) -> None:
    config_dir.mkdir(parents=True)
    for content in (b"one ===", b"two ==="):
        (config_dir / CONFIG_FILE).write_bytes(content)
        store.set_values(ENTRY, {"LOG_LEVEL": "x"})
    assert sorted(path.read_bytes() for path in config_dir.glob("config.toml.corrupt-*")) == [b"one ===", b"two ==="]


def test_unknown_keys_in_files_survive_a_write(store: ConfigStore, config_dir: Path) -> None:
    config_dir.mkdir(parents=True)
    (config_dir / CONFIG_FILE).write_text('note = "mine"\n[entries.other.env]\nA = "1"\n[entries.github]\nextra = 1\n')
    store.set_values(ENTRY, {"LOG_LEVEL": "debug"})
    assert parse(config_dir / CONFIG_FILE) == {
        "note": "mine",
        "entries": {"other": {"env": {"A": "1"}}, "github": {"extra": 1, "env": {"LOG_LEVEL": "debug"}}},
    }


# --- atomicity and concurrency -------------------------------------------------------------------


def test_crash_during_replace_keeps_old_file_and_leaves_no_temp(
    store: ConfigStore, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.set_values(ENTRY, {"LOG_LEVEL": "old", "GITHUB_PERSONAL_ACCESS_TOKEN": SECRET})
    before = {name: (config_dir / name).read_bytes() for name in (CONFIG_FILE, SECRETS_FILE)}

    def crash(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(ConfigError, match="No space left") as caught:
        store.set_values(ENTRY, {"LOG_LEVEL": "new", "GITHUB_PERSONAL_ACCESS_TOKEN": "other"})
    assert "other" not in str(caught.value)
    monkeypatch.undo()

    assert {name: (config_dir / name).read_bytes() for name in before} == before
    assert sorted(path.name for path in config_dir.iterdir()) == [".lock", CONFIG_FILE, SECRETS_FILE]
    assert store.resolved_values(ENTRY).env["LOG_LEVEL"] == "old"


def test_concurrent_writers_lose_nothing(config_dir: Path) -> None:
    entries = [make_entry(f"e{index}") for index in range(8)]

    def write(entry: CatalogEntry) -> None:
        store = ConfigStore(config_dir)  # one store each, as separate registries would have
        for round_ in range(10):
            store.set_values(entry, {"LOG_LEVEL": str(round_), "OPTIONAL_KEY": f"s{round_}"})

    threads = [threading.Thread(target=write, args=(entry,)) for entry in entries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store = ConfigStore(config_dir)
    for entry in entries:
        assert store.resolved_values(entry).container_env == {"LOG_LEVEL": "9", "OPTIONAL_KEY": "s9"}


# --- anything thrown at set_values ---------------------------------------------------------------

VALID_KEYS = ["LOG_LEVEL", "GITHUB_HOST", "GITHUB_PERSONAL_ACCESS_TOKEN", "OPTIONAL_KEY", "volume:projects"]
NASTY_TEXT = st.sampled_from(
    ["../../etc", "/etc/../root", "$(rm -rf /)", "`id`; echo |&>", "a\x00b", "\n", "on", "off", "/ok/path", "\u202e"]
)
keys = st.one_of(st.sampled_from(VALID_KEYS), st.text(max_size=40), NASTY_TEXT, st.integers(), st.none())
values = st.one_of(
    st.none(),
    st.booleans(),
    st.text(),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1).map(lambda text: text * 5000),
    NASTY_TEXT,
    st.integers(),
    st.integers(min_value=10**4300, max_value=10**4400),
    st.floats(),
    st.binary(max_size=20),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
)


@given(
    settings_=st.one_of(
        st.dictionaries(keys, values, max_size=6),
        st.dictionaries(st.sampled_from(VALID_KEYS), values, max_size=5),
        st.dictionaries(st.sampled_from(VALID_KEYS), st.one_of(st.none(), st.text(), NASTY_TEXT), max_size=5),
    )
)
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_set_values_either_succeeds_or_raises_config_error(
    tmp_path_factory: pytest.TempPathFactory, settings_: dict[Any, Any]
) -> None:
    config_dir = tmp_path_factory.getbasetemp() / "hypothesis-store"
    store = ConfigStore(config_dir)
    try:
        result = store.set_values(ENTRY, settings_)
    except ConfigError as exc:
        event("refused")
        assert str(exc)
    else:
        event("stored")
        assert set(result.set_names) | set(result.unset_names) == set(settings_)
    for name in (CONFIG_FILE, SECRETS_FILE):
        if (config_dir / name).exists():
            parse(config_dir / name)
    assert not list(config_dir.glob("*.corrupt-*"))
    assert not list(config_dir.glob(".*.tmp"))
    resolved = store.resolved_values(ENTRY)
    assert store.warnings == ()
    assert all("\x00" not in value for value in resolved.container_env.values())
    if (config_dir / CONFIG_FILE).exists():  # secret names never land in the plain file
        plain_env = parse(config_dir / CONFIG_FILE).get("entries", {}).get("github", {}).get("env", {})
        assert not ENTRY.secret_names & plain_env.keys()
