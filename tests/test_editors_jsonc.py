"""`editors.jsonc`: parse JSON with comments and trailing commas; edit one member, keep every other byte."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_registry_server.editors.jsonc import JSONCError, empty_document, parse, remove_member, set_member, to_python

ENTRY = {"command": "/opt/bin/mcp-registry", "args": ["serve"], "env": {"CONTAINERS_CONF": "/etc/c.conf"}}
PATH = ("mcpServers",)


def roundtrip(text: str, path: tuple[str, ...] = PATH, key: str = "mcp-registry") -> str:
    """Insert, check the data and idempotence, then remove and return what is left."""
    after = set_member(text, path, key, ENTRY)
    data = to_python(parse(after))
    node = data
    for segment in path:
        node = node[segment]
    assert node[key] == ENTRY
    assert set_member(after, path, key, ENTRY) == after
    return remove_member(after, path, key)


@pytest.mark.parametrize(
    "text",
    [
        '{\n  "mcpServers": {\n    "a": {"command": "x"}\n  }\n}\n',
        '{\n  "mcpServers": {\n    "a": {"command": "x"},\n  },\n}\n',  # trailing commas
        '{\n  "mcpServers": {\n    "a": 1 // why\n  }\n}\n',  # a comment after the last member
        '{\n  "mcpServers": {\n    "a": 1, /* note */\n  }\n}\n',
        '{\n  "mcpServers": {\n    "a": 1 /* spans\n  lines */\n  }\n}\n',
        '{\n  "other": true\n}\n',  # no servers object: created, then removed again
        '{\n  "other": true,\n}',  # trailing comma, no final newline
        '// leading comment\n{\n  "x": [1, 2,],\n  "y": "a // not a comment"\n}\n// trailing comment\n',
        '{\n\t"mcpServers": {\n\t\t"a": 1\n\t}\n}\n',  # tabs
        '{"mcpServers": {"a": 1}}',  # one line
        '{"mcpServers": {"a": 1,}}',
        '{"other": 1}',
        '{\n  "mcpServers": {\n    // "disabled": {"command": "x"}\n  }\n}\n',  # only a comment inside
        '\ufeff{\n  "a": 1\n}\n',  # byte order mark
        '{\n  "mcpServers": {\n    "ünïcødé": "✓"\n  }\n}\n',
    ],
)
def test_insert_then_remove_restores_the_text(text: str) -> None:
    assert roundtrip(text) == text


def test_crlf_is_kept_and_used_for_new_lines() -> None:
    text = '{\r\n  "mcpServers": {\r\n    "a": {"command": "x"} // c\r\n  }\r\n}\r\n'
    after = set_member(text, PATH, "mcp-registry", ENTRY)
    assert "\n" not in after.replace("\r\n", "")
    assert remove_member(after, PATH, "mcp-registry") == text


def test_new_member_follows_the_documents_indentation() -> None:
    text = '{\n    "mcpServers": {\n        "a": 1\n    }\n}\n'
    after = set_member(text, PATH, "b", {"k": [1]})
    assert '\n        "b": {\n            "k": [\n                1\n            ]\n        }\n    }' in after


def test_a_comment_after_the_last_member_stays_on_its_line() -> None:
    after = set_member('{\n  "mcpServers": {\n    "a": 1 // about a\n  }\n}\n', PATH, "b", 2)
    assert '    "a": 1, // about a\n    "b": 2\n  }' in after


def test_trailing_comma_style_is_followed() -> None:
    after = set_member('{\n  "mcpServers": {\n    "a": 1,\n  },\n}\n', PATH, "b", 2)
    assert '    "a": 1,\n    "b": 2,\n  },' in after


def test_replacing_a_value_touches_only_that_value() -> None:
    text = '{\n  "mcpServers": {\n    "mcp-registry": {"command": "old"}, // ours\n    "z": 1\n  }\n}\n'
    after = set_member(text, PATH, "mcp-registry", {"command": "new"})
    assert after == text.replace('{"command": "old"}', '{\n      "command": "new"\n    }')


def test_nested_path_is_created_and_pruned() -> None:
    text = '{\n  "a": 1\n}\n'
    after = set_member(text, ("x", "y"), "k", True)
    assert to_python(parse(after)) == {"a": 1, "x": {"y": {"k": True}}}
    assert remove_member(after, ("x", "y"), "k") == text


def test_empty_text_gets_a_new_document_and_removal_leaves_an_empty_object() -> None:
    after = set_member("", PATH, "mcp-registry", ENTRY)
    assert json.loads(after) == {"mcpServers": {"mcp-registry": ENTRY}}
    assert remove_member(after, PATH, "mcp-registry") == empty_document()


def test_duplicate_keys_last_one_is_edited_and_all_are_removed() -> None:
    text = '{\n  "mcpServers": {\n    "k": 1,\n    "a": 2,\n    "k": 3\n  }\n}\n'
    assert to_python(parse(set_member(text, PATH, "k", 9)))["mcpServers"] == {"k": 9, "a": 2}
    assert '"k": 1' in set_member(text, PATH, "k", 9)
    assert to_python(parse(remove_member(text, PATH, "k"))) == {"mcpServers": {"a": 2}}


def test_removing_what_is_not_there_returns_the_text_unchanged() -> None:
    text = '{\n  "mcpServers": {} // keep\n}\n'
    assert remove_member(text, PATH, "mcp-registry") is text
    assert remove_member("", PATH, "x") == ""


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{'a': 1}", "double quotes"),
        ("{a: 1}", "double quotes"),
        ('{"a": 1} {}', "after the end"),
        ('{"a": NaN}', "unexpected 'N'"),
        ('{"a": 1', "expected ','"),
        ('{"a": 1 /* open', "never closed"),
        ('{"a": "\x01"}', "control character"),
        ('{"a": "\\x"}', "bad escape"),
        ("[" * 500 + "]" * 500, "nested"),
    ],
)
def test_what_is_not_jsonc_is_refused_with_a_position(text: str, reason: str) -> None:
    with pytest.raises(JSONCError, match=reason) as caught:
        parse(text)
    assert caught.value.line >= 1 and caught.value.column >= 1


def test_error_position_is_line_and_column() -> None:
    with pytest.raises(JSONCError) as caught:
        parse('{\n  "a": 1,\n  b: 2\n}')
    assert (caught.value.line, caught.value.column) == (3, 3)


def test_a_servers_key_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(JSONCError, match="'mcpServers' is an array"):
        set_member('{"mcpServers": []}', PATH, "k", 1)
    with pytest.raises(JSONCError, match="the document is an array"):
        set_member("[]", PATH, "k", 1)


# --- properties ------------------------------------------------------------------------------

_scalars = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=8)
_keys = st.text(alphabet='abcXYZ_-/ é"\\', min_size=1, max_size=6)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
    max_leaves=8,
)


def _decorate(text: str, comment: bool, trailing: bool) -> str:
    if trailing:
        text = text.replace("\n}", ",\n}").replace("{,\n}", "{\n}")
    if comment:
        text = "// settings\n" + text.replace("{\n", "{ // open\n", 1)
    return text


@settings(max_examples=150, deadline=None)
@given(
    other=st.dictionaries(_keys, _values, max_size=4),
    servers=st.dictionaries(_keys.filter(lambda key: key != "mcp-registry"), _values, min_size=1, max_size=3),
    indent=st.sampled_from([2, 4, "\t"]),
    comment=st.booleans(),
    trailing=st.booleans(),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_any_document_round_trips(
    other: dict[str, Any], servers: dict[str, Any], indent: Any, comment: bool, trailing: bool, newline: str
) -> None:
    document = {**{k: v for k, v in other.items() if k != "mcpServers"}, "mcpServers": servers}
    text = _decorate(json.dumps(document, indent=indent, ensure_ascii=False), comment, trailing).replace("\n", newline)
    assert to_python(parse(text)) == document
    after = set_member(text, PATH, "mcp-registry", ENTRY)
    assert to_python(parse(after)) == {**document, "mcpServers": {**servers, "mcp-registry": ENTRY}}
    assert remove_member(after, PATH, "mcp-registry") == text
