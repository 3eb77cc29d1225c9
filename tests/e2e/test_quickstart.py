"""QUICKSTART.md works as written: its checked steps run against real Podman and real images."""

from __future__ import annotations

import subprocess
import sys

from tests.e2e.support import REPO_ROOT


def test_quickstart_steps_pass(podman_env: dict[str, str], test_images: dict[str, str]) -> None:
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "quickstart_check.py")],
        capture_output=True,
        text=True,
        env=podman_env,
        timeout=300,
        check=False,
    )
    print(completed.stdout)
    assert completed.returncode == 0, f"{completed.stdout[-6000:]}\n{completed.stderr[-3000:]}"
    for expected in (
        "Ready",  # doctor
        "Added mcp-registry to Zed",
        "activated sqlite as prefix 'sqlite'",
        "called sqlite_list_tables",
        "container removed",
        "Removed mcp-registry from Zed",
        "every checked step passed and no container was left behind",
    ):
        assert expected in completed.stdout, expected
