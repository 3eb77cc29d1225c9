#!/usr/bin/env python3
"""Probe each test image with a 2026-07-28 `server/discover` first, then the 2025 handshake.

Why: the registry probes every child with `server/discover` (as the SDK's Client mode="auto"
does) and falls back to `initialize` on an error. This script shows, per image, what a server
answers to that probe (a reply, a crash, or silence within `--wait` seconds) and whether it still
completes `initialize` + `notifications/initialized` + `tools/list` afterwards.

Contract: runs `podman run -i --rm --network=none <image> <args>` with the catalog entry's
`args` and `[[env]]` defaults from tests/catalog/<name>.toml; every wait is bounded; the container
is killed (and so removed) at the end. Prints a Markdown table, or JSON with `--json`.

Usage: python scripts/probe_discover.py [--json] [--wait SECONDS] [NAME ...]
(run `eval "$(python scripts/podman_env.py)"` first where plain `podman run` needs the workaround)
"""

from __future__ import annotations

import argparse
import io
import json
import queue
import subprocess
import sys
import threading
import time
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

REPO_ROOT = Path(__file__).resolve().parent.parent
CATALOG_DIR = REPO_ROOT / "tests" / "catalog"
DEFAULT_NAMES = ("time", "sqlite", "git", "everything", "memory", "misbehave", "modern")

MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "probe", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}
DISCOVER = {"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": MODERN_META}}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 2,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "probe", "version": "1"},
    },
}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
TOOLS_LIST = {"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {}}
# After a successful discover the connection speaks 2026-07-28: every request carries the envelope.
MODERN_TOOLS_LIST = {
    "jsonrpc": "2.0",
    "id": 4,
    "method": "tools/list",
    "params": {"_meta": MODERN_META},
}


@dataclass
class ProbeOutcome:
    image: str
    discover_reply: str  # the exact reply line, "silence", or "exited <code>"
    other_output: list[str]  # stdout lines that were not the reply to id 1 (notifications, logs)
    initialize_reply: str
    still_works: bool
    tool_count: int | None
    modern_tool_count: int | None  # tools from a 2026-07-28 tools/list after a successful discover
    stderr_tail: str


class Child:
    """A container whose stdout lines land in a queue and whose stderr is collected."""

    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: queue.Queue[bytes | None] = queue.Queue()
        self.stderr = bytearray()
        threading.Thread(target=self._pump_stdout, daemon=True).start()
        threading.Thread(target=self._pump_stderr, daemon=True).start()

    def _pump_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip(b"\n"))
        self.lines.put(None)

    def _pump_stderr(self) -> None:
        assert self.proc.stderr is not None
        while chunk := cast(io.BufferedReader, self.proc.stderr).read1(65536):
            self.stderr += chunk

    def send(self, message: dict[str, Any]) -> bool:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(message).encode() + b"\n")
            self.proc.stdin.flush()
        except OSError:
            return False
        return True

    def reply_to(self, request_id: int, seconds: float, others: list[str]) -> str | None:
        """The raw line answering `request_id`; None on silence; 'exited N' at EOF."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                return None
            if line is None:
                self.lines.put(None)  # Stay at EOF for later readers.
                try:
                    return f"exited {self.proc.wait(5)}"
                except subprocess.TimeoutExpired:
                    return "stdout closed"
            text = line.decode(errors="replace")
            try:
                message = json.loads(line)
            except ValueError:
                others.append(text)
                continue
            if isinstance(message, dict) and message.get("id") == request_id and "method" not in message:
                return text
            others.append(text)
        return None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def podman_argv(name: str) -> tuple[str, list[str]]:
    entry = tomllib.loads((CATALOG_DIR / f"{name}.toml").read_text())
    env_flags = [f"--env={var['name']}={var['default']}" for var in entry.get("env", []) if "default" in var]
    return entry["image"], [
        "podman",
        "run",
        "-i",
        "--rm",
        "--network=none",
        *env_flags,
        entry["image"],
        *entry.get("args", []),
    ]


def count_tools(reply: str | None) -> int | None:
    if reply is None or not reply.startswith("{"):
        return None
    result = json.loads(reply).get("result")
    return len(result.get("tools") or []) if isinstance(result, dict) else None


def probe(name: str, wait: float) -> ProbeOutcome:
    image, argv = podman_argv(name)
    child = Child(argv)
    others: list[str] = []
    try:
        child.send(DISCOVER)
        discover = child.reply_to(1, wait, others) or f"silence ({wait:g} s)"
        initialize: str | None = None
        tools_reply: str | None = None
        if child.send(INITIALIZE):
            initialize = child.reply_to(2, max(wait, 10), others)
            if initialize is not None and '"result"' in initialize:
                child.send(INITIALIZED)
                child.send(TOOLS_LIST)
                tools_reply = child.reply_to(3, max(wait, 10), others)
        tool_count = count_tools(tools_reply)
        modern_tool_count = None
        if '"result"' in discover and child.send(MODERN_TOOLS_LIST):
            modern_tool_count = count_tools(child.reply_to(4, max(wait, 10), others))
    finally:
        child.stop()
    return ProbeOutcome(
        image=image,
        discover_reply=discover,
        other_output=others,
        initialize_reply=(initialize or "silence")[:300],
        still_works=tool_count is not None and tool_count > 0,
        tool_count=tool_count,
        modern_tool_count=modern_tool_count,
        stderr_tail=bytes(child.stderr[-600:]).decode(errors="replace"),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", default=list(DEFAULT_NAMES), help="test catalog entries to probe")
    parser.add_argument("--wait", type=float, default=5.0, help="seconds to wait for the discover reply")
    parser.add_argument("--json", action="store_true", help="print the full outcomes as JSON")
    options = parser.parse_args()
    outcomes = {name: probe(name, options.wait) for name in options.names}
    if options.json:
        print(json.dumps({name: asdict(outcome) for name, outcome in outcomes.items()}, indent=2))
        return 0
    print("| image | reply to server/discover | works after initialize? | 2026 tools/list after discover |")
    print("|---|---|---|---|")
    for name, outcome in outcomes.items():
        works = f"yes ({outcome.tool_count} tools)" if outcome.still_works else f"no: `{outcome.initialize_reply}`"
        modern = "-" if outcome.modern_tool_count is None else f"{outcome.modern_tool_count} tools"
        print(f"| {name} | `{outcome.discover_reply}` | {works} | {modern} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
