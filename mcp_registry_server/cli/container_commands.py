"""`pull`, `ps` and `logs`: the images and containers behind the registry, seen from the shell.

- `pull` goes through the Podman API (`podman.api`), as the registry does when it activates an
  entry, with a progress bar on stderr; images already present are skipped unless `--refresh`.
- `ps` asks the podman CLI for containers labelled `io.mcp-registry.managed=true` (no API service
  needs to start for that) and checks, from the owner label, whether the registry process that
  started each one is still alive (`podman.ownership`). It covers every configured Podman host: the
  named ones (MCP_REGISTRY_PODMAN_HOSTS) through the same ssh tunnel the registry opens
  (`podman.remote`); a host that cannot be reached is named on stderr and the others are still
  listed (exit code 1). Remote servers have no container: it lists those of live registries from
  their records (`registry.remote_records`), by URL.
- `logs` reads the per-container stderr logs the registry writes (`container_logs`), because its
  containers run with `--log-driver=none` and `podman logs` has nothing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mcp_registry_server.cli.common import load_catalog, load_settings
from mcp_registry_server.cli.output import CLIError, ProgressBar, Style, emit_json, podman_failure, print_table

_IMAGE_REFERENCE_HINT = ("/", ":", ".")


# --- pull ------------------------------------------------------------------------------------


def _pull_targets(catalog: Any, names: list[str], openapi_image: str = "") -> list[tuple[str | None, str]]:
    from mcp_registry_server.catalog import closest_ids

    targets: list[tuple[str | None, str]] = []
    for name in names:
        if name in catalog and (
            catalog[name].package is not None or (catalog[name].openapi is not None and not openapi_image)
        ):
            raise CLIError(
                f"{name} runs a package built into an image, not an image to pull.",
                hint=f"Build its image ahead of time with `mcp-registry build {name}`.",
                exit_code=2,
            )
        if name in catalog:
            # An openapi entry runs the OpenAPI runtime image (openapi_server.runtime_entry).
            targets.append((name, catalog[name].image or (openapi_image if catalog[name].openapi else "")))
        elif any(mark in name for mark in _IMAGE_REFERENCE_HINT):
            targets.append((None, name))
        else:
            suggestions = closest_ids(catalog, name)
            raise CLIError(
                f"{name!r} is neither a catalog entry nor an image reference.",
                hint=(f"Did you mean {', '.join(suggestions)}? " if suggestions else "")
                + "Give an entry id (see `mcp-registry list`) or a full image name like docker.io/mcp/time.",
                exit_code=2,
            )
    return targets


async def _pull_all(settings: Any, targets: list[tuple[str | None, str]], refresh: bool) -> list[dict[str, Any]]:
    from mcp_registry_server.podman.api import open_podman_api
    from mcp_registry_server.podman.errors import PodmanError

    results: list[dict[str, Any]] = []
    try:
        async with open_podman_api(settings) as api:
            for entry_id, image in targets:
                result: dict[str, Any] = {"entry": entry_id, "image": image}
                try:
                    if not refresh and await api.image_exists(image):
                        print(f"{image}: already present (--refresh pulls it again)", file=sys.stderr)
                        results.append({**result, "status": "present"})
                        continue
                    bar = ProgressBar(f"pulling {image}")

                    async def progress(
                        done: float | None, total: float | None, message: str, bar: ProgressBar = bar
                    ) -> None:
                        bar.update(done, total, message)

                    await api.pull(image, on_progress=progress)
                    bar.finish(f"{image}: pulled")
                    results.append({**result, "status": "pulled", "id": await api.image_digest(image)})
                except PodmanError as error:
                    print(f"{Style(sys.stderr).red('failed')}: {error}", file=sys.stderr)
                    results.append({**result, "status": "failed", "error": error.summary, "remedy": error.remedy})
    except PodmanError as error:
        raise podman_failure(error) from None
    return results


def pull(options: argparse.Namespace) -> int:
    import anyio

    settings = load_settings()
    targets = _pull_targets(load_catalog(settings), options.targets, settings.openapi_image)
    results = anyio.run(_pull_all, settings, targets, options.refresh)
    if options.json:
        emit_json(results)
    failed = [result for result in results if result["status"] == "failed"]
    if failed and not options.json:
        names = ", ".join(result["image"] for result in failed)
        raise CLIError(f"Could not pull {names}.", hint="See the reasons above; `mcp-registry doctor` checks Podman.")
    return 1 if failed else 0


# --- ps --------------------------------------------------------------------------------------


def _ps_args() -> list[str]:
    """`podman ps` of the registry's containers, on any host."""
    from mcp_registry_server.podman.command import LABEL_MANAGED

    return ["ps", "--all", "--format", "json", "--filter", f"label={LABEL_MANAGED}=true"]


def _podman_ps(podman: str) -> list[dict[str, Any]]:
    executable = shutil.which(podman)
    if executable is None:
        raise CLIError(
            f"Podman was not found ({podman!r} is not on PATH), so there are no registry containers to show.",
            hint="Install Podman, or point MCP_REGISTRY_PODMAN at it; `mcp-registry doctor` checks the setup.",
        )
    argv = [executable, *_ps_args()]
    try:
        completed = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except subprocess.TimeoutExpired:
        raise CLIError("`podman ps` did not answer within 30 s.", hint="Check Podman with `podman info`.") from None
    if completed.returncode != 0:
        raise CLIError(
            f"`podman ps` failed: {completed.stderr.strip() or completed.returncode}",
            hint="Run `mcp-registry doctor` to see what is wrong with Podman.",
        )
    return json.loads(completed.stdout or "[]") or []


async def _podman_ps_on(settings: Any, host: str) -> list[dict[str, Any]]:
    """`podman ps` of a named host, through the tunnel the registry would open to it."""
    from mcp_registry_server.podman.api import open_podman_api
    from mcp_registry_server.podman.cli_command import run_podman

    async with open_podman_api(settings, connection=host) as api:
        listed = await run_podman(api.endpoint.cli_prefix(settings.podman_executable), _ps_args(), timeout=30)
    return json.loads(listed or "[]") or []


def _named_hosts_ps(settings: Any) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str]]:
    """Each named host's containers, and why the hosts that could not be listed could not."""
    import anyio

    from mcp_registry_server.podman.errors import PodmanError

    listed: dict[str, list[dict[str, Any]]] = {}
    failed: dict[str, str] = {}

    async def list_all() -> None:
        for host in settings.podman_hosts:
            try:
                listed[host] = await _podman_ps_on(settings, host)
            except (PodmanError, ValueError) as error:
                failed[host] = f"{error} {getattr(error, 'detail', '')}".strip()

    anyio.run(list_all)
    return listed, failed


def _registry_state(owner_label: str) -> tuple[bool | None, str]:
    from mcp_registry_server.podman.ownership import Owner, owner_is_alive

    owner = Owner.parse(owner_label)
    if owner is None:
        return None, "unknown"
    if owner.host != socket.gethostname():
        return None, f"on {owner.host}"
    alive = owner_is_alive(owner)
    return alive, f"pid {owner.pid} " + ("alive" if alive else "gone (orphan)")


def _started(raw: Any) -> str:
    if isinstance(raw, int | float) and raw > 0:
        return datetime.fromtimestamp(raw, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return str(raw or "")


def _remote_mounts(runtime_dir: Path) -> list[dict[str, Any]]:
    """The remote mounts of registries that still run, as rows like the containers'."""
    from mcp_registry_server.registry.remote_records import read_remote_records

    rows = []
    for record in read_remote_records(runtime_dir):
        alive, registry = _registry_state(str(record.get("owner", "")))
        if alive is False:
            continue  # a registry that is gone has no connections
        for mount in record["mounts"]:
            if not isinstance(mount, dict):
                continue
            rows.append(
                {
                    "name": "",
                    "host": "",
                    "url": str(mount.get("url", "")),
                    "transport": str(mount.get("transport", "")),
                    "id": "",
                    "entry": str(mount.get("entry", "")),
                    "prefix": str(mount.get("prefix", "")),
                    "instance": str(record.get("instance", "")),
                    "owner": str(record.get("owner", "")),
                    "registry_alive": alive,
                    "registry": registry,
                    "image": "",
                    "state": str(mount.get("state", "")),
                    "status": f"{mount.get('state', '')} ({mount.get('transport', '')})",
                    "started": str(mount.get("started", "")),
                }
            )
    return rows


def ps(options: argparse.Namespace) -> int:
    from mcp_registry_server.podman.command import LABEL_ENTRY, LABEL_INSTANCE, LABEL_OWNER, LABEL_PREFIX
    from mcp_registry_server.settings import LOCAL_HOST

    settings = load_settings()
    by_host = {LOCAL_HOST: _podman_ps(settings.podman_executable)}
    named, unreachable = _named_hosts_ps(settings) if settings.podman_hosts else ({}, {})
    by_host.update(named)
    containers = []
    for host, item in ((host, item) for host, items in by_host.items() for item in items):
        labels = item.get("Labels") or {}
        names = item.get("Names") or [""]
        alive, registry = _registry_state(labels.get(LABEL_OWNER, ""))
        containers.append(
            {
                "name": names[0],
                "host": host,
                "id": str(item.get("Id", ""))[:12],
                "entry": labels.get(LABEL_ENTRY, ""),
                "prefix": labels.get(LABEL_PREFIX, ""),
                "instance": labels.get(LABEL_INSTANCE, ""),
                "owner": labels.get(LABEL_OWNER, ""),
                "registry_alive": alive,
                "registry": registry,
                "image": item.get("Image", ""),
                "state": item.get("State", ""),
                "status": item.get("Status", ""),
                "started": _started(item.get("StartedAt") or item.get("Created")),
            }
        )
    containers += _remote_mounts(settings.runtime_dir)
    for host, reason in unreachable.items():
        print(f"{Style(sys.stderr).red('host ' + host)}: could not list its containers: {reason}", file=sys.stderr)
    exit_code = 1 if unreachable else 0
    if options.json:
        emit_json(containers)
        return exit_code
    if not containers:
        print("No registry containers. They appear while an editor has servers active (or `mcp-registry try`).")
        return exit_code
    rows = [
        [c["name"] or c["url"], c["host"], c["entry"], c["prefix"], c["status"], f"{c['instance']} ({c['registry']})"]
        for c in containers
    ]
    print_table(["CONTAINER OR URL", "HOST", "ENTRY", "PREFIX", "STATUS", "REGISTRY"], rows)
    return exit_code


# --- logs ------------------------------------------------------------------------------------


def _log_dir() -> Path:
    from mcp_registry_server.container_logs import default_log_dir

    return default_log_dir()


def logs(options: argparse.Namespace) -> int:
    from mcp_registry_server.container_logs import find_logs, follow, tail_lines

    log_dir = _log_dir()
    if options.selector is None:
        found = find_logs(log_dir)
        if options.json:
            emit_json([_log_json(log) for log in found])
            return 0
        if not found:
            print(f"No logs yet in {log_dir}. The registry writes one per container once a server is activated.")
            return 0
        rows = [[log.prefix or "-", log.container, _started(log.modified), f"{log.size} B"] for log in found]
        print_table(["PREFIX", "CONTAINER", "LAST WRITTEN", "SIZE"], rows)
        return 0
    found = find_logs(log_dir, options.selector)
    if not found:
        known = sorted({log.prefix or log.container for log in find_logs(log_dir)})
        raise CLIError(
            f"No log for {options.selector!r} in {log_dir}.",
            hint=(f"Logs exist for: {', '.join(known)}." if known else "No server has written a log yet.")
            + " Give a tool prefix (as in sqlite_list_tables → sqlite) or a container name from `mcp-registry ps`.",
        )
    newest = found[0]
    count = None if options.lines == 0 else max(options.lines, 0)
    lines = tail_lines(newest.path, count)
    if options.json:
        emit_json({**_log_json(newest), "lines": lines})
        return 0
    if len(found) > 1:
        print(
            Style(sys.stderr).dim(f"{newest.container} (newest of {len(found)} logs for {options.selector})"),
            file=sys.stderr,
        )
    for line in lines:
        print(line)
    if options.follow:
        sys.stdout.flush()
        try:
            for line in follow(newest.path):
                print(line, flush=True)
        except KeyboardInterrupt:
            return 0
    return 0


def _log_json(log: Any) -> dict[str, Any]:
    return {
        "container": log.container,
        "prefix": log.prefix,
        "path": str(log.path),
        "size": log.size,
        "modified": _started(log.modified),
    }
