"""Planning and applying a `set_values` request in memory: config/changes.py."""

from __future__ import annotations

import pytest

from mcp_registry_server.config import ConfigChange, ConfigError, SetResult
from mcp_registry_server.config.changes import PlannedChange, apply_changes, plan_changes
from mcp_registry_server.config.documents import ConfigDocument, EntryConfig, SecretsDocument
from tests.config.support import ENTRY, SECRET, make_entry


def test_plan_sorts_keys_into_env_secret_and_volume() -> None:
    plan = plan_changes(ENTRY, {"LOG_LEVEL": 3, "OPTIONAL_KEY": SECRET, "volume:projects": "on", "GITHUB_HOST": ""})
    assert plan == [
        PlannedChange("LOG_LEVEL", "env", "3"),
        PlannedChange("OPTIONAL_KEY", "secret", SECRET),
        PlannedChange("volume:projects", "volume", True),
        PlannedChange("GITHUB_HOST", "env", None),
    ]


def test_every_problem_is_reported_at_once_and_nothing_is_planned() -> None:
    with pytest.raises(ConfigError) as caught:
        plan_changes(ENTRY, {"LOG_LEVEL": "ok", "GITHUB_HOST": True, "NOPE": "x", "volume:projects": "~/code"})
    message = str(caught.value)
    assert "GITHUB_HOST takes text, not a boolean" in message
    assert "'NOPE' is not a setting of github" in message
    assert "the source for volume:projects" in message
    assert message.endswith("Nothing was changed for github.")


def test_settings_must_be_a_mapping() -> None:
    with pytest.raises(ConfigError, match="must be a mapping"):
        plan_changes(ENTRY, ["LOG_LEVEL"])  # type: ignore[arg-type]


def test_apply_sets_and_unsets_and_prunes_what_it_emptied() -> None:
    config, stored_secrets = ConfigDocument(), SecretsDocument()
    set_changes = apply_changes(
        ENTRY,
        plan_changes(ENTRY, {"LOG_LEVEL": "debug", "OPTIONAL_KEY": SECRET, "volume:projects": True}),
        config,
        stored_secrets,
    )
    assert set_changes == (
        ConfigChange("LOG_LEVEL", "env", "set", "debug"),
        ConfigChange("OPTIONAL_KEY", "secret", "set", None),
        ConfigChange("volume:projects", "volume", "set", "mcp-projects"),  # the declared source is shown
    )
    assert config.to_toml() == {"entries": {"github": {"env": {"LOG_LEVEL": "debug"}, "volumes": {"projects": True}}}}
    assert stored_secrets.to_toml() == {"entries": {"github": {"OPTIONAL_KEY": SECRET}}}

    unset = plan_changes(ENTRY, {"LOG_LEVEL": None, "OPTIONAL_KEY": None, "volume:projects": "off"})
    assert [change.action for change in apply_changes(ENTRY, unset, config, stored_secrets)] == ["unset"] * 3
    assert config.to_toml() == stored_secrets.to_toml() == {"entries": {}}


def test_an_entry_table_with_unknown_keys_is_not_pruned() -> None:
    config = ConfigDocument(entries={"github": EntryConfig.model_validate({"extra": 1, "env": {"LOG_LEVEL": "x"}})})
    apply_changes(ENTRY, plan_changes(ENTRY, {"LOG_LEVEL": None}), config, SecretsDocument())
    assert config.to_toml() == {"entries": {"github": {"extra": 1}}}


def test_setting_a_secret_drops_a_stale_plain_copy() -> None:
    # The catalog once declared the token as plain env; now it is a secret.
    config = ConfigDocument.model_validate({"entries": {"github": {"env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "old"}}}})
    apply_changes(ENTRY, plan_changes(ENTRY, {"GITHUB_PERSONAL_ACCESS_TOKEN": SECRET}), config, SecretsDocument())
    assert config.to_toml() == {"entries": {}}


def test_set_result_names_changes_but_never_a_secret() -> None:
    result = SetResult(
        "github",
        (
            ConfigChange("GITHUB_PERSONAL_ACCESS_TOKEN", "secret", "set"),
            ConfigChange("LOG_LEVEL", "env", "set", "debug"),
            ConfigChange("volume:projects", "volume", "unset"),
        ),
        ("careful",),
    )
    assert result.describe() == (
        "stored secret GITHUB_PERSONAL_ACCESS_TOKEN (hidden)\nset LOG_LEVEL = 'debug'\n"
        "disabled volume projects\nwarning: careful"
    )
    assert result.set_names == ("GITHUB_PERSONAL_ACCESS_TOKEN", "LOG_LEVEL")
    assert result.unset_names == ("volume:projects",)
    assert result.secret_names == ("GITHUB_PERSONAL_ACCESS_TOKEN",)
    assert SetResult("github").describe() == "nothing changed for github"


def test_parameters_are_plain_settings_stored_in_their_own_table() -> None:
    entry = make_entry(parameters=[{"name": "jira.url"}], args=["--url={{jira.url}}"])
    plan = plan_changes(entry, {"jira.url": "https://jira.example.com"})
    assert plan == [PlannedChange("jira.url", "parameter", "https://jira.example.com")]
    config, stored = ConfigDocument(), SecretsDocument()
    (change,) = apply_changes(entry, plan, config, stored)
    assert config.entries["github"].parameters == {"jira.url": "https://jira.example.com"}
    assert change.describe() == "set parameter jira.url = 'https://jira.example.com'"


def test_a_volume_without_a_default_source_needs_one_to_be_enabled() -> None:
    entry = make_entry(volumes=[{"name": "kubeconfig", "target": "/kube/config"}])
    with pytest.raises(ConfigError, match="volume:kubeconfig has no default source"):
        plan_changes(entry, {"volume:kubeconfig": "on"})
    assert plan_changes(entry, {"volume:kubeconfig": "/home/u/.kube/config"}) == [
        PlannedChange("volume:kubeconfig", "volume", "/home/u/.kube/config")
    ]
