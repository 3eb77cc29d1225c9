"""`python -m mcp_registry_server` is the `mcp-registry` command."""

from mcp_registry_server.cli import main

raise SystemExit(main())
