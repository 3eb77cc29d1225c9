"""`scripts/test_full_workflow.py` (the README's main job) passes against real Podman."""

from __future__ import annotations

from tests.e2e.support import run_repo_script


def test_full_workflow_script_passes(podman_env: dict[str, str], test_images: dict[str, str]) -> None:
    stdout = run_repo_script("test_full_workflow.py", podman_env)
    assert "[ok  ] no container remains" in stdout
    assert "workflow passed" in stdout
