#!/usr/bin/env python3
"""Print the shell exports `podman run` needs on this host (none when Podman is healthy).

Usage: eval "$(.venv/bin/python scripts/podman_env.py)". Exits non-zero with podman's own
error and the remedy when `podman run` cannot be made to work.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from mcp_registry_server.podman.diagnostics import ensure_podman_runs

WORKAROUND_CONF = Path(__file__).resolve().parent.parent / "build" / "podman" / "containers.conf"


def main() -> int:
    try:
        additions = ensure_podman_runs(WORKAROUND_CONF)
    except RuntimeError as error:
        print(f"podman_env: {error}", file=sys.stderr)
        return 1
    for name, value in additions.items():
        print(f"export {name}={shlex.quote(value)}")
        print(f"podman_env: plain `podman run` fails here; using {value}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
