"""The audit log's lines, file mode and rotation (`registry/audit.py`)."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import anyio
import anyio.lowlevel

from mcp_registry_server.registry.audit import AUDIT_FILE, FLUSH_DELAY, KEEP_FILES, MAX_PENDING, AuditLog


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_one_line_per_call_without_argument_values(tmp_path: Path) -> None:
    audit = AuditLog.open(tmp_path / "state")
    started = time.perf_counter()
    audit.record(entry="misbehave", tool='odd"name', arguments={"text": "sécret"}, started=started, outcome="ok")
    audit.record(entry="registry", tool="registry_status", arguments=None, started=started, outcome="error")
    audit.close()
    path = tmp_path / "state" / AUDIT_FILE
    first, second = lines(path)
    assert set(first) == {"time", "workspace", "entry", "tool", "duration_ms", "outcome", "argument_bytes"}
    assert first["workspace"] == "default" and first["tool"] == 'odd"name' and first["outcome"] == "ok"
    assert first["argument_bytes"] == len('{"text":"sécret"}'.encode())
    assert "sécret" not in path.read_text()
    assert second["argument_bytes"] == 0 and second["outcome"] == "error"
    assert str(first["time"]).endswith("Z") and len(str(first["time"])) == len("2026-01-01T00:00:00.000Z")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_argument_values_only_when_asked(tmp_path: Path) -> None:
    audit = AuditLog.open(tmp_path, include_arguments=True)
    audit.record(entry="e", tool="t", arguments={"n": [1, 2]}, started=time.perf_counter(), outcome="ok")
    assert lines(tmp_path / AUDIT_FILE)[0]["arguments"] == {"n": [1, 2]}


def test_lines_name_the_workspace_they_were_written_for(tmp_path: Path) -> None:
    audit = AuditLog.open(tmp_path, workspace="team-a")
    audit.record(entry="e", tool="t", arguments=None, started=time.perf_counter(), outcome="ok")
    assert lines(tmp_path / AUDIT_FILE)[0]["workspace"] == "team-a"


def test_rotated_by_size_keeping_a_few(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / AUDIT_FILE, max_bytes=1000)
    for number in range(200):
        audit.record(entry="e", tool=f"t{number}", arguments=None, started=time.perf_counter(), outcome="ok")
    names = sorted(path.name for path in tmp_path.iterdir())
    assert names == [AUDIT_FILE, *(f"{AUDIT_FILE}.{index}" for index in range(1, KEEP_FILES + 1))]
    assert all(path.stat().st_size <= 1000 for path in tmp_path.iterdir())
    assert lines(tmp_path / AUDIT_FILE)[-1]["tool"] == "t199"


def test_an_unwritable_log_switches_off_without_raising(tmp_path: Path) -> None:
    (tmp_path / AUDIT_FILE).mkdir()  # a directory where the file should be
    audit = AuditLog.open(tmp_path)
    audit.record(entry="e", tool="t", arguments=None, started=time.perf_counter(), outcome="ok")
    audit.record(entry="e", tool="t", arguments=None, started=time.perf_counter(), outcome="ok")


async def test_while_the_flusher_runs_lines_are_written_in_batches_soon_after(tmp_path: Path) -> None:
    audit = AuditLog.open(tmp_path / "state")
    path = tmp_path / "state" / AUDIT_FILE
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(audit.flush_periodically)
        await anyio.lowlevel.checkpoint()
        for index in range(3):
            audit.record(entry="e", tool=f"t{index}", arguments={}, started=time.perf_counter(), outcome="ok")
        assert not path.exists() or path.read_text() == ""  # nothing written on the call's path
        await anyio.sleep(FLUSH_DELAY * 2)  # the flusher's own delay, no event to wait on from outside
        assert [line["tool"] for line in lines(path)] == ["t0", "t1", "t2"]
        for _ in range(MAX_PENDING):  # a full batch is written at once
            audit.record(entry="e", tool="many", arguments={}, started=time.perf_counter(), outcome="ok")
        assert len(lines(path)) == 3 + MAX_PENDING
        audit.record(entry="e", tool="last", arguments={}, started=time.perf_counter(), outcome="ok")
        tasks.cancel_scope.cancel()
    assert lines(path)[-1]["tool"] == "last"  # stopping the flusher writes what is pending
