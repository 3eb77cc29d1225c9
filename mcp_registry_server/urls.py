"""How a URL may be shown: `display_url(url)` keeps scheme, host, port and path, and drops user info,
query and fragment, where credentials travel. A leaf: it imports only the standard library."""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["display_url"]


def display_url(url: str) -> str:
    """`url` without user info, query or fragment: what may be shown and logged."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return "<an unparsable URL>"
    return f"{parts.scheme}://{host}{port}{parts.path}"
