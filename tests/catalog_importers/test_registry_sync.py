"""`catalog sync` against a real HTTP server on 127.0.0.1: catalog/registry_sync.py and the CLI command.

The server (stdlib `http.server` in a thread) answers recorded list pages by cursor and records
the queries it was sent, so the paging and the incremental `updated_since` are checked as sent.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from mcp_registry_server import cli
from mcp_registry_server.catalog import load_catalog
from mcp_registry_server.catalog.registry_sync import STATE_FILE, SyncError, sync_registry

OFFICIAL = "io.modelcontextprotocol.registry/official"
DATA = Path(__file__).resolve().parents[1] / "data" / "server-json"
Answer = tuple[int, str, bytes]


@dataclass
class RecordedRegistry:
    """What the test server answers (`answer(query) -> (status, content type, body)`) and was asked."""

    url: str
    answer: Callable[[dict[str, str]], Answer] = lambda query: (404, "text/plain", b"no pages yet")
    queries: list[dict[str, str]] = field(default_factory=list)

    def serve_pages(self, pages: dict[str | None, dict[str, Any]]) -> None:
        """Answer each cursor (None: the first page) with its page as JSON."""

        def answer(query: dict[str, str]) -> Answer:
            page = pages.get(query.get("cursor"))
            if page is None:
                return 400, "application/json", b'{"error": "unknown cursor"}'
            return 200, "application/json", json.dumps(page).encode()

        self.answer = answer


@pytest.fixture
def registry() -> Iterator[RecordedRegistry]:
    recorded = RecordedRegistry("")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path != "/v0.1/servers":
                self.send_error(404)
                return
            query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
            recorded.queries.append(query)
            status, kind, body = recorded.answer(query)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    recorded.url = f"http://127.0.0.1:{server.server_address[1]}/v0.1/servers"
    try:
        yield recorded
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def server_json(name: str, version: str, package: str = "@acme/demo-mcp") -> dict[str, Any]:
    return {
        "name": name,
        "description": f"{name} does things.",
        "version": version,
        "packages": [
            {"registryType": "npm", "identifier": package, "version": version, "transport": {"type": "stdio"}}
        ],
    }


def listed(server: dict[str, Any], updated: str, *, status: str = "active", latest: bool = True) -> dict[str, Any]:
    official = {"status": status, "publishedAt": updated, "updatedAt": updated, "isLatest": latest}
    return {"server": server, "_meta": {OFFICIAL: official}}


def recorded_server(file: str, updated: str) -> dict[str, Any]:
    return listed(json.loads((DATA / file).read_text()), updated)


FIRST_SYNC = {
    None: {
        "servers": [
            listed(server_json("io.github.acme/demo", "1.0.0"), "2025-10-01T00:00:00Z", latest=False),
            listed(server_json("io.github.acme/demo", "1.1.0"), "2025-10-02T00:00:00Z"),
            recorded_server("server-memory.json", "2025-10-03T00:00:00Z"),
        ],
        "metadata": {"nextCursor": "page-2", "count": 3},
    },
    "page-2": {
        "servers": [
            listed(server_json("io.github.acme/gone", "3.0.0"), "2025-10-04T00:00:00Z", status="deleted"),
            recorded_server("remote-weather.json", "2025-10-05T00:00:00Z"),
        ],
        "metadata": {"nextCursor": "page-3", "count": 2},
    },
    "page-3": {
        "servers": [recorded_server("server-time.json", "2025-10-06T12:30:00.5Z")],
        "metadata": {"count": 1},
    },
}


def files(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


def test_a_full_sync_then_an_incremental_one(registry: RecordedRegistry, tmp_path: Path) -> None:
    out = tmp_path / "catalog"
    (out).mkdir()
    (out / "solo.toml").write_text("# the user's own file, with an id a new server would want\n")
    registry.serve_pages(FIRST_SYNC)
    pages: list[tuple[int, int]] = []
    report = sync_registry(registry.url, out, now="2026-01-01T00:00:00Z", on_page=lambda p, n: pages.append((p, n)))

    assert [q.get("cursor") for q in registry.queries] == [None, "page-2", "page-3"]
    assert all(q["limit"] == "100" and "updated_since" not in q for q in registry.queries)
    assert pages == [(1, 3), (2, 5), (3, 6)]
    assert not report.incremental and report.removed == [] and report.problems == []
    assert sorted(e.id for e in report.written) == [
        "acme-demo",
        "example-weather",
        "modelcontextprotocol-server-memory",
        "modelcontextprotocol-server-time",
    ]
    catalog = load_catalog([out])
    assert [w.path.name for w in catalog.warnings] == ["solo.toml"]  # not ours: left alone
    demo = catalog["acme-demo"]
    assert demo.package is not None and demo.package.version == "1.1.0"  # the latest of two versions
    assert demo.imported is not None
    assert demo.imported.source_url == f"{registry.url}/io.github.acme%2Fdemo/versions/1.1.0"
    assert "acme-gone" not in catalog  # deleted upstream
    assert catalog["example-weather"].remote is not None
    state = json.loads((out / STATE_FILE).read_text())["registries"][registry.url]
    assert state["last_sync"] == "2025-10-06T12:30:00.5Z"  # the registry's newest updatedAt
    assert state["servers"]["io.github.acme/demo"] == {"id": "acme-demo", "version": "1.1.0"}

    registry.queries.clear()
    registry.serve_pages(
        {
            None: {
                "servers": [
                    listed(server_json("io.github.acme/demo", "1.2.0"), "2025-11-01T00:00:00Z"),
                    # An older version edited: the entry stays at the latest.
                    listed(
                        server_json("io.github.modelcontextprotocol/server-time", "1.0.0", "mcp-server-time"),
                        "2025-11-02T00:00:00Z",
                        latest=False,
                    ),
                ],
                "metadata": {"nextCursor": "more"},
            },
            "more": {
                "servers": [
                    listed(
                        json.loads((DATA / "server-memory.json").read_text()), "2025-11-03T00:00:00Z", status="deleted"
                    ),
                    listed(server_json("io.github.solo/solo", "0.1.0"), "2025-11-04T00:00:00Z"),
                ],
                "metadata": {"nextCursor": ""},
            },
        }
    )
    weather_before = (out / "example-weather.toml").read_bytes()
    again = sync_registry(registry.url, out, now="2026-01-02T00:00:00Z")

    assert [(q.get("cursor"), q["updated_since"]) for q in registry.queries] == [
        (None, "2025-10-06T12:30:00.5Z"),
        ("more", "2025-10-06T12:30:00.5Z"),
    ]
    assert again.incremental
    assert again.removed == ["modelcontextprotocol-server-memory"]
    solo_id = next(e.id for e in again.written if e.name == "io.github.solo/solo")
    assert solo_id.startswith("solo-") and solo_id != "solo"  # solo.toml is the user's
    assert sorted(e.id for e in again.written) == sorted(["acme-demo", solo_id])
    catalog = load_catalog([out])
    assert {entry.id for entry in catalog.values()} == {
        "acme-demo",
        "example-weather",
        "modelcontextprotocol-server-time",
        solo_id,
    }
    assert catalog["acme-demo"].package is not None and catalog["acme-demo"].package.version == "1.2.0"
    time_package = catalog["modelcontextprotocol-server-time"].package
    assert time_package is not None and time_package.version == "2026.10.19"
    assert (out / "example-weather.toml").read_bytes() == weather_before  # unchanged upstream, untouched
    assert (out / "solo.toml").read_text().startswith("# the user's own file")
    state = json.loads((out / STATE_FILE).read_text())["registries"][registry.url]
    assert state["last_sync"] == "2025-11-04T00:00:00Z"
    assert "io.github.modelcontextprotocol/server-memory" not in state["servers"]

    # Nothing changed since: the same query, nothing written, the time kept.
    registry.serve_pages({None: {"servers": [], "metadata": {}}})
    third = sync_registry(registry.url, out, now="2026-01-03T00:00:00Z")
    assert third.written == [] and third.removed == []
    assert json.loads((out / STATE_FILE).read_text())["registries"][registry.url]["last_sync"] == "2025-11-04T00:00:00Z"


def test_a_full_sync_removes_what_the_list_no_longer_has(registry: RecordedRegistry, tmp_path: Path) -> None:
    registry.serve_pages(FIRST_SYNC)
    sync_registry(registry.url, tmp_path, now="2026-01-01T00:00:00Z")
    state_file = tmp_path / STATE_FILE
    state = json.loads(state_file.read_text())
    del state["registries"][registry.url]["last_sync"]  # as after a run cut short before its end
    state_file.write_text(json.dumps(state))
    registry.serve_pages(
        {None: {"servers": [listed(server_json("io.github.acme/demo", "1.1.0"), "2025-12-01T00:00:00Z")]}}
    )
    report = sync_registry(registry.url, tmp_path, now="2026-01-02T00:00:00Z")
    assert not report.incremental
    assert sorted(report.removed) == [
        "example-weather",
        "modelcontextprotocol-server-memory",
        "modelcontextprotocol-server-time",
    ]
    assert sorted(path.name for path in tmp_path.glob("*.toml")) == ["acme-demo.toml"]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ((503, "text/html", b"<html><body>Service Unavailable</body></html>"), "answered HTTP 503: <html>"),
        ((404, "text/plain", b"404 page not found"), "answered HTTP 404: 404 page not found"),
        ((200, "text/html", b"<html>a login page</html>"), "did not answer JSON (text/html)"),
        ((200, "application/json", b'{"items": []}'), "without a `servers` list"),
        ((200, "application/json", b'{"servers": [42]}'), "is not a server list"),
    ],
)
def test_bad_answers_fail_clearly_and_change_nothing(
    registry: RecordedRegistry, tmp_path: Path, answer: Answer, message: str
) -> None:
    registry.serve_pages(FIRST_SYNC)
    sync_registry(registry.url, tmp_path, now="2026-01-01T00:00:00Z")
    before = files(tmp_path)
    # The first page is fine and the second is bad: nothing of the first may be written either.
    pages = {
        None: {
            "servers": [listed(server_json("io.github.acme/new", "1.0.0"), "2025-12-01T00:00:00Z")],
            "metadata": {"nextCursor": "bad"},
        }
    }

    def answer_pages(query: dict[str, str]) -> Answer:
        if query.get("cursor") == "bad":
            return answer
        return 200, "application/json", json.dumps(pages[None]).encode()

    registry.answer = answer_pages
    with pytest.raises(SyncError, match=re.escape(message)):
        sync_registry(registry.url, tmp_path, now="2026-01-02T00:00:00Z")
    assert files(tmp_path) == before


def test_an_unreachable_registry_and_a_cursor_loop_fail_clearly(registry: RecordedRegistry, tmp_path: Path) -> None:
    with pytest.raises(SyncError, match=re.escape("could not reach http://127.0.0.1:9/")) as caught:
        sync_registry("http://127.0.0.1:9/v0.1/servers", tmp_path, now="2026-01-01T00:00:00Z")
    assert "nothing was changed" in caught.value.hint
    registry.serve_pages(
        {
            None: {"servers": [], "metadata": {"nextCursor": "again"}},
            "again": {"servers": [], "metadata": {"nextCursor": "again"}},
        }
    )
    with pytest.raises(SyncError, match="keeps paging"):
        sync_registry(registry.url, tmp_path, now="2026-01-01T00:00:00Z")
    assert list(tmp_path.iterdir()) == []


def test_a_run_cut_short_while_writing_is_finished_by_the_next(
    registry: RecordedRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mcp_registry_server.catalog import registry_sync

    registry.serve_pages(FIRST_SYNC)
    real_write = registry_sync.write_atomic
    writes: list[str] = []

    def failing_write(path: Path, data: bytes, **options: Any) -> None:
        writes.append(path.name)
        if path.name.endswith(".toml") and len([w for w in writes if w.endswith(".toml")]) == 2:
            raise OSError(28, "No space left on device")
        real_write(path, data, **options)

    monkeypatch.setattr(registry_sync, "write_atomic", failing_write)
    with pytest.raises(OSError):
        sync_registry(registry.url, tmp_path, now="2026-01-01T00:00:00Z")
    assert writes[0] == STATE_FILE  # the state named the files before any was written
    monkeypatch.setattr(registry_sync, "write_atomic", real_write)
    report = sync_registry(registry.url, tmp_path, now="2026-01-01T00:00:00Z")
    assert not report.incremental  # the cut run never recorded a sync time
    assert sorted(path.stem for path in tmp_path.glob("*.toml")) == sorted(e.id for e in report.written)
    assert sorted(e.id for e in report.written) == [  # the same ids: none was taken by a leftover file
        "acme-demo",
        "example-weather",
        "modelcontextprotocol-server-memory",
        "modelcontextprotocol-server-time",
    ]


def test_a_corrupt_state_file_is_reported_not_overwritten(registry: RecordedRegistry, tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_text("{ not json")
    registry.serve_pages(FIRST_SYNC)
    with pytest.raises(SyncError, match="is not valid JSON") as caught:
        sync_registry(registry.url, tmp_path, now="2026-01-01T00:00:00Z")
    assert "Remove" in caught.value.hint and (tmp_path / STATE_FILE).read_text() == "{ not json"


def test_a_record_that_cannot_be_imported_is_reported_and_the_rest_are_written(
    registry: RecordedRegistry, tmp_path: Path
) -> None:
    bad = {"name": "io.github.acme/bad", "description": "no way to run it", "version": "1"}
    registry.serve_pages(
        {
            None: {
                "servers": [
                    listed(bad, "2025-12-01T00:00:00Z"),
                    recorded_server("server-fetch.json", "2025-12-02T00:00:00Z"),
                ]
            }
        }
    )
    report = sync_registry(registry.url, tmp_path, now="2026-01-01T00:00:00Z")
    assert [e.id for e in report.written] == ["modelcontextprotocol-server-fetch"]
    assert [(p.name, p.reason) for p in report.problems] == [
        ("io.github.acme/bad", "it names neither a package nor a remote to run")
    ]


# --- the CLI --------------------------------------------------------------------------------------


@pytest.fixture
def user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("NO_COLOR", "1")
    return tmp_path / "data" / "mcp-registry" / "catalog"


def test_catalog_sync_writes_into_the_user_catalog_with_progress(
    registry: RecordedRegistry, user_dirs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.serve_pages(FIRST_SYNC)
    assert cli.main(["catalog", "sync", registry.url]) == 0
    out, err = capsys.readouterr()
    assert "page 1: 3 records" in err and "page 3: 6 records" in err and "read 6 records in 3 pages (full list)" in err
    assert f"synced {registry.url} into {user_dirs}: 4 written, 0 removed, 0 not imported" in out
    assert (
        (user_dirs / "acme-demo.toml")
        .read_text()
        .startswith(f"# Synced by `mcp-registry catalog sync` from {registry.url}: io.github.acme/demo 1.1.0\n")
    )
    registry.serve_pages({None: {"servers": []}})
    assert cli.main(["catalog", "sync", registry.url, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["incremental"] is True and report["written"] == [] and report["out"] == str(user_dirs)


def test_catalog_sync_failure_exits_1_with_the_reason(
    registry: RecordedRegistry, user_dirs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.answer = lambda query: (500, "text/plain", b"boom")
    assert cli.main(["catalog", "sync", registry.url]) == 1
    err = capsys.readouterr().err
    assert "answered HTTP 500: boom" in err and "hint: Check the URL" in err
    assert not user_dirs.exists()
    assert cli.main(["catalog", "sync", "ftp://example.com"]) == 2


def test_catalog_import_mcp_registry(user_dirs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["catalog", "import", "mcp-registry", str(DATA)]) == 0
    out, err = capsys.readouterr()
    assert f"imported 5 entries into {user_dirs}; 0 not imported" in out and err == ""
    assert (
        (user_dirs / "modelcontextprotocol-server-time.toml")
        .read_text()
        .startswith(f"# Imported by `mcp-registry catalog import mcp-registry` from {DATA}: server-time.json\n")
    )
    custom = tmp_path / "custom"
    assert (
        cli.main(["catalog", "import", "mcp-registry", str(DATA / "server-fetch.json"), "--out", str(custom), "--json"])
        == 0
    )
    assert [item["id"] for item in json.loads(capsys.readouterr().out)["imported"]] == [
        "modelcontextprotocol-server-fetch"
    ]
    (tmp_path / "empty").mkdir()
    assert cli.main(["catalog", "import", "mcp-registry", str(tmp_path / "empty")]) == 2
    (tmp_path / "bad.json").write_text("[]")
    assert cli.main(["catalog", "import", "mcp-registry", str(tmp_path / "bad.json")]) == 1
    assert "No record could be imported" in capsys.readouterr().err
