"""`install <editor>` and `uninstall <editor>`: show or make the change to the editor's MCP config file.

The planning, diffing and safe writing are `editors.installer`'s; this module picks the file,
builds the entry (`editors.targets.server_launch` for stdio; `editors.remote` for `--url`, an
HTTP entry for a team registry whose token the editor reads from the environment or a prompt,
never from the file), and tells the user what changed, where the backup is, and what to do next.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mcp_registry_server.cli.output import CLIError, Style, emit_json, warn
from mcp_registry_server.editors.installer import EditorConfigError, EditPlan, apply, plan_install, plan_uninstall
from mcp_registry_server.editors.remote import (
    DEFAULT_TOKEN_ENV,
    REMOTE_SHAPES,
    RemoteEntryError,
    RemoteRefusal,
    RemoteServer,
    RemoteShape,
    check_token_env,
    check_url,
    remote_capable,
    vscode_input,
)
from mcp_registry_server.editors.targets import EDITORS, Editor, is_carried, server_launch

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _target(options: argparse.Namespace) -> tuple[Editor, Path]:
    editor = EDITORS[options.editor]
    path = Path(options.config).expanduser() if options.config else editor.config_path()
    return editor, path


def _extra_env(assignments: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for assignment in assignments:
        name, sep, value = assignment.partition("=")
        if not sep or not _ENV_NAME.fullmatch(name):
            raise CLIError(f"--env {assignment!r} is not NAME=VALUE.", exit_code=2)
        env[name] = value
    return env


def _report(plan: EditPlan, *, dry_run: bool, backup: Path | None, as_json: bool, extra: dict[str, Any]) -> None:
    if as_json:
        emit_json(
            {
                "editor": plan.editor.id,
                "name": plan.name,
                "path": str(plan.path),
                "action": plan.action,
                "changed": plan.changed,
                "dry_run": dry_run,
                "backup": str(backup) if backup else None,
                "deleted": plan.changed and plan.after is None,
                "entry": plan.entry,
                "diff": plan.diff(),
                **extra,
            }
        )
        return
    if dry_run and plan.changed:
        sys.stdout.write(plan.diff())
        print(Style(sys.stdout).dim("(dry run: nothing was written)"))


def _input_id(name: str) -> str:
    return f"{name}-token"


def _prompt_id(editor: Editor, name: str) -> str | None:
    """The id of the token prompt an HTTP entry brings in `inputs` (VS Code), which goes with the entry."""
    shape = REMOTE_SHAPES[editor.id]
    return _input_id(name) if isinstance(shape, RemoteShape) and not shape.uses_env else None


def _write(
    options: argparse.Namespace,
    editor: Editor,
    path: Path,
    make_plan: Callable[[], EditPlan],
    *,
    same: str,
    extra: dict[str, Any],
) -> EditPlan | None:
    """Plan, write (unless --dry-run) and report an install; None when the report is all there is to say."""
    try:
        plan = make_plan()
        backup = None if options.dry_run else apply(plan)
    except EditorConfigError as error:
        raise CLIError(str(error)) from None
    _report(plan, dry_run=options.dry_run, backup=backup, as_json=options.json, extra=extra)
    if options.json or options.dry_run:
        if options.dry_run and not plan.changed and not options.json:
            print(f"{editor.name} {same} ({path}); nothing to change.")
        return None
    if not plan.changed:
        print(f"{editor.name} {same} ({path}); nothing changed.")
    else:
        verb = "Added mcp-registry to" if plan.action == "add" else "Updated mcp-registry in"
        print(f"{Style(sys.stdout).green(verb)} {editor.name}: {path}")
        if backup:
            print(f"  backup: {backup}")
    return plan


def _install_remote(options: argparse.Namespace, editor: Editor, path: Path) -> int:
    stdio_only = [
        flag
        for flag, used in (("--command", options.command), ("--env", options.env), ("--no-env", options.no_env))
        if used
    ]
    if stdio_only:
        raise CLIError(
            f"{', '.join(stdio_only)} only apply to the stdio entry; leave them out with --url.", exit_code=2
        )
    shape = REMOTE_SHAPES[editor.id]
    if isinstance(shape, RemoteRefusal):
        capable = ", ".join(remote_capable())
        raise CLIError(
            f"{editor.name} cannot take an HTTP entry for the registry: {shape.reason} Nothing was changed. "
            f"Editors that can: {capable}. For {editor.name}, run `mcp-registry install {editor.id}` without --url "
            "to have it start the registry itself.",
            exit_code=2,
        )
    try:
        url = check_url(options.url, allow_http=options.allow_http)
        token_env = check_token_env(options.token_env or DEFAULT_TOKEN_ENV)
    except RemoteEntryError as error:
        raise CLIError(str(error), exit_code=2) from None
    server = RemoteServer(url, token_env, _input_id(options.name))
    root_input = None if shape.uses_env else vscode_input(server)
    if not shape.uses_env and options.token_env is not None:
        warn(f"{editor.name} prompts for the token instead of reading an environment variable; --token-env is unused.")
    extra = {"url": url, "token_env": token_env if shape.uses_env else None}
    entry = shape.build(server)
    same = f"already reaches the registry at {url}"
    plan = _write(
        options,
        editor,
        path,
        lambda: plan_install(editor, path, entry, options.name, root_input=root_input),
        same=same,
        extra=extra,
    )
    if plan is None:
        return 0
    style = Style(sys.stdout)
    print(f"  url:    {url}")
    print(f"  token:  {shape.token_hint(server)}")
    print(f"\n{style.bold('next')}: {editor.next_step}")
    return 0


def install(options: argparse.Namespace) -> int:
    editor, path = _target(options)
    if options.url is not None:
        return _install_remote(options, editor, path)
    if options.token_env is not None or options.allow_http:
        raise CLIError("--token-env and --allow-http only apply with --url.", exit_code=2)
    options_env = _extra_env(options.env)
    launch = server_launch(os.environ, command=options.command, extra_env=options_env, carry_env=not options.no_env)
    if not (os.path.isfile(launch.command) and os.access(launch.command, os.X_OK)):
        warn(f"{launch.command} is not an executable file; {editor.name} will fail to start the registry.")
    existed_dir = path.parent.is_dir()
    stale = _prompt_id(editor, options.name)
    carried = sorted(name for name in launch.env if is_carried(name) and name not in options_env)
    plan = _write(
        options,
        editor,
        path,
        lambda: plan_install(editor, path, editor.entry(launch), options.name, stale_input_id=stale),
        same="already runs mcp-registry this way",
        extra={"carried_env": carried},
    )
    if plan is None:
        return 0
    style = Style(sys.stdout)
    if plan.changed and not existed_dir:
        print(f"  created {path.parent} ({editor.name} has not been run here yet, or keeps its config elsewhere)")
    print(f"  runs:   {launch.command} {' '.join(launch.args)}")
    for name, value in sorted(launch.env.items()):
        origin = "from this shell" if name in carried else "--env"
        print(f"  env:    {name}={value}  {style.dim('(' + origin + ')')}")
    print(f"\n{style.bold('next')}: {editor.next_step}")
    print('Then ask the assistant to "search the registry for sqlite and activate it".')
    return 0


def uninstall(options: argparse.Namespace) -> int:
    editor, path = _target(options)
    try:
        plan = plan_uninstall(editor, path, options.name, input_id=_prompt_id(editor, options.name))
        backup = None if options.dry_run else apply(plan)
    except EditorConfigError as error:
        raise CLIError(str(error)) from None
    _report(plan, dry_run=options.dry_run, backup=backup, as_json=options.json, extra={})
    if options.json or options.dry_run:
        if options.dry_run and not plan.changed and not options.json:
            print(f"{editor.name} has no {options.name!r} entry in {path}; nothing to remove.")
        return 0
    if not plan.changed:
        print(f"{editor.name} has no {options.name!r} entry in {path}; nothing changed.")
        return 0
    style = Style(sys.stdout)
    print(f"{style.green('Removed')} mcp-registry from {editor.name}: {path}")
    if plan.after is None:
        print("  the file held nothing else, so it was deleted")
    if backup:
        print(f"  backup: {backup}")
    return 0
