#!/usr/bin/env python3
"""Run the steps of QUICKSTART.md that are marked `<!-- check -->`, the way CI does.

Every ```bash block directly after a `<!-- check -->` line runs, in document order, as one bash
script with `set -euo pipefail` (each command is echoed first). It runs in a fresh HOME with the
XDG dirs inside it, this checkout's `.venv/bin` first on PATH, the test catalog (tests/catalog:
local images, no registry needed) and a label unique to the run on every container, so real
Podman and real images are used and nothing of the user's is touched. Exits non-zero when a
step fails or when a container of the run is left behind (it is then removed).

Usage: `.venv/bin/python scripts/quickstart_check.py` (after `bash scripts/dev.sh test` has set
up Podman and the images; `tests/e2e/test_quickstart.py` runs it in the test suite).
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

from mcp_registry_server.podman.labelled import labelled_container_names, remove_containers

REPO_ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = REPO_ROOT / "QUICKSTART.md"
MARKER = "<!-- check -->"
_FENCE = re.compile(r"^```bash\s*$")


def checked_blocks(markdown: str) -> list[str]:
    """The bodies of the ```bash blocks that directly follow a `<!-- check -->` line."""
    blocks: list[str] = []
    lines = markdown.splitlines()
    index = 0
    while index < len(lines):
        if lines[index].strip() == MARKER:
            index += 1
            while index < len(lines) and not lines[index].strip():
                index += 1
            if index >= len(lines) or not _FENCE.match(lines[index]):
                raise ValueError(f"QUICKSTART.md line {index + 1}: {MARKER} must be followed by a ```bash block")
            body: list[str] = []
            index += 1
            while index < len(lines) and lines[index].strip() != "```":
                body.append(lines[index])
                index += 1
            blocks.append("\n".join(body))
        index += 1
    return blocks


def main() -> int:
    blocks = checked_blocks(QUICKSTART.read_text(encoding="utf-8"))
    if not blocks:
        print("quickstart_check: no checked blocks in QUICKSTART.md", file=sys.stderr)
        return 1
    run_label = f"io.mcp-registry.quickstart={secrets.token_hex(4)}"
    script = "set -euo pipefail\nPS4='\n$ '\nset -x\n" + "\n".join(blocks) + "\n"
    with tempfile.TemporaryDirectory(prefix="mcp-registry-quickstart-") as home:
        env = {
            **os.environ,
            "HOME": home,
            "XDG_CONFIG_HOME": f"{home}/.config",
            "XDG_DATA_HOME": f"{home}/.local/share",
            "XDG_STATE_HOME": f"{home}/.local/state",
            "XDG_CACHE_HOME": f"{home}/.cache",
            "PATH": f"{REPO_ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "MCP_REGISTRY_CATALOG_PATH": str(REPO_ROOT / "tests" / "catalog"),
            "MCP_REGISTRY_LABELS": f"io.mcp-registry.test=1,{run_label}",
            "NO_COLOR": "1",
        }
        print(f"quickstart_check: {len(blocks)} checked block(s) from QUICKSTART.md, HOME={home}", flush=True)
        completed = subprocess.run(["bash", "-c", script], cwd=home, env=env, check=False, stderr=subprocess.STDOUT)
    left = labelled_container_names(run_label)
    if left:
        remove_containers(left)
        print(f"quickstart_check: FAILED: containers left behind: {', '.join(left)}", file=sys.stderr)
        return 1
    if completed.returncode != 0:
        print(f"quickstart_check: FAILED: a step exited with {completed.returncode}", file=sys.stderr)
        return 1
    print("quickstart_check: every checked step passed and no container was left behind", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
