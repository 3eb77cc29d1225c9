"""Recognise the ways `podman run` fails on a host, and the known fix for each.

Contract: `probe_podman_run` starts one throwaway container (a minimal root filesystem made
from the host's own `/bin/true`, so no image or registry is needed) and classifies the
outcome. `explain` turns podman's stderr into a `KnownFailure` with a remedy. Nothing here
changes the host except `write_workaround_conf`, which only writes the file it is given.

Two failures are known on hosts where podman cannot raise rlimits or where cgroups are in
hybrid mode (Podman 4.3 on some CI machines): both are cured by a containers.conf that
selects `runc` and sets rlimits the host allows, pointed to by `CONTAINERS_CONF`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

WORKAROUND_CONTAINERS_CONF = """\
# Written by mcp-registry: this host's podman cannot raise rlimits or use crun with
# hybrid cgroups. Selecting runc and rlimits the host allows makes `podman run` work.
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]

[engine]
runtime = "runc"
"""

PROBE_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class KnownFailure:
    key: str
    summary: str
    remedy: str


_RLIMIT_REMEDY = (
    "Write a containers.conf that sets rlimits the host allows and select runc, then point "
    "CONTAINERS_CONF at it:\n\n" + WORKAROUND_CONTAINERS_CONF + "\nexport CONTAINERS_CONF=/path/to/containers.conf"
)

_KNOWN_FAILURES: tuple[tuple[re.Pattern[str], KnownFailure], ...] = (
    (
        re.compile(r"error setting rlimit|setrlimit `?RLIMIT_\w+`?: Operation not permitted", re.IGNORECASE),
        KnownFailure(
            key="rlimit",
            summary="podman cannot raise the container's rlimits on this host (OCI permission denied)",
            remedy=_RLIMIT_REMEDY,
        ),
    ),
    (
        re.compile(r"cgroups in hybrid mode not supported", re.IGNORECASE),
        KnownFailure(
            key="cgroup-hybrid",
            summary="crun does not support this host's hybrid cgroup layout",
            remedy=_RLIMIT_REMEDY,
        ),
    ),
    (
        re.compile(r"default OCI runtime \"?\w+\"? not found|executable file `\w+` not found", re.IGNORECASE),
        KnownFailure(
            key="runtime-missing",
            summary="the OCI runtime podman is configured to use is not installed",
            remedy="Install runc (Debian/Ubuntu: `apt-get install runc`) or crun, or select an installed "
            "runtime with `[engine] runtime = ...` in containers.conf.",
        ),
    ),
)

PODMAN_MISSING = KnownFailure(
    key="podman-missing",
    summary="podman is not installed or not on PATH",
    remedy="Install Podman: Debian/Ubuntu `sudo apt-get install podman runc`, Fedora `sudo dnf install podman`, "
    "macOS `brew install podman && podman machine init && podman machine start`.",
)


def explain(podman_stderr: str) -> KnownFailure | None:
    """Return the known failure that podman's error output shows, if any."""
    for pattern, failure in _KNOWN_FAILURES:
        if pattern.search(podman_stderr):
            return failure
    return None


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    stderr: str
    failure: KnownFailure | None

    @property
    def workaround_applies(self) -> bool:
        return self.failure is not None and self.failure.key in {"rlimit", "cgroup-hybrid"}


def _make_probe_rootfs(directory: Path) -> Path:
    """Copy the host's `true` and the shared libraries it needs into `directory`."""
    true_binary = Path(shutil.which("true") or "/bin/true").resolve()
    (directory / "bin").mkdir(parents=True)
    shutil.copy2(true_binary, directory / "bin" / "true")
    ldd = shutil.which("ldd")
    if ldd:
        listing = subprocess.run([ldd, str(true_binary)], capture_output=True, text=True, check=False).stdout
        for library in re.findall(r"(/\S+)", listing):
            target = directory / library.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(Path(library).resolve(), target)
    return directory


def probe_podman_run(environ: Mapping[str, str] | None = None) -> ProbeResult:
    """Run `podman run --rm` on a minimal root filesystem and classify the outcome."""
    podman = shutil.which("podman")
    if podman is None:
        return ProbeResult(ok=False, stderr="podman: command not found", failure=PODMAN_MISSING)
    env = dict(os.environ if environ is None else environ)
    with tempfile.TemporaryDirectory(prefix="mcp-registry-probe-") as scratch:
        rootfs = _make_probe_rootfs(Path(scratch) / "rootfs")
        try:
            completed = subprocess.run(
                [podman, "run", "--rm", "--network=none", "--rootfs", str(rootfs), "/bin/true"],
                capture_output=True,
                text=True,
                env=env,
                timeout=PROBE_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return ProbeResult(ok=False, stderr=f"podman run did not finish in {PROBE_TIMEOUT_SECONDS} s", failure=None)
    stderr = completed.stderr.strip()
    if completed.returncode == 0:
        return ProbeResult(ok=True, stderr=stderr, failure=None)
    return ProbeResult(ok=False, stderr=stderr, failure=explain(stderr))


def write_workaround_conf(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(WORKAROUND_CONTAINERS_CONF, encoding="utf-8")
    return path


def ensure_podman_runs(workaround_path: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Make `podman run` work, returning the environment additions it needs (possibly none).

    A healthy podman is left alone. Only a known rlimit/cgroup failure gets the workaround,
    and only if the workaround then passes the same probe. Raises RuntimeError otherwise,
    with podman's own words and the remedy.
    """
    env = dict(os.environ if environ is None else environ)
    plain = probe_podman_run(env)
    if plain.ok:
        return {}
    if not plain.workaround_applies:
        remedy = plain.failure.remedy if plain.failure else "Run `podman run --rm` by hand to see why."
        raise RuntimeError(f"`podman run` does not work on this host:\n{plain.stderr}\n\n{remedy}")
    write_workaround_conf(workaround_path)
    fixed = probe_podman_run(env | {"CONTAINERS_CONF": str(workaround_path)})
    if not fixed.ok:
        raise RuntimeError(
            f"`podman run` fails ({plain.failure.summary if plain.failure else plain.stderr}) and the known "
            f"containers.conf workaround at {workaround_path} does not cure it:\n{fixed.stderr}"
        )
    return {"CONTAINERS_CONF": str(workaround_path)}
