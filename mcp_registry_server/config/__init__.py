"""The user's per-entry settings: plain env values, secrets and enabled volumes, stored as TOML.

Two files live in the config dir: `config.toml` holds plain values
(`[entries.<id>] env = {NAME = "value"}`, `volumes = {name = true | "source"}`) and `secrets.toml`
holds secret values (`[entries.<id>] NAME = "value"`). Secret values are written only to
`secrets.toml` and never appear in anything this package returns except `ResolvedValues.secret_env`.

A leaf of the package: it imports only `catalog` and `files`.

Contract:
- Every write is atomic: a temp file created 0600 in the same dir, fsynced, then `os.replace`d.
  There is never a moment where a file exists with wider permissions. The dir is created 0700.
  A secrets file found with wider permissions is tightened to 0600 on the next write, with a warning.
- Reads never crash on a bad file: a file that is not UTF-8 TOML of the expected shape (the pydantic
  models in `documents`) contributes nothing, and `warnings` names it and the problem. The next write
  that replaces it first renames it to `<name>.corrupt-<UTC time>`, so nothing is lost.
- `set_values` validates every key and value before touching disk (all or nothing) and raises only
  `ConfigError`. Read-modify-write runs under `flock` on `<config_dir>/.lock` (skipped off POSIX),
  so two registries can write at once.

Modules: `keys` (settable keys and the values they accept), `documents` (the files' shape),
`storage` (reading, writing, locking the dir), `resolve` (an entry's effective values),
`changes` (planning and applying a `set_values` request), `store` (`ConfigStore`, tying them together).
"""

from mcp_registry_server.config.changes import ConfigChange, SetResult
from mcp_registry_server.config.keys import MAX_VALUE_BYTES, VOLUME_KEY_PREFIX, ConfigError, settable_keys
from mcp_registry_server.config.resolve import ResolvedValues
from mcp_registry_server.config.storage import CONFIG_FILE, LOCK_FILE, MAX_FILE_BYTES, SECRETS_FILE
from mcp_registry_server.config.store import ConfigStore

__all__ = [
    "CONFIG_FILE",
    "LOCK_FILE",
    "MAX_FILE_BYTES",
    "MAX_VALUE_BYTES",
    "SECRETS_FILE",
    "VOLUME_KEY_PREFIX",
    "ConfigChange",
    "ConfigError",
    "ConfigStore",
    "ResolvedValues",
    "SetResult",
    "settable_keys",
]
