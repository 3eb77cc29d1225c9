"""Containers found by label with the `podman` command line: listed, named, removed.

Contract: `labelled_containers(label)` runs `podman ps --all --filter label=<label> --format json`
and returns podman's description of every container, running or not, that carries `label`
(`key` or `key=value`); `labelled_container_names` returns just their names. A podman that
fails or hangs raises `PodmanError` with podman's own words, never an empty list: an empty
listing is what "nothing was left behind" checks look for. `remove_containers` removes
containers by name at once (no stop timeout) and ignores those already gone.

This is for code beside the registry (scripts, tests) that has no API connection of its own;
the registry lists its containers through `api.PodmanAPI`. Every call blocks.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any

from mcp_registry_server.podman.errors import PodmanError

__all__ = ["labelled_container_names", "labelled_containers", "remove_containers"]

PODMAN_TIMEOUT_SECONDS = 60


def labelled_containers(label: str, environ: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """`podman ps --format json` rows of every container, running or not, that carries `label`."""
    argv = ["podman", "ps", "--all", "--filter", f"label={label}", "--format", "json"]
    return json.loads(_run(argv, environ, f"list the containers labelled {label}") or "[]") or []


def labelled_container_names(label: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """Names of every container, running or not, that carries `label`."""
    return [name for row in labelled_containers(label, environ) for name in row.get("Names") or []]


def remove_containers(names: Sequence[str], environ: Mapping[str, str] | None = None) -> None:
    """Remove the named containers, running or not, without waiting for them to stop."""
    if names:
        _run(["podman", "rm", "--force", "--ignore", "--time", "0", *names], environ, "remove containers")


def _run(argv: list[str], environ: Mapping[str, str] | None, purpose: str) -> str:
    env = dict(os.environ if environ is None else environ)
    remedy = "Run `mcp-registry doctor` to see what is wrong with Podman."
    try:
        completed = subprocess.run(
            argv, capture_output=True, text=True, env=env, timeout=PODMAN_TIMEOUT_SECONDS, check=False
        )
    except FileNotFoundError:
        raise PodmanError(f"Cannot {purpose}: podman is not on PATH.", remedy=remedy) from None
    except subprocess.TimeoutExpired:
        raise PodmanError(
            f"Cannot {purpose}: `{' '.join(argv[:2])}` did not finish in {PODMAN_TIMEOUT_SECONDS} s.", remedy=remedy
        ) from None
    if completed.returncode != 0:
        raise PodmanError(
            f"Cannot {purpose}: `{' '.join(argv[:2])}` exited with {completed.returncode}.",
            remedy=remedy,
            detail=completed.stderr,
        )
    return completed.stdout
