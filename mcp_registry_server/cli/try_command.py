"""`try <entry>`: do what an editor does, once: start `mcp-registry serve`, activate the entry, use it, remove it.

The registry runs as a child over stdio, driven by the `mcp` SDK's client exactly as an editor
drives it: `registry_add`, then optionally one tool call through `registry_exec`, then
`registry_remove`. So a success here means the editor will work too (same executable, same
settings, same catalog and config). The registry's own log goes to a temp file and is shown only
when something fails. Leaving the session closes the registry, which removes its container.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from typing import Any

from mcp_registry_server.cli.common import find_entry, load_catalog, load_settings
from mcp_registry_server.cli.output import CLIError, Style, emit_json

_LOG_TAIL_LINES = 25


def _text(result: Any) -> str:
    return "\n".join(item.text for item in result.content if getattr(item, "type", None) == "text")


def _log_tail(log: Any) -> str:
    log.flush()
    log.seek(0)
    lines = log.read().splitlines()[-_LOG_TAIL_LINES:]
    return "\n".join(lines)


async def _session(options: argparse.Namespace, arguments: dict[str, Any] | None, log: Any) -> dict[str, Any]:
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    from mcp_registry_server.editors.targets import server_launch

    launch = server_launch(os.environ, carry_env=False)
    params = StdioServerParameters(command=launch.command, args=list(launch.args), env=dict(os.environ))
    report: dict[str, Any] = {"entry": options.entry, "command": [launch.command, *launch.args]}
    style = Style(sys.stderr)
    say = (lambda _: None) if options.json else (lambda text: print(text, file=sys.stderr, flush=True))
    started = time.perf_counter()
    async with stdio_client(params, errlog=log) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        say(f"{style.dim('started')} {launch.command} {' '.join(launch.args)} ({time.perf_counter() - started:.1f} s)")
        add_args: dict[str, Any] = {"entry_id": options.entry}
        if options.prefix:
            add_args["prefix"] = options.prefix
        say(f"{style.dim('activating')} {options.entry} (the first time may pull its image) …")
        began = time.perf_counter()
        added = await session.call_tool("registry_add", add_args)
        if added.is_error:
            raise CLIError(f"Activating {options.entry} failed:\n{_text(added)}", hint=_failure_hint(log))
        info = added.structured_content or {}
        tools = list(info.get("tools", []))
        report.update(
            prefix=info.get("prefix"),
            container=info.get("container"),
            tools=tools,
            activate_seconds=round(time.perf_counter() - began, 2),
        )
        try:
            if options.call:
                name = _tool_name(options.call, info.get("prefix", ""), tools)
                began = time.perf_counter()
                result = await session.call_tool("registry_exec", {"tool_name": name, "arguments": arguments or {}})
                report["call"] = {
                    "tool": name,
                    "arguments": arguments or {},
                    "is_error": bool(result.is_error),
                    "text": _text(result),
                    "seconds": round(time.perf_counter() - began, 2),
                }
        finally:
            removed = await session.call_tool("registry_remove", {"entry_id_or_prefix": info.get("prefix", "")})
            report["container_removed"] = bool((removed.structured_content or {}).get("container_removed"))
    report["total_seconds"] = round(time.perf_counter() - started, 2)
    return report


def _tool_name(wanted: str, prefix: str, tools: list[str]) -> str:
    for candidate in (f"{prefix}_{wanted}", wanted):
        if candidate in tools:
            return candidate
    raise CLIError(f"{wanted!r} is not a tool of this server.", hint=f"Its tools: {', '.join(tools) or 'none'}.")


def _innermost(error: BaseException) -> BaseException:
    """A `CLIError` inside (nested) exception groups if there is one, else the first leaf."""
    if not isinstance(error, BaseExceptionGroup):
        return error
    leaves = [_innermost(inner) for inner in error.exceptions]
    return next((leaf for leaf in leaves if isinstance(leaf, CLIError)), leaves[0])


def _failure_hint(log: Any) -> str:
    tail = _log_tail(log)
    shown = f"The registry's log ends with:\n{tail}\n" if tail else ""
    return shown + "Run `mcp-registry doctor` to check Podman and the catalog."


def try_entry(options: argparse.Namespace) -> int:
    import anyio

    settings = load_settings()
    entry = find_entry(load_catalog(settings), options.entry)
    try:
        arguments = json.loads(options.args)
    except json.JSONDecodeError as error:
        raise CLIError(f"--args is not JSON: {error}", hint='Give an object, e.g. --args \'{"query": "x"}\'.') from None
    if not isinstance(arguments, dict):
        raise CLIError("--args must be a JSON object.", exit_code=2)
    from mcp_registry_server.config import ConfigStore

    missing = ConfigStore(settings.config_dir).resolved_values(entry).missing_required
    if missing:
        raise CLIError(
            f"{entry.id} needs {', '.join(missing)} before it can start.",
            hint=f"Set it with `mcp-registry config set {entry.id} {missing[0]}` (secrets are prompted for).",
        )
    with tempfile.TemporaryFile("w+", encoding="utf-8", prefix="mcp-registry-try-") as log:
        try:
            report = anyio.run(_session, options, arguments, log)
        except Exception as error:
            # The SDK's task groups wrap what our session raised; the innermost error is the story.
            cause = _innermost(error)
            if isinstance(cause, CLIError):
                raise cause from None
            raise CLIError(f"The registry session failed: {cause}", hint=_failure_hint(log)) from error
    if options.json:
        emit_json(report)
        return 1 if report.get("call", {}).get("is_error") else 0
    style = Style(sys.stdout)
    print(
        f"{style.green('activated')} {entry.id} as prefix {report['prefix']!r} in container {report['container']} "
        f"({report['activate_seconds']:.1f} s)"
    )
    print(f"tools ({len(report['tools'])}): {', '.join(report['tools'])}")
    call = report.get("call")
    if call:
        label = style.red("failed") if call["is_error"] else style.green("called")
        print(f"{label} {call['tool']} ({call['seconds']:.2f} s):")
        for line in call["text"].splitlines() or [""]:
            print(f"  {line}")
    removed = "container removed" if report["container_removed"] else style.yellow("container not confirmed gone")
    print(f"{style.green('deactivated')} {entry.id}, {removed} ({report['total_seconds']:.1f} s in all)")
    if not call and report["tools"]:
        example = report["tools"][0].removeprefix(f"{report['prefix']}_")
        print(style.dim(f"Call a tool too: mcp-registry try {entry.id} --call {example}"))
    return 1 if call and call["is_error"] else 0
