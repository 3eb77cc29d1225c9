"""`doctor`: run the checks of `mcp_registry_server.doctor`, print them, and apply fixes with `--fix`.

Exit code 0 when nothing failed (warnings allowed), 1 otherwise; after `--fix` the checks run
again, so the exit code says whether the fixes worked.
"""

from __future__ import annotations

import argparse
import os
import sys

from mcp_registry_server.cli.output import Style, emit_json


def _print(checks: list, style: Style) -> None:
    width = max(len(check.name) for check in checks)
    for check in checks:
        print(f"{style.mark(check.status)} {check.name:<{width}}  {check.summary}")
        if check.status != "ok" or check.name in {"environment", "editors"}:
            for detail in check.details:
                print(f"  {'':<{width}}  {style.dim(detail)}")
        if check.fix and check.status in {"warn", "fail"}:
            lines = check.fix.splitlines()
            print(f"  {'':<{width}}  {style.bold('fix')}: {lines[0]}")
            for line in lines[1:]:
                print(f"  {'':<{width}}       {line}")


def doctor(options: argparse.Namespace) -> int:
    import anyio

    from mcp_registry_server.doctor import apply_fixes, run_checks

    checks = anyio.run(run_checks)
    fixes: list[str] = []
    if options.fix:
        outcome = apply_fixes(checks)
        fixes = outcome.done
        if fixes:
            # Check again as things will be once the user exports what the fixes need.
            checks = anyio.run(run_checks, {**os.environ, **outcome.environ_additions})
    failed = [check for check in checks if check.status == "fail"]
    warned = [check for check in checks if check.status == "warn"]
    if options.json:
        emit_json({"ok": not failed, "checks": [check.to_json() for check in checks], "fixes": fixes})
        return 1 if failed else 0
    style = Style(sys.stdout)
    for fix in fixes:
        print(f"{style.bold('fixed')}: {fix}")
    if fixes:
        print()
    _print(checks, style)
    print()
    if failed:
        print(style.red(f"{len(failed)} problem(s), {len(warned)} warning(s).") + " Fix the failed checks first.")
    elif warned:
        print(style.green("Ready") + f", with {len(warned)} warning(s).")
    else:
        print(
            style.green("Ready.")
            + " Ask your editor's assistant to activate a server, or run `mcp-registry try sqlite`."
        )
    return 1 if failed else 0
