"""The shape of config.toml and secrets.toml: config/documents.py."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from mcp_registry_server.config.documents import ConfigDocument, EntryConfig, SecretsDocument, shape_problem


def test_valid_documents_validate_and_keep_unknown_keys() -> None:
    parsed = {
        "note": "mine",
        "entries": {
            "github": {"extra": 1, "env": {"LOG_LEVEL": "debug"}, "volumes": {"projects": True, "cache": "/srv/c"}},
            "other": {"volumes": {"data": False}},
        },
    }
    config = ConfigDocument.model_validate(parsed)
    assert config.entries["github"].env == {"LOG_LEVEL": "debug"}
    assert config.entries["github"].volumes == {"projects": True, "cache": "/srv/c"}
    assert config.to_toml() == parsed

    secrets = SecretsDocument.model_validate({"entries": {"github": {"TOKEN": "t"}}, "version": 2})
    assert secrets.to_toml() == {"version": 2, "entries": {"github": {"TOKEN": "t"}}}


def test_empty_tables_are_left_out_but_entries_stays() -> None:
    config = ConfigDocument(entries={"github": EntryConfig()})
    assert config.to_toml() == {"entries": {"github": {}}}
    assert SecretsDocument().to_toml() == {"entries": {}}


CONFIG_SHAPES: dict[str, tuple[dict[str, Any], str]] = {
    "entries-not-a-table": ({"entries": 3}, "has 'entries' that is not a table"),
    "entry-not-a-table": ({"entries": {"github": "x"}}, "has [entries.github] that is not a table"),
    "env-not-a-table": ({"entries": {"github": {"env": 5}}}, "has [entries.github] env that is not a table"),
    "env-not-a-string": (
        {"entries": {"github": {"env": {"LOG_LEVEL": 5}}}},
        "has [entries.github] env LOG_LEVEL that is not a string",
    ),
    "env-with-nul": (
        {"entries": {"github": {"env": {"LOG_LEVEL": "a\x00"}}}},
        "has [entries.github] env LOG_LEVEL that contains a NUL character, which no environment variable can hold",
    ),
    "volume-not-a-choice": (
        {"entries": {"github": {"volumes": {"projects": 5}}}},
        "has [entries.github] volumes projects that is not true, false or a source string",
    ),
    "volume-bad-source": (
        {"entries": {"github": {"volumes": {"projects": "/a:/b"}}}},
        "has [entries.github] volumes projects that is a host path with ':', ',' or a control character, "
        "which would break the mount",
    ),
}


@pytest.mark.parametrize(("parsed", "expected"), CONFIG_SHAPES.values(), ids=CONFIG_SHAPES.keys())
def test_config_shape_problems_name_the_place(parsed: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ConfigDocument.model_validate(parsed)
    assert shape_problem(caught.value, ConfigDocument) == expected


SECRETS_SHAPES: dict[str, tuple[dict[str, Any], str]] = {
    "entry-not-a-table": ({"entries": {"github": []}}, "has [entries.github] that is not a table"),
    "value-not-a-string": (
        {"entries": {"github": {"TOKEN": 5}}},
        "has [entries.github] TOKEN that is not a string",
    ),
    "value-too-long": (
        {"entries": {"github": {"TOKEN": "x" * 70_000}}},
        "has [entries.github] TOKEN that is 70000 bytes long; the limit is 65536",
    ),
}


@pytest.mark.parametrize(("parsed", "expected"), SECRETS_SHAPES.values(), ids=SECRETS_SHAPES.keys())
def test_secrets_shape_problems_name_the_place(parsed: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SecretsDocument.model_validate(parsed)
    assert shape_problem(caught.value, SecretsDocument) == expected
