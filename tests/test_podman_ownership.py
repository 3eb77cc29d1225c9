"""Owner labels: a dead or reused pid is recognised, a live or unreadable owner is never called dead."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mcp_registry_server.podman.ownership import Owner, own_owner_label, owner_is_alive, process_start_token


def test_own_label_names_this_process() -> None:
    owner = Owner.parse(own_owner_label("host-a"))
    assert owner is not None
    assert (owner.host, owner.pid) == ("host-a", os.getpid())
    assert owner_is_alive(owner)


def test_exited_process_is_dead() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    token = process_start_token(child.pid)
    child.wait()
    assert token is not None
    assert not owner_is_alive(Owner("h", child.pid, token))


def test_reused_pid_with_another_start_token_is_dead() -> None:
    assert not owner_is_alive(Owner("h", os.getpid(), "not-my-start-time"))


@pytest.mark.parametrize("label", ["", "host", "host:12", "host:x:1", "host:0:1", ":1:2", "host:1:"])
def test_malformed_labels_are_not_owners(label: str) -> None:
    assert Owner.parse(label) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux only")
def test_start_token_is_field_22_even_with_odd_process_names(tmp_path: Path) -> None:
    # A command name with spaces and ')' must not shift the fields.
    odd = tmp_path / "a b) c"
    odd.symlink_to(sys.executable)
    child = subprocess.Popen([str(odd), "-c", "import time; time.sleep(5)"])
    try:
        stat = Path(f"/proc/{child.pid}/stat").read_text()
        assert "a b) c" in stat
        fields = stat.rpartition(")")[2].split()
        assert process_start_token(child.pid) == fields[19]
        assert fields[19].isdigit()
    finally:
        child.kill()
        child.wait()
