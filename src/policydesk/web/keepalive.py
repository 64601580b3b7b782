"""A limit on the requests one keep-alive connection carries (Apache's MaxKeepAliveRequests,
nginx's keepalive_requests).

Several server processes share one listening socket, and a connection stays with the process
that accepted it. With few clients on long-lived connections (a proxy's upstream pool, an
integration, a load test) they can pile onto one process while another idles: with four
connections on two processes, a 4-0 split serves half of what a 2-2 split does. Closing a
connection after ``limit`` responses makes its client connect again, and an idle process,
already waiting on the socket, is the likeliest to accept it. The client loses nothing: the
response carries ``Connection: close``, so it sends its next request on a new connection.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["KeepAliveLimit"]

#: Connections a process keeps a count for; past this the counts start over (a connection the
#: client closed leaves its count behind, and a process may see many).
_TRACKED = 10_000


class KeepAliveLimit:
    """ASGI middleware: ``Connection: close`` on every ``limit``-th response of a connection."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._served: MutableMapping[Any, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] != "http" or not self.limit or client is None:
            await self.app(scope, receive, send)
            return
        # The client's address and port name one open connection to this process.
        key = tuple(client)
        served = self._served.get(key, 0) + 1
        if served < self.limit:
            if len(self._served) >= _TRACKED and key not in self._served:
                self._served.clear()
            self._served[key] = served
            await self.app(scope, receive, send)
            return
        self._served.pop(key, None)

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, closing)
