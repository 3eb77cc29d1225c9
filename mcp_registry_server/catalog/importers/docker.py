"""Import Docker's MCP catalog (github.com/docker/mcp-registry, MIT): `servers/<name>/server.yaml` + `tools.json`.

Contract: `import_docker_catalog(directory, imported_at=…)` reads every `<name>/server.yaml` under
`directory` (the snapshot root holding `servers/`, the `servers/` dir itself, or one server's dir)
in name order and returns an `ImportResult`: one `CatalogEntry` per record it can express, and an
`ImportProblem` (name, file, reason) for each one it cannot. `entry_from_docker` maps one record.

How a record maps (Docker's field → ours):
- `name` → `id` (lowercased; other characters outside the id alphabet become `-`); `about.title`
  → `name`; `about.description` → `description`; `meta.category` + `meta.tags` → `tags`;
  `source.project`/`commit`/`directory` → `source` (a tree URL).
- `image` → `image`, qualified with `docker.io/` as Docker resolves it; `run.command` → `args`
  (it follows the image, as Docker's command does); `run.allowHosts` → `allow_hosts` (reached
  through the egress proxy; a list with a wildcard like `*:8081`, which the proxy cannot express,
  gives the whole network instead); otherwise `network = "bridge"` (Docker gives every server the
  network) unless `run.disableNetwork` says `"none"`.
- `config.secrets` → `[[secrets]]` named after the env var they fill; `config.env` and `run.env`
  → `[[env]]` whose default is the value template; `config.parameters` (a JSON schema, nested
  objects flattened to `a.b`) → `[[parameters]]`. Templates `{{server.param}}` become `{{param}}`
  (the `into` and `or:` filters are dropped: a parameter holds one text value).
- `run.volumes` → `[[volumes]]` (off until the user enables them). A named volume keeps its name
  as the source and its target becomes a writable path, so the server runs without it; a source
  from a parameter has no default source (the user names the host path when enabling it), and
  `{{p|volume}}` (Docker mounts the path at itself) is mounted at `/mnt/<p>`, which `{{p|volume-target}}`
  then names.
- `type: remote` → `remote = {url, transport, headers}` with no image; `oauth` → `oauth`;
  `type: poci` (each tool a one-off container) → `unsupported`, with its tools known.
- `tools.json` → `[[tools]]` with `input_schema` (its `inputSchema`, or one built from `arguments`).
A record whose command line would carry a secret becomes `unsupported` (secrets never go on argv).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from mcp_registry_server.catalog.entry import (
    ALLOWED_HOST_PATTERN,
    CONTAINER_PATH_PATTERN,
    CatalogEntry,
    variable_references,
    volume_source_problem,
)
from mcp_registry_server.catalog.importers import ImportProblem, ImportResult, validated_entry
from mcp_registry_server.files import read_regular_file

__all__ = ["DockerImportError", "entry_from_docker", "find_server_files", "import_docker_catalog"]

FORMAT = "docker"
MAX_FILE_BYTES = 1024 * 1024
_TEMPLATE = re.compile(r"\{\{\s*([^}|\s]+)\s*((?:\|[^}|]+)*)\s*\}\}")
_ID_ALPHABET = re.compile(r"[^a-z0-9._-]+")
_VOLUME_NAME = re.compile(r"[^a-z0-9_-]+")
_TRANSPORTS = {"sse": "sse", "streamable-http": "streamable-http", "http": "streamable-http"}


class DockerImportError(ValueError):
    """A record that cannot become a catalog entry; the message says why."""


def find_server_files(directory: Path) -> list[Path]:
    """The `server.yaml` files under `directory`: a snapshot root, its `servers/` dir, or one server's dir."""
    if (directory / "server.yaml").is_file():
        return [directory / "server.yaml"]
    root = directory / "servers" if (directory / "servers").is_dir() else directory
    return sorted(path for path in root.glob("*/server.yaml") if path.is_file())


def import_docker_catalog(directory: Path, *, imported_at: str) -> ImportResult:
    """Every record under `directory` as an entry, or a problem; see the module docstring."""
    result = ImportResult()
    for path in find_server_files(directory):
        shown = _shown_path(path, directory)
        try:
            server = _read_yaml(path)
            tools = _read_tools(path.parent / "tools.json")
            result.entries.append(entry_from_docker(server, tools, source_file=shown, imported_at=imported_at))
        except DockerImportError as error:
            result.problems.append(ImportProblem(path.parent.name, shown, str(error)))
    return result


def entry_from_docker(
    server: dict[str, Any], tools: list[Any] | None, *, source_file: str, imported_at: str
) -> CatalogEntry:
    """One Docker record (a parsed server.yaml, its tools.json) as a `CatalogEntry`; DockerImportError if it cannot be."""
    name = server.get("name")
    if not isinstance(name, str) or not name:
        raise DockerImportError("it has no name")
    kind = server.get("type", "server")
    about = _mapping(server.get("about"))
    meta = _mapping(server.get("meta"))
    run = _mapping(server.get("run"))
    config = _mapping(server.get("config"))
    data: dict[str, Any] = {
        "id": _entry_id(name),
        "name": _text(about.get("title")) or name,
        "description": _text(about.get("description"))
        or _text(config.get("description"))
        or _text(about.get("title"))
        or name,
        "tags": list(dict.fromkeys(t for t in [meta.get("category"), *_list(meta.get("tags"))] if isinstance(t, str))),
        "source": _source_url(_mapping(server.get("source"))),
        "imported": {"format": FORMAT, "source_file": source_file, "imported_at": imported_at},
    }
    # A few records put the parameters' schema on `config` itself.
    parameters = _parameters(_mapping(config.get("parameters")) or config)
    volumes, volume_targets = _volumes(_list(run.get("volumes")), parameters)
    data["secrets"] = [_secret(item) for item in _list(config.get("secrets"))]
    data["env"] = _env(config, run)
    data["args"] = [_template(str(arg), volume_targets) for arg in _list(run.get("command"))]
    used = {p for text in [*data["args"], *(v.get("default") or "" for v in data["env"])] for p in _references(text)}
    taken = {var["name"] for var in data["env"]} | {secret["name"] for secret in data["secrets"]}
    # A parameter that only chose a mount's host path is now the volume's source, set when enabling it;
    # one named like an env var is that env var, set directly.
    parameters = [p for p in parameters if p["name"] not in taken]
    data["parameters"] = [p for p in parameters if p["name"] in used or p["name"] not in volume_targets]
    # Docker fills a template naming an undeclared parameter with "": declared here, the user can set it.
    declared = {p["name"] for p in parameters}
    data["parameters"] += [
        {"name": name, "description": "Named by the server's templates but not declared in Docker's record."}
        for name in sorted(used - declared)
    ]
    data["volumes"] = volumes
    data["writable_paths"] = [v["target"] for v in volumes if v.get("source") and not v["source"].startswith("/")]
    hosts = [str(host) for host in _list(run.get("allowHosts"))]
    # A pattern the proxy cannot express (`*:8081`) would block what it names: then the whole network.
    data["allow_hosts"] = hosts if all(ALLOWED_HOST_PATTERN.fullmatch(host.lower()) for host in hosts) else []
    # Docker gives every server the network; with allowHosts, the registry's egress proxy gives just those.
    # (Remote and one-container-per-tool entries run nothing here, so they get none.)
    runs_here = kind == "server"
    data["network"] = "bridge" if runs_here and not (run.get("disableNetwork") or data["allow_hosts"]) else "none"
    data["oauth"] = [
        {"provider": str(auth.get("provider") or "unknown"), **({"env": auth["env"]} if auth.get("env") else {})}
        for auth in map(_mapping, _list(server.get("oauth")))
    ]
    data["tools"] = _known_tools(tools, server.get("tools"))
    if kind == "remote":
        data["remote"] = _remote(_mapping(server.get("remote")))
    elif kind == "poci":
        images = sorted(
            {str(_mapping(t.get("container")).get("image")) for t in map(_mapping, _list(server.get("tools")))}
        )
        data["unsupported"] = (
            f"Docker runs each of its tools as a one-off container ({', '.join(images)}) rather than as an MCP "
            "server; the registry does not support such entries yet."
        )
    elif kind == "server":
        image = server.get("image")
        if not isinstance(image, str) or not image:
            raise DockerImportError("it is a server without an image")
        data["image"] = _qualified_image(image)
    else:
        raise DockerImportError(f"its type {kind!r} is not one of server, remote, poci")
    secret_names = {secret["name"] for secret in data["secrets"]}
    if leaked := sorted({n for arg in data["args"] for n in variable_references(arg)} & secret_names):
        data["unsupported"] = (
            f"its command line carries the secret {', '.join(leaked)}, and the registry never puts secrets "
            "on a command line (other users can read it)."
        )
        data["args"] = []
    try:
        return validated_entry(data)
    except ValueError as error:
        raise DockerImportError(str(error)) from None


# --- files ----------------------------------------------------------------------------------------


def _shown_path(path: Path, directory: Path) -> str:
    # Shown from the snapshot root when there is one: `servers/SQLite/server.yaml`, `SQLite/server.yaml`.
    base = directory.parent if directory.name == "servers" or (directory / "server.yaml").is_file() else directory
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


def _read_text(path: Path) -> str | None:
    try:
        raw = read_regular_file(path, MAX_FILE_BYTES)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise DockerImportError(f"{path.name} could not be read ({error.strerror or error})") from None
    if raw is None or len(raw) > MAX_FILE_BYTES:
        raise DockerImportError(f"{path.name} is not a regular file under {MAX_FILE_BYTES // 1024} KiB")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DockerImportError(f"{path.name} is not UTF-8 text") from None


def _read_yaml(path: Path) -> dict[str, Any]:
    text = _read_text(path)
    try:
        data = yaml.safe_load(text or "")
    except yaml.YAMLError as error:
        raise DockerImportError(f"server.yaml is not valid YAML ({error})") from None
    if not isinstance(data, dict):
        raise DockerImportError("server.yaml does not hold a mapping")
    return data


def _read_tools(path: Path) -> list[Any] | None:
    text = _read_text(path)
    if text is None:
        return None
    try:
        tools = json.loads(text)
    except json.JSONDecodeError as error:
        raise DockerImportError(f"tools.json is not valid JSON ({error})") from None
    if not isinstance(tools, list):
        raise DockerImportError("tools.json does not hold a list")
    return tools


# --- fields ---------------------------------------------------------------------------------------


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _entry_id(name: str) -> str:
    return _ID_ALPHABET.sub("-", name.lower()).strip("-._")[:64] or "unnamed"


def _source_url(source: dict[str, Any]) -> str:
    project = _text(source.get("project"))
    if not project:
        return ""
    ref = _text(source.get("commit")) or _text(source.get("branch"))
    directory = _text(source.get("directory")).strip("/")
    return f"{project}/tree/{ref}/{directory}".rstrip("/") if ref else project


def _qualified_image(image: str) -> str:
    first = image.split("/", 1)[0]
    # Docker reads `mcp/sqlite` as docker.io/mcp/sqlite; Podman would ask which registry.
    qualified = "." in first or ":" in first or first == "localhost"
    return image if qualified and "/" in image else f"docker.io/{image}"


def _scalar(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


def _template(text: str, volume_targets: dict[str, str] | None = None) -> str:
    """Docker's `{{server.a.b|filter}}` as our `{{a.b}}`; `volume-target` names the mount's target."""

    def replace(match: re.Match[str]) -> str:
        path = match.group(1).split(".")
        parameter = ".".join(path[1:]) or path[0]
        filters = match.group(2)
        if "volume-target" in filters and volume_targets and parameter in volume_targets:
            return volume_targets[parameter]
        return "{{" + parameter + "}}"

    return _TEMPLATE.sub(replace, text)


def _references(text: str) -> set[str]:
    return set(re.findall(r"\{\{([^}]+)\}\}", text))


def _parameters(schema: dict[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    required = {str(name) for name in _list(schema.get("required"))}
    found: list[dict[str, Any]] = []
    for name, spec in _mapping(schema.get("properties")).items():
        spec = _mapping(spec)
        if spec.get("type") == "object" and isinstance(spec.get("properties"), dict):
            found += _parameters(spec, f"{prefix}{name}.")
            continue
        parameter: dict[str, Any] = {"name": f"{prefix}{name}"}
        if description := _text(spec.get("description")) or _text(spec.get("title")):
            parameter["description"] = description
        if (default := _scalar(spec.get("default"))) is not None:
            parameter["default"] = default
        if name in required:
            parameter["required"] = True
        found.append(parameter)
    return found


def _secret(item: object) -> dict[str, Any]:
    secret = _mapping(item)
    env, docker_name = secret.get("env"), secret.get("name")
    if not isinstance(env, str):
        raise DockerImportError(f"the secret {docker_name!r} names no env var to fill")
    description = _text(secret.get("description"))
    notes = [
        f"Docker secret {docker_name}" if docker_name else "",
        f"e.g. {secret['example']}" if secret.get("example") else "",
    ]
    extra = "; ".join(note for note in notes if note)
    found: dict[str, Any] = {
        "name": env,
        "description": f"{description} ({extra})" if description and extra else description or extra,
    }
    if secret.get("required") is False:
        found["required"] = False
    return found


def _env(config: dict[str, Any], run: dict[str, Any]) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for run_name, run_value in _mapping(run.get("env")).items():
        found[str(run_name)] = {"name": str(run_name), "default": _template(_scalar(run_value) or "")}
    for item in map(_mapping, _list(config.get("env"))):
        # One record writes a secret-like item: `name: uberall.access_token, env: UBERALL_ACCESS_TOKEN`.
        name = item.get("env") if isinstance(item.get("env"), str) else item.get("name")
        if not isinstance(name, str) or name in found:
            continue
        var: dict[str, Any] = {"name": name}
        value = _scalar(item.get("value"))
        if value is None:
            value = _scalar(item.get("default"))
        if value is not None:
            var["default"] = _template(value)
        description = _text(item.get("description"))
        if example := _scalar(item.get("example")):
            description = f"{description} (e.g. {example})" if description else f"e.g. {example}"
        if description:
            var["description"] = description
        if item.get("required"):
            var["required"] = True
        found[name] = var
    return list(found.values())


def _volumes(items: list[Any], parameters: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Docker's volume specs as declared volumes, and the container path each parameter-chosen mount gets."""
    by_name = {p["name"]: p for p in parameters}
    volumes: list[dict[str, Any]] = []
    targets: dict[str, str] = {}
    for spec in map(str, items):
        source, target, read_only = _split_volume(spec)
        match = _TEMPLATE.fullmatch(source)
        parameter = ".".join(match.group(1).split(".")[1:]) if match else None
        if parameter:
            name = _VOLUME_NAME.sub("-", parameter.lower()).strip("-_") or "data"
            if target is None or _TEMPLATE.search(target):
                target = f"/mnt/{name}"
            targets[parameter] = target
            default = by_name.get(parameter, {}).get("default", "")
            described = by_name.get(parameter, {}).get("description", "")
            volume: dict[str, Any] = {"name": name, "target": target}
            if default and volume_source_problem(default) is None:
                volume["source"] = default
            note = f"Docker mounts the host path set as {parameter}" + (f" (default {default})" if default else "")
            volume["description"] = f"{described}. {note}." if described else f"{note}."
        else:
            if target is None:
                raise DockerImportError(f"the volume {spec!r} names no container path")
            name = _VOLUME_NAME.sub("-", source.lower().rsplit("/", 1)[-1]).strip("-_") or "data"
            volume = {"name": name, "source": source, "target": target, "description": f"Docker mounts {source} here."}
        if not re.fullmatch(CONTAINER_PATH_PATTERN, volume["target"]):
            raise DockerImportError(f"the volume {spec!r} has a container path the registry cannot mount")
        if read_only:
            volume["read_only"] = True
        if all(v["name"] != volume["name"] and v["target"] != volume["target"] for v in volumes):
            volumes.append(volume)
    return volumes, targets


def _split_volume(spec: str) -> tuple[str, str | None, bool]:
    # `{{a|volume|into}}` is one spec with no colon outside the braces.
    outside = _TEMPLATE.sub(lambda m: "x" * len(m.group(0)), spec)
    cuts = [index for index, char in enumerate(outside) if char == ":"]
    if not cuts:
        return spec, None, False
    parts = [spec[: cuts[0]]] + [spec[a + 1 : b] for a, b in zip(cuts, [*cuts[1:], len(spec)], strict=True)]
    read_only = len(parts) > 2 and parts[2] == "ro"
    return parts[0], parts[1], read_only


def _remote(remote: dict[str, Any]) -> dict[str, Any]:
    transport = _TRANSPORTS.get(str(remote.get("transport_type", "streamable-http")))
    if transport is None:
        raise DockerImportError(f"its remote transport {remote.get('transport_type')!r} is not sse or streamable-http")
    headers = {str(key): _scalar(value) or "" for key, value in _mapping(remote.get("headers")).items()}
    return {"url": remote.get("url"), "transport": transport, **({"headers": headers} if headers else {})}


def _known_tools(tools_json: list[Any] | None, inline: object) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for tool in map(_mapping, [*(tools_json or []), *_list(inline)]):
        name = tool.get("name")
        if not isinstance(name, str) or not name or name in found:
            continue
        known: dict[str, Any] = {"name": name}
        if description := _text(tool.get("description")):
            known["description"] = description
        schema = tool.get("inputSchema") or tool.get("parameters") or _schema_of(_list(tool.get("arguments")))
        if isinstance(schema, dict) and schema:
            known["input_schema"] = schema
        found[name] = known
    return list(found.values())


def _schema_of(arguments: list[Any]) -> dict[str, Any] | None:
    """tools.json's `arguments` list as a JSON-schema object."""
    if not arguments:
        return None
    properties: dict[str, Any] = {}
    required: list[str] = []
    for argument in map(_mapping, arguments):
        name = argument.get("name")
        if not isinstance(name, str):
            continue
        prop: dict[str, Any] = {"type": argument.get("type", "string")}
        if description := _text(argument.get("desc")):
            prop["description"] = description
        if isinstance(argument.get("items"), dict):
            prop["items"] = argument["items"]
        properties[name] = prop
        if not argument.get("optional"):
            required.append(name)
    return {"type": "object", "properties": properties, **({"required": required} if required else {})}
