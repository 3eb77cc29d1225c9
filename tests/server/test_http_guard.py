"""Who may reach `serve --http` (`server.http.guard`, `server.http.app` set-up checks)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from starlette.datastructures import Headers

from mcp_registry_server.config.tokens import TokenStore
from mcp_registry_server.server.http.app import HttpSetupError, TlsFiles, _check_setup, _listen, parse_bind
from mcp_registry_server.server.http.guard import HostRules, authenticate, unauthorized


def status(rules: HostRules, **headers: str) -> int | None:
    refused = rules.refusal(Headers(headers))
    return refused.status_code if refused is not None else None


def test_a_loopback_bind_accepts_its_loopback_names_at_its_port_only() -> None:
    rules = HostRules.for_bind("127.0.0.1", 8765)
    for host in ("127.0.0.1:8765", "localhost:8765", "[::1]:8765"):
        assert status(rules, host=host) is None
    for host in ("127.0.0.1:8766", "evil.example:8765", "evil.example", "localhost"):
        assert status(rules, host=host) == 421
    assert status(rules) == 421  # no Host at all


def test_an_origin_must_be_one_of_ours_when_it_is_sent() -> None:
    rules = HostRules.for_bind("127.0.0.1", 8765)
    assert status(rules, host="localhost:8765") is None  # editors send no Origin
    assert status(rules, host="localhost:8765", origin="http://localhost:8765") is None
    assert status(rules, host="localhost:8765", origin="https://127.0.0.1:8765") is None
    for origin in ("https://evil.example", "http://localhost:9999", "null", "http://localhost:8765.evil.example"):
        assert status(rules, host="localhost:8765", origin=origin) == 403


def test_configured_hosts_and_origins_are_added_and_a_remote_bind_is_not_loopback() -> None:
    rules = HostRules.for_bind("10.0.0.5", 443, ["mcp.example.com", "proxy.internal:*"], ["https://app.example.com"])
    assert status(rules, host="10.0.0.5:443") is None
    assert status(rules, host="mcp.example.com") is None
    assert status(rules, host="proxy.internal:8080") is None
    assert status(rules, host="localhost:443") == 421
    assert status(rules, host="mcp.example.com", origin="https://app.example.com") is None
    assert status(rules, host="mcp.example.com", origin="https://mcp.example.com") is None
    assert status(rules, host="mcp.example.com", origin="https://other.example.com") == 403


def test_only_a_valid_bearer_token_authenticates(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "config")
    token = store.create("alice", "team-a")
    assert authenticate(Headers({"authorization": f"Bearer {token}"}), store).workspace == "team-a"  # type: ignore[union-attr]
    assert authenticate(Headers({"authorization": f"bearer {token}"}), store) is not None
    for value in (None, "", "Bearer", "Bearer ", f"Basic {token}", f"Bearer {token}x", token):
        headers = Headers({"authorization": value} if value is not None else {})
        assert authenticate(headers, store) is None


def test_every_refusal_of_a_token_is_the_same_answer() -> None:
    first, second = unauthorized(), unauthorized()
    assert first.status_code == 401
    assert first.headers["www-authenticate"].startswith("Bearer")
    assert first.body == second.body and b"token" in first.body


@pytest.mark.parametrize(
    ("text", "expected"),
    [("8765", ("127.0.0.1", 8765)), ("0.0.0.0:80", ("0.0.0.0", 80)), ("[::1]:9", ("::1", 9)), (":7", ("127.0.0.1", 7))],
)
def test_bind_addresses(text: str, expected: tuple[str, int]) -> None:
    assert parse_bind(text) == expected


@pytest.mark.parametrize("text", ["abc", "70000", "127.0.0.1:", "0", "host:-1"])
def test_bad_bind_addresses_are_refused(text: str) -> None:
    with pytest.raises(HttpSetupError, match="port must be a number"):
        parse_bind(text)


def test_a_remote_address_needs_allow_remote_and_tls_needs_its_files(tmp_path: Path) -> None:
    _check_setup("127.0.0.1", False, None)
    _check_setup("::1", False, None)
    with pytest.raises(HttpSetupError, match="--allow-remote"):
        _check_setup("0.0.0.0", False, None)
    _check_setup("0.0.0.0", True, None)
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    with pytest.raises(HttpSetupError, match="--tls-key"):
        _check_setup("127.0.0.1", False, TlsFiles(cert, tmp_path / "missing.pem"))


def test_a_taken_port_is_a_clear_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(HttpSetupError, match=rf"Cannot listen on 127.0.0.1:{port}: .*Pick another port"):
            _listen("127.0.0.1", port)
