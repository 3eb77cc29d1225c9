"""mcp-registry: a Podman-backed MCP registry server for desktop editors."""

__version__ = "0.1.0"
