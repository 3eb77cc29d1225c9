"""`scripts/test_full_workflow.py` (the README's main job) passes against real Podman."""

from __future__ import annotations

import subprocess
import sys

from tests.e2e.support import REPO_ROOT


def test_full_workflow_script_passes(podman_env: dict[str, str], test_images: dict[str, str]) -> None:
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "test_full_workflow.py")],
        capture_output=True,
        text=True,
        env=podman_env,
        timeout=300,
        check=False,
    )
    print(completed.stdout)
    assert completed.returncode == 0, f"{completed.stdout}\n{completed.stderr[-4000:]}"
    assert "[ok  ] no container remains" in completed.stdout
    assert "workflow passed" in completed.stdout
