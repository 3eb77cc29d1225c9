"""The user's per-entry settings: plain env values, secrets and enabled volumes, stored as TOML.

Two files live in the config dir: `config.toml` holds plain values
(`[entries.<id>] env = {NAME = "value"}`, `volumes = {name = true | "source"}`) and `secrets.toml`
holds secret values (`[entries.<id>] NAME = "value"`). Secret values are written only to
`secrets.toml` and never appear in anything this module returns except `ResolvedValues.secret_env`.

Contract:
- Every write is atomic: a temp file created 0600 in the same dir, fsynced, then `os.replace`d.
  There is never a moment where a file exists with wider permissions. The dir is created 0700.
  A secrets file found with wider permissions is tightened to 0600 on the next write, with a warning.
- Reads never crash on a bad file: a file that is not UTF-8 TOML of the expected shape contributes
  nothing, and `warnings` names it and the problem. The next write that replaces it first renames
  it to `<name>.corrupt-<UTC time>`, so nothing is lost.
- `set_values` validates every key and value before touching disk (all or nothing) and raises only
  `ConfigError`. Read-modify-write runs under `flock` on `<config_dir>/.lock` (skipped off POSIX),
  so two registries can write at once.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import secrets
import stat
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import tomli_w

from mcp_registry_server.catalog.entry import CatalogEntry

try:
    import fcntl
except ImportError:  # not POSIX: no cross-process lock
    fcntl = None  # type: ignore[assignment]

CONFIG_FILE = "config.toml"
SECRETS_FILE = "secrets.toml"
LOCK_FILE = ".lock"
MAX_VALUE_BYTES = 64 * 1024
MAX_FILE_BYTES = 16 * 1024 * 1024
VOLUME_KEY_PREFIX = "volume:"
_ON, _OFF = frozenset({"on", "true"}), frozenset({"off", "false"})
_VOLUME_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}")
_FileKind = Literal["config", "secrets"]
_ChangeKind = Literal["env", "secret", "volume"]
_Plan = list[tuple[str, _ChangeKind, "str | Literal[True] | None"]]


class ConfigError(ValueError):
    """A setting was refused or could not be saved; the message says why and what to do."""


@dataclass(frozen=True)
class ConfigChange:
    """One key changed by `set_values`. `shown` is the new plain value or volume source; never a secret."""

    key: str
    kind: _ChangeKind
    action: Literal["set", "unset"]
    shown: str | None = None

    def describe(self) -> str:
        if self.kind == "secret":
            return f"stored secret {self.key} (hidden)" if self.action == "set" else f"removed secret {self.key}"
        if self.kind == "volume":
            name = self.key.removeprefix(VOLUME_KEY_PREFIX)
            return f"enabled volume {name} from {self.shown}" if self.action == "set" else f"disabled volume {name}"
        return f"set {self.key} = {self.shown!r}" if self.action == "set" else f"unset {self.key}"


@dataclass(frozen=True)
class SetResult:
    """What `set_values` changed: names and plain values only, so it is safe to print or log."""

    entry_id: str
    changes: tuple[ConfigChange, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def set_names(self) -> tuple[str, ...]:
        return tuple(change.key for change in self.changes if change.action == "set")

    @property
    def unset_names(self) -> tuple[str, ...]:
        return tuple(change.key for change in self.changes if change.action == "unset")

    @property
    def secret_names(self) -> tuple[str, ...]:
        return tuple(change.key for change in self.changes if change.kind == "secret")

    def describe(self) -> str:
        lines = [change.describe() for change in self.changes] or [f"nothing changed for {self.entry_id}"]
        return "\n".join(lines + [f"warning: {warning}" for warning in self.warnings])


@dataclass(frozen=True, repr=False)
class ResolvedValues:
    """What to give an entry's container. Pass `secret_env` through the process environment, not argv."""

    entry_id: str
    env: dict[str, str] = field(default_factory=dict)
    secret_env: dict[str, str] = field(default_factory=dict)
    missing_required: tuple[str, ...] = ()
    enabled_volumes: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def container_env(self) -> dict[str, str]:
        return self.env | self.secret_env

    def __repr__(self) -> str:
        hidden = {name: "<hidden>" for name in self.secret_env}
        return (
            f"ResolvedValues(entry_id={self.entry_id!r}, env={self.env!r}, secret_env={hidden!r}, "
            f"missing_required={self.missing_required!r}, enabled_volumes={self.enabled_volumes!r}, "
            f"warnings={self.warnings!r})"
        )

    __str__ = __repr__


def settable_keys(entry: CatalogEntry) -> tuple[str, ...]:
    """The keys `set_values` accepts for `entry`: env names, secret names, `volume:<name>`."""
    return (
        *(var.name for var in entry.env),
        *(secret.name for secret in entry.secrets),
        *(VOLUME_KEY_PREFIX + volume.name for volume in entry.volumes),
    )


def _preview(key: object) -> str:
    text = repr(key)
    return text if len(text) <= 60 else text[:57] + "..."


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character, which no environment variable can hold"
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return "is not valid Unicode text (it contains a lone surrogate)"
    if size > MAX_VALUE_BYTES:
        return f"is {size} bytes long; the limit is {MAX_VALUE_BYTES}"
    return None


def _source_problem(source: str) -> str | None:
    if source.startswith("/"):
        if any(char in source for char in ":,\x00") or any(ord(char) < 32 for char in source):
            return "is a host path with ':', ',' or a control character, which would break the mount"
        if ".." in source.split("/") or len(source) > 4096:
            return "is a host path with '..' segments or over 4096 characters; give a plain absolute path"
        return None
    if _VOLUME_NAME.fullmatch(source):
        return None
    return "is neither an absolute host path (like /home/you/code) nor a Podman volume name (like my-data)"


def _text_value(key: str, value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ConfigError(f"{key} takes text, not a boolean; send the string {str(value).lower()!r} if that is meant")
    if isinstance(value, int | float):
        try:
            value = str(value)
        except ValueError:
            raise ConfigError(f"{key}: the number is too large to store; send it as a string") from None
    if not isinstance(value, str):
        raise ConfigError(f"{key} takes text; got a {type(value).__name__}")
    if value == "":
        return None
    if problem := _text_problem(value):
        raise ConfigError(f"the value for {key} {problem}")
    return value


def _volume_value(key: str, value: object) -> str | Literal[True] | None:
    if isinstance(value, bool):
        return True if value else None
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{key} takes on/off or a source path or volume name; got a {type(value).__name__}")
    if value == "":
        return None
    if value.strip().lower() in _ON:
        return True
    if value.strip().lower() in _OFF:
        return None
    if problem := _source_problem(value):
        raise ConfigError(f"the source for {key} {problem}")
    return value


def _shape_problem(doc: dict[str, Any], kind: _FileKind) -> str | None:
    entries = doc.get("entries", {})
    if not isinstance(entries, dict):
        return "has 'entries' that is not a table"
    for entry_id, table in entries.items():
        if not isinstance(table, dict):
            return f"has [entries.{entry_id}] that is not a table"
        if kind == "secrets":
            sections = {f"[entries.{entry_id}]": table}
        else:
            sections = {f"[entries.{entry_id}] {name}": table.get(name, {}) for name in ("env", "volumes")}
        for where, values in sections.items():
            if not isinstance(values, dict):
                return f"has {where} that is not a table"
            for name, value in values.items():
                if where.endswith("volumes") and isinstance(value, bool):
                    continue
                if not isinstance(value, str):
                    return f"has {where} {name} that is not a string"
                if problem := (_source_problem(value) if where.endswith("volumes") else _text_problem(value)):
                    return f"has {where} {name} that {problem}"
    return None


@dataclass
class _FileState:
    path: Path
    doc: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None

    def entries(self) -> dict[str, Any]:
        return self.doc.setdefault("entries", {})


def _read(path: Path, kind: _FileKind) -> _FileState:
    try:
        raw = _read_regular_file(path)
    except FileNotFoundError:
        return _FileState(path)
    except OSError as exc:
        return _FileState(path, problem=f"could not be read ({exc.strerror or exc})")
    if raw is None:
        return _FileState(path, problem="could not be read (not a regular file)")
    if len(raw) > MAX_FILE_BYTES:
        return _FileState(path, problem=f"is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return _FileState(path, problem="is not UTF-8 text")
    except tomllib.TOMLDecodeError as exc:
        return _FileState(path, problem=f"is not valid TOML ({exc})")
    if problem := _shape_problem(doc, kind):
        return _FileState(path, problem=problem)
    return _FileState(path, doc)


def _read_regular_file(path: Path) -> bytes | None:
    """Up to MAX_FILE_BYTES + 1 bytes; None when `path` is not a regular file (a FIFO would block)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return handle.read(MAX_FILE_BYTES + 1)


def _too_open(path: Path) -> int | None:
    """The file's mode if group or others may access it (POSIX only), else None."""
    if os.name != "posix":
        return None
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        return None
    return mode if mode & 0o077 else None


class ConfigStore:
    """The settings in one config dir. Every read goes to disk, so other registries' writes show up."""

    def __init__(self, config_dir: Path | str) -> None:
        self._dir = Path(config_dir)
        self._warnings: tuple[str, ...] = ()

    @property
    def config_dir(self) -> Path:
        return self._dir

    @property
    def warnings(self) -> tuple[str, ...]:
        """Problems found by the latest read or write: broken files, loose permissions."""
        return self._warnings

    def load(self) -> None:
        """Read both files; whatever cannot be understood is skipped and reported in `warnings`."""
        self._load()

    def _load(self) -> tuple[_FileState, _FileState]:
        with self._lock(create=False):
            config = _read(self._dir / CONFIG_FILE, "config")
            stored_secrets = _read(self._dir / SECRETS_FILE, "secrets")
        warnings = [self._ignored_warning(state) for state in (config, stored_secrets) if state.problem]
        if (mode := _too_open(stored_secrets.path)) is not None:
            warnings.append(
                f"{stored_secrets.path} holds secrets but has mode {mode:04o}, so other users may read it; "
                f"it will be tightened to 0600 on the next change, or run: chmod 600 {stored_secrets.path}"
            )
        self._warnings = tuple(warnings)
        return config, stored_secrets

    def set_values(self, entry: CatalogEntry, values: Mapping[str, object]) -> SetResult:
        """Store, change or unset (None or "") settings of `entry`; raise ConfigError and change nothing if any is bad."""
        plan = self._plan(entry, values)
        try:
            with self._lock(create=True):
                return self._apply(entry, plan)
        except OSError as exc:
            raise ConfigError(
                f"Could not save the settings for {entry.id} in {self._dir}: {exc}. "
                "Files not yet replaced keep their previous contents; check disk space and permissions."
            ) from exc

    def resolved_values(self, entry: CatalogEntry) -> ResolvedValues:
        """Env, secrets and volumes for `entry`'s container: defaults overridden by the user's values."""
        return self._resolve(entry, *self._load())

    def _resolve(self, entry: CatalogEntry, config: _FileState, stored_secrets: _FileState) -> ResolvedValues:
        user = config.entries().get(entry.id, {})
        user_env, user_volumes = user.get("env", {}), user.get("volumes", {})
        user_secrets = stored_secrets.entries().get(entry.id, {})
        env: dict[str, str] = {}
        missing: list[str] = []
        for var in entry.env:
            value = user_env.get(var.name, var.default)
            if value is not None:
                env[var.name] = value
            if var.required and not value:
                missing.append(var.name)
        secret_env = {secret.name: user_secrets[secret.name] for secret in entry.secrets if secret.name in user_secrets}
        missing += [secret.name for secret in entry.secrets if secret.required and secret.name not in secret_env]
        volumes: dict[str, str] = {}
        for volume in entry.volumes:
            choice = user_volumes.get(volume.name, False)
            if choice is not False:
                volumes[volume.name] = volume.source if choice is True else choice
        return ResolvedValues(entry.id, env, secret_env, tuple(missing), volumes, self._warnings)

    def describe_entry_config(self, entry: CatalogEntry) -> dict[str, Any]:
        """The entry's settings for status output: plain values, which secrets are set, volumes. No secret values."""
        config, stored_secrets = self._load()
        resolved = self._resolve(entry, config, stored_secrets)
        user_env = config.entries().get(entry.id, {}).get("env", {})
        return {
            "entry": entry.id,
            "env": [
                {
                    "name": var.name,
                    "value": resolved.env.get(var.name),
                    "from": "user" if var.name in user_env else "default" if var.default is not None else "unset",
                    "required": var.required,
                    "description": var.description,
                }
                for var in entry.env
            ],
            "secrets": [{"name": secret.name, "set": secret.name in resolved.secret_env} for secret in entry.secrets],
            "volumes": [
                {
                    "name": volume.name,
                    "enabled": volume.name in resolved.enabled_volumes,
                    "source": resolved.enabled_volumes.get(volume.name, volume.source),
                    "target": volume.target,
                    "read_only": volume.read_only,
                }
                for volume in entry.volumes
            ],
            "missing_required": list(resolved.missing_required),
            "settable_keys": list(settable_keys(entry)),
            "warnings": list(self._warnings),
        }

    # --- internals -------------------------------------------------------------------------------

    def _plan(self, entry: CatalogEntry, values: Mapping[str, object]) -> _Plan:
        if not isinstance(values, Mapping):
            raise ConfigError(f"settings must be a mapping of key to value; got a {type(values).__name__}")
        env_names = {var.name for var in entry.env}
        volume_keys = {VOLUME_KEY_PREFIX + volume.name for volume in entry.volumes}
        valid = settable_keys(entry)
        plan: _Plan = []
        problems: list[str] = []
        for key, value in values.items():
            try:
                if not isinstance(key, str) or key not in valid:
                    raise ConfigError(self._unknown_key(entry, key, valid))
                if key in volume_keys:
                    plan.append((key, "volume", _volume_value(key, value)))
                else:
                    plan.append((key, "env" if key in env_names else "secret", _text_value(key, value)))
            except ConfigError as exc:
                problems.append(str(exc))
        if problems:
            raise ConfigError("; ".join(problems) + f". Nothing was changed for {entry.id}.")
        return plan

    @staticmethod
    def _unknown_key(entry: CatalogEntry, key: object, valid: tuple[str, ...]) -> str:
        if not valid:
            return f"{entry.id} takes no settings, so {_preview(key)} cannot be set"
        listed = [name + (" (secret)" if name in entry.secret_names else "") for name in valid]
        message = f"{_preview(key)} is not a setting of {entry.id}; valid keys: {', '.join(listed)}"
        folded = {name.lower(): name for name in valid}  # `github_token` should find GITHUB_TOKEN
        close = difflib.get_close_matches(key.lower(), folded, n=1) if isinstance(key, str) and len(key) < 200 else []
        return message + (f" (did you mean {folded[close[0]]}?)" if close else "")

    def _apply(self, entry: CatalogEntry, plan: _Plan) -> SetResult:
        config = _read(self._dir / CONFIG_FILE, "config")
        stored_secrets = _read(self._dir / SECRETS_FILE, "secrets")
        before = [repr(state.entries()) for state in (config, stored_secrets)]
        table = config.entries().setdefault(entry.id, {})
        env, volumes = table.setdefault("env", {}), table.setdefault("volumes", {})
        secret_table = stored_secrets.entries().setdefault(entry.id, {})
        changes: list[ConfigChange] = []
        for key, kind, value in plan:
            target = {"env": env, "secret": secret_table, "volume": volumes}[kind]
            name = key.removeprefix(VOLUME_KEY_PREFIX) if kind == "volume" else key
            if kind == "secret":
                env.pop(name, None)  # a value stored before the catalog made it a secret must not linger
            if value is None:
                target.pop(name, None)
                changes.append(ConfigChange(key, kind, "unset"))
            else:
                target[name] = value
                shown = None if kind == "secret" else self._shown(entry, name, value)
                changes.append(ConfigChange(key, kind, "set", shown))
        for emptied, parent, name in ((env, table, "env"), (volumes, table, "volumes")):
            if not emptied:
                parent.pop(name, None)
        for parent, name in ((config.entries(), entry.id), (stored_secrets.entries(), entry.id)):
            if not parent[name]:
                del parent[name]
        warnings: list[str] = []
        loose_mode = _too_open(stored_secrets.path)
        for state, old in zip((config, stored_secrets), before, strict=True):
            if repr(state.entries()) != old:  # only files whose content changed are rewritten
                if state.problem and state.path.exists():
                    moved = self._move_aside(state.path)
                    warnings.append(f"{state.path} {state.problem}; moved it to {moved} and started a fresh file")
                self._write_atomic(state.path, state.doc)
            elif state.problem:
                warnings.append(self._ignored_warning(state))
        if loose_mode is not None:
            if _too_open(stored_secrets.path) is not None:
                os.chmod(stored_secrets.path, 0o600)
            warnings.append(
                f"{stored_secrets.path} had mode {loose_mode:04o}, readable by other users; tightened it to 0600. "
                "Rotate any secret in it that others may have read."
            )
        self._warnings = tuple(warnings)
        return SetResult(entry.id, tuple(changes), self._warnings)

    @staticmethod
    def _shown(entry: CatalogEntry, name: str, value: str | Literal[True]) -> str:
        if value is True:
            return next(volume.source for volume in entry.volumes if volume.name == name)
        return str(value)

    @staticmethod
    def _ignored_warning(state: _FileState) -> str:
        return (
            f"{state.path} {state.problem}; its settings are ignored. Fix or delete it; otherwise the next "
            f"change moves it to {state.path.name}.corrupt-<UTC time> (nothing is lost) and starts a fresh file"
        )

    def _move_aside(self, path: Path) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        destination = path.with_name(f"{path.name}.corrupt-{stamp}")
        counter = 1
        while destination.exists() or destination.is_symlink():  # under the lock, so no race with ourselves
            destination = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
            counter += 1
        os.rename(path, destination)
        if path.name == SECRETS_FILE and _too_open(destination) is not None:
            os.chmod(destination, 0o600)
        return destination

    def _write_atomic(self, path: Path, doc: dict[str, Any]) -> None:
        data = tomli_w.dumps(doc).encode("utf-8")
        temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
        fd = os.open(temp, flags, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                if hasattr(os, "fchmod"):  # the umask may have taken bits off 0600; we want exactly 0600
                    os.fchmod(handle.fileno(), 0o600)
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        with contextlib.suppress(OSError, AttributeError):  # make the rename durable; not possible everywhere
            dir_fd = os.open(self._dir, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def _ensure_dir(self) -> None:
        if self._dir.is_dir():
            return
        self._dir.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.mkdir(self._dir, 0o700)
        except FileExistsError:
            return
        os.chmod(self._dir, 0o700)  # mkdir's mode is filtered by the umask

    @contextlib.contextmanager
    def _lock(self, *, create: bool) -> Iterator[None]:
        """Exclusive flock for writers; shared for readers, and only if the dir already exists."""
        if create:
            self._ensure_dir()
        if fcntl is None or not self._dir.is_dir():
            yield
            return
        try:
            fd = os.open(self._dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            if create:
                raise
            yield  # a read-only config dir can still be read
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if create else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)  # releases the lock
