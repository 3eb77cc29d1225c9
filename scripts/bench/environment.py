"""What a benchmark run works with: its sizes, its private dirs and labels, Podman's env, the machine.

`Setup` is passed to every figure: the run id (part of both container labels), a scratch
directory, the environment every process gets, the sizes of this run, and the figures measured so
far. Containers carry `Setup.registry_label` (started by a registry) or `Setup.direct_label`
(started by the bench itself); `remove_labelled_containers` removes them at the end.
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp_registry_server.podman.labelled import labelled_container_names, remove_containers

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_CATALOG = REPO_ROOT / "tests" / "catalog"
WORKAROUND_CONF = REPO_ROOT / "build" / "podman" / "containers.conf"
REGISTRY_EXE = Path(sys.executable).with_name("mcp-registry")
ENTRY = "misbehave"
CLIENT_INFO = {"name": "mcp-registry-bench", "version": "1"}
ECHO_ARGS = {"text": "ping"}


@dataclass
class Sizes:
    """How much of each figure to run; `--quick` keeps the whole suite well under a minute."""

    p1_rounds: int
    p1_calls: int
    p2_calls: int
    p2_rounds: int
    p3_reps: int
    p5_reps: int
    p6_mounts: int
    p6_lists: int
    p6_searches: int
    p7_reps: int

    @classmethod
    def pick(cls, quick: bool) -> Sizes:
        if quick:
            return cls(2, 60, 320, 2, 1, 2, 5, 10, 100, 1)
        return cls(10, 300, 6000, 6, 5, 7, 20, 50, 500, 4)


@dataclass
class Setup:
    run_id: str
    workdir: Path
    env: dict[str, str]
    sizes: Sizes
    quick: bool
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def registry_label(self) -> str:
        return f"io.mcp-registry.bench={self.run_id}"

    @property
    def direct_label(self) -> str:
        return f"io.mcp-registry.bench-direct={self.run_id}"

    def registry_env(self, *catalog_dirs: Path, cache: Path | None = None) -> dict[str, str]:
        """The environment of a registry process: private dirs, the given catalogs, our labels."""
        home = self.workdir / "xdg"
        return {
            **self.env,
            "MCP_REGISTRY_CATALOG_PATH": os.pathsep.join(str(d) for d in catalog_dirs),
            # Not the test suite's label: a concurrent pytest session removes containers that carry it.
            "MCP_REGISTRY_LABELS": self.registry_label,
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_STATE_HOME": str(home / "state"),
            "XDG_CACHE_HOME": str(cache or self.cache_dir),
            # P7 measures relaying big results whole; set it to measure with offloading.
            "MCP_REGISTRY_OFFLOAD_BYTES": self.env.get("MCP_REGISTRY_OFFLOAD_BYTES", "0"),
        }

    @property
    def cache_dir(self) -> Path:
        return self.workdir / "xdg" / "cache"

    def clear_cache(self) -> None:
        shutil.rmtree(self.cache_dir, ignore_errors=True)


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    if "CONTAINERS_CONF" not in env and WORKAROUND_CONF.exists():
        env["CONTAINERS_CONF"] = str(WORKAROUND_CONF)
    # P3's package entry builds on the test bed's base images (no image registry is reachable).
    env.setdefault("MCP_REGISTRY_NODE_IMAGE", "localhost/mcp-registry-test/node-base")
    env.setdefault("MCP_REGISTRY_PYTHON_IMAGE", "localhost/mcp-registry-test/python-base")
    return env


def remove_labelled_containers(label: str, env: dict[str, str]) -> None:
    remove_containers(labelled_container_names(label, env), env)


def machine_info() -> dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_kb = 0
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
    podman = subprocess.run(["podman", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    return {
        "host": socket.gethostname(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "podman": podman,
    }
