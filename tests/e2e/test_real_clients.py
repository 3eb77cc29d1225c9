"""The real client programs, from npm, connect to the registry that `mcp-registry install` wired into them.

Each test is a new user: a fresh HOME, `mcp-registry install <client>` run with the test catalog
and MCP_REGISTRY_AUTOSTART=everything set (install carries them into the entry), then the
client's own commands show that it starts the registry, connects, and sees the registry's tools
(`registry_search`, `registry_add`, …) next to the autostarted `everything` server's. No model is
ever asked: where only a session shows the live tools, the session's model API points at a local
server that refuses every request (`refusing_model_api`), and keys are fake. Nothing reaches the
network: see `npm_clients.QUIET_ENV` and the settings each test writes.

- Claude Code: `claude mcp list` and `claude mcp get` (health checks: Connected); `claude -p`'s
  first stream-json event (init) lists the MCP tools, with MCP_CONNECTION_NONBLOCKING=false so
  it waits for the connection.
- Gemini CLI, in a folder marked trusted in ~/.gemini/trustedFolders.json: `gemini mcp list`
  (Connected), `/mcp list` in its TUI (Ready, with the tools), and a `gemini -p` session, none
  of which may register a tool twice ("Tool with name … is already registered. Overwriting.",
  what Gemini CLI logs when the registry announces a tools/list_changed it does not need).
- Codex CLI, logged in with a fake API key (stored locally, checked only on a request):
  `codex mcp list` and `codex mcp get` (read the config), then `/mcp verbose` in its TUI
  (connected, and the tools it listed).
- opencode: `opencode mcp list` (connected).
The MCP Inspector CLI, the fifth client, is in test_inspector_cli.py.
"""

from __future__ import annotations

import http.server
import json
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.npm_clients import NpmClient, client_env, install_npm_clients
from tests.e2e.support import REGISTRY_EXECUTABLE, TEST_RUN_LABEL, labelled_containers
from tests.e2e.terminal import Terminal

CLAUDE_CODE = NpmClient("@anthropic-ai/claude-code", "2.1.332", "claude", install_script=True)
GEMINI_CLI = NpmClient("@google/gemini-cli", "0.61.0", "gemini")
CODEX_CLI = NpmClient("@openai/codex", "0.171.0", "codex")
OPENCODE = NpmClient("opencode-ai", "1.18.33", "opencode", install_script=True)

REGISTRY_TOOLS = ("registry_search", "registry_add", "registry_list", "registry_status")
EVERYTHING_TOOLS = ("everything_echo", "everything_get-sum")
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
OVERWRITING = re.compile(r"Tool with name .* is already registered\. Overwriting\.")


@pytest.fixture(scope="module")
def clients() -> dict[NpmClient, list[str]]:
    return install_npm_clients(CLAUDE_CODE, GEMINI_CLI, CODEX_CLI, OPENCODE)


class _Refuse(http.server.BaseHTTPRequestHandler):
    """Every model API request gets a 400 (not retried): a session starts, and no model answers."""

    def _refuse(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.dumps({"error": {"code": 400, "type": "invalid_request_error", "status": "INVALID_ARGUMENT",
                                     "message": "no model in the mcp-registry tests"}}).encode()  # fmt: skip
        self.send_response(400)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _refuse

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def refusing_model_api() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """The folder a client is started in (a project of the fresh user's)."""
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


def processes_of(home: Path) -> list[str]:
    """The command lines of the processes that run with HOME=`home` (a client and what it started)."""
    marker = f"HOME={home}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:  # not a process, or it has just exited
            continue
    return found


@pytest.fixture
def user_env(registry_env: dict[str, str], tmp_path: Path, refusing_model_api: str) -> Iterator[dict[str, str]]:
    """A fresh user's environment, with what `install` is to carry into the entry.

    Its proxy is the refusing server too: what a client still fetches on its own (Codex's
    announcement tip, opencode's npm version check) fails here instead of reaching the network.

    After the test, the client's registries must have exited and removed their containers; they
    get the time the registry takes to stop after its client closed the pipe.
    """
    home = tmp_path / "home"
    # Not under tmp_path: a socket path there would be longer than AF_UNIX allows.
    with tempfile.TemporaryDirectory(prefix="mcp-rc-") as temp:
        env = client_env({**registry_env, "MCP_REGISTRY_AUTOSTART": "everything"}, home, Path(temp))
        proxy = {name: refusing_model_api for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy")}
        yield {**env, **proxy, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
               "NODE_USE_ENV_PROXY": "1"}  # fmt: skip
    deadline = time.monotonic() + 30
    while (processes_of(home) or labelled_containers(TEST_RUN_LABEL)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert processes_of(home) == []
    assert labelled_containers(TEST_RUN_LABEL) == []


def run(argv: list[str], env: dict[str, str], cwd: Path, *, stdin: str = "", timeout: float = 120) -> str:
    """Run a command; assert it succeeded; return its stdout and stderr, without colours."""
    completed = subprocess.run(
        argv, input=stdin, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout, check=False
    )
    output = ANSI.sub("", completed.stdout + completed.stderr)
    assert completed.returncode == 0, f"{argv[-3:]} exited {completed.returncode}:\n{output[-6000:]}"
    return output


def ask_until_started(
    tui: Terminal, command: str, answer: str, retry: tuple[str, ...], within: float = 90
) -> re.Match[str]:
    """Type `command` in a client's TUI, again while its `answer`'s state is one of `retry`.

    The answer is a snapshot, and a user who sees the registry still starting looks again (as one
    whose command a TUI still loading took for a prompt types it again).
    """
    deadline = time.monotonic() + within
    while True:
        shown = tui.count(answer)
        tui.type_lines(command, "")  # the second Enter runs it if the first one took a completion
        found = tui.expect(answer, within=30, skip=shown)
        if found["state"] not in retry or time.monotonic() > deadline:
            return found
        time.sleep(2)


def install(client: str, env: dict[str, str], cwd: Path) -> str:
    """`mcp-registry install <client>`; return the config file it wrote."""
    completed = subprocess.run(
        [str(REGISTRY_EXECUTABLE), "install", client, "--json"], capture_output=True, text=True, env=env, cwd=cwd,
        timeout=60, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    result = json.loads(completed.stdout)
    assert result["action"] == "add", result
    return str(result["path"])


def test_claude_code_connects_and_lists_the_tools(
    clients: dict[NpmClient, list[str]], user_env: dict[str, str], workspace: Path, refusing_model_api: str
) -> None:
    claude = clients[CLAUDE_CODE]
    install("claude-code", user_env, workspace)

    listed = run([*claude, "mcp", "list"], user_env, workspace)
    assert re.search(rf"mcp-registry: {re.escape(str(REGISTRY_EXECUTABLE))} serve - ✔ Connected", listed), listed
    got = run([*claude, "mcp", "get", "mcp-registry"], user_env, workspace)
    assert "Status: ✔ Connected" in got and "MCP_REGISTRY_AUTOSTART=everything" in got, got

    session_env = {**user_env, "ANTHROPIC_API_KEY": "sk-ant-fake-key-for-tests", "ANTHROPIC_BASE_URL": refusing_model_api,
                   "MCP_CONNECTION_NONBLOCKING": "false", "CLAUDE_CODE_MAX_RETRIES": "0"}  # fmt: skip
    session = subprocess.run(
        [*claude, "-p", "hello", "--output-format", "stream-json", "--verbose", "--max-turns", "1"],
        capture_output=True, text=True, env=session_env, cwd=workspace, timeout=120, check=False,
    )  # fmt: skip
    events = [json.loads(line) for line in session.stdout.splitlines() if line.startswith("{")]
    init = next((event for event in events if event.get("subtype") == "init"), None)
    assert init is not None, f"no init event:\n{session.stdout[-3000:]}\n{session.stderr[-3000:]}"
    assert {"name": "mcp-registry", "status": "connected", "source": "user"} in init["mcp_servers"], init["mcp_servers"]
    tools = {tool.removeprefix("mcp__mcp-registry__") for tool in init["tools"] if tool.startswith("mcp__")}
    assert set(REGISTRY_TOOLS + EVERYTHING_TOOLS) <= tools, sorted(tools)


def test_gemini_cli_connects_and_lists_the_tools_once(
    clients: dict[NpmClient, list[str]], user_env: dict[str, str], workspace: Path, refusing_model_api: str
) -> None:
    gemini = clients[GEMINI_CLI]
    settings = Path(user_env["HOME"]) / ".gemini" / "settings.json"
    settings.parent.mkdir()
    # A user's settings before `install` (it must keep them): API-key auth, no telemetry, no updates.
    settings.write_text(json.dumps({
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "privacy": {"usageStatisticsEnabled": False},
        "telemetry": {"enabled": False},
        "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
    }, indent=2))  # fmt: skip
    # MCP servers only start in a trusted folder; this is what answering the trust dialog writes.
    (settings.parent / "trustedFolders.json").write_text(json.dumps({str(workspace): "TRUST_FOLDER"}))
    assert install("gemini", user_env, workspace) == str(settings)
    assert json.loads(settings.read_text())["telemetry"] == {"enabled": False}

    listed = run([*gemini, "mcp", "list"], user_env, workspace)
    assert re.search(rf"✓ mcp-registry: {re.escape(str(REGISTRY_EXECUTABLE))} serve \(stdio\) - Connected", listed), (
        listed
    )
    assert not OVERWRITING.search(listed), listed

    session_env = {
        **user_env,
        "GEMINI_API_KEY": "fake-gemini-key-for-tests",
        "GOOGLE_GEMINI_BASE_URL": refusing_model_api,
    }
    with Terminal.start(gemini, session_env, workspace) as tui:
        tui.expect("Type your message", within=60)
        # Typed before its commands are loaded, /mcp list is sent to the (refusing) model instead.
        answer = r"(?:mcp-registry - |✕ \[)(?P<state>Ready|Starting|API Error)"
        state = ask_until_started(tui, "/mcp list", answer, ("Starting", "API Error"))
        assert state["state"] == "Ready", tui.text[-6000:]
        tui.expect(r"mcp-registry - Ready \(\d+ tools", within=10)
        for tool in REGISTRY_TOOLS + EVERYTHING_TOOLS:
            tui.expect(rf"mcp_mcp-registry_{re.escape(tool)}\b", within=10)
        tui.type_lines("/quit")
    assert not OVERWRITING.search(tui.text), tui.text[-6000:]

    # A headless session logs its tool registry's warnings on stderr, before the (refused) model call.
    session = subprocess.run(
        [*gemini, "-p", "hello"], capture_output=True, text=True, env=session_env, cwd=workspace, timeout=120,
        check=False,
    )  # fmt: skip
    assert "no model in the mcp-registry tests" in session.stdout + session.stderr, session.stderr[-3000:]
    assert not OVERWRITING.search(session.stderr), session.stderr[-6000:]


def test_codex_connects_and_lists_the_tools_in_its_tui(
    clients: dict[NpmClient, list[str]], user_env: dict[str, str], workspace: Path, refusing_model_api: str
) -> None:
    codex = clients[CODEX_CLI]
    config = Path(user_env["HOME"]) / ".codex" / "config.toml"
    config.parent.mkdir()
    # A user's config before `install` (it must keep it): this folder trusted (no trust prompt); the
    # OpenAI and ChatGPT APIs local; no update check, tips, analytics, feedback, apps or plugins
    # (each would reach openai.com, chatgpt.com or GitHub); the TUI's own engine, not a daemon.
    config.write_text(
        f'openai_base_url = "{refusing_model_api}/v1"\n'
        f'chatgpt_base_url = "{refusing_model_api}/backend-api/"\n'
        "check_for_update_on_startup = false\n\n"
        f'[projects."{workspace}"]\ntrust_level = "trusted"\n\n'
        "[tui]\nshow_tooltips = false\n\n"
        "[features]\ndaemon_auto_start = false\napps = false\nplugins = false\nremote_plugin = false\n\n"
        "[analytics]\nenabled = false\n\n"
        "[feedback]\nenabled = false\n"
    )
    assert install("codex", user_env, workspace) == str(config)
    run([*codex, "login", "--with-api-key"], user_env, workspace, stdin="sk-fake-openai-key-for-tests\n")

    listed = run([*codex, "mcp", "list"], user_env, workspace)
    assert re.search(rf"mcp-registry\s+{re.escape(str(REGISTRY_EXECUTABLE))}\s+serve\s.*\benabled\b", listed), listed
    got = run([*codex, "mcp", "get", "mcp-registry"], user_env, workspace)
    assert "enabled: true" in got and f"command: {REGISTRY_EXECUTABLE}" in got, got

    with Terminal.start(codex, user_env, workspace) as tui:
        tui.expect("Ask Codex to do anything", within=60)
        server = r"(?s)mcp-registry\s*:\s*(?P<state>\w+)\s*\(\d+\s*tools\).*?Tools:(?P<tools>.*?)Resources:"
        listing = ask_until_started(tui, "/mcp verbose", server, ("starting",))
        assert listing["state"] == "connected", listing.group(0)
        # Comma-separated, in lines wrapped at the screen's edge (inside a name too, after a hyphen).
        tools = {name.strip() for name in re.sub(r"\n\s*", "", listing["tools"]).split(",")}
        assert set(REGISTRY_TOOLS + EVERYTHING_TOOLS) <= tools, listing.group(0)
        tui.type_lines("/quit")


def test_opencode_connects(clients: dict[NpmClient, list[str]], user_env: dict[str, str], workspace: Path) -> None:
    opencode = clients[OPENCODE]
    config = Path(user_env["XDG_CONFIG_HOME"]) / "opencode" / "opencode.json"
    config.parent.mkdir(parents=True)
    # A user's config before `install` (it must keep it): no self-update, no sharing.
    config.write_text(json.dumps({"$schema": "https://opencode.ai/config.json", "autoupdate": False,
                                  "share": "disabled"}, indent=2))  # fmt: skip
    assert install("opencode", user_env, workspace) == str(config)
    assert json.loads(config.read_text())["autoupdate"] is False

    listed = run([*opencode, "mcp", "list"], user_env, workspace)
    assert re.search(r"✓ mcp-registry\s+connected", listed), listed
    assert f"{REGISTRY_EXECUTABLE} serve" in listed, listed
