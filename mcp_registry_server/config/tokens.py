"""Bearer tokens for `serve --http`: who may talk to the registry, and which workspace each one reaches.

Contract: `TokenStore(config_dir)` keeps `<config_dir>/http-tokens.json` (0600, written atomically
in a 0700 dir, read-modify-write under the config dir's `flock`). Each record is
`{"name", "workspace", "sha256", "created"}`: only the SHA-256 of the token is stored, never the
token, which `create` returns once (`mcpr_` + 32 random bytes, URL-safe base64). A 32-byte random
secret needs no salt or slow hash: nobody can guess one, so the hash only has to be one-way.
- `create(name, workspace)` raises `TokenError` for a bad or taken name or workspace;
  `revoke(name)` for an unknown one.
- `verify(presented)` hashes the presented token and compares it with *every* stored hash by
  `hmac.compare_digest`, so how long it takes does not depend on which record (if any) matches or
  where two hashes first differ. It re-reads the file when its mtime/size changed, so a revoked
  token stops working on the running server without a restart.
- A file that cannot be read or parsed holds no tokens (every request is refused) and `problem`
  says why; `create` then refuses to overwrite it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from mcp_registry_server.config.storage import locked
from mcp_registry_server.files import ensure_private_dir, read_regular_file, write_atomic

__all__ = ["DEFAULT_WORKSPACE", "TOKENS_FILE", "TOKEN_PREFIX", "TokenError", "TokenRecord", "TokenStore", "check_name"]

TOKENS_FILE = "http-tokens.json"
TOKEN_PREFIX = "mcpr_"
DEFAULT_WORKSPACE = "default"
_MAX_FILE_BYTES = 1024 * 1024
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class TokenError(Exception):
    """A token command cannot be done; the message says why and what to do."""


def check_name(kind: str, value: str) -> str:
    """`value` if it is a valid token or workspace name (it becomes a directory name); else TokenError."""
    if not _NAME.match(value):
        raise TokenError(
            f"{kind} {value!r} is not valid: use 1-63 lowercase letters, digits, '-' or '_', starting with a letter "
            "or digit."
        )
    return value


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenRecord:
    name: str
    workspace: str
    sha256: str
    created: str


class TokenStore:
    """The token file; see the module contract."""

    def __init__(self, config_dir: Path) -> None:
        self.config_dir = config_dir
        self.path = config_dir / TOKENS_FILE
        self.problem: str | None = None
        self._records: tuple[TokenRecord, ...] = ()
        self._seen: tuple[int, int] | None = None  # (mtime_ns, size) of the file last read

    # -- reading ------------------------------------------------------------------------------

    def records(self) -> tuple[TokenRecord, ...]:
        """The current records, re-read if the file changed since the last look."""
        try:
            info = self.path.stat()
        except FileNotFoundError:
            self._records, self._seen, self.problem = (), None, None
            return ()
        except OSError as error:
            self._records, self._seen, self.problem = (), None, f"{self.path} cannot be read: {error}"
            return ()
        stamp = (info.st_mtime_ns, info.st_size)
        if stamp != self._seen:
            self._records, self.problem = _parse(self.path)
            self._seen = stamp
        return self._records

    def verify(self, presented: str) -> TokenRecord | None:
        """The record whose token this is, or None; constant time in the record compared."""
        digest = hash_token(presented)
        found: TokenRecord | None = None
        for record in self.records():
            # No early exit: every record is compared, whichever one matches.
            if hmac.compare_digest(digest, record.sha256):
                found = record
        return found

    # -- changing -----------------------------------------------------------------------------

    def create(self, name: str, workspace: str = DEFAULT_WORKSPACE) -> str:
        """A new token for `workspace`, stored hashed; the token itself is returned and kept nowhere."""
        check_name("Token name", name)
        check_name("Workspace", workspace)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._changing() as records:
            if any(record.name == name for record in records):
                raise TokenError(f"A token named {name!r} exists already. Revoke it first, or pick another name.")
            created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            records.append(TokenRecord(name, workspace, hash_token(token), created))
        return token

    def revoke(self, name: str) -> TokenRecord:
        with self._changing() as records:
            for index, record in enumerate(records):
                if record.name == name:
                    del records[index]
                    return record
            known = ", ".join(record.name for record in records) or "none"
            raise TokenError(f"No token is named {name!r} (tokens: {known}).")

    @contextlib.contextmanager
    def _changing(self) -> Iterator[list[TokenRecord]]:
        """The records to change, under the config dir's lock; written back if the block succeeds."""
        ensure_private_dir(self.config_dir)
        with locked(self.config_dir, exclusive=True):
            self._seen = None
            records = list(self.records())
            if self.problem is not None:
                raise TokenError(f"{self.problem}. Fix or move the file away; nothing was changed.")
            yield records
            data = {"tokens": [asdict(record) for record in records]}
            write_atomic(self.path, (json.dumps(data, indent=2) + "\n").encode(), mode=0o600)
            self._seen = None


def _parse(path: Path) -> tuple[tuple[TokenRecord, ...], str | None]:
    try:
        raw = read_regular_file(path, _MAX_FILE_BYTES)
        wide = os.stat(path).st_mode & 0o077
    except OSError as error:
        return (), f"{path} cannot be read: {error}"
    if raw is None or len(raw) > _MAX_FILE_BYTES:
        return (), f"{path} is not a regular file under {_MAX_FILE_BYTES} bytes"
    if wide:
        return (), f"{path} can be read by other users (chmod 600 it)"
    try:
        data = json.loads(raw)
        records = tuple(
            TokenRecord(str(item["name"]), str(item["workspace"]), str(item["sha256"]), str(item.get("created", "")))
            for item in data["tokens"]
        )
    except (ValueError, KeyError, TypeError) as error:
        return (), f"{path} is not a token file ({error.__class__.__name__}: {error})"
    return records, None
