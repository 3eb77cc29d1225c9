"""QUICKSTART.md works as written: its checked steps run against real Podman and real images."""

from __future__ import annotations

from tests.e2e.support import run_repo_script


def test_quickstart_steps_pass(podman_env: dict[str, str], test_images: dict[str, str]) -> None:
    stdout = run_repo_script("quickstart_check.py", podman_env)
    for expected in (
        "Ready",  # doctor
        "Added mcp-registry to Zed",
        "activated sqlite as prefix 'sqlite'",
        "called sqlite_list_tables",
        "container removed",
        "Removed mcp-registry from Zed",
        "every checked step passed and no container was left behind",
    ):
        assert expected in stdout, expected
