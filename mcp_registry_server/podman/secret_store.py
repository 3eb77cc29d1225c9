"""Podman secrets that carry one container's secret values, from `podman run` until it is gone.

Contract: `create_container_secrets` makes one Podman secret per value, named
`<container name>-<VAR>` and carrying the container's registry labels (managed, instance, owner),
and returns VAR → secret name for `command.secret_flags`. The value goes to `podman secret create
NAME -` on its stdin: never on an argv, never in an environment. (The podman CLI, not the API:
podman-py drops labels, and the orphan sweep needs the owner label.) If one creation fails, the
ones made so far are removed before the error is raised. `remove_secrets` removes secrets by name;
one already gone is fine. `labelled_secrets` lists every secret with its labels, for the sweep.
Every command is bounded by `timeout`; failures are `PodmanError`s that never quote a value.
"""

# `timeout=` (ASYNC109) is deliberate: each podman command is bounded on its own and reported by name.
# ruff: noqa: ASYNC109

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence

import anyio

from mcp_registry_server.podman.cli_command import run_podman
from mcp_registry_server.podman.errors import PodmanError

__all__ = ["create_container_secrets", "labelled_secrets", "remove_secrets"]

logger = logging.getLogger(__name__)


async def create_container_secrets(
    podman: str | Sequence[str], container: str, values: Mapping[str, str], labels: Mapping[str, str], *, timeout: float
) -> dict[str, str]:
    """One Podman secret per value (see the module contract); VAR → secret name."""
    created: dict[str, str] = {}
    label_args = [arg for key, value in labels.items() for arg in ("--label", f"{key}={value}")]
    try:
        for env_name, value in values.items():
            secret_name = f"{container}-{env_name}"
            await run_podman(
                podman, ["secret", "create", *label_args, secret_name, "-"], timeout=timeout, stdin=value.encode()
            )
            created[env_name] = secret_name
    except BaseException:
        with anyio.CancelScope(shield=True):
            await remove_secrets(podman, list(created.values()), timeout=timeout)
        raise
    return created


async def remove_secrets(podman: str | Sequence[str], names: Sequence[str], *, timeout: float) -> list[str]:
    """Removes the named secrets; returns those it could not remove (logged, never raised)."""
    left: list[str] = []
    for name in names:
        try:
            await run_podman(podman, ["secret", "rm", name], timeout=timeout)
        except PodmanError as error:
            if "no such secret" in (error.detail or ""):
                continue
            logger.warning("Could not remove Podman secret %s: %s", name, error.summary)
            left.append(name)
    return left


async def labelled_secrets(podman: str | Sequence[str], *, timeout: float) -> dict[str, dict[str, str]]:
    """Every Podman secret's name and labels."""
    ids = (await run_podman(podman, ["secret", "ls", "--noheading", "--format", "{{.ID}}"], timeout=timeout)).split()
    if not ids:
        return {}
    inspected = json.loads(await run_podman(podman, ["secret", "inspect", *ids], timeout=timeout) or "[]")
    return {item["Spec"]["Name"]: dict(item["Spec"].get("Labels") or {}) for item in inspected}
