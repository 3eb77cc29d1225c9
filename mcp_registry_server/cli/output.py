"""How CLI commands talk to people and scripts: errors with hints, `--json`, tables, colour, progress.

Contract: data goes to stdout (a table for people, one JSON document with `--json`); progress,
warnings and errors go to stderr, so `mcp-registry list --json | jq` always sees clean JSON. A
command fails by raising `CLIError(message, hint=...)`; `main` prints `error: <message>` and
`hint: <hint>` and exits with its code (1, or 2 for a usage mistake). Colour is used only on a
terminal and never when NO_COLOR is set. Standard library only: every command imports this.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

__all__ = ["CLIError", "ProgressBar", "Style", "emit_json", "podman_failure", "print_table", "warn"]


class CLIError(Exception):
    """A command failed; `message` says what happened, `hint` what to do about it."""

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code


class Style:
    """ANSI styling for one stream, switched off when it is not a terminal or NO_COLOR is set."""

    def __init__(self, stream: TextIO) -> None:
        self.enabled = (
            hasattr(stream, "isatty")
            and stream.isatty()
            and "NO_COLOR" not in os.environ
            and os.environ.get("TERM") != "dumb"
        )
        encoding = getattr(stream, "encoding", None) or "ascii"
        try:
            "✓✗…".encode(encoding)
            self.unicode = True
        except (UnicodeEncodeError, LookupError):
            self.unicode = False

    def _wrap(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.enabled else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def green(self, text: str) -> str:
        return self._wrap("32", text)

    def yellow(self, text: str) -> str:
        return self._wrap("33", text)

    def red(self, text: str) -> str:
        return self._wrap("31", text)

    def mark(self, status: str) -> str:
        marks = {"ok": ("✓", "ok"), "warn": ("!", "!!"), "fail": ("✗", "XX"), "skip": ("-", "--")}
        symbol = marks.get(status, ("?", "??"))[0 if self.unicode else 1]
        colour = {"ok": self.green, "warn": self.yellow, "fail": self.red}.get(status, self.dim)
        return colour(symbol)


def podman_failure(error: Any) -> CLIError:
    """The CLIError for a `PodmanError` that stops a command: Podman's words, its remedy, the doctor."""
    return CLIError(
        error.summary + (f"\nPodman said: {error.detail}" if error.detail else ""),
        hint=(error.remedy or "") + " Run `mcp-registry doctor` for a full diagnosis.",
    )


def emit_json(data: Any) -> None:
    """Print `data` as one JSON document on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def warn(message: str) -> None:
    style = Style(sys.stderr)
    print(f"{style.yellow('warning')}: {message}", file=sys.stderr)


def _width(text: str) -> int:
    return len(text)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, shrink: int | None = None) -> None:
    """Aligned columns on stdout; column `shrink` is cut to fit the terminal's width."""
    style = Style(sys.stdout)
    widths = [max([_width(h), *(_width(row[i]) for row in rows)]) for i, h in enumerate(headers)]
    if shrink is not None and sys.stdout.isatty():
        total = shutil.get_terminal_size((120, 24)).columns
        others = sum(width + 2 for i, width in enumerate(widths) if i != shrink)
        widths[shrink] = max(min(widths[shrink], total - others), len(headers[shrink]), 12)
    ellipsis = "…" if style.unicode else "..."

    def cell(text: str, width: int, last: bool) -> str:
        if _width(text) > width:
            text = text[: max(width - len(ellipsis), 0)] + ellipsis
        return text if last else text.ljust(width)

    print(
        style.bold(
            "  ".join(cell(h, w, i == len(headers) - 1) for i, (h, w) in enumerate(zip(headers, widths, strict=True)))
        )
    )
    for row in rows:
        print("  ".join(cell(text, w, i == len(row) - 1) for i, (text, w) in enumerate(zip(row, widths, strict=True))))


class ProgressBar:
    """Progress of one long task on stderr.

    On a terminal it redraws one line: a bar when the total is known, else a spinner with the
    latest message. Elsewhere (CI logs, pipes) it prints each new message on its own line.
    """

    _SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

    def __init__(self, title: str, stream: TextIO | None = None) -> None:
        self.title = title
        self.stream = stream or sys.stderr
        self.interactive = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.style = Style(self.stream)
        self._frame = 0
        self._last_message = ""
        self._started = time.monotonic()

    def update(self, completed: float | None, total: float | None, message: str) -> None:
        if not self.interactive:
            if message and message != self._last_message:
                print(f"  {message}", file=self.stream, flush=True)
            self._last_message = message
            return
        self._last_message = message or self._last_message
        columns = shutil.get_terminal_size((100, 24)).columns
        if completed is not None and total:
            fraction = max(0.0, min(1.0, completed / total))
            filled = int(fraction * 24)
            bar = ("█" * filled + "░" * (24 - filled)) if self.style.unicode else ("#" * filled + "-" * (24 - filled))
            head = f"{self.title} {bar} {fraction * 100:5.1f}%"
        else:
            spinner = self._SPINNER if self.style.unicode else "|/-\\"
            head = f"{spinner[self._frame % len(spinner)]} {self.title}"
            self._frame += 1
        room = columns - len(head) - 3
        message = self._last_message[:room] if room > 8 else ""
        self.stream.write("\r\033[K" + head + (f"  {self.style.dim(message)}" if message else ""))
        self.stream.flush()

    def finish(self, message: str) -> None:
        if self.interactive:
            self.stream.write("\r\033[K")
        elapsed = time.monotonic() - self._started
        print(f"{message} ({elapsed:.1f} s)", file=self.stream, flush=True)
