"""`mcp-registry serve --http`: the registry for a team, over MCP streamable HTTP.

`app` (the ASGI front end and uvicorn), `guard` (Host/Origin rules, bearer tokens), `workspaces`
(one registry per workspace), `editors` (a workspace's sessions as one `EditorLink`), `metrics`
(`/metrics`). Tokens are stored by `config.tokens`.
"""
