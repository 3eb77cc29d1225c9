"""The `mcp-registry` commands that need real Podman: doctor (healthy and broken), pull, ps, try.

Each runs the installed console script as a user would, with private config, data and state dirs,
the test catalog, and the test label on every container (removed by the session fixture).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.support import IMAGE_PREFIX, TEST_LABEL, labelled_containers

MCP_REGISTRY = str(Path(sys.executable).with_name("mcp-registry"))

FAKE_CRUN = """#!/bin/sh
# Fails the way crun fails on a host with hybrid cgroups.
echo "cgroups in hybrid mode not supported, drop all controllers from cgroupv2" >&2
exit 1
"""


def cli(env: dict[str, str], *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MCP_REGISTRY, *argv], capture_output=True, text=True, env=env, timeout=timeout, check=False)


def cli_json(env: dict[str, str], *argv: str) -> tuple[int, Any]:
    completed = cli(env, *argv, "--json")
    assert completed.stdout, completed.stderr
    return completed.returncode, json.loads(completed.stdout)


@pytest.fixture
def env(registry_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    # UTF-8 output, so doctor marks its checks with ✓ and ✗ rather than the ASCII fallback.
    return {**registry_env, "HOME": str(tmp_path / "home"), "NO_COLOR": "1", "PYTHONIOENCODING": "utf-8"}


def _checks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in report["checks"]}


def test_doctor_passes_on_a_working_setup(env: dict[str, str]) -> None:
    code, report = cli_json(env, "doctor")
    checks = _checks(report)
    assert code == 0 and report["ok"] is True, json.dumps(report, indent=2)
    for name in ("podman", "podman-api", "podman-run", "catalog"):
        assert checks[name]["status"] == "ok", checks[name]
    assert checks["editors"]["status"] == "warn"  # nothing installed in this fresh HOME


def _broken_runtime_conf(tmp_path: Path) -> Path:
    runtime = tmp_path / "fake-crun"
    runtime.write_text(FAKE_CRUN)
    runtime.chmod(0o755)
    conf = tmp_path / "broken-containers.conf"
    conf.write_text(
        '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]\n'
        f'[engine]\nruntime = "fakecrun"\n[engine.runtimes]\nfakecrun = ["{runtime}"]\n'
    )
    return conf


def test_doctor_recognises_the_hybrid_cgroup_failure_and_prints_the_fix(env: dict[str, str], tmp_path: Path) -> None:
    """Real Podman, with a runtime that fails as crun does on hybrid cgroups (portable to any host)."""
    broken = {**env, "CONTAINERS_CONF": str(_broken_runtime_conf(tmp_path))}
    code, report = cli_json(broken, "doctor")
    run = _checks(report)["podman-run"]
    assert code == 1 and report["ok"] is False
    assert run["status"] == "fail" and run["data"] == {"failure": "cgroup-hybrid"}
    assert any("cgroups in hybrid mode not supported" in detail for detail in run["details"])
    text = cli(broken, "doctor")
    assert text.returncode == 1
    assert "✗ podman-run" in text.stdout
    for needed in ("mcp-registry doctor --fix", 'runtime = "runc"', "default_ulimits", "export CONTAINERS_CONF"):
        assert needed in text.stdout, text.stdout


def _plain_podman_runs(env: dict[str, str]) -> bool:
    """Whether a test image runs with Podman's own settings (no CONTAINERS_CONF) on this host."""
    plain = {key: value for key, value in env.items() if key != "CONTAINERS_CONF"}
    argv = ["podman", "run", "--rm", "--network=none", f"--label={TEST_LABEL}=1", f"{IMAGE_PREFIX}/time", "true"]
    return subprocess.run(argv, capture_output=True, env=plain, timeout=120, check=False).returncode == 0


def test_doctor_fix_writes_a_containers_conf_that_works(env: dict[str, str], tmp_path: Path) -> None:
    """`--fix` with a broken CONTAINERS_CONF: what it must do depends on whether this host needs the workaround."""
    broken = {**env, "CONTAINERS_CONF": str(_broken_runtime_conf(tmp_path))}
    completed = cli(broken, "doctor", "--fix")
    written = Path(env["XDG_CONFIG_HOME"]) / "mcp-registry" / "containers.conf"
    if not _plain_podman_runs(env):  # doctor writes the workaround, checks again with it, and it passes
        assert completed.returncode == 0, completed.stdout
        assert 'runtime = "runc"' in written.read_text()
        assert f"export CONTAINERS_CONF={written}" in completed.stdout
        assert "✓ podman-run" in completed.stdout
    else:  # a healthy host: the broken file itself is the cause, and doctor says so and writes nothing
        assert completed.returncode == 1, completed.stdout
        assert not written.exists()
        assert "the settings in that file cause the failure" in completed.stdout, completed.stdout
        assert "✗ podman-run" in completed.stdout


def _crun_refuses_this_hosts_cgroups() -> bool:
    """Hybrid cgroups with controllers in the cgroup2 hierarchy, which crun refuses (this project's CI host)."""
    controllers = Path("/sys/fs/cgroup/unified/cgroup.controllers")
    return controllers.is_file() and bool(controllers.read_text().split())


def test_doctor_with_crun_selected(env: dict[str, str], tmp_path: Path) -> None:
    """Real crun: where it cannot run containers doctor recognises why; elsewhere the run check passes."""
    assert shutil.which("crun"), "crun is not installed: run scripts/setup.sh"
    # The rlimits the workaround sets, so that only crun and the cgroup layout decide the outcome.
    conf = tmp_path / "crun.conf"
    conf.write_text(
        '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]\n[engine]\nruntime = "crun"\n'
    )
    code, report = cli_json({**env, "CONTAINERS_CONF": str(conf)}, "doctor")
    run = _checks(report)["podman-run"]
    if _crun_refuses_this_hosts_cgroups():
        assert code == 1 and run["status"] == "fail" and run["data"] == {"failure": "cgroup-hybrid"}, run
        assert any("cgroups in hybrid mode not supported" in detail for detail in run["details"]), run
        assert "mcp-registry doctor --fix" in run["fix"] and 'runtime = "runc"' in run["fix"]
    else:
        assert run["status"] == "ok", run


def test_pull_reports_an_unreachable_registry(env: dict[str, str], tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    (catalog / "unreachable.toml").write_text(
        'id = "unreachable"\nname = "Unreachable"\ndescription = "An image no registry serves."\n'
        'image = "registry.invalid/mcp/unreachable:1"\n'
    )
    env = {**env, "MCP_REGISTRY_CATALOG_PATH": str(catalog)}
    code, results = cli_json(env, "pull", "unreachable")
    assert code == 1
    assert results == [
        {
            "entry": "unreachable",
            "image": "registry.invalid/mcp/unreachable:1",
            "status": "failed",
            # `.invalid` never resolves, so podman's error is always one of the network ones.
            "error": "Could not pull image registry.invalid/mcp/unreachable:1: cannot reach the image registry "
            "registry.invalid. The MCP server that uses it cannot start until the image is available.",
            "remedy": "Check the network connection (and any proxy), or make the image available locally: "
            "`podman pull registry.invalid/mcp/unreachable:1` on a connected machine, then "
            "`podman save` / `podman load`.",
        }
    ]
    text = cli(env, "pull", "unreachable")
    assert text.returncode == 1
    assert "error: Could not pull registry.invalid/mcp/unreachable:1." in text.stderr
    assert "What to do:" in text.stderr


def test_pull_skips_a_local_image(env: dict[str, str]) -> None:
    code, results = cli_json(env, "pull", "time")
    assert code == 0 and results == [
        {"entry": "time", "image": "localhost/mcp-registry-test/time", "status": "present"}
    ]


def test_ps_lists_registry_containers_by_label(env: dict[str, str]) -> None:
    name = f"mcp-registry-pstest-{secrets.token_hex(4)}"
    dead_owner = f"{socket.gethostname()}:999999999:1"
    labels = {
        "io.mcp-registry.managed": "true",
        "io.mcp-registry.instance": "pstest",
        "io.mcp-registry.owner": dead_owner,
        "io.mcp-registry.entry": "time",
        "io.mcp-registry.prefix": "pstest",
        TEST_LABEL: "1",
    }
    argv = ["podman", "run", "-d", "--rm", "--name", name, "--network=none", "--log-driver=none"]
    for key, value in labels.items():
        argv += ["--label", f"{key}={value}"]
    subprocess.run([*argv, "--entrypoint", "sleep", "localhost/mcp-registry-test/time", "60"], check=True, env=env)
    try:
        code, rows = cli_json(env, "ps")
        assert code == 0
        (row,) = [row for row in rows if row["name"] == name]
        assert (row["entry"], row["prefix"], row["instance"]) == ("time", "pstest", "pstest")
        assert row["registry_alive"] is False and row["state"] == "running"
    finally:
        subprocess.run(["podman", "rm", "-f", "-t", "0", name], capture_output=True, check=False, env=env)


def test_try_activates_calls_and_removes(env: dict[str, str]) -> None:
    run_label = f"io.mcp-registry.clitest={secrets.token_hex(4)}"
    env = {**env, "MCP_REGISTRY_LABELS": f"{env['MCP_REGISTRY_LABELS']},{run_label}"}
    code, report = cli_json(env, "try", "sqlite", "--call", "list_tables")
    assert code == 0, report
    assert report["prefix"] == "sqlite" and "sqlite_list_tables" in report["tools"]
    assert report["call"]["tool"] == "sqlite_list_tables" and report["call"]["is_error"] is False
    assert report["container_removed"] is True
    assert labelled_containers(run_label) == []


def test_try_says_what_a_server_still_needs(env: dict[str, str], tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    (catalog / "needy.toml").write_text(
        'id = "needy"\nname = "Needy"\ndescription = "Needs a token."\nimage = "localhost/mcp-registry-test/time"\n'
        '[[secrets]]\nname = "NEEDY_TOKEN"\n'
    )
    completed = cli({**env, "MCP_REGISTRY_CATALOG_PATH": str(catalog)}, "try", "needy")
    assert completed.returncode == 1
    assert "needy needs NEEDY_TOKEN" in completed.stderr
    assert "mcp-registry config set needy NEEDY_TOKEN" in completed.stderr


def test_installed_entry_starts_the_registry_like_an_editor(env: dict[str, str], tmp_path: Path) -> None:
    """`install` writes an entry whose command, args and env start a registry that answers MCP."""
    target = tmp_path / "mcp.json"
    code, _ = cli_json(env, "install", "cursor", "--config", str(target))
    assert code == 0
    entry = json.loads(target.read_text())["mcpServers"]["mcp-registry"]
    assert entry["env"]["MCP_REGISTRY_CATALOG_PATH"] == env["MCP_REGISTRY_CATALOG_PATH"]
    request = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    editor_env = {key: value for key, value in env.items() if not key.startswith("MCP_REGISTRY_")}
    completed = subprocess.run(
        [entry["command"], *entry["args"]],
        input=json.dumps(request) + "\n",
        capture_output=True,
        text=True,
        env={**editor_env, **entry["env"]},
        timeout=60,
        check=False,
    )
    first = json.loads(completed.stdout.splitlines()[0])
    assert first["id"] == 1 and first["result"]["serverInfo"]["name"] == "mcp-registry", completed.stderr
    assert os.path.isabs(entry["command"])


def test_try_reports_an_activation_failure(env: dict[str, str], tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    (catalog / "unpullable.toml").write_text(
        'id = "unpullable"\nname = "Unpullable"\ndescription = "An image no registry serves."\n'
        'image = "registry.invalid/mcp/unpullable:1"\n'
    )
    completed = cli({**env, "MCP_REGISTRY_CATALOG_PATH": str(catalog)}, "try", "unpullable")
    assert completed.returncode == 1
    assert "error: Activating unpullable failed:" in completed.stderr
    assert "cannot reach the image registry registry.invalid" in completed.stderr
    assert "hint: The registry's log ends with:" in completed.stderr
