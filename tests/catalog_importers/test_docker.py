"""Docker's catalog records as our entries: mcp_registry_server/catalog/importers/docker.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mcp_registry_server.catalog import load_catalog
from mcp_registry_server.catalog.importers.docker import entry_from_docker, import_docker_catalog
from mcp_registry_server.catalog.importers.writing import entry_toml
from mcp_registry_server.config.documents import ConfigDocument, SecretsDocument
from mcp_registry_server.config.resolve import resolve

SNAPSHOT = Path(__file__).resolve().parents[2] / "third_party" / "docker-mcp-registry"
WHEN = "2026-01-01T00:00:00Z"


def imported(server: dict[str, Any], tools: list[Any] | None = None) -> Any:
    return entry_from_docker(server, tools, source_file="servers/x/server.yaml", imported_at=WHEN)


def test_a_server_record_keeps_its_run_and_config() -> None:
    entry = imported(
        {
            "name": "Demo",
            "image": "mcp/demo",
            "type": "server",
            "about": {"title": "Demo Server", "description": "Does demo things."},
            "meta": {"category": "devops", "tags": ["demo"]},
            "source": {"project": "https://github.com/me/demo", "commit": "abc", "directory": "src/demo"},
            "run": {
                "command": ["--root", "{{demo.paths|volume-target|into}}", "--region={{demo.region}}"],
                "volumes": ["{{demo.paths|volume|into}}", "demo-cache:/cache", "{{demo.kubeconfig}}:/kube/config:ro"],
                "env": {"HEADERS": "Bearer $DEMO_TOKEN"},
                "allowHosts": ["api.demo.com:443"],
            },
            "config": {
                "secrets": [{"name": "demo.token", "env": "DEMO_TOKEN", "example": "tok_1"}],
                "env": [{"name": "DEMO_REGION", "example": "eu", "value": "{{demo.region}}"}],
                "parameters": {
                    "type": "object",
                    "properties": {
                        "region": {"type": "string", "default": "eu-west-1"},
                        "paths": {"type": "array", "items": {"type": "string"}},
                        "kubeconfig": {"type": "string", "default": "$HOME/.kube/config"},
                        "jira": {"type": "object", "properties": {"url": {"type": "string"}}},
                    },
                    "required": ["region"],
                },
            },
        },
        [
            {
                "name": "run_demo",
                "description": "Runs it",
                "arguments": [{"name": "what", "type": "string", "desc": "d"}],
            }
        ],
    )
    assert (entry.id, entry.name, entry.image) == ("demo", "Demo Server", "docker.io/mcp/demo")
    assert imported({"name": "open", "image": "mcp/open"}).network == "bridge"  # Docker gives servers the network
    assert entry.source == "https://github.com/me/demo/tree/abc/src/demo"
    assert entry.tags == ["devops", "demo"]
    assert entry.allow_hosts == ["api.demo.com:443"] and entry.network == "none"  # through the egress proxy
    assert entry.args == ["--root", "/mnt/paths", "--region={{region}}"]
    assert [(s.name, s.required) for s in entry.secrets] == [("DEMO_TOKEN", True)]
    assert "demo.token" in entry.secrets[0].description
    assert {v.name: v.default for v in entry.env} == {"HEADERS": "Bearer $DEMO_TOKEN", "DEMO_REGION": "{{region}}"}
    assert {p.name: (p.default, p.required) for p in entry.parameters} == {
        "region": ("eu-west-1", True),
        "jira.url": (None, False),
    }
    volumes = {v.name: (v.source, v.target, v.read_only) for v in entry.volumes}
    assert volumes == {
        "paths": ("", "/mnt/paths", False),
        "demo-cache": ("demo-cache", "/cache", False),
        "kubeconfig": ("", "/kube/config", True),  # $HOME is the user's: they name the path when enabling it
    }
    assert entry.writable_paths == ["/cache"]  # runs without the named volume
    assert entry.tools[0].input_schema == {
        "type": "object",
        "properties": {"what": {"type": "string", "description": "d"}},
        "required": ["what"],
    }
    assert entry.imported is not None and entry.imported.source_file == "servers/x/server.yaml"
    assert entry.not_runnable_reason() is None

    # At activation the templates are filled from the user's settings.
    config = ConfigDocument.model_validate({"entries": {"demo": {"parameters": {"region": "us-east-2"}}}})
    secrets = SecretsDocument.model_validate({"entries": {"demo": {"DEMO_TOKEN": "s3cret"}}})
    resolved = resolve(entry, config, secrets)
    assert resolved.args == ("--root", "/mnt/paths", "--region=us-east-2")
    assert resolved.env["DEMO_REGION"] == "us-east-2" and resolved.secret_env["HEADERS"] == "Bearer s3cret"


def test_remote_and_oauth_records_are_kept_and_say_they_cannot_run() -> None:
    entry = imported(
        {
            "name": "asana",
            "type": "remote",
            "about": {"title": "Asana", "description": "Tasks."},
            "remote": {"transport_type": "sse", "url": "https://mcp.asana.com/sse", "headers": {"A": "Bearer ${K}"}},
            "oauth": [{"provider": "asana", "secret": "asana.pat", "env": "ASANA_PAT"}],
        }
    )
    assert entry.image == "" and entry.remote is not None and entry.remote.headers == {"A": "Bearer ${K}"}
    reason = entry.not_runnable_reason() or ""
    assert "needs that OAuth sign-in" in reason and "https://mcp.asana.com/sse" in reason
    assert "OAuth (asana)" in entry.oauth_note() and "does not handle yet" in entry.oauth_note()


def test_oauth_with_a_secret_to_use_instead_can_run() -> None:
    entry = imported(
        {
            "name": "gh",
            "image": "ghcr.io/github/github-mcp-server",
            "config": {"secrets": [{"name": "github.pat", "env": "GITHUB_PAT"}]},
            "oauth": [{"provider": "github", "secret": "github.pat", "env": "GITHUB_PAT"}],
        }
    )
    assert entry.image == "ghcr.io/github/github-mcp-server"
    assert entry.not_runnable_reason() is None
    assert "Set the secret GITHUB_PAT instead" in entry.oauth_note()
    oauth_only = imported({"name": "o", "image": "mcp/o", "oauth": [{"provider": "x", "env": "X_TOKEN"}]})
    assert "No secret can be used instead" in (oauth_only.not_runnable_reason() or "")


def test_a_secret_on_the_command_line_makes_the_entry_unsupported() -> None:
    entry = imported(
        {
            "name": "sentry",
            "image": "mcp/sentry",
            "run": {"command": ["--auth-token", "$SENTRY_AUTH_TOKEN"]},
            "config": {"secrets": [{"name": "sentry.auth_token", "env": "SENTRY_AUTH_TOKEN"}]},
        }
    )
    assert entry.args == [] and "never puts secrets on a command line" in (entry.not_runnable_reason() or "")


def test_a_bad_record_is_reported_by_name_and_the_rest_import(tmp_path: Path) -> None:
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "server.yaml").write_text("name: good\nimage: mcp/good\ntype: server\n")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "server.yaml").write_text("name: broken\ntype: server\n")
    (tmp_path / "weird").mkdir()
    (tmp_path / "weird" / "server.yaml").write_text("name: [unclosed\n")
    result = import_docker_catalog(tmp_path, imported_at=WHEN)
    assert [entry.id for entry in result.entries] == ["good"]
    reasons = {problem.name: problem.reason for problem in result.problems}
    assert reasons["broken"] == "it is a server without an image"
    assert "not valid YAML" in reasons["weird"]


@pytest.mark.parametrize("record", ["SQLite", "filesystem", "notion", "github-official", "curl", "asana", "aks"])
def test_snapshot_records_round_trip_through_toml(record: str, tmp_path: Path) -> None:
    result = import_docker_catalog(SNAPSHOT / "servers" / record, imported_at=WHEN)
    assert not result.problems
    (entry,) = result.entries
    (tmp_path / f"{entry.id}.toml").write_text(entry_toml(entry, ["header"]))
    loaded = load_catalog([tmp_path])
    assert not loaded.warnings and loaded[entry.id] == entry


def test_the_whole_snapshot_imports() -> None:
    result = import_docker_catalog(SNAPSHOT, imported_at=WHEN)
    assert not result.problems and len(result.entries) == 328
    kinds = {"remote": 0, "unsupported": 0, "container": 0}
    for entry in result.entries:
        kinds["remote" if entry.remote else "unsupported" if entry.unsupported else "container"] += 1
    assert kinds == {"remote": 76, "unsupported": 4, "container": 248}
