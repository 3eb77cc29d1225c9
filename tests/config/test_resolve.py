"""An entry's effective settings from the documents: config/resolve.py."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from mcp_registry_server.catalog import CatalogEntry
from mcp_registry_server.config.documents import ConfigDocument, SecretsDocument
from mcp_registry_server.config.resolve import describe_entry, resolve
from tests.config.support import ENTRY, SECRET

USER_CONFIG = ConfigDocument.model_validate(
    {"entries": {"github": {"env": {"GITHUB_HOST": "h", "UNDECLARED": "x"}, "volumes": {"projects": True}}}}
)
USER_SECRETS = SecretsDocument.model_validate({"entries": {"github": {"GITHUB_PERSONAL_ACCESS_TOKEN": SECRET}}})


def test_defaults_alone_leave_the_required_values_missing() -> None:
    resolved = resolve(ENTRY, ConfigDocument(), SecretsDocument())
    assert resolved.env == {"LOG_LEVEL": "info"}
    assert resolved.secret_env == {} and resolved.enabled_volumes == {}
    assert resolved.missing_required == ("GITHUB_HOST", "GITHUB_PERSONAL_ACCESS_TOKEN")


def test_user_values_override_defaults_and_only_declared_names_pass() -> None:
    resolved = resolve(ENTRY, USER_CONFIG, USER_SECRETS, ("a warning",))
    assert resolved.env == {"LOG_LEVEL": "info", "GITHUB_HOST": "h"}
    assert resolved.container_env == {"LOG_LEVEL": "info", "GITHUB_HOST": "h", "GITHUB_PERSONAL_ACCESS_TOKEN": SECRET}
    assert resolved.missing_required == ()
    assert resolved.warnings == ("a warning",)


def test_volume_choices() -> None:
    for choice, enabled in (
        (True, {"projects": "mcp-projects"}),
        ("/srv/code", {"projects": "/srv/code"}),
        (False, {}),
    ):
        config = ConfigDocument.model_validate({"entries": {"github": {"volumes": {"projects": choice}}}})
        assert resolve(ENTRY, config, SecretsDocument()).enabled_volumes == enabled


def test_repr_and_str_hide_secret_values() -> None:
    resolved = resolve(ENTRY, USER_CONFIG, USER_SECRETS)
    for text in (repr(resolved), str(resolved), f"{resolved}"):
        assert SECRET not in text
        assert "'GITHUB_PERSONAL_ACCESS_TOKEN': '<hidden>'" in text


def test_describe_entry_shows_values_and_their_origin_but_no_secret() -> None:
    described = describe_entry(ENTRY, USER_CONFIG, USER_SECRETS)
    assert SECRET not in json.dumps(described)
    env = {item["name"]: (item["value"], item["from"]) for item in described["env"]}
    assert env == {"LOG_LEVEL": ("info", "default"), "GITHUB_HOST": ("h", "user")}
    assert described["secrets"] == [
        {"name": "GITHUB_PERSONAL_ACCESS_TOKEN", "set": True},
        {"name": "OPTIONAL_KEY", "set": False},
    ]
    assert described["volumes"] == [
        {"name": "projects", "enabled": True, "source": "mcp-projects", "target": "/projects", "read_only": False}
    ]
    assert described["missing_required"] == []
    assert described["settable_keys"][-1] == "volume:projects"


# --- templates: {{parameter}} and $NAME (issue 11) ------------------------------------------------

TEMPLATED = CatalogEntry.model_validate(
    {
        "id": "templated",
        "name": "T",
        "description": "d",
        "image": "localhost/t",
        "args": ["--db-path", "{{db_path}}", "--home", "$HOME/x", "--level=${LOG_LEVEL}"],
        "parameters": [
            {"name": "db_path", "default": "$HOME/data/db.sqlite"},
            {"name": "region", "required": True},
        ],
        "env": [
            {"name": "LOG_LEVEL", "default": "info"},
            {"name": "REGION", "default": "{{region}}"},
            {"name": "HEADERS", "default": '{"Authorization": "Bearer $TOKEN"}'},
        ],
        "secrets": [{"name": "TOKEN"}],
    }
)


def test_a_required_parameter_missing_is_listed_like_an_env_value() -> None:
    resolved = resolve(TEMPLATED, ConfigDocument(), SecretsDocument(), home="/home/u")
    assert resolved.missing_required == ("region", "TOKEN")


def test_parameters_fill_args_and_env_defaults_and_home_is_interpolated() -> None:
    config = ConfigDocument.model_validate({"entries": {"templated": {"parameters": {"region": "eu-west-1"}}}})
    resolved = resolve(TEMPLATED, config, SecretsDocument(), home="/home/u")
    assert resolved.args == ("--db-path", "/home/u/data/db.sqlite", "--home", "/home/u/x", "--level=info")
    assert resolved.env["REGION"] == "eu-west-1"
    assert resolved.parameters == {"db_path": "/home/u/data/db.sqlite", "region": "eu-west-1"}
    assert resolved.runnable(TEMPLATED).args == list(resolved.args)


def test_a_secret_reference_is_filled_and_the_value_kept_with_the_secrets() -> None:
    # On main, `$TOKEN` reached the server literally (the Notion entry's OPENAPI_MCP_HEADERS).
    resolved = resolve(
        TEMPLATED, ConfigDocument(), SecretsDocument.model_validate({"entries": {"templated": {"TOKEN": SECRET}}})
    )
    assert resolved.secret_env["HEADERS"] == f'{{"Authorization": "Bearer {SECRET}"}}'
    assert "HEADERS" not in resolved.env and SECRET not in repr(resolved)
    described = describe_entry(
        TEMPLATED, ConfigDocument(), SecretsDocument.model_validate({"entries": {"templated": {"TOKEN": SECRET}}})
    )
    assert SECRET not in json.dumps(described)


def test_args_never_name_a_secret() -> None:
    with pytest.raises(ValidationError, match="secrets never go on a command line"):
        CatalogEntry.model_validate({**TEMPLATED.model_dump(), "args": ["--token", "$TOKEN"]})


def test_a_template_naming_no_parameter_is_refused() -> None:
    with pytest.raises(ValidationError, match="undeclared parameters: nope"):
        CatalogEntry.model_validate({**TEMPLATED.model_dump(), "args": ["{{nope}}"]})


def test_the_bundled_notion_entry_gets_its_token_not_the_literal_reference() -> None:
    from mcp_registry_server.catalog import bundled_catalog_dir, load_catalog

    notion = load_catalog([bundled_catalog_dir()])["notion"]
    stored = SecretsDocument.model_validate({"entries": {"notion": {"INTERNAL_INTEGRATION_TOKEN": SECRET}}})
    headers = resolve(notion, ConfigDocument(), stored).container_env["OPENAPI_MCP_HEADERS"]
    assert f"Bearer {SECRET}" in headers and "$INTERNAL" not in headers
