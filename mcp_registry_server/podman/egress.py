"""Egress proxies: the only way out for servers whose catalog entry lists `allow_hosts`.

Contract:
- `EgressProxies.acquire(runner, holder, allow_hosts)` returns the `EgressRoute` a server joins:
  an internal Podman network (`podman network create --internal`: no route out, and no DNS for
  outside names) with a tinyproxy container on it that is also on the egress network
  (`settings.egress_network`). The proxy forwards exactly the listed `host:port` pairs, by CONNECT
  (HTTPS) and plain HTTP, and answers 403 to anything else. One proxy and network per host set,
  shared by every holder (a mount's prefix) with the same set; `release(holder)` removes both when
  the last holder goes, and `release_all()` at shutdown. Protocols other than HTTP(S) have no way
  out at all.
- The proxy runs hardened (`--cap-drop=ALL`, read-only root, no new privileges, small limits) from
  `settings.proxy_image` with `tinyproxy` as its entrypoint and its configuration bind-mounted
  read-only from the runtime dir, so any image with tinyproxy on PATH works.
- Networks and proxies carry the registry's `managed`, `instance` and `owner` labels, so the orphan
  sweep (`PodmanRunner.remove_orphans`) removes those of dead registries: proxies with the other
  containers, then the networks.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from mcp_registry_server.podman.command import LABEL_INSTANCE, LABEL_MANAGED, LABEL_OWNER, EgressRoute
from mcp_registry_server.podman.errors import PodmanError
from mcp_registry_server.podman.runner import PodmanRunner
from mcp_registry_server.settings import RegistrySettings

__all__ = ["EgressProxies", "host_set_key", "proxy_filter"]

logger = logging.getLogger(__name__)

LABEL_ROLE = "io.mcp-registry.role"
PROXY_PORT = 8888
_CONFIG_IN_CONTAINER = "/etc/mcp-registry"
_TINYPROXY_CONF = f"""\
Port {PROXY_PORT}
Timeout 120
MaxClients 64
DisableViaHeader Yes
LogLevel Notice
FilterURLs On
FilterExtended On
FilterDefaultDeny Yes
Filter "{_CONFIG_IN_CONTAINER}/filter"
"""


def proxy_filter(allow_hosts: Iterable[str]) -> str:
    """tinyproxy filter lines allowing exactly `allow_hosts` (`host:port`), CONNECT and plain HTTP.

    With FilterURLs, tinyproxy matches a CONNECT against `host:port` and a plain request against its
    whole URL, where port 80 may be left out.
    """
    lines = []
    for pair in allow_hosts:
        host, _, port = pair.rpartition(":")
        quoted = re.escape(host)
        lines.append(f"^{quoted}:{port}$")
        lines.append(f"^http://{quoted}{'(:80)?' if port == '80' else ':' + port}(/|$)")
    return "\n".join(lines) + "\n"


def host_set_key(allow_hosts: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(set(allow_hosts))).encode()).hexdigest()[:10]


@dataclass
class _Proxy:
    key: str
    network: str
    container: str
    config_dir: Path
    route: EgressRoute
    holders: set[str] = field(default_factory=set)


class EgressProxies:
    """The proxies of one registry, by host set. See the module contract."""

    def __init__(self, settings: RegistrySettings) -> None:
        self._settings = settings
        self._proxies: dict[str, _Proxy] = {}
        self._held: dict[str, str] = {}  # holder -> host set key
        self._lock = anyio.Lock()
        self._runner: PodmanRunner | None = None

    async def acquire(self, runner: PodmanRunner, holder: str, allow_hosts: Sequence[str]) -> EgressRoute:
        """The route for `allow_hosts`, starting its proxy unless one runs; `holder` keeps it up."""
        key = host_set_key(allow_hosts)
        async with self._lock:
            self._runner = runner
            if (held := self._held.get(holder)) is not None and held != key:
                await self._drop(holder)
            proxy = self._proxies.get(key)
            if proxy is None:
                proxy = self._proxies[key] = await self._start(runner, key, allow_hosts)
            proxy.holders.add(holder)
            self._held[holder] = key
            return proxy.route

    async def release(self, holder: str) -> None:
        """`holder` no longer needs its proxy; the proxy and its network go when nobody does."""
        with anyio.CancelScope(shield=True):
            async with self._lock:
                await self._drop(holder)

    async def release_all(self) -> None:
        with anyio.CancelScope(shield=True):
            async with self._lock:
                for holder in list(self._held):
                    await self._drop(holder)

    def held_by(self, holder: str) -> EgressRoute | None:
        key = self._held.get(holder)
        return self._proxies[key].route if key else None

    async def _drop(self, holder: str) -> None:
        key = self._held.pop(holder, None)
        proxy = self._proxies.get(key) if key else None
        if proxy is None:
            return
        proxy.holders.discard(holder)
        if not proxy.holders:
            del self._proxies[proxy.key]
            if self._runner is not None:
                await self._remove(self._runner, proxy.container, proxy.network, proxy.config_dir)

    async def _start(self, runner: PodmanRunner, key: str, allow_hosts: Sequence[str]) -> _Proxy:
        suffix = secrets.token_hex(3)
        network, container = f"mcp-registry-egress-{key}-{suffix}", f"mcp-registry-proxy-{key}-{suffix}"
        config_dir = self._settings.runtime_dir / "egress" / f"{key}-{suffix}"
        labels = [
            f"{LABEL_MANAGED}=true",
            f"{LABEL_INSTANCE}={self._settings.instance_id}",
            f"{LABEL_OWNER}={runner.owner_label()}",
            f"{LABEL_ROLE}=egress-proxy",
            *(f"{key}={value}" for key, value in self._settings.extra_labels.items()),
        ]
        label_args = [arg for label in labels for arg in ("--label", label)]
        try:
            config_dir.mkdir(parents=True, mode=0o700)
            (config_dir / "tinyproxy.conf").write_text(_TINYPROXY_CONF, encoding="utf-8")
            (config_dir / "filter").write_text(proxy_filter(allow_hosts), encoding="utf-8")
            for path in config_dir.iterdir():
                path.chmod(0o644)  # the proxy may run as a non-root user
            await runner.podman_command("network", "create", "--internal", *label_args, network)
            await runner.podman_command(
                "run", "--detach", "--rm", "--name", container, *label_args,
                f"--network={network}", f"--network={self._settings.egress_network}",
                "--pull=never", "--log-driver=none", "--cap-drop=ALL", "--security-opt=no-new-privileges",
                "--read-only", "--memory=64m", "--cpus=0.5", "--pids-limit=64",
                "--volume", f"{config_dir}:{_CONFIG_IN_CONTAINER}:ro",
                "--entrypoint", json.dumps(["tinyproxy", "-d", "-c", f"{_CONFIG_IN_CONTAINER}/tinyproxy.conf"]),
                self._settings.proxy_image,
            )  # fmt: skip
            networks = json.loads(
                await runner.podman_command("inspect", container, "--format", "{{json .NetworkSettings.Networks}}")
            )
            address = (networks.get(network) or {}).get("IPAddress")
            if not address:
                raise PodmanError(f"The egress proxy {container} has no address on {network}.")
        except BaseException as error:
            with anyio.CancelScope(shield=True):
                await self._remove(runner, container, network, config_dir)
            if isinstance(error, OSError):
                raise PodmanError(
                    f"Could not write the egress proxy's configuration in {config_dir}: {error}"
                ) from error
            raise
        logger.info("started egress proxy %s on %s for %s", container, network, ", ".join(allow_hosts))
        route = EgressRoute(network=network, proxy_url=f"http://{address}:{PROXY_PORT}")
        return _Proxy(key=key, network=network, container=container, config_dir=config_dir, route=route)

    async def _remove(self, runner: PodmanRunner, container: str, network: str, config_dir: Path) -> None:
        for args in (("rm", "--force", "--ignore", "--time", "0", container), ("network", "rm", "--force", network)):
            try:
                await runner.podman_command(*args)
            except PodmanError as error:
                if "network not found" not in f"{error}{error.detail}":
                    logger.warning("could not remove egress %s: %s", args[-1], error)
        shutil.rmtree(config_dir, ignore_errors=True)
