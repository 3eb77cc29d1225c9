"""The editor-facing side: the MCP server the editor launches, and the registry tools it offers."""
