"""Wiring the registry into MCP clients: where each keeps its config, and editing that file safely.

- `targets`: the supported clients, their config paths per platform, and what each one needs.
- `entries`: the entry shapes (`command` + `args` + `env`, opencode's command list) and the
  timeouts a client should allow the registry.
- `formats`: the config formats behind one interface: `jsonc` (JSON with comments) and
  `toml_doc` (Codex's TOML, through tomlkit); each edits one member and leaves every other byte alone.
- `installer`: plan, diff, back up and atomically write an install or uninstall.
"""
