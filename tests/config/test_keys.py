"""Which keys an entry takes and which values they accept: config/keys.py."""

from __future__ import annotations

import pytest

from mcp_registry_server.config.keys import (
    MAX_VALUE_BYTES,
    ConfigError,
    settable_keys,
    text_problem,
    text_value,
    unknown_key_message,
    volume_value,
)
from tests.config.support import ENTRY, SECRET, make_entry


def test_settable_keys_are_env_then_secret_names_then_volumes() -> None:
    assert settable_keys(ENTRY) == (
        "LOG_LEVEL",
        "GITHUB_HOST",
        "GITHUB_PERSONAL_ACCESS_TOKEN",
        "OPTIONAL_KEY",
        "volume:projects",
    )


@pytest.mark.parametrize(
    ("value", "stored"),
    [("debug", "debug"), (3, "3"), (1.5, "1.5"), ("a\nb\n", "a\nb\n"), ("", None), (None, None)],
    ids=["text", "int", "float", "newlines-kept", "empty-unsets", "none-unsets"],
)
def test_text_values(value: object, stored: str | None) -> None:
    assert text_value("LOG_LEVEL", value) == stored


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("a\x00b", "NUL"),
        ("x" * (MAX_VALUE_BYTES + 1), "limit"),
        ("\ud800", "surrogate"),
        (True, "not a boolean"),
        (["a"], "takes text"),
        (b"bytes", "takes text"),
        (10**5000, "too large"),
    ],
    ids=["nul", "huge", "surrogate", "bool", "list", "bytes", "huge-int"],
)
def test_bad_text_values_are_refused_naming_the_key(value: object, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as caught:
        text_value("GITHUB_HOST", value)
    assert "GITHUB_HOST" in str(caught.value)


def test_a_refused_secret_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as caught:
        text_value("GITHUB_PERSONAL_ACCESS_TOKEN", SECRET + "\x00")
    assert SECRET not in str(caught.value)


def test_text_problem_is_the_rule_for_text_read_from_a_file() -> None:
    assert text_problem("plain") is None
    assert text_problem("a\x00") == "contains a NUL character, which no environment variable can hold"


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (True, True),
        ("on", True),
        ("TRUE", True),
        (" true ", True),
        ("/home/me/code", "/home/me/code"),
        ("my-volume.v2", "my-volume.v2"),
        (False, None),
        ("off", None),
        ("", None),
        (None, None),
    ],
)
def test_volume_values(value: object, stored: str | bool | None) -> None:
    assert volume_value("volume:projects", value) == stored


def test_a_bad_volume_source_is_refused_naming_the_key_and_the_reason() -> None:
    # The rules themselves are pinned once, in tests/test_catalog_entry.py.
    with pytest.raises(ConfigError, match=r"^the source for volume:projects is neither an absolute host path"):
        volume_value("volume:projects", "relative/dir")
    with pytest.raises(ConfigError, match="takes on/off or a source path or volume name; got a int"):
        volume_value("volume:projects", 5)


def test_unknown_key_lists_the_valid_keys_and_the_closest() -> None:
    message = unknown_key_message(ENTRY, "github_host")
    for key in ("LOG_LEVEL", "GITHUB_HOST", "GITHUB_PERSONAL_ACCESS_TOKEN (secret)", "volume:projects"):
        assert key in message
    assert message.endswith("(did you mean GITHUB_HOST?)")
    assert "..." in unknown_key_message(ENTRY, "x" * 100)  # a long key is shortened, not echoed whole


def test_entry_without_settings_says_so() -> None:
    bare = make_entry("bare", env=[], secrets=[], volumes=[])
    assert unknown_key_message(bare, "X") == "bare takes no settings, so 'X' cannot be set"
