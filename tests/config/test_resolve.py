"""An entry's effective settings from the documents: config/resolve.py."""

from __future__ import annotations

import json

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
