"""One podman CLI command, bounded: its stdout, or a `PodmanError` saying which command failed and why.

For what the API cannot do or may not reach: checks when the API service is gone (`runner`), and
Podman secrets with labels (`secret_store`). `stdin` is written to the command's stdin (a secret
value goes there, never on the argv); otherwise stdin is /dev/null.
"""

# `timeout=` (ASYNC109) is deliberate: each command is bounded on its own and reported by name.
# ruff: noqa: ASYNC109

from __future__ import annotations

import subprocess
from collections.abc import Sequence

import anyio

from mcp_registry_server.podman.diagnostics import PODMAN_MISSING
from mcp_registry_server.podman.errors import PodmanError

__all__ = ["run_podman"]


async def run_podman(
    podman: str | Sequence[str], args: list[str], *, timeout: float, stdin: bytes | None = None
) -> str:
    """The stdout of `podman <args>`; `PodmanError` when it fails or takes longer than `timeout`.

    `podman` is the executable, or the start of the command (`PodmanEndpoint.cli_prefix`)."""
    prefix = [podman] if isinstance(podman, str) else list(podman)
    what = f"`podman {args[0]}`"
    try:
        with anyio.fail_after(timeout):
            completed = await anyio.run_process(
                [*prefix, *args], input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL, check=False
            )
    except TimeoutError:
        raise PodmanError(
            f"{what} did not finish within {timeout:g} s.", remedy="Check that Podman works (`podman info`)."
        ) from None
    except OSError as error:
        raise PodmanError(
            f"Could not run {prefix[0]!r} ({error.strerror or error}).", remedy=PODMAN_MISSING.remedy
        ) from error
    if completed.returncode != 0:
        raise PodmanError(
            f"{what} exited with code {completed.returncode}.",
            remedy="Run `mcp-registry doctor` to see what is wrong with Podman.",
            detail=completed.stderr.decode(errors="replace"),
        )
    return completed.stdout.decode(errors="replace")
