"""Everything that touches Podman: the API socket, the container command line, diagnostics.

- `command`: the exact `podman run` argv and labels (pure).
- `service`: find a Podman API socket, or run a private `podman system service`.
- `helper_process`: the private service's and the ssh tunnel's process: spawned, awaited, stopped.
- `remote`: a remote Podman host through one ssh tunnel.
- `service_files`: the private service's socket, log and owner record; sweeping dead registries' ones.
- `api`: async access to the Podman REST API (images, pulls, containers by label).
- `runner`: start entries as interactive containers, make sure they go, remove orphans.
- `ownership`: which process owns a container and whether it still lives.
- `diagnostics`: known host failures of `podman run` and their remedies.
- `labelled`: containers by label through the `podman` CLI, for scripts and tests beside the registry.
- `errors`: `PodmanError` / `PodmanUnavailable`, worded for the user.
"""

from mcp_registry_server.podman.api import ContainerInfo, PodmanAPI, PodmanVersion, ProgressCallback, open_podman_api
from mcp_registry_server.podman.command import build_run_argv, container_name, registry_labels
from mcp_registry_server.podman.errors import PodmanError, PodmanUnavailable
from mcp_registry_server.podman.runner import PodmanRunner, PodmanStatus, StartedContainer
from mcp_registry_server.podman.service import PodmanEndpoint

__all__ = [
    "ContainerInfo",
    "PodmanAPI",
    "PodmanEndpoint",
    "PodmanError",
    "PodmanRunner",
    "PodmanStatus",
    "PodmanUnavailable",
    "PodmanVersion",
    "ProgressCallback",
    "StartedContainer",
    "build_run_argv",
    "container_name",
    "open_podman_api",
    "registry_labels",
]
