"""Hostile input: whatever the editor sends, and whatever is in the catalog and config files, the
registry answers with a clear error or a valid result, keeps serving, and loses nothing.

- Generated calls (hypothesis): >= 1,000 cases per run against one live registry with two real
  servers: every registry tool and exposed tool, with wrong types, huge strings, path traversal,
  shell metacharacters, unicode and NUL bytes. Hypothesis runs in a worker thread and calls into
  the test's event loop through anyio's portal, so the SDK session stays in its own task.
- Malformed JSON-RPC, sent raw (the SDK client cannot send it).
- Corrupted catalog and config files.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from mcp.shared.exceptions import MCPError

from mcp_registry_server.server.tools import REGISTRY_TOOLS
from tests.e2e.harness import RawRegistry, instance_containers, structured, with_catalog, write_catalog
from tests.e2e.support import connect_registry, text_of

GENERATED_CASES = 1_100
HOSTILE_STRINGS = [
    "",
    " ",
    "../../../../etc/passwd",
    "/etc/shadow",
    "..\\..\\windows\\system32\\config",
    "~/.ssh/id_rsa",
    "file:///etc/passwd",
    "$(touch /tmp/mcpr-pwned)",
    "`id`",
    "; rm -rf / #",
    "| cat /etc/passwd",
    "&& curl http://evil",
    "${IFS}${PATH}",
    "%s%s%n%x",
    "{0.__class__.__mro__}",
    "\x00",
    "a\x00b",
    "\n",
    "\r\n\r\n",
    "\x1b[2J\x1b[H",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "\u202e\u2066evil",
    "\ufeff",
    "\U0001d573\U0001d58a\U0001d591\U0001d591\U0001d594",  # look-alike letters
    "😀" * 20,
    "e\u0301",
    "İß",
    "time",
    "misbehave",
    "hostile",
    "registry",
    "registry_",
    "hostile_echo",
    "volume:data",
    "MISBEHAVE_TOKEN",
    "PATH",
    "LD_PRELOAD",
    "A" * 4097,
    "x" * 70_000,
    "-" * 129,
    "a" * 31,
    "a" * 32,
]
# Exposed tools of the hostile mount that answer at once whatever they get. (crash, hang, slow,
# garbage, big_* and notify_then_reply take sizes or durations from their arguments.)
SAFE_CHILD_TOOLS = {"echo": ["text"], "add": ["a", "b"], "env": ["name"], "stderr_line": ["text"], "cancellations": []}
ACTIVE = {"time", "misbehave", "hostile"}  # entry ids and prefixes of the two mounts

texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(HOSTILE_STRINGS),
    st.text(min_size=200, max_size=3000),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4), max_leaves=8
)
FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "query": st.one_of(texts, texts, json_values),
    "limit": st.one_of(st.integers(-5, 150), json_values),
    "text": st.one_of(texts, texts, json_values),
    "name": st.one_of(texts, texts, json_values),
    "a": st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False), json_values),
    "b": st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False), json_values),
    "arguments": st.one_of(st.dictionaries(texts, json_values, max_size=4), json_values),
    "entry_id": st.one_of(st.sampled_from(sorted(ACTIVE)), texts, json_values),
    "entry_id_or_prefix": st.one_of(texts, json_values),
    "prefix": st.one_of(st.from_regex(r"[a-z][a-z0-9-]{0,30}", fullmatch=True), texts, json_values),
    "tool_name": st.integers(0, 9).flatmap(
        lambda n: st.sampled_from([f"hostile_{name}" for name in SAFE_CHILD_TOOLS]) if n < 7 else texts | json_values
    ),
    "values": st.one_of(
        st.dictionaries(
            st.one_of(st.sampled_from(["MISBEHAVE_TOKEN", "MISBEHAVE_PAGE_SIZE", "volume:x"]), texts),
            json_values,
            max_size=4,
        ),
        json_values,
    ),
}
TOOL_FIELDS = {tool["name"]: list(tool["inputSchema"]["properties"]) for tool in REGISTRY_TOOLS}
TOOL_FIELDS |= {f"hostile_{name}": fields for name, fields in SAFE_CHILD_TOOLS.items()}


@st.composite
def hostile_calls(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A tool name (ours, a mount's, or made up) and arguments that fit its schema, partly or not at all."""
    name = draw(st.sampled_from(sorted(TOOL_FIELDS)) if draw(st.integers(0, 9)) < 8 else texts)
    fields = TOOL_FIELDS.get(name, [])
    keyed = {
        field: draw(FIELD_VALUES.get(field, json_values))
        for field in fields
        if draw(st.integers(0, 5))  # each field present 5 times in 6
    }
    extra = draw(st.dictionaries(texts, json_values, max_size=3)) if draw(st.integers(0, 9)) == 0 else {}
    return name, {**extra, **keyed}


def would_change_the_mounts(name: str, arguments: dict[str, Any], inactive: set[str]) -> bool:
    """Calls that would start or stop real servers: valid, but slow and not what is tested here."""
    if name == "registry_add":
        return isinstance(arguments.get("entry_id"), str) and arguments["entry_id"] in inactive
    if name == "registry_remove":
        return isinstance(arguments.get("entry_id_or_prefix"), str) and arguments["entry_id_or_prefix"] in ACTIVE
    if name == "registry_exec":
        return (
            isinstance(arguments.get("tool_name"), str)
            and arguments["tool_name"].startswith("hostile_")
            and (arguments["tool_name"].removeprefix("hostile_") not in SAFE_CHILD_TOOLS)
        )
    return name.startswith("hostile_") and name.removeprefix("hostile_") not in SAFE_CHILD_TOOLS


async def test_generated_hostile_calls_get_clear_answers_and_the_registry_keeps_serving(
    registry_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**registry_env, "MCP_REGISTRY_CALL_TIMEOUT": "15"}
    log_path = tmp_path / "registry.log"
    outcomes = {"valid": 0, "tool error": 0, "protocol error": 0}
    with log_path.open("w") as log:
        async with connect_registry(env, errlog=log) as session:
            structured(await session.call_tool("registry_add", {"entry_id": "misbehave", "prefix": "hostile"}))
            structured(await session.call_tool("registry_add", {"entry_id": "time"}))
            status = structured(await session.call_tool("registry_status", {}))
            containers = sorted(instance_containers(status["instance"]))
            catalog = {entry["id"] for entry in structured(await session.call_tool("registry_list", {}))["entries"]}
            inactive = catalog - ACTIVE

            async def call(name: str, arguments: dict[str, Any]) -> None:
                try:
                    result = await session.call_tool(name, arguments)
                except MCPError as error:  # refused by the SDK's own request validation
                    assert str(error).strip()
                    outcomes["protocol error"] += 1
                    return
                if result.is_error:
                    message = text_of(result)
                    assert message.strip(), (name, arguments)
                    assert "Internal error" not in message and "Traceback" not in message, (name, message)
                    outcomes["tool error"] += 1
                else:
                    outcomes["valid"] += 1

            @settings(
                max_examples=GENERATED_CASES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=hostile_calls())
            # Past the offload threshold, from a tool with an outputSchema (a case CI once drew).
            @example(case=("hostile_echo", {"text": "x" * 70_000}))
            def check(case: tuple[str, dict[str, Any]]) -> None:
                name, arguments = case
                if would_change_the_mounts(name, arguments, inactive):
                    return
                anyio.from_thread.run(call, name, arguments)

            await anyio.to_thread.run_sync(check)

            # Still serving, with the same two servers and nothing else.
            after = structured(await session.call_tool("registry_status", {}))
            assert sorted(mount["prefix"] for mount in after["mounts"]) == ["hostile", "time"]
            assert {mount["state"] for mount in after["mounts"]} == {"running"}
            echoed = await session.call_tool("hostile_echo", {"text": "still serving"})
            assert echoed.structured_content == {"text": "still serving"}
            assert not (await session.call_tool("time_get_current_time", {"timezone": "UTC"})).is_error
            assert sorted(instance_containers(status["instance"])) == containers
    print(f"\nhostile calls: {outcomes}")
    assert sum(outcomes.values()) >= 1_000
    assert outcomes["valid"] and outcomes["tool error"]
    log = log_path.read_text()
    assert "Traceback" not in log and "internal error" not in log.lower()


# Malformed JSON-RPC: (line, what the registry must answer for the given id, or None when the
# line carries no usable id and no answer is owed).
NO_ANSWER = object()
# (line, the id its answer carries, what the answer is: a JSON-RPC error code, "isError", "result",
# or NO_ANSWER for what JSON-RPC says must not be answered: responses and notifications).
MALFORMED: list[tuple[bytes, Any, Any]] = [
    (b"not json at all", None, -32700),
    (b"[]", None, -32600),
    (b'[{"jsonrpc":"2.0","id":5,"method":"ping"}]', None, -32600),
    (
        b'{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"registry_search","arguments":[1]}}',
        10,
        -32602,
    ),
    (
        b'{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"registry_search","arguments":"q"}}',
        11,
        -32602,
    ),
    (b'{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":42}}', 12, -32602),
    (b'{"jsonrpc":"2.0","id":13,"method":"tools/call","params":{"name":null}}', 13, -32602),
    (b'{"jsonrpc":"2.0","id":14,"method":"tools/call"}', 14, -32602),
    (b'{"jsonrpc":"2.0","id":15,"method":"no/such/method"}', 15, -32601),
    (b'{"jsonrpc":"2.0","id":16,"method":"tools/call","params":{"name":"registry_nope"}}', 16, "isError"),
    (b'{"jsonrpc":"2.0","id":"s","method":"tools/call","params":[1]}', "s", -32600),
    (
        b'{"jsonrpc":"2.0","id":17,"method":"tools/call","params":{"name":"registry_search",'
        b'"arguments":{"query":"a\\u0000b"}}}',
        17,
        "isError",
    ),
    (
        b'{"jsonrpc":"2.0","id":18,"method":"tools/call","params":{"name":"registry_search","arguments":{"query":"'
        + b"A" * 20_000_000
        + b'"}}}',
        18,
        "isError",
    ),
    (
        b'{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"ping"}',
        123456789012345678901234567890,
        "result",
    ),
    (b'{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}', None, -32600),
    (b'{"jsonrpc":"2.0","id":true,"method":"ping"}', None, -32600),
    (b'{"jsonrpc":"2.0","id":null,"method":"ping"}', None, -32600),
    (b'\xff\xfe{"jsonrpc":"2.0","id":19,"method":"ping"}', None, -32700),
    (b'{"jsonrpc":"1.0","id":20,"method":"ping"}', 20, -32600),
    (b'{"jsonrpc":"2.0","id":21,"result":{}}', None, NO_ANSWER),
    (b'{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"nope"}}', None, NO_ANSWER),
    # Nesting deeper than the JSON parser allows: it cannot be read, so its id is unknown.
    (
        b'{"jsonrpc":"2.0","id":22,"method":"tools/call","params":{"name":"registry_exec","arguments":'
        b'{"tool_name":"x","arguments":{"a":' + b"[" * 5000 + b"]" * 5000 + b"}}}}",
        None,
        -32700,
    ),
]


async def test_malformed_json_rpc_always_gets_an_answer_and_serving_continues(
    registry_env: dict[str, str], tmp_path: Path
) -> None:
    log_path = tmp_path / "registry.log"
    async with RawRegistry.start(registry_env, log_path) as registry:
        await registry.initialize()
        for line, reply_id, expected in MALFORMED:
            await registry.send_line(line)
            # The registry still answers a real request after each bad line ...
            status = await registry.structured("registry_status")
            assert status["mounts"] == []
            if expected is NO_ANSWER:
                assert not registry.pending_responses(), (line[:80], registry.pending_responses())
                continue
            # ... and the bad line got its own answer, never silence.
            reply = await registry.response(reply_id, within=10)
            if isinstance(expected, int):
                assert reply["error"]["code"] == expected and reply["error"]["message"], (line[:80], reply)
            elif expected == "isError":
                assert reply["result"]["isError"] and reply["result"]["content"][0]["text"], reply
            else:
                assert reply["result"] == {}, reply
        assert registry.process.returncode is None
    log = log_path.read_text()
    assert "Traceback" not in log


async def test_corrupted_catalog_files_warn_and_the_rest_works(registry_env: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "broken-catalog"
    write_catalog(broken, [{"id": "fine-copy", "name": "Fine", "description": "ok", "image": "localhost/x"}])
    (broken / "unclosed.toml").write_text('id = "unclosed\nname = [')
    (broken / "binary.toml").write_bytes(b"\xff\xfe\x00\x01garbage\x00")
    (broken / "wrong-shape.toml").write_text('id = "UPPER case"\nname = 3\n')
    (broken / "empty.toml").write_text("")
    (broken / "traversal.toml").write_text(
        'id = "traversal"\nname = "T"\ndescription = "d"\nimage = "localhost/x"\n'
        '[[volumes]]\nname = "v"\ntarget = "/../../etc"\nsource = "/"\n'
    )
    os.mkfifo(broken / "fifo.toml")
    async with connect_registry(with_catalog(registry_env, broken)) as session:
        status = structured(await session.call_tool("registry_status", {}))
        warnings = "\n".join(status["catalog"]["warnings"])
        for name in ["unclosed.toml", "binary.toml", "wrong-shape.toml", "empty.toml", "traversal.toml"]:
            assert name in warnings, (name, warnings)
        ids = {entry["id"] for entry in structured(await session.call_tool("registry_list", {}))["entries"]}
        assert {"fine-copy", "time", "misbehave"} <= ids and "traversal" not in ids
        assert structured(await session.call_tool("registry_info", {"entry_id": "time"}))["id"] == "time"
        assert structured(await session.call_tool("registry_search", {"query": "time"}))["results"]


async def test_corrupted_config_files_warn_are_kept_and_replaced_atomically(
    registry_env: dict[str, str], tmp_path: Path
) -> None:
    config_dir = Path(registry_env["XDG_CONFIG_HOME"]) / "mcp-registry"
    config_dir.mkdir(parents=True)
    broken_config = b"\x00\xffthis is not toml ["
    broken_secrets = b'entries = "the wrong shape"\n'
    (config_dir / "config.toml").write_bytes(broken_config)
    (config_dir / "secrets.toml").write_bytes(broken_secrets)
    os.chmod(config_dir / "secrets.toml", 0o644)
    log_path = tmp_path / "registry.log"
    with log_path.open("w") as log:
        async with connect_registry(registry_env, errlog=log) as session:
            warnings = "\n".join(structured(await session.call_tool("registry_status", {}))["config"]["warnings"])
            assert "config.toml is not UTF-8 text" in warnings and "secrets.toml" in warnings, warnings
            assert "mode 0644" in warnings
            info = structured(await session.call_tool("registry_info", {"entry_id": "misbehave"}))
            assert info["id"] == "misbehave"

            values = {"MISBEHAVE_TOKEN": "fresh-token", "MISBEHAVE_PAGE_SIZE": "1"}
            stored = structured(
                await session.call_tool("registry_config_set", {"entry_id": "misbehave", "values": values})
            )
            assert "moved it to" in stored["message"] and "tightened it to 0600" in stored["message"]
            structured(await session.call_tool("registry_add", {"entry_id": "misbehave"}))
            token = await session.call_tool("misbehave_env", {"name": "MISBEHAVE_TOKEN"})
            assert text_of(token) == "fresh-token"
            assert structured(await session.call_tool("registry_status", {}))["config"]["warnings"] == []
    assert "is not UTF-8 text" in log_path.read_text()  # reported at startup too

    # Nothing lost: the broken files are kept byte for byte; the new ones are private.
    kept = {path.name.split(".corrupt-")[0]: path for path in config_dir.glob("*.corrupt-*")}
    assert kept["config.toml"].read_bytes() == broken_config
    assert kept["secrets.toml"].read_bytes() == broken_secrets
    assert stat.S_IMODE(kept["secrets.toml"].stat().st_mode) == 0o600
    for name in ("config.toml", "secrets.toml"):
        assert stat.S_IMODE((config_dir / name).stat().st_mode) == 0o600
    assert json.dumps(sorted(p.name for p in config_dir.iterdir() if p.name.endswith(".tmp"))) == "[]"
