"""The catalog entry: what one MCP server is and how to run it.

One TOML file holds one entry. The model is validated once, when the file is read
(`catalog.loader`), and is immutable afterwards: everything downstream (search, the
container command line, `registry_info`) trusts it. Field names match the TOML keys.

Templates: `args` items and env defaults may name a parameter as `{{name}}` and an env var or secret
of the same entry (or HOME) as `$NAME` / `${NAME}`; `config.resolve` fills them in at activation.
An entry runs an `image`, a `package` built into one, the registry's OpenAPI server for an
`openapi` document (`openapi_server`), or is a `remote` server the registry connects to. Entries
the registry knows but cannot start yet say why (`not_runnable_reason`): Docker's
one-container-per-tool ("poci") entries, and OAuth sign-in without a secret to use instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from mcp_registry_server.urls import display_url

ENTRY_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
# Absolute container paths only: no `..`, no NUL, no `:` (it would split a podman mount spec).
CONTAINER_PATH_PATTERN = r"^/[A-Za-z0-9._/@+-]*$"
VOLUME_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}")
# Parameter names as Docker's catalog writes them: `db_path`, `apollo-graph-ref`, `jira.url` (nested).
PARAMETER_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$"
# `{{name}}` in an arg or env default: the value of parameter `name`.
PARAMETER_REFERENCE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")
# `$NAME` or `${NAME}`: an env value or secret of the same entry (or HOME); `$$` is a literal `$`.
VARIABLE_REFERENCE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*)|(\$))")


def variable_references(text: str) -> set[str]:
    """The `$NAME` / `${NAME}` names in `text`."""
    return {braced or plain for braced, plain, _ in VARIABLE_REFERENCE.findall(text) if braced or plain}


# npm (`@scope/name`, lower case) and PyPI (letters, digits, `._-`) package names.
PACKAGE_NAME_PATTERN = r"^(@[a-z0-9][a-z0-9._~-]*/)?[A-Za-z0-9][A-Za-z0-9._~-]{0,213}$"
PACKAGE_VERSION_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$"

MAX_HOST_PATH_CHARS = 4096
# `host:port` for allow_hosts: a DNS name or an IPv4 address (IPv6 is not supported yet), then a port.
_DNS_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
ALLOWED_HOST_PATTERN = re.compile(rf"(?P<host>{_DNS_LABEL}(?:\.{_DNS_LABEL})*):(?P<port>[0-9]{{1,5}})")
MAX_ALLOWED_HOSTS = 64


def volume_source_problem(source: str) -> str | None:
    """Why `source` cannot be mounted as a volume's source, or None when it can.

    The one rule for a volume source, wherever it comes from (a catalog entry, the user's settings,
    the container command line): a Podman volume name, or an absolute host path of at most
    MAX_HOST_PATH_CHARS characters without ':' or ',' (they would split podman's mount spec), NUL or
    other control characters, or '..' segments (the path would mean somewhere else than it says).
    The reason reads after "the source": "the source {reason}".
    """
    if source.startswith("/"):
        if any(char in ":," or ord(char) < 32 or ord(char) == 127 for char in source):
            return "is a host path with ':', ',' or a control character, which would break the mount"
        if ".." in source.split("/"):
            return "is a host path with '..' segments; give a plain absolute path"
        if len(source) > MAX_HOST_PATH_CHARS:
            return f"is a host path over {MAX_HOST_PATH_CHARS} characters; give a shorter absolute path"
        return None
    if VOLUME_NAME_PATTERN.fullmatch(source):
        return None
    return (
        "is neither an absolute host path (like /home/you/code) nor a Podman volume name (like my-data); "
        "relative paths and '~' are not expanded"
    )


def _reject_parent_segments(path: str) -> str:
    # The pattern alone admits `/../etc`; a mount target must not climb out of where it claims to be.
    if ".." in path.split("/"):
        raise ValueError("must not contain '..'")
    return path


def _repeated(values: list[str]) -> list[str]:
    return sorted({value for value in values if values.count(value) > 1})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EnvVar(_Strict):
    """A plain configuration value passed to the server as an environment variable."""

    name: Annotated[str, Field(pattern=ENV_NAME_PATTERN)]
    description: str = ""
    default: str | None = None
    required: bool = False


class Parameter(_Strict):
    """A plain setting that only fills `{{name}}` templates in args and env defaults (never a mount)."""

    name: Annotated[str, Field(pattern=PARAMETER_NAME_PATTERN)]
    description: str = ""
    default: str | None = None
    required: bool = False


class SecretVar(_Strict):
    """A secret passed as an environment variable; its value lives only in the 0600 secrets file."""

    name: Annotated[str, Field(pattern=ENV_NAME_PATTERN)]
    description: str = ""
    required: bool = True


class Volume(_Strict):
    """A declared mount. Off unless the user enables it; `source` is a named volume or a host path.

    An empty `source` means there is no default: the user names one when enabling it
    (`volume:<name>=/path`), as for imported volumes whose host path is a per-user setting.
    """

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
    target: Annotated[str, Field(pattern=CONTAINER_PATH_PATTERN)]
    source: str = ""
    description: str = ""
    read_only: bool = False

    @field_validator("source")
    @classmethod
    def _mountable_source(cls, source: str) -> str:
        if source and (problem := volume_source_problem(source)):
            raise ValueError(f"the source {problem}")  # the field path names which volume
        return source

    @field_validator("target")
    @classmethod
    def _no_parent_segments(cls, target: str) -> str:
        return _reject_parent_segments(target)


@dataclass(frozen=True)
class ToolFilter:
    """Which tools of a server are offered: those matching `allow` (all when empty), minus `deny`."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()

    def allows(self, tool_name: str) -> bool:
        if self.allow and not any(fnmatchcase(tool_name, pattern) for pattern in self.allow):
            return False
        return not any(fnmatchcase(tool_name, pattern) for pattern in self.deny)

    def why_not(self, tool_name: str) -> str:
        """Why `allows(tool_name)` is False, for an error message."""
        if self.allow and not any(fnmatchcase(tool_name, pattern) for pattern in self.allow):
            return f"it matches none of tools_allow {list(self.allow)}"
        return f"it matches tools_deny {[p for p in self.deny if fnmatchcase(tool_name, p)]}"


class KnownTool(_Strict):
    """A tool the server is known to offer, searchable before the server is activated.

    `input_schema` is a JSON-schema object (`{"type": "object", "properties": {...}}`) when known;
    tool search reads its property names.
    """

    name: str
    description: str = ""
    input_schema: dict[str, Any] | None = None

    @property
    def argument_names(self) -> list[str]:
        properties = (self.input_schema or {}).get("properties")
        return [name for name in properties if isinstance(name, str)] if isinstance(properties, dict) else []


class Package(_Strict):
    """A package the registry builds into a local image on the first add, at this exact version.

    `bin` names the package's executable when it has several (default: its only one, or the one
    named like the package). The entry's `args` follow it on the command line.
    """

    registry: Literal["npm", "pypi"]
    name: Annotated[str, Field(pattern=PACKAGE_NAME_PATTERN)]
    # An exact version: ranges (`^1`, `>=2`, `*`, `latest`) would make the build depend on the day.
    version: Annotated[str, Field(pattern=PACKAGE_VERSION_PATTERN)]
    bin: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")] | None = None

    @field_validator("version")
    @classmethod
    def _exact_version(cls, version: str) -> str:
        if version.lower() in {"latest", "next"}:
            raise ValueError("must be an exact version like 1.2.3, not a dist-tag")
        return version


class APIKeyAuth(_Strict):
    """An API key sent in a header, query parameter or cookie named `name`; `secret` holds it."""

    type: Literal["api_key"]
    location: Literal["header", "query", "cookie"] = "header"
    name: Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")]
    secret: Annotated[str, Field(pattern=ENV_NAME_PATTERN)]


class BearerAuth(_Strict):
    """`Authorization: Bearer <token>`; `secret` holds the token."""

    type: Literal["bearer"]
    secret: Annotated[str, Field(pattern=ENV_NAME_PATTERN)]


class BasicAuth(_Strict):
    """HTTP basic: `username_secret` and `password_secret` hold the two halves."""

    type: Literal["basic"]
    username_secret: Annotated[str, Field(pattern=ENV_NAME_PATTERN)]
    password_secret: Annotated[str, Field(pattern=ENV_NAME_PATTERN)]


class OAuth2ClientCredentials(_Strict):
    """OAuth2 client credentials: the server fetches a token at `token_url` and fetches anew when it expires."""

    type: Literal["oauth2_client_credentials"]
    token_url: Annotated[str, Field(pattern=r"^https?://\S+$")]
    scopes: list[Annotated[str, Field(min_length=1, max_length=256)]] = Field(default_factory=list)
    client_id_secret: Annotated[str, Field(pattern=ENV_NAME_PATTERN)]
    client_secret_secret: Annotated[str, Field(pattern=ENV_NAME_PATTERN)]


OpenAPIAuth = Annotated[APIKeyAuth | BearerAuth | BasicAuth | OAuth2ClientCredentials, Field(discriminator="type")]


class OpenAPISource(_Strict):
    """A REST API described by an OpenAPI document, served as MCP tools by the registry's OpenAPI server.

    `spec` is the absolute host path of the stored document (OpenAPI 3.x JSON, written by
    `catalog import openapi`), mounted read-only into the container. The filters choose the
    operations that become tools (`openapi_server.server.select_operations`); `auth` names the
    entry's secrets that hold the credentials.
    """

    spec: Annotated[str, Field(min_length=2)]
    base_url: Annotated[str, Field(pattern=r"^https?://[^\s/?#]+(/\S*)?$")]
    include_paths: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    exclude_paths: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    include_tags: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    max_tools: Annotated[int, Field(ge=1, le=1000)] | None = None
    auth: OpenAPIAuth | None = None

    @field_validator("base_url")
    @classmethod
    def _no_credentials_in_url(cls, base_url: str) -> str:
        # The base URL travels on the server's command line; credentials belong in [openapi.auth].
        if "@" in base_url.split("://", 1)[1].split("/", 1)[0]:
            raise ValueError("must not carry a user or password (user:pass@host); put them in [openapi.auth]")
        return base_url

    @field_validator("spec")
    @classmethod
    def _mountable_spec(cls, spec: str) -> str:
        if not spec.startswith("/"):
            raise ValueError("must be an absolute host path (catalog import openapi stores the document there)")
        if problem := volume_source_problem(spec):
            raise ValueError(f"the path {problem}")
        return spec

    @property
    def secret_names(self) -> list[str]:
        """The entry secrets `auth` reads."""
        auth = self.auth
        if isinstance(auth, APIKeyAuth | BearerAuth):
            return [auth.secret]
        if isinstance(auth, BasicAuth):
            return [auth.username_secret, auth.password_secret]
        if isinstance(auth, OAuth2ClientCredentials):
            return [auth.client_id_secret, auth.client_secret_secret]
        return []


class RemoteServer(_Strict):
    """A server reached over HTTP instead of run in a container.

    Header values may name the entry's secrets as `${NAME}`.
    """

    url: Annotated[str, Field(pattern=r"^https?://\S+$")]
    transport: Literal["sse", "streamable-http"] = "streamable-http"
    headers: dict[str, str] = Field(default_factory=dict)


class OAuthProvider(_Strict):
    """A sign-in the server expects (not handled by the registry yet). `env` is the variable the token fills."""

    provider: Annotated[str, Field(min_length=1)]
    env: Annotated[str, Field(pattern=ENV_NAME_PATTERN)] | None = None


class Provenance(_Strict):
    """Where an imported entry came from: the importer's format, the file or URL it read, and when."""

    format: Literal["docker", "mcp-registry", "openapi"]
    source_file: str = ""
    source_url: str = ""
    imported_at: Annotated[str, Field(min_length=1)]

    @model_validator(mode="after")
    def _names_a_source(self) -> Provenance:
        if not (self.source_file or self.source_url):
            raise ValueError("names neither source_file nor source_url")
        return self


class CatalogEntry(_Strict):
    """One MCP server in the catalog."""

    id: Annotated[str, Field(pattern=ENTRY_ID_PATTERN)]
    name: str
    description: str
    # Declared before `image`, whose check reads them: an entry that is remote, or that the registry
    # cannot run at all (`unsupported` says why, e.g. Docker's one-container-per-tool entries), has no image.
    remote: RemoteServer | None = None
    # Built into a local image on the first add (`registry.images`) instead of naming one.
    package: Package | None = None
    # Served by the registry's OpenAPI server (`openapi_server`), whose runtime image activation picks.
    openapi: OpenAPISource | None = None
    unsupported: str = ""
    image: Annotated[str, Field(validate_default=True)] = ""
    # Overrides the image's entrypoint when set; `args` follow the image name on the command line.
    command: list[str] = Field(default_factory=list)
    args: list[str] = Field(default_factory=list)
    env: list[EnvVar] = Field(default_factory=list)
    secrets: list[SecretVar] = Field(default_factory=list)
    parameters: list[Parameter] = Field(default_factory=list)
    network: Literal["none", "bridge"] = "none"
    # `host:port` pairs the server may reach, through the registry's egress proxy and nothing else
    # (HTTP and HTTPS only: the proxy speaks CONNECT and plain HTTP). Empty: `network` decides.
    allow_hosts: list[str] = Field(default_factory=list, max_length=MAX_ALLOWED_HOSTS)
    volumes: list[Volume] = Field(default_factory=list)
    # Extra tmpfs mounts for servers that write outside /tmp under the read-only root. When an enabled
    # volume has the same target, the volume takes the place of the tmpfs.
    writable_paths: list[Annotated[str, Field(pattern=CONTAINER_PATH_PATTERN)]] = Field(default_factory=list)
    read_only_root: bool = True
    memory: Annotated[str, Field(pattern=r"^[0-9]+[kmg]$")] = "512m"
    cpus: Annotated[float, Field(gt=0, le=64)] = 1.0
    pids_limit: Annotated[int, Field(ge=16, le=65536)] = 256
    # When the server exits on its own: "off" leaves the mount failed until it is removed;
    # "on-failure" starts it again after `restart_backoff` seconds, doubling the wait after each
    # attempt, at most `max_restarts` times over the mount's life.
    restart: Literal["off", "on-failure"] = "off"
    max_restarts: Annotated[int, Field(ge=0, le=100)] = 3
    restart_backoff: Annotated[float, Field(gt=0, le=600)] = 1.0
    # The Podman host it runs on: one the user configured (MCP_REGISTRY_PODMAN_HOSTS); None: the default.
    host: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,62}$")] | None = None
    tags: list[str] = Field(default_factory=list)
    tools: list[KnownTool] = Field(default_factory=list)
    # Which of the server's tools the registry offers (names or globs, matched case-sensitively):
    # none listed in tools_allow means all; tools_deny then takes some away. The user's settings
    # override either list.
    tools_allow: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(default_factory=list)
    tools_deny: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(default_factory=list)
    source: str = ""
    oauth: list[OAuthProvider] = Field(default_factory=list)
    imported: Provenance | None = None

    @field_validator("image")
    @classmethod
    def _plain_image_reference(cls, image: str, info: ValidationInfo) -> str:
        sources = [name for name in ("remote", "package", "openapi") if info.data.get(name) is not None]
        if image:
            sources.append("image")
        if len(sources) > 1:
            raise ValueError(f"an entry names one of image, package, openapi and remote, not {' and '.join(sources)}")
        if not image:
            if not sources and not info.data.get("unsupported"):
                raise ValueError("Field required (only package, openapi, remote or unsupported entries have no image)")
            return image
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/:@-]*", image):
            raise ValueError("must be an image reference like docker.io/mcp/sqlite:latest")
        return image

    @model_validator(mode="after")
    def _templates_name_parameters(self) -> CatalogEntry:
        # A `{{name}}` with no parameter behind it would reach the server literally.
        declared = {parameter.name for parameter in self.parameters}
        texts = [*self.args, *(var.default for var in self.env if var.default)]
        if unknown := sorted({name for text in texts for name in PARAMETER_REFERENCE.findall(text)} - declared):
            raise ValueError(
                f"templates name undeclared parameters: {', '.join(unknown)}; declare them in [[parameters]]"
            )
        if leaked := sorted({name for arg in self.args for name in variable_references(arg)} & self.secret_names):
            raise ValueError(f"args name the secrets {', '.join(leaked)}; secrets never go on a command line")
        return self

    @model_validator(mode="after")
    def _openapi_auth_names_secrets(self) -> CatalogEntry:
        if self.openapi is not None:
            if missing := [name for name in self.openapi.secret_names if name not in self.secret_names]:
                raise ValueError(
                    f"openapi.auth reads the secrets {', '.join(missing)}, which [[secrets]] does not declare"
                )
            if self.command or self.args:
                raise ValueError("an openapi entry runs the registry's OpenAPI server: drop command and args")
        return self

    @field_validator("allow_hosts")
    @classmethod
    def _host_port_pairs(cls, pairs: list[str]) -> list[str]:
        normalized = []
        for pair in pairs:
            match = ALLOWED_HOST_PATTERN.fullmatch(pair.lower())
            if match is None or not 0 < int(match["port"]) < 65536 or len(match["host"]) > 253:
                raise ValueError(f"{pair[:80]!r} is not host:port (like api.github.com:443 or 10.0.0.5:8080)")
            normalized.append(match[0])
        return list(dict.fromkeys(normalized))

    @field_validator("writable_paths")
    @classmethod
    def _writable_paths_stay_put(cls, paths: list[str]) -> list[str]:
        for path in paths:
            _reject_parent_segments(path)
        return paths

    @model_validator(mode="after")
    def _unique_variable_names(self) -> CatalogEntry:
        names = [var.name for var in self.env] + [var.name for var in self.secrets]
        duplicates = _repeated(names + [parameter.name for parameter in self.parameters])
        if duplicates:
            raise ValueError(
                f"env, secrets and parameters declare the same name more than once: {', '.join(duplicates)}"
            )
        return self

    @model_validator(mode="after")
    def _one_network_mode(self) -> CatalogEntry:
        if self.allow_hosts and self.network == "bridge":
            raise ValueError(
                'allow_hosts limits the server to those hosts through a proxy, network = "bridge" opens all of '
                "it: keep one (drop network to use the list)"
            )
        return self

    @model_validator(mode="after")
    def _unique_volumes(self) -> CatalogEntry:
        # Volumes are enabled by name and mounted by target; a repeat of either is ambiguous.
        for label, values in (
            ("names", [volume.name for volume in self.volumes]),
            ("targets", [volume.target for volume in self.volumes]),
        ):
            if duplicates := _repeated(values):
                raise ValueError(f"volumes declare the same {label} more than once: {', '.join(duplicates)}")
        return self

    @property
    def tool_filter(self) -> ToolFilter:
        return ToolFilter(tuple(self.tools_allow), tuple(self.tools_deny))

    @property
    def runs(self) -> str:
        """What the entry runs, in words: its image, its package, its OpenAPI document or its URL."""
        if self.remote is not None:
            return f"remote server ({self.remote.transport}) at {display_url(self.remote.url)}"
        if self.openapi is not None:
            return f"OpenAPI document {self.openapi.spec}, served by FastMCP (built into a local image)"
        if self.package is not None:
            return (
                f"{self.package.registry} package {self.package.name} {self.package.version} (built into a local image)"
            )
        return self.image or "nothing (not runnable)"

    @property
    def network_access(self) -> str:
        """What the server can reach, in words, for registry_info and the doctor."""
        if self.remote is not None:
            return f"runs elsewhere: the registry itself connects to {display_url(self.remote.url)}"
        if self.allow_hosts:
            return f"only {', '.join(self.allow_hosts)}, through the registry's HTTP(S) proxy"
        if self.network == "bridge":
            return "full network access (network = bridge, no allow_hosts)"
        return "no network"

    @property
    def secret_names(self) -> frozenset[str]:
        return frozenset(secret.name for secret in self.secrets)

    @property
    def oauth_without_secret(self) -> list[OAuthProvider]:
        """OAuth sign-ins whose token no declared secret can stand in for."""
        return [auth for auth in self.oauth if auth.env is None or auth.env not in self.secret_names]

    def oauth_note(self) -> str:
        """What the user should know about the entry's OAuth sign-in, or "" when it has none."""
        if not self.oauth:
            return ""
        providers = ", ".join(dict.fromkeys(auth.provider for auth in self.oauth))
        note = f"{self.id} signs in with OAuth ({providers}), which the registry does not handle yet."
        if usable := [auth.env for auth in self.oauth if auth.env in self.secret_names]:
            note += f" Set the secret {', '.join(dict.fromkeys(e for e in usable if e))} instead."
        return note

    def not_runnable_reason(self) -> str | None:
        """Why `registry_add` cannot start this entry (unsupported, OAuth only), or None.

        Remote entries run (the registry connects to their URL); those that sign in with OAuth and
        declare no secret to use instead do not, since the registry does not do OAuth sign-in yet.
        """
        if self.unsupported:
            return f"{self.id} cannot be run by the registry: {self.unsupported}"
        if self.oauth_without_secret:
            if self.remote is not None:
                return (
                    f"{self.oauth_note()} {self.id} is a remote server ({self.remote.url}) that needs that OAuth "
                    "sign-in, and it declares no secret that could carry a token instead, so it cannot be activated. "
                    "An entry that declares a token secret and a header using it (like "
                    'Authorization = "Bearer ${TOKEN}" under [remote.headers]) can be.'
                )
            return self.oauth_note() + " No secret can be used instead, so it cannot be activated."
        return None
