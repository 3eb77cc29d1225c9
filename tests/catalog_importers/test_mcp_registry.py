"""server.json records as our entries: catalog/importers/mcp_registry.py and server_json_inputs.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from mcp_registry_server.catalog import load_catalog
from mcp_registry_server.catalog.entry import ENTRY_ID_PATTERN, CatalogEntry
from mcp_registry_server.catalog.importers.mcp_registry import (
    RegistryImportError,
    ServerRecord,
    entry_from_server_json,
    entry_ids,
    import_server_json,
    readable_id,
    records_from_json,
)
from mcp_registry_server.catalog.importers.writing import entry_toml
from mcp_registry_server.config.documents import ConfigDocument, EntryConfig, SecretsDocument
from mcp_registry_server.config.resolve import resolve

DATA = Path(__file__).resolve().parents[1] / "data" / "server-json"
WHEN = "2026-01-01T00:00:00Z"
OFFICIAL = "io.modelcontextprotocol.registry/official"


def imported(server: dict[str, Any], official: dict[str, Any] | None = None) -> CatalogEntry:
    record = ServerRecord(server, official or {}, "server.json")
    return entry_from_server_json(record, entry_id="demo", imported_at=WHEN, source_file="server.json")


def npm(**package: Any) -> dict[str, Any]:
    return {
        "registryType": "npm",
        "identifier": "@acme/demo-mcp",
        "version": "1.2.3",
        "transport": {"type": "stdio"},
        **package,
    }


def record(*packages: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"name": "io.github.acme/demo", "description": "Does demo things.", "version": "1.2.3", **fields} | (
        {"packages": list(packages)} if packages else {}
    )


def resolved_args(entry: CatalogEntry, **parameters: str) -> list[str]:
    config = ConfigDocument(entries={entry.id: EntryConfig(parameters=parameters)})
    return list(resolve(entry, config, SecretsDocument()).args)


# --- the recorded real packages ------------------------------------------------------------------


def test_the_recorded_records_import_as_runnable_entries_that_load_back() -> None:
    result = import_server_json(DATA, imported_at=WHEN)
    assert result.problems == []
    by_id = {entry.id: entry for entry in result.entries}
    assert set(by_id) == {
        "modelcontextprotocol-server-memory",
        "modelcontextprotocol-server-everything",
        "modelcontextprotocol-server-time",
        "modelcontextprotocol-server-fetch",
        "example-weather",
    }
    memory = by_id["modelcontextprotocol-server-memory"]
    assert memory.package is not None and memory.package.model_dump(exclude_none=True) == {
        "registry": "npm",
        "name": "@modelcontextprotocol/server-memory",
        "version": "2026.8.31",
    }
    assert memory.args == []  # npx's -y only confirms the install, and the registry builds the package
    assert [(var.name, var.default) for var in memory.env] == [("MEMORY_FILE_PATH", "/tmp/memory.jsonl")]
    assert memory.network == "none" and memory.not_runnable_reason() is None
    assert memory.name == "Knowledge Graph Memory"
    assert "io.github.modelcontextprotocol/server-memory 2026.8.31" in memory.description
    assert memory.source == "https://github.com/modelcontextprotocol/servers/tree/HEAD/src/memory"
    assert memory.imported is not None and memory.imported.model_dump() == {
        "format": "mcp-registry",
        "source_file": "server-memory.json",
        "source_url": "",
        "imported_at": WHEN,
    }
    assert by_id["modelcontextprotocol-server-everything"].args == ["stdio"]
    time = by_id["modelcontextprotocol-server-time"]
    assert time.package is not None and (time.package.registry, time.package.version) == ("pypi", "2026.10.19")
    assert resolved_args(time) == ["--local-timezone", "UTC"]
    assert resolved_args(time, **{"local-timezone": "Europe/Paris"}) == ["--local-timezone", "Europe/Paris"]
    fetch = by_id["modelcontextprotocol-server-fetch"]
    assert fetch.args == []  # `--from mcp-server-fetch==…` names the package being built; the rest are optional
    assert "--user-agent" in fetch.description and "--ignore-robots-txt" in fetch.description

    remote = by_id["example-weather"]
    assert remote.remote is not None
    assert remote.remote.transport == "streamable-http"  # preferred over the sse endpoint listed first
    assert remote.remote.url == "https://mcp.weather.example.com/{{region}}/mcp"
    assert remote.remote.headers == {"X-API-Key": "${X_API_KEY}", "X-Units": "{{X-Units}}"}
    assert [(s.name, s.required) for s in remote.secrets] == [("X_API_KEY", True)]
    assert {p.name: p.default for p in remote.parameters} == {"region": "eu", "X-Units": "metric"}
    assert "one of: eu, us" in remote.parameters[0].description
    assert remote.source == "https://weather.example.com/docs"
    assert remote.not_runnable_reason() is None  # remote entries run (registry.remotes)


def test_written_entries_read_back_equal(tmp_path: Path) -> None:
    result = import_server_json(DATA, imported_at=WHEN)
    for entry in result.entries:
        (tmp_path / f"{entry.id}.toml").write_text(entry_toml(entry, ["imported"]))
    catalog = load_catalog([tmp_path])
    assert not catalog.warnings
    assert {entry.id: entry for entry in result.entries} == {entry.id: entry for entry in catalog.values()}


def test_one_file_can_be_imported_alone() -> None:
    result = import_server_json(DATA / "server-time.json", imported_at=WHEN)
    assert [entry.id for entry in result.entries] == ["modelcontextprotocol-server-time"]
    assert result.entries[0].imported is not None and result.entries[0].imported.source_file == "server-time.json"


# --- inputs ---------------------------------------------------------------------------------------


def test_environment_variables_become_env_and_secrets_with_their_notes() -> None:
    entry = imported(
        record(
            npm(
                environmentVariables=[
                    {"name": "API_KEY", "description": "Your key", "isRequired": True, "isSecret": True},
                    {"name": "OPTIONAL_TOKEN", "isSecret": True},
                    {"name": "REGION", "default": "eu", "choices": ["eu", "us"], "isRequired": True},
                    {"name": "PRICE", "default": "$5", "format": "number"},
                    {
                        "name": "AUTH_HEADER",
                        "value": "Bearer {token}",
                        "variables": {"token": {"isSecret": True, "description": "a token"}},
                    },
                    {"name": "DB_URL", "value": "postgres://{host}/db", "variables": {"host": {"default": "db"}}},
                    {"name": "MODE", "value": "fixed"},
                ]
            )
        )
    )
    assert [(s.name, s.required) for s in entry.secrets] == [
        ("API_KEY", True),
        ("OPTIONAL_TOKEN", False),
        ("AUTH_HEADER", False),
    ]
    assert "Bearer {token}" in entry.secrets[2].description
    env = {var.name: var for var in entry.env}
    assert env["REGION"].required and env["REGION"].default == "eu"
    assert "one of: eu, us" in env["REGION"].description.lower()
    assert env["PRICE"].default == "$$5"  # a literal `$`, not a variable
    assert env["DB_URL"].default == "postgres://{{host}}/db"
    assert env["MODE"].default == "fixed"
    values = resolve(entry, ConfigDocument(), SecretsDocument())
    assert values.env["PRICE"] == "$5" and values.env["DB_URL"] == "postgres://db/db"


def test_package_arguments_positional_named_variables_and_repeats() -> None:
    entry = imported(
        record(
            npm(
                packageArguments=[
                    {"type": "positional", "value": "serve"},
                    {"type": "positional", "valueHint": "root_dir", "isRequired": True, "isRepeated": True},
                    {"type": "named", "name": "--port", "default": "8080", "format": "number"},
                    {
                        "type": "named",
                        "name": "--db",
                        "value": "sqlite:///{path}",
                        "variables": {"path": {"description": "Database file", "default": "/data/x.db"}},
                    },
                    {"type": "named", "name": "--verbose", "format": "boolean", "value": "true"},
                    {"type": "named", "name": "--quiet", "format": "boolean"},
                    {"type": "named", "name": "--label", "description": "Optional label"},
                    {"type": "positional", "value": "costs-$1"},
                ]
            )
        )
    )
    assert entry.args == [
        "serve",
        "{{root_dir}}",
        "--port",
        "{{port}}",
        "--db",
        "sqlite:///{{path}}",
        "--verbose",
        "costs-$$1",
    ]
    parameters = {p.name: p for p in entry.parameters}
    assert parameters["root_dir"].required and "repeatable" in parameters["root_dir"].description.lower()
    assert parameters["port"].default == "8080"
    assert parameters["path"].default == "/data/x.db" and "Database file" in parameters["path"].description
    assert "--quiet" in entry.description and "--label" in entry.description  # left off, and said so
    assert entry.not_runnable_reason() is None  # root_dir is required: it is listed as missing instead
    assert resolved_args(entry, root_dir="/work") == [
        "serve",
        "/work",
        "--port",
        "8080",
        "--db",
        "sqlite:////data/x.db",
        "--verbose",
        "costs-$1",
    ]


def test_parameters_do_not_take_the_name_of_an_env_var() -> None:
    entry = imported(
        record(
            npm(
                environmentVariables=[{"name": "port", "default": "1"}],
                packageArguments=[{"type": "named", "name": "--port", "isRequired": True}],
            )
        )
    )
    assert entry.args == ["--port", "{{port_2}}"]


@pytest.mark.parametrize(
    "argument",
    [
        {"type": "named", "name": "--token", "isSecret": True, "isRequired": True},
        {"type": "named", "name": "--auth", "value": "key={key}", "variables": {"key": {"isSecret": True}}},
    ],
)
def test_a_secret_on_the_command_line_makes_the_record_unsupported(argument: dict[str, Any]) -> None:
    entry = imported(record(npm(packageArguments=[argument])))
    assert entry.package is None and entry.args == []
    assert "never puts secrets on a command line" in entry.unsupported


# --- runtime arguments ----------------------------------------------------------------------------


def test_package_selecting_runtime_flags_are_dropped_and_others_make_it_unsupported() -> None:
    kept = imported(
        record(
            npm(
                runtimeHint="npx",
                runtimeArguments=[
                    {"type": "positional", "value": "-y"},
                    {"type": "named", "name": "--yes"},
                    {"type": "named", "name": "-p", "value": "@acme/demo-mcp@1.2.3"},
                ],
            )
        )
    )
    assert kept.package is not None and kept.unsupported == ""
    uvx = imported(
        record(
            {
                "registryType": "pypi",
                "identifier": "demo-mcp",
                "version": "0.4.0",
                "runtimeHint": "uvx",
                "runtimeArguments": [{"type": "named", "name": "--from", "value": "demo-mcp==0.4.0"}],
            }
        )
    )
    assert uvx.package is not None and uvx.package.registry == "pypi"
    for runtime_argument in (
        {"type": "named", "name": "--node-options", "value": "--max-old-space-size=4096"},
        {"type": "named", "name": "-p", "value": "other-package"},
    ):
        refused = imported(record(npm(runtimeHint="npx", runtimeArguments=[runtime_argument])))
        assert refused.package is None
        assert "runtime argument" in refused.unsupported and runtime_argument["value"] in refused.unsupported


def test_oci_images_both_schema_eras_and_docker_runtime_arguments() -> None:
    old = imported(
        record(
            {
                "registryType": "oci",
                "registryBaseUrl": "https://docker.io",
                "identifier": "acme/demo",
                "version": "1.0.0",
                "runtimeHint": "docker",
                "runtimeArguments": [
                    {"type": "named", "name": "--rm"},
                    {"type": "named", "name": "-i"},
                    {
                        "type": "named",
                        "name": "-e",
                        "value": "LOG_LEVEL={level}",
                        "variables": {"level": {"default": "info"}},
                    },
                    {
                        "type": "named",
                        "name": "--mount",
                        "value": "type=bind,src={source_path},dst={target_path}",
                        "variables": {
                            "source_path": {"description": "Folder to share", "format": "filepath"},
                            "target_path": {"default": "/project"},
                        },
                    },
                    {"type": "named", "name": "-v", "value": "demo-cache:/cache:ro"},
                ],
                "packageArguments": [{"type": "positional", "value": "/project"}],
                "environmentVariables": [{"name": "LOG_LEVEL", "description": "How much to log"}],
            }
        )
    )
    assert old.image == "docker.io/acme/demo:1.0.0" and old.args == ["/project"]
    assert [(v.name, v.default, v.description) for v in old.env] == [("LOG_LEVEL", "{{level}}", "How much to log")]
    assert [(v.name, v.source, v.target, v.read_only) for v in old.volumes] == [
        ("source_path", "", "/project", False),
        ("demo-cache", "demo-cache", "/cache", True),
    ]
    assert "Folder to share" in old.volumes[0].description
    new = imported(
        record({"registryType": "oci", "identifier": "ghcr.io/acme/demo:2.0.0", "transport": {"type": "stdio"}})
    )
    assert new.image == "ghcr.io/acme/demo:2.0.0"
    official = imported(record({"registryType": "oci", "identifier": "alpine", "version": "3"}))
    assert official.image == "docker.io/library/alpine:3"
    host_network = imported(
        record(
            {
                "registryType": "oci",
                "identifier": "acme/demo",
                "runtimeArguments": [{"type": "named", "name": "--network", "value": "host"}],
            }
        )
    )
    assert host_network.image == "" and "--network host" in host_network.unsupported


# --- which way to run it --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("package", "reason"),
    [
        ({"registryType": "mcpb", "identifier": "https://github.com/a/b/releases/download/v1/x.mcpb"}, "MCP bundle"),
        ({"registryType": "nuget", "identifier": "Acme.Demo", "version": "1.0.0"}, "NuGet"),
        ({"registryType": "cargo", "identifier": "demo", "version": "1.0.0"}, "is not npm, pypi or oci"),
        (npm(version="latest"), "no exact version"),
        (npm(version="^1.2"), "no exact version"),
        (npm(transport={"type": "streamable-http", "url": "http://localhost:{port}/mcp"}), "streamable-http"),
        (npm(environmentVariables=[{"name": "BAD NAME"}]), "not a valid variable name"),
    ],
)
def test_packages_the_registry_cannot_run_are_kept_as_unsupported(package: dict[str, Any], reason: str) -> None:
    entry = imported(record(package))
    assert reason in entry.unsupported
    assert entry.image == "" and entry.package is None and entry.remote is None
    assert entry.not_runnable_reason() is not None


def test_a_runnable_package_wins_over_a_remote_and_a_remote_over_an_unrunnable_package() -> None:
    remote = {"type": "streamable-http", "url": "https://mcp.acme.dev/mcp"}
    both = imported(record(npm(), remotes=[remote]))
    assert both.package is not None and both.remote is None
    fallback = imported(
        record({"registryType": "nuget", "identifier": "Acme.Demo", "version": "1"}, npm(), remotes=[remote])
    )
    assert fallback.package is not None  # the first package the registry can run
    remote_only = imported(record({"registryType": "mcpb", "identifier": "https://x/y.mcpb"}, remotes=[remote]))
    assert remote_only.remote is not None and remote_only.remote.url == "https://mcp.acme.dev/mcp"
    assert remote_only.unsupported == ""


def test_remote_urls_with_undeclared_variables_and_secret_header_values() -> None:
    entry = imported(
        record(
            remotes=[
                {
                    "type": "sse",
                    "url": "https://{tenant}.acme.dev/sse",
                    "headers": [
                        {
                            "name": "Authorization",
                            "value": "Bearer {token}",
                            "variables": {"token": {"isSecret": True, "isRequired": True}},
                        },
                        {"name": "X-Trace", "description": "optional"},
                    ],
                }
            ]
        )
    )
    assert entry.remote is not None
    assert entry.remote.url == "https://{{tenant}}.acme.dev/sse" and entry.remote.transport == "sse"
    assert entry.remote.headers == {"Authorization": "Bearer ${TOKEN}"}
    assert [(p.name, p.required) for p in entry.parameters] == [("tenant", True)]
    assert [(s.name, s.required) for s in entry.secrets] == [("TOKEN", True)]
    assert "X-Trace" in entry.description


def test_deprecated_records_say_so_and_titles_default_to_the_name() -> None:
    entry = imported(record(npm()), {"status": "deprecated"})
    assert entry.name == "io.github.acme/demo" and "Deprecated" in entry.description


# --- bad records ----------------------------------------------------------------------------------


def test_records_that_cannot_be_imported_are_reported_and_the_rest_import(tmp_path: Path) -> None:
    (tmp_path / "good.json").write_text(json.dumps(record(npm())))
    (tmp_path / "broken.json").write_text("{ not json")
    (tmp_path / "nothing.json").write_text(json.dumps({"name": "io.github.a/nothing", "description": "x"}))
    (tmp_path / "nameless.json").write_text(json.dumps({"description": "no name", "packages": [npm()]}))
    (tmp_path / "scalar.json").write_text("42")
    (tmp_path / "invalid.json").write_text(
        json.dumps(record(npm(packageArguments=[{"type": "positional", "value": "{{x}}"}]), name="io.github.acme/bad"))
    )
    (tmp_path / ".hidden.json").write_text("{ skipped")
    result = import_server_json(tmp_path, imported_at=WHEN)
    assert [entry.id for entry in result.entries] == ["acme-demo"]
    problems = {(p.source_file, p.reason.split(" (")[0]) for p in result.problems}
    assert problems == {
        ("broken.json", "it is not valid JSON"),
        ("nothing.json", "it names neither a package nor a remote to run"),
        ("nameless.json", "an object has neither `name`"),
        ("scalar.json", "it holds neither a server.json object nor a list of them"),
        ("invalid.json", "it does not make a valid entry"),
    }
    invalid = next(p for p in result.problems if p.source_file == "invalid.json")
    assert invalid.name == "io.github.acme/bad" and "undeclared parameters: x" in invalid.reason


def test_the_old_snake_case_schema_is_refused_with_the_reason() -> None:
    old = {
        "name": "io.github.acme/old",
        "description": "2025-07-09",
        "version_detail": {"version": "1.0.0"},
        "packages": [{"registry_type": "npm", "identifier": "@acme/old", "version": "1.0.0"}],
    }
    with pytest.raises(RegistryImportError, match="2025-07-09 schema"):
        imported(old)


def test_a_record_without_a_name_is_refused() -> None:
    with pytest.raises(RegistryImportError, match="no name"):
        entry_from_server_json(ServerRecord({}, {}, "x.json"), entry_id="x", imported_at=WHEN, source_file="x.json")


# --- API answers and versions ---------------------------------------------------------------------


def listed(server: dict[str, Any], **official: Any) -> dict[str, Any]:
    return {"server": server, "_meta": {OFFICIAL: {"status": "active", **official}}}


def test_api_list_answers_keep_the_latest_version_and_skip_deleted(tmp_path: Path) -> None:
    page = {
        "servers": [
            listed(record(npm(version="1.0.0"), version="1.0.0"), isLatest=False, publishedAt="2025-10-01T00:00:00Z"),
            listed(record(npm(version="2.0.0"), version="2.0.0"), isLatest=True, publishedAt="2025-09-01T00:00:00Z"),
            listed(record(npm(), name="io.github.acme/gone"), status="deleted", isLatest=True),
            listed(
                record(npm(version="0.1.0"), name="com.acme/dated", version="0.1.0"), publishedAt="2025-01-01T00:00:00Z"
            ),
            listed(
                record(npm(version="0.2.0"), name="com.acme/dated", version="0.2.0"), publishedAt="2025-02-01T00:00:00Z"
            ),
        ],
        "metadata": {"nextCursor": "abc", "count": 5},
    }
    (tmp_path / "page.json").write_text(json.dumps(page))
    (tmp_path / "one.json").write_text(json.dumps(listed(record(npm(), name="io.github.solo/solo"))))
    result = import_server_json(tmp_path, imported_at=WHEN)
    versions = {entry.id: entry.package.version for entry in result.entries if entry.package}
    assert versions == {"acme-demo": "2.0.0", "acme-dated": "0.2.0", "solo": "1.2.3"}
    assert [(p.name, p.reason) for p in result.problems] == [("io.github.acme/gone", "the registry marks it deleted")]


def test_records_from_json_reads_every_shape() -> None:
    plain = record(npm())
    assert [r.name for r in records_from_json(plain, "f")] == ["io.github.acme/demo"]
    assert records_from_json(listed(plain, isLatest=True), "f")[0].official["isLatest"] is True
    assert len(records_from_json([plain, listed(plain)], "f")) == 2
    assert len(records_from_json({"servers": [listed(plain)], "metadata": {}}, "f")) == 1
    with pytest.raises(RegistryImportError):
        records_from_json("text", "f")


# --- ids ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("io.github.user/weather", "user-weather"),
        ("io.github.acme/acme-mcp", "acme-mcp"),
        ("io.github.github/github", "github"),
        ("com.example/x", "example-x"),
        ("com.example.mcp/Files_Server", "example-mcp-files_server"),
        ("io.modelcontextprotocol/filesystem", "modelcontextprotocol-filesystem"),
        ("ai.smithery/A b", "smithery-a-b"),
    ],
)
def test_readable_ids(name: str, expected: str) -> None:
    assert readable_id(name) == expected


def test_ids_are_unique_stable_and_valid() -> None:
    names = ["io.github.a-b/c", "io.github.a/b-c", "com.x/" + "y" * 300, "io.github.x/" + "." * 5, "io.github.-/-"]
    ids = entry_ids(names)
    assert len(set(ids.values())) == len(names)
    assert all(re.fullmatch(ENTRY_ID_PATTERN, value) for value in ids.values())
    assert ids["io.github.a-b/c"] == "a-b-c" and ids["io.github.a/b-c"].startswith("a-b-c-")
    assert entry_ids(["io.github.a/b-c"], taken={"a-b-c"}) == {"io.github.a/b-c": ids["io.github.a/b-c"]}
