"""The HTTP (streamable HTTP) entry each client takes for a team registry (`serve --http`), with the token kept out of the file.

Contract: `check_url(url, allow_http)` accepts an http(s) URL whose path ends in the registry's
MCP path (`/mcp`) and returns it normalised, or raises `RemoteEntryError` saying what is wrong:
no user:password in it, no query or fragment, and plain http only to a loopback host unless
`allow_http` (the bearer token would cross the network in clear). `check_token_env(name)`
accepts an environment variable name that `install` would never copy into a stdio entry.

`REMOTE_SHAPES` maps each client id to a `RemoteShape` that builds the entry from a
`RemoteServer` (URL, the variable holding the token, the input id for VS Code), or to a
`RemoteRefusal` that says why that client cannot take one without the token written in clear,
and what to do instead. Every shape refers to the token through the client's own mechanism, so
no token ever reaches an editor file. Pure functions throughout.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from mcp_registry_server.editors.entries import ClientWaits

__all__ = [
    "DEFAULT_TOKEN_ENV",
    "MCP_PATH",
    "REMOTE_FIELDS",
    "REMOTE_SHAPES",
    "RemoteEntryError",
    "RemoteRefusal",
    "RemoteServer",
    "RemoteShape",
    "check_token_env",
    "check_url",
    "remote_capable",
]

# The path `serve --http` answers MCP on (server.http.app.MCP_PATH; a test keeps the two in step:
# editors/ does not import server/).
MCP_PATH = "/mcp"
# Not MCP_REGISTRY_*: `install` copies those from the shell into stdio entries, token and all.
DEFAULT_TOKEN_ENV = "MCPR_TOKEN"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CARRIED = ("CONTAINERS_CONF", "CONTAINER_HOST")


class RemoteEntryError(ValueError):
    """The URL or token variable cannot make a safe HTTP entry; the message says what to do."""


@dataclass(frozen=True)
class RemoteServer:
    url: str
    token_env: str = DEFAULT_TOKEN_ENV
    input_id: str = "mcp-registry-token"  # VS Code's `inputs` entry that prompts for the token


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, allow_http: bool = False) -> str:
    """`url` if it is a registry's MCP endpoint that is safe to send a token to; see the contract."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise RemoteEntryError(
            f"--url {url!r} is not an http(s) URL. Give the registry's MCP endpoint, e.g. https://registry.example:8765{MCP_PATH}."
        )
    if parts.username or parts.password:
        raise RemoteEntryError(
            "--url must not hold a user name or password: they would be written into the editor's file. "
            "The token goes in the environment variable named by --token-env."
        )
    if parts.query or parts.fragment:
        raise RemoteEntryError(f"--url {url!r} has a query or fragment; the registry's endpoint has neither.")
    path = parts.path.rstrip("/")
    if not path.endswith(MCP_PATH):
        raise RemoteEntryError(
            f"--url {url!r} does not end in {MCP_PATH}, where `mcp-registry serve --http` answers MCP. "
            f"Use {urlunsplit((parts.scheme, parts.netloc, path + MCP_PATH, '', ''))} (or the path your proxy maps to it)."
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname) and not allow_http:
        raise RemoteEntryError(
            f"--url {url!r} is plain http to another host: the bearer token would cross the network in clear. "
            "Serve the registry over TLS (`serve --http ... --tls-cert/--tls-key`, or behind an https proxy) and "
            "use https://, or pass --allow-http if this network is trusted."
        )
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def check_token_env(name: str) -> str:
    if not _ENV_NAME.fullmatch(name):
        raise RemoteEntryError(f"--token-env {name!r} is not an environment variable name (letters, digits, _).")
    if name.startswith("MCP_REGISTRY_") or name in _CARRIED:
        raise RemoteEntryError(
            f"--token-env {name!r}: `mcp-registry install` copies {name} from the shell into stdio entries, so the "
            f"token could end up in an editor file. Use another name, e.g. {DEFAULT_TOKEN_ENV}."
        )
    return name


def _bearer(reference: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {reference}"}


@dataclass(frozen=True)
class RemoteShape:
    """How one client spells "this server is at URL, with this header"."""

    build_entry: Callable[[RemoteServer], dict[str, Any]]
    # How the client finds the token: shown to the user after install.
    token_hint: Callable[[RemoteServer], str]
    uses_env: bool = True  # False: the client prompts for the token (VS Code)

    def build(self, server: RemoteServer) -> dict[str, Any]:
        return self.build_entry(server)


@dataclass(frozen=True)
class RemoteRefusal:
    reason: str


_WAITS = ClientWaits.of({})  # the remote registry's own bounds are unknown here: its defaults


def vscode_input(server: RemoteServer) -> dict[str, Any]:
    """The `inputs` element VS Code prompts with (once; it then keeps the answer in its secret storage)."""
    return {
        "type": "promptString",
        "id": server.input_id,
        "description": "mcp-registry token (from `mcp-registry token create NAME`)",
        "password": True,
    }


REMOTE_SHAPES: Mapping[str, RemoteShape | RemoteRefusal] = {
    # VS Code substitutes ${input:ID} in headers (its MCP configuration reference shows
    # "Authorization": "Bearer ${input:api-token}"); ${env:VAR} there is not reliably substituted
    # (microsoft/vscode#336232), so it prompts instead.
    "vscode": RemoteShape(
        lambda s: {"type": "http", "url": s.url, "headers": _bearer(f"${{input:{s.input_id}}}")},
        lambda s: (
            "VS Code asks for the token the first time it starts the server (a password prompt) and keeps it in its secret storage."
        ),
        uses_env=False,
    ),
    # Claude Code expands ${VAR} in url and headers (docs: "Environment variable expansion").
    "claude-code": RemoteShape(
        lambda s: {"type": "http", "url": s.url, "headers": _bearer(f"${{{s.token_env}}}")},
        lambda s: f"Claude Code reads the token from ${s.token_env}: export it in the shell that starts `claude`.",
    ),
    # Cursor resolves ${env:VAR} in mcp.json headers.
    "cursor": RemoteShape(
        lambda s: {"url": s.url, "headers": _bearer(f"${{env:{s.token_env}}}")},
        lambda s: f"Cursor reads the token from ${s.token_env}: set it in the environment Cursor is started from.",
    ),
    # Gemini CLI resolves $VAR / ${VAR} in every string of settings.json when it loads it; httpUrl
    # is its streamable HTTP transport.
    "gemini": RemoteShape(
        lambda s: {"httpUrl": s.url, "headers": _bearer(f"${{{s.token_env}}}"), "timeout": _WAITS.longest_ms},
        lambda s: f"Gemini CLI reads the token from ${s.token_env} when it loads settings.json: export it first.",
    ),
    # Codex: `url` is streamable HTTP; `bearer_token_env_var` names the variable holding the token
    # (it refuses an inline bearer_token).
    "codex": RemoteShape(
        lambda s: {
            "url": s.url,
            "bearer_token_env_var": s.token_env,
            "startup_timeout_sec": _WAITS.startup,
            "tool_timeout_sec": _WAITS.call,
        },
        lambda s: f"Codex sends ${s.token_env} as the bearer token: export it in the shell that starts `codex`.",
    ),
    # opencode substitutes {env:VAR} anywhere in its config text.
    "opencode": RemoteShape(
        lambda s: {
            "type": "remote",
            "url": s.url,
            "headers": _bearer(f"{{env:{s.token_env}}}"),
            "enabled": True,
            "timeout": _WAITS.longest_ms,
        },
        lambda s: f"opencode reads the token from ${s.token_env}: export it in the shell that starts `opencode`.",
    ),
    # Zed sends context_servers headers verbatim (zed-industries/zed#60459): the token would have to
    # be written in clear.
    "zed": RemoteRefusal(
        "Zed sends header values as written (it does not expand environment variables in them), so the token "
        "would have to be stored in clear in settings.json."
    ),
    "claude-desktop": RemoteRefusal(
        "Claude Desktop's config file takes no remote servers: they are added as Connectors in its Settings."
    ),
}

# Every field an HTTP entry of any client may hold: `install` owns them (and drops them when it
# writes a stdio entry over an HTTP one).
REMOTE_FIELDS = frozenset(
    {"type", "url", "httpUrl", "headers", "bearer_token_env_var", "timeout", "enabled"}
    | {"startup_timeout_sec", "tool_timeout_sec"}
)


def remote_capable() -> tuple[str, ...]:
    return tuple(editor for editor, shape in REMOTE_SHAPES.items() if isinstance(shape, RemoteShape))
