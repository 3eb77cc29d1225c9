"""Wiring the registry into editors: where each editor keeps its MCP config, and editing that file safely.

- `targets`: the supported editors, their config paths per platform, and the entry each one needs.
- `jsonc`: a JSON-with-comments parser that edits one member and leaves every other byte alone.
- `installer`: plan, diff, back up and atomically write an install or uninstall.

Standard library only, so `mcp-registry install` starts fast.
"""
