"""`container_logs`: the per-container stderr log the registry writes and `mcp-registry logs` reads."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest

from mcp_registry_server.container_logs import (
    KEEP_FILES,
    ContainerLogWriter,
    find_logs,
    follow,
    log_path,
    tail_lines,
)

NAME = "mcp-registry-sqlite-0123abcd"


def test_lines_are_timestamped_flushed_and_private(tmp_path: Path) -> None:
    writer = ContainerLogWriter.open(NAME, tmp_path / "logs")
    writer.write_line("server started")
    writer.write_line("ünïcode ✓")
    path = tmp_path / "logs" / f"{NAME}.log"
    lines = path.read_text(encoding="utf-8").splitlines()  # readable before close: flushed per line
    assert [line.split(" ", 1)[1] for line in lines] == ["server started", "ünïcode ✓"]
    assert lines[0][:4].isdigit() and lines[0].split(" ", 1)[0].endswith("Z")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "logs").stat().st_mode) == 0o700
    writer.close()


def test_a_full_log_is_rotated_once(tmp_path: Path) -> None:
    path = log_path(tmp_path, NAME)
    writer = ContainerLogWriter(path, max_bytes=100, clock=lambda: "T")
    for number in range(30):
        writer.write_line(f"line {number:02d}")
    writer.close()
    rotated = path.with_name(path.name + ".1")
    assert path.stat().st_size <= 100 and rotated.stat().st_size <= 100
    assert tail_lines(path, 3) == ["T line 27", "T line 28", "T line 29"]
    everything = tail_lines(path, None)
    assert everything[-1] == "T line 29" and len(everything) < 30  # older rotations are gone


def test_very_long_lines_are_cut(tmp_path: Path) -> None:
    writer = ContainerLogWriter(log_path(tmp_path, NAME), clock=lambda: "T")
    writer.write_line("x" * 100_000)
    writer.close()
    (line,) = tail_lines(log_path(tmp_path, NAME), None)
    assert len(line) < 20_000 and "more characters cut" in line


def test_a_log_that_cannot_be_written_switches_off_without_raising(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "logs"
    blocker.write_text("a file where the directory should be")
    writer = ContainerLogWriter.open(NAME, blocker)
    writer.write_line("lost")
    writer.write_line("lost too")
    writer.close()
    assert sum("Not logging stderr" in record.message for record in caplog.records) == 1


def test_names_that_could_leave_the_directory_are_refused(tmp_path: Path) -> None:
    for bad in ("../x", "a/b", "", ".."):
        with pytest.raises(ValueError):
            log_path(tmp_path, bad)


def test_opening_a_writer_prunes_old_and_surplus_logs(tmp_path: Path) -> None:
    tmp_path.chmod(0o700)
    old = tmp_path / "mcp-registry-old-00000000.log"
    old.write_text("old\n")
    os.utime(old, (time.time() - 8 * 86_400,) * 2)
    for number in range(KEEP_FILES + 5):
        path = tmp_path / f"mcp-registry-p{number}-{number:08x}.log"
        path.write_text("x\n")
        os.utime(path, (time.time() - number,) * 2)
    ContainerLogWriter.open(NAME, tmp_path).close()
    remaining = list(tmp_path.glob("*.log"))
    assert not old.exists()
    assert len(remaining) == KEEP_FILES


def test_find_logs_by_prefix_or_container_newest_first(tmp_path: Path) -> None:
    for name, age in (
        ("mcp-registry-sqlite-0000000a", 50),
        ("mcp-registry-sqlite-0000000b", 10),
        ("mcp-registry-git-0000000c", 0),
    ):
        path = tmp_path / f"{name}.log"
        path.write_text("x\n")
        os.utime(path, (time.time() - age,) * 2)
    assert [log.container for log in find_logs(tmp_path, "sqlite")] == [
        "mcp-registry-sqlite-0000000b",
        "mcp-registry-sqlite-0000000a",
    ]
    assert [log.prefix for log in find_logs(tmp_path, "mcp-registry-git-0000000c")] == ["git"]
    assert len(find_logs(tmp_path)) == 3
    assert find_logs(tmp_path, "nope") == [] and find_logs(tmp_path / "missing") == []


def test_follow_sees_appended_lines_across_a_rotation(tmp_path: Path) -> None:
    path = log_path(tmp_path, NAME)
    writer = ContainerLogWriter(path, max_bytes=60, clock=lambda: "T")
    writer.write_line("before following")
    seen: list[str] = []
    done = threading.Event()

    def write_later() -> None:
        time.sleep(0.1)
        for number in range(8):
            writer.write_line(f"new {number}")
            time.sleep(0.05)
        time.sleep(0.3)
        done.set()

    thread = threading.Thread(target=write_later)
    thread.start()
    for line in follow(path, poll_interval=0.02, stop=done.is_set):
        seen.append(line)
    thread.join()
    writer.close()
    assert "T before following" not in seen
    assert seen == [f"T new {number}" for number in range(8)]
