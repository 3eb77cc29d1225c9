"""OpenAPI entries (issue 15): a real REST API's document imported, served as tools by FastMCP in a container.

Real Podman and a real API: a FastAPI app (test image `fastapi-app`) on a network this test creates,
with API-key auth, path, query and body parameters and an error route. Its own /openapi.json (3.1)
is imported with `mcp-registry catalog import openapi URL`, the key set as a secret, and every tool
called through `mcp-registry serve` with the SDK client, the server running on the FastMCP package the
registry builds from PyPI (the other test runs the prebuilt `MCP_REGISTRY_OPENAPI_IMAGE`). The API says whether the key matched
(never the key); the key must appear in no tool output, log, argv or `podman inspect` (beyond the
Config.Env listing Podman before 5.3 gives `type=env` secrets), and the server reaches only the
API's host:port, through the egress proxy.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomli_w

from tests.e2e.harness import all_cmdlines, podman_inspect, structured, text_of, with_catalog
from tests.e2e.support import IMAGE_PREFIX, REGISTRY_EXECUTABLE, TEST_LABEL, connect_registry, owned_by_this_process
from tests.e2e.test_secrets import files_containing, json_paths_holding, podman_masks_env_secrets


def podman(*args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=True, timeout=60, env=env).stdout


@pytest.fixture
def notes_api(test_images: dict[str, str]) -> Iterator[dict[str, str]]:
    """The FastAPI app and a second web server (not allowed) on a network standing in for the internet.

    Both carry our owner label, so a concurrent test session's cleanup leaves them running."""
    pid = os.getpid()
    network, api, other = (f"mcp-registry-test-{part}-{pid}" for part in ("openapi-net", "notes-api", "other-web"))
    key, client_secret = f"notes-key-{secrets.token_hex(12)}", f"notes-client-secret-{secrets.token_hex(12)}"
    podman("network", "create", "--label", f"{TEST_LABEL}=openapi", network)
    # The host reaches the API through a published port: rootless Podman's container addresses are not
    # routed to the host (and as root another network may hold the same address).
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        host_port = probe.getsockname()[1]
    try:
        podman(
            "run", "--detach", "--rm", "--name", api, "--label", f"{TEST_LABEL}=openapi", owned_by_this_process(),
            f"--network={network}", "--publish", f"127.0.0.1:{host_port}:8000",
            "--env", "NOTES_API_KEY", "--env", "NOTES_CLIENT_SECRET", f"{IMAGE_PREFIX}/fastapi-app",
            env={**os.environ, "NOTES_API_KEY": key, "NOTES_CLIENT_SECRET": client_secret},
        )  # fmt: skip
        podman(
            "run", "--detach", "--rm", "--name", other, "--label", f"{TEST_LABEL}=openapi", owned_by_this_process(),
            f"--network={network}",
            f"{IMAGE_PREFIX}/base", "sh", "-c", "mkdir /tmp/w && cd /tmp/w && exec python3 -m http.server 8000",
        )  # fmt: skip
        addresses = {
            name: podman_inspect(name)["NetworkSettings"]["Networks"][network]["IPAddress"] for name in (api, other)
        }
        yield {
            "network": network,
            "api": f"{addresses[api]}:8000",
            "host_api": f"127.0.0.1:{host_port}",
            "other": f"{addresses[other]}:8000",
            "key": key,
            "client_secret": client_secret,
        }
    finally:
        subprocess.run(["podman", "rm", "--force", "--ignore", "--time", "0", api, other], check=False, timeout=60)
        subprocess.run(["podman", "network", "rm", "--force", network], check=False, timeout=60)


def cli(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REGISTRY_EXECUTABLE), *args], input=stdin, capture_output=True, text=True, env=env, timeout=120
    )


def wait_for_api(address: str) -> None:
    import time
    import urllib.request

    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://{address}/openapi.json", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


async def test_an_imported_rest_api_is_served_as_tools_with_its_key_kept_secret(
    registry_env: dict[str, str], notes_api: dict[str, str], tmp_path: Path
) -> None:
    api, key = notes_api["api"], notes_api["key"]
    wait_for_api(notes_api["host_api"])
    catalog = tmp_path / "openapi-catalog"
    env = {
        **with_catalog(registry_env, catalog),
        "MCP_REGISTRY_EGRESS_NETWORK": notes_api["network"],
        "MCP_REGISTRY_PROXY_IMAGE": f"{IMAGE_PREFIX}/proxy",
        # No MCP_REGISTRY_OPENAPI_IMAGE: the runtime is the FastMCP package, built from PyPI on the first add.
    }
    imported = cli(
        env, "catalog", "import", "openapi", f"http://{notes_api['host_api']}/openapi.json", "--name", "notes",
        "--base-url", f"http://{api}", "--out", str(catalog), "--json",
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    listing = json.loads(imported.stdout)
    assert [tool["name"] for tool in listing["tools"]] == [
        "get_note",
        "delete_note",
        "create_note",
        "always_fails",
        "hello_text",
        "whoami",
    ]
    assert listing["allow_hosts"] == [api] and listing["secrets"] == ["NOTES_API_KEY"]
    entry = tomllib.loads((catalog / "notes.toml").read_text())
    assert entry["openapi"]["auth"] == {"type": "api_key", "name": "X-API-Key", "secret": "NOTES_API_KEY"}
    # A twin whose base URL is the other server, still allowed only the API's host: the proxy refuses it.
    twin = {
        **entry,
        "id": "notes-elsewhere",
        "openapi": {**entry["openapi"], "base_url": f"http://{notes_api['other']}"},
    }
    (catalog / "notes-elsewhere.toml").write_text(tomli_w.dumps(twin))
    # And one that signs in with OAuth2 client credentials at the API's token URL.
    oauth = {
        **entry,
        "id": "notes-oauth",
        "secrets": [{"name": "NOTES_CLIENT_ID"}, {"name": "NOTES_CLIENT_SECRET"}],
        "openapi": {
            **entry["openapi"],
            "auth": {
                "type": "oauth2_client_credentials",
                "token_url": f"http://{api}/token",
                "scopes": ["notes"],
                "client_id_secret": "NOTES_CLIENT_ID",
                "client_secret_secret": "NOTES_CLIENT_SECRET",
            },
        },
    }
    (catalog / "notes-oauth.toml").write_text(tomli_w.dumps(oauth))
    client_secret = notes_api["client_secret"]
    for entry_id, name, value in (
        ("notes", "NOTES_API_KEY", key),
        ("notes-elsewhere", "NOTES_API_KEY", key),
        ("notes-oauth", "NOTES_CLIENT_ID", "notes-client"),
        ("notes-oauth", "NOTES_CLIENT_SECRET", client_secret),
    ):
        stored = cli(env, "config", "set", entry_id, name, "--stdin", stdin=value)
        assert stored.returncode == 0, stored.stderr

    log_path = tmp_path / "registry.log"
    seen: list[str] = []
    with log_path.open("w") as errlog:
        async with connect_registry(env, errlog=errlog) as session:
            added = structured(await session.call_tool("registry_add", {"entry_id": "notes", "prefix": "notes"}))
            tools = {tool.name: tool for tool in (await session.list_tools()).tools}
            names = sorted(name for name in tools if name.startswith("notes_"))
            assert names == [
                "notes_always_fails",
                "notes_create_note",
                "notes_delete_note",
                "notes_get_note",
                "notes_hello_text",
                "notes_whoami",
            ]
            get_note = tools["notes_get_note"]
            assert set(get_note.input_schema["properties"]) >= {"note_id", "upper"}
            assert get_note.input_schema["required"] == ["note_id"]
            assert "text" in tools["notes_create_note"].input_schema["properties"]  # the body, its $ref resolved
            assert get_note.description and "Read one note" in get_note.description
            assert get_note.annotations and get_note.annotations.read_only_hint is True
            deleting = tools["notes_delete_note"].annotations
            assert deleting and deleting.destructive_hint is True and deleting.read_only_hint is False

            read = await session.call_tool("notes_get_note", {"note_id": 1, "upper": True})
            assert not read.is_error, text_of(read)
            assert read.structured_content == {"id": 1, "text": "FIRST NOTE", "key_ok": True}
            created = await session.call_tool("notes_create_note", {"text": "second", "tags": ["a"]})
            assert not created.is_error and created.structured_content == {"id": 2, "text": "second", "key_ok": True}
            deleted = await session.call_tool("notes_delete_note", {"note_id": 2})
            assert not deleted.is_error, text_of(deleted)  # the API refuses a wrong key with a 401
            assert json.loads(text_of(deleted)) == {"deleted": True, "key_ok": True}
            missing = await session.call_tool("notes_get_note", {"note_id": 99})
            assert missing.is_error and "404" in text_of(missing) and "no note 99" in text_of(missing)
            failed = await session.call_tool("notes_always_fails", {})
            assert failed.is_error and "418" in text_of(failed) and "the teapot refuses" in text_of(failed)
            greeting = await session.call_tool("notes_hello_text", {"name": "you"})  # no JSON schema: text
            assert not greeting.is_error and text_of(greeting) == "hello you", text_of(greeting)
            assert tools["notes_hello_text"].output_schema is None and not greeting.structured_content
            seen += [text_of(result) + json.dumps(result.structured_content or {}) for result in
                     (read, created, deleted, missing, failed, greeting)]  # fmt: skip

            # The key travels as a Podman secret: on no argv, and in `podman inspect` only where Podman
            # before 5.3 lists env secrets; the spec and server script are mounted read-only.
            assert [argv for argv in all_cmdlines().values() if key.encode() in argv] == []
            inspected = podman_inspect(added["container"])
            leaks = json_paths_holding(inspected, key)
            assert all(path.startswith("Config.Env[") for path in leaks) and (
                leaks == [] or not podman_masks_env_secrets()
            )
            mounts = {mount["Destination"]: mount for mount in inspected["Mounts"]}
            assert mounts["/opt/mcp-registry-openapi/openapi.json"]["Source"] == str(catalog / "notes.openapi.json")
            assert all("ro" in mount["Options"] or not mount["RW"] for mount in mounts.values())
            assert inspected["HostConfig"]["ReadonlyRootfs"] is True
            assert list(inspected["NetworkSettings"]["Networks"]) != [notes_api["network"]]  # behind the proxy

            # OAuth2: a token fetched at the token URL, then reused.
            await session.call_tool("registry_add", {"entry_id": "notes-oauth", "prefix": "oauth"})
            signed_in = [await session.call_tool("oauth_whoami", {}) for _ in range(2)]
            assert [result.structured_content for result in signed_in] == [{"token_ok": True, "tokens_issued": 1}] * 2
            seen += [text_of(result) for result in signed_in]
            unsigned = await session.call_tool("notes_whoami", {})
            assert unsigned.structured_content == {"token_ok": False, "tokens_issued": 1}

            # The same API at another host:port of the same network: the proxy lets nothing through.
            await session.call_tool("registry_add", {"entry_id": "notes-elsewhere", "prefix": "elsewhere"})
            refused = await session.call_tool("elsewhere_get_note", {"note_id": 1})
            assert refused.is_error and "403" in text_of(refused), text_of(refused)
            seen.append(text_of(refused))
    for secret in (key, client_secret):
        assert [text for text in seen if secret in text] == []
        assert secret not in log_path.read_text()
        # Nor in any file the registry wrote (its logs, the servers' stderr logs, the catalog): the secrets file only.
        assert files_containing(tmp_path, secret.encode()) == [tmp_path / "config" / "mcp-registry" / "secrets.toml"]


@pytest.fixture
def quiet_network(test_images: dict[str, str]) -> Iterator[str]:
    """A network for the egress proxies of entries whose API is never called."""
    network = f"mcp-registry-test-openapi-quiet-{os.getpid()}"
    podman("network", "create", "--label", f"{TEST_LABEL}=openapi", network)
    try:
        yield network
    finally:
        subprocess.run(["podman", "network", "rm", "--force", network], check=False, timeout=60)


FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "openapi"


async def test_public_documents_in_every_version_are_served_with_the_tools_the_import_listed(
    registry_env: dict[str, str], quiet_network: str, tmp_path: Path
) -> None:
    catalog = tmp_path / "openapi-catalog"
    env = {
        **with_catalog(registry_env, catalog),
        "MCP_REGISTRY_EGRESS_NETWORK": quiet_network,
        "MCP_REGISTRY_PROXY_IMAGE": f"{IMAGE_PREFIX}/proxy",
        "MCP_REGISTRY_OPENAPI_IMAGE": f"{IMAGE_PREFIX}/openapi-runtime",
    }
    listed = {}
    for entry_id, name in (
        ("pets20", "petstore-swagger-2.0.yaml"),
        ("pets30", "petstore-3.0.yaml"),
        ("pets31", "petstore-3.1.yaml"),
    ):
        imported = cli(
            env,
            "catalog",
            "import",
            "openapi",
            str(FIXTURES / name),
            "--name",
            entry_id,
            "--out",
            str(catalog),
            "--json",
        )
        assert imported.returncode == 0, imported.stderr
        listed[entry_id] = [tool["name"] for tool in json.loads(imported.stdout)["tools"]]
    # A stored document broken after the import, and one deleted: each fails alone, saying why.
    broken = tomllib.loads((catalog / "pets30.toml").read_text())
    for entry_id in ("pets-broken", "pets-gone"):
        spec = catalog / f"{entry_id}.openapi.json"
        copy = {**broken, "id": entry_id, "openapi": {**broken["openapi"], "spec": str(spec)}}
        (catalog / f"{entry_id}.toml").write_text(tomli_w.dumps(copy))
    document = json.loads((catalog / "pets30.openapi.json").read_text())
    document["paths"]["/pets"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"] = "#/gone"
    (catalog / "pets-broken.openapi.json").write_text(json.dumps(document))
    async with connect_registry(env) as session:
        failed = await session.call_tool("registry_add", {"entry_id": "pets-broken"})
        assert failed.is_error and "$ref '#/gone' names nothing in the document" in text_of(failed), text_of(failed)
        gone = await session.call_tool("registry_add", {"entry_id": "pets-gone"})
        assert gone.is_error and "pets-gone.openapi.json is missing" in text_of(gone), text_of(gone)
        for entry_id, names in listed.items():
            assert names == ["listPets", "createPets", "showPetById"]
            structured(await session.call_tool("registry_add", {"entry_id": entry_id, "prefix": entry_id}))
            served = {t.name: t for t in (await session.list_tools()).tools if t.name.startswith(f"{entry_id}_")}
            assert sorted(served) == sorted(f"{entry_id}_{name}" for name in names), entry_id
            show = served[f"{entry_id}_showPetById"]
            assert show.input_schema["properties"]["petId"]["type"] == "string" and show.input_schema["required"] == [
                "petId"
            ]
            assert show.description and "Info for a specific pet" in show.description
            assert served[f"{entry_id}_listPets"].input_schema["properties"]["limit"]["type"] == "integer"
            assert show.output_schema is not None  # a response schema (Pet, its $ref resolved): structured content
