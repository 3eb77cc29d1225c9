"""A fake MCP server for registry and server unit tests: stdlib only, answers from a script.

Usage: `scripted_child.py SCRIPT.json`. The script is a JSON object:
- "tools": the list `tools/list` returns (default: one tool `echo`);
- "calls": tool name → {"progress": [params…], "reply": "<one raw line>", "delay": seconds,
  "ask": [{"method": …, "params": …}…], "notify": [{"method": …, "params": …}…], "exit": code,
  "setTools": [tool…]}. With "setTools", `tools/list` returns that list from then on (set before
  the notifications are sent).
  The reply is written as given, with every `"ID"`
  (quotes included) replaced by the request's id, so a test can make the child answer with
  anything, invalid JSON-RPC included. With "ask", the child first sends each request to the
  client and waits for its response, and the default reply then carries those responses.
  With "notify", the child sends those notifications first (before any "ask"). With "exit",
  the child exits with that code (after "delay") instead of replying, writing "stderr" (text) first.
  A tool not in "calls" answers `{"content": [{"type": "text", "text": <arguments as JSON>}]}`;
- "protocolVersion": the version to answer `initialize` with (default: the client's);
- "capabilities": more server capabilities for the `initialize` result (merged over `tools`);
  with "logging" among them, `logging/setLevel` is answered with `{}` (unless "refuseSetLevel" is
  true: then -32601, as a server may answer);
- "startDelay": seconds to sleep before reading anything (a slow server);
- "prompts": the list `prompts/list` returns; `prompts/get` answers one user message naming the prompt;
- "tasks": true: the child runs 2025-11-25 tasks itself (it declares `tasks.requests.tools.call`):
  a `tools/call` with `task` metadata is answered at once with task `task-<n>` (numbered from 1,
  so two such children hand out the same ids), which runs the call as above; `tasks/get`,
  `tasks/result` (waits) and `tasks/cancel` answer for it.
Other requests get -32601. Every message received is
appended as a JSON line to the file named by the environment variable SCRIPTED_CHILD_LOG, if set.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any

_out = sys.stdout.buffer
_lock = threading.Lock()
_answers: dict[Any, Any] = {}
_answer_arrived = threading.Condition()


def write(data: bytes) -> None:
    with _lock:
        _out.write(data if data.endswith(b"\n") else data + b"\n")
        _out.flush()


def send(message: dict[str, Any]) -> None:
    write(json.dumps(message).encode())


def log(message: Any) -> None:
    path = os.environ.get("SCRIPTED_CHILD_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as file:
            file.write(json.dumps(message) + "\n")


def ask(number: int, method: str, params: Any) -> Any:
    request_id = f"child-{number}"
    send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
    with _answer_arrived:
        while request_id not in _answers:
            _answer_arrived.wait()
        return _answers.pop(request_id)


def call(request_id: Any, params: dict[str, Any], script: dict[str, Any]) -> None:
    name = params.get("name")
    plan = script.get("calls", {}).get(name)
    if plan is None:
        text = json.dumps(params.get("arguments") or {}, sort_keys=True)
        send({"jsonrpc": "2.0", "id": request_id, "result": {"content": [{"type": "text", "text": text}]}})
        return
    if "setTools" in plan:
        script["tools"] = plan["setTools"]
    token = (params.get("_meta") or {}).get("progressToken")
    for progress in plan.get("progress", []):
        if token is not None:
            send({"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": token, **progress}})
    for note in plan.get("notify", []):
        send({"jsonrpc": "2.0", **note})
    answers = [ask(n, item["method"], item.get("params")) for n, item in enumerate(plan.get("ask", []), 1)]
    time.sleep(plan.get("delay", 0))
    if "exit" in plan:
        sys.stderr.write(plan.get("stderr", ""))
        sys.stderr.flush()
        os._exit(plan["exit"])
    if "reply" in plan:
        write(plan["reply"].replace('"ID"', json.dumps(request_id)).encode())
    else:
        text = json.dumps(answers, sort_keys=True)
        send({"jsonrpc": "2.0", "id": request_id, "result": {"content": [{"type": "text", "text": text}]}})


_tasks: dict[str, dict[str, Any]] = {}
_task_done = threading.Condition()


def _task_state(task_id: str) -> dict[str, Any]:
    task = _tasks[task_id]
    return {
        "taskId": task_id,
        "status": task["status"],
        "createdAt": "2026-01-01T00:00:00Z",
        "lastUpdatedAt": "2026-01-01T00:00:00Z",
        "ttl": 60000,
        "pollInterval": 100,
    }


def start_task(request_id: Any, params: dict[str, Any], script: dict[str, Any]) -> None:
    task_id = f"task-{len(_tasks) + 1}"
    _tasks[task_id] = {"status": "working", "reply": None}

    def run() -> None:
        time.sleep(script.get("calls", {}).get(params.get("name"), {}).get("delay", 0))
        text = json.dumps(params.get("arguments") or {}, sort_keys=True)
        with _task_done:
            if _tasks[task_id]["status"] == "working":
                _tasks[task_id].update(status="completed", reply={"content": [{"type": "text", "text": text}]})
            _task_done.notify_all()

    send({"jsonrpc": "2.0", "id": request_id, "result": {"task": _task_state(task_id)}})
    threading.Thread(target=run, daemon=True).start()


def answer_task(request_id: Any, method: str, task_id: str) -> None:
    if task_id not in _tasks:
        send({"jsonrpc": "2.0", "id": request_id, "error": {"code": -32602, "message": "no such task"}})
    elif method == "tasks/get":
        send({"jsonrpc": "2.0", "id": request_id, "result": _task_state(task_id)})
    elif method == "tasks/cancel":
        with _task_done:
            _tasks[task_id]["status"] = "cancelled"
            _task_done.notify_all()
        send({"jsonrpc": "2.0", "id": request_id, "result": _task_state(task_id)})
    else:  # tasks/result: wait for the end, in a thread so the child keeps reading

        def result() -> None:
            with _task_done:
                while _tasks[task_id]["status"] == "working":
                    _task_done.wait()
            reply = _tasks[task_id]["reply"] or {"content": [], "isError": True}
            meta = {"io.modelcontextprotocol/related-task": {"taskId": task_id}}
            send({"jsonrpc": "2.0", "id": request_id, "result": {**reply, "_meta": meta}})

        threading.Thread(target=result, daemon=True).start()


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as file:
        script = json.load(file)
    time.sleep(script.get("startDelay", 0))
    for raw in sys.stdin.buffer:
        message = json.loads(raw)
        log(message)
        method, request_id = message.get("method"), message.get("id")
        if method is None:
            with _answer_arrived:
                _answers[request_id] = message.get("result", message.get("error"))
                _answer_arrived.notify_all()
        elif request_id is None:
            continue
        elif method == "initialize":
            version = script.get("protocolVersion") or message["params"]["protocolVersion"]
            capabilities: dict[str, Any] = {"tools": {"listChanged": True}}
            if "prompts" in script:
                capabilities["prompts"] = {}
            if script.get("tasks"):
                capabilities["tasks"] = {"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}}
            capabilities.update(script.get("capabilities", {}))
            result = {"protocolVersion": version, "capabilities": capabilities, "serverInfo": {"name": "scripted"}}
            send({"jsonrpc": "2.0", "id": request_id, "result": result})
        elif method == "tools/list":
            tools = script.get("tools", [{"name": "echo", "inputSchema": {"type": "object"}}])
            send({"jsonrpc": "2.0", "id": request_id, "result": {"tools": tools}})
        elif method == "prompts/list":
            send({"jsonrpc": "2.0", "id": request_id, "result": {"prompts": script.get("prompts", [])}})
        elif method == "prompts/get":
            name = message["params"]["name"]
            text = {"type": "text", "text": f"prompt {name}"}
            result = {"messages": [{"role": "user", "content": text}]}
            send({"jsonrpc": "2.0", "id": request_id, "result": result})
        elif (
            method == "logging/setLevel"
            and "logging" in script.get("capabilities", {})
            and not script.get("refuseSetLevel")
        ):
            send({"jsonrpc": "2.0", "id": request_id, "result": {}})
        elif method == "tools/call" and script.get("tasks") and message["params"].get("task"):
            start_task(request_id, message["params"], script)
        elif method in {"tasks/get", "tasks/result", "tasks/cancel"} and script.get("tasks"):
            answer_task(request_id, method, message["params"]["taskId"])
        elif method == "tools/call":
            threading.Thread(target=call, args=(request_id, message["params"], script), daemon=True).start()
        else:
            send({"jsonrpc": "2.0", "id": request_id, "error": {"code": -32601, "message": f"no {method}"}})


if __name__ == "__main__":
    main()
