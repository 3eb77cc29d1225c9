"""server.json's inputs (arguments, environment variables, headers, runtime flags) as an entry's settings.

Contract: an `InputMapper` maps one way of running a record (`package(...)` or `remote(...)`) and
collects what it declares on the way: `[[env]]`, `[[secrets]]`, `[[parameters]]`, `[[volumes]]`
(`declarations()`), plus the optional arguments it had to leave off (`omitted`). A record it cannot
express raises `RecordUnsupported` with the reason, which reads after "cannot be run by the
registry: ". The rules are in `importers.mcp_registry`'s docstring. `{var}` in a server.json value
names its `variables`; literal `$` is doubled, since our args and defaults are templates.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from mcp_registry_server.catalog.entry import (
    CONTAINER_PATH_PATTERN,
    ENV_NAME_PATTERN,
    PACKAGE_NAME_PATTERN,
    PACKAGE_VERSION_PATTERN,
)

__all__ = ["InputMapper", "RecordUnsupported", "text"]

_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.-]*)\}")
_NOT_PARAMETER = re.compile(r"[^A-Za-z0-9_.-]+")
_NOT_ENV = re.compile(r"[^A-Za-z0-9_]+")
_NOT_VOLUME = re.compile(r"[^a-z0-9_-]+")
# Runtime flags that only fetch, select or confirm the package: the registry builds it instead.
_PACKAGE_SELECTING_FLAGS = {
    "npx": {"-y", "--yes", "-q", "--quiet", "--prefer-online", "--prefer-offline", "--no-install"},
    "uvx": {"-q", "--quiet", "--no-progress", "--refresh", "--isolated", "--offline", "-n", "--no-cache"},
}
# Given by the registry's own `podman run` line.
_DOCKER_IMPLIED_FLAGS = {"--rm", "-i", "--interactive", "--init", "-it"}
_SECRET_ON_ARGV = "the registry never puts secrets on a command line (other users can read it)"

SubstituteSecret = Callable[[str, dict[str, Any]], str]


class RecordUnsupported(Exception):
    """This way of running the record cannot be expressed; the message says why."""


def text(value: object) -> str:
    """A string field stripped, numbers and booleans as JSON writes them, anything else as ""."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value).strip()
    return ""


def _literal(value: str) -> str:
    return value.replace("$", "$$")


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _notes(spec: dict[str, Any]) -> str:
    """The input's description with what else server.json says about its value."""
    notes = []
    if choices := [text(choice) for choice in spec.get("choices") or [] if text(choice)]:
        notes.append(f"one of: {', '.join(choices)}")
    if (kind := text(spec.get("format"))) and kind != "string":
        notes.append(f"a {kind}")
    if placeholder := text(spec.get("placeholder")):
        notes.append(f"e.g. {placeholder}")
    if spec.get("isRepeated"):
        notes.append("repeatable; passed once here")
    described = text(spec.get("description"))
    if not notes:
        return described
    return f"{described} [{'; '.join(notes)}]" if described else "; ".join(notes).capitalize()


class InputMapper:
    def __init__(self) -> None:
        self.env: dict[str, dict[str, Any]] = {}
        self.secrets: dict[str, dict[str, Any]] = {}
        self.parameters: dict[str, dict[str, Any]] = {}
        self.volumes: list[dict[str, Any]] = []
        self.omitted: list[str] = []

    def declarations(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "env": list(self.env.values()),
            "secrets": list(self.secrets.values()),
            "parameters": list(self.parameters.values()),
            "volumes": self.volumes,
        }

    # --- ways to run ------------------------------------------------------------------------------

    def package(self, package: dict[str, Any]) -> dict[str, Any]:
        """One `packages[]` item as entry fields (`package` or `image`, `args`, `network`)."""
        kind = text(package.get("registryType")).lower()
        identifier = text(package.get("identifier"))
        version = text(package.get("version"))
        transport = text(_mapping(package.get("transport")).get("type")) or "stdio"
        if kind == "mcpb":
            raise RecordUnsupported(
                f"its package is an MCP bundle (mcpb: {identifier}), which the registry cannot run yet"
            )
        if kind == "nuget":
            raise RecordUnsupported(
                f"its package is a NuGet (.NET) package ({identifier}); the registry builds npm and PyPI packages "
                "and runs OCI images only"
            )
        if kind not in {"npm", "pypi", "oci"}:
            raise RecordUnsupported(f"its package type {kind or 'none'!r} ({identifier}) is not npm, pypi or oci")
        if transport != "stdio":
            raise RecordUnsupported(
                f"its {kind} package {identifier} serves MCP over {transport} inside its container; the registry "
                "speaks stdio to the servers it runs"
            )
        fields: dict[str, Any] = {}  # no network: nothing in a server.json record declares what it reaches
        if kind == "oci":
            fields["image"] = _image_reference(identifier, version, text(package.get("registryBaseUrl")))
            self._docker_runtime_arguments(_items(package.get("runtimeArguments")))
        else:
            if not re.fullmatch(PACKAGE_NAME_PATTERN, identifier):
                raise RecordUnsupported(f"its {kind} package name {identifier!r} is not one the registry can build")
            if not re.fullmatch(PACKAGE_VERSION_PATTERN, version) or version.lower() in {"latest", "next"}:
                raise RecordUnsupported(
                    f"its {kind} package {identifier} names no exact version ({version or 'none'}), so what gets "
                    "built would depend on the day"
                )
            hint = text(package.get("runtimeHint")) or ("npx" if kind == "npm" else "uvx")
            self._package_runtime_arguments(hint, identifier, _items(package.get("runtimeArguments")))
            fields["package"] = {"registry": kind, "name": identifier, "version": version}
        for variable in _items(package.get("environmentVariables")):
            self.environment_variable(variable)
        fields["args"] = self.arguments(_items(package.get("packageArguments")))
        return fields

    def remote(self, remote: dict[str, Any]) -> dict[str, Any]:
        """One `remotes[]` item as the entry's `remote`."""
        transport = text(remote.get("type")) or text(remote.get("transport_type"))
        if transport not in {"streamable-http", "sse"}:
            raise RecordUnsupported(f"its remote transport {transport or 'none'!r} is not streamable-http or sse")

        def no_secret(name: str, spec: dict[str, Any]) -> str:
            raise RecordUnsupported(f"its remote URL carries the secret {name}, which would show wherever the URL does")

        # A `{name}` in the URL with no `variables` entry still needs a value: a required parameter.
        variables = {name: {"isRequired": True} for name in _VARIABLE.findall(text(remote.get("url")))}
        variables |= _mapping(remote.get("variables"))
        url = self._substitute(text(remote.get("url")), variables, no_secret, literal=False)
        headers: dict[str, str] = {}
        for header in _items(remote.get("headers")):
            if (value := self._header_value(header)) is not None:
                headers[text(header.get("name"))] = value
        return {"url": url, "transport": transport, **({"headers": headers} if headers else {})}

    # --- inputs -----------------------------------------------------------------------------------

    def environment_variable(self, variable: dict[str, Any]) -> None:
        name = text(variable.get("name"))
        if not re.fullmatch(ENV_NAME_PATTERN, name):
            raise RecordUnsupported(f"its environment variable {name!r} is not a valid variable name")
        value = variable.get("value")
        variables = _mapping(variable.get("variables"))
        secret_parts = [key for key in _VARIABLE.findall(text(value)) if _mapping(variables.get(key)).get("isSecret")]
        if variable.get("isSecret") or secret_parts:
            described = _notes(variable)
            if isinstance(value, str) and value:
                described = f"{described} (written as {value})" if described else f"Written as {value}"
            self.secrets.setdefault(
                name, {"name": name, "description": described, "required": bool(variable.get("isRequired"))}
            )
            return
        declared: dict[str, Any] = {"name": name, "description": _notes(variable)}
        if isinstance(value, str):
            declared["default"] = self._substitute(value, variables, self._no_secret_here)
        elif (default := text(variable.get("default"))) or variable.get("default") == "":
            declared["default"] = _literal(default)
        if variable.get("isRequired"):
            declared["required"] = True
        if name in self.env:  # also set by a docker `-e`: keep that default, add what this says
            self.env[name] = declared | {k: v for k, v in self.env[name].items() if k == "default"}
        else:
            self.env[name] = declared

    def arguments(self, arguments: list[dict[str, Any]]) -> list[str]:
        """`packageArguments` as args, declaring the parameters they need."""
        tokens: list[str] = []
        for argument in arguments:
            named = text(argument.get("type")) == "named" or (
                not argument.get("type") and bool(text(argument.get("name")))
            )
            flag = text(argument.get("name")) if named else ""
            label = flag or text(argument.get("valueHint")) or text(argument.get("value")) or "argument"
            if argument.get("isSecret"):
                raise RecordUnsupported(f"its argument {label} is a secret, and {_SECRET_ON_ARGV}")
            boolean = text(argument.get("format")) == "boolean"
            if named and boolean and "value" not in argument:
                # A switch is there or not; a parameter cannot take it away again.
                if argument.get("isRequired") or text(argument.get("default")) == "true":
                    tokens.append(flag)
                else:
                    self.omitted.append(f"{flag} ({_notes(argument) or 'a switch'})")
                continue
            value = self._argument_value(argument, label)
            if value is None:
                self.omitted.append(f"{label} ({_notes(argument) or 'no description'})")
                continue
            if named and (value == "" or (boolean and value == "true")):
                tokens.append(flag)
            elif not (named and boolean and value == "false"):
                tokens += [flag, value] if named else [value]
        return tokens

    def _argument_value(self, argument: dict[str, Any], label: str) -> str | None:
        value = argument.get("value")
        if isinstance(value, str):
            return self._substitute(value, _mapping(argument.get("variables")), self._no_secret_on_argv)
        default = text(argument.get("default"))
        if not argument.get("isRequired") and not default:
            return None
        return "{{" + self._parameter(label, argument) + "}}"

    def _header_value(self, header: dict[str, Any]) -> str | None:
        name = text(header.get("name"))
        if not name:
            raise RecordUnsupported("one of its remote headers has no name")
        value = header.get("value")
        if isinstance(value, str):
            return self._substitute(value, _mapping(header.get("variables")), self._secret_reference)
        if header.get("isSecret"):
            return self._secret_reference(name, header)
        default = text(header.get("default"))
        if not header.get("isRequired") and not default:
            self.omitted.append(f"header {name} ({_notes(header) or 'no description'})")
            return None
        return "{{" + self._parameter(name, header) + "}}"

    def _substitute(
        self, value: str, variables: dict[str, Any], on_secret: SubstituteSecret, *, literal: bool = True
    ) -> str:
        """`value` with each `{name}` of `variables` filled: a fixed value, a secret, or a `{{parameter}}`."""
        out: list[str] = []
        pieces = _VARIABLE.split(value)
        for index, piece in enumerate(pieces):
            if index % 2 == 0:
                out.append(_literal(piece) if literal else piece)
                continue
            spec = variables.get(piece)
            if not isinstance(spec, dict):
                out.append("{" + piece + "}")  # not a variable: kept as written, as the schema says
            elif spec.get("isSecret"):
                out.append(on_secret(piece, spec))
            elif isinstance(spec.get("value"), str):
                out.append(_literal(spec["value"]) if literal else spec["value"])
            else:
                out.append("{{" + self._parameter(piece, spec) + "}}")
        return "".join(out)

    def _parameter(self, label: str, spec: dict[str, Any]) -> str:
        """Declare a parameter for `spec` under a free name made from `label`; returns the name."""
        base = _NOT_PARAMETER.sub("_", label.lstrip("-")).strip("_.-") or "value"
        if not re.match(r"[A-Za-z_]", base):
            base = f"_{base}"
        base = base[:120]
        name, counter = base, 1
        while name in self.parameters or name in self.env or name in self.secrets:
            counter += 1
            name = f"{base}_{counter}"
        declared: dict[str, Any] = {"name": name, "description": _notes(spec)}
        if default := text(spec.get("default")):
            declared["default"] = _literal(default)
        if spec.get("isRequired"):
            declared["required"] = True
        self.parameters[name] = declared
        return name

    def _secret_reference(self, name: str, spec: dict[str, Any]) -> str:
        env_name = _NOT_ENV.sub("_", name).strip("_").upper() or "SECRET"
        if not re.match(r"[A-Za-z_]", env_name):
            env_name = f"_{env_name}"
        self.secrets.setdefault(
            env_name, {"name": env_name, "description": _notes(spec), "required": bool(spec.get("isRequired"))}
        )
        return "${" + env_name + "}"

    @staticmethod
    def _no_secret_on_argv(name: str, spec: dict[str, Any]) -> str:
        raise RecordUnsupported(f"its command line carries the secret {name}, and {_SECRET_ON_ARGV}")

    @staticmethod
    def _no_secret_here(name: str, spec: dict[str, Any]) -> str:
        raise RecordUnsupported(f"its value names the secret {name} where the registry cannot keep it secret")

    # --- runtime arguments ------------------------------------------------------------------------

    def _package_runtime_arguments(self, hint: str, identifier: str, arguments: list[dict[str, Any]]) -> None:
        selecting = _PACKAGE_SELECTING_FLAGS.get(hint, set())
        for argument in arguments:
            flag = text(argument.get("name")) if text(argument.get("type")) == "named" else ""
            value = text(argument.get("value"))
            if flag in selecting or (not flag and value in selecting):
                continue
            # `uvx --from pkg==1.2 …` / `npx -p pkg@1.2 …` name the package being built anyway.
            if flag in {"--from", "-p", "--package"} and _spec_name(value) == identifier:
                continue
            shown = " ".join(part for part in (flag, value or text(argument.get("valueHint"))) if part)
            raise RecordUnsupported(
                f"it passes {hint} the runtime argument {shown!r}, which the image the registry builds has no place "
                "for (only the package's own arguments are passed)"
            )

    def _docker_runtime_arguments(self, arguments: list[dict[str, Any]]) -> None:
        for argument in arguments:
            flag = text(argument.get("name")) if text(argument.get("type")) == "named" else ""
            variables = _mapping(argument.get("variables"))
            raw = argument.get("value") if isinstance(argument.get("value"), str) else None
            if flag in _DOCKER_IMPLIED_FLAGS or (not flag and raw in _DOCKER_IMPLIED_FLAGS):
                continue
            if flag in {"-e", "--env"} and raw is not None:
                self._docker_env(raw, variables, argument)
            elif flag in {"-v", "--volume", "--mount"} and raw is not None:
                self._docker_volume(flag, raw, variables, argument)
            else:
                shown = " ".join(part for part in (flag, raw or text(argument.get("valueHint"))) if part)
                raise RecordUnsupported(
                    f"it asks docker for {shown!r}; the registry sets the container's options itself (hardened) and "
                    "cannot express that one"
                )

    def _docker_env(self, raw: str, variables: dict[str, Any], argument: dict[str, Any]) -> None:
        name, has_value, value = raw.partition("=")
        if not re.fullmatch(ENV_NAME_PATTERN, name):
            raise RecordUnsupported(f"its docker argument -e {raw!r} does not name an environment variable")
        if any(_mapping(variables.get(key)).get("isSecret") for key in _VARIABLE.findall(value)):
            self.secrets.setdefault(
                name, {"name": name, "description": _notes(argument), "required": bool(argument.get("isRequired"))}
            )
            return
        declared: dict[str, Any] = {"name": name, "description": _notes(argument)}
        if has_value:
            declared["default"] = self._substitute(value, variables, self._no_secret_here)
        self.env.setdefault(name, declared)

    def _docker_volume(self, flag: str, raw: str, variables: dict[str, Any], argument: dict[str, Any]) -> None:
        if flag == "--mount":
            options = dict(part.partition("=")[::2] for part in raw.split(","))
            source = options.get("src") or options.get("source") or ""
            target = options.get("dst") or options.get("target") or options.get("destination") or ""
            read_only = "readonly" in options or "ro" in options or options.get("readonly") == "true"
        else:
            source, _, rest = raw.partition(":")
            target, _, mode = rest.partition(":")
            read_only = mode == "ro"

        def fixed(part: str) -> str:
            return _VARIABLE.sub(
                lambda m: (
                    text(_mapping(variables.get(m.group(1))).get("value"))
                    or text(_mapping(variables.get(m.group(1))).get("default"))
                    or m.group(0)
                ),
                part,
            )

        target = fixed(target)
        if not re.fullmatch(CONTAINER_PATH_PATTERN, target) or ".." in target.split("/"):
            raise RecordUnsupported(f"its docker mount {raw!r} has a container path the registry cannot mount")
        chosen = _VARIABLE.fullmatch(source)
        source_spec = _mapping(variables.get(chosen.group(1))) if chosen else {}
        source = "" if chosen or "{" in source else source
        named_volume = bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", source))
        label = chosen.group(1) if chosen else source if named_volume else target.rstrip("/").rsplit("/", 1)[-1]
        name = _NOT_VOLUME.sub("-", label.lower()).strip("-_")[:64] or "data"
        if any(volume["name"] == name or volume["target"] == target for volume in self.volumes):
            return
        described = _notes(source_spec) or _notes(argument) or "A host path the server reads or writes"
        volume: dict[str, Any] = {"name": name, "target": target, "description": described}
        if source and (source.startswith("/") or named_volume):
            volume["source"] = source
        if read_only:
            volume["read_only"] = True
        self.volumes.append(volume)


def _spec_name(spec: str) -> str:
    """The package a spec names: `@scope/name@1.2` → `@scope/name`, `name==1.2` / `name[extra]` → `name`."""
    scoped = spec.startswith("@")
    name = re.split(r"[=<>~!\[;@ ]", spec[1:] if scoped else spec, maxsplit=1)[0]
    return f"@{name}" if scoped else name


def _image_reference(identifier: str, version: str, base_url: str) -> str:
    """An OCI `identifier` (with its registry and tag since 2025-12-11; before, `version` is the tag)."""
    if not identifier:
        raise RecordUnsupported("its oci package names no image")
    last = identifier.rsplit("/", 1)[-1]
    if ":" not in last and "@" not in identifier and version:
        identifier = f"{identifier}:{version}"
    first = identifier.split("/", 1)[0]
    if not ("." in first or ":" in first or first == "localhost") or "/" not in identifier:
        host = re.sub(r"^https?://", "", base_url).strip("/").split("/", 1)[0] or "docker.io"
        host = "docker.io" if host in {"registry-1.docker.io", "index.docker.io", "hub.docker.com"} else host
        # Docker Hub's official images live under library/.
        official = "/" not in identifier and host == "docker.io"
        identifier = f"{host}/library/{identifier}" if official else f"{host}/{identifier}"
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/:@-]*", identifier):
        raise RecordUnsupported(f"its oci image {identifier!r} is not an image reference")
    return identifier
