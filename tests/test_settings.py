"""`RegistrySettings.from_environ`: timeouts, task bounds, offload sizes and the exposure default a user can set."""

from __future__ import annotations

import pytest

from mcp_registry_server.settings import RegistrySettings, parse_autostart


def test_timeout_defaults_and_the_progress_bound() -> None:
    settings = RegistrySettings.from_environ({})
    assert (settings.call_timeout, settings.init_timeout) == (120.0, 60.0)
    assert settings.max_call_timeout is None and settings.call_timeout_bound == 1200.0


def test_timeouts_from_the_environment() -> None:
    settings = RegistrySettings.from_environ(
        {"MCP_REGISTRY_CALL_TIMEOUT": "2.5", "MCP_REGISTRY_INIT_TIMEOUT": "7", "MCP_REGISTRY_MAX_CALL_TIMEOUT": "30"}
    )
    assert (settings.call_timeout, settings.init_timeout, settings.call_timeout_bound) == (2.5, 7.0, 30.0)
    # Without its own bound, progress may extend a call to 10x its timeout.
    assert RegistrySettings.from_environ({"MCP_REGISTRY_CALL_TIMEOUT": "3"}).call_timeout_bound == 30.0
    # A bound below the plain timeout would cut calls short; the timeout wins.
    low = RegistrySettings.from_environ({"MCP_REGISTRY_CALL_TIMEOUT": "10", "MCP_REGISTRY_MAX_CALL_TIMEOUT": "5"})
    assert low.call_timeout_bound == 10.0


@pytest.mark.parametrize("raw", ["soon", "-1", "0", "1e9"])
def test_bad_timeouts_are_refused_with_the_variable_named(raw: str) -> None:
    with pytest.raises(ValueError, match="MCP_REGISTRY_MAX_CALL_TIMEOUT"):
        RegistrySettings.from_environ({"MCP_REGISTRY_MAX_CALL_TIMEOUT": raw})


@pytest.mark.parametrize(("raw", "expose"), [("", "direct"), ("direct", "direct"), (" Search ", "search")])
def test_the_exposure_default(raw: str, expose: str) -> None:
    assert RegistrySettings.from_environ({"MCP_REGISTRY_EXPOSE": raw}).expose == expose


def test_a_bad_exposure_is_refused_with_the_variable_named() -> None:
    with pytest.raises(ValueError, match="MCP_REGISTRY_EXPOSE='hidden' must be direct or search"):
        RegistrySettings.from_environ({"MCP_REGISTRY_EXPOSE": "hidden"})


def test_offload_sizes_default_parse_and_refuse_nonsense() -> None:
    defaults = RegistrySettings.from_environ({})
    assert (defaults.offload_bytes, defaults.offload_max_bytes) == (64 * 1024, 1024**3)
    assert defaults.state_dir is not None and defaults.state_dir.name == "mcp-registry"
    off = RegistrySettings.from_environ({"MCP_REGISTRY_OFFLOAD_BYTES": "0", "MCP_REGISTRY_OFFLOAD_MAX_BYTES": " 5000 "})
    assert (off.offload_bytes, off.offload_max_bytes) == (0, 5000)
    for raw in ("64k", "-1", "1.5"):
        with pytest.raises(ValueError, match=r"MCP_REGISTRY_OFFLOAD_BYTES=.*whole number of bytes"):
            RegistrySettings.from_environ({"MCP_REGISTRY_OFFLOAD_BYTES": raw})


def test_task_bounds_default_and_from_the_environment() -> None:
    assert (RegistrySettings.from_environ({}).max_tasks, RegistrySettings.from_environ({}).task_ttl) == (16, 3600.0)
    settings = RegistrySettings.from_environ({"MCP_REGISTRY_MAX_TASKS": "3", "MCP_REGISTRY_TASK_TTL": "90"})
    assert (settings.max_tasks, settings.task_ttl) == (3, 90.0)


@pytest.mark.parametrize("raw", ["many", "0", "-2", "1.5", "20000"])
def test_a_bad_task_bound_is_refused_with_the_variable_named(raw: str) -> None:
    with pytest.raises(ValueError, match="MCP_REGISTRY_MAX_TASKS"):
        RegistrySettings.from_environ({"MCP_REGISTRY_MAX_TASKS": raw})


def test_the_message_size_limit_defaults_to_64_mib_and_is_read_from_the_environment() -> None:
    assert RegistrySettings.from_environ({}).max_message_bytes == 64 * 1024 * 1024
    assert RegistrySettings.from_environ({"MCP_REGISTRY_MAX_MESSAGE_BYTES": "2048"}).max_message_bytes == 2048


@pytest.mark.parametrize("raw", ["1k", "-5", "100", "1.5"])
def test_a_bad_message_size_limit_is_refused_with_the_variable_named(raw: str) -> None:
    with pytest.raises(ValueError, match="MCP_REGISTRY_MAX_MESSAGE_BYTES"):
        RegistrySettings.from_environ({"MCP_REGISTRY_MAX_MESSAGE_BYTES": raw})


def test_http_settings_from_the_environment() -> None:
    settings = RegistrySettings.from_environ(
        {
            "MCP_REGISTRY_HTTP_IDLE_TIMEOUT": "30",
            "MCP_REGISTRY_HTTP_MAX_SESSIONS": "3",
            "MCP_REGISTRY_HTTP_MAX_BODY_BYTES": "2048",
            "MCP_REGISTRY_HTTP_ALLOWED_HOSTS": "mcp.example.com, proxy:*",
            "MCP_REGISTRY_HTTP_ALLOWED_ORIGINS": "https://app.example.com",
        }
    )
    assert (settings.http_idle_timeout, settings.http_max_sessions, settings.http_max_body_bytes) == (30, 3, 2048)
    assert settings.http_allowed_hosts == ("mcp.example.com", "proxy:*")
    assert settings.http_allowed_origins == ("https://app.example.com",)
    with pytest.raises(ValueError, match="MCP_REGISTRY_HTTP_MAX_BODY_BYTES=10 is too small"):
        RegistrySettings.from_environ({"MCP_REGISTRY_HTTP_MAX_BODY_BYTES": "10"})


def test_a_workspace_gets_its_own_dirs_instance_and_label_and_default_keeps_them() -> None:
    base = RegistrySettings.from_environ({"MCP_REGISTRY_LABELS": "team=x"})
    default = base.for_workspace("default")
    assert (default.config_dir, default.state_dir, default.cache_dir) == (
        base.config_dir,
        base.state_dir,
        base.cache_dir,
    )
    assert default.instance_id == base.instance_id and default.workspace == "default"
    team = base.for_workspace("team-a")
    assert team.workspace == "team-a"
    assert team.config_dir == base.config_dir / "workspaces" / "team-a"
    assert team.state_dir == base.state_dir / "workspaces" / "team-a"  # type: ignore[operator]
    assert team.cache_dir == base.cache_dir / "workspaces" / "team-a"  # type: ignore[operator]
    assert team.instance_id != base.instance_id
    assert team.extra_labels == {"team": "x", "io.mcp-registry.workspace": "team-a"}


def test_autostart_names_entries_with_an_optional_prefix_and_a_bare_colon_for_unprefixed() -> None:
    assert parse_autostart("sqlite, everything:ev,conf:") == (("sqlite", None), ("everything", "ev"), ("conf", ""))
    with pytest.raises(ValueError, match="is not entry_id"):
        parse_autostart(":ev")


def test_podman_hosts_are_named_connections_and_local_is_the_default_hosts_name() -> None:
    settings = RegistrySettings.from_environ({"MCP_REGISTRY_PODMAN_HOSTS": " far, gpu-box ,far"})
    assert settings.podman_hosts == ("far", "gpu-box")
    assert RegistrySettings.from_environ({}).podman_hosts == ()
    for bad in ("local", "a b", "../x"):
        with pytest.raises(ValueError, match="MCP_REGISTRY_PODMAN_HOSTS"):
            RegistrySettings.from_environ({"MCP_REGISTRY_PODMAN_HOSTS": bad})
