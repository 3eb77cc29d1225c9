"""`doctor`'s checks against broken setups that need no real Podman: a fake `podman` on PATH.

The fake prints what Podman 4.3 prints on the hosts we know (crun with hybrid cgroups, rlimits the
host refuses) so the recognition and the remedy are tested on any machine. The same checks against
real Podman are in `tests/e2e/test_cli.py`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from mcp_registry_server.doctor import (
    Check,
    apply_fixes,
    check_config,
    check_editors,
    check_podman,
    check_run,
)
from mcp_registry_server.settings import RegistrySettings

HYBRID = "Error: OCI runtime error: crun: cgroups in hybrid mode not supported, drop all controllers from cgroupv2"
RLIMIT = "Error: crun: setrlimit `RLIMIT_NOFILE`: Operation not permitted: OCI permission denied"


def fake_podman(directory: Path, *, run_error: str | None, version: str = "4.3.1") -> dict[str, str]:
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "podman"
    run_branch = f"printf '%s\\n' '{run_error}' >&2; exit 126" if run_error else "exit 0"
    script.write_text(
        "#!/bin/sh\n"
        f'case "$1" in\n  --version) echo "podman version {version}";;\n  run) {run_branch};;\n'
        '  images) echo "[]";;\n  *) exit 1;;\nesac\n'
    )
    script.chmod(0o755)
    return {**os.environ, "PATH": f"{directory}{os.pathsep}{os.environ.get('PATH', '')}"}


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RegistrySettings:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("CONTAINERS_CONF", raising=False)
    return RegistrySettings.from_environ()


@pytest.mark.parametrize(
    ("error", "key", "summary"), [(HYBRID, "cgroup-hybrid", "hybrid cgroup"), (RLIMIT, "rlimit", "rlimits")]
)
def test_known_run_failures_get_the_containers_conf_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: str, key: str, summary: str
) -> None:
    environ = fake_podman(tmp_path / "bin", run_error=error)
    monkeypatch.setenv("PATH", environ["PATH"])  # the probe finds podman on PATH, as the registry does
    check = check_run({**environ, "CONTAINERS_CONF": "/etc/crun.conf"}, "linux")
    assert check.status == "fail" and check.data == {"failure": key}
    assert summary in check.summary
    assert error in check.details
    assert "CONTAINERS_CONF=/etc/crun.conf is set" in check.details[-1]
    assert check.fix is not None
    assert "mcp-registry doctor --fix" in check.fix
    assert 'runtime = "runc"' in check.fix and "default_ulimits" in check.fix and "export CONTAINERS_CONF" in check.fix


def test_an_unknown_run_failure_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    environ = fake_podman(tmp_path / "bin", run_error="Error: something new")
    monkeypatch.setenv("PATH", environ["PATH"])
    check = check_run(environ, "linux")
    assert check.status == "fail" and "does not recognise" in check.summary and check.fix


def test_the_run_check_is_skipped_off_linux() -> None:
    assert check_run({}, "darwin").status == "skip"


def test_podman_missing_or_old(tmp_path: Path, settings: RegistrySettings) -> None:
    missing = check_podman(settings, {"PATH": str(tmp_path / "empty")})
    assert (
        missing.status == "fail" and "not installed" in missing.summary and "brew install podman" in (missing.fix or "")
    )
    ok = check_podman(settings, fake_podman(tmp_path / "new", run_error=None))
    assert ok.status == "ok" and ok.data["version"] == "4.3.1"
    old = check_podman(settings, fake_podman(tmp_path / "old", run_error=None, version="3.4.4"))
    assert old.status == "warn"


def test_config_permissions_and_stale_entries(settings: RegistrySettings) -> None:
    assert check_config(settings, {"sqlite"}).status == "ok"  # nothing stored yet
    settings.config_dir.mkdir(parents=True)
    secrets = settings.config_dir / "secrets.toml"
    secrets.write_text('[entries.gone]\nTOKEN = "x"\n')
    secrets.chmod(0o644)
    check = check_config(settings, {"sqlite"})
    assert check.status == "warn"
    assert any("mode 0644" in detail for detail in check.details)
    assert any("not in the catalog (ignored): gone" in detail for detail in check.details)
    done = apply_fixes([check], os.environ)
    assert any("secrets.toml to mode 0600" in line for line in done.done)
    assert (secrets.stat().st_mode & 0o777) == 0o600


def test_entries_whose_secrets_live_in_the_keyring_count(settings: RegistrySettings) -> None:
    settings.config_dir.mkdir(parents=True, mode=0o700)
    secrets = settings.config_dir / "secrets.toml"
    secrets.write_text('[keyring]\nsqlite = ["TOKEN"]\ngone = ["KEY"]\n')  # names only: values in the keyring
    secrets.chmod(0o600)
    check = check_config(settings, {"sqlite"})
    assert "settings for 2 entries" in check.summary
    assert any("not in the catalog (ignored): gone" in detail for detail in check.details)


def test_editors_installed_missing_or_broken(tmp_path: Path) -> None:
    environ = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    none = check_editors(environ, "linux", tmp_path)
    assert none.status == "warn" and "mcp-registry install <editor>" in (none.fix or "")
    cursor = tmp_path / ".cursor" / "mcp.json"
    cursor.parent.mkdir()
    cursor.write_text(
        json.dumps({"mcpServers": {"mcp-registry": {"command": "/gone/mcp-registry", "args": ["serve"]}}})
    )
    broken = check_editors(environ, "linux", tmp_path)
    assert broken.status == "fail" and broken.fix == "mcp-registry install cursor"
    executable = tmp_path / "mcp-registry"
    executable.write_text("#!/bin/sh\n")
    executable.chmod(0o755)
    cursor.write_text(json.dumps({"mcpServers": {"mcp-registry": {"command": str(executable), "args": ["serve"]}}}))
    assert check_editors(environ, "linux", tmp_path).status == "ok"
    stale = check_editors({**environ, "CONTAINERS_CONF": "/c.conf"}, "linux", tmp_path)
    assert stale.status == "warn" and "cursor (no CONTAINERS_CONF)" in stale.details


def test_editors_reads_codex_toml_and_opencode_command_lists(tmp_path: Path) -> None:
    executable = tmp_path / "mcp-registry"
    executable.write_text("#!/bin/sh\n")
    executable.chmod(0o755)
    environ = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "CODEX_HOME": str(tmp_path / "codex")}
    codex = tmp_path / "codex" / "config.toml"
    codex.parent.mkdir()
    codex.write_text(f'# mine\n[mcp_servers.mcp-registry]\ncommand = "{executable}"\nargs = ["serve"]\n')
    opencode = tmp_path / "config" / "opencode" / "opencode.json"
    opencode.parent.mkdir(parents=True)
    entry = {"type": "local", "command": [str(executable), "serve"], "environment": {"CONTAINERS_CONF": "/c.conf"}}
    opencode.write_text(json.dumps({"mcp": {"mcp-registry": entry}}))
    check = check_editors({**environ, "CONTAINERS_CONF": "/c.conf"}, "linux", tmp_path)
    assert check.summary == "set up in codex, opencode, but the entry lacks variables set in this shell"
    assert "codex (no CONTAINERS_CONF)" in check.details and f"opencode: {opencode} runs {executable}" in check.details
    codex.write_text("[mcp_servers.mcp-registry\n")
    assert any(
        d.startswith(f"codex: {codex} cannot be read (is not valid TOML")
        for d in check_editors(environ, "linux", tmp_path).details
    )


def test_check_json_shape() -> None:
    check = Check("podman-run", "fail", "broken", ("said",), fix="do this", data={"failure": "rlimit"})
    assert check.to_json() == {
        "name": "podman-run",
        "status": "fail",
        "summary": "broken",
        "details": ["said"],
        "fix": "do this",
        "data": {"failure": "rlimit"},
    }


async def test_the_podman_hosts_are_reached_at_once_and_reported_in_their_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from contextlib import asynccontextmanager
    from types import SimpleNamespace

    import anyio

    from mcp_registry_server.doctor import check_hosts
    from mcp_registry_server.podman import api
    from mcp_registry_server.podman.errors import PodmanError

    entered = {"big": anyio.Event(), "gpu": anyio.Event()}

    @asynccontextmanager
    async def reach(settings: Any, *, environ: Any, call_timeout: float, connection: str) -> Any:
        entered[connection].set()
        with anyio.fail_after(5):  # one after the other, neither would see the other start
            for event in entered.values():
                await event.wait()
        if connection == "gpu":
            raise PodmanError("cannot reach gpu over ssh", remedy="Check the gpu connection.", detail="refused")
        version = SimpleNamespace(version="5.0.0")
        yield SimpleNamespace(endpoint=SimpleNamespace(described="ssh://big"), version=lambda: _ready(version))

    monkeypatch.setattr(api, "open_podman_api", reach)
    settings = RegistrySettings.from_environ({"MCP_REGISTRY_PODMAN_HOSTS": "gpu,big"})
    check = await check_hosts(settings, {})
    assert check.status == "fail" and check.summary == "cannot reach the Podman host(s) gpu"
    assert check.details == ("gpu: cannot reach gpu over ssh", "  refused", "big: ssh://big (Podman 5.0.0)")
    assert check.fix == "Check the gpu connection."


async def _ready(value: Any) -> Any:
    return value
