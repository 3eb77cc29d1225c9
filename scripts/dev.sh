#!/usr/bin/env bash
# The one entry point on a fresh machine:
#   bash scripts/dev.sh workflow   set up, build the test images, run the activate -> exec -> remove demo
#   bash scripts/dev.sh test       set up, build the test images, lint, type-check, run the whole test suite;
#                                  as root (CI), then the real-container tests again as an unprivileged
#                                  user with rootless Podman (scripts/rootless_e2e.sh)
# Extra arguments after `test` go to pytest (and skip the rootless run).
set -euo pipefail
cd "$(dirname "$0")/.."
job=${1:-}
[[ $job == workflow || $job == test ]] || { echo "usage: bash scripts/dev.sh workflow|test [pytest args]" >&2; exit 2; }
shift

bash scripts/setup.sh
podman_exports=$(.venv/bin/python scripts/podman_env.py)
eval "$podman_exports"
.venv/bin/python scripts/build_test_images.py
# Package entries build on the local base images (no image registry is reachable in CI).
export MCP_REGISTRY_NODE_IMAGE=localhost/mcp-registry-test/node-base
export MCP_REGISTRY_PYTHON_IMAGE=localhost/mcp-registry-test/python-base

case $job in
  workflow)
    exec .venv/bin/python scripts/test_full_workflow.py ;;
  test)
    .venv/bin/ruff check .
    .venv/bin/ruff format --check .
    .venv/bin/mypy
    .venv/bin/pytest -v "$@"
    if [[ $# -eq 0 && $(id -u) -eq 0 ]]; then
      exec bash scripts/rootless_e2e.sh
    fi ;;
esac
