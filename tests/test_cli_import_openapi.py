"""`catalog import openapi`: files and URLs, Swagger 2.0 converted, bad documents refused with nothing written.

The Swagger 2.0 case runs swagger2openapi through npx (Node.js, as users run it; npm's cache after
the first run). The URL case serves the document from 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from mcp_registry_server import cli
from mcp_registry_server.catalog.loader import load_catalog

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "openapi"
TEST_CATALOG = Path(__file__).resolve().parent / "catalog"
PETSTORE_TOOLS = ["listPets", "createPets", "showPetById"]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # npm keeps its cache where it was, so swagger2openapi is fetched once, not per test.
    monkeypatch.setenv("npm_config_cache", os.environ.get("npm_config_cache") or str(Path.home() / ".npm"))
    monkeypatch.setenv("HOME", str(tmp_path))
    for kind in ("CONFIG", "DATA", "STATE", "CACHE"):
        monkeypatch.setenv(f"XDG_{kind}_HOME", str(tmp_path / kind.lower()))
    monkeypatch.setenv("MCP_REGISTRY_CATALOG_PATH", str(TEST_CATALOG))
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["catalog", "import", "openapi", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_swagger_2_is_converted_stored_and_read_back_as_an_entry(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "catalog-out"
    code, stdout, stderr = run(
        capsys, str(FIXTURES / "petstore-swagger-2.0.yaml"), "--name", "pets2", "--out", str(out)
    )
    assert code == 0, stderr
    lines = stdout.splitlines()
    assert lines[0] == f"wrote {out / 'pets2.toml'} (3 tools; reaches only petstore.swagger.io:80)"
    assert [line.split()[0] for line in lines[1:4]] == PETSTORE_TOOLS
    stored = json.loads((out / "pets2.openapi.json").read_text())
    assert stored["openapi"].startswith("3.0") and "swagger" not in stored
    assert tomllib.loads((out / "pets2.toml").read_text())["openapi"]["spec"] == str(out / "pets2.openapi.json")
    catalog = load_catalog([out])
    assert list(catalog.warnings) == [] and [tool.name for tool in catalog["pets2"].tools] == PETSTORE_TOOLS
    assert "converted from Swagger 2.0" in (out / "pets2.toml").read_text().splitlines()[0]


def test_default_out_is_the_user_catalog_and_the_rest_keeps_working(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, stderr = run(capsys, str(FIXTURES / "petstore-3.1.yaml"), "--name", "pets31", "--json")
    assert code == 0, stderr
    assert cli.main(["list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    ids = {item["id"] for item in (listed if isinstance(listed, list) else listed["entries"])}
    assert {"pets31", "time", "sqlite"} <= ids


def broken_copy(tmp_path: Path) -> Path:
    document: dict[str, Any] = yaml.safe_load((FIXTURES / "petstore-3.0.yaml").read_text())
    document["paths"]["/pets"]["get"]["responses"][200]["content"]["application/json"]["schema"]["$ref"] = "#/x/Nope"
    document["paths"]["/pets/{petId}"]["get"]["operationId"] = "listPets"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_a_bad_document_is_refused_naming_each_place_and_nothing_is_written(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "catalog-out"
    code, _, stderr = run(capsys, str(broken_copy(tmp_path)), "--name", "broken", "--out", str(out))
    assert code == 1
    assert "#/paths/~1pets/get/responses/200/content/application~1json/schema: $ref '#/x/Nope' names nothing" in stderr
    assert "#/paths/~1pets~1{petId}/get: operationId 'listPets' is used again (first at #/paths/~1pets/get)" in stderr
    assert "Nothing was written." in stderr
    assert not out.exists()


def test_strict_names_what_cannot_be_mapped(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = {
        "openapi": "3.1.0",
        "info": {"title": "Files"},
        "paths": {
            "/files": {
                "put": {"operationId": "upload", "requestBody": {"content": {"image/png": {}}}, "responses": {}}
            },
            "/files/list": {"get": {"operationId": "listFiles", "responses": {}}},
        },
    }
    spec = tmp_path / "files.json"
    spec.write_text(json.dumps(document))
    out = tmp_path / "catalog-out"
    base = ("--name", "files", "--out", str(out), "--base-url", "http://127.0.0.1:9")
    code, _, stderr = run(capsys, str(spec), *base, "--strict")
    assert code == 1 and "PUT /files (#/paths/~1files/put): its request body is only image/png" in stderr
    assert not out.exists()
    code, stdout, _ = run(capsys, str(spec), *base)
    assert code == 0
    assert stdout.splitlines()[0].startswith("not mapped: PUT /files (#/paths/~1files/put)")
    assert "listFiles" in stdout and (out / "files.toml").is_file()


def test_no_server_url_asks_for_a_base_url(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "bare.json"
    spec.write_text(
        json.dumps({"openapi": "3.0.0", "info": {"title": "B"}, "paths": {"/a": {"get": {"responses": {}}}}})
    )
    code, _, stderr = run(capsys, str(spec), "--name", "bare", "--out", str(tmp_path / "o"))
    assert code == 1 and "#/servers: the document names no server URL" in stderr and "--base-url" in stderr
    code, _, stderr = run(capsys, str(spec), "--name", "Not An Id")
    assert code == 2 and "is not an entry id" in stderr


@pytest.fixture
def served_document() -> Iterator[str]:
    """The 3.0 petstore with a relative server URL, served on 127.0.0.1."""
    document = yaml.safe_load((FIXTURES / "petstore-3.0.yaml").read_text())
    document["servers"] = [{"url": "/api/v1"}]
    body = yaml.safe_dump(document).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == "/specs/petstore.yaml"
            self.send_response(200 if found else 404)
            self.end_headers()
            self.wfile.write(body if found else b"no")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join()


def test_a_url_is_fetched_and_a_relative_server_resolved_against_it(
    home: Path,
    tmp_path: Path,
    served_document: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    out = tmp_path / "o"
    code, stdout, stderr = run(
        capsys, f"{served_document}/specs/petstore.yaml", "--name", "pets", "--out", str(out), "--json"
    )
    assert code == 0, stderr
    result = json.loads(stdout)
    host = served_document.removeprefix("http://")
    assert result["base_url"] == f"{served_document}/api/v1" and result["allow_hosts"] == [host]
    entry = tomllib.loads((out / "pets.toml").read_text())
    assert entry["imported"]["source_url"] == f"{served_document}/specs/petstore.yaml"
    code, _, stderr = run(capsys, f"{served_document}/nothing.yaml", "--name", "pets", "--out", str(out))
    assert code == 2 and "answered HTTP 404" in stderr
    assert sorted(os.listdir(out)) == ["pets.openapi.json", "pets.toml"]


def test_pull_of_an_openapi_entry_names_the_runtime_image(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mcp_registry_server.cli.container_commands import _pull_targets

    out = tmp_path / "o"
    assert run(capsys, str(FIXTURES / "petstore-3.0.yaml"), "--name", "pets", "--out", str(out))[0] == 0
    assert _pull_targets(load_catalog([out]), ["pets"], "localhost/runtime") == [("pets", "localhost/runtime")]
