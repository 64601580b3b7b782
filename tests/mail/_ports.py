"""A free TCP port on loopback for a test server."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nothing listens on now. Another process may take it before the server binds
    it, so a server that fails to start is tried again on another port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
