"""The exact `podman run` command line: hardening flags cannot silently disappear, values never appear."""

from __future__ import annotations

import re

import pytest

from mcp_registry_server.catalog.entry import CatalogEntry
from mcp_registry_server.podman.command import (
    LABEL_MANAGED,
    build_run_argv,
    container_name,
    registry_labels,
    secret_flags,
)

SECRET_VALUE = "s3cr3t-value-that-must-not-leak"
LABELS = {"io.mcp-registry.managed": "true", "io.mcp-registry.test": "1"}


def make_entry(**fields: object) -> CatalogEntry:
    return CatalogEntry.model_validate(
        {"id": "demo", "name": "Demo", "description": "A demo server.", "image": "docker.io/mcp/demo:1", **fields}
    )


RELAXED = make_entry(
    command=["node", "/app/server.js"],
    args=["--root", "/data"],
    env=[{"name": "LOG_LEVEL", "default": "info"}, {"name": "API_URL"}],
    secrets=[{"name": "API_TOKEN"}],
    network="bridge",
    volumes=[
        {"name": "data", "target": "/data", "source": "demo-data"},
        {"name": "config", "target": "/config", "source": "/home/me/.demo", "read_only": True},
        {"name": "cache", "target": "/cache", "source": "demo-cache"},
    ],
    writable_paths=["/home/node", "/data"],
    read_only_root=False,
    memory="2g",
    cpus=1.5,
    pids_limit=512,
)


def test_default_entry_gets_every_hardening_flag_in_order() -> None:
    argv = build_run_argv(
        make_entry(),
        podman="podman",
        name="mcp-registry-demo-0123abcd",
        labels=LABELS,
        env_names=[],
        enabled_volumes={},
    )
    assert argv == [
        "podman",
        "run",
        "--init",
        "-i",
        "--rm",
        "--name",
        "mcp-registry-demo-0123abcd",
        "--label",
        "io.mcp-registry.managed=true",
        "--label",
        "io.mcp-registry.test=1",
        "--pull=never",
        "--log-driver=none",
        "--cap-drop=ALL",
        "--security-opt=no-new-privileges",
        "--read-only",
        "--tmpfs",
        "/tmp",
        "--network=none",
        "--memory=512m",
        "--cpus=1",
        "--pids-limit=256",
        "docker.io/mcp/demo:1",
    ]


def test_relaxed_entry_relaxes_only_what_it_declares() -> None:
    argv = build_run_argv(
        RELAXED,
        podman="/usr/bin/podman",
        name="mcp-registry-demo-0123abcd",
        labels={"io.mcp-registry.managed": "true"},
        env_names=["LOG_LEVEL", "API_URL", "API_TOKEN"],
        enabled_volumes={"data": "demo-data-2", "config": "/home/me/.demo"},  # "cache" stays off
    )
    assert argv == [
        "/usr/bin/podman",
        "run",
        "--init",
        "-i",
        "--rm",
        "--name",
        "mcp-registry-demo-0123abcd",
        "--label",
        "io.mcp-registry.managed=true",
        "--pull=never",
        "--log-driver=none",
        "--cap-drop=ALL",
        "--security-opt=no-new-privileges",
        "--tmpfs",
        "/tmp",
        "--network=bridge",
        "--memory=2g",
        "--cpus=1.5",
        "--pids-limit=512",
        "--tmpfs",
        "/home/node",  # "/data" is skipped: the enabled volume takes its place
        "--volume",
        "demo-data-2:/data",
        "--volume",
        "/home/me/.demo:/config:ro",
        "--env",
        "LOG_LEVEL",
        "--env",
        "API_URL",
        "--env",
        "API_TOKEN",
        "--entrypoint",
        '["node", "/app/server.js"]',
        "docker.io/mcp/demo:1",
        "--root",
        "/data",
    ]


def test_without_enabled_volume_the_writable_path_stays_a_tmpfs() -> None:
    argv = build_run_argv(RELAXED, podman="podman", name="n", labels={}, env_names=[], enabled_volumes={})
    assert "--volume" not in argv
    tmpfs = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--tmpfs"]
    assert tmpfs == ["/tmp", "/home/node", "/data"]


def test_a_volume_on_tmp_replaces_the_default_tmpfs() -> None:
    entry = make_entry(volumes=[{"name": "scratch", "target": "/tmp", "source": "scratch"}])
    argv = build_run_argv(entry, podman="podman", name="n", labels={}, env_names=[], enabled_volumes={"scratch": "s"})
    assert "--tmpfs" not in argv
    assert ["--volume", "s:/tmp"] == argv[argv.index("--volume") : argv.index("--volume") + 2]


def test_env_values_never_reach_argv() -> None:
    # The caller passes names only; even names that look like assignments are refused.
    argv = build_run_argv(
        RELAXED, podman="podman", name="n", labels={}, env_names=["API_TOKEN"], enabled_volumes={"data": "d"}
    )
    assert not any(SECRET_VALUE in arg or "API_TOKEN=" in arg for arg in argv)
    with pytest.raises(ValueError, match="not a plain NAME"):
        build_run_argv(
            RELAXED, podman="podman", name="n", labels={}, env_names=[f"API_TOKEN={SECRET_VALUE}"], enabled_volumes={}
        )


@pytest.mark.parametrize("name", ["PATH", "LD_PRELOAD", "CONTAINERS_CONF", "XDG_RUNTIME_DIR", "https_proxy"])
def test_names_podman_itself_reads_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="podman itself reads it"):
        build_run_argv(make_entry(), podman="podman", name="n", labels={}, env_names=[name], enabled_volumes={})


def test_invalid_volume_source_is_rejected() -> None:
    # The source rules are pinned once, in tests/test_catalog_entry.py; the argv checks them again.
    with pytest.raises(ValueError, match=r"^volume 'data' of entry 'demo': the source '/home/me:/etc' is a host path"):
        build_run_argv(
            RELAXED, podman="podman", name="n", labels={}, env_names=[], enabled_volumes={"data": "/home/me:/etc"}
        )


def test_undeclared_volume_is_rejected() -> None:
    with pytest.raises(ValueError, match="declares no volume named 'other'"):
        build_run_argv(RELAXED, podman="podman", name="n", labels={}, env_names=[], enabled_volumes={"other": "v"})


def test_container_name_is_prefixed_and_random() -> None:
    first, second = container_name("git"), container_name("git")
    assert re.fullmatch(r"mcp-registry-git-[0-9a-f]{8}", first)
    assert first != second
    with pytest.raises(ValueError):
        container_name("bad name")


def test_registry_labels_put_ours_first_and_protect_them() -> None:
    labels = registry_labels(
        instance_id="abc", owner="host:1:2", entry_id="git", prefix="git", extra={"io.mcp-registry.test": "1"}
    )
    assert labels == {
        "io.mcp-registry.managed": "true",
        "io.mcp-registry.instance": "abc",
        "io.mcp-registry.owner": "host:1:2",
        "io.mcp-registry.entry": "git",
        "io.mcp-registry.prefix": "git",
        "io.mcp-registry.test": "1",
    }
    with pytest.raises(ValueError, match="reserved"):
        registry_labels(instance_id="a", owner="o", entry_id="e", prefix="p", extra={LABEL_MANAGED: "false"})


def test_secrets_are_passed_as_podman_secrets_by_name() -> None:
    assert secret_flags({"API_TOKEN": "mcp-registry-x-1a2b3c4d-API_TOKEN"}) == [
        "--secret",
        "mcp-registry-x-1a2b3c4d-API_TOKEN,type=env,target=API_TOKEN",
    ]
    with pytest.raises(ValueError, match="not a plain name"):
        secret_flags({"API_TOKEN": "a,type=mount"})
    with pytest.raises(ValueError, match="not a plain NAME"):
        secret_flags({"A=B": "name"})


def test_an_openapi_entry_mounts_the_server_script_and_its_document_read_only() -> None:
    from mcp_registry_server.openapi_server import SERVER_SCRIPT, runtime_entry

    entry = CatalogEntry.model_validate(
        {
            "id": "notes",
            "name": "Notes",
            "description": "A REST API.",
            "openapi": {
                "spec": "/home/me/.config/mcp-registry/catalog/notes.openapi.json",
                "base_url": "http://api.example.com",
                "auth": {"type": "bearer", "secret": "NOTES_TOKEN"},
            },
            "secrets": [{"name": "NOTES_TOKEN"}],
        }
    )
    argv = build_run_argv(
        runtime_entry(entry, "localhost/openapi-runtime"),
        podman="podman",
        name="mcp-registry-notes-0123abcd",
        labels={},
        env_names=[],
        enabled_volumes={},
        podman_secrets={"NOTES_TOKEN": "mcp-registry-notes-0123abcd-NOTES_TOKEN"},
    )
    assert argv[argv.index("--pids-limit=256") + 1 :] == [
        "--volume",
        f"{SERVER_SCRIPT}:/opt/mcp-registry-openapi/server.py:ro",
        "--volume",
        "/home/me/.config/mcp-registry/catalog/notes.openapi.json:/opt/mcp-registry-openapi/openapi.json:ro",
        "--secret",
        "mcp-registry-notes-0123abcd-NOTES_TOKEN,type=env,target=NOTES_TOKEN",
        "--entrypoint",
        '["python3", "/opt/mcp-registry-openapi/server.py"]',
        "localhost/openapi-runtime",
        "/opt/mcp-registry-openapi/openapi.json",
        '{"auth":{"secret":"NOTES_TOKEN","type":"bearer"},"base_url":"http://api.example.com","exclude_paths":[],'
        '"include_paths":[],"include_tags":[]}',
    ]
    assert "--read-only" in argv and "--cap-drop=ALL" in argv
