"""The `podman run` command line for one catalog entry: pure functions, no I/O.

Contract: `build_run_argv` returns the exact argv that starts an entry's MCP server in a hardened,
interactive, self-removing container. The hardening is the default and an entry can only relax
what it declares (network, read-only root, resources, writable paths, enabled volumes). Values of
environment variables and secrets never appear here: the argv carries `--env NAME` only, and the
caller puts the value in the environment of the `podman` process, which forwards it; a secret
travels as a Podman secret the caller created (`--secret <podman secret>,type=env,target=NAME`,
see `secret_flags`), so its value is in no process's environment on the host. Names that
would change how the `podman` process itself behaves (PATH, LD_*, CONTAINERS_*, …) are refused,
because their values would act on the host before they reach the container.

The labels (`registry_labels`) let the registry find its containers again: all of them
(`managed`), those of one registry instance (`instance`), and those whose owning process is gone
(`owner` = host:pid:process start token, so a reused pid does not look alive).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mcp_registry_server.catalog.entry import ENV_NAME_PATTERN, CatalogEntry, volume_source_problem
from mcp_registry_server.openapi_server import runtime_mounts

__all__ = [
    "LABEL_ENTRY",
    "LABEL_INSTANCE",
    "LABEL_MANAGED",
    "LABEL_OWNER",
    "LABEL_PREFIX",
    "NAME_PREFIX",
    "EgressRoute",
    "build_run_argv",
    "container_name",
    "registry_labels",
    "secret_flags",
]

LABEL_MANAGED = "io.mcp-registry.managed"
LABEL_INSTANCE = "io.mcp-registry.instance"
LABEL_OWNER = "io.mcp-registry.owner"
LABEL_ENTRY = "io.mcp-registry.entry"
LABEL_PREFIX = "io.mcp-registry.prefix"
RESERVED_LABELS = frozenset({LABEL_MANAGED, LABEL_INSTANCE, LABEL_OWNER, LABEL_ENTRY, LABEL_PREFIX})

NAME_PREFIX = "mcp-registry"
_PREFIX_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_ENV_NAME = re.compile(ENV_NAME_PATTERN)
_SECRET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,252}")

# Variables that podman (or the dynamic loader, or the Go runtime) reads for itself. Forwarding one
# by name means setting it on the podman process, so a catalog entry could steer the host side.
_PODMAN_PROCESS_NAMES = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "PWD",
        "IFS",
        "TMPDIR",
        "NOTIFY_SOCKET",
        "DBUS_SESSION_BUS_ADDRESS",
        "REGISTRY_AUTH_FILE",
        "DOCKER_CONFIG",
        "DOCKER_HOST",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "GODEBUG",
        "GOGC",
        "GOMAXPROCS",
        "GOMEMLIMIT",
        "GOTRACEBACK",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "FTP_PROXY",
        "NO_PROXY",
    }
)
_PODMAN_PROCESS_PREFIXES = ("LD_", "DYLD_", "CONTAINERS_", "CONTAINER_", "_CONTAINERS_", "PODMAN_", "BUILDAH_", "XDG_")


def registry_labels(
    *, instance_id: str, owner: str, entry_id: str, prefix: str, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The labels every registry container carries; `extra` (settings.extra_labels) follows ours.

    Raises ValueError when `extra` tries to set one of the registry's own keys, since orphan
    cleanup and ownership depend on them.
    """
    labels = {
        LABEL_MANAGED: "true",
        LABEL_INSTANCE: instance_id,
        LABEL_OWNER: owner,
        LABEL_ENTRY: entry_id,
        LABEL_PREFIX: prefix,
    }
    for key, value in (extra or {}).items():
        if key in RESERVED_LABELS:
            raise ValueError(f"extra label {key!r} is reserved for the registry's own bookkeeping; remove it")
        labels[key] = value
    return labels


def container_name(prefix: str) -> str:
    """`mcp-registry-<prefix>-<8 hex>`: readable in `podman ps`, unique per start."""
    if not _PREFIX_PATTERN.fullmatch(prefix):
        raise ValueError(f"container name prefix {prefix!r} must be letters, digits, '_', '.', '-' (max 64)")
    return f"{NAME_PREFIX}-{prefix}-{secrets.token_hex(4)}"


def build_run_argv(
    entry: CatalogEntry,
    *,
    podman: str | Sequence[str],
    name: str,
    labels: Mapping[str, str],
    env_names: Sequence[str],
    enabled_volumes: Mapping[str, str],
    egress: EgressRoute | None = None,
    podman_secrets: Mapping[str, str] | None = None,
) -> list[str]:
    """The `podman run` argv for `entry`.

    `podman` is the executable, or the start of the command (for a remote host, with `--remote --url`).
    An entry with `allow_hosts` needs `egress`, the internal network and proxy it goes out through.

    `env_names` are forwarded with `--env NAME` (their values must be in podman's environment);
    `podman_secrets` maps a variable name to the Podman secret that holds its value.
    `enabled_volumes` maps a declared volume's name to its source (a volume name or an absolute
    host path); declared volumes that are not in it are not mounted. Raises ValueError for an
    undeclared or malformed volume, or an env name that is malformed or podman's own.
    """
    volume_mounts = _volume_mounts(entry, enabled_volumes)
    mounted_targets = {target for _, target, _ in volume_mounts}

    argv = [*([podman] if isinstance(podman, str) else podman), "run", "--init", "-i", "--rm", "--name", name]
    for key, value in labels.items():
        argv += ["--label", f"{key}={value}"]
    argv += [
        "--pull=never",
        # No log driver: conmon would otherwise copy every byte of the server's output (tool results
        # may hold secrets) into a log file. `podman run -i` still attaches stdin, stdout and stderr
        # (verified on Podman 4.3.1).
        "--log-driver=none",
        "--cap-drop=ALL",
        "--security-opt=no-new-privileges",
    ]
    if entry.read_only_root:
        argv.append("--read-only")
    tmpfs_paths = [path for path in dict.fromkeys(["/tmp", *entry.writable_paths]) if path not in mounted_targets]
    if "/tmp" in tmpfs_paths:
        argv += ["--tmpfs", "/tmp"]
    argv += _network_args(entry, egress)
    argv += [
        f"--memory={entry.memory}",
        f"--cpus={entry.cpus:g}",
        f"--pids-limit={entry.pids_limit}",
    ]
    for path in tmpfs_paths:
        if path != "/tmp":
            argv += ["--tmpfs", path]
    for source, target, read_only in volume_mounts:
        argv += ["--volume", f"{source}:{target}:ro" if read_only else f"{source}:{target}"]
    for source, target in runtime_mounts(entry):  # an openapi entry's server script and spec: ours, read-only
        _check_volume_source(entry.id, "openapi", source)
        argv += ["--volume", f"{source}:{target}:ro"]
    for env_name in dict.fromkeys(env_names):
        _check_env_name(env_name)
        argv += ["--env", env_name]
    argv += secret_flags(podman_secrets or {})
    if entry.command:
        argv += ["--entrypoint", json.dumps(entry.command)]
    argv.append(entry.image)
    argv += entry.args
    return argv


def secret_flags(podman_secrets: Mapping[str, str]) -> list[str]:
    """`--secret <podman secret>,type=env,target=NAME` for each variable NAME → secret name."""
    flags: list[str] = []
    for env_name, secret_name in podman_secrets.items():
        _check_env_name(env_name)
        if not _SECRET_NAME.fullmatch(secret_name):
            raise ValueError(f"Podman secret name {secret_name!r} is not a plain name")
        flags += ["--secret", f"{secret_name},type=env,target={env_name}"]
    return flags


@dataclass(frozen=True)
class EgressRoute:
    """The way out of a server with `allow_hosts`: the internal network it joins and the proxy on it."""

    network: str
    proxy_url: str  # http://<proxy address on that network>:<port>

    def proxy_env(self) -> dict[str, str]:
        # Both spellings: tools disagree on which they read. NO_PROXY empty, so nothing goes around it.
        url = self.proxy_url
        return {
            "HTTP_PROXY": url,
            "HTTPS_PROXY": url,
            "http_proxy": url,
            "https_proxy": url,
            "NO_PROXY": "",
            "no_proxy": "",
        }


def _network_args(entry: CatalogEntry, egress: EgressRoute | None) -> list[str]:
    if not entry.allow_hosts:
        return [f"--network={entry.network}"]
    if egress is None:
        raise ValueError(f"entry {entry.id!r} has allow_hosts, so it needs its egress proxy to start")
    # The proxy settings are not secret, so they go on the argv; `--http-proxy=false` keeps podman from
    # copying the host's own proxy variables in instead.
    argv = [f"--network={egress.network}", "--http-proxy=false"]
    for name, value in egress.proxy_env().items():
        argv += ["--env", f"{name}={value}"]
    return argv


def _volume_mounts(entry: CatalogEntry, enabled_volumes: Mapping[str, str]) -> list[tuple[str, str, bool]]:
    declared = {volume.name: volume for volume in entry.volumes}
    if unknown := sorted(set(enabled_volumes) - set(declared)):
        raise ValueError(f"entry {entry.id!r} declares no volume named {', '.join(map(repr, unknown))}")
    mounts = []
    for volume in entry.volumes:  # declaration order, so the argv is stable
        if volume.name in enabled_volumes:
            source = enabled_volumes[volume.name]
            _check_volume_source(entry.id, volume.name, source)
            mounts.append((source, volume.target, volume.read_only))
    return mounts


def _check_volume_source(entry_id: str, volume_name: str, source: str) -> None:
    # Checked again here, whoever chose the source: the argv must never carry a mount spec that splits.
    if problem := volume_source_problem(source):
        raise ValueError(f"volume {volume_name!r} of entry {entry_id!r}: the source {source!r} {problem}")


def _check_env_name(env_name: str) -> None:
    if not _ENV_NAME.fullmatch(env_name):
        raise ValueError(f"environment variable name {env_name!r} is not a plain NAME")
    if env_name.upper() in _PODMAN_PROCESS_NAMES or env_name.upper().startswith(_PODMAN_PROCESS_PREFIXES):
        raise ValueError(
            f"environment variable {env_name!r} cannot be passed to a server: podman itself reads it on the "
            "host, so forwarding it would change how podman runs"
        )
