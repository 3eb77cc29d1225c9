"""`editors.toml_doc`: set and remove one table of a TOML document, keeping every other byte."""

from __future__ import annotations

import tomllib

import pytest

from mcp_registry_server.editors.toml_doc import TOMLError, parse, remove_member, set_member

ENTRY = {
    "command": "/opt/bin/mcp-registry",
    "args": ["serve"],
    "env": {"CONTAINERS_CONF": "/etc/c.conf"},
    "startup_timeout_sec": 90,
}
PATH = ("mcp_servers",)


def roundtrip(text: str, entry: dict[str, object] = ENTRY) -> str:
    """Insert, check the data (with a strict parser too), idempotence and an update; return what removal leaves."""
    after = set_member(text, PATH, "mcp-registry", entry)
    assert parse(after)["mcp_servers"]["mcp-registry"] == entry
    assert tomllib.loads(after)["mcp_servers"]["mcp-registry"] == entry
    assert set_member(after, PATH, "mcp-registry", entry) == after
    updated = set_member(after, PATH, "mcp-registry", {**entry, "command": "/new/mcp-registry"})
    assert parse(updated)["mcp_servers"]["mcp-registry"]["command"] == "/new/mcp-registry"
    assert remove_member(updated, PATH, "mcp-registry") == remove_member(after, PATH, "mcp-registry")
    return remove_member(after, PATH, "mcp-registry")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n\n",
        "# only a comment\n",
        'model = "gpt-5"\n',
        'model = "gpt-5"',  # no final newline
        'model = "x"\n[tui]\nx = 1',  # a table, no final newline, no blank lines anywhere
        '[mcp_servers.a]\ncommand = "a"\n',
        '[mcp_servers]\n\n[mcp_servers.a]\ncommand = "a"\n',  # an explicit servers table
        '[mcp_servers.a]\ncommand = "a"\n\n[tui]\nx = 1\n\n[mcp_servers.b]\ncommand = "b"  # b\n\n# about p\n[p]\n',
        'mcp_servers.a.command = "a"  # dotted keys\n\n[tui]\nx = 1\n',
        'mcp_servers = { a = { command = "a" } }  # an inline table\nmodel = "x"\n',
        # Things that look like headers but are not: inside a multi-line string, an array of arrays.
        'x = """\n[mcp_servers.fake]\n"""\ny = \'\'\'\n[z]\n\'\'\'\narr = [\n  ["a"],\n]\n[mcp_servers.a]\ncommand = \'it"s\'\n',
        '[[mcp_servers.a.tools]]\nname = "t"\n\n[[mcp_servers.a.tools]]\nname = "u"\n',  # arrays of tables
        '["quoted key"]\nv = "a # not a comment"\n',
    ],
)
def test_set_then_remove_gives_back_the_bytes(text: str) -> None:
    assert roundtrip(text) == text


def test_crlf_documents_stay_crlf() -> None:
    text = 'model = "x"\r\n\r\n[mcp_servers.a]\r\ncommand = "a"\r\n'
    after = set_member(text, PATH, "mcp-registry", ENTRY)
    assert "\n" not in after.replace("\r\n", "")
    assert roundtrip(text) == text


def test_the_block_goes_after_the_last_server_and_before_comments_on_the_next_header() -> None:
    text = (
        '[mcp_servers.a]\ncommand = "a"\n\n[tui]\nx = 1\n\n'
        '[mcp_servers.b]\ncommand = "b"\n# still about b\n\n# about profiles\n[profiles]\n'
    )
    after = set_member(text, PATH, "mcp-registry", ENTRY)
    assert after == (
        '[mcp_servers.a]\ncommand = "a"\n\n[tui]\nx = 1\n\n'
        '[mcp_servers.b]\ncommand = "b"\n# still about b\n\n'
        '[mcp_servers.mcp-registry]\ncommand = "/opt/bin/mcp-registry"\nargs = ["serve"]\nstartup_timeout_sec = 90\n\n'
        '[mcp_servers.mcp-registry.env]\nCONTAINERS_CONF = "/etc/c.conf"\n\n'
        "# about profiles\n[profiles]\n"
    )


def test_an_update_replaces_only_our_tables_where_they_are() -> None:
    text = (
        '[mcp_servers.mcp-registry]\ncommand = "/old"\n\n[mcp_servers.mcp-registry.env]\nA = "1"\n'
        '# a note the user left below our tables\n\n[mcp_servers.z]\ncommand = "z"\n'
    )
    after = set_member(text, PATH, "mcp-registry", {"command": "/new", "args": ["serve"]})
    assert after == (
        '[mcp_servers.mcp-registry]\ncommand = "/new"\nargs = ["serve"]\n'
        '# a note the user left below our tables\n\n[mcp_servers.z]\ncommand = "z"\n'
    )


def test_plain_keys_are_written_before_the_sub_tables() -> None:
    after = set_member("", PATH, "n", {"env": {"A": "1"}, "command": "c", "enabled_tools": ["t"]})
    assert tomllib.loads(after) == {"mcp_servers": {"n": {"env": {"A": "1"}, "command": "c", "enabled_tools": ["t"]}}}


def test_nothing_to_change_returns_the_text_itself() -> None:
    text = '[mcp_servers.a]\ncommand = "a"\n'
    assert remove_member(text, PATH, "mcp-registry") == text
    assert remove_member("", PATH, "mcp-registry") == ""


def test_removing_the_last_server_leaves_an_explicit_servers_table() -> None:
    text = "[mcp_servers]\n"
    after = set_member(text, PATH, "mcp-registry", ENTRY)
    assert parse(remove_member(after, PATH, "mcp-registry")) == {"mcp_servers": {}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('model = "x"\n[mcp_servers.a\n', "line 2"),
        ("model = 'x\n", "line 1"),
        ('mcp_servers = ["a"]\n', "'mcp_servers' is a list, not a table"),
    ],
)
def test_bad_documents_raise(text: str, message: str) -> None:
    with pytest.raises(TOMLError, match=message):
        set_member(text, PATH, "mcp-registry", ENTRY)
