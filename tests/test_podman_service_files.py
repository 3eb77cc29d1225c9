"""The private service's files and the sweep of dead registries' leftovers (`podman.service_files`),
with stand-in processes: a Python that sleeps, with `system service --time=0 <url>` in its argv.

(The real thing, a `podman system service` left by a dead registry and swept by the next one:
`tests/e2e/test_podman_service.py`.)
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcp_registry_server.podman import service_files
from mcp_registry_server.podman.ownership import Owner, own_owner_label, process_start_token
from mcp_registry_server.podman.service_files import ServiceFiles, sweep_dead_services

HOST = socket.gethostname()


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts; any still running are killed afterwards."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        process.kill()
        process.wait()


def dead_owner() -> str:
    process = subprocess.Popen(["sleep", "60"])
    label = Owner(HOST, process.pid, process_start_token(process.pid) or "gone").label
    process.kill()
    process.wait()
    return label


def leftovers(
    runtime_dir: Path,
    instance: str,
    owner: str,
    processes: list[subprocess.Popen[bytes]],
    *,
    ignore_sigterm: bool = False,
) -> tuple[ServiceFiles, subprocess.Popen[bytes]]:
    """The three files of `instance` and a stand-in service serving its socket's URL."""
    files = ServiceFiles(runtime_dir, instance)
    code = "import signal, time\n"
    code += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" if ignore_sigterm else ""
    code += "print('ready', flush=True)\ntime.sleep(60)\n"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "system", "service", "--time=0", files.url], stdout=subprocess.PIPE
    )
    processes.append(process)
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    files.write_owner(owner, process.pid)
    files.socket.write_bytes(b"")
    files.log.write_bytes(b"podman's stderr\n")
    return files, process


def present(files: ServiceFiles) -> bool:
    return files.socket.exists() and files.log.exists() and files.owner_record.exists()


@pytest.mark.parametrize("platform", ["linux", "darwin"])
def test_a_dead_registrys_service_is_stopped_and_its_files_removed(
    platform: str, tmp_path: Path, processes: list[subprocess.Popen[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "platform", platform)  # darwin: the pid's command line comes from `ps`
    _, service = leftovers(tmp_path, "deadbeef0001", dead_owner(), processes)
    assert sweep_dead_services(tmp_path, HOST, "mine00000000") == ["deadbeef0001"]
    assert service.wait(5) == -signal.SIGTERM
    assert list(tmp_path.iterdir()) == []


def test_a_service_that_ignores_sigterm_is_killed(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service_files, "_STOP_SECONDS", 0.3)
    files, service = leftovers(tmp_path, "deadbeef0002", dead_owner(), processes, ignore_sigterm=True)
    assert sweep_dead_services(tmp_path, HOST, "mine00000000") == ["deadbeef0002"]
    assert service.wait(5) == -signal.SIGKILL
    assert not present(files)


def test_what_is_not_provably_a_dead_registrys_is_left_alone(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    live = leftovers(tmp_path, "a11ve0000001", own_owner_label(HOST), processes)
    other_host = leftovers(tmp_path, "e15e00000001", "elsewhere:1:1", processes)
    mine = leftovers(tmp_path, "mine00000000", dead_owner(), processes)  # this instance's own id
    malformed = leftovers(tmp_path, "bad000000001", dead_owner(), processes)
    malformed[0].owner_record.write_text("not json\n")
    no_record = leftovers(tmp_path, "0rec00000001", dead_owner(), processes)
    no_record[0].owner_record.unlink()

    assert sweep_dead_services(tmp_path, HOST, "mine00000000") == []
    for files, service in (live, other_host, mine, malformed):
        assert present(files) and service.poll() is None
    assert no_record[0].socket.exists() and no_record[1].poll() is None


def test_a_reused_pid_is_not_signalled_but_the_stale_files_go(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    files, _ = leftovers(tmp_path, "deadbeef0003", dead_owner(), processes)
    # The recorded pid now runs something else: the service is gone, its pid taken.
    bystander = subprocess.Popen(["sleep", "60"])
    processes.append(bystander)
    files.write_owner(dead_owner(), bystander.pid)
    assert sweep_dead_services(tmp_path, HOST, "mine00000000") == ["deadbeef0003"]
    assert bystander.poll() is None
    assert not present(files)


def test_the_owner_record_is_written_whole_and_read_back(tmp_path: Path) -> None:
    files = ServiceFiles(tmp_path, "abcdef012345")
    assert files.read_owner() is None
    files.write_owner("host:12:345")
    assert json.loads(files.owner_record.read_text()) == {"owner": "host:12:345", "service_pid": None}
    assert files.read_owner() == (Owner("host", 12, "345"), None)
    files.write_owner("host:12:345", 678)
    assert files.read_owner() == (Owner("host", 12, "345"), 678)
    assert [path.name for path in tmp_path.iterdir()] == ["podman-abcdef012345.owner"]  # no temp file left
    files.owner_record.write_text('{"owner": "host:12:345", "service_pid": -1}')
    assert files.read_owner() is None
    assert files.url == f"unix://{tmp_path}/podman-abcdef012345.sock"


def test_a_missing_runtime_dir_has_nothing_to_sweep(tmp_path: Path) -> None:
    assert sweep_dead_services(tmp_path / "absent", HOST, "mine00000000") == []
