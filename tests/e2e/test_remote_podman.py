"""Remote Podman hosts (issue 13): the registry runs servers on a Podman it reaches over ssh.

Real ssh, real Podman, the misbehave server in a container, driven by the SDK client through
`mcp-registry serve`. The "remote machine" is an OpenSSH sshd on 127.0.0.1 (its own host key,
config and an authorized key made for the test) in front of a `podman system service` on a socket
this test starts, with a storage of its own: its containers, secrets and volumes are its own, so
this machine's `podman ps` does not see them; it reads this machine's images as a read-only
additional image store, so the test images are there without copying them.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.e2e.harness import descendants, misbehave_entry, structured, wait_for, with_catalog, write_catalog
from tests.e2e.support import REGISTRY_EXECUTABLE, TEST_CATALOG_DIR, TEST_RUN_LABEL, connect_registry, text_of

SSHD = "/usr/sbin/sshd"
USER = getpass.getuser()  # who the sshd lets in: root in the root job, the CI user in the rootless one


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def listens(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def command_line(pid: int) -> list[bytes]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")


def podman_secret_names(*url: str) -> list[str]:
    """The Podman secrets here, or on the Podman at `url` (`podman --url`)."""
    listed = subprocess.run(
        ["podman", *(["--url", *url] if url else []), "secret", "ls", "--noheading", "--format", "{{.Name}}"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return listed.stdout.split()


def our_containers(*url: str) -> list[str]:
    """The test's containers here, or on the Podman at `url` (`podman --url`)."""
    listed = subprocess.run(
        ["podman", *(["--url", *url] if url else []), "ps", "--all", "--filter", f"label={TEST_RUN_LABEL}",
         "--format", "{{.Names}}"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return listed.stdout.split()


@contextlib.contextmanager
def started(argv: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as log_file:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file, env=env)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def own_storage(home: Path) -> Path:
    """A storage.conf for the "remote" Podman: its own dirs, this machine's images read-only beside them."""
    info = subprocess.run(
        ["podman", "info", "--format", "{{.Store.GraphRoot}} {{.Store.GraphDriverName}}"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    graph_root, driver = info.stdout.split()
    conf = home / "storage.conf"
    conf.write_text(
        f'[storage]\ndriver = "{driver}"\ngraphroot = "{home / "graph"}"\nrunroot = "{home / "run"}"\n'
        f'rootless_storage_path = "{home / "graph"}"\n[storage.options]\nadditionalimagestores = ["{graph_root}"]\n'
    )
    return conf


@pytest.fixture
def remote_host(podman_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """An sshd on 127.0.0.1 in front of a Podman service of the test's own; the env to reach it."""
    assert Path(SSHD).exists(), "openssh-server is not installed (run scripts/setup.sh)"
    home = Path(tempfile.mkdtemp(prefix="mcpr-ssh-", dir="/tmp"))  # short: socket paths are bounded
    try:
        for key in ("host_key", "client_key"):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(home / key)], check=True, timeout=30
            )
        shutil.copy(home / "client_key.pub", home / "authorized_keys")
        port = free_port()
        (home / "known_hosts").write_text(f"[127.0.0.1]:{port} {(home / 'host_key.pub').read_text()}")
        (home / "sshd_config").write_text(
            f"Port {port}\nListenAddress 127.0.0.1\nHostKey {home / 'host_key'}\nPidFile {home / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {home / 'authorized_keys'}\nPermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
            "AllowStreamLocalForwarding yes\nLogLevel VERBOSE\n"
        )
        if os.geteuid() == 0:  # sshd's privilege separation directory; an unprivileged sshd only logs its user in
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        podman_socket = home / "podman.sock"
        with (
            started(
                ["podman", "system", "service", "--time=0", f"unix://{podman_socket}"],
                home / "podman.log",
                env={**os.environ, "CONTAINERS_STORAGE_CONF": str(own_storage(home))},
            ),
            started([SSHD, "-D", "-e", "-f", str(home / "sshd_config")], home / "sshd.log") as sshd,
        ):
            for _ in range(100):
                if listens(port) and answers(podman_socket):
                    break
                assert sshd.poll() is None, (home / "sshd.log").read_text()
                time.sleep(0.1)
            else:
                pytest.fail("the test's sshd or Podman service did not come up")
            yield {
                "sshd_pid": str(sshd.pid),
                "podman_url": f"unix://{podman_socket}",
                "CONTAINER_HOST": f"ssh://{USER}@127.0.0.1:{port}{podman_socket}",
                "CONTAINER_SSHKEY": str(home / "client_key"),
                "MCP_REGISTRY_SSH_KNOWN_HOSTS": str(home / "known_hosts"),
                "sshd_log": str(home / "sshd.log"),
            }
    finally:
        if os.geteuid() != 0:  # rootless: the store's files belong to the user namespace's ids
            subprocess.run(["podman", "unshare", "rm", "-rf", str(home)], check=False, timeout=120)
        shutil.rmtree(home, ignore_errors=True)


async def test_a_server_runs_on_a_remote_podman_host_through_ssh(
    registry_env: dict[str, str], remote_host: dict[str, str]
) -> None:
    env = {**registry_env, **{name: value for name, value in remote_host.items() if name.isupper()}}
    secret = f"mcpr-remote-secret-{secrets.token_hex(8)}"
    async with connect_registry(env) as session:
        stored = await session.call_tool(
            "registry_config_set", {"entry_id": "misbehave", "values": {"MISBEHAVE_TOKEN": secret}}
        )
        assert not stored.is_error, text_of(stored)
        added = structured(await session.call_tool("registry_add", {"entry_id": "misbehave", "prefix": "far"}))
        podman = structured(await session.call_tool("registry_status", {}))["podman"]
        assert podman["available"] and podman["socket_origin"] == "remote", podman
        echoed = await session.call_tool("far_echo", {"text": "over ssh"})
        assert not echoed.is_error and "over ssh" in text_of(echoed)
        far = remote_host["podman_url"]
        assert our_containers(far) == [added["container"]] and our_containers() == []  # there, not here
        # The secret travelled as a Podman secret made on that host, through the tunnel.
        assert text_of(await session.call_tool("far_env", {"name": "MISBEHAVE_TOKEN"})) == secret
        assert f"{added['container']}-MISBEHAVE_TOKEN" in podman_secret_names(far)
        assert f"{added['container']}-MISBEHAVE_TOKEN" not in podman_secret_names()

        # The run went through the tunnel: a `podman --remote` client, and ssh logged the key's login.
        pid = structured(await session.call_tool("registry_status", {}))["pid"]
        command_lines = [command_line(child) for child in descendants(pid)]
        assert any(b"--remote" in argv and b"run" in argv for argv in command_lines), command_lines
        assert any(argv[0].endswith(b"ssh") and b"-L" in argv for argv in command_lines), command_lines
        assert f"Accepted publickey for {USER}" in await anyio.Path(remote_host["sshd_log"]).read_text()

        await session.call_tool("registry_remove", {"entry_id_or_prefix": "far"})
        assert our_containers(far) == []
        assert f"{added['container']}-MISBEHAVE_TOKEN" not in podman_secret_names(far)
        # It works again after removal: a second server on the same host.
        await session.call_tool("registry_add", {"entry_id": "misbehave", "prefix": "again"})
    # Shutdown closed stdin, so `--rm` on the remote run removed the container.
    assert await wait_for(lambda: our_containers(far) == [], 20, interval=0.2)


async def test_an_unreachable_podman_host_gives_an_error_naming_it(registry_env: dict[str, str]) -> None:
    port = free_port()  # nobody listens there
    env = {**registry_env, "CONTAINER_HOST": f"ssh://root@127.0.0.1:{port}/run/podman/podman.sock"}
    async with connect_registry(env) as session:
        failed = await session.call_tool("registry_add", {"entry_id": "misbehave"})
        assert failed.is_error
        message = text_of(failed)
        assert f"ssh://root@127.0.0.1:{port}/run/podman/podman.sock cannot be reached" in message, message
        assert "Connection refused" in message, message
        # The catalog still answers without Podman.
        assert not (await session.call_tool("registry_search", {"query": "misbehave"})).is_error
    assert our_containers() == []


async def test_a_killed_registrys_remote_container_goes_away(
    registry_env: dict[str, str], remote_host: dict[str, str]
) -> None:
    """The local `podman --remote` client and the tunnel die with the registry; the remote run's `--rm` follows."""
    env = {**registry_env, **{name: value for name, value in remote_host.items() if name.isupper()}}
    async with connect_registry(env) as session:
        await session.call_tool("registry_add", {"entry_id": "misbehave", "prefix": "far"})
        far = remote_host["podman_url"]
        assert len(our_containers(far)) == 1
        status = structured(await session.call_tool("registry_status", {}))
        os.kill(status["pid"], signal.SIGKILL)  # only the registry: its children get their parent-death signal
        with anyio.move_on_after(10), contextlib.suppress(Exception):
            await session.list_tools()
    assert await wait_for(lambda: our_containers(far) == [], 30, interval=0.5), our_containers(far)
    # The tunnel's files stay behind (nothing of the registry got to clean up) until the next one sweeps them.
    tunnel_socket = Path(status["podman"]["socket"].removeprefix("unix://"))
    owner_record = tunnel_socket.with_suffix(".owner")
    assert owner_record.exists()
    async with connect_registry(env) as session:
        await session.call_tool("registry_add", {"entry_id": "misbehave", "prefix": "next"})
        assert await wait_for(lambda: not owner_record.exists() and not tunnel_socket.exists(), 10)


async def test_a_host_that_drops_gives_an_error_naming_it(
    registry_env: dict[str, str], remote_host: dict[str, str], tmp_path: Path
) -> None:
    env = {**registry_env, **{name: value for name, value in remote_host.items() if name.isupper()}}
    env = with_catalog(env, write_catalog(tmp_path / "extra", [misbehave_entry("misbehave-two")]))
    sshd = int(remote_host["sshd_pid"])
    async with connect_registry(env) as session:
        await session.call_tool("registry_add", {"entry_id": "misbehave", "prefix": "far"})
        for victim in [sshd, *descendants(sshd)]:  # the host goes away: the listener and our session
            os.kill(victim, signal.SIGKILL)
        dropped = await session.call_tool("far_echo", {"text": "anyone?"})
        assert dropped.is_error and "exited during far_echo" in text_of(dropped), text_of(dropped)
        # The next need for Podman connects again, and says which host cannot be reached and why.
        again = await session.call_tool("registry_add", {"entry_id": "misbehave-two"})
        assert again.is_error
        assert f"The Podman host {env['CONTAINER_HOST']} cannot be reached: the ssh tunnel exited" in text_of(again)
        assert "Connection refused" in text_of(again), text_of(again)
        podman = structured(await session.call_tool("registry_status", {}))["podman"]
        assert podman["available"] is False and "cannot be reached" in podman["error"], podman
    # The remote run lost its client, so its stdin closed and `--rm` removed the container.
    far = remote_host["podman_url"]
    assert await wait_for(lambda: our_containers(far) == [], 30, interval=0.5), our_containers(far)


async def test_a_named_podman_connection_selects_the_host_and_its_identity(
    registry_env: dict[str, str], remote_host: dict[str, str], tmp_path: Path
) -> None:
    # The connection goes into a copy of the session's containers.conf, so the machine's own is untouched.
    # Written as podman keeps it: Podman 4.3's `connection add` drops a socket path outside /run.
    conf = tmp_path / "containers.conf"
    original = await anyio.Path(registry_env["CONTAINERS_CONF"]).read_text()
    await anyio.Path(conf).write_text(
        f'{original}\n[engine.service_destinations.far]\nuri = "{remote_host["CONTAINER_HOST"]}"\n'
        f'identity = "{remote_host["CONTAINER_SSHKEY"]}"\n'
    )
    env = {
        **registry_env,
        "CONTAINERS_CONF": str(conf),
        "MCP_REGISTRY_PODMAN_CONNECTION": "far",
        "MCP_REGISTRY_SSH_KNOWN_HOSTS": remote_host["MCP_REGISTRY_SSH_KNOWN_HOSTS"],
    }
    async with connect_registry(env) as session:
        added = structured(await session.call_tool("registry_add", {"entry_id": "misbehave", "prefix": "far"}))
        podman = structured(await session.call_tool("registry_status", {}))["podman"]
        assert podman["socket_origin"] == "remote", podman
        echoed = await session.call_tool("far_echo", {"text": "by name"})
        assert not echoed.is_error and "by name" in text_of(echoed)
        assert our_containers(remote_host["podman_url"]) == [added["container"]]
        await session.call_tool("registry_remove", {"entry_id_or_prefix": "far"})
        assert our_containers(remote_host["podman_url"]) == []
    log = await anyio.Path(remote_host["sshd_log"]).read_text()
    assert f"Accepted publickey for {USER}" in log

    env["MCP_REGISTRY_PODMAN_CONNECTION"] = "nowhere"
    async with connect_registry(env) as session:
        failed = await session.call_tool("registry_add", {"entry_id": "misbehave"})
        assert failed.is_error
        assert "'nowhere', which does not exist (known: far)" in text_of(failed), text_of(failed)


def with_far_connection(registry_env: dict[str, str], remote_host: dict[str, str], conf: Path) -> dict[str, str]:
    """`registry_env` with the test's sshd as the named connection `far` (in a copy of containers.conf)."""
    original = Path(registry_env["CONTAINERS_CONF"]).read_text()
    conf.write_text(
        f'{original}\n[engine.service_destinations.far]\nuri = "{remote_host["CONTAINER_HOST"]}"\n'
        f'identity = "{remote_host["CONTAINER_SSHKEY"]}"\n'
    )
    return {
        **registry_env,
        "CONTAINERS_CONF": str(conf),
        "MCP_REGISTRY_SSH_KNOWN_HOSTS": remote_host["MCP_REGISTRY_SSH_KNOWN_HOSTS"],
    }


def doctor_hosts(doctor: subprocess.CompletedProcess[bytes]) -> tuple[str, list[str]]:
    """The status and details of `mcp-registry doctor --json`'s podman-hosts check."""
    check = next(check for check in json.loads(doctor.stdout)["checks"] if check["name"] == "podman-hosts")
    return check["status"], check["details"]


def run_commands(pid: int) -> dict[str, list[bytes]]:
    """The `podman ... run` command lines among the registry's descendants, by container name."""
    found: dict[str, list[bytes]] = {}
    for child in descendants(pid):
        with contextlib.suppress(OSError):
            argv = command_line(child)
            if b"run" in argv and b"--name" in argv:
                found[argv[argv.index(b"--name") + 1].decode()] = argv
    return found


async def test_each_server_runs_on_the_host_its_add_or_entry_picks(
    registry_env: dict[str, str], remote_host: dict[str, str], tmp_path: Path
) -> None:
    """Two hosts: the local default and `far` behind ssh (MCP_REGISTRY_PODMAN_HOSTS); third-party servers on each."""
    env = with_far_connection(registry_env, remote_host, tmp_path / "containers.conf")
    env["MCP_REGISTRY_PODMAN_HOSTS"] = "far"
    time_entry = tomllib.loads(await anyio.Path(TEST_CATALOG_DIR / "time.toml").read_text())
    env = with_catalog(env, write_catalog(tmp_path / "extra", [{**time_entry, "id": "time-far", "host": "far"}]))
    async with connect_registry(env) as session:
        for _ in range(150):  # each host connects in the background from the start
            status = structured(await session.call_tool("registry_status", {}))
            if status["podman"]["hosts"]["far"].get("available") is not None:
                break
            await anyio.sleep(0.2)
        assert status["podman"]["hosts"]["far"]["socket_origin"] == "remote", status["podman"]

        here = structured(await session.call_tool("registry_add", {"entry_id": "time"}))
        there = structured(await session.call_tool("registry_add", {"entry_id": "memory", "host": "far"}))
        by_entry = structured(await session.call_tool("registry_add", {"entry_id": "time-far"}))
        assert "host" not in here and there["host"] == "far" and by_entry["host"] == "far", (here, there, by_entry)
        moved = await session.call_tool("registry_add", {"entry_id": "memory", "host": "local"})
        assert moved.is_error, text_of(moved)  # an active server is not moved behind the user's back
        assert "already active as prefix 'memory' on the Podman host 'far'" in text_of(moved), text_of(moved)
        far = remote_host["podman_url"]
        assert our_containers() == [here["container"]], our_containers()
        assert sorted(our_containers(far)) == sorted([there["container"], by_entry["container"]])

        # Where each runs: the far ones through `podman --remote --url <far's tunnel>`, the local one not.
        far_socket = structured(await session.call_tool("registry_status", {}))["podman"]["hosts"]["far"]["socket"]
        runs = run_commands(status["pid"])
        assert b"--remote" not in runs[here["container"]], runs
        for name in (there["container"], by_entry["container"]):
            assert runs[name][1:4] == [b"--remote", b"--url", far_socket.encode()], runs[name]

        created = await session.call_tool(
            "memory_create_entities",
            {"entities": [{"name": "far-away", "entityType": "place", "observations": ["through ssh"]}]},
        )
        assert not created.is_error, text_of(created)
        assert "far-away" in text_of(await session.call_tool("memory_read_graph", {}))
        for tool in ("time_get_current_time", "time-far_get_current_time"):
            answered = await session.call_tool(tool, {"timezone": "Asia/Tokyo"})
            assert not answered.is_error and "Asia/Tokyo" in text_of(answered), text_of(answered)

        # The model picks among the configured hosts only.
        refused = await session.call_tool("registry_add", {"entry_id": "sqlite", "host": "elsewhere"})
        assert refused.is_error
        assert "no Podman host named 'elsewhere'. Configured: local, far" in text_of(refused), text_of(refused)

        # `mcp-registry ps` lists the containers of both hosts, each with its host.
        mcp_registry = str(Path(sys.executable).parent / "mcp-registry")
        listed = await anyio.run_process([mcp_registry, "ps", "--json"], env=env)
        hosts = {row["name"]: row["host"] for row in json.loads(listed.stdout) if row["name"]}
        assert hosts == {here["container"]: "local", there["container"]: "far", by_entry["container"]: "far"}, hosts

        verdict, lines = doctor_hosts(await anyio.run_process([mcp_registry, "doctor", "--json"], env=env, check=False))
        assert verdict == "ok" and lines[0].startswith(f"far: far ({remote_host['CONTAINER_HOST']})"), lines
        assert "(Podman " in lines[0], lines

        # far goes away: its servers fail naming it, the local one keeps working, far is named at the next need.
        sshd = int(remote_host["sshd_pid"])
        for victim in [sshd, *descendants(sshd)]:
            os.kill(victim, signal.SIGKILL)
        dropped = await session.call_tool("memory_read_graph", {})
        assert dropped.is_error and "on the Podman host 'far' exited during" in text_of(dropped), text_of(dropped)
        answered = await session.call_tool("time_get_current_time", {"timezone": "UTC"})
        assert not answered.is_error, text_of(answered)
        again = await session.call_tool("registry_add", {"entry_id": "sqlite", "host": "far"})
        assert again.is_error and "The Podman host 'far' is not available" in text_of(again), text_of(again)
        assert "Connection refused" in text_of(again), text_of(again)
        verdict, lines = doctor_hosts(await anyio.run_process([mcp_registry, "doctor", "--json"], env=env, check=False))
        assert verdict == "fail" and lines[0].startswith("far: The Podman host far ("), lines
        assert "cannot be reached" in lines[0], lines
        local = structured(await session.call_tool("registry_add", {"entry_id": "sqlite"}))
        assert sorted(our_containers()) == sorted([here["container"], local["container"]])
        status = structured(await session.call_tool("registry_status", {}))
        assert status["podman"]["available"] and status["podman"]["hosts"]["far"]["available"] is False
    # Both hosts are left clean: here by the registry, there by `--rm` once the runs lost their client.
    assert await wait_for(lambda: our_containers() == [] == our_containers(far), 30, interval=0.5)


async def test_a_2026_editor_picks_a_host_too(
    registry_env: dict[str, str], remote_host: dict[str, str], tmp_path: Path
) -> None:
    """The same `registry_add(host=…)` from a 2026-07-28 editor (the SDK's Client in modern mode)."""
    env = with_far_connection(registry_env, remote_host, tmp_path / "containers.conf")
    env["MCP_REGISTRY_PODMAN_HOSTS"] = "far"
    far = remote_host["podman_url"]
    async with Client(StdioServerParameters(command=str(REGISTRY_EXECUTABLE), env=env), mode="2026-07-28") as client:
        assert client.protocol_version == "2026-07-28"
        added = await client.call_tool("registry_add", {"entry_id": "time", "host": "far"})
        assert not added.is_error and added.structured_content["host"] == "far", added
        assert our_containers(far) == [added.structured_content["container"]] and our_containers() == []
        answered = await client.call_tool("time_get_current_time", {"timezone": "Asia/Tokyo"})
        assert not answered.is_error and "Asia/Tokyo" in text_of(answered), text_of(answered)
        removed = await client.call_tool("registry_remove", {"entry_id_or_prefix": "time"})
        assert removed.structured_content["container_removed"] is True, removed
        assert our_containers(far) == []


def image_exists(reference: str, *url: str) -> bool:
    found = subprocess.run(
        ["podman", *(["--url", *url] if url else []), "image", "exists", reference], check=False, timeout=60
    )
    return found.returncode == 0


async def test_a_package_entry_is_built_on_the_host_that_runs_it(
    registry_env: dict[str, str], remote_host: dict[str, str], tmp_path: Path
) -> None:
    """The build goes to far with its context (CA copy included); the image is there, not here."""
    env = with_far_connection(registry_env, remote_host, tmp_path / "containers.conf")
    env["MCP_REGISTRY_PODMAN_HOSTS"] = "far"
    # A version no other test builds, so no image of it exists anywhere yet (far's store is fresh).
    entry = {
        "id": "time-built-far",
        "name": "Time (PyPI package, built on far)",
        "description": "The reference time server, from PyPI, built on the host that runs it.",
        "package": {"registry": "pypi", "name": "mcp-server-time", "version": "2026.10.10"},
        "args": ["--local-timezone", "UTC"],
        "host": "far",
    }
    env = with_catalog(env, write_catalog(tmp_path / "extra", [entry]))
    far = remote_host["podman_url"]
    async with connect_registry(env) as session:
        added = await session.call_tool("registry_add", {"entry_id": "time-built-far"})
        assert not added.is_error, text_of(added)
        image = structured(await session.call_tool("registry_status", {}))["mounts"][0]["image"]
        assert image.startswith("localhost/mcp-registry-pkg/pypi-mcp-server-time:2026.10.10-"), image
        assert image_exists(image, far) and not image_exists(image)
        assert our_containers(far) == [structured(added)["container"]] and our_containers() == []
        answered = await session.call_tool("time-built-far_get_current_time", {"timezone": "Europe/Paris"})
        assert not answered.is_error and "Europe/Paris" in text_of(answered), text_of(answered)
    assert await wait_for(lambda: our_containers(far) == [], 30, interval=0.5)
