"""Check everything the registry needs on this machine, and say how to fix what is wrong.

Contract: `run_checks(environ)` returns one `Check` per topic, always in this order:
environment, podman, rootless, podman-api, podman-hosts, podman-run, images, catalog, network, image-trust, config,
editors. It never raises: a check that cannot run says why (`skip`), and each is bounded in time
(the Podman checks run side by side). Status `fail` means the registry cannot work until it is fixed; `warn` means it
works, with a problem worth fixing. Every non-ok check carries a `fix` that says what to do.

The run check uses `podman.diagnostics.probe_podman_run` (a container from the host's `/bin/true`,
no image or registry needed), so the rlimit and hybrid-cgroup failures of Podman 4.3 are
recognised with their containers.conf remedy. Nothing here changes the machine except
`apply_fixes`, which only writes that containers.conf into the registry's config dir (after the
same probe passes with it) and tightens the permissions of the config dir and secrets file.

The Podman checks are in `podman_checks` and `rootless_checks`, those of files and settings in
`file_checks`, those of what the catalog's servers may do in `catalog_checks`, and the result type
in `check`; this module runs them in order and applies fixes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from mcp_registry_server.doctor.catalog_checks import check_image_trust, check_network_access
from mcp_registry_server.doctor.check import Check, Status
from mcp_registry_server.doctor.file_checks import (
    check_catalog,
    check_config,
    check_editors,
    check_environment,
    file_mode,
)
from mcp_registry_server.doctor.podman_checks import check_api, check_hosts, check_images, check_podman, check_run
from mcp_registry_server.doctor.rootless_checks import check_rootless
from mcp_registry_server.editors.targets import Platform, current_platform
from mcp_registry_server.settings import RegistrySettings

__all__ = [
    "Check",
    "FixOutcome",
    "Status",
    "apply_fixes",
    "check_api",
    "check_catalog",
    "check_config",
    "check_editors",
    "check_environment",
    "check_images",
    "check_podman",
    "check_run",
    "run_checks",
]


async def run_checks(
    environ: Mapping[str, str] | None = None, *, platform: Platform | None = None, home: Path | None = None
) -> list[Check]:
    """Every check, in the contract's order; `environ`, `platform` and `home` default to this machine's."""
    env = dict(os.environ if environ is None else environ)
    platform = platform or current_platform()
    home = home or Path.home()
    environment, settings = check_environment(env)
    if settings is None:
        skipped = [
            Check(name, "skip", "the environment is invalid")
            for name in (
                "podman",
                "rootless",
                "podman-api",
                "podman-hosts",
                "podman-run",
                "images",
                "catalog",
                "network",
                "image-trust",
                "config",
            )
        ]
        return [environment, *skipped, check_editors(env, platform, home)]
    catalog_check, catalog = check_catalog(settings)
    images = [entry.image for entry in catalog.values() if entry.image]  # remote entries run none
    podman = check_podman(settings, env)
    results: dict[str, Check] = {}
    if podman.status == "fail":
        for name in ("podman-api", "podman-hosts", "podman-run", "images"):
            results[name] = Check(name, "skip", "Podman is not installed")
    else:

        async def api() -> None:
            results["podman-api"] = await check_api(settings, env, platform)

        async def hosts() -> None:
            results["podman-hosts"] = await check_hosts(settings, env)

        async def run() -> None:
            results["podman-run"] = await anyio.to_thread.run_sync(check_run, env, platform)

        async def local_images() -> None:
            results["images"] = await anyio.to_thread.run_sync(check_images, settings, env, images)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(api)
            tasks.start_soon(hosts)
            tasks.start_soon(run)
            tasks.start_soon(local_images)
    return [
        environment,
        podman,
        check_rootless(env) if platform == "linux" else Check("rootless", "skip", "Podman runs in a podman machine"),
        results["podman-api"],
        results["podman-hosts"],
        results["podman-run"],
        results["images"],
        catalog_check,
        check_network_access(catalog, settings),
        check_image_trust(catalog, settings, home),
        check_config(settings, set(catalog)),
        check_editors(env, platform, home),
    ]


@dataclass(frozen=True)
class FixOutcome:
    """What `apply_fixes` did (and what is left for the user), and the variables the fixes need set."""

    done: list[str]
    environ_additions: dict[str, str] = field(default_factory=dict)


def apply_fixes(checks: list[Check], environ: Mapping[str, str] | None = None) -> FixOutcome:
    """Apply the fixes doctor knows for the failed checks; see the module contract."""
    from mcp_registry_server.podman.diagnostics import ensure_podman_runs

    env = dict(os.environ if environ is None else environ)
    settings = RegistrySettings.from_environ(env)
    done: list[str] = []
    by_name = {check.name: check for check in checks}
    run = by_name.get("podman-run")
    if run is not None and run.status == "fail" and run.data.get("failure") in {"rlimit", "cgroup-hybrid"}:
        conf = settings.config_dir / "containers.conf"
        if not settings.config_dir.is_dir():
            settings.config_dir.mkdir(mode=0o700, parents=True)
        probe_env = {key: value for key, value in env.items() if key != "CONTAINERS_CONF"}
        try:
            additions = ensure_podman_runs(conf, probe_env)
        except RuntimeError as error:
            done.append(f"the containers.conf workaround did not help: {error}")
        else:
            if not additions:
                current = env.get("CONTAINERS_CONF")
                done.append(
                    f"`podman run` works without CONTAINERS_CONF={current}: the settings in that file cause the "
                    "failure. Unset CONTAINERS_CONF (and run `mcp-registry install <editor>` again), or fix the file."
                    if current
                    else "`podman run` works now; nothing to write."
                )
                return FixOutcome(done + _fix_permissions(settings))
            value = additions["CONTAINERS_CONF"]
            done.append(
                f"wrote {conf}; `podman run` works with it. Now make it stick:\n"
                f"  export CONTAINERS_CONF={value}      # add this line to your shell profile\n"
                f"  mcp-registry install <editor>        # so the editor's entry passes it on"
            )
            return FixOutcome(done + _fix_permissions(settings), additions)
    return FixOutcome(done + _fix_permissions(settings))


def _fix_permissions(settings: RegistrySettings) -> list[str]:
    from mcp_registry_server.config import SECRETS_FILE

    done: list[str] = []
    if os.name == "posix" and settings.config_dir.is_dir():
        for path, wanted in ((settings.config_dir, 0o700), (settings.config_dir / SECRETS_FILE, 0o600)):
            mode = file_mode(path)
            if mode is not None and mode & 0o077:
                os.chmod(path, wanted)
                done.append(f"set {path} to mode {wanted:04o} (was {mode:04o})")
    return done
