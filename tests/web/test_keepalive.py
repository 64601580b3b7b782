"""A keep-alive connection is closed after ``POLICYDESK_KEEPALIVE_REQUESTS`` responses, so that
its client reconnects to whichever server process is free."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from policydesk.settings import Settings
from policydesk.web.app import create_app
from tests.web._serve import serving


def _connection_headers(client: TestClient, n: int) -> list[str | None]:
    return [client.get("/healthz").headers.get("connection") for _ in range(n)]


def test_every_third_response_of_a_connection_closes_it_with_a_limit_of_three(
    engine: Engine,
) -> None:
    # The test client sends every request from one address: one connection, as the app sees it.
    with TestClient(create_app(Settings(keepalive_requests=3), engine=engine)) as client:
        assert _connection_headers(client, 7) == [None, None, "close", None, None, "close", None]


def test_a_limit_of_zero_keeps_a_connection_open_for_any_number_of_requests(
    engine: Engine,
) -> None:
    with TestClient(create_app(Settings(keepalive_requests=0), engine=engine)) as client:
        assert _connection_headers(client, 250) == [None] * 250


@pytest.fixture
def server(tmp_path: Path) -> Iterator[int]:
    """A real ``policydesk serve`` (two processes) whose connections carry two requests each."""
    env = {
        "POLICYDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "POLICYDESK_WORKERS": "2",
        "POLICYDESK_KEEPALIVE_REQUESTS": "2",
    }
    with serving(env, tmp_path / "serve.log") as port:
        yield port


def test_a_real_server_closes_a_connection_after_its_limit_and_the_client_reconnects(
    server: int,
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
    seen: list[tuple[int, str | None, bool]] = []
    local_ports = []
    for _ in range(5):
        conn.request("GET", "/healthz")
        assert conn.sock is not None
        local_ports.append(conn.sock.getsockname()[1])
        response = conn.getresponse()
        response.read()
        # http.client drops its socket once a response says the server closes the connection.
        seen.append((response.status, response.getheader("connection"), conn.sock is None))
    conn.close()
    assert seen == [
        (200, None, False),
        (200, "close", True),
        (200, None, False),
        (200, "close", True),
        (200, None, False),
    ]
    # Requests 1-2, 3-4 and 5 went over three TCP connections.
    assert len(set(local_ports)) == 3
    assert local_ports[1] == local_ports[0]
    assert local_ports[3] == local_ports[2]
