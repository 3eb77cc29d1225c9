"""A scriptable fake MCP server for the mcp_client tests: newline-delimited JSON-RPC on stdio.

Each request method is one behaviour (see `handle`). Flags change process-level behaviour:
  --protocol-version V   answer initialize with V instead of echoing the client's version
  --pages N              tools/list returns N pages of one tool each
  --cursor-loop          tools/list always returns the same nextCursor
  --ignore-stdin-eof     keep running after stdin closes
  --ignore-sigterm       ignore SIGTERM (only SIGKILL stops it)
Uses only the standard library so it starts fast.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import threading
import time
from typing import Any

_out = sys.stdout.buffer
_err = sys.stderr.buffer
_write_lock = threading.Lock()

held: list[dict[str, Any]] = []
cancelled: list[dict[str, Any]] = []
notifications: list[str] = []
client_responses: dict[str, Any] = {}
waiting_for_client: dict[str, Any] = {}  # our request id -> the client's original request id
next_server_id = 0


def write_raw(data: bytes) -> None:
    with _write_lock:
        _out.write(data)
        _out.flush()


def send(message: dict[str, Any]) -> None:
    write_raw(json.dumps(message).encode() + b"\n")


def reply(request_id: Any, result: Any) -> None:
    send({"jsonrpc": "2.0", "id": request_id, "result": result})


def in_thread(target: Any, *args: Any) -> None:
    threading.Thread(target=target, args=args, daemon=True).start()


def send_progress(request_id: Any, token: Any, count: int, interval: float) -> None:
    for i in range(1, count + 1):
        time.sleep(interval)
        params = {"progressToken": token, "progress": i, "total": count, "message": f"step {i}"}
        send({"jsonrpc": "2.0", "method": "notifications/progress", "params": params})
    reply(request_id, {"done": True})


def write_stderr(size: int) -> None:
    chunk = (b"e" * 1023 + b"\n") * 64
    written = 0
    while written < size:
        piece = chunk[: size - written]
        _err.write(piece)
        _err.flush()
        written += len(piece)


def ask_client(request_id: Any, params: dict[str, Any]) -> None:
    global next_server_id
    next_server_id += 1
    server_id = f"srv-{next_server_id}"
    waiting_for_client[server_id] = request_id
    send({"jsonrpc": "2.0", "id": server_id, "method": params["method"], "params": params.get("params")})
    if "cancel_after" in params:

        def cancel_later() -> None:
            time.sleep(params["cancel_after"])
            cancel = {"requestId": server_id, "reason": "changed my mind"}
            send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": cancel})
            waiting_for_client.pop(server_id, None)
            reply(request_id, {"cancelled": server_id})

        in_thread(cancel_later)


def tools_page(cursor: str | None, args: argparse.Namespace) -> dict[str, Any]:
    if args.cursor_loop:
        return {"tools": [{"name": "loop"}], "nextCursor": "same"}
    page = 0 if cursor is None else int(cursor.removeprefix("c"))
    result: dict[str, Any] = {"tools": [{"name": f"tool_{page}", "inputSchema": {"type": "object"}}]}
    if page + 1 < args.pages:
        result["nextCursor"] = f"c{page + 1}"
    return result


def handle(message: dict[str, Any], args: argparse.Namespace) -> None:
    method = message.get("method")
    params = message.get("params") or {}
    request_id = message.get("id")
    if method is None:  # a response to one of our requests
        client_responses[str(request_id)] = message
        original = waiting_for_client.pop(str(request_id), None)
        if original is not None:
            reply(original, {"answer": message})
        return
    if request_id is None:
        notifications.append(method)
        if method == "notifications/cancelled":
            cancelled.append(params)
        return
    if method == "initialize":
        version = args.protocol_version or params.get("protocolVersion")
        reply(
            request_id,
            {
                "protocolVersion": version,
                "capabilities": {"tools": {"listChanged": True}},
                "serverInfo": {"name": "fake", "version": "1.0"},
                "instructions": "be nice",
            },
        )
    elif method == "echo":
        reply(request_id, {"params": params})
    elif method == "hold":
        held.append(message)
        if len(held) >= params["count"]:
            random.Random(4).shuffle(held)
            for item in held:
                reply(item["id"], {"value": item["params"]["value"]})
            held.clear()
    elif method == "big":
        reply(request_id, {"data": "x" * params["size"]})
    elif method == "garbage":
        write_raw(b'not json\n[1, 2]\n"a string"\n{"unterminated": \n\n\xff\xfe\n42\n')
        reply(request_id, {"ok": True})
    elif method == "stderr":
        write_stderr(params["size"])
        reply(request_id, {"written": params["size"]})
    elif method == "stderr_background":
        in_thread(write_stderr, params["size"])
        reply(request_id, {"started": True})
    elif method == "crash":
        _err.write(params.get("message", "").encode())
        _err.flush()
        os._exit(params.get("code", 1))
    elif method == "never":
        pass
    elif method == "cancelled_log":
        reply(request_id, {"cancelled": cancelled})
    elif method == "notifications_log":
        reply(request_id, {"notifications": notifications})
    elif method == "client_responses":
        reply(request_id, {"responses": client_responses})
    elif method == "progress":
        token = params["_meta"]["progressToken"]
        in_thread(send_progress, request_id, token, params["count"], params["interval"])
    elif method == "ask":
        ask_client(request_id, params)
    elif method == "notify":
        for i in range(params["count"]):
            send({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": i}})
        reply(request_id, {"sent": params["count"]})
    elif method == "fail":
        error = {"code": -32602, "message": "bad params", "data": {"field": "x"}}
        send({"jsonrpc": "2.0", "id": request_id, "error": error})
    elif method == "tools/list":
        reply(request_id, tools_page(params.get("cursor"), args))
    elif method == "tools/call":
        reply(request_id, {"content": [{"type": "text", "text": json.dumps(params)}], "isError": False})
    else:
        error = {"code": -32601, "message": f"Method not found: {method}"}
        send({"jsonrpc": "2.0", "id": request_id, "error": error})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--protocol-version")
    parser.add_argument("--pages", type=int, default=1)
    parser.add_argument("--cursor-loop", action="store_true")
    parser.add_argument("--ignore-stdin-eof", action="store_true")
    parser.add_argument("--ignore-sigterm", action="store_true")
    args = parser.parse_args()
    if args.ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for line in sys.stdin.buffer:
        handle(json.loads(line), args)
    if args.ignore_stdin_eof:
        while True:
            time.sleep(60)


if __name__ == "__main__":
    main()
