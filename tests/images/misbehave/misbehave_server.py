"""A deliberately misbehaving MCP server, used by the fault tests.

Job: speak MCP JSON-RPC 2.0 over stdio (one JSON message per line, as the MCP stdio transport does)
and offer tools that crash, hang, flood stdout/stderr, print garbage, send notifications or ask the
client mid-call, so the client and the router can be tested against each failure on purpose.

Contract:
- Runs on a bare python3 (3.11) in a Debian bookworm container: standard library only.
- Speaks the handshake era (2024-11-05 ... 2025-11-25). ``server/discover`` (2026-07-28) is answered
  as a pre-2026 server would (``MISBEHAVE_DISCOVER`` picks how), and a later ``initialize`` works.
- Requests are served concurrently (one thread per ``tools/call``), so hangs and echoes can be in
  flight together. Every message is written whole under one lock, so messages never interleave.
- ``ask`` sends server->client requests (ids ``"misbehave-<n>"``, strings, so they never collide
  with a client's ids) and answers the call only after the client answered them, reporting each
  response verbatim. It asks whatever it is told, whether or not the client declared the capability.
- ``notifications/cancelled`` stops a pending call; a cancelled request never gets a reply.
- Bad tool arguments and unknown tools give a ``CallToolResult`` with ``isError``; malformed JSON gives
  a -32700 error with ``id: null``; unknown methods give -32601. The server keeps serving after each.
- EOF on stdin ends the process with code 0, even with calls still pending (with
  ``MISBEHAVE_IGNORE_EOF=1`` it stays until a signal, as some servers do).
- Environment: ``MISBEHAVE_PAGE_SIZE`` (tools/list page size, 0 = one page), ``MISBEHAVE_TOOL_COUNT``
  (extra ``synthetic_NNNN`` tools), ``MISBEHAVE_START_DELAY`` (seconds to sleep before reading input),
  ``MISBEHAVE_NEVER_INIT=1`` (never answer ``initialize``), ``MISBEHAVE_DISCOVER`` (how to answer
  ``server/discover``: ``method_not_found`` (default, -32601), ``invalid_params`` (-32602, as servers
  on the 1.x Python SDK answer), ``ignore`` (never answer), ``crash`` (exit 1 without answering)),
  ``MISBEHAVE_REFUSE_SET_LEVEL=1`` (advertise ``logging`` but answer ``logging/setLevel`` with -32601,
  which nothing in the protocol forbids), ``MISBEHAVE_FETCH_TOOL=1`` (also offer ``fetch_url``: GET a
  URL with urllib, which goes through ``HTTP(S)_PROXY``, or directly with ``direct: true``).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SUPPORTED_PROTOCOL_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
LATEST_PROTOCOL_VERSION = "2025-11-25"
LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
MIB = 1024 * 1024
# Valid UTF-8 on purpose: a strict-decoding client must see a bad *message*, not a broken stream.
GARBAGE_LINES = (
    "this is not json",
    '{"jsonrpc":',
    "\x00\x01\x02 \ufffd\ufffd binary-ish \ufffd\x7f",
    "",
)

JsonObject = dict[str, Any]

# A 16x16 red square, small enough to inline; the second icon exercises `theme` (2025-11-25).
ICONS = [
    {
        "src": "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAxNiAxNiI+"
        "PHJlY3Qgd2lkdGg9IjE2IiBoZWlnaHQ9IjE2IiBmaWxsPSJyZWQiLz48L3N2Zz4=",
        "mimeType": "image/svg+xml",
        "sizes": ["any"],
    },
    {"src": "https://example.invalid/misbehave-dark.png", "mimeType": "image/png", "sizes": ["48x48"], "theme": "dark"},
]


class ToolArgumentError(Exception):
    """Arguments of a tools/call do not fit the tool; reported as an isError result."""


@dataclass
class CallContext:
    """What a tool handler may know about the request it is answering."""

    request_id: Any
    progress_token: Any
    cancelled: threading.Event


@dataclass
class OutgoingRequest:
    """A server->client request waiting for the client's response (set by the reader thread)."""

    request_id: str
    method: str
    answered: threading.Event = field(default_factory=threading.Event)
    response: JsonObject | None = None


@dataclass
class ServerState:
    """Mutable state shared between the reader thread and the call threads."""

    write_lock: threading.Lock = field(default_factory=threading.Lock)
    state_lock: threading.Lock = field(default_factory=threading.Lock)
    pending: dict[str, threading.Event] = field(default_factory=dict)
    cancelled_ids: set[str] = field(default_factory=set)
    outgoing: dict[str, OutgoingRequest] = field(default_factory=dict)
    outgoing_count: int = 0
    elicitation_count: int = 0
    log_level: str = "debug"
    extra_tool_enabled: bool = False
    protocol_version: str = "2025-11-25"


STATE = ServerState()


def request_key(request_id: Any) -> str:
    # JSON text keeps 1 and "1" apart, which a plain dict key would not for 1 and 1.0 / True.
    return json.dumps(request_id)


# --- writing -------------------------------------------------------------------------------------


def write_lines(lines: list[bytes]) -> None:
    """Write whole lines to stdout under the write lock; exit quietly if the reader went away."""
    with STATE.write_lock:
        try:
            for line in lines:
                sys.stdout.buffer.write(line + b"\n")
            sys.stdout.buffer.flush()
        except OSError:
            os._exit(0)


def send(message: JsonObject) -> None:
    write_lines([json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()])


def notify(method: str, params: JsonObject) -> None:
    send({"jsonrpc": "2.0", "method": method, "params": params})


def reply(request_id: Any, result: JsonObject) -> None:
    with STATE.state_lock:
        STATE.pending.pop(request_key(request_id), None)
        if request_key(request_id) in STATE.cancelled_ids:
            return  # The spec says a cancelled request gets no response.
    send({"jsonrpc": "2.0", "id": request_id, "result": result})


def reply_error(request_id: Any, code: int, message: str, data: Any = None) -> None:
    error: JsonObject = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    send({"jsonrpc": "2.0", "id": request_id, "error": error})


def log_message(level: str, data: str) -> None:
    if LOG_LEVELS.index(level) >= LOG_LEVELS.index(STATE.log_level):
        notify("notifications/message", {"level": level, "logger": "misbehave", "data": data})


def text_result(text: str, structured: JsonObject | None = None) -> JsonObject:
    result: JsonObject = {"content": [{"type": "text", "text": text}], "isError": False}
    if structured is not None:
        result["structuredContent"] = structured
    return result


def error_result(text: str) -> JsonObject:
    return {"content": [{"type": "text", "text": text}], "isError": True}


def write_stderr(data: bytes) -> None:
    sys.stderr.buffer.write(data)
    sys.stderr.buffer.flush()


# --- asking the client ---------------------------------------------------------------------------


def send_request(method: str, params: JsonObject | None) -> OutgoingRequest:
    """Send a server->client request; the reader thread fills in the response when it comes."""
    with STATE.state_lock:
        STATE.outgoing_count += 1
        outgoing = OutgoingRequest(f"misbehave-{STATE.outgoing_count}", method)
        STATE.outgoing[request_key(outgoing.request_id)] = outgoing
    message: JsonObject = {"jsonrpc": "2.0", "id": outgoing.request_id, "method": method}
    if params is not None:
        message["params"] = params
    send(message)
    return outgoing


def await_response(outgoing: OutgoingRequest, ctx: CallContext, deadline: float) -> JsonObject | None:
    """The client's response (a result or an error message), or None if the call was cancelled.

    Raises TimeoutError at `deadline` (a time.monotonic() value).
    """
    # Poll so a cancellation of the tools/call also ends the wait.
    while not outgoing.answered.wait(0.05):
        if ctx.cancelled.is_set():
            return None
        if time.monotonic() >= deadline:
            raise TimeoutError(f"no answer to {outgoing.method} (id {outgoing.request_id!r})")
    assert outgoing.response is not None
    return outgoing.response


def forget_requests(sent: list[OutgoingRequest]) -> None:
    """Stop expecting answers to `sent`; a late answer is then ignored like any stranger's."""
    with STATE.state_lock:
        for outgoing in sent:
            STATE.outgoing.pop(request_key(outgoing.request_id), None)


def handle_response(message: JsonObject) -> None:
    """A response from the client: hand it to the call thread that asked; ignore strangers."""
    with STATE.state_lock:
        outgoing = STATE.outgoing.get(request_key(message.get("id")))
    if outgoing is not None and not outgoing.answered.is_set():
        outgoing.response = message
        outgoing.answered.set()


# --- argument checking ---------------------------------------------------------------------------


def arg_number(args: JsonObject, name: str, default: float | None = None) -> float:
    value = args.get(name, default)
    # bool is an int subclass, but `true` is not a number to a JSON Schema.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ToolArgumentError(f"argument {name!r} must be a number, got {value!r}")
    return value


def arg_int(args: JsonObject, name: str, default: int | None = None) -> int:
    value = arg_number(args, name, default)
    if isinstance(value, float) and not value.is_integer():
        raise ToolArgumentError(f"argument {name!r} must be an integer, got {value!r}")
    return int(value)


def arg_str(args: JsonObject, name: str, default: str | None = None) -> str:
    value = args.get(name, default)
    if not isinstance(value, str):
        raise ToolArgumentError(f"argument {name!r} must be a string, got {value!r}")
    return value


def schema(properties: JsonObject, required: tuple[str, ...] = ()) -> JsonObject:
    return {"type": "object", "properties": properties, "required": list(required)}


NUMBER = {"type": "number"}
INTEGER = {"type": "integer"}
STRING = {"type": "string"}


# --- tools ---------------------------------------------------------------------------------------


def tool_echo(args: JsonObject, ctx: CallContext) -> JsonObject | None:
    text = arg_str(args, "text")
    return text_result(text, {"text": text})


def tool_add(args: JsonObject, ctx: CallContext) -> JsonObject | None:
    total = arg_number(args, "a") + arg_number(args, "b")
    return text_result(str(total), {"sum": total})


def tool_crash(args: JsonObject, ctx: CallContext) -> JsonObject | None:
    exit_code = arg_int(args, "exit_code", 3)
    message = arg_str(args, "message", "crashing on purpose")
    write_stderr(message.encode() + b"\n")
    # Take the write lock so the crash never cuts another thread's message in half.
    STATE.write_lock.acquire(timeout=5)
    os._exit(exit_code)


def tool_hang(args: JsonObject, ctx: CallContext) -> JsonObject | None:
    seconds = arg_number(args, "seconds", 3600)
    if ctx.cancelled.wait(max(seconds, 0)):
        return None
    return text_result(f"hung for {seconds} seconds")


def tool_garbage(args: JsonObject, ctx: CallContext) -> JsonObject | None:
    count = arg_int(args, "lines", 3)
    write_lines([GARBAGE_LINES[i % len(GARBAGE_LINES)].encode() for i in range(max(count, 0))])
    return text_result("ok")


def tool_big_result(args: JsonObject, ctx: CallContext) -> JsonObject | None:
    size = int(arg_number(args, "megabytes", 1) * MIB)
    return text_result("x" * max(size, 0))


def tool_big_stderr(args: JsonObject, ctx: CallContext) -> JsonObject | None:
    remaining = int(arg_number(args, "megabytes", 1) * MIB)
    chunk = b"e" * 1023 + b"\n"
    while remaining > 0:
        part = chunk[:remaining]
        sys.stderr.buffer.write(part)
        remaining -= len(part)
    sys.stderr.buffer.flush()
    return text_result("ok")


def tool_notify_then_reply(args: JsonObject, ctx: CallContext) -> JsonObject | None:
    count = arg_int(args, "count", 3)
    for i in range(1, count + 1):
        log_message("info", f"note {i}")
        if ctx.progress_token is not None:
            notify(
                "notifications/progress",
                {"progressToken": ctx.progress_token, "progress": i, "total": count},
            )
    return text_result("done")


def tool_slow(args: JsonObject, ctx: CallContext) -> JsonObject | None:
    seconds = arg_number(args, "seconds", 1)
    start = time.monotonic()
    while (left := seconds - (time.monotonic() - start)) > 0:
        if ctx.cancelled.wait(min(left, 0.5)):
            return None
        elapsed = time.monotonic() - start
        if ctx.progress_token is not None and elapsed < seconds:
            notify(
                "notifications/progress",
                {"progressToken": ctx.progress_token, "progress": elapsed, "total": seconds},
            )
    return text_result("slept")


def tool_stderr_line(args: JsonObject, ctx: CallContext) -> JsonObject | None:
    write_stderr(arg_str(args, "text").encode() + b"\n")
    return text_result("ok")


def tool_env(args: JsonObject, ctx: CallContext) -> JsonObject | None:
    return text_result(os.environ.get(arg_str(args, "name"), ""))


def tool_fetch_url(args: JsonObject, ctx: CallContext) -> JsonObject | None:
    """GET a URL; the status and the start of the body, or what stopped it (status 0)."""
    import urllib.error
    import urllib.request

    handlers = [urllib.request.ProxyHandler({})] if args.get("direct") is True else []
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(arg_str(args, "url"), timeout=arg_number(args, "timeout", 10)) as response:
            status, body = response.status, response.read(4096).decode(errors="replace")
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read(4096).decode(errors="replace")
    except (OSError, ValueError) as error:
        status, body = 0, f"{type(error).__name__}: {error}"
    return text_result(f"{status} {body}", {"status": status, "body": body})


def tool_change_tools(args: JsonObject, ctx: CallContext) -> JsonObject | None:
    with STATE.state_lock:
        STATE.extra_tool_enabled = not STATE.extra_tool_enabled
    notify("notifications/tools/list_changed", {})
    return text_result("changed")


def tool_cancellations(args: JsonObject, ctx: CallContext) -> JsonObject | None:
    """Which requests the client cancelled (their ids), so tests can see the relay reached us."""
    with STATE.state_lock:
        received = sorted(STATE.cancelled_ids)
    return {"content": [{"type": "text", "text": json.dumps(received)}], "structuredContent": {"cancelled": received}}


def tool_extra(args: JsonObject, ctx: CallContext) -> JsonObject | None:
    return text_result("extra")


def tool_synthetic(args: JsonObject, ctx: CallContext) -> JsonObject | None:
    return text_result(json.dumps(args, sort_keys=True))


ASK_KINDS = ("sampling", "sampling_tools", "elicitation", "elicitation_url", "roots")
ELICITATION_SCHEMA: JsonObject = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "title": "Name", "description": "Who is answering."},
        "count": {"type": "integer", "title": "Count", "minimum": 0},
    },
    "required": ["name"],
}
SAMPLING_TOOL: JsonObject = {
    "name": "lookup",
    "description": "Look a word up.",
    "inputSchema": schema({"word": STRING}, ("word",)),
}


def ask_request(kind: str) -> tuple[str, JsonObject | None, str | None]:
    """(method, params, elicitationId) of one question; the id only for URL-mode elicitation."""
    if kind in ("sampling", "sampling_tools"):
        params: JsonObject = {
            "messages": [{"role": "user", "content": {"type": "text", "text": "misbehave asks: say hello"}}],
            "maxTokens": 64,
        }
        if kind == "sampling_tools":
            params["tools"] = [SAMPLING_TOOL]
            params["toolChoice"] = {"mode": "auto"}
        return "sampling/createMessage", params, None
    if kind == "elicitation":
        params = {"message": "misbehave asks: who are you?", "requestedSchema": ELICITATION_SCHEMA}
        if STATE.protocol_version >= "2025-11-25":  # `mode` exists from 2025-11-25 on
            params = {"mode": "form", **params}
        return "elicitation/create", params, None
    if kind == "elicitation_url":
        with STATE.state_lock:
            STATE.elicitation_count += 1
            elicitation_id = f"misbehave-elicitation-{STATE.elicitation_count}"
        params = {
            "mode": "url",
            "message": "misbehave asks: open this page to continue",
            "url": f"https://example.invalid/misbehave/consent?elicitation={elicitation_id}",
            "elicitationId": elicitation_id,
        }
        return "elicitation/create", params, elicitation_id
    return "roots/list", None, None


def arg_asks(args: JsonObject) -> list[str]:
    value = args.get("asks", "elicitation")
    asks = [value] if isinstance(value, str) else value
    if not isinstance(asks, list) or not asks or any(kind not in ASK_KINDS for kind in asks):
        raise ToolArgumentError(
            f"argument 'asks' must be one of {ASK_KINDS} or a non-empty list of them, got {value!r}"
        )
    return asks


def arg_bool(args: JsonObject, name: str, default: bool) -> bool:
    value = args.get(name, default)
    if not isinstance(value, bool):
        raise ToolArgumentError(f"argument {name!r} must be a boolean, got {value!r}")
    return value


def tool_ask(args: JsonObject, ctx: CallContext) -> JsonObject | None:
    """Ask the client each question in `asks`, one after another or all at once; report the answers."""
    asks = arg_asks(args)
    concurrent = arg_bool(args, "concurrent", False)
    timeout = arg_number(args, "timeout", 60)
    deadline = time.monotonic() + timeout
    answers: list[JsonObject] = []
    sent: list[OutgoingRequest] = []

    def ask(kind: str) -> tuple[JsonObject, OutgoingRequest]:
        method, params, elicitation_id = ask_request(kind)
        answer: JsonObject = {"ask": kind, "method": method}
        if elicitation_id is not None:
            answer["elicitationId"] = elicitation_id
        sent.append(send_request(method, params))
        return answer, sent[-1]

    def collect(answer: JsonObject, outgoing: OutgoingRequest) -> bool:
        response = await_response(outgoing, ctx, deadline)
        if response is None:
            return False
        if "error" in response:
            answer["error"] = response["error"]
        else:
            answer["result"] = response.get("result")
        answers.append(answer)
        accepted = isinstance(answer.get("result"), dict) and answer["result"].get("action") == "accept"
        if "elicitationId" in answer and accepted:
            notify("notifications/elicitation/complete", {"elicitationId": answer["elicitationId"]})
        return True

    try:
        if concurrent:
            asked = [ask(kind) for kind in asks]
            if not all(collect(answer, outgoing) for answer, outgoing in asked):
                return None
        else:
            for kind in asks:
                if not collect(*ask(kind)):
                    return None
    except TimeoutError as exc:
        return error_result(f"{exc} within {timeout} s")
    finally:
        forget_requests(sent)
    structured = {"answers": answers}
    return text_result(json.dumps(structured, ensure_ascii=False), structured)


def tool_unknown_fields(args: JsonObject, ctx: CallContext) -> JsonObject | None:
    """A valid result plus fields no spec version defines, at the top level and in a content item."""
    return {
        "content": [{"type": "text", "text": "unknown fields", "x-misbehave-item": {"kept": True}}],
        "isError": False,
        "x-misbehave-top": {"kept": True, "list": [1, 2, 3]},
    }


def tool_invalid_result(args: JsonObject, ctx: CallContext) -> JsonObject | None:
    return {"content": "oops"}


def tool_url_required(args: JsonObject, ctx: CallContext) -> JsonObject | None:
    """Answer with the 2025-11-25 URL-elicitation-required error (-32042), as a server needing consent does."""
    elicitation = {
        "mode": "url",
        "message": "misbehave needs you to sign in first",
        "url": "https://example.invalid/misbehave/sign-in",
        "elicitationId": "misbehave-sign-in",
    }
    reply_error(ctx.request_id, -32042, "URL elicitation required", {"elicitations": [elicitation]})
    return None


Handler = Callable[[JsonObject, CallContext], JsonObject | None]

BASE_TOOLS: list[tuple[JsonObject, Handler]] = [
    (
        {
            "name": "echo",
            "description": "Return the text unchanged.",
            "inputSchema": schema({"text": STRING}, ("text",)),
            "outputSchema": schema({"text": STRING}, ("text",)),
            "annotations": {"readOnlyHint": True},
        },
        tool_echo,
    ),
    (
        {
            "name": "add",
            "description": "Return a + b.",
            "inputSchema": schema({"a": NUMBER, "b": NUMBER}, ("a", "b")),
        },
        tool_add,
    ),
    (
        {
            "name": "crash",
            "description": "Write a message to stderr and exit without replying.",
            "inputSchema": schema(
                {
                    "exit_code": {**INTEGER, "default": 3},
                    "message": {**STRING, "default": "crashing on purpose"},
                }
            ),
        },
        tool_crash,
    ),
    (
        {
            "name": "hang",
            "description": "Reply only after `seconds`; never reply if cancelled first.",
            "inputSchema": schema({"seconds": {**NUMBER, "default": 3600}}),
        },
        tool_hang,
    ),
    (
        {
            "name": "garbage",
            "description": "Write non-JSON lines to stdout, then reply 'ok'.",
            "inputSchema": schema({"lines": {**INTEGER, "default": 3}}),
        },
        tool_garbage,
    ),
    (
        {
            "name": "big_result",
            "description": "Reply with one text item of exactly `megabytes` MiB of 'x'.",
            "inputSchema": schema({"megabytes": {**NUMBER, "default": 1}}),
        },
        tool_big_result,
    ),
    (
        {
            "name": "big_stderr",
            "description": "Write `megabytes` MiB to stderr, then reply 'ok'.",
            "inputSchema": schema({"megabytes": {**NUMBER, "default": 1}}),
        },
        tool_big_stderr,
    ),
    (
        {
            "name": "notify_then_reply",
            "description": "Send `count` log (and progress) notifications, then reply 'done'.",
            "inputSchema": schema({"count": {**INTEGER, "default": 3}}),
        },
        tool_notify_then_reply,
    ),
    (
        {
            "name": "slow",
            "description": "Sleep `seconds` (progress every 0.5 s if asked), then reply 'slept'.",
            "inputSchema": schema({"seconds": {**NUMBER, "default": 1}}),
        },
        tool_slow,
    ),
    (
        {
            "name": "stderr_line",
            "description": "Write one line to stderr, then reply 'ok'.",
            "inputSchema": schema({"text": STRING}, ("text",)),
        },
        tool_stderr_line,
    ),
    (
        {
            "name": "env",
            "description": "Reply with the value of an environment variable, or ''.",
            "inputSchema": schema({"name": STRING}, ("name",)),
        },
        tool_env,
    ),
    (
        {
            "name": "change_tools",
            "description": "Toggle `extra_tool` and send notifications/tools/list_changed.",
            "inputSchema": schema({}),
        },
        tool_change_tools,
    ),
    (
        {
            "name": "cancellations",
            "description": "List the ids of requests this server received notifications/cancelled for.",
            "inputSchema": schema({}),
        },
        tool_cancellations,
    ),
    (
        {
            "name": "ask",
            "title": "Ask the client",
            "description": (
                "Send server->client requests mid-call (sampling/createMessage, elicitation/create, roots/list), "
                "wait for the answers, and report each response verbatim."
            ),
            "inputSchema": schema(
                {
                    "asks": {
                        "oneOf": [
                            {"type": "string", "enum": list(ASK_KINDS)},
                            {"type": "array", "items": {"type": "string", "enum": list(ASK_KINDS)}, "minItems": 1},
                        ],
                        "default": "elicitation",
                    },
                    "concurrent": {"type": "boolean", "default": False},
                    "timeout": {**NUMBER, "default": 60},
                }
            ),
            "icons": ICONS,
        },
        tool_ask,
    ),
    (
        {
            "name": "unknown_fields",
            "description": "Reply with a result carrying unknown fields at the top level and in a content item.",
            "inputSchema": schema({}),
        },
        tool_unknown_fields,
    ),
    (
        {
            "name": "invalid_result",
            "description": 'Reply with an invalid result: {"content": "oops"}.',
            "inputSchema": schema({}),
        },
        tool_invalid_result,
    ),
    (
        {
            "name": "url_required",
            "description": "Reply with error -32042 (URL elicitation required) naming one URL to open.",
            "inputSchema": schema({}),
        },
        tool_url_required,
    ),
]

EXTRA_TOOL: tuple[JsonObject, Handler] = (
    {"name": "extra_tool", "description": "Exists only after change_tools.", "inputSchema": schema({})},
    tool_extra,
)


def synthetic_tools(count: int) -> list[tuple[JsonObject, Handler]]:
    return [
        (
            {
                "name": f"synthetic_{i:04d}",
                "description": f"Synthetic tool number {i}; echoes its arguments as JSON.",
                "inputSchema": schema({"value": STRING}),
            },
            tool_synthetic,
        )
        for i in range(count)
    ]


# Built once at start, so tools/list stays fast with many synthetic tools.
FETCH_TOOL: tuple[JsonObject, Handler] = (
    {
        "name": "fetch_url",
        "description": "GET a URL (through HTTP(S)_PROXY unless direct) and report the status and body.",
        "inputSchema": schema({"url": STRING, "direct": {"type": "boolean"}, "timeout": {"type": "number"}}, ("url",)),
    },
    tool_fetch_url,
)
FIXED_TOOLS = (
    BASE_TOOLS
    + ([FETCH_TOOL] if os.environ.get("MISBEHAVE_FETCH_TOOL") == "1" else [])
    + synthetic_tools(int(os.environ.get("MISBEHAVE_TOOL_COUNT", "0") or 0))
)
HANDLERS: dict[str, Handler] = {tool["name"]: handler for tool, handler in [*FIXED_TOOLS, EXTRA_TOOL]}
PAGE_SIZE = int(os.environ.get("MISBEHAVE_PAGE_SIZE", "0") or 0)


def current_tools() -> list[JsonObject]:
    tools = [tool for tool, _ in FIXED_TOOLS]
    if STATE.extra_tool_enabled:
        tools.append(EXTRA_TOOL[0])
    return tools


# --- request handling ----------------------------------------------------------------------------


def handle_initialize(request_id: Any, params: JsonObject) -> None:
    if os.environ.get("MISBEHAVE_NEVER_INIT") == "1":
        return
    requested = params.get("protocolVersion")
    version = requested if requested in SUPPORTED_PROTOCOL_VERSIONS else LATEST_PROTOCOL_VERSION
    STATE.protocol_version = version
    result = {
        "protocolVersion": version,
        "capabilities": {"tools": {"listChanged": True}, "logging": {}, "prompts": {}, "resources": {}},
        "serverInfo": {"name": "misbehave", "version": "1.0.0"},
    }
    reply(request_id, result)


def handle_discover(request_id: Any, params: JsonObject) -> None:
    """`server/discover` (2026-07-28), answered the ways pre-2026 servers answer it."""
    mode = os.environ.get("MISBEHAVE_DISCOVER") or "method_not_found"
    if mode == "ignore":
        return
    if mode == "crash":
        write_stderr(b"misbehave: crashing on server/discover\n")
        STATE.write_lock.acquire(timeout=5)
        os._exit(1)
    if mode == "invalid_params":
        reply_error(request_id, -32602, "Invalid request parameters", data="")
        return
    reply_error(request_id, -32601, "method not found: 'server/discover'")


PROMPT: JsonObject = {
    "name": "greeting",
    "title": "Greeting",
    "description": "One user message that greets `name`.",
    "arguments": [{"name": "name", "description": "Who to greet (default: world).", "required": False}],
    "icons": ICONS,
}
RESOURCE: JsonObject = {
    "uri": "misbehave://readme",
    "name": "readme",
    "title": "Misbehave readme",
    "description": "A short text resource.",
    "mimeType": "text/plain",
    "icons": ICONS,
}
RESOURCE_TEXT = "misbehave: a fault-injection MCP server for tests.\n"


def handle_prompts_get(request_id: Any, params: JsonObject) -> None:
    if params.get("name") != PROMPT["name"]:
        reply_error(request_id, -32602, f"unknown prompt {params.get('name')!r}")
        return
    arguments = params.get("arguments") or {}
    name = arguments.get("name", "world") if isinstance(arguments, dict) else "world"
    message = {"role": "user", "content": {"type": "text", "text": f"Hello, {name}!"}}
    reply(request_id, {"description": "A greeting.", "messages": [message]})


def handle_resources_read(request_id: Any, params: JsonObject) -> None:
    uri = params.get("uri")
    if uri != RESOURCE["uri"]:
        reply_error(request_id, -32002, "Resource not found", data={"uri": uri})
        return
    reply(request_id, {"contents": [{"uri": uri, "mimeType": "text/plain", "text": RESOURCE_TEXT}]})


def handle_tools_list(request_id: Any, params: JsonObject) -> None:
    tools = current_tools()
    if PAGE_SIZE <= 0:
        reply(request_id, {"tools": tools})
        return
    cursor = params.get("cursor")
    try:
        start = int(cursor) if cursor is not None else 0
    except (TypeError, ValueError):
        start = -1
    if not 0 <= start <= len(tools):
        reply_error(request_id, -32602, f"invalid cursor {cursor!r}")
        return
    result: JsonObject = {"tools": tools[start : start + PAGE_SIZE]}
    if start + PAGE_SIZE < len(tools):
        result["nextCursor"] = str(start + PAGE_SIZE)
    reply(request_id, result)


def run_tool_call(request_id: Any, params: JsonObject, cancelled: threading.Event) -> None:
    name = params.get("name")
    args = params.get("arguments") or {}
    meta = params.get("_meta") or {}
    ctx = CallContext(request_id, meta.get("progressToken") if isinstance(meta, dict) else None, cancelled)
    handler = HANDLERS.get(name) if isinstance(name, str) else None
    if handler is None or (name == "extra_tool" and not STATE.extra_tool_enabled):
        result: JsonObject | None = error_result(f"unknown tool {name!r}")
    elif not isinstance(args, dict):
        result = error_result(f"tool {name!r}: arguments must be an object, got {args!r}")
    else:
        try:
            result = handler(args, ctx)
        except ToolArgumentError as exc:
            result = error_result(f"tool {name!r}: {exc}")
    if result is not None:
        reply(request_id, result)
    else:
        with STATE.state_lock:
            STATE.pending.pop(request_key(request_id), None)


def handle_tools_call(request_id: Any, params: JsonObject) -> None:
    cancelled = threading.Event()
    with STATE.state_lock:
        STATE.pending[request_key(request_id)] = cancelled
    # Daemon thread: a pending hang must not keep the process alive after stdin closes.
    threading.Thread(target=run_tool_call, args=(request_id, params, cancelled), daemon=True).start()


def handle_set_level(request_id: Any, params: JsonObject) -> None:
    if os.environ.get("MISBEHAVE_REFUSE_SET_LEVEL") == "1":
        reply_error(request_id, -32601, "method not found: this server keeps its own log level")
        return
    level = params.get("level")
    if level not in LOG_LEVELS:
        reply_error(request_id, -32602, f"unknown log level {level!r}; expected one of {LOG_LEVELS}")
        return
    STATE.log_level = level
    reply(request_id, {})


def handle_cancelled(params: JsonObject) -> None:
    key = request_key(params.get("requestId"))
    with STATE.state_lock:
        STATE.cancelled_ids.add(key)
        pending = STATE.pending.get(key)
    if pending is not None:
        pending.set()


REQUEST_HANDLERS: dict[str, Callable[[Any, JsonObject], None]] = {
    "initialize": handle_initialize,
    "ping": lambda request_id, params: reply(request_id, {}),
    "tools/list": handle_tools_list,
    "tools/call": handle_tools_call,
    "logging/setLevel": handle_set_level,
    "server/discover": handle_discover,
    "prompts/list": lambda request_id, params: reply(request_id, {"prompts": [PROMPT]}),
    "prompts/get": handle_prompts_get,
    "resources/list": lambda request_id, params: reply(request_id, {"resources": [RESOURCE]}),
    "resources/templates/list": lambda request_id, params: reply(request_id, {"resourceTemplates": []}),
    "resources/read": handle_resources_read,
}


def handle_line(line: bytes) -> None:
    if not line.strip():
        return
    try:
        message = json.loads(line)
    except ValueError as exc:
        reply_error(None, -32700, f"parse error: {exc}")
        return
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        reply_error(None, -32600, "invalid request: expected a JSON-RPC 2.0 object")
        return
    method = message.get("method")
    if method is None:
        handle_response(message)  # The client answering an `ask`; anything else is ignored.
        return
    params = message.get("params") or {}
    if "id" not in message:
        if method == "notifications/cancelled" and isinstance(params, dict):
            handle_cancelled(params)
        return  # Other notifications (initialized, roots/list_changed, ...) need nothing.
    request_id = message["id"]
    if not isinstance(params, dict):
        reply_error(request_id, -32602, f"params of {method!r} must be an object")
        return
    handler = REQUEST_HANDLERS.get(method)
    if handler is None:
        reply_error(request_id, -32601, f"method not found: {method!r}")
        return
    handler(request_id, params)


def main() -> None:
    # As PID 1 in a container, SIGTERM is ignored unless a handler exists; stopping must work.
    signal.signal(signal.SIGTERM, lambda signum, frame: os._exit(128 + signum))
    start_delay = float(os.environ.get("MISBEHAVE_START_DELAY", "0") or 0)
    if start_delay > 0:
        time.sleep(start_delay)
    for line in iter(sys.stdin.buffer.readline, b""):
        handle_line(line)
    if os.environ.get("MISBEHAVE_IGNORE_EOF") == "1":
        while True:  # a server that outlives its client unless it is signalled
            time.sleep(3600)
    # EOF: leave at once, but never in the middle of a message another thread is writing.
    STATE.write_lock.acquire(timeout=5)
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
