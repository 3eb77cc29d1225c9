"""The doctor's rootless check (`doctor.rootless_checks`): each gap a rootless setup hits, with its fix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mcp_registry_server.doctor.rootless_checks import check_rootless

UID = 4242


@pytest.fixture
def machine(tmp_path: Path) -> dict[str, object]:
    """A rootless user with everything in place: ranges, uidmap and slirp4netns on PATH, a runtime dir."""
    etc, bin_dir, runtime = tmp_path / "etc", tmp_path / "bin", tmp_path / "run"
    etc.mkdir()
    (etc / "subuid").write_text(f"other:100000:65536\n{UID}:165536:65536\n")
    (etc / "subgid").write_text(f"{UID}:165536:65536\n")
    bin_dir.mkdir()
    for tool in ("newuidmap", "newgidmap", "slirp4netns"):
        (bin_dir / tool).write_text("#!/bin/sh\n")
        (bin_dir / tool).chmod(0o755)
    runtime.mkdir(mode=0o700)
    os.chown(runtime, UID, UID)
    tun = tmp_path / "tun"
    tun.write_text("")
    tun.chmod(0o666)
    env = {"PATH": str(bin_dir), "XDG_RUNTIME_DIR": str(runtime)}
    cgroups = tmp_path / "cgroup"  # cgroups v2 with the limit controllers delegated to the user
    delegated = cgroups / "user.slice" / f"user-{UID}.slice" / f"user@{UID}.service"
    delegated.mkdir(parents=True)
    (cgroups / "cgroup.controllers").write_text("cpuset cpu io memory hugetlb pids rdma misc\n")
    (delegated / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    return {"environ": env, "uid": UID, "etc": etc, "tun": tun, "cgroup_root": cgroups}


def test_root_needs_none_of_it(machine: dict[str, object]) -> None:
    check = check_rootless({}, uid=0)
    assert check.status == "ok" and "rootful" in check.summary


def test_a_complete_rootless_setup_is_ok(machine: dict[str, object]) -> None:
    check = check_rootless(**machine)  # type: ignore[arg-type]
    assert check.status == "ok", check


def test_missing_uid_ranges_fail_with_the_usermod_command(machine: dict[str, object]) -> None:
    (machine["etc"] / "subgid").write_text("other:1:2\n")  # type: ignore[operator]
    check = check_rootless(**machine)  # type: ignore[arg-type]
    assert check.status == "fail" and "has no range in /etc/subgid" in check.summary
    assert check.fix is not None and "usermod --add-subuids 100000-165535 --add-subgids" in check.fix


def test_missing_uidmap_fails(machine: dict[str, object]) -> None:
    os.remove(Path(machine["environ"]["PATH"]) / "newgidmap")  # type: ignore[index]
    check = check_rootless(**machine)  # type: ignore[arg-type]
    assert check.status == "fail" and check.summary == "newuidmap/newgidmap are missing"
    assert check.fix is not None and "apt-get install uidmap" in check.fix


def test_a_runtime_dir_of_someone_else_fails(machine: dict[str, object]) -> None:
    os.chown(machine["environ"]["XDG_RUNTIME_DIR"], UID + 1, UID)  # type: ignore[index]
    check = check_rootless(**machine)  # type: ignore[arg-type]
    assert check.status == "fail" and "is not a private directory of yours (owner uid 4243" in check.summary


def test_no_runtime_dir_is_a_warning(machine: dict[str, object]) -> None:
    del machine["environ"]["XDG_RUNTIME_DIR"]  # type: ignore[attr-defined]
    check = check_rootless(**machine)  # type: ignore[arg-type]
    assert check.status == "warn" and check.summary.startswith("XDG_RUNTIME_DIR is not set")


def test_a_closed_tun_device_warns_about_bridge_servers(machine: dict[str, object]) -> None:
    # What the user's own access(2) would say; the tests run as root, who may open anything.
    check = check_rootless(**machine, can_open=lambda path: False)  # type: ignore[arg-type]
    assert check.status == "warn" and "is not open to" in check.summary
    assert check.fix is not None and "chmod 0666" in check.fix


def test_no_user_mode_network_helper_warns(machine: dict[str, object]) -> None:
    os.remove(Path(machine["environ"]["PATH"]) / "slirp4netns")  # type: ignore[index]
    check = check_rootless(**machine)  # type: ignore[arg-type]
    assert check.status == "warn" and "no slirp4netns or pasta" in check.summary


def test_cgroups_v1_warns_that_no_limit_holds(machine: dict[str, object]) -> None:
    (machine["cgroup_root"] / "cgroup.controllers").unlink()  # type: ignore[operator]
    check = check_rootless(**machine)  # type: ignore[arg-type]
    assert check.status == "warn" and check.summary.startswith("cgroups v1: rootless Podman applies no memory")
    assert check.fix is not None and "unified_cgroup_hierarchy" in check.fix


def test_undelegated_controllers_are_named(machine: dict[str, object]) -> None:
    service = machine["cgroup_root"] / "user.slice" / f"user-{UID}.slice" / f"user@{UID}.service"  # type: ignore[operator]
    (service / "cgroup.controllers").write_text("cpuset io\n")
    check = check_rootless(**machine)  # type: ignore[arg-type]
    assert check.status == "warn" and "memory, cpu, pids cgroup controller(s) are not delegated" in check.summary
    assert check.fix is not None and "Delegate=" in check.fix
