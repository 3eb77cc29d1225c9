"""One doctor check's result, and the small helpers the checks share.

A `Check` is plain data: its name, a status (`ok`, `warn`, `fail`, `skip`), a one-line summary,
detail lines (Podman's own words, paths), the fix to show when it is not ok, and extra data for
`--json`. The helpers run a command with a bounded wait and keep the end of long output.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Check", "Status", "last_lines", "run_command"]

Status = Literal["ok", "warn", "fail", "skip"]
SUBPROCESS_TIMEOUT = 20


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    summary: str
    details: tuple[str, ...] = ()
    fix: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "summary": self.summary,
            "details": list(self.details),
            "fix": self.fix,
            **({"data": dict(self.data)} if self.data else {}),
        }


def run_command(argv: list[str], environ: Mapping[str, str]) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(
            argv, capture_output=True, text=True, env=dict(environ), timeout=SUBPROCESS_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def last_lines(text: str, count: int = 6) -> tuple[str, ...]:
    return tuple(line for line in text.strip().splitlines()[-count:] if line.strip())
