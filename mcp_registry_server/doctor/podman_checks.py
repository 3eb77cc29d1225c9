"""The doctor's Podman checks: the executable and its version, the API socket, a real `podman run`, images.

`check_run` uses `podman.diagnostics.probe_podman_run` (a container made from the host's
`/bin/true`, so no image or registry is needed), which recognises the rlimit and hybrid-cgroup
failures of Podman 4.3 and their containers.conf remedy. `check_api` tries the sockets the
registry tries, in the same order, and on Linux falls back to the private `podman system service`
the registry would start; on macOS and Windows it looks for the podman machine's socket instead.
`check_hosts` reaches each named host of MCP_REGISTRY_PODMAN_HOSTS through the ssh tunnel the
registry would open (`podman.remote`), all at once. Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass

import anyio

from mcp_registry_server.doctor.check import Check, last_lines, run_command
from mcp_registry_server.editors.targets import Platform
from mcp_registry_server.settings import RegistrySettings

__all__ = ["check_api", "check_hosts", "check_images", "check_podman", "check_run", "podman_machine_socket"]

API_TIMEOUT = 30


def check_podman(settings: RegistrySettings, environ: Mapping[str, str]) -> Check:
    from mcp_registry_server.podman.diagnostics import PODMAN_MISSING

    executable = shutil.which(settings.podman_executable, path=environ.get("PATH"))
    if executable is None:
        return Check(
            "podman",
            "fail",
            f"Podman is not installed ({settings.podman_executable!r} is not on PATH); no server can start",
            fix=PODMAN_MISSING.remedy + " Or point MCP_REGISTRY_PODMAN at the podman executable.",
        )
    completed = run_command([executable, "--version"], environ)
    if completed is None or completed.returncode != 0:
        return Check(
            "podman",
            "fail",
            f"{executable} does not run",
            last_lines(completed.stderr if completed else ""),
            fix="Reinstall Podman, or point MCP_REGISTRY_PODMAN at a working podman.",
        )
    version = completed.stdout.strip().removeprefix("podman version ").strip()
    data = {"executable": executable, "version": version}
    try:
        major = int(version.split(".")[0])
    except ValueError:
        major = 0
    if major < 4:
        return Check(
            "podman",
            "warn",
            f"podman {version} at {executable}: older than 4, untested",
            fix="Upgrade to Podman 4.3 or newer.",
            data=data,
        )
    return Check("podman", "ok", f"podman {version} ({executable})", data=data)


def podman_machine_socket(settings: RegistrySettings, environ: Mapping[str, str]) -> str | None:
    """On macOS and Windows, the API socket of the running podman machine, as a unix:// URL."""
    podman = shutil.which(settings.podman_executable, path=environ.get("PATH"))
    if podman is None:
        return None
    completed = run_command(
        [podman, "machine", "inspect", "--format", "{{.ConnectionInfo.PodmanSocket.Path}}"], environ
    )
    if completed is None or completed.returncode != 0:
        return None
    paths = [line.strip() for line in completed.stdout.splitlines() if line.strip() and line.strip() != "<no value>"]
    return f"unix://{paths[0]}" if paths else None


async def check_api(settings: RegistrySettings, environ: Mapping[str, str], platform: Platform) -> Check:
    from mcp_registry_server.podman.api import PodmanAPI, open_podman_api
    from mcp_registry_server.podman.errors import PodmanError
    from mcp_registry_server.podman.helper_process import ping
    from mcp_registry_server.podman.service import PodmanEndpoint, candidate_endpoints

    tried: list[str] = []
    for candidate in candidate_endpoints(settings, environ):
        if await ping(candidate.url, 2.0):
            api = PodmanAPI(candidate, timeout=10)
            try:
                version = await api.version()
            except PodmanError as error:
                return Check("podman-api", "fail", f"{candidate.url} answers but fails", (str(error),))
            finally:
                api.close()
            return Check(
                "podman-api",
                "ok",
                f"{candidate.origin} socket {candidate.url} (Podman {version.version}, API {version.api_version})",
                data={"url": candidate.url, "origin": candidate.origin, "version": version.version},
            )
        tried.append(f"{candidate.origin} {candidate.url}: no answer")
    if platform != "linux":
        machine = await anyio.to_thread.run_sync(podman_machine_socket, settings, environ)
        if machine and await ping(machine, 2.0):
            return Check(
                "podman-api",
                "fail",
                f"the podman machine's API answers at {machine}, but CONTAINER_HOST does not point there",
                tuple(tried),
                fix=f"export CONTAINER_HOST={machine} (add it to your shell profile), then run "
                "`mcp-registry install <editor>` again so the editor gets it too.",
            )
        return Check(
            "podman-api",
            "fail",
            "no Podman API answers; on macOS and Windows it runs inside a podman machine",
            tuple(tried),
            fix="podman machine init && podman machine start, then run `mcp-registry doctor` again.",
        )
    try:
        with anyio.fail_after(API_TIMEOUT):
            async with open_podman_api(settings, environ=environ, call_timeout=10) as api:
                version = await api.version()
                endpoint: PodmanEndpoint = api.endpoint
    except TimeoutError:
        return Check("podman-api", "fail", f"the Podman API did not come up within {API_TIMEOUT} s", tuple(tried))
    except PodmanError as error:
        return Check(
            "podman-api",
            "fail",
            error.summary,
            (*tried, *(last_lines(error.detail) if error.detail else ())),
            fix=error.remedy,
        )
    socket_hint = (
        "to share one instead: `systemctl --user enable --now podman.socket`"
        if hasattr(os, "geteuid") and os.geteuid() != 0
        else "to share one instead: `systemctl enable --now podman.socket`"
    )
    return Check(
        "podman-api",
        "ok",
        f"no shared socket answers, so the registry runs its own `podman system service` "
        f"(it just did: Podman {version.version}, API {version.api_version})",
        (*tried, socket_hint),
        data={"url": endpoint.url, "origin": endpoint.origin, "version": version.version},
    )


async def check_hosts(settings: RegistrySettings, environ: Mapping[str, str]) -> Check:
    """Whether every named Podman host answers, each through its own tunnel, all at once."""
    if not settings.podman_hosts:
        return Check("podman-hosts", "skip", "no other Podman hosts configured (MCP_REGISTRY_PODMAN_HOSTS)")
    reports: dict[str, _HostReport] = {}

    async def reach(host: str) -> None:
        reports[host] = await _reach_host(settings, environ, host)

    async with anyio.create_task_group() as group:
        for host in settings.podman_hosts:
            group.start_soon(reach, host)
    ordered = [reports[host] for host in settings.podman_hosts]  # the configured order, whoever answered first
    lines = tuple(line for report in ordered for line in report.lines)
    if failed := [host for host in settings.podman_hosts if not reports[host].ok]:
        fix = next((report.fix for report in ordered if report.fix), None)
        return Check("podman-hosts", "fail", f"cannot reach the Podman host(s) {', '.join(failed)}", lines, fix=fix)
    return Check("podman-hosts", "ok", f"{len(settings.podman_hosts)} more host(s) answer", lines)


@dataclass(frozen=True)
class _HostReport:
    ok: bool
    lines: list[str]
    fix: str | None = None


async def _reach_host(settings: RegistrySettings, environ: Mapping[str, str], host: str) -> _HostReport:
    from mcp_registry_server.podman.api import open_podman_api
    from mcp_registry_server.podman.errors import PodmanError

    try:
        with anyio.fail_after(API_TIMEOUT):
            async with open_podman_api(settings, environ=environ, call_timeout=10, connection=host) as api:
                version = await api.version()
                return _HostReport(True, [f"{host}: {api.endpoint.described} (Podman {version.version})"])
    except TimeoutError:
        return _HostReport(False, [f"{host}: no answer within {API_TIMEOUT} s"])
    except PodmanError as error:
        detail = [f"  {line}" for line in last_lines(error.detail)] if error.detail else []
        return _HostReport(False, [f"{host}: {error.summary}", *detail], error.remedy)


def check_run(environ: Mapping[str, str], platform: Platform) -> Check:
    from mcp_registry_server.podman.diagnostics import probe_podman_run

    if platform != "linux":
        return Check(
            "podman-run",
            "skip",
            "the test container is built from this host's /bin/true, which only works on Linux",
            fix="Run `mcp-registry try time` to start a real server end to end.",
        )
    result = probe_podman_run(environ)
    conf = environ.get("CONTAINERS_CONF")
    if result.ok:
        return Check(
            "podman-run",
            "ok",
            "a test container ran" + (f" (with CONTAINERS_CONF={conf})" if conf else ""),
        )
    details = list(last_lines(result.stderr))
    if conf:
        details.append(f"CONTAINERS_CONF={conf} is set: podman ran with the settings in that file")
    if result.failure is None:
        return Check(
            "podman-run",
            "fail",
            "`podman run` fails, for a reason mcp-registry does not recognise",
            tuple(details),
            fix="Run `podman run --rm docker.io/library/alpine true` by hand to see more, and fix Podman first.",
        )
    fix = result.failure.remedy
    if result.workaround_applies:
        fix = (
            "Run `mcp-registry doctor --fix`: it writes the containers.conf below to mcp-registry's config dir "
            "and checks that `podman run` works with it. Then export CONTAINERS_CONF as it says, and run "
            "`mcp-registry install <editor>` again so the editor passes it on.\nBy hand: " + result.failure.remedy
        )
    return Check(
        "podman-run", "fail", result.failure.summary, tuple(details), fix=fix, data={"failure": result.failure.key}
    )


def check_images(settings: RegistrySettings, environ: Mapping[str, str], images: list[str]) -> Check:
    podman = shutil.which(settings.podman_executable, path=environ.get("PATH"))
    if podman is None:
        return Check("images", "skip", "Podman is not installed")
    completed = run_command([podman, "images", "--format", "json"], environ)
    if completed is None or completed.returncode != 0:
        return Check("images", "skip", "`podman images` failed", last_lines(completed.stderr if completed else ""))
    local: set[str] = set()
    for image in json.loads(completed.stdout or "[]") or []:
        for name in image.get("Names") or []:
            local.add(name)
            local.add(name.removesuffix(":latest"))
    present = [image for image in images if image in local or f"{image}:latest" in local]
    return Check(
        "images",
        "ok",
        f"{len(present)} of {len(set(images))} catalog images are local; the others are pulled on first activation",
        fix=None if len(present) == len(set(images)) else "To pull ahead of time: `mcp-registry pull <entry>`.",
        data={"present": sorted(set(present))},
    )
