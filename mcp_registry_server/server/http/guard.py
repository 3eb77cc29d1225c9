"""Who may reach the HTTP front end: the Host/Origin rules (DNS rebinding) and bearer-token auth.

Contract:
- `HostRules.for_bind(host, port, extra_hosts, extra_origins)`: a request is accepted only if its
  `Host` is the bound address (for a loopback bind also `localhost`, `127.0.0.1`, `[::1]` at that
  port) or one of `extra_hosts` (`name:*` matches any port); otherwise 421. An `Origin`, when sent
  (browsers send one; editors usually do not), must be `http(s)://` + an accepted host, or one of
  `extra_origins`; otherwise 403. A browser page on another site thus cannot drive the registry
  even through a rebound DNS name (the MCP spec's transport security notes).
- `authenticate(headers, tokens)`: the `TokenRecord` of a valid `Authorization: Bearer …`, or
  None. Every refusal is the same `unauthorized()` answer (401, `WWW-Authenticate: Bearer`, one
  fixed body), whether the header was missing, malformed or the token wrong or revoked.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response

from mcp_registry_server.config.tokens import TokenRecord, TokenStore

__all__ = ["HostRules", "authenticate", "is_loopback", "refusal", "unauthorized"]

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _matches(value: str, allowed: Iterable[str]) -> bool:
    for pattern in allowed:
        if value == pattern or (pattern.endswith(":*") and value.startswith(pattern[:-1])):
            return True
    return False


@dataclass(frozen=True)
class HostRules:
    hosts: tuple[str, ...]
    origins: tuple[str, ...]

    @classmethod
    def for_bind(
        cls, host: str, port: int, extra_hosts: Iterable[str] = (), extra_origins: Iterable[str] = ()
    ) -> HostRules:
        bound = f"[{host}]" if ":" in host and not host.startswith("[") else host
        names = {bound, *(LOOPBACK_NAMES if is_loopback(host) else ())}
        hosts = tuple(sorted(f"{name}:{port}" for name in names)) + tuple(extra_hosts)
        origins = tuple(f"{scheme}://{name}" for name in hosts for scheme in ("http", "https")) + tuple(extra_origins)
        return cls(hosts, origins)

    def refusal(self, headers: Headers) -> Response | None:
        """The answer for a request whose Host or Origin is not ours, or None to let it through."""
        host = headers.get("host")
        if not host or not _matches(host, self.hosts):
            return refusal(421, "This server does not answer for that Host.")
        origin = headers.get("origin")
        if origin is not None and not _matches(origin, self.origins):
            return refusal(403, "Requests from this Origin are not allowed.")
        return None


def refusal(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def unauthorized() -> Response:
    return refusal(401, "A valid bearer token is required.", {"WWW-Authenticate": 'Bearer realm="mcp-registry"'})


def authenticate(headers: Headers, tokens: TokenStore) -> TokenRecord | None:
    scheme, _, presented = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return None
    return tokens.verify(presented.strip())
