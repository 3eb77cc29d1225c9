"""Start catalog entries as interactive Podman containers, make sure they go away, and clean up orphans.

Contract:
- `start_interactive_container` runs `podman run -i --rm …` (argv from `command.build_run_argv`)
  with stdin, stdout and stderr piped, and hands the process to the caller, who owns it from then
  on: it speaks JSON-RPC over the pipes, must drain stderr, and closes stdin to stop the server.
  Env values travel in the environment of the `podman` process (argv has `--env NAME`); secret
  values in Podman secrets made just before the run (`secret_store`; argv has `--secret …`), so no
  host process's environment holds them. Neither is ever logged. The image must already be local
  (`--pull=never`); a missing image is a `PodmanError` before anything starts. On Linux the
  `podman run` process is bound to die with the registry (`setpriv --pdeathsig TERM`, util-linux):
  when an editor kills the registry outright (or before its shutdown could close the servers),
  podman passes the SIGTERM to the server and `--rm` removes the container, instead of it running
  until the next registry's orphan sweep.
- `ensure_gone` runs after the caller has closed stdin: it waits up to `grace` for `--rm` to remove
  the container, then force-removes it through the API, and reports whether it is confirmed gone.
  When the API cannot be reached (its service stopped first), the podman command does the same.
  It runs under a cancellation shield and every wait in it is bounded. It only ever sees containers
  labelled with this registry instance: a container that took the name first (so our `podman run`
  failed) is someone else's and is left alone. Then it removes the container's Podman secrets.
- `remove_orphans` removes only containers labelled `io.mcp-registry.managed=true` whose owner label
  names this host and a process that is provably dead (see `ownership`); containers of other hosts,
  of live instances (this one included) and without our label are never touched. Then the same for
  networks (the egress networks of `podman.egress`), once the containers on them are gone, and for
  the Podman secrets of such owners, by the same labels.
- `podman_status` reports availability for `registry_status` and for errors shown by `add`.

`podman run` is the local podman CLI; the API (`PodmanAPI`) must talk to the same Podman, which is
what socket discovery arranges on one machine. For a remote host the CLI is `podman --remote --url`
the API's own ssh tunnel (`PodmanEndpoint.cli_prefix`), so both still reach one Podman; the
`setpriv --pdeathsig` wrapper then binds the local remote client to us, and when it dies the remote
run's stdin closes and its `--rm` removes the container there. An openapi entry (it mounts files
of this machine) is refused on a remote host.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass

import anyio
from anyio.abc import Process

from mcp_registry_server.catalog.entry import CatalogEntry
from mcp_registry_server.openapi_server import runtime_mounts
from mcp_registry_server.podman.api import PodmanAPI
from mcp_registry_server.podman.cli_command import run_podman
from mcp_registry_server.podman.command import (
    LABEL_INSTANCE,
    LABEL_MANAGED,
    LABEL_OWNER,
    EgressRoute,
    build_run_argv,
    container_name,
    registry_labels,
)
from mcp_registry_server.podman.diagnostics import PODMAN_MISSING
from mcp_registry_server.podman.errors import PodmanError, PodmanUnavailable
from mcp_registry_server.podman.ownership import Owner, own_owner_label, owner_is_alive
from mcp_registry_server.podman.secret_store import create_container_secrets, labelled_secrets, remove_secrets
from mcp_registry_server.settings import RegistrySettings

__all__ = ["PodmanRunner", "PodmanStatus", "StartedContainer"]

logger = logging.getLogger(__name__)
# The parent-death signal follows the thread that forked; anyio forks on the event loop's thread,
# which lives as long as the registry. setpriv (util-linux) sets it and execs podman.
_SETPRIV = shutil.which("setpriv") if sys.platform.startswith("linux") else None
_DIE_WITH_US = (_SETPRIV, "--pdeathsig", "TERM", "--") if _SETPRIV else ()

_GONE_POLL_INTERVAL = 0.1
# After a force removal that raced with `--rm`, how long the container may take to vanish.
_REMOVAL_SETTLE_SECONDS = 2.0


@dataclass(frozen=True)
class StartedContainer:
    """A `podman run -i` process the caller now owns, and what identifies its container."""

    name: str
    entry_id: str
    argv: list[str]
    process: Process
    started_at: float  # anyio.current_time(), for uptime and init timeouts
    labels: Mapping[str, str]


@dataclass(frozen=True)
class PodmanStatus:
    """Whether Podman can be used, for `registry_status` and user-facing errors."""

    available: bool
    version: str | None = None
    api_version: str | None = None
    socket: str | None = None
    socket_origin: str | None = None
    error: str | None = None
    remedy: str | None = None

    @classmethod
    def from_error(cls, error: PodmanError, *, socket: str | None = None) -> PodmanStatus:
        """The status to show when Podman failed (including when `open_podman_api` raised)."""
        detail = f"{error.summary}\n{error.detail}" if error.detail else error.summary
        return cls(available=False, socket=socket, error=detail, remedy=error.remedy)


class PodmanRunner:
    """Starts, stops and cleans up the registry's containers. See the module contract."""

    def __init__(self, settings: RegistrySettings, api: PodmanAPI) -> None:
        self.settings = settings
        self.api = api
        # The podman command's start: for a remote host it goes through the API's ssh tunnel.
        self._podman = api.endpoint.cli_prefix(settings.podman_executable)
        # Container name → the Podman secrets holding its secret values, removed once it is gone.
        self._secrets: dict[str, list[str]] = {}

    def owner_label(self) -> str:
        """`<hostname>:<pid>:<start token>` of this process, as put on every container it starts."""
        return own_owner_label(self.settings.hostname)

    async def start_interactive_container(
        self,
        entry: CatalogEntry,
        *,
        prefix: str,
        values: Mapping[str, str],
        enabled_volumes: Mapping[str, str],
        egress: EgressRoute | None = None,
    ) -> StartedContainer:
        """Start `entry` in its hardened container; see the module contract.

        `values` holds env and secret values by name; an env var without a value falls back to its
        declared default, and a variable with neither is not passed. Raises ValueError for a bad
        prefix, volume or variable, `PodmanError` when the image is not local, and
        `PodmanUnavailable` when the podman executable cannot be run.
        """
        if self.api.endpoint.origin == "remote" and runtime_mounts(entry):
            raise PodmanError(
                f"{entry.id!r} is an openapi entry, which mounts files of this machine, so it cannot run on the remote "
                f"Podman host {self.api.endpoint.described}.",
                remedy="Run it on a local Podman (unset CONTAINER_HOST / MCP_REGISTRY_PODMAN_CONNECTION).",
            )
        resolved = _resolve_values(entry, values)
        secret_values = {secret.name: resolved.pop(secret.name) for secret in entry.secrets if secret.name in resolved}
        name = container_name(prefix)
        labels = registry_labels(
            instance_id=self.settings.instance_id,
            owner=self.owner_label(),
            entry_id=entry.id,
            prefix=prefix,
            extra=self.settings.extra_labels,
        )
        planned_secrets = {env_name: f"{name}-{env_name}" for env_name in secret_values}  # checked before any exist
        argv = build_run_argv(
            entry,
            podman=self._podman,
            name=name,
            labels=labels,
            env_names=list(resolved),
            enabled_volumes=enabled_volumes,
            egress=egress,
            podman_secrets=planned_secrets,
        )
        if not await self.api.image_exists(entry.image):
            raise PodmanError(
                f"Image {entry.image} for {entry.id!r} is not available locally, so the server was not started.",
                remedy=f"Pull it first (`podman pull {entry.image}`), or activate the entry again to let the "
                "registry pull it.",
            )
        secret_labels = {key: labels[key] for key in (LABEL_MANAGED, LABEL_INSTANCE, LABEL_OWNER)}
        self._secrets[name] = list(planned_secrets.values())
        try:
            await create_container_secrets(self._podman, name, secret_values, secret_labels, timeout=self.api.timeout)
            logger.info("Starting %s for %s: %s", name, entry.id, shlex.join(argv))
            if _DIE_WITH_US and shutil.which(argv[0]) is None:  # setpriv would start, then fail to exec it
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), argv[0])
            process = await anyio.open_process(
                [*_DIE_WITH_US, *argv],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={**os.environ, **resolved},
            )
        except BaseException as error:
            with anyio.CancelScope(shield=True):
                await self._remove_secrets_of(name)
            if not isinstance(error, OSError):
                raise
            raise PodmanUnavailable(
                f"Could not run {self.settings.podman_executable!r} ({error.strerror or error}), so {entry.id!r} "
                "was not started.",
                remedy=PODMAN_MISSING.remedy,
            ) from error
        return StartedContainer(
            name=name,
            entry_id=entry.id,
            argv=argv,
            process=process,
            started_at=anyio.current_time(),
            labels=labels,
        )

    async def ensure_gone(self, name: str, *, grace: float) -> bool:
        """Wait up to `grace` for the container to leave, then force-remove it; True once confirmed gone.

        A container that `podman run` has not created yet also looks gone: call this after the server
        answered (or after the podman process exited), not straight after starting it. When the API
        cannot be reached (its service may have stopped before us), the podman command, which needs
        no service, checks and removes it instead.
        """
        with anyio.CancelScope(shield=True):
            gone = await self._confirm_gone(name, grace)
            # A secret is copied into the container when it is created, so it can go either way.
            await self._remove_secrets_of(name)
            return gone
        # Only reached if the shielded scope itself were cancelled (nothing holds it): nothing confirmed it gone.
        return False

    async def _remove_secrets_of(self, name: str) -> None:
        if names := self._secrets.pop(name, None):
            await remove_secrets(self._podman, names, timeout=self.api.timeout)

    async def _confirm_gone(self, name: str, grace: float) -> bool:
        try:
            try:
                return await self._ensure_gone(name, grace, via_cli=False)
            except PodmanUnavailable as error:
                logger.info("%s Checking that %s is gone with the podman command instead.", error.summary, name)
                return await self._ensure_gone(name, grace, via_cli=True)
        except PodmanError as error:
            logger.error(
                "Could not confirm that container %s is gone: %s\nCheck with `podman ps -a --filter name=%s`.",
                name,
                error,
                name,
            )
            return False

    async def _ensure_gone(self, name: str, grace: float, *, via_cli: bool) -> bool:
        if await self._gone_within(name, grace, via_cli=via_cli):
            return True
        logger.warning("Container %s still exists %.1f s after its stdin closed; removing it", name, grace)
        try:
            if container_id := await self._own_container_id(name, via_cli=via_cli):
                if via_cli:
                    await self.podman_command("rm", "--force", "--ignore", "--time", "0", container_id)
                else:
                    await self.api.remove_container(container_id, timeout=0)
        except PodmanUnavailable:
            raise
        except PodmanError as error:
            # `--rm` may be removing it at the same moment; the check below decides.
            logger.info("Force-removing %s failed, checking whether it left anyway: %s", name, error)
        if await self._gone_within(name, _REMOVAL_SETTLE_SECONDS, via_cli=via_cli):
            return True
        logger.error("Container %s could not be removed; remove it with `podman rm -f %s`", name, name)
        return False

    async def _gone_within(self, name: str, seconds: float, *, via_cli: bool) -> bool:
        # Podman has no event we could wait on here short of an events stream; polling is bounded.
        with anyio.move_on_after(seconds):
            while True:
                if await self._own_container_id(name, via_cli=via_cli) is None:
                    return True
                await anyio.sleep(_GONE_POLL_INTERVAL)
        return False

    async def _own_container_id(self, name: str, *, via_cli: bool = False) -> str | None:
        """The id of the container called `name` that this registry instance started, if it exists."""
        instance_label = f"{LABEL_INSTANCE}={self.settings.instance_id}"
        if via_cli:
            listed = await self.podman_command(
                "ps", "--all", "--filter", f"label={instance_label}", "--format", "{{.ID}} {{.Names}}"
            )
            rows = (line.split(maxsplit=1) for line in listed.splitlines())
            return next((row[0] for row in rows if len(row) == 2 and row[1] == name), None)
        if not await self.api.container_exists(name):
            return None
        for info in await self.api.list_containers({LABEL_INSTANCE: self.settings.instance_id}):
            if info.name == name:
                return info.id
        return None

    async def podman_command(self, *args: str) -> str:
        """The stdout of `podman <args>`; `PodmanError` when it fails or takes longer than the API timeout."""
        return await run_podman(self._podman, list(args), timeout=self.api.timeout)

    async def remove_orphans(self) -> list[str]:
        """Remove containers, then networks and Podman secrets, of dead registry processes on this host.

        Returns the names of the containers and networks removed."""
        removed: list[str] = []
        for info in await self.api.list_containers({LABEL_MANAGED: "true"}):
            if not await self._owner_is_dead(info.labels):
                continue
            try:
                await self.api.remove_container(info.id, timeout=0)
            except PodmanError as error:
                logger.warning("Could not remove orphaned container %s: %s", info.name, error)
                continue
            logger.info("Removed orphaned container %s (owner %s is gone)", info.name, info.labels[LABEL_OWNER])
            removed.append(info.name)
        removed += await self._remove_orphan_networks()
        try:
            secrets = await labelled_secrets(self._podman, timeout=self.api.timeout)
        except PodmanError as error:
            logger.warning("Could not list Podman secrets to remove those of dead registries: %s", error)
            return removed
        orphaned = [name for name, labels in secrets.items() if await self._owner_is_dead(labels)]
        left = await remove_secrets(self._podman, orphaned, timeout=self.api.timeout)
        if gone := [name for name in orphaned if name not in left]:
            logger.info("Removed %d Podman secret(s) of registries that are gone", len(gone))
        return removed

    async def _remove_orphan_networks(self) -> list[str]:
        listed = await self.podman_command(
            "network", "ls", "--filter", f"label={LABEL_MANAGED}=true", "--format", "json"
        )
        removed = []
        for network in json.loads(listed or "[]") or []:
            labels = network.get("labels") or {}
            if not await self._owner_is_dead(labels):
                continue
            try:
                await self.podman_command("network", "rm", "--force", network["name"])
            except PodmanError as error:
                logger.warning("Could not remove orphaned network %s: %s", network["name"], error)
                continue
            logger.info("Removed orphaned network %s (owner %s is gone)", network["name"], labels[LABEL_OWNER])
            removed.append(network["name"])
        return removed

    async def _owner_is_dead(self, labels: Mapping[str, str]) -> bool:
        """Whether these labels name a registry process on this host, other than us, that is provably dead."""
        owner = Owner.parse(labels.get(LABEL_OWNER, ""))
        if labels.get(LABEL_MANAGED) != "true" or owner is None or owner.label == self.owner_label():
            return False
        if owner.host != self.settings.hostname:
            return False
        return not await anyio.to_thread.run_sync(owner_is_alive, owner)

    async def podman_status(self) -> PodmanStatus:
        try:
            version = await self.api.version()
        except PodmanError as error:
            return PodmanStatus.from_error(error, socket=self.api.endpoint.url)
        return PodmanStatus(
            available=True,
            version=version.version,
            api_version=version.api_version,
            socket=self.api.endpoint.url,
            socket_origin=self.api.endpoint.origin,
        )


def _resolve_values(entry: CatalogEntry, values: Mapping[str, str]) -> dict[str, str]:
    """Declared env/secret names → the values to pass; undeclared names in `values` are ignored."""
    resolved: dict[str, str] = {}
    for var in entry.env:
        value = values.get(var.name, var.default)
        if value is not None:
            resolved[var.name] = value
    for secret in entry.secrets:
        if secret.name in values:
            resolved[secret.name] = values[secret.name]
    for name, value in resolved.items():
        if "\x00" in value:
            # Say which variable, never what it holds.
            raise ValueError(f"the value of {name} for {entry.id!r} contains a NUL character, which env cannot carry")
    return resolved
