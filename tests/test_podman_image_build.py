"""podman.image_build: the recipe, names, cache key, bin choice, the build argv and failure reporting.

The builds here run a fake `podman` (a script that keeps its "images" in a JSON file and logs each
call); tests/e2e/test_package_builds.py builds real packages with the real one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import pytest

from mcp_registry_server.catalog import Package
from mcp_registry_server.podman.image_build import (
    _NPM_SELECT,
    _PYPI_SELECT,
    LABEL_BUILD_ID,
    LABEL_BUILD_INPUTS,
    BuildRecipe,
    PackageBuilder,
    PackageBuildError,
    choose_executable,
    install_timeout,
    repository_name,
    write_context,
)
from mcp_registry_server.settings import RegistrySettings, build_ca_file

NPM = Package(registry="npm", name="@modelcontextprotocol/server-memory", version="2026.8.31")
PYPI = Package(registry="pypi", name="mcp-server-time", version="2026.10.19")
BASE_ID = "sha256:" + "ab" * 32


def recipe(package: Package = PYPI, base_id: str = BASE_ID) -> BuildRecipe:
    return BuildRecipe(package, "docker.io/library/python:3.12-slim", base_id)


# --- names and the cache key -------------------------------------------------------------------


def test_the_reference_names_the_package_version_and_inputs() -> None:
    built = recipe(NPM)
    assert built.reference == (
        f"localhost/mcp-registry-pkg/npm-modelcontextprotocol-server-memory:2026.8.31-{built.inputs_hash}"
    )
    assert len(built.inputs_hash) == 16
    odd = Package(registry="pypi", name="Odd__Name..x", version="1.0+local.2")
    assert repository_name(odd) == "pypi-odd-name-x"
    assert recipe(odd).reference.split(":")[1].startswith("1.0_local.2-")


def test_the_cache_key_changes_with_every_input_and_only_with_them() -> None:
    key = recipe().inputs_hash
    assert recipe().inputs_hash == key  # stable
    assert recipe(base_id="sha256:" + "cd" * 32).inputs_hash != key
    assert recipe(PYPI.model_copy(update={"version": "2026.10.20"})).inputs_hash != key
    assert recipe(PYPI.model_copy(update={"bin": "mcp-server-time"})).inputs_hash != key
    assert recipe(PYPI.model_copy(update={"registry": "npm"})).inputs_hash != key
    # The base image's name is not an input: its id is.
    assert BuildRecipe(PYPI, "localhost/other:latest", BASE_ID).inputs_hash == key


def test_the_containerfile_installs_from_a_mount_and_sets_no_proxy_or_ca() -> None:
    assert recipe().containerfile() == (
        "FROM docker.io/library/python:3.12-slim\n"
        "RUN --mount=type=bind,source=.,target=/run/mcp-registry-build "
        'sh /run/mcp-registry-build/install.sh "mcp-server-time" "2026.10.19" ""\n'
        'ENV PYTHONPATH="/opt/mcp-package/python"\n'
        'ENV PYTHONUNBUFFERED="1"\n'
        'ENV PYTHONDONTWRITEBYTECODE="1"\n'
        'ENTRYPOINT ["/opt/mcp-package/entrypoint"]\n'
        "CMD []\n"
    )
    assert "--mount=type=bind,source=ca.pem,target=/run/mcp-registry-ca.pem sh " in recipe().containerfile(with_ca=True)
    npm = recipe(NPM.model_copy(update={"bin": "mcp-server-memory"})).containerfile()
    assert '"@modelcontextprotocol/server-memory" "2026.8.31" "mcp-server-memory"' in npm
    for files in (recipe().context_files(), recipe(NPM).context_files()):
        assert "PROXY" not in files["Containerfile"].upper() and "CERT" not in files["Containerfile"]
        # The CA variables live only in the install step's shell.
        assert "export SSL_CERT_FILE=/run/mcp-registry-ca.pem NODE_EXTRA_CA_CERTS=" in files["install.sh"]
    assert "npm install --prefix /opt/mcp-package" in recipe(NPM).context_files()["install.sh"]
    assert '--target /opt/mcp-package/python "$1==$2"' in recipe().context_files()["install.sh"]


# --- which executable runs ---------------------------------------------------------------------


def test_choose_executable() -> None:
    assert choose_executable("@scope/tool", ["only"], None) == ("only", "")
    assert choose_executable("@scope/tool", ["other", "tool"], None) == ("tool", "")
    assert choose_executable("@scope/tool", ["other", "tool"], "other") == ("other", "")
    none, why = choose_executable("pkg", [], None)
    assert none is None and "has no executable" in why
    none, why = choose_executable("pkg", ["a", "b"], None)
    assert none is None and "several executables (a, b)" in why and "package.bin" in why
    none, why = choose_executable("pkg", ["a"], "b")
    assert none is None and "no executable named 'b'" in why and "it has: a" in why


def _npm_tree(root: Path, bins: Any) -> Path:
    package = root / "node_modules" / "@scope" / "tool"
    package.mkdir(parents=True)
    manifest: dict[str, Any] = {"name": "@scope/tool", "version": "1.0.0"}
    if bins is not None:
        manifest["bin"] = bins
    (package / "package.json").write_text(json.dumps(manifest))
    for target in [bins] if isinstance(bins, str) else (bins or {}).values():
        (package / target).parent.mkdir(parents=True, exist_ok=True)
        (package / target).write_text("#!/usr/bin/env node\n")
    return root


def _pypi_tree(root: Path, scripts: list[str]) -> Path:
    site = root / "python"
    info = site / "Mcp_Tool-1.0.dist-info"
    info.mkdir(parents=True)
    if scripts:
        lines = "".join(f"{name} = mcp_tool:main\n" for name in scripts)
        (info / "entry_points.txt").write_text(f"[console_scripts]\n{lines}")
    return root


def _select(tmp_path: Path, language: str, root: Path, name: str, wanted: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / ("select.js" if language == "node" else "select.py")
    script.write_text(_NPM_SELECT if language == "node" else _PYPI_SELECT)
    interpreter = "node" if language == "node" else sys.executable
    argv = [interpreter, str(script), str(root), name, wanted]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.parametrize(
    ("bins", "wanted", "chosen"),
    [
        ("dist/index.js", "", "tool"),
        ({"a": "a.js", "tool": "t.js"}, "", "tool"),
        ({"a": "a.js", "b": "b.js"}, "b", "b"),
    ],
)
def test_the_npm_selector_follows_the_rule(tmp_path: Path, bins: Any, wanted: str, chosen: str) -> None:
    root = _npm_tree(tmp_path / "prefix", bins)
    completed = _select(tmp_path, "node", root, "@scope/tool", wanted)
    assert completed.returncode == 0, completed.stderr
    assert f"runs {chosen} " in completed.stdout
    assert (root / "entrypoint").is_symlink()


@pytest.mark.parametrize(
    ("bins", "wanted", "says"),
    [
        (None, "", "@scope/tool has no executable (npm bin / console script)"),
        ({"a": "a.js", "b": "b.js"}, "", "several executables (a, b) and none is named 'tool'"),
        ({"a": "a.js"}, "zz", "no executable named 'zz' (package.bin); it has: a"),
    ],
)
def test_the_npm_selector_says_why_it_cannot_choose(tmp_path: Path, bins: Any, wanted: str, says: str) -> None:
    completed = _select(tmp_path, "node", _npm_tree(tmp_path / "prefix", bins), "@scope/tool", wanted)
    assert completed.returncode == 3
    assert completed.stderr.startswith("mcp-registry-build: ") and says in completed.stderr


def test_the_pypi_selector_follows_the_rule(tmp_path: Path) -> None:
    root = _pypi_tree(tmp_path / "one", ["mcp-tool"])
    completed = _select(tmp_path, "python", root, "mcp-tool", "")
    assert completed.returncode == 0, completed.stderr
    assert os.readlink(root / "entrypoint") == str(root / "python" / "bin" / "mcp-tool")
    several = _pypi_tree(tmp_path / "several", ["a", "mcp-tool"])
    assert "runs mcp-tool " in _select(tmp_path, "python", several, "mcp-tool", "").stdout
    assert "runs a " in _select(tmp_path, "python", _pypi_tree(tmp_path / "named", ["a", "b"]), "mcp-tool", "a").stdout
    none = _select(tmp_path, "python", _pypi_tree(tmp_path / "none", []), "mcp-tool", "")
    assert none.returncode == 3 and "mcp-tool has no executable" in none.stderr
    ambiguous = _select(tmp_path, "python", _pypi_tree(tmp_path / "two", ["a", "b"]), "mcp-tool", "")
    assert ambiguous.returncode == 3 and "several executables (a, b)" in ambiguous.stderr
    # A meta-package (fastmcp) has no console script of its own; the named one comes with a dependency.
    meta = _pypi_tree(tmp_path / "meta", [])
    (meta / "python" / "bin").mkdir()
    (meta / "python" / "bin" / "dep-tool").write_text("#!/bin/sh\n")
    assert "runs dep-tool " in _select(tmp_path, "python", meta, "mcp-tool", "dep-tool").stdout
    missing = _select(tmp_path, "python", meta, "mcp-tool", "other")
    assert missing.returncode == 3 and "no executable named 'other'" in missing.stderr


# --- the build, with a fake podman -------------------------------------------------------------

FAKE_PODMAN = r"""
import json, os, sys, time
state_file = os.environ["FAKE_PODMAN_STATE"]
state = json.load(open(state_file))
args = sys.argv[1:]
with open(state_file + ".log", "a") as log:
    log.write(json.dumps(args) + "\n")
if args[:2] == ["--remote", "--url"]:  # the same fake Podman, reached as a remote host's
    args = args[3:]
def save():
    json.dump(state, open(state_file, "w"))
if args[:2] == ["image", "inspect"]:
    image = state["images"].get(args[-1])
    if image is None:
        print("Error: " + args[-1] + ": image not known", file=sys.stderr); sys.exit(125)
    print(json.dumps([image]))
elif args[0] == "build":
    mode = state["build"]
    print("STEP 1/3: FROM base", flush=True)
    print("STEP 2/3: RUN sh /run/mcp-registry-build/install.sh", flush=True)
    if mode == "sleep":  # a build that hangs; its working container exists meanwhile
        state["containers"] = state.get("containers", []) + ["working1 docker.io/library/python:3.12-slim"]
        save()
        time.sleep(60)
    labels = dict(args[i + 1].split("=", 1) for i, a in enumerate(args) if a == "--label")
    tag = args[args.index("--tag") + 1]
    if mode.startswith("fail"):
        print("ERROR: No matching distribution found for the-package==9", flush=True)
        if mode == "fail-timeout":  # the install step's own bound ended it
            print("mcp-registry-build: timeout 570", flush=True)
        if mode == "fail-bin":
            print("mcp-registry-build: pkg has no executable (npm bin / console script), so it cannot run")
        if mode == "fail-committed":  # an image of the failed build got committed anyway
            state["images"]["sha256:dangling"] = {"Id": "sha256:dangling", "Labels": labels}
            save()
        sys.exit(1)
    time.sleep(0.3)  # long enough for a concurrent build to overlap
    state["images"][tag] = {"Id": "sha256:built" + str(len(state["images"])), "Labels": labels}
    state["builds"] = state.get("builds", 0) + 1
    save()
    print("STEP 3/3: ENTRYPOINT", flush=True)
elif args[0] == "images":
    wanted = args[args.index("--filter") + 1].removeprefix("label=")
    key, value = wanted.split("=", 1)
    for image in state["images"].values():
        if image["Labels"].get(key) == value:
            print(image["Id"])
elif args[0] == "ps":
    print("\n".join(state.get("containers", ["other1 docker.io/library/python:3.12-slim"])))
elif args[:3] == ["rm", "--force", "--storage"]:
    state["containers"] = [row for row in state.get("containers", []) if row.split()[0] not in args]
    save()
elif args[0] == "rmi":
    state["images"] = {k: v for k, v in state["images"].items() if v["Id"] not in args}
    save()
"""


class FakePodmanState:
    def __init__(self, directory: Path, build: str = "ok") -> None:
        self.file = directory / "state.json"
        self.file.write_text(json.dumps({"images": {}, "build": build}))
        self.executable = directory / "podman"
        self.executable.write_text(f"#!{sys.executable}\n{FAKE_PODMAN}")
        self.executable.chmod(0o755)

    def set_build(self, mode: str) -> None:
        """What the next `podman build` does: ok, fail, fail-committed, fail-bin, fail-timeout, sleep."""
        self.file.write_text(json.dumps({**self.state, "build": mode}))

    @property
    def state(self) -> dict[str, Any]:
        return json.loads(self.file.read_text())

    def calls(self) -> list[list[str]]:
        log = self.file.with_name("state.json.log")
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakePodmanState:
    fake = FakePodmanState(tmp_path)
    monkeypatch.setenv("FAKE_PODMAN_STATE", str(fake.file))
    return fake


def builder_settings(tmp_path: Path, fake: FakePodmanState, **changes: Any) -> RegistrySettings:
    settings = RegistrySettings(
        catalog_dirs=(),
        config_dir=tmp_path / "config",
        runtime_dir=tmp_path / "run",
        podman_executable=str(fake.executable),
        extra_labels={"io.mcp-registry.test": "unit"},
        build_ca_file=Path("/etc/ssl/certs/ca-certificates.crt"),
        build_proxy_env={"HTTPS_PROXY": "http://user:pw@proxy:3128", "no_proxy": "localhost"},
    )
    return replace(settings, **changes)


def test_the_build_argv_is_pinned_and_carries_no_proxy_value(tmp_path: Path, fake: FakePodmanState) -> None:
    builder = PackageBuilder(builder_settings(tmp_path, fake))
    built = recipe()
    argv = builder.build_argv(built, Path("/ctx"), "b1")
    assert argv[:9] == [
        str(fake.executable), "build", "--rm", "--force-rm", "--layers=false", "--pull=never", "--no-hosts",
        "--file", "/ctx/Containerfile",
    ]  # fmt: skip
    assert argv[argv.index("--tag") + 1] == built.reference
    assert "--volume" not in argv  # the context, CA copy included, travels with the build (to a remote host too)
    assert [argv[i + 1] for i, arg in enumerate(argv) if arg == "--build-arg"] == ["HTTPS_PROXY", "no_proxy"]
    labels = dict(argv[i + 1].split("=", 1) for i, arg in enumerate(argv) if arg == "--label")
    assert labels[LABEL_BUILD_INPUTS] == built.inputs_hash and labels[LABEL_BUILD_ID] == "b1"
    assert labels["io.mcp-registry.test"] == "unit" and "io.mcp-registry.managed" not in labels
    assert "pw@" not in " ".join(argv) and argv[-1] == "/ctx"
    # The values go in podman's environment, where `--build-arg NAME` reads them.
    env = builder._build_environment()
    assert env["HTTPS_PROXY"] == "http://user:pw@proxy:3128" and env["no_proxy"] == "localhost"


async def test_a_build_reports_its_steps_and_the_second_is_cached(tmp_path: Path, fake: FakePodmanState) -> None:
    builder = PackageBuilder(builder_settings(tmp_path, fake))
    lines: list[tuple[str, int | None, int | None]] = []

    async def on_line(line: str, step: int | None, steps: int | None) -> None:
        lines.append((line, step, steps))

    first = await builder.ensure(recipe(), on_line)
    assert not first.cached and first.reference == recipe().reference and first.image_id == "sha256:built0"
    assert ("STEP 2/3: RUN sh /run/mcp-registry-build/install.sh", 2, 3) in lines
    again = await builder.ensure(recipe(), on_line)
    assert again.cached and again.image_id == first.image_id
    assert [call[0] for call in fake.calls()].count("build") == 1


async def test_a_tag_without_our_inputs_label_is_built_again(tmp_path: Path, fake: FakePodmanState) -> None:
    state = fake.state
    state["images"][recipe().reference] = {"Id": "sha256:someone-elses", "Labels": {}}
    fake.file.write_text(json.dumps(state))
    built = await PackageBuilder(builder_settings(tmp_path, fake)).ensure(recipe())
    assert not built.cached and built.image_id != "sha256:someone-elses"


async def test_concurrent_adds_of_one_package_build_once(tmp_path: Path, fake: FakePodmanState) -> None:
    settings = builder_settings(tmp_path, fake)
    results = []

    async def one(builder: PackageBuilder) -> None:
        results.append(await builder.ensure(recipe()))

    async with anyio.create_task_group() as group:
        group.start_soon(one, PackageBuilder(settings))  # two builders: the lock file serialises them
        group.start_soon(one, PackageBuilder(settings))
        group.start_soon(one, PackageBuilder(settings))
    assert fake.state["builds"] == 1
    assert sorted(result.cached for result in results) == [False, True, True]
    assert len({result.image_id for result in results}) == 1


@pytest.mark.parametrize("mode", ["fail", "fail-committed"])
async def test_a_failed_build_names_package_step_and_log_and_leaves_no_image(
    tmp_path: Path, fake: FakePodmanState, mode: str
) -> None:
    fake.set_build(mode)
    with pytest.raises(PackageBuildError) as raised:
        await PackageBuilder(builder_settings(tmp_path, fake)).ensure(recipe())
    error = raised.value
    assert error.summary.startswith("Building the pypi package mcp-server-time 2026.10.19 failed at step 2/3")
    assert error.detail is not None and "No matching distribution found" in error.detail
    assert "version exists" in (error.remedy or "")
    assert fake.state["images"] == {}  # the committed image of the failed build is gone


async def test_a_package_without_a_usable_executable_says_so(tmp_path: Path, fake: FakePodmanState) -> None:
    fake.set_build("fail-bin")
    with pytest.raises(PackageBuildError) as raised:
        await PackageBuilder(builder_settings(tmp_path, fake)).ensure(recipe())
    assert "pkg has no executable (npm bin / console script)" in raised.value.summary
    assert "[package]" in (raised.value.remedy or "")


async def test_a_build_that_hangs_is_stopped_at_the_build_timeout(tmp_path: Path, fake: FakePodmanState) -> None:
    fake.set_build("sleep")
    builder = PackageBuilder(builder_settings(tmp_path, fake, build_timeout=1.0))
    with anyio.fail_after(20), pytest.raises(PackageBuildError) as raised:
        await builder.ensure(recipe())
    assert "did not finish within 1 s (at step 2/3" in raised.value.summary
    assert "MCP_REGISTRY_BUILD_TIMEOUT" in (raised.value.remedy or "")
    # The killed build's working container (new since the build started, from its base) is removed.
    assert ["rm", "--force", "--storage", "working1"] in fake.calls()
    assert fake.state["containers"] == []


async def test_the_install_steps_own_bound_reads_as_a_timeout(tmp_path: Path, fake: FakePodmanState) -> None:
    fake.set_build("fail-timeout")
    with pytest.raises(PackageBuildError) as raised:
        await PackageBuilder(builder_settings(tmp_path, fake)).ensure(recipe())
    assert raised.value.summary.startswith("Building the pypi package mcp-server-time 2026.10.19 did not finish within")
    assert not any(call[:2] == ["rm", "--force"] for call in fake.calls())  # podman cleaned up itself


def test_the_install_step_is_bounded_inside_the_build() -> None:
    assert install_timeout(600) == 570 and install_timeout(40) == 30 and install_timeout(1) == 1
    script = recipe().context_files()["install.sh"]
    assert 'timeout -k 5 "$limit" sh "$0" "$@"' in script and "cat /run/mcp-registry-build/timeout" in script


# --- settings ----------------------------------------------------------------------------------


def test_the_ca_bundle_is_ssl_cert_file_else_the_distributions(tmp_path: Path) -> None:
    bundle = tmp_path / "corporate.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert build_ca_file({"SSL_CERT_FILE": str(bundle)}) == bundle.resolve()
    with pytest.raises(ValueError, match=r"SSL_CERT_FILE=.* is not a file"):
        build_ca_file({"SSL_CERT_FILE": str(tmp_path / "missing.pem")})
    distro = tmp_path / "ca-certificates.crt"
    distro.write_text("x")
    assert build_ca_file({}, (str(tmp_path / "nope"), str(distro))) == distro.resolve()
    assert build_ca_file({}, (str(tmp_path / "nope"),)) is None
    odd = tmp_path / "a:b.pem"
    odd.write_text("x")
    with pytest.raises(ValueError, match="has ':' or ','"):
        build_ca_file({"SSL_CERT_FILE": str(odd)})


def test_build_settings_come_from_the_environment() -> None:
    settings = RegistrySettings.from_environ(
        {"MCP_REGISTRY_NODE_IMAGE": "localhost/node", "MCP_REGISTRY_BUILD_TIMEOUT": "90", "https_proxy": "http://p:1"}
    )
    assert settings.node_image == "localhost/node"
    assert settings.python_image == "docker.io/library/python:3.12-slim"
    assert settings.build_timeout == 90.0
    assert settings.build_proxy_env == {"https_proxy": "http://p:1"}
    defaults = RegistrySettings.from_environ({})
    assert (defaults.node_image, defaults.build_timeout) == ("docker.io/library/node:22-slim", 600.0)
    with pytest.raises(ValueError, match="MCP_REGISTRY_BUILD_TIMEOUT"):
        RegistrySettings.from_environ({"MCP_REGISTRY_BUILD_TIMEOUT": "soon"})


def test_the_context_carries_a_copy_of_the_ca_bundle_for_the_install_step(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    for name in ("with", "without", "bad"):
        (tmp_path / name).mkdir()
    context = write_context(recipe(), tmp_path / "with", 60, ca)
    assert (context / "ca.pem").read_text() == ca.read_text()
    assert "source=ca.pem,target=/run/mcp-registry-ca.pem" in (context / "Containerfile").read_text()
    without = write_context(recipe(), tmp_path / "without", 60)
    assert not (without / "ca.pem").exists() and "ca.pem" not in (without / "Containerfile").read_text()
    with pytest.raises(PackageBuildError, match=r"Could not read the CA bundle .*missing\.crt"):
        write_context(recipe(), tmp_path / "bad", 60, tmp_path / "missing.crt")


async def test_a_builder_with_a_remote_prefix_runs_every_podman_command_through_it(
    tmp_path: Path, fake: FakePodmanState
) -> None:
    prefix = [str(fake.executable), "--remote", "--url", "unix:///run/tunnel.sock"]
    builder = PackageBuilder(builder_settings(tmp_path, fake), prefix)
    assert builder.build_argv(recipe(), Path("/ctx"), "b1")[:5] == [*prefix, "build"]
    built = await builder.ensure(recipe())
    assert not built.cached and fake.calls()
    assert all(call[:3] == ["--remote", "--url", "unix:///run/tunnel.sock"] for call in fake.calls())
