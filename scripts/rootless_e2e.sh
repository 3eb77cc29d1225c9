#!/usr/bin/env bash
# The real-container tests again, as an unprivileged user with rootless Podman, as most desktop
# users run it. `scripts/dev.sh test` runs this when it runs as root (CI does); run as another user,
# the whole suite is rootless already.
#
# Idempotent: the user `mcp-registry-ci` (with subuid/subgid ranges) is made once; the test images
# are copied into its own image store only when its copy differs (podman save | podman load); the
# user gets a fresh copy of this checkout's files and its own venv (~/venv, from the system
# python3: this checkout's .venv may sit on a Python the user cannot read), kept between runs.
# Extra arguments go to pytest (default: every e2e test but those that install npm clients).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) -eq 0 ]] || { echo "rootless_e2e: run as root (it creates the test user)" >&2; exit 2; }

user=mcp-registry-ci
id -u "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
# Debian's useradd gives new users ranges; add one where it did not.
grep -q "^$user:" /etc/subuid || usermod --add-subuids 300000-365535 "$user"
grep -q "^$user:" /etc/subgid || usermod --add-subgids 300000-365535 "$user"
home=$(getent passwd "$user" | cut -d: -f6)
uid=$(id -u "$user")
# Rootless networking (slirp4netns) opens /dev/net/tun; distributions ship it 0666, this host 0600.
if [[ -c /dev/net/tun && $(stat -c %a /dev/net/tun) != 666 ]]; then
  echo "rootless_e2e: /dev/net/tun is $(stat -c %a /dev/net/tun); making it 0666 as distributions ship it"
  chmod 0666 /dev/net/tun
fi
runtime=/tmp/mcp-registry-ci-runtime-$uid
install -d -m 0700 -o "$user" -g "$user" "$runtime"

passed=()
for name in CI CONTAINERS_CONF SSL_CERT_FILE PIP_CERT REQUESTS_CA_BUNDLE NODE_EXTRA_CA_CERTS \
  MCP_REGISTRY_NODE_IMAGE MCP_REGISTRY_PYTHON_IMAGE HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy; do
  [[ -n ${!name:-} ]] && passed+=("$name=${!name}")
done
as_user() {
  runuser -u "$user" -- env -i HOME="$home" USER="$user" PATH="$home/venv/bin:/usr/local/bin:/usr/bin:/bin" \
    LANG=C.UTF-8 XDG_RUNTIME_DIR="$runtime" PYTHONDONTWRITEBYTECODE=1 "${passed[@]}" "$@"
}

# The workaround containers.conf (runc, rlimits), where the user can read it.
if [[ -n ${CONTAINERS_CONF:-} ]]; then
  install -D -m 0644 "$CONTAINERS_CONF" "$home/.config/mcp-registry-ci/containers.conf"
  CONTAINERS_CONF=$home/.config/mcp-registry-ci/containers.conf
  passed=("${passed[@]/#CONTAINERS_CONF=*/CONTAINERS_CONF=$CONTAINERS_CONF}")
fi

# The user's image store, pinned: the tests give each registry its own XDG_DATA_HOME, which rootless
# Podman would otherwise take as the place of its storage (and find no images there). A file named
# by CONTAINERS_STORAGE_CONF is read as the system's, where a rootless user gets rootless_storage_path.
# Overlay through fuse-overlayfs: vfs, Podman's fallback here, copies the image for every container
# (4x slower). /dev/fuse is 0666 on distributions, 0600 on this host.
if [[ -c /dev/fuse && $(stat -c %a /dev/fuse) != 666 ]]; then
  echo "rootless_e2e: /dev/fuse is $(stat -c %a /dev/fuse); making it 0666 as distributions ship it"
  chmod 0666 /dev/fuse
fi
storage=$home/.local/share/containers/ci-storage
storage_conf=$home/.config/mcp-registry-ci/storage.conf
install -d "$(dirname "$storage_conf")"
{
  printf '[storage]\ndriver = "overlay"\ngraphroot = "%s"\nrootless_storage_path = "%s"\nrunroot = "%s"\n' \
    "$storage" "$storage" "$runtime/containers"
  printf '[storage.options.overlay]\nmount_program = "%s"\n' "$(command -v fuse-overlayfs)"
} >"$storage_conf"
chmod 0644 "$storage_conf"
passed+=("CONTAINERS_STORAGE_CONF=$storage_conf")

started=$SECONDS
for image in $(podman images --format '{{.Repository}}:{{.Tag}}' --filter 'reference=localhost/mcp-registry-test/*'); do
  wanted=$(podman image inspect --format '{{.Id}}' "$image")
  present=$(as_user podman image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
  if [[ $wanted != "$present" ]]; then
    podman save "$image" | as_user podman load --quiet >/dev/null
    echo "rootless_e2e: copied $image into $user's image store"
  fi
done
as_user podman image prune --force >/dev/null  # the copies it replaced

# This checkout's files (tracked and new, not ignored), owned by the user.
checkout=$home/checkout
rm -rf "$checkout"
install -d -o "$user" -g "$user" "$checkout"
git ls-files -z --cached --others --exclude-standard | tar --null -T - -c | as_user tar -x -C "$checkout"
[[ -x $home/venv/bin/python ]] || as_user /usr/bin/python3 -m venv "$home/venv"
as_user "$home/venv/bin/python" -m pip install -q --disable-pip-version-check -e "$checkout[dev]"
echo "rootless_e2e: ready in $((SECONDS - started)) s; running the e2e tests as $user ($(as_user podman info --format '{{.Host.Security.Rootless}}') rootless)"

cd "$checkout"
args=("$@")
# Not here, and why (each runs in the root job):
# - the npm clients: their fresh HOME would hide this user's image store;
# - the memory/cpu/pids limit checks: rootless Podman on this host's cgroups v1 cannot apply them
#   (podman inspect shows 0); README says so under "not protected";
# - the runtime-dir ownership test: it chowns a directory to another user, which needs root.
((${#args[@]})) || args=(tests/e2e --ignore tests/e2e/test_inspector_cli.py --ignore tests/e2e/test_real_clients.py
  --deselect tests/e2e/test_hardening.py::test_registry_containers_are_hardened
  --deselect tests/e2e/test_podman_runner.py::test_started_container_talks_stdio_is_hardened_and_goes_away
  -k "not test_private_service_refuses_a_runtime_dir_that_is_not_ours_alone")
as_user "$home/venv/bin/python" -m pytest -p no:cacheprovider -v "${args[@]}"
