"""`/metrics` for `serve --http`: Prometheus text from `prometheus-client`, every series per workspace.

Contract: `RegistryMetrics(live)` owns its own `CollectorRegistry` (nothing global, so two
servers in one process, or tests, do not mix). Counted as they happen, through the audit log
every tool call already passes (`MeteredAuditLog.record`):
- `mcp_registry_tool_calls_total{workspace,outcome}` and the latency histogram
  `mcp_registry_tool_call_seconds{workspace}`;
- `mcp_registry_tool_errors_total{workspace,kind}`: calls whose outcome was not `ok` or
  `input_required` (`kind` is the audit outcome: `error`, `failed`, `cancelled`).
Read at scrape time from the running workspaces (`live()`): gauges `mcp_registry_mounts`,
`mcp_registry_containers` (server containers: running mounts that have one; a remote server has none), `mcp_registry_tasks`
(background tasks still working) and `mcp_registry_sessions`. A workspace that is not running
has no gauges; its counters stay.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from mcp_registry_server.registry import Registry
from mcp_registry_server.registry.audit import AuditLog

__all__ = ["CONTENT_TYPE", "LiveWorkspace", "MeteredAuditLog", "RegistryMetrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_QUIET_OUTCOMES = frozenset({"ok", "input_required"})


@dataclass(frozen=True)
class LiveWorkspace:
    name: str
    registry: Registry
    sessions: int


class RegistryMetrics:
    def __init__(self, live: Callable[[], Iterable[LiveWorkspace]]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.calls = Counter(
            "mcp_registry_tool_calls", "Tool calls, by outcome", ["workspace", "outcome"], registry=self.registry
        )
        self.latency = Histogram(
            "mcp_registry_tool_call_seconds",
            "How long tool calls took",
            ["workspace"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
            registry=self.registry,
        )
        self.errors = Counter(
            "mcp_registry_tool_errors", "Tool calls that did not succeed, by kind", ["workspace", "kind"],
            registry=self.registry,
        )  # fmt: skip
        self.registry.register(_LiveCollector(live))

    def call_ended(self, workspace: str, outcome: str, seconds: float) -> None:
        self.calls.labels(workspace, outcome).inc()
        self.latency.labels(workspace).observe(seconds)
        if outcome not in _QUIET_OUTCOMES:
            self.errors.labels(workspace, outcome).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _LiveCollector(Collector):
    def __init__(self, live: Callable[[], Iterable[LiveWorkspace]]) -> None:
        self._live = live

    def collect(self) -> Iterator[Metric]:
        gauges = {
            "mounts": GaugeMetricFamily("mcp_registry_mounts", "Active mounts", labels=["workspace"]),
            "containers": GaugeMetricFamily(
                "mcp_registry_containers", "Running server containers", labels=["workspace"]
            ),
            "tasks": GaugeMetricFamily("mcp_registry_tasks", "Background tasks still working", labels=["workspace"]),
            "sessions": GaugeMetricFamily("mcp_registry_sessions", "Open HTTP sessions", labels=["workspace"]),
        }
        for workspace in self._live():
            mounts = list(workspace.registry.router.mounts.values())
            gauges["mounts"].add_metric([workspace.name], len(mounts))
            # A remote server's mount has no container.
            running = sum(mount.state == "running" and bool(mount.container_name) for mount in mounts)
            gauges["containers"].add_metric([workspace.name], running)
            working = sum(not task.is_terminal for task in workspace.registry.tasks.all())
            gauges["tasks"].add_metric([workspace.name], working)
            gauges["sessions"].add_metric([workspace.name], workspace.sessions)
        yield from gauges.values()


class MeteredAuditLog(AuditLog):
    """The audit log that also counts each call in `metrics` (under `workspace`)."""

    metrics: RegistryMetrics | None = None
    workspace_name = "default"

    def record(self, *, entry: str, tool: str, arguments: Any, started: float, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.call_ended(self.workspace_name, outcome, time.perf_counter() - started)
        super().record(entry=entry, tool=tool, arguments=arguments, started=started, outcome=outcome)
