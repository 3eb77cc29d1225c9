"""`token create|list|revoke`: the bearer tokens `serve --http` accepts (`config.tokens`).

`create` prints the token once on stdout (everything else goes to stderr, so `$(mcp-registry token
create x)` captures just the token); it is stored only as a hash. `list` never shows a token.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from mcp_registry_server.cli.common import load_settings
from mcp_registry_server.cli.output import CLIError, emit_json, print_table

if TYPE_CHECKING:
    from mcp_registry_server.config.tokens import TokenStore


def _store() -> TokenStore:
    from mcp_registry_server.config.tokens import TokenStore

    return TokenStore(load_settings().config_dir)


def create(options: argparse.Namespace) -> int:
    from mcp_registry_server.config.tokens import TokenError

    store = _store()
    try:
        token = store.create(options.name, options.workspace)
    except TokenError as error:
        raise CLIError(str(error)) from None
    if options.json:
        emit_json({"name": options.name, "workspace": options.workspace, "token": token})
    else:
        print(token)
        print(
            f"Token {options.name!r} for workspace {options.workspace!r}. It is shown only now; the registry keeps "
            "a hash. Send it as `Authorization: Bearer <token>`.",
            file=sys.stderr,
        )
    return 0


def list_tokens(options: argparse.Namespace) -> int:
    store = _store()
    records = store.records()
    if store.problem:
        raise CLIError(store.problem, hint="Fix or move the file away; `serve --http` accepts no token meanwhile.")
    if options.json:
        emit_json([{"name": r.name, "workspace": r.workspace, "created": r.created} for r in records])
    elif not records:
        print("No tokens. Create one with `mcp-registry token create NAME [--workspace W]`.")
    else:
        print_table(("NAME", "WORKSPACE", "CREATED"), [(r.name, r.workspace, r.created) for r in records])
    return 0


def revoke(options: argparse.Namespace) -> int:
    from mcp_registry_server.config.tokens import TokenError

    try:
        record = _store().revoke(options.name)
    except TokenError as error:
        raise CLIError(str(error)) from None
    if options.json:
        emit_json({"revoked": record.name, "workspace": record.workspace})
    else:
        print(f"Revoked {record.name!r} (workspace {record.workspace!r}).")
    return 0
