"""The egress pieces that need no Podman: allow_hosts validation, the argv part, the filter, the doctor."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from mcp_registry_server.catalog import Catalog
from mcp_registry_server.catalog.entry import CatalogEntry
from mcp_registry_server.doctor.catalog_checks import check_network_access
from mcp_registry_server.podman.command import EgressRoute, build_run_argv
from mcp_registry_server.podman.egress import host_set_key, proxy_filter
from mcp_registry_server.settings import RegistrySettings

ROUTE = EgressRoute(network="mcp-registry-egress-abc-123456", proxy_url="http://10.89.1.2:8888")


def make_entry(**fields: object) -> CatalogEntry:
    return CatalogEntry.model_validate(
        {"id": "demo", "name": "Demo", "description": "A demo server.", "image": "docker.io/mcp/demo:1", **fields}
    )


def argv_of(entry: CatalogEntry, egress: EgressRoute | None) -> list[str]:
    return build_run_argv(entry, podman="podman", name="n", labels={}, env_names=[], enabled_volumes={}, egress=egress)


def test_allow_hosts_are_normalised_host_port_pairs() -> None:
    entry = make_entry(allow_hosts=["API.GitHub.com:443", "10.0.0.5:8080", "api.github.com:443"])
    assert entry.allow_hosts == ["api.github.com:443", "10.0.0.5:8080"]
    assert entry.network_access.startswith("only api.github.com:443, 10.0.0.5:8080")
    assert make_entry(network="bridge").network_access.startswith("full network access")
    assert make_entry().network_access == "no network"
    remote = CatalogEntry.model_validate(
        {"id": "r", "name": "R", "description": "", "remote": {"url": "https://mcp.example.com/mcp?key=${KEY}"}}
    )
    assert remote.network_access == "runs elsewhere: the registry itself connects to https://mcp.example.com/mcp"


@pytest.mark.parametrize("pair", ["github.com", "a:0", "a:65536", "http://a:80", "a b:1", "[::1]:443", "*.x.com:443"])
def test_malformed_allow_hosts_are_refused(pair: str) -> None:
    with pytest.raises(ValidationError, match="is not host:port"):
        make_entry(allow_hosts=[pair])


def test_allow_hosts_and_bridge_are_one_mode_too_many() -> None:
    with pytest.raises(ValidationError, match="keep one"):
        make_entry(allow_hosts=["a.com:443"], network="bridge")


def test_a_proxied_entry_joins_the_internal_network_with_the_proxy_env() -> None:
    argv = argv_of(make_entry(allow_hosts=["a.com:443"]), ROUTE)
    start = argv.index(f"--network={ROUTE.network}")
    url = ROUTE.proxy_url
    assert argv[start : start + 14] == [
        f"--network={ROUTE.network}",
        "--http-proxy=false",
        *("--env", f"HTTP_PROXY={url}", "--env", f"HTTPS_PROXY={url}"),
        *("--env", f"http_proxy={url}", "--env", f"https_proxy={url}"),
        *("--env", "NO_PROXY=", "--env", "no_proxy="),
    ]
    assert "--network=none" not in argv and "--network=bridge" not in argv


def test_a_proxied_entry_never_starts_without_its_route() -> None:
    with pytest.raises(ValueError, match="needs its egress proxy"):
        argv_of(make_entry(allow_hosts=["a.com:443"]), None)
    assert "--network=none" in argv_of(make_entry(), ROUTE)  # a route is ignored without allow_hosts


def test_the_filter_matches_exactly_the_listed_pairs() -> None:
    patterns = [re.compile(line) for line in proxy_filter(["api.github.com:443", "10.0.0.5:80"]).splitlines()]

    def allowed(url: str) -> bool:
        return any(pattern.search(url) for pattern in patterns)

    assert allowed("api.github.com:443") and allowed("http://api.github.com:443/x")
    assert allowed("http://10.0.0.5/") and allowed("http://10.0.0.5:80/a") and allowed("10.0.0.5:80")
    assert not allowed("api.github.com:80") and not allowed("apixgithub.com:443")
    assert not allowed("evil.com:443") and not allowed("api.github.com.evil.com:443")
    assert not allowed("http://10.0.0.5:8080/") and not allowed("http://evil.com/?10.0.0.5:80")
    assert host_set_key(["b:1", "a:1"]) == host_set_key(["a:1", "b:1"])


def test_the_doctor_names_servers_with_full_network_access() -> None:
    catalog = Catalog(
        [
            make_entry(id="open", network="bridge"),
            make_entry(id="narrow", allow_hosts=["api.github.com:443"]),
            make_entry(id="closed"),
        ]
    )
    check = check_network_access(
        catalog, RegistrySettings(catalog_dirs=(), config_dir=Path("/c"), runtime_dir=Path("/r"))
    )
    assert check.status == "warn" and check.summary.startswith("1 with full network access, 1 limited")
    assert check.details[0] == "full network access (network = bridge, no allow_hosts): open"
    assert check.details[1].startswith("narrow: only api.github.com:443")
    assert check.data["allow_hosts"] == {"narrow": ["api.github.com:443"]}
    assert "allow_hosts" in (check.fix or "")


def test_the_doctor_names_a_dozen_open_entries_and_counts_the_rest() -> None:
    catalog = Catalog([make_entry(id=f"open-{n:02d}", network="bridge") for n in range(30)])
    check = check_network_access(
        catalog, RegistrySettings(catalog_dirs=(), config_dir=Path("/c"), runtime_dir=Path("/r"))
    )
    assert check.details[0].endswith("open-11 … and 18 more (--json lists all)")
    assert len(check.data["full"]) == 30
