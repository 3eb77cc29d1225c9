"""The registry's configuration: one typed object, built once from the environment and passed in.

Nothing below the CLI reads environment variables for behaviour; it takes a `RegistrySettings`.
`RegistrySettings.from_environ` is the only place that knows the variable names:

- `MCP_REGISTRY_CATALOG_PATH`  extra catalog dirs, os.pathsep-separated (later overrides earlier)
- `MCP_REGISTRY_LABELS`        extra container labels, `key=value` pairs separated by commas
- `MCP_REGISTRY_CALL_TIMEOUT`  seconds a tool call may take without news from the server
- `MCP_REGISTRY_MAX_CALL_TIMEOUT`  the hard bound when progress keeps extending a call (default 10x)
- `MCP_REGISTRY_INIT_TIMEOUT`  seconds a server has to answer `initialize` after it starts
- `MCP_REGISTRY_PODMAN`        the podman executable (default: `podman` on PATH)
- `MCP_REGISTRY_AUTOSTART`     entries to activate at startup: `id[:prefix]`, comma-separated; list
                               requests wait (up to the init timeout) for them to be ready
- `MCP_REGISTRY_EXPOSE`        `direct` (default): an added server's tools are in tools/list;
                               `search`: only registry_search finds them (registry_add may override)
- `MCP_REGISTRY_DIRECT_LANE`   `off`: every request through the SDK's own loop (the direct lane
                               answers the same, faster; this is for ruling it out)
- `MCP_REGISTRY_OFFLOAD_BYTES` tool results larger than this are offloaded (`registry/offload.py`);
                               default 64 KiB, 0 disables
- `MCP_REGISTRY_OFFLOAD_MAX_BYTES`  the bound on all offloaded results together (default 1 GiB;
                               the oldest are evicted first)
- `MCP_REGISTRY_MAX_TASKS`     background tool calls (tasks) that may work at once (default 16)
- `MCP_REGISTRY_TASK_TTL`      seconds a finished task's result is kept (default 3600; also the
                               longest ttl an editor may ask for)
- `MCP_REGISTRY_EGRESS_NETWORK` the Podman network egress proxies reach out on (default `podman`)
- `MCP_REGISTRY_PROXY_IMAGE`   the image egress proxies run (tinyproxy on PATH)
- `MCP_REGISTRY_OPENAPI_IMAGE` an image (python3 with fastmcp) for openapi entries to run instead of
                               the one built from PyPI (see `openapi_server`); default: none
- `MCP_REGISTRY_MAX_MESSAGE_BYTES`  the longest message a server may send (default 64 MiB); a
                               longer one fails the mount, so a runaway line cannot eat memory
- `MCP_REGISTRY_AUDIT_ARGUMENTS`  `on`: the audit log also records each call's argument values
- `MCP_REGISTRY_HTTP_IDLE_TIMEOUT`  `serve --http`: seconds an HTTP session (and then a workspace
                               with no session and no request) may sit idle before it is closed,
                               its servers stopped and containers removed (default 1800)
- `MCP_REGISTRY_HTTP_MAX_SESSIONS`  `serve --http`: open sessions per workspace (default 64)
- `MCP_REGISTRY_HTTP_MAX_BODY_BYTES`  `serve --http`: the largest request body (default 4 MiB)
- `MCP_REGISTRY_HTTP_ALLOWED_HOSTS`  `serve --http`: more `Host` values to accept (`name:port`,
                               comma-separated; `name:*` for any port) besides the bound address
- `MCP_REGISTRY_HTTP_ALLOWED_ORIGINS`  `serve --http`: browser `Origin`s to accept (comma-separated)
- `MCP_REGISTRY_REMOTE_PING_INTERVAL`  seconds between pings of an idle remote server (default 30),
                               so a connection that died quietly shows as failed
- `MCP_REGISTRY_NODE_IMAGE`    the base image npm package entries are built on (default
                               docker.io/library/node:22-slim); `MCP_REGISTRY_PYTHON_IMAGE` the
                               one for PyPI entries (default docker.io/library/python:3.12-slim)
- `MCP_REGISTRY_BUILD_TIMEOUT` seconds a package build may take (default 600)
- `SSL_CERT_FILE`              the CA bundle package builds trust (else the distribution's bundle);
                               `HTTP(S)_PROXY` / `NO_PROXY` (either case) reach the build too
- `CONTAINER_HOST`             the Podman API socket, as podman itself reads it (ssh:// for a remote
                               host, with the key in `CONTAINER_SSHKEY`)
- `MCP_REGISTRY_PODMAN_CONNECTION`  a `podman system connection` to use as the default host instead
- `MCP_REGISTRY_PODMAN_HOSTS`  more hosts (connection names, comma-separated) that an entry's `host`
                               or registry_add(host=NAME) may pick; the default host is `local`
- `MCP_REGISTRY_SSH_KNOWN_HOSTS`  the known_hosts file ssh checks remote hosts' keys against
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import platformdirs

from mcp_registry_server.catalog import default_catalog_dirs

APP_NAME = "mcp-registry"
# A small, regularly rebuilt Alpine image with tinyproxy on PATH, running as a non-root user.
DEFAULT_PROXY_IMAGE = "docker.io/kalaksi/tinyproxy:latest"
DEFAULT_NODE_IMAGE = "docker.io/library/node:22-slim"
DEFAULT_PYTHON_IMAGE = "docker.io/library/python:3.12-slim"
# The proxy variables a package build passes on, in both spellings (tools disagree on which they read).
BUILD_PROXY_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")
# Where distributions keep the system CA bundle: Debian/Ubuntu/Alpine, Fedora/RHEL, openSUSE, macOS/BSD.
DISTRO_CA_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
)


def _positive_float(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number of seconds") from None
    if not 0 < value <= 86_400:
        raise ValueError(f"{name}={raw!r} must be between 0 and 86400 seconds")
    return value


def _byte_count(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise ValueError(f"{name}={raw!r} must be a whole number of bytes (0 or more)")
    return int(raw)


def _message_limit(environ: Mapping[str, str]) -> int:
    limit = _byte_count(environ, "MCP_REGISTRY_MAX_MESSAGE_BYTES", 64 * 1024 * 1024)
    if limit < 1024:
        raise ValueError(f"MCP_REGISTRY_MAX_MESSAGE_BYTES={limit} is too small: a server needs at least 1024 bytes")
    return limit


def _body_limit(environ: Mapping[str, str]) -> int:
    limit = _byte_count(environ, "MCP_REGISTRY_HTTP_MAX_BODY_BYTES", 4 * 1024 * 1024)
    if limit < 1024:
        raise ValueError(f"MCP_REGISTRY_HTTP_MAX_BODY_BYTES={limit} is too small: requests need at least 1024 bytes")
    return limit


def _word_list(environ: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(filter(None, (part.strip() for part in environ.get(name, "").split(","))))


LOCAL_HOST = "local"
"""The name of the registry's default Podman host (this machine's, unless CONTAINER_HOST or
MCP_REGISTRY_PODMAN_CONNECTION point it elsewhere)."""


def _podman_hosts(environ: Mapping[str, str]) -> tuple[str, ...]:
    names = _word_list(environ, "MCP_REGISTRY_PODMAN_HOSTS")
    for name in names:
        if name == LOCAL_HOST or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,62}", name):
            raise ValueError(
                f"MCP_REGISTRY_PODMAN_HOSTS: {name!r} cannot name a host: give the names of `podman system "
                f"connection list` ({LOCAL_HOST!r} is the default host's)"
            )
    return tuple(dict.fromkeys(names))


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) <= 10_000:
        raise ValueError(f"{name}={raw!r} must be a whole number from 1 to 10000")
    return int(raw)


def _switch(environ: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "on", "true", "yes"}:
        return True
    if raw in {"0", "off", "false", "no"}:
        return False
    raise ValueError(f"{name}={raw!r} must be on or off")


def _exposure(raw: str) -> Literal["direct", "search"]:
    value = raw.strip().lower()
    if value in {"", "direct"}:
        return "direct"
    if value == "search":
        return "search"
    raise ValueError(f"MCP_REGISTRY_EXPOSE={raw!r} must be direct or search")


def parse_labels(raw: str) -> dict[str, str]:
    """Parse `a=1,b=2` into a dict; raise ValueError naming the bad pair."""
    labels: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in raw.split(","))):
        key, sep, value = pair.partition("=")
        if not sep or not key or any(c in key for c in " \t\n\x00"):
            raise ValueError(f"MCP_REGISTRY_LABELS: {pair!r} is not key=value")
        labels[key] = value
    return labels


def _runtime_dir(environ: Mapping[str, str]) -> Path:
    """Where private sockets live: $XDG_RUNTIME_DIR/mcp-registry, else a per-user temp dir.

    Anyone can create the temp-dir name first, so its user checks it is theirs alone
    (`files.ensure_private_dir`) before putting a socket or log in it.
    """
    if environ.get("XDG_RUNTIME_DIR"):
        return Path(environ["XDG_RUNTIME_DIR"]) / APP_NAME
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"{APP_NAME}-{uid}"


def build_ca_file(environ: Mapping[str, str], candidates: tuple[str, ...] = DISTRO_CA_BUNDLES) -> Path | None:
    """The CA bundle package builds trust: SSL_CERT_FILE when set, else the distribution's bundle.

    A SSL_CERT_FILE that names no file is an error (a build behind a TLS-intercepting proxy would
    fail later, and less clearly); no bundle at all is None (the base image's own CAs are used).
    """
    if raw := environ.get("SSL_CERT_FILE", "").strip():
        path = Path(raw).expanduser()
        if not path.is_file():
            raise ValueError(f"SSL_CERT_FILE={raw!r} is not a file; point it at a CA bundle or unset it")
        found: Path | None = path.resolve()
    else:
        found = next((Path(c).resolve() for c in candidates if Path(c).is_file()), None)
    if found is not None and any(char in str(found) for char in ":,"):
        # It is mounted into the build as `path:target:ro`, which a ':' or ',' would split.
        raise ValueError(f"the CA bundle {str(found)!r} has ':' or ',' in its path; copy it somewhere without")
    return found


def parse_autostart(raw: str) -> tuple[tuple[str, str | None], ...]:
    """Parse `sqlite,everything:ev,conf:` into ((entry id, prefix or None), ...).

    A trailing `:` with no prefix (`conf:`) gives prefix "": mounted unprefixed.
    """
    specs: list[tuple[str, str | None]] = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        entry_id, colon, prefix = item.partition(":")
        if not entry_id:
            raise ValueError(f"MCP_REGISTRY_AUTOSTART: {item!r} is not entry_id[:prefix]")
        specs.append((entry_id, prefix if colon else None))
    return tuple(specs)


@dataclass(frozen=True)
class RegistrySettings:
    catalog_dirs: tuple[Path, ...]
    config_dir: Path
    runtime_dir: Path
    podman_executable: str = "podman"
    container_host: str | None = None
    # A remote Podman host (`podman.remote`): a named `podman system connection`, the ssh key for an
    # ssh:// CONTAINER_HOST (CONTAINER_SSHKEY, as podman reads it), and a known_hosts file for ssh.
    podman_connection: str | None = None
    # More hosts, named connections an entry or registry_add(host=NAME) may pick (`registry.podman_hosts`).
    podman_hosts: tuple[str, ...] = ()
    ssh_identity: Path | None = None
    ssh_known_hosts: Path | None = None
    extra_labels: Mapping[str, str] = field(default_factory=dict)
    call_timeout: float = 120.0
    # Progress notifications restart a call's timeout, up to this bound; None: 10 x call_timeout.
    max_call_timeout: float | None = None
    init_timeout: float = 60.0
    autostart: tuple[tuple[str, str | None], ...] = ()
    # Where an added server's tools go unless registry_add says: tools/list, or registry_search only.
    expose: Literal["direct", "search"] = "direct"
    # Routed tool calls and tool lists take the direct lane (server/lane.py); False: the SDK's loop.
    direct_lane: bool = True
    # Where tool lists of started servers are kept (see `tool_cache`); None: no cache.
    cache_dir: Path | None = None
    # Where offloaded results are kept, under `results/` (see `registry.offload`; None: a temp dir),
    # and the audit log (see `registry.audit`; None: no audit log).
    state_dir: Path | None = None
    # Tool results larger than this many bytes are offloaded; 0: never.
    offload_bytes: int = 64 * 1024
    # The bound on all offloaded results of this registry together; the oldest go first.
    offload_max_bytes: int = 1024**3
    # Background calls (`registry/tasks.py`): how many may work at once, and how long a finished
    # one's result is kept (also the longest ttl an editor may ask for).
    max_tasks: int = 16
    task_ttl: float = 3600.0
    # Servers with allow_hosts go out through a proxy on this network (Podman's default one unless set).
    egress_network: str = "podman"
    proxy_image: str = DEFAULT_PROXY_IMAGE
    # Empty: openapi entries run on the FastMCP package, built like a package entry's.
    openapi_image: str = ""
    # Package entries (`podman.image_build`): the base images, how long a build may take, the CA
    # bundle mounted into the build, and the host's proxy variables passed to it (never into the image).
    node_image: str = DEFAULT_NODE_IMAGE
    python_image: str = DEFAULT_PYTHON_IMAGE
    build_timeout: float = 600.0
    build_ca_file: Path | None = None
    build_proxy_env: Mapping[str, str] = field(default_factory=dict)
    # Removing a server: how long the child gets to exit after its stdin closes.
    stop_grace: float = 2.0
    # The audit log records argument values too (off: only their size).
    audit_arguments: bool = False
    # The longest line a server may write to its stdout, in bytes; a longer one fails the mount.
    max_message_bytes: int = 64 * 1024 * 1024
    # How often an idle remote server is pinged, so a connection that died quietly shows as failed.
    remote_ping_interval: float = 30.0
    # `serve --http` (server/http): idle bound for sessions and workspaces, sessions per workspace,
    # request body bound, and the Host/Origin values accepted besides the bound address.
    http_idle_timeout: float = 1800.0
    http_max_sessions: int = 64
    http_max_body_bytes: int = 4 * 1024 * 1024
    http_allowed_hosts: tuple[str, ...] = ()
    http_allowed_origins: tuple[str, ...] = ()
    # The workspace this registry serves ("default": stdio, and the HTTP default workspace).
    workspace: str = "default"
    instance_id: str = field(default_factory=lambda: secrets.token_hex(6))
    hostname: str = field(default_factory=socket.gethostname)

    @property
    def call_timeout_bound(self) -> float:
        """The hard bound on a call whose progress notifications keep extending its timeout."""
        if self.max_call_timeout is not None:
            return max(self.max_call_timeout, self.call_timeout)
        return self.call_timeout * 10

    @property
    def add_timeout_bound(self) -> float:
        """How long a registry_add may take: the call bound, or a package build then the server's start."""
        return max(self.call_timeout_bound, self.build_timeout + self.init_timeout)

    def for_workspace(self, name: str) -> RegistrySettings:
        """These settings for workspace `name`: "default" keeps the dirs as they are (the same as
        stdio); any other gets its own config, cache and state dirs under `workspaces/<name>`, its
        own instance id, and a label naming it on its containers."""
        if name == "default":
            return replace(self, workspace=name)

        def own(directory: Path | None) -> Path | None:
            return directory / "workspaces" / name if directory is not None else None

        return replace(
            self,
            workspace=name,
            config_dir=self.config_dir / "workspaces" / name,
            cache_dir=own(self.cache_dir),
            state_dir=own(self.state_dir),
            instance_id=secrets.token_hex(6),
            extra_labels={**self.extra_labels, "io.mcp-registry.workspace": name},
        )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> RegistrySettings:
        env = os.environ if environ is None else environ
        max_call_timeout = _positive_float(env, "MCP_REGISTRY_MAX_CALL_TIMEOUT", 0.0) or None
        return cls(
            catalog_dirs=tuple(default_catalog_dirs(env)),
            config_dir=Path(platformdirs.user_config_dir(APP_NAME)),
            cache_dir=Path(platformdirs.user_cache_dir(APP_NAME)),
            state_dir=Path(platformdirs.user_state_dir(APP_NAME)),
            audit_arguments=_switch(env, "MCP_REGISTRY_AUDIT_ARGUMENTS", default=False),
            runtime_dir=_runtime_dir(env),
            podman_executable=env.get("MCP_REGISTRY_PODMAN", "podman"),
            container_host=env.get("CONTAINER_HOST") or None,
            podman_connection=env.get("MCP_REGISTRY_PODMAN_CONNECTION", "").strip() or None,
            podman_hosts=_podman_hosts(env),
            ssh_identity=Path(env["CONTAINER_SSHKEY"]).expanduser() if env.get("CONTAINER_SSHKEY") else None,
            ssh_known_hosts=Path(env["MCP_REGISTRY_SSH_KNOWN_HOSTS"]).expanduser()
            if env.get("MCP_REGISTRY_SSH_KNOWN_HOSTS")
            else None,
            extra_labels=parse_labels(env.get("MCP_REGISTRY_LABELS", "")),
            call_timeout=_positive_float(env, "MCP_REGISTRY_CALL_TIMEOUT", 120.0),
            max_call_timeout=max_call_timeout,
            init_timeout=_positive_float(env, "MCP_REGISTRY_INIT_TIMEOUT", 60.0),
            autostart=parse_autostart(env.get("MCP_REGISTRY_AUTOSTART", "")),
            direct_lane=_switch(env, "MCP_REGISTRY_DIRECT_LANE", default=True),
            expose=_exposure(env.get("MCP_REGISTRY_EXPOSE", "")),
            offload_bytes=_byte_count(env, "MCP_REGISTRY_OFFLOAD_BYTES", 64 * 1024),
            offload_max_bytes=_byte_count(env, "MCP_REGISTRY_OFFLOAD_MAX_BYTES", 1024**3),
            max_tasks=_positive_int(env, "MCP_REGISTRY_MAX_TASKS", 16),
            task_ttl=_positive_float(env, "MCP_REGISTRY_TASK_TTL", 3600.0),
            egress_network=env.get("MCP_REGISTRY_EGRESS_NETWORK", "").strip() or "podman",
            proxy_image=env.get("MCP_REGISTRY_PROXY_IMAGE", "").strip() or DEFAULT_PROXY_IMAGE,
            openapi_image=env.get("MCP_REGISTRY_OPENAPI_IMAGE", "").strip(),
            max_message_bytes=_message_limit(env),
            remote_ping_interval=_positive_float(env, "MCP_REGISTRY_REMOTE_PING_INTERVAL", 30.0),
            node_image=env.get("MCP_REGISTRY_NODE_IMAGE", "").strip() or DEFAULT_NODE_IMAGE,
            python_image=env.get("MCP_REGISTRY_PYTHON_IMAGE", "").strip() or DEFAULT_PYTHON_IMAGE,
            build_timeout=_positive_float(env, "MCP_REGISTRY_BUILD_TIMEOUT", 600.0),
            build_ca_file=build_ca_file(env),
            build_proxy_env={name: env[name] for name in BUILD_PROXY_NAMES if env.get(name)},
            http_idle_timeout=_positive_float(env, "MCP_REGISTRY_HTTP_IDLE_TIMEOUT", 1800.0),
            http_max_sessions=_positive_int(env, "MCP_REGISTRY_HTTP_MAX_SESSIONS", 64),
            http_max_body_bytes=_body_limit(env),
            http_allowed_hosts=_word_list(env, "MCP_REGISTRY_HTTP_ALLOWED_HOSTS"),
            http_allowed_origins=_word_list(env, "MCP_REGISTRY_HTTP_ALLOWED_ORIGINS"),
        )
