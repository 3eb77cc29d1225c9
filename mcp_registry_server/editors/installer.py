"""Put the registry's entry into an editor's MCP config file, or take it out: planned, shown, then written safely.

Contract:
- `plan_install(editor, path, entry)` and `plan_uninstall(editor, path)` read the file and return an
  `EditPlan` (the text before and after, and what changes) without writing anything; `--dry-run`
  prints `plan.diff()`. The edit goes through the editor's `DocumentFormat` (`formats`: JSON with
  comments, or Codex's TOML), so every byte outside our entry stays as it was (comments, trailing
  commas, other servers, formatting), and the result is parsed again and compared with the
  intended data before anything is written.
- `apply(plan)` re-reads the file and refuses if it changed since the plan (the editor may have
  written it meanwhile), copies the current file to `<name>.mcp-registry-backup-<UTC time>` with
  the same permissions (the newest `KEEP_BACKUPS` are kept), writes the new text to a temp file
  in the same directory and renames it over the file, so the editor never sees half a file. A
  symlinked config (dotfiles) is written through: the link stays, its target changes.
- Installing the same entry again changes and writes nothing. Fields a user added to our entry
  that `install` does not manage (Zed's "enabled", a "timeout", extra env variables) are kept.
- Uninstall removes our entry, then the servers object if that left it empty; a file left holding
  only an empty document (one `install` created from nothing) is deleted, after its backup.
- An HTTP entry (`remote`) for VS Code comes with an element of the root `inputs` array (the
  password prompt its header refers to), passed as `root_input`: install adds or replaces the
  element with that id, uninstall (given `input_id`) removes it, and the array when that empties
  it; a stdio install given `stale_input_id` removes it too (the HTTP entry it replaces needed
  it). The array is rewritten as a whole when it held other inputs (their values stay, comments
  inside the array do not); a file without one gets it added and removed byte-for-byte. Writing
  an HTTP entry over a stdio one (or back) drops the other kind's fields.
- Every failure is an `EditorConfigError` that names the file, says what is wrong, and that
  nothing was changed.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from mcp_registry_server.editors.formats import DocumentError
from mcp_registry_server.editors.remote import REMOTE_FIELDS
from mcp_registry_server.editors.targets import Editor, is_carried
from mcp_registry_server.files import timestamped_sibling, write_atomic

__all__ = [
    "DEFAULT_NAME",
    "INPUTS_KEY",
    "KEEP_BACKUPS",
    "EditPlan",
    "EditorConfigError",
    "apply",
    "plan_install",
    "plan_uninstall",
]

DEFAULT_NAME = "mcp-registry"
KEEP_BACKUPS = 5
BACKUP_MARK = ".mcp-registry-backup-"

Action = Literal["add", "update", "unchanged", "remove", "absent"]


class EditorConfigError(Exception):
    """An editor config file could not be read or written; nothing was changed."""


@dataclass(frozen=True)
class EditPlan:
    editor: Editor
    path: Path  # as the user knows it (may be a symlink)
    real_path: Path  # the file that is actually rewritten
    name: str
    action: Action
    before: str | None  # None: the file does not exist
    after: str | None  # None: the file is to be deleted
    entry: dict[str, Any] | None

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self) -> str:
        before = (self.before or "").splitlines(keepends=True)
        after = (self.after or "").splitlines(keepends=True)
        source = str(self.path) if self.before is not None else "/dev/null"
        target = str(self.path) if self.after is not None else "/dev/null"
        lines = difflib.unified_diff(before, after, fromfile=source, tofile=target)
        return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def _real_path(path: Path) -> Path:
    path = path.expanduser()
    return path.resolve() if path.is_symlink() else path


def _read(path: Path) -> str | None:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise EditorConfigError(f"Could not read {path}: {error.strerror or error}. Nothing was changed.") from error
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise EditorConfigError(
            f"{path} is not UTF-8 text (byte {error.start}), so it cannot be edited safely. Nothing was changed."
        ) from None


def _parse(editor: Editor, path: Path, text: str) -> dict[str, Any]:
    try:
        return editor.format.load(text)
    except DocumentError as error:
        raise EditorConfigError(
            f"{path} {error}. Fix it (or move it away) and run the command again; nothing was changed."
        ) from None


def _servers(data: Any, editor: Editor, path: Path) -> dict[str, Any] | None:
    """The object that holds one member per server, or None when it does not exist yet."""
    node = data
    for depth, key in enumerate(editor.servers_path):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
        if not isinstance(node, dict):
            where = ".".join(editor.servers_path[: depth + 1])
            raise EditorConfigError(
                f"In {path}, '{where}' is a {type(node).__name__}, not an object, so the registry cannot be added "
                "next to the other servers. Fix that key by hand; nothing was changed."
            )
    return node


# The fields only an HTTP entry has: dropped when a stdio entry replaces one.
_HTTP_ONLY = frozenset({"url", "httpUrl", "headers", "bearer_token_env_var"})
INPUTS_KEY = "inputs"


def merged_entry(editor: Editor, entry: Mapping[str, Any], existing: Any) -> dict[str, Any]:
    """`entry`, plus what a user added to the installed one that `install` does not manage."""
    merged = dict(entry)
    if not isinstance(existing, dict):
        return merged
    stdio = bool(editor.shape.command_of(entry))
    managed = editor.managed_fields | (_HTTP_ONLY if stdio else REMOTE_FIELDS)
    env_key = editor.shape.env_key
    old_env = existing.get(env_key)
    if stdio and isinstance(old_env, dict):
        kept = {k: v for k, v in old_env.items() if not is_carried(k) and k not in merged.get(env_key, {})}
        if kept:
            merged[env_key] = {**merged.get(env_key, {}), **kept}
    for key, value in existing.items():
        if key not in managed:
            merged[key] = value
    return merged


def _root_inputs(data: dict[str, Any], path: Path) -> list[Any] | None:
    inputs = data.get(INPUTS_KEY)
    if inputs is not None and not isinstance(inputs, list):
        raise EditorConfigError(
            f"In {path}, '{INPUTS_KEY}' is a {type(inputs).__name__}, not an array, so the token prompt cannot be "
            "added. Fix that key by hand; nothing was changed."
        )
    return inputs


def _with_input(editor: Editor, path: Path, text: str, element: Mapping[str, Any]) -> str:
    """`text` with `element` in the root `inputs` array, replacing one with the same id."""
    data = _parse(editor, path, text)
    inputs = _root_inputs(data, path) or []
    same = [item for item in inputs if isinstance(item, dict) and item.get("id") == element["id"]]
    if same == [element] and len(same) == 1:
        return text
    wanted = [item for item in inputs if not (isinstance(item, dict) and item.get("id") == element["id"])]
    wanted.append(dict(element))
    try:
        after = editor.format.set_member(text, (), INPUTS_KEY, wanted)
    except DocumentError as error:
        raise EditorConfigError(f"Cannot add the token prompt to {path}: {error}. Nothing was changed.") from None
    return _edit(editor, path, after, {**data, INPUTS_KEY: wanted})


def _without_input(editor: Editor, path: Path, text: str, input_id: str) -> str:
    data = _parse(editor, path, text)
    inputs = _root_inputs(data, path)
    if not inputs or not any(isinstance(item, dict) and item.get("id") == input_id for item in inputs):
        return text
    wanted = [item for item in inputs if not (isinstance(item, dict) and item.get("id") == input_id)]
    try:
        if wanted:
            after = editor.format.set_member(text, (), INPUTS_KEY, wanted)
            expected = {**data, INPUTS_KEY: wanted}
        else:
            after = editor.format.remove_member(text, (), INPUTS_KEY)
            expected = {key: value for key, value in data.items() if key != INPUTS_KEY}
    except DocumentError as error:
        raise EditorConfigError(f"Cannot remove the token prompt from {path}: {error}. Nothing was changed.") from None
    return _edit(editor, path, after, expected)


def _edit(editor: Editor, path: Path, after: str, expected: Any, alternatives: tuple[Any, ...] = ()) -> str:
    """Check that `after` parses to `expected` (or one of `alternatives`) before it may be written."""
    actual = _parse(editor, path, after)
    if actual != expected and actual not in alternatives:
        raise EditorConfigError(
            f"Editing {path} did not give the expected result, so nothing was written. This is a bug in "
            "mcp-registry: please report it with the file's layout (not its secrets)."
        )
    return after


def _companion(
    editor: Editor, path: Path, text: str, root_input: Mapping[str, Any] | None, stale_input_id: str | None
) -> str:
    if root_input:
        return _with_input(editor, path, text, root_input)
    return _without_input(editor, path, text, stale_input_id) if stale_input_id else text


def plan_install(
    editor: Editor,
    path: Path,
    entry: Mapping[str, Any],
    name: str = DEFAULT_NAME,
    root_input: Mapping[str, Any] | None = None,
    stale_input_id: str | None = None,
) -> EditPlan:
    real = _real_path(path)
    before = _read(real)
    text = before or ""
    data = _parse(editor, path, text)
    servers = _servers(data, editor, path)
    existing = servers.get(name) if servers is not None else None
    wanted = merged_entry(editor, entry, existing)
    if existing == wanted:
        after = _companion(editor, path, text, root_input, stale_input_id)
        if after == text:
            return EditPlan(editor, path, real, name, "unchanged", before, before, wanted)
        return EditPlan(editor, path, real, name, "update", before, after, wanted)
    try:
        after = editor.format.set_member(text, editor.servers_path, name, wanted)
    except DocumentError as error:
        raise EditorConfigError(f"Cannot add the registry to {path}: {error}. Nothing was changed.") from None
    expected = copy.deepcopy(data)
    node = expected
    for key in editor.servers_path:
        node = node.setdefault(key, {})
    node[name] = wanted
    after = _companion(editor, path, _edit(editor, path, after, expected), root_input, stale_input_id)
    return EditPlan(editor, path, real, name, "add" if existing is None else "update", before, after, wanted)


def plan_uninstall(editor: Editor, path: Path, name: str = DEFAULT_NAME, input_id: str | None = None) -> EditPlan:
    real = _real_path(path)
    before = _read(real)
    if before is None:
        return EditPlan(editor, path, real, name, "absent", None, None, None)
    data = _parse(editor, path, before)
    servers = _servers(data, editor, path)
    if servers is None or name not in servers:
        return EditPlan(editor, path, real, name, "absent", before, before, None)
    # The prompt goes first: install added it after the entry, so this undoes it in reverse.
    start = _without_input(editor, path, before, input_id) if input_id else before
    data = _parse(editor, path, start)
    try:
        after = editor.format.remove_member(start, editor.servers_path, name)
    except DocumentError as error:
        raise EditorConfigError(f"Cannot remove the registry from {path}: {error}. Nothing was changed.") from None
    # Emptied objects on the path are pruned unless a comment keeps them; both results are right.
    kept = copy.deepcopy(data)
    trail = [kept]
    for key in editor.servers_path:
        trail.append(trail[-1][key])
    del trail[-1][name]
    pruned = copy.deepcopy(kept)
    trail = [pruned]
    for key in editor.servers_path:
        trail.append(trail[-1][key])
    for depth in range(len(editor.servers_path), 0, -1):
        if trail[depth]:
            break
        del trail[depth - 1][editor.servers_path[depth - 1]]
    after = _edit(editor, path, after, pruned, (kept,))
    newline = "\r\n" if "\r\n" in before else "\n"
    final = None if after == editor.format.empty(newline) else after
    return EditPlan(editor, path, real, name, "remove", before, final, servers[name])


def _backup(path: Path, now: datetime) -> Path:
    backup = timestamped_sibling(path, BACKUP_MARK, now)
    shutil.copy2(path, backup)  # copies the mode too: a private config stays private
    return backup


def _prune_backups(path: Path) -> None:
    # The names sort by time (copy2 keeps the original's mtime, so that cannot be used).
    backups = sorted(candidate for candidate in path.parent.glob(f"{path.name}{BACKUP_MARK}*") if candidate.is_file())
    for old in backups[:-KEEP_BACKUPS]:
        with contextlib.suppress(OSError):
            old.unlink()


def apply(plan: EditPlan, now: datetime | None = None) -> Path | None:
    """Write `plan`; return the backup of the previous file (None when there was none or no change)."""
    if not plan.changed:
        return None
    path = plan.real_path
    try:
        if _read(path) != plan.before:
            raise EditorConfigError(
                f"{plan.path} changed while mcp-registry was editing it (is {plan.editor.name} writing it right "
                "now?). Nothing was changed; run the command again."
            )
        backup = None
        mode = 0o600
        if plan.before is not None:
            mode = path.stat().st_mode & 0o7777
            backup = _backup(path, now or datetime.now(UTC))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
        if plan.after is None:
            path.unlink()
        else:
            write_atomic(path, plan.after.encode("utf-8"), mode=mode)
        _prune_backups(path)
    except OSError as error:
        raise EditorConfigError(
            f"Could not write {plan.path}: {error.strerror or error}. The file keeps its previous contents."
        ) from error
    return backup
