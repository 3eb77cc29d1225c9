"""The `mcp-registry` command tree: every command, option, help text and example, and nothing else.

Each command names its handler as `"<module>:<function>"` inside `mcp_registry_server.cli`; `main`
imports the module only when that command runs, so `--help` and the bare `mcp-registry` (what
editors run) never pay for the others. Standard library only.
"""

from __future__ import annotations

import argparse

from mcp_registry_server import __version__
from mcp_registry_server.editors.targets import EDITOR_IDS

__all__ = ["build_parser"]

_FORMATTER = argparse.RawDescriptionHelpFormatter

_TOP_EPILOG = """\
get started:
  mcp-registry doctor                   check that Podman can run MCP servers here
  mcp-registry install zed              add the registry to Zed (or claude-desktop, vscode, cursor, claude-code)
  mcp-registry try sqlite               activate a server once, outside the editor, to see its tools
  then ask your editor's assistant:     "activate sqlite and list its tables"

Editors run `mcp-registry` with no arguments (or `mcp-registry serve`): that serves MCP over stdio.
Every command takes --help; most take --json for scripts.
"""


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def _add(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    handler: str,
    summary: str,
    description: str,
    examples: tuple[str, ...],
    *,
    json_output: bool = True,
) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name,
        help=summary,
        description=description,
        epilog=_examples(*examples),
        formatter_class=_FORMATTER,
    )
    if json_output:
        parser.add_argument("--json", action="store_true", help="print JSON on stdout instead of text")
    parser.set_defaults(handler=handler)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mcp-registry",
        description="A Podman-backed MCP registry server for desktop editors: your editor runs one MCP server, "
        "and through it the assistant searches a catalog, activates servers in hardened containers and "
        "calls their tools.",
        epilog=_TOP_EPILOG,
        formatter_class=_FORMATTER,
    )
    parser.add_argument("--version", action="version", version=f"mcp-registry {__version__}")
    parser.add_argument(
        "--log-level",
        default=None,
        metavar="LEVEL",
        help="logging level on stderr: DEBUG, INFO, WARNING, ERROR (default: INFO for serve, WARNING otherwise)",
    )
    parser.set_defaults(handler="serve", command=None)
    commands = parser.add_subparsers(dest="command", metavar="<command>", title="commands")

    serve = _add(
        commands,
        "serve",
        "serve",
        "serve MCP over stdio (the default; what editors run), or over HTTP for a team",
        "Serve MCP over stdin/stdout until the editor disconnects. Editors start this; you rarely run it by hand.\n\n"
        "With --http, serve MCP streamable HTTP at http://HOST:PORT/mcp instead (127.0.0.1 unless --allow-remote), "
        "for every holder of a token (`mcp-registry token create`); each token's workspace has its own servers, "
        "containers, settings and results. /healthz needs no token; /metrics does.",
        (
            "mcp-registry serve",
            "MCP_REGISTRY_CATALOG_PATH=~/my-catalog mcp-registry serve",
            "mcp-registry serve --http 8765",
            "mcp-registry serve --http 0.0.0.0:8443 --allow-remote --tls-cert cert.pem --tls-key key.pem",
        ),
        json_output=False,
    )
    serve.add_argument("--http", metavar="[HOST:]PORT", help="serve MCP over streamable HTTP here instead of stdio")
    serve.add_argument("--allow-remote", action="store_true", help="allow --http on an address other than loopback")
    serve.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS with this certificate (PEM; with --tls-key)")
    serve.add_argument("--tls-key", metavar="FILE", help="the certificate's private key (PEM)")

    # -- HTTP tokens --------------------------------------------------------------------------
    token = commands.add_parser(
        "token",
        help="bearer tokens for `serve --http`",
        description="Create, list and revoke the bearer tokens `serve --http` accepts. Only a hash of each token "
        "is kept (in <config dir>/http-tokens.json, 0600); the token is printed once, when it is created.",
        epilog=_examples(
            "mcp-registry token create alice",
            "mcp-registry token create ci --workspace builds",
            "mcp-registry token list",
            "mcp-registry token revoke alice",
        ),
        formatter_class=_FORMATTER,
    )
    token_commands = token.add_subparsers(dest="token_command", metavar="<command>", title="commands")
    token_commands.required = True
    create = _add(
        token_commands,
        "create",
        "token_commands:create",
        "make a new token (printed once)",
        "Make a token for a workspace and print it once on stdout. Give it to the editor as the header "
        "`Authorization: Bearer <token>`.",
        ("mcp-registry token create alice", "mcp-registry token create ci --workspace builds"),
    )
    create.add_argument("name", help="a name for the token (lowercase letters, digits, - and _)")
    create.add_argument("--workspace", default="default", help="the workspace it reaches (default: default)")
    _add(
        token_commands,
        "list",
        "token_commands:list_tokens",
        "show the tokens (names and workspaces, never the tokens)",
        "Show each token's name, workspace and creation time.",
        ("mcp-registry token list",),
    )
    revoke = _add(
        token_commands,
        "revoke",
        "token_commands:revoke",
        "stop accepting a token",
        "Forget a token; a running server refuses it from its next request on.",
        ("mcp-registry token revoke alice",),
    )
    revoke.add_argument("name", help="the token's name")

    # -- editors ------------------------------------------------------------------------------
    editor_help = "one of: " + ", ".join(EDITOR_IDS)
    install = _add(
        commands,
        "install",
        "editor_commands:install",
        "add mcp-registry to an editor's MCP configuration",
        "Add an entry that starts `mcp-registry serve` to the editor's or CLI agent's user-level MCP config file "
        "(JSON with comments; TOML for Codex). Only that entry is written: comments, trailing commas and other "
        "servers stay byte-for-byte. The old file is kept as <file>.mcp-registry-backup-<time>. Running it again "
        "changes nothing unless something moved.\n\n"
        "The entry runs this mcp-registry by absolute path, and carries CONTAINERS_CONF, CONTAINER_HOST and "
        "MCP_REGISTRY_* when they are set here (editors started from the desktop do not see your shell's "
        "exports). Use --no-env to leave them out.",
        (
            "mcp-registry install zed --dry-run     # show the diff, write nothing",
            "mcp-registry install zed",
            "mcp-registry install vscode --config ~/.config/Code\\ -\\ Insiders/User/mcp.json",
            "mcp-registry install claude-code --env MCP_REGISTRY_CALL_TIMEOUT=300",
            "mcp-registry install codex           # ~/.codex/config.toml, or $CODEX_HOME/config.toml",
            "mcp-registry install claude-code --url https://registry.example:8443/mcp   # a team registry; token in $MCPR_TOKEN",
            "mcp-registry install vscode --url https://registry.example:8443/mcp        # VS Code prompts for the token",
        ),
    )
    install.add_argument("editor", choices=EDITOR_IDS, metavar="EDITOR", help=editor_help)
    _editor_file_options(install)
    install.add_argument("--command", metavar="PATH", help="the executable the editor runs (default: this one)")
    install.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="add an environment variable to the entry (repeatable; never put secrets here)",
    )
    install.add_argument("--no-env", action="store_true", help="do not carry CONTAINERS_CONF etc. into the entry")
    install.add_argument(
        "--url",
        metavar="URL",
        help="write an HTTP entry for a registry run with `serve --http` (its URL, ending in /mcp) instead of a stdio one",
    )
    install.add_argument(
        "--token-env",
        metavar="VAR",
        help="with --url: the environment variable the editor reads the bearer token from (default: MCPR_TOKEN); "
        "the token itself is never written",
    )
    install.add_argument(
        "--allow-http", action="store_true", help="with --url: accept plain http:// to a host other than this machine"
    )

    uninstall = _add(
        commands,
        "uninstall",
        "editor_commands:uninstall",
        "remove mcp-registry from an editor's MCP configuration",
        "Remove the entry that `install` added. Everything else in the file stays as it is; the file before the "
        "change is kept as <file>.mcp-registry-backup-<time>.",
        ("mcp-registry uninstall zed --dry-run", "mcp-registry uninstall claude-desktop"),
    )
    uninstall.add_argument("editor", choices=EDITOR_IDS, metavar="EDITOR", help=editor_help)
    _editor_file_options(uninstall)

    # -- health -------------------------------------------------------------------------------
    doctor = _add(
        commands,
        "doctor",
        "doctor_command:doctor",
        "check Podman, the catalog, config files and editor setup",
        "Check everything the registry needs, and say how to fix what is wrong: Podman and its version, the "
        "Podman API socket (rootful, rootless, podman machine, or a private service), a real `podman run`, the "
        "catalog entries, the config and secrets files, and which editors are set up. Exits 1 when a check fails.",
        ("mcp-registry doctor", "mcp-registry doctor --fix     # write the containers.conf workaround if needed"),
    )
    doctor.add_argument(
        "--fix",
        action="store_true",
        help="apply the known fixes: the containers.conf workaround for rlimit/cgroup errors, file permissions",
    )

    # -- catalog ------------------------------------------------------------------------------
    search = _add(
        commands,
        "search",
        "catalog_commands:search",
        "search the catalog",
        "Rank catalog entries by how well their id, name, tags, tools and description match the words.",
        ("mcp-registry search sqlite", 'mcp-registry search "list tables"', "mcp-registry search git --json"),
    )
    search.add_argument("words", nargs="+", help="what to look for")
    search.add_argument("--limit", type=int, default=10, help="at most this many results (default: 10)")

    _add(
        commands,
        "list",
        "catalog_commands:list_entries",
        "list the catalog entries",
        "List every catalog entry, with the settings each still needs before it can be activated.",
        ("mcp-registry list", "mcp-registry list --json | jq -r '.[].id'"),
    )

    info = _add(
        commands,
        "info",
        "catalog_commands:info",
        "show one catalog entry",
        "Show an entry in full: description, image, tools, settings and secrets (names only), volumes, network.",
        ("mcp-registry info sqlite", "mcp-registry info github --json"),
    )
    info.add_argument("entry", help="catalog entry id")

    catalog = commands.add_parser(
        "catalog",
        help="work with catalog files",
        description="Work with catalog entry files (one TOML file per MCP server).",
        epilog=_examples("mcp-registry catalog validate ~/.local/share/mcp-registry/catalog"),
        formatter_class=_FORMATTER,
    )
    catalog_commands = catalog.add_subparsers(dest="catalog_command", metavar="<command>", title="commands")
    catalog_commands.required = True
    validate = _add(
        catalog_commands,
        "validate",
        "catalog_commands:validate",
        "check catalog entry files",
        "Check catalog entry files the way the registry reads them, plus a few lints (the file name matches the "
        "id, the image is fully qualified, tools are listed). Exits 1 when a file would be skipped.",
        ("mcp-registry catalog validate my-server.toml", "mcp-registry catalog validate ./catalog --strict"),
    )
    validate.add_argument("paths", nargs="+", metavar="PATH", help="entry files or directories of them")
    validate.add_argument("--strict", action="store_true", help="treat lint warnings as failures")
    importing = catalog_commands.add_parser(
        "import",
        help="import another catalog's records as entry files",
        description="Import another catalog's records as entry files, one module per format.",
        epilog=_examples("mcp-registry catalog import docker ~/src/mcp-registry --out ./my-catalog"),
        formatter_class=_FORMATTER,
    )
    formats = importing.add_subparsers(dest="import_format", metavar="<format>", title="formats")
    formats.required = True
    docker = _add(
        formats,
        "docker",
        "import_command:import_docker",
        "Docker's MCP catalog (server.yaml + tools.json per server)",
        "Import Docker's MCP catalog (github.com/docker/mcp-registry): each servers/<name>/server.yaml with its "
        "tools.json becomes <out>/<id>.toml, with its image, command, env, secrets, parameters, volumes, allowed "
        "hosts and known tools. Remote and OAuth servers are recorded (not runnable yet). Records that cannot be "
        "imported are listed with the reason.",
        (
            "mcp-registry catalog import docker ~/src/mcp-registry",
            "mcp-registry catalog import docker ~/src/mcp-registry/servers/SQLite --out ./my-catalog",
        ),
    )
    docker.add_argument(
        "dir", metavar="DIR", help="a docker/mcp-registry checkout, its servers/ dir, or one server's dir"
    )
    docker.add_argument("--out", metavar="DIR", help="where to write the entries (default: your user catalog dir)")
    openapi = _add(
        formats,
        "openapi",
        "import_openapi_command:import_openapi_command",
        "a REST API's OpenAPI document (3.0, 3.1, or Swagger 2.0), one tool per operation",
        "Import an OpenAPI document (a file, or a URL fetched now) as an entry the registry serves with its "
        "OpenAPI server: one tool per operation, reaching only the API's host. The document is stored next to "
        "the entry as <ID>.openapi.json. Prints the tools and the secrets to set. Swagger 2.0 is converted with "
        "swagger2openapi (needs npx).",
        (
            "mcp-registry catalog import openapi ./openapi.yaml --name notes --base-url https://notes.example.com",
            "mcp-registry catalog import openapi https://petstore3.swagger.io/api/v3/openapi.json --name petstore "
            "--include-path '/pet*' --max-tools 10",
        ),
    )
    openapi.add_argument("spec", metavar="SPEC", help="the OpenAPI document: a JSON or YAML file, or an http(s) URL")
    openapi.add_argument("--name", required=True, metavar="ID", help="the entry id (like petstore)")
    openapi.add_argument("--base-url", metavar="URL", help="the API's URL (default: the document's first server)")
    openapi.add_argument(
        "--include-path", action="append", metavar="GLOB", help="only paths matching GLOB (repeatable; * spans /)"
    )
    openapi.add_argument("--exclude-path", action="append", metavar="GLOB", help="leave out paths matching GLOB")
    openapi.add_argument("--include-tag", action="append", metavar="TAG", help="only operations with TAG (repeatable)")
    openapi.add_argument("--max-tools", type=int, metavar="N", help="at most N tools (the first N operations)")
    openapi.add_argument(
        "--strict", action="store_true", help="fail when an operation cannot be mapped (instead of skipping it)"
    )
    openapi.add_argument("--no-auth", action="store_true", help="ignore the document's security schemes")
    openapi.add_argument("--out", metavar="DIR", help="where to write the entry (default: your user catalog dir)")
    official = _add(
        formats,
        "mcp-registry",
        "import_command:import_mcp_registry",
        "the official MCP registry's server.json records",
        "Import server.json records (registry.modelcontextprotocol.io, schema 2025-09-29 and later): a server.json "
        "file, a saved API answer (one server or a list page), or a directory of them. Each server name becomes "
        "<out>/<id>.toml (its latest version; deleted ones are skipped) with its npm/PyPI package or OCI image, "
        "arguments, env, secrets and remote. Records that cannot be run are recorded with the reason; records "
        "that cannot be imported are listed with the reason.",
        (
            "mcp-registry catalog import mcp-registry server.json",
            "mcp-registry catalog import mcp-registry ./saved-pages --out ./my-catalog",
        ),
    )
    official.add_argument("path", metavar="FILE|DIR", help="a server.json or API answer, or a directory of *.json")
    official.add_argument("--out", metavar="DIR", help="where to write the entries (default: your user catalog dir)")
    syncing = _add(
        catalog_commands,
        "sync",
        "import_command:sync",
        "sync entries from an MCP registry's API",
        "Page through a registry's server list (default: the official registry) and write each server's latest "
        "version as an entry file in your user catalog dir. The next run asks only for what changed since "
        "(updated_since) and removes entries deleted upstream. Only files sync wrote are changed; when the "
        "registry cannot be read, nothing is.",
        (
            "mcp-registry catalog sync",
            "mcp-registry catalog sync https://registry.example.com/v0.1/servers --out ./synced",
        ),
    )
    syncing.add_argument("url", nargs="?", metavar="URL", help="the registry's servers list URL")
    syncing.add_argument("--out", metavar="DIR", help="where to write the entries (default: your user catalog dir)")
    lock = _add(
        catalog_commands,
        "lock",
        "lock_command:lock",
        "pin every entry's image to the local image",
        "Record the id of every catalog entry's local image in the lock file (images.lock.json in the config "
        "dir, 0600). Activation then refuses an image that no longer matches its pin. Images not present "
        "locally are recorded as missing, not pulled. Pins already made are kept (a mismatch exits 1) unless "
        "--update.",
        ("mcp-registry catalog lock", "mcp-registry catalog lock --update"),
    )
    lock.add_argument("--update", action="store_true", help="pin every image afresh, replacing the old pins")

    # -- containers ---------------------------------------------------------------------------
    trial = _add(
        commands,
        "try",
        "try_command:try_entry",
        "activate a server once, outside the editor, and show its tools",
        "Start `mcp-registry serve` the way an editor does, activate the entry in its container, list its "
        "tools, optionally call one, then deactivate it. Proves the whole path works before you use it "
        "from the editor.",
        (
            "mcp-registry try sqlite",
            "mcp-registry try sqlite --call list_tables",
            'mcp-registry try time --call get_current_time --args \'{"timezone": "UTC"}\'',
        ),
    )
    trial.add_argument("entry", help="catalog entry id")
    trial.add_argument("--prefix", help="tool name prefix (default: derived from the entry id)")
    trial.add_argument("--call", metavar="TOOL", help="call this tool once it is active (with or without the prefix)")
    trial.add_argument("--args", default="{}", metavar="JSON", help="the tool's arguments as a JSON object")

    pull = _add(
        commands,
        "pull",
        "container_commands:pull",
        "download the images of catalog entries",
        "Make the images of the given entries (or image references) local, with progress on stderr, so that "
        "activating them later is quick. Images already present are left alone unless --refresh.",
        ("mcp-registry pull sqlite", "mcp-registry pull sqlite git --refresh", "mcp-registry pull docker.io/mcp/time"),
    )
    pull.add_argument("targets", nargs="+", metavar="ENTRY_OR_IMAGE", help="catalog entry ids or image references")
    pull.add_argument("--refresh", action="store_true", help="pull even when the image is already present")

    build = _add(
        commands,
        "build",
        "build_command:build",
        "build package entries (npm, PyPI) into their images",
        "Build the image of each package entry now, as its first activation would, so that activating it later "
        "is quick. An image built from the same inputs (base image, package, version, bin) is reused at once.",
        ("mcp-registry build memory-npm", "mcp-registry build time-pypi --json"),
    )
    build.add_argument("entries", nargs="+", metavar="ENTRY", help="catalog entry ids that name a package")

    _add(
        commands,
        "ps",
        "container_commands:ps",
        "list the containers of running registries",
        "List containers labelled io.mcp-registry.managed=true: which entry and prefix each serves, which "
        "registry started it, and whether that registry process is still alive (containers of a dead one are "
        "orphans; the next registry that starts removes them).",
        ("mcp-registry ps", "mcp-registry ps --json"),
    )

    logs = _add(
        commands,
        "logs",
        "container_commands:logs",
        "show what an MCP server wrote to stderr",
        "Show the stderr log of the newest container with this prefix (or container name). Without an argument, "
        "list the logs there are. The registry writes them to <state dir>/logs (see README).",
        ("mcp-registry logs", "mcp-registry logs sqlite", "mcp-registry logs sqlite -n 20 --follow"),
    )
    logs.add_argument("selector", nargs="?", metavar="PREFIX", help="tool prefix or container name")
    logs.add_argument("-n", "--lines", type=int, default=200, help="show the last N lines (default: 200; 0: all)")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines until Ctrl-C")

    # -- config -------------------------------------------------------------------------------
    config = commands.add_parser(
        "config",
        help="per-entry settings and secrets",
        description="Read and change an entry's settings: plain values, secrets and volumes. Changes apply the "
        "next time the entry is activated.",
        epilog=_examples(
            "mcp-registry config get github",
            "mcp-registry config set github GITHUB_TOKEN            # prompts without echo",
            "gh auth token | mcp-registry config set github GITHUB_TOKEN --stdin",
            "mcp-registry config set sqlite volume:data=on",
            "mcp-registry config unset github GITHUB_TOKEN",
        ),
        formatter_class=_FORMATTER,
    )
    config_commands = config.add_subparsers(dest="config_command", metavar="<command>", title="commands")
    config_commands.required = True
    get = _add(
        config_commands,
        "get",
        "config_commands:get",
        "show an entry's settings (secret values never)",
        "Show an entry's settings. With KEY, print just that value (for scripts). Secret values are never "
        "printed: only whether they are set.",
        ("mcp-registry config get github", "mcp-registry config get grafana GRAFANA_URL"),
    )
    get.add_argument("entry", help="catalog entry id")
    get.add_argument("key", nargs="?", help="one setting to print")
    set_ = _add(
        config_commands,
        "set",
        "config_commands:set_values",
        "change settings; secrets are prompted for or read from stdin",
        "Set plain values as KEY=VALUE. Name a secret without a value: you are prompted (no echo), or with "
        "--stdin it is read from standard input. Secret values on the command line are refused, because they "
        "would land in your shell history and in the process list. Volumes: volume:NAME=on|off|SOURCE.",
        (
            "mcp-registry config set grafana GRAFANA_URL=https://grafana.example.com",
            "mcp-registry config set github GITHUB_TOKEN",
            'printf %s "$TOKEN" | mcp-registry config set github GITHUB_TOKEN --stdin',
            "mcp-registry config set filesystem volume:projects=/home/me/code",
        ),
    )
    set_.add_argument("entry", help="catalog entry id")
    set_.add_argument("assignments", nargs="+", metavar="KEY[=VALUE]", help="settings to change")
    set_.add_argument("--stdin", action="store_true", help="read the value of the one KEY given from stdin")
    unset = _add(
        config_commands,
        "unset",
        "config_commands:unset",
        "remove settings (the default applies again)",
        "Remove stored values; plain settings fall back to their defaults, secrets are deleted.",
        ("mcp-registry config unset github GITHUB_TOKEN", "mcp-registry config unset sqlite volume:data"),
    )
    unset.add_argument("entry", help="catalog entry id")
    unset.add_argument("keys", nargs="+", metavar="KEY", help="settings to remove")
    return parser


def _editor_file_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="print the change as a diff and write nothing")
    parser.add_argument("--config", metavar="FILE", help="edit this file instead of the editor's default one")
    parser.add_argument("--name", default="mcp-registry", help="the entry's name in the file (default: mcp-registry)")
