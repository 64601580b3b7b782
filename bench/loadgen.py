"""A small closed-loop HTTP/1.1 load generator on asyncio, for loopback benchmarks.

Why not a general client: on a 2-core machine the load generator competes with the servers
for the CPU, so it must cost as little as possible per request. This one writes prepared
request bytes and reads the response by ``Content-Length`` (or chunks), on keep-alive
connections where the server allows them; a server that closes every connection (gunicorn's
sync workers do) gets a new connection per request, and the connect is counted in that
request's latency, as a real client would see it.

``concurrency`` workers each send a request, wait for the whole response, and send the next,
until ``duration`` seconds have passed or ``max_requests`` have been sent. Every request has a
timeout; a timed-out, failed or non-2xx request is counted as an error, never as a latency.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["LoadResult", "Request", "percentile", "run_load"]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def encode(self, host: str) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}"]
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        if self.body or self.method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


@dataclass
class LoadResult:
    ok: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    statuses: dict[int, int] = field(default_factory=dict)
    first_error: str = ""

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float:
        """The ``q`` quantile of the latencies, in milliseconds (NaN with no sample)."""
        return percentile(self.latencies, q) * 1000.0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank quantile (0 < q <= 1); NaN for an empty list."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q * len(ordered) + 0.5)))
    return ordered[rank - 1]


class _Conn:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def ensure(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.reader is None or self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self.reader, self.writer

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def exchange(self, raw: bytes) -> tuple[int, bytes]:
        reader, writer = await self.ensure()
        writer.write(raw)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await reader.readexactly(size + 2)
                if size == 0:
                    break
                parts.append(chunk[:-2])
            body = b"".join(parts)
        else:  # delimited by the end of the connection
            body = await reader.read()
            self.close()
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, body


async def _worker(
    host: str,
    port: int,
    make: Callable[[int], Request],
    counter: list[int],
    deadline: float,
    max_requests: int,
    timeout: float,
    result: LoadResult,
) -> None:
    conn = _Conn(host, port)
    hostname = f"{host}:{port}"
    try:
        while time.perf_counter() < deadline and counter[0] < max_requests:
            n = counter[0]
            counter[0] += 1
            raw = make(n).encode(hostname)
            t0 = time.perf_counter()
            try:
                status, body = await asyncio.wait_for(conn.exchange(raw), timeout)
            except Exception as exc:  # timeout, reset, refused: an error, and a new connection
                conn.close()
                result.errors += 1
                result.first_error = result.first_error or f"{type(exc).__name__}: {exc}"
                continue
            elapsed = time.perf_counter() - t0
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if 200 <= status < 300:
                result.ok += 1
                result.latencies.append(elapsed)
            else:
                result.errors += 1
                if not result.first_error:
                    result.first_error = f"HTTP {status}: {body[:300]!r}"
    finally:
        conn.close()


async def _run(
    host: str,
    port: int,
    make: Callable[[int], Request],
    concurrency: int,
    duration: float,
    max_requests: int,
    timeout: float,
) -> LoadResult:
    result = LoadResult()
    counter = [0]
    start = time.perf_counter()
    deadline = start + duration
    await asyncio.gather(
        *(
            _worker(host, port, make, counter, deadline, max_requests, timeout, result)
            for _ in range(concurrency)
        )
    )
    result.seconds = time.perf_counter() - start
    return result


def run_load(
    host: str,
    port: int,
    make: Callable[[int], Request],
    *,
    concurrency: int,
    duration: float,
    max_requests: int = 1_000_000,
    timeout: float = 60.0,
) -> LoadResult:
    """Drive ``make(n)`` requests at ``host:port`` with ``concurrency`` closed-loop clients."""
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        runner = asyncio.run
    return runner(_run(host, port, make, concurrency, duration, max_requests, timeout))
