"""The doctor's rootless check: what a non-root user's Podman needs, and the fix for each gap.

Most desktop users run Podman rootless. It needs subordinate uid and gid ranges for the user
(`/etc/subuid`, `/etc/subgid`) and the setuid `newuidmap`/`newgidmap` helpers (Debian's `uidmap`);
a runtime dir the user owns (`XDG_RUNTIME_DIR`, where the registry's private socket lives); and,
for servers with `network = "bridge"`, a user-mode network helper (`slirp4netns` or `pasta`) that
can open `/dev/net/tun`. The memory, CPU and pids limits of every entry need cgroups v2 with those
controllers delegated to the user (systemd does that for `user@UID.service` on current
distributions): on cgroups v1 rootless Podman applies none of them, silently. As root none of
that applies and the check says so.

`check_rootless(environ, ...)` takes the files and the uid as arguments, so every case can be
tested anywhere; it never raises.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
from collections.abc import Callable, Mapping
from pathlib import Path

from mcp_registry_server.doctor.check import Check

__all__ = ["check_rootless"]


def _has_range(path: Path, user: str, uid: int) -> bool:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return False
    return any(line.split(":", 1)[0] in {user, str(uid)} for line in lines if line.strip())


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


LIMIT_CONTROLLERS = ("memory", "cpu", "pids")


def _limits_problem(cgroup_root: Path, uid: int) -> tuple[str, str] | None:
    """Why rootless Podman would not apply the entries' memory/cpu/pids limits, with the fix; or None."""
    if not (cgroup_root / "cgroup.controllers").exists():
        return (
            "cgroups v1: rootless Podman applies no memory, CPU or pids limit, so an entry's limits do not hold",
            "Boot with cgroups v2 (systemd.unified_cgroup_hierarchy=1), or run the registry as root",
        )
    delegated = cgroup_root / "user.slice" / f"user-{uid}.slice" / f"user@{uid}.service" / "cgroup.controllers"
    try:
        controllers = set(delegated.read_text().split())
    except OSError:
        return None  # no systemd user slice to read: Podman reports it when it matters
    if missing := [name for name in LIMIT_CONTROLLERS if name not in controllers]:
        return (
            f"the {', '.join(missing)} cgroup controller(s) are not delegated to uid {uid}: rootless Podman "
            "cannot apply those limits",
            "Delegate them: a systemd drop-in `[Service] Delegate=memory pids cpu cpuset` for user@.service "
            "(see Podman's rootless docs), then log in again",
        )
    return None


def check_rootless(
    environ: Mapping[str, str],
    *,
    uid: int | None = None,
    etc: Path = Path("/etc"),
    tun: Path = Path("/dev/net/tun"),
    can_open: Callable[[Path], bool] = lambda path: os.access(path, os.R_OK | os.W_OK),
    cgroup_root: Path = Path("/sys/fs/cgroup"),
) -> Check:
    uid = os.getuid() if uid is None else uid
    if uid == 0:
        return Check("rootless", "ok", "running as root: Podman is rootful, so rootless needs do not apply")
    user = _user_name(uid)
    path = environ.get("PATH")
    failures: list[tuple[str, str]] = []
    warnings: list[tuple[str, str]] = []
    missing = [name for name in ("subuid", "subgid") if not _has_range(etc / name, user, uid)]
    if missing:
        failures.append(
            (
                f"{user} has no range in {' or '.join(f'/etc/{name}' for name in missing)}: rootless Podman cannot "
                "map the container's users, so no container starts",
                f"sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {user} && podman system migrate",
            )
        )
    if not (shutil.which("newuidmap", path=path) and shutil.which("newgidmap", path=path)):
        failures.append(
            ("newuidmap/newgidmap are missing", "Install them: sudo apt-get install uidmap (Debian, Ubuntu)")
        )
    runtime = environ.get("XDG_RUNTIME_DIR", "")
    if not runtime:
        warnings.append(
            (
                "XDG_RUNTIME_DIR is not set: Podman and the registry fall back to /tmp for their sockets",
                "Log in through a desktop or ssh session (pam_systemd sets it), or `loginctl enable-linger` for "
                "services; set it to a 0700 directory you own otherwise",
            )
        )
    else:
        try:
            info = os.stat(runtime)
        except OSError as error:
            failures.append(
                (f"XDG_RUNTIME_DIR={runtime} cannot be used ({error.strerror})", "Create it 0700, owned by you")
            )
        else:
            if info.st_uid != uid or stat.S_IMODE(info.st_mode) & 0o077:
                failures.append(
                    (
                        f"XDG_RUNTIME_DIR={runtime} is not a private directory of yours "
                        f"(owner uid {info.st_uid}, mode {stat.S_IMODE(info.st_mode):o})",
                        f"Point XDG_RUNTIME_DIR at a 0700 directory {user} owns",
                    )
                )
    if not (shutil.which("slirp4netns", path=path) or shutil.which("pasta", path=path)):
        warnings.append(
            (
                'no slirp4netns or pasta: servers with network = "bridge" cannot start rootless',
                "Install one: sudo apt-get install slirp4netns (or passt)",
            )
        )
    elif tun.exists() and not can_open(tun):
        warnings.append(
            (
                f'{tun} is not open to {user}: servers with network = "bridge" fail to start rootless '
                '("open(/dev/net/tun): Permission denied")',
                f"sudo chmod 0666 {tun} (distributions ship it so)",
            )
        )
    if limits := _limits_problem(cgroup_root, uid):
        warnings.append(limits)
    problems = failures + warnings
    if not problems:
        return Check("rootless", "ok", f"rootless Podman for {user}: uid ranges, uidmap, runtime dir, networking ok")
    return Check(
        "rootless",
        "fail" if failures else "warn",
        problems[0][0],
        tuple(what for what, _ in problems[1:]),
        fix="; ".join(fix for _, fix in problems),
    )
