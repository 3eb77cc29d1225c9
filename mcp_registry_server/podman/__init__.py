"""Everything that touches Podman: the API socket, the container command line, diagnostics."""
