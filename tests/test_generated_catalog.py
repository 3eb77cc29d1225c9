"""The bundled catalog is what scripts/generate_catalog.py makes of the Docker snapshot, and it all loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mcp_registry_server.catalog import bundled_catalog_dir, load_catalog

ROOT = Path(__file__).resolve().parent.parent


def test_the_checked_in_catalog_is_what_the_script_generates() -> None:
    check = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate_catalog.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stderr
    assert "up to date (328 entries)" in check.stdout


def test_every_generated_file_loads_without_warnings() -> None:
    catalog = load_catalog([bundled_catalog_dir()])
    assert not catalog.warnings, [str(warning) for warning in catalog.warnings]
    assert len(catalog) == 328
    files = sorted(path.name for path in bundled_catalog_dir().glob("*.toml"))
    assert files == sorted(f"{entry_id}.toml" for entry_id in catalog)
    assert all(entry.imported is not None and entry.imported.format == "docker" for entry in catalog.values())


def test_curated_overrides_keep_their_details_and_gain_the_records() -> None:
    catalog = load_catalog([bundled_catalog_dir()])
    sqlite, github = catalog["sqlite"], catalog["github"]
    assert sqlite.writable_paths == ["/mcp"] and sqlite.network == "none" and sqlite.volumes[0].name == "data"
    # The record's allowHosts would put it behind the egress proxy; the override chose the network.
    assert github.network == "bridge" and github.allow_hosts == []
    assert [auth.provider for auth in github.oauth] == ["github"] and "Set the secret" in github.oauth_note()
    kafka = catalog["kafka-schema-reg-mcp"]  # allowHosts ['*:8081'] cannot be proxied: the network instead
    assert kafka.network == "bridge" and kafka.allow_hosts == []
    assert "github-docker" in catalog  # Docker's archived `github` record, whose id the override took
    read_url = next(tool for tool in catalog["ref"].tools if tool.name == "ref_read_url")
    assert read_url.argument_names == ["url"]  # the input schema, from the record's tools.json


def test_list_on_a_fresh_install_shows_every_entry(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MCP_REGISTRY_")}
    env |= {"HOME": str(tmp_path), **{f"XDG_{kind}_HOME": str(tmp_path / kind) for kind in ("CONFIG", "DATA", "STATE")}}
    listed = subprocess.run(
        [str(Path(sys.executable).parent / "mcp-registry"), "list", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    entries = json.loads(listed.stdout)
    assert len(entries) >= 328
    asana = next(entry for entry in entries if entry["id"] == "asana")
    assert "needs that OAuth sign-in" in asana["cannot_activate"]  # a remote server with OAuth only
    apify = next(entry for entry in entries if entry["id"] == "apify")
    assert not apify.get("cannot_activate")  # a remote server with a token secret activates
