"""The bearer-token store of `serve --http` (`config.tokens.TokenStore`): hashed, 0600, constant time."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from mcp_registry_server.config import tokens as tokens_module
from mcp_registry_server.config.tokens import TOKEN_PREFIX, TokenError, TokenStore


def test_a_new_token_is_printed_once_and_stored_only_as_its_hash(config_dir: Path) -> None:
    store = TokenStore(config_dir)
    token = store.create("alice", "team-a")
    assert token.startswith(TOKEN_PREFIX) and len(token) >= len(TOKEN_PREFIX) + 43  # 32 random bytes
    text = store.path.read_text()
    assert token not in text and token.removeprefix(TOKEN_PREFIX) not in text
    (record,) = json.loads(text)["tokens"]
    assert record["sha256"] == hashlib.sha256(token.encode()).hexdigest()
    assert (record["name"], record["workspace"]) == ("alice", "team-a")
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(config_dir.stat().st_mode) == 0o700


def test_verify_finds_the_record_of_a_valid_token_and_nothing_else(config_dir: Path) -> None:
    store = TokenStore(config_dir)
    alice, bob = store.create("alice", "team-a"), store.create("bob")
    assert store.verify(alice).workspace == "team-a"  # type: ignore[union-attr]
    assert store.verify(bob).workspace == "default"  # type: ignore[union-attr]
    assert store.verify(alice + "x") is None
    assert store.verify("") is None
    assert store.verify(hashlib.sha256(alice.encode()).hexdigest()) is None  # the stored hash is no token


def test_every_record_is_compared_whichever_matches(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = TokenStore(config_dir)
    first = store.create("first")
    for name in ("second", "third"):
        store.create(name)
    compared: list[tuple[str, str]] = []
    real = tokens_module.hmac.compare_digest

    def counting(a: str, b: str) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(tokens_module.hmac, "compare_digest", counting)
    assert store.verify(first) is not None
    assert len(compared) == 3  # no early exit on the first record's match
    compared.clear()
    assert store.verify("mcpr_wrong") is None
    assert len(compared) == 3


def test_a_revoked_token_stops_working_on_a_store_that_is_already_open(config_dir: Path) -> None:
    serving = TokenStore(config_dir)
    token = TokenStore(config_dir).create("alice")
    assert serving.verify(token) is not None
    assert TokenStore(config_dir).revoke("alice").name == "alice"
    assert serving.verify(token) is None


def test_bad_and_taken_names_are_refused_and_nothing_changes(config_dir: Path) -> None:
    store = TokenStore(config_dir)
    store.create("alice")
    before = store.path.read_bytes()
    with pytest.raises(TokenError, match="exists already"):
        store.create("alice", "other")
    for bad_name, bad_workspace in (("Alice", "default"), ("a b", "default"), ("ok", "../etc"), ("ok", "")):
        with pytest.raises(TokenError, match="is not valid"):
            store.create(bad_name, bad_workspace)
    with pytest.raises(TokenError, match=r"No token is named 'bob' \(tokens: alice\)"):
        store.revoke("bob")
    assert store.path.read_bytes() == before


@pytest.mark.parametrize(
    ("content", "mode", "problem"),
    [("{not json", 0o600, "is not a token file"), ('{"tokens": []}', 0o644, "can be read by other users")],
)
def test_a_broken_or_readable_file_accepts_no_token_and_is_not_overwritten(
    config_dir: Path, content: str, mode: int, problem: str
) -> None:
    store = TokenStore(config_dir)
    token = store.create("alice")
    if content.startswith("{not"):
        store.path.write_text(content)
    os.chmod(store.path, mode)
    fresh = TokenStore(config_dir)
    assert fresh.verify(token) is None
    assert fresh.problem is not None and problem in fresh.problem
    saved = store.path.read_bytes()
    with pytest.raises(TokenError, match="nothing was changed"):
        fresh.create("bob")
    assert store.path.read_bytes() == saved
