"""Wiring the registry into MCP clients: where each keeps its config, and editing that file safely.

- `targets`: the supported clients, their config paths per platform, and what each one needs.
- `entries`: the entry shapes (`command` + `args` + `env`, opencode's command list) and the
  timeouts a client should allow the registry.
- `formats`: the config formats behind one interface: `jsonc` (JSON with comments) and
  `toml_doc` (Codex's TOML, through tomlkit); each edits one member and leaves every other byte alone.
- `remote`: the HTTP entry each client takes for a team registry (`install --url`), each referring
  to the token through the client's own mechanism (environment or prompt), and the refusals.
- `installer`: plan, diff, back up and atomically write an install or uninstall.
"""
