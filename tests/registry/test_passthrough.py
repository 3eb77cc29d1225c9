"""Unit tests for the pure parts of resource routing: template matching and namespacing."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from mcp_registry_server.registry.passthrough import NAMESPACE, namespaced_template, namespaced_uri, template_pattern


@pytest.mark.parametrize(
    ("template", "uri", "matches"),
    [
        ("demo://resource/dynamic/text/{resourceId}", "demo://resource/dynamic/text/42", True),
        ("demo://resource/dynamic/text/{resourceId}", "demo://resource/dynamic/text/4/2", False),
        ("file:///{+path}", "file:///home/user/a.txt", True),
        ("repo://{owner}/{repo}/issues", "repo://me/tool/issues", True),
        ("repo://{owner}/{repo}/issues", "repo://me/issues", False),
        ("search://q{?query,limit}", "search://q?query=x&limit=2", True),
        ("a.b://{x}", "aXb://1", False),  # literal characters are escaped
    ],
)
def test_template_pattern(template: str, uri: str, matches: bool) -> None:
    assert bool(template_pattern(template).match(uri)) is matches


def test_namespaced_uri_round_trips_any_uri() -> None:
    for uri in ["file:///a b/c?d=e#f", "demo://x/y", "urn:isbn:0451450523", "ü://ñ"]:
        namespaced = namespaced_uri("pre-fix", uri)
        assert namespaced.startswith(f"{NAMESPACE}pre-fix/")
        prefix, _, rest = namespaced[len(NAMESPACE) :].partition("/")
        assert prefix == "pre-fix" and unquote(rest) == uri and "/" not in rest


def test_namespaced_template_expands_to_a_routable_uri() -> None:
    template = namespaced_template("twin", "demo://resource/{id}")
    expanded = template.replace("{id}", "7")
    prefix, _, rest = expanded[len(NAMESPACE) :].partition("/")
    assert prefix == "twin" and unquote(rest) == "demo://resource/7"
