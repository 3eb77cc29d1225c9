"""The README and QUICKSTART promises that tests can hold: fresh-machine commands, checked steps."""

from __future__ import annotations

import importlib.util
import json
import re
import tomllib
from pathlib import Path

from mcp_registry_server.cli.parser import build_parser
from mcp_registry_server.editors.targets import EDITORS, ServerLaunch

REPO_ROOT = Path(__file__).resolve().parent.parent


def _quickstart_check():  # scripts/ is not a package
    spec = importlib.util.spec_from_file_location("quickstart_check", REPO_ROOT / "scripts" / "quickstart_check.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_keeps_the_fresh_machine_commands() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert "bash scripts/dev.sh workflow   # the main job" in readme
    assert "bash scripts/dev.sh test       # lint and the whole test suite" in readme


def test_quickstart_checks_the_five_minute_path() -> None:
    blocks = _quickstart_check().checked_blocks((REPO_ROOT / "QUICKSTART.md").read_text(encoding="utf-8"))
    script = "\n".join(blocks)
    for step in (
        "mcp-registry doctor",
        "mcp-registry install zed",
        "mcp-registry try sqlite",
        "mcp-registry uninstall zed",
    ):
        assert step in script, step


def test_every_command_in_the_docs_exists() -> None:
    parser = build_parser()
    commands = next(action for action in parser._actions if action.__class__.__name__ == "_SubParsersAction")
    known = set(commands.choices)
    for name in ("README.md", "QUICKSTART.md"):
        text = (REPO_ROOT / name).read_text(encoding="utf-8")
        # Commands as typed: at the start of a line, after `$ `, or right after a backtick.
        used = set(re.findall(r"(?:^|`|\$ )mcp-registry ([a-z][a-z-]*)", text, flags=re.MULTILINE))
        assert used, name
        assert used <= known, f"{name} mentions unknown commands: {sorted(used - known)}"


def test_checked_blocks_need_a_bash_fence() -> None:
    module = _quickstart_check()
    assert module.checked_blocks("<!-- check -->\n```bash\necho hi\n```\n<!-- x -->\n```bash\nno\n```\n") == ["echo hi"]
    try:
        module.checked_blocks("<!-- check -->\ntext\n")
    except ValueError as error:
        assert "must be followed by a ```bash block" in str(error)
    else:
        raise AssertionError("a marker without a block was accepted")


def test_readme_shows_the_entries_install_writes_for_gemini_codex_and_opencode() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("Gemini CLI (`settings.json`") : readme.index("## Commands")]
    gemini, opencode = (json.loads(block) for block in re.findall(r"```json\n(.*?)```", section, flags=re.DOTALL))
    codex = tomllib.loads(re.findall(r"```toml\n(.*?)```", section, flags=re.DOTALL)[0])
    launch = ServerLaunch("/home/you/.local/bin/mcp-registry")
    assert gemini["mcpServers"]["mcp-registry"] == EDITORS["gemini"].entry(launch)
    assert opencode["mcp"]["mcp-registry"] == EDITORS["opencode"].entry(launch)
    with_env = ServerLaunch(launch.command, env={"CONTAINERS_CONF": "/path/to/containers.conf"})
    assert codex["mcp_servers"]["mcp-registry"] == EDITORS["codex"].entry(with_env)
