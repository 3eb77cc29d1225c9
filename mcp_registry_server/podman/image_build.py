"""Build a catalog entry's npm or PyPI package into a local image with `podman build`.

Contract:
- `BuildRecipe(package, base_image, base_image_id)` is the whole input of a build, and pure: its
  `inputs_hash` covers the base image id, the registry, package name, exact version, `bin` and
  `RECIPE_VERSION` (with the generated files), its `reference` is
  `localhost/mcp-registry-pkg/<name>:<version>-<hash>` (an npm scope becomes `<scope>-<name>`), and
  `containerfile()` / `context_files()` are what `podman build` reads.
- The image holds the package at exactly that version under /opt/mcp-package, and its entrypoint
  is the package's executable: the one it has, or `package.bin`, or the one named like the
  (unscoped) package. A package with none of these fails the build, saying which executables it
  has. The install runs in one RUN step that reads its script from a bind mount of the build
  context (`RUN --mount`), so the image holds no build files; the context travels with the build,
  so a remote Podman (`podman --remote`, the builder's `podman` prefix) builds it the same way.
- Proxy and CA: the host's `HTTP(S)_PROXY` / `NO_PROXY` (both spellings) reach the RUN step as
  build arguments named on the argv without a value (podman reads the values from its own
  environment, so a proxy password is on no command line), and the host's CA bundle is copied into
  the context and bind-mounted for the RUN step only, where the install script points SSL_CERT_FILE,
  NODE_EXTRA_CA_CERTS and PIP_CERT at it. None of them is in the image's config or history.
- `PackageBuilder.ensure(recipe, on_line)` returns a `BuiltImage`: the local image whose inputs
  label matches, at once (`cached=True`, no build), or a fresh build. Builds of the same reference
  are serialised, within the process and across processes (a lock file in the runtime dir), so
  concurrent adds build once. Every build line goes to `on_line`. The build is bounded by
  `settings.build_timeout`.
- A failed build raises `PackageBuildError` (a `PodmanError`) naming the package, the step and
  the tail of the build log, and leaves nothing behind: `--rm --force-rm`, no layer cache
  (`--layers=false`: no intermediate images), and an image of the failed build that got committed
  anyway is removed by its build label. The install step is bounded inside the build too
  (coreutils `timeout`, a little under the build timeout), because a killed `podman build` leaves
  its working container: that one, should the outer bound still have to kill it, is removed as
  the container from the same base image that appeared during the build.
- Labels on the image: `io.mcp-registry.build.inputs` (the hash), `io.mcp-registry.package`,
  `io.mcp-registry.build.owner` (the building process, as `ownership` writes owners) and the
  settings' extra labels. Not `managed`/`owner`: a container inherits its image's labels, and a
  container someone starts by hand from this image must not look like an orphan of ours.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import anyio

from mcp_registry_server.catalog.entry import Package
from mcp_registry_server.podman.cli_command import run_podman
from mcp_registry_server.podman.errors import PodmanError
from mcp_registry_server.podman.ownership import own_owner_label
from mcp_registry_server.settings import BUILD_PROXY_NAMES, RegistrySettings

__all__ = [
    "LABEL_BUILD_ID",
    "LABEL_BUILD_INPUTS",
    "LABEL_BUILD_OWNER",
    "LABEL_PACKAGE",
    "PKG_IMAGE_PREFIX",
    "RECIPE_VERSION",
    "BuildRecipe",
    "BuiltImage",
    "PackageBuildError",
    "PackageBuilder",
    "choose_executable",
]

logger = logging.getLogger(__name__)

PKG_IMAGE_PREFIX = "localhost/mcp-registry-pkg"
# Bump when the generated files change in a way the hash of their text would not show.
RECIPE_VERSION = 1
LABEL_BUILD_INPUTS = "io.mcp-registry.build.inputs"
LABEL_BUILD_OWNER = "io.mcp-registry.build.owner"
LABEL_BUILD_ID = "io.mcp-registry.build.id"
LABEL_PACKAGE = "io.mcp-registry.package"
# Where the RUN step sees the build context and the host's CA bundle (read-only mounts).
_CONTEXT_MOUNT = "/run/mcp-registry-build"
_CA_MOUNT = "/run/mcp-registry-ca.pem"
_CA_FILE = "ca.pem"  # the CA bundle's copy in the build context
# What the install script prints before a message meant for the user (and exits 3).
_FAILURE_MARK = "mcp-registry-build:"
_LOG_TAIL_LINES = 30
_STEP_LINE = re.compile(r"^STEP (\d+)/(\d+): (.*)$")
# After the timeout: podman build gets this long to clean up after SIGTERM before SIGKILL.
_TERMINATE_GRACE = 10.0

LineCallback = Callable[[str, int | None, int | None], Awaitable[None]]
"""Called with each build log line, and the step number and step count once they are known."""


def choose_executable(package_name: str, executables: list[str], wanted: str | None) -> tuple[str | None, str]:
    """(the executable to run, "") or (None, why none can be chosen). The rule of the module contract.

    The install scripts (`_NPM_SELECT`, `_PYPI_SELECT`) apply the same rule inside the build.
    """
    unscoped = package_name.rpartition("/")[2]
    if wanted is not None:
        if wanted in executables:
            return wanted, ""
        have = ", ".join(executables) or "none"
        return None, f"{package_name} has no executable named {wanted!r} (package.bin); it has: {have}"
    if not executables:
        return None, f"{package_name} has no executable (npm bin / console script), so it cannot run as a server"
    if len(executables) == 1:
        return executables[0], ""
    if unscoped in executables:
        return unscoped, ""
    return None, (
        f"{package_name} has several executables ({', '.join(executables)}) and none is named {unscoped!r}; "
        "name the one to run as package.bin in the catalog entry"
    )


# --- the generated files ---------------------------------------------------------------------

# Each script installs the package into /opt/mcp-package, then links the chosen executable as
# /opt/mcp-package/entrypoint. The CA variables exist only in this RUN step's environment.
_INSTALL_PRELUDE = f"""\
set -eu
# Bounded from inside: a RUN step that fails on its own is cleaned up by podman (--force-rm); a
# `podman build` that is killed leaves its working container behind.
if [ -z "${{MCP_REGISTRY_BOUNDED:-}}" ] && command -v timeout >/dev/null; then
  limit=$(cat {_CONTEXT_MOUNT}/timeout)
  status=0
  MCP_REGISTRY_BOUNDED=1 timeout -k 5 "$limit" sh "$0" "$@" || status=$?
  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    echo "{_FAILURE_MARK} timeout $limit" >&2
  fi
  exit "$status"
fi
if [ -f {_CA_MOUNT} ]; then
  export SSL_CERT_FILE={_CA_MOUNT} NODE_EXTRA_CA_CERTS={_CA_MOUNT} PIP_CERT={_CA_MOUNT} REQUESTS_CA_BUNDLE={_CA_MOUNT}
fi
export HOME=/tmp/mcp-registry-build-home PIP_ROOT_USER_ACTION=ignore
mkdir -p "$HOME" /opt/mcp-package
"""

_NPM_INSTALL = (
    _INSTALL_PRELUDE
    + f"""\
export npm_config_cache=/tmp/mcp-registry-build-npm npm_config_update_notifier=false npm_config_fund=false
npm install --prefix /opt/mcp-package --omit=dev --no-audit --no-fund --loglevel=warn "$1@$2"
node {_CONTEXT_MOUNT}/select.js /opt/mcp-package "$1" "${{3:-}}"
rm -rf "$HOME" /tmp/mcp-registry-build-npm
"""
)

_PYPI_INSTALL = (
    _INSTALL_PRELUDE
    + f"""\
python3 -m pip install --no-cache-dir --disable-pip-version-check --no-warn-script-location --no-input \\
  --target /opt/mcp-package/python "$1==$2"
python3 {_CONTEXT_MOUNT}/select.py /opt/mcp-package "$1" "${{3:-}}"
rm -rf "$HOME"
"""
)

# node: read the package's `bin`; the rule of `choose_executable`.
_NPM_SELECT = f"""\
const fs = require("fs"), path = require("path");
const [prefix, name, wanted] = process.argv.slice(2);
const fail = (message) => {{ console.error("{_FAILURE_MARK} " + message); process.exit(3); }};
const manifest = JSON.parse(fs.readFileSync(path.join(prefix, "node_modules", name, "package.json"), "utf8"));
const unscoped = name.split("/").pop();
let bins = manifest.bin || {{}};
if (typeof bins === "string") bins = {{ [unscoped]: bins }};
const names = Object.keys(bins);
let chosen;
if (wanted) {{
  if (!names.includes(wanted))
    fail(`${{name}} has no executable named '${{wanted}}' (package.bin); it has: ${{names.join(", ") || "none"}}`);
  chosen = wanted;
}} else if (names.length === 0) {{
  fail(`${{name}} has no executable (npm bin / console script), so it cannot run as a server`);
}} else if (names.length === 1) {{
  chosen = names[0];
}} else if (names.includes(unscoped)) {{
  chosen = unscoped;
}} else {{
  fail(`${{name}} has several executables (${{names.join(", ")}}) and none is named '${{unscoped}}'; ` +
    "name the one to run as package.bin in the catalog entry");
}}
const target = path.join(prefix, "node_modules", name, bins[chosen]);
fs.chmodSync(target, 0o755);
fs.symlinkSync(target, path.join(prefix, "entrypoint"));
console.log(`{_FAILURE_MARK.rstrip(":")} runs ${{chosen}} (${{target}})`);
"""

# python: read the console scripts of the installed distribution; the rule of `choose_executable`.
_PYPI_SELECT = f"""\
import configparser, os, re, sys
prefix, name, wanted = sys.argv[1], sys.argv[2], sys.argv[3] or None
site = os.path.join(prefix, "python")
def fail(message):
    print("{_FAILURE_MARK} " + message, file=sys.stderr)
    sys.exit(3)
normal = re.sub(r"[-_.]+", "_", name).lower()
infos = [d for d in os.listdir(site) if d.endswith(".dist-info")
         and re.sub(r"[-_.]+", "_", d[: -len(".dist-info")].rsplit("-", 1)[0]).lower() == normal]
if not infos:
    fail(name + " was installed but its metadata (.dist-info) is missing")
points = configparser.ConfigParser(delimiters=("=",))
points.optionxform = str
points.read(os.path.join(site, infos[0], "entry_points.txt"))
names = list(points["console_scripts"]) if points.has_section("console_scripts") else []
if wanted:
    # A meta-package's executable may come with one of its dependencies (fastmcp's is fastmcp-slim's).
    if wanted not in names and not os.path.isfile(os.path.join(site, "bin", wanted)):
        fail(f"{{name}} has no executable named {{wanted!r}} (package.bin); it has: {{', '.join(names) or 'none'}}")
    chosen = wanted
elif not names:
    fail(f"{{name}} has no executable (npm bin / console script), so it cannot run as a server")
elif len(names) == 1:
    chosen = names[0]
elif name in names:
    chosen = name
else:
    fail(f"{{name}} has several executables ({{', '.join(names)}}) and none is named {{name!r}}; "
         "name the one to run as package.bin in the catalog entry")
target = os.path.join(site, "bin", chosen)
os.symlink(target, os.path.join(prefix, "entrypoint"))
print("{_FAILURE_MARK.rstrip(":")} runs " + chosen + " (" + target + ")")
"""

_RUNTIME_ENV = {
    "npm": {"NODE_ENV": "production"},
    "pypi": {"PYTHONPATH": "/opt/mcp-package/python", "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"},
}


@dataclass(frozen=True)
class BuildRecipe:
    """Everything a build depends on; see the module contract."""

    package: Package
    base_image: str
    base_image_id: str

    def context_files(self, *, with_ca: bool = False) -> dict[str, str]:
        """The build context: file name → text (`with_ca`: the context also holds `_CA_FILE`)."""
        containerfile = self.containerfile(with_ca=with_ca)
        if self.package.registry == "npm":
            return {"install.sh": _NPM_INSTALL, "select.js": _NPM_SELECT, "Containerfile": containerfile}
        return {"install.sh": _PYPI_INSTALL, "select.py": _PYPI_SELECT, "Containerfile": containerfile}

    def containerfile(self, *, with_ca: bool = False) -> str:
        package = self.package
        arguments = [package.name, package.version, package.bin or ""]
        mounts = [f"--mount=type=bind,source=.,target={_CONTEXT_MOUNT}"]
        if with_ca:
            mounts.append(f"--mount=type=bind,source={_CA_FILE},target={_CA_MOUNT}")
        lines = [
            f"FROM {self.base_image}",
            # Run by sh from the context's bind mount: nothing of the build stays in the image.
            f"RUN {' '.join(mounts)} sh {_CONTEXT_MOUNT}/install.sh {' '.join(json.dumps(arg) for arg in arguments)}",
            *(f"ENV {name}={json.dumps(value)}" for name, value in _RUNTIME_ENV[package.registry].items()),
            'ENTRYPOINT ["/opt/mcp-package/entrypoint"]',
            "CMD []",
        ]
        return "\n".join(lines) + "\n"

    @property
    def inputs_hash(self) -> str:
        package = self.package
        scripts = {name: text for name, text in self.context_files().items() if name != "Containerfile"}
        document = {
            "recipe": RECIPE_VERSION,
            "base_image_id": self.base_image_id,
            "registry": package.registry,
            "name": package.name,
            "version": package.version,
            "bin": package.bin,
            "files": {name: hashlib.sha256(text.encode()).hexdigest() for name, text in sorted(scripts.items())},
            "runtime_env": _RUNTIME_ENV[package.registry],
        }
        return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def reference(self) -> str:
        return (
            f"{PKG_IMAGE_PREFIX}/{repository_name(self.package)}:{image_tag(self.package.version)}-{self.inputs_hash}"
        )


def repository_name(package: Package) -> str:
    """`<registry>-<name>` as a valid repository path component: lower case, `@scope/name` → `scope-name`."""
    name = package.name.lower().lstrip("@").replace("/", "-")
    name = re.sub(r"[^a-z0-9._-]+", "-", name)
    name = re.sub(r"[._-]{2,}", "-", name).strip("._-")  # separators may not repeat or end the name
    return f"{package.registry}-{name or 'package'}"


def image_tag(version: str) -> str:
    """A version as the start of a tag (`[A-Za-z0-9_.-]`, max 128 with the hash): `+` becomes `_`."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", version)[:100]


@dataclass(frozen=True)
class BuiltImage:
    reference: str
    image_id: str
    cached: bool


class PackageBuildError(PodmanError):
    """A package could not be built into an image; the message names the package, step and log tail."""


class PackageBuilder:
    """Finds or builds package images. See the module contract."""

    def __init__(self, settings: RegistrySettings, podman: Sequence[str] | None = None) -> None:
        self._settings = settings
        # The podman command's start: `podman --remote --url …` builds on a remote host.
        self._podman_prefix = list(podman or [settings.podman_executable])
        self._locks: dict[str, anyio.Lock] = collections.defaultdict(anyio.Lock)

    async def find(self, recipe: BuildRecipe) -> str | None:
        """The id of the local image built from exactly these inputs, or None."""
        try:
            listed = await self._podman("image", "inspect", "--format", "json", recipe.reference)
        except PodmanError:
            return None  # not there (podman says "image not known")
        images = json.loads(listed or "[]") or []
        if not images:
            return None
        labels = images[0].get("Labels") or (images[0].get("Config") or {}).get("Labels") or {}
        if labels.get(LABEL_BUILD_INPUTS) != recipe.inputs_hash:
            return None  # a tag someone reused for something else: build it again
        image_id = str(images[0].get("Id", ""))
        return image_id if image_id.startswith("sha256:") else f"sha256:{image_id}"

    async def ensure(self, recipe: BuildRecipe, on_line: LineCallback | None = None) -> BuiltImage:
        """The image for `recipe`, built unless it exists; see the module contract."""
        if image_id := await self.find(recipe):
            return BuiltImage(recipe.reference, image_id, cached=True)
        async with self._locks[recipe.reference], self._file_lock(recipe):
            if image_id := await self.find(recipe):  # another build finished while we waited
                return BuiltImage(recipe.reference, image_id, cached=True)
            await self._build(recipe, on_line)
            if image_id := await self.find(recipe):
                return BuiltImage(recipe.reference, image_id, cached=False)
        raise PackageBuildError(
            f"Building {_package_words(recipe.package)} finished, but its image {recipe.reference} is not there.",
            remedy="Run `mcp-registry build <entry>` to see the whole build.",
        )

    # -- the build ------------------------------------------------------------------------

    def build_argv(self, recipe: BuildRecipe, context: Path, build_id: str) -> list[str]:
        """The `podman build` argv (pinned by a unit test): no secret and no proxy value on it."""
        labels = {
            LABEL_BUILD_INPUTS: recipe.inputs_hash,
            LABEL_PACKAGE: f"{recipe.package.registry}:{recipe.package.name}@{recipe.package.version}",
            LABEL_BUILD_OWNER: own_owner_label(self._settings.hostname),
            LABEL_BUILD_ID: build_id,
            **self._settings.extra_labels,
        }
        argv = [
            *self._podman_prefix,
            "build",
            "--rm",
            "--force-rm",
            "--layers=false",
            "--pull=never",
            "--no-hosts",
            "--file",
            str(context / "Containerfile"),
            "--tag",
            recipe.reference,
        ]
        for key, value in labels.items():
            argv += ["--label", f"{key}={value}"]
        # Without a value podman takes the value from its environment (`_build_environment`).
        for name in sorted(self._settings.build_proxy_env):
            argv += ["--build-arg", name]
        argv.append(str(context))
        return argv

    def _build_environment(self) -> dict[str, str]:
        env = {name: value for name, value in os.environ.items() if name not in BUILD_PROXY_NAMES}
        return {**env, **self._settings.build_proxy_env}

    async def _build(self, recipe: BuildRecipe, on_line: LineCallback | None) -> None:
        build_id = secrets.token_hex(8)
        tail: collections.deque[str] = collections.deque(maxlen=_LOG_TAIL_LINES)
        step = "starting the build"
        failure: str | None = None
        timed_out = killed = False
        with tempfile.TemporaryDirectory(prefix="mcp-registry-build-") as scratch:
            context = write_context(
                recipe, Path(scratch), install_timeout(self._settings.build_timeout), self._settings.build_ca_file
            )
            known_containers = await self._build_containers(recipe.base_image)
            argv = self.build_argv(recipe, context, build_id)
            logger.info("Building %s: %s", recipe.reference, " ".join(argv))
            process = await anyio.open_process(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=self._build_environment(),
                start_new_session=True,
            )
            try:
                with anyio.move_on_after(self._settings.build_timeout) as bound:
                    async for line in _lines(process):
                        current: int | None = None
                        total: int | None = None
                        tail.append(line)
                        if match := _STEP_LINE.match(line):
                            step = f"step {match[1]}/{match[2]} ({match[3][:120]})"
                            current, total = int(match[1]), int(match[2])
                        if line.startswith(_FAILURE_MARK):
                            failure = line.removeprefix(_FAILURE_MARK).strip()
                            timed_out = timed_out or failure.startswith("timeout ")
                        if on_line is not None:
                            await on_line(line, current, total)
                    await process.wait()
                killed = bound.cancelled_caught
                timed_out = timed_out or killed
            finally:
                with anyio.CancelScope(shield=True):
                    killed = await _stop(process) or killed
                    if process.returncode != 0 or timed_out:
                        await self._remove_leftovers(build_id, recipe.base_image, known_containers if killed else None)
        if timed_out or process.returncode != 0:
            raise self._failure(recipe, step, list(tail), failure, timed_out, process.returncode)

    def _failure(
        self,
        recipe: BuildRecipe,
        step: str,
        tail: list[str],
        reason: str | None,
        timed_out: bool,
        returncode: int | None,
    ) -> PackageBuildError:
        words = _package_words(recipe.package)
        if timed_out:
            summary = f"Building {words} did not finish within {self._settings.build_timeout:g} s (at {step})."
            remedy = (
                "Raise MCP_REGISTRY_BUILD_TIMEOUT, or build ahead of time with `mcp-registry build <entry>`; "
                "check the network (and any proxy) if the install hung."
            )
        elif reason:
            summary = f"Building {words} failed at {step}: {reason}."
            remedy = "Fix the catalog entry's [package] (name, version or bin), then add it again."
        else:
            summary = f"Building {words} failed at {step} (podman build exited with {returncode})."
            remedy = (
                "Check that the version exists on the package registry and that the network (or proxy) lets the "
                f"build reach it; the base image is {recipe.base_image}."
            )
        return PackageBuildError(summary, remedy=remedy, detail="\n".join(tail))

    async def _build_containers(self, base_image: str) -> set[str] | None:
        """Ids of the build (working) containers from `base_image` podman has now; None if it cannot say."""
        try:
            listed = await self._podman("ps", "--all", "--external", "--no-trunc", "--format", "{{.ID}} {{.Image}}")
        except PodmanError:
            return None
        wanted = {base_image, f"{base_image}:latest"}
        return {row.split()[0] for row in listed.splitlines() if len(row.split()) == 2 and row.split()[1] in wanted}

    async def _remove_leftovers(self, build_id: str, base_image: str, known_containers: set[str] | None) -> None:
        """Remove any image the failed build committed (found by its build label), and after a killed
        build its working container: the one from the same base image that appeared meanwhile."""
        if known_containers is not None and (now := await self._build_containers(base_image)) is not None:
            for container in sorted(now - known_containers):
                try:
                    await self._podman("rm", "--force", "--storage", container)
                except PodmanError as error:
                    logger.warning("Could not remove the build container %s: %s", container, error)
        try:
            listed = await self._podman(
                "images", "--all", "--quiet", "--no-trunc", "--filter", f"label={LABEL_BUILD_ID}={build_id}"
            )
            if ids := sorted(set(listed.split())):
                await self._podman("rmi", "--force", *ids)
        except PodmanError as error:
            logger.warning("Could not remove the images of failed build %s: %s", build_id, error)

    async def _podman(self, *args: str) -> str:
        return await run_podman(self._podman_prefix, list(args), timeout=60)

    @contextlib.asynccontextmanager
    async def _file_lock(self, recipe: BuildRecipe) -> AsyncIterator[None]:
        """Holds `<runtime dir>/builds/<hash>.lock`, so another process's build of the same image waits."""
        with _open_lock_file(self._settings.runtime_dir / "builds" / f"{recipe.inputs_hash}.lock") as handle:
            # Polled without blocking: a thread blocked in flock could not be cancelled.
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    await anyio.sleep(0.2)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def write_context(recipe: BuildRecipe, directory: Path, install_timeout: int, ca_file: Path | None = None) -> Path:
    """Write the build context into `directory` (readable by the build's user namespace); returns it.

    `timeout` holds the install step's own bound in seconds; it is not an input of the build, nor is
    the copy of `ca_file` (a public CA bundle), which only the install step sees."""
    directory.chmod(0o755)
    files = {**recipe.context_files(with_ca=ca_file is not None), "timeout": f"{install_timeout}\n"}
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
        (directory / name).chmod(0o644)
    if ca_file is not None:
        try:
            shutil.copyfile(ca_file, directory / _CA_FILE)
        except OSError as error:
            raise PackageBuildError(
                f"Could not read the CA bundle {ca_file} the package build trusts ({error.strerror or error}).",
                remedy="Point SSL_CERT_FILE at a readable CA bundle, or unset it to use the distribution's.",
            ) from error
        (directory / _CA_FILE).chmod(0o644)
    return directory


def _open_lock_file(path: Path) -> BinaryIO:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return open(path, "a+b")  # the caller's `with` closes it


def _package_words(package: Package) -> str:
    return f"the {package.registry} package {package.name} {package.version}"


async def _lines(process: anyio.abc.Process) -> AsyncIterator[str]:
    assert process.stdout is not None
    buffer = b""
    async for chunk in process.stdout:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for raw in complete:
            if line := raw.decode(errors="replace").rstrip():
                yield line
    if line := buffer.decode(errors="replace").rstrip():
        yield line


def install_timeout(build_timeout: float) -> int:
    """The install step's own bound: the build's, less room for FROM and the commit after it."""
    return max(1, int(build_timeout - min(30.0, build_timeout / 4)))


async def _stop(process: anyio.abc.Process) -> bool:
    """Stop a `podman build` still running (SIGTERM, then SIGKILL to its process group); True if it was."""
    if process.returncode is not None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with anyio.move_on_after(_TERMINATE_GRACE):
        await process.wait()
        return True
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    await process.wait()
    return True
