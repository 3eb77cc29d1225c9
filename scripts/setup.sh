#!/usr/bin/env bash
# Prepare this machine for development and the test suite, idempotently:
#   1. system packages: podman, runc, crun (so the doctor test sees how real crun fails on this
#      host), catatonit (for --init), debootstrap (test images), git, npm, uidmap, slirp4netns and
#      fuse-overlayfs (rootless Podman, for the rootless test run), openssh-client and -server (the
#      remote Podman host test runs an sshd on 127.0.0.1); installed when missing
#      and running as root, otherwise the exact command is printed;
#   2. the Python environment .venv with the project and its dev extras.
# The containers.conf workaround is applied separately, only when `podman run` fails
# (scripts/podman_env.py), so a healthy Podman is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for pair in podman:podman runc:runc crun:crun catatonit:catatonit debootstrap:debootstrap git:git npm:npm \
  newuidmap:uidmap slirp4netns:slirp4netns fuse-overlayfs:fuse-overlayfs ssh:openssh-client \
  /usr/sbin/sshd:openssh-server; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair##*:}")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: missing ${missing[*]}. Install them, e.g.: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

python=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "setup: Python >= 3.11 is needed (found $("$python" --version 2>&1))" >&2; exit 1; }
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install -qq --disable-pip-version-check -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -c 'import mcp_registry_server, mcp, podman' \
  || { echo "setup: the project did not install into .venv" >&2; exit 1; }
echo "setup: ready ($(podman --version), $(.venv/bin/python --version))"
