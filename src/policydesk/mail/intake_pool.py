"""Intake in worker processes behind one SMTP listener.

A relay delivers over a few long connections. When each receiver process owned its own
connections (the kernel spreading them over processes sharing the port), three of four
connections could land on one process and leave the other idle: intake ran at half speed,
depending on a hash. Here one process speaks SMTP and hands each message to the next free
intake process, so every core works whatever the connections. Each intake process has its own
database connections and commits before the listener answers ``250``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from policydesk.db.engine import make_engine, sessions
from policydesk.mail.intake import Intake, Intaker
from policydesk.settings import Settings

__all__ = ["IntakePool"]

#: The intake of this worker process (built when the process starts, from the environment).
_INTAKER: Intaker | None = None


def _start_worker() -> None:
    global _INTAKER
    settings = Settings()
    factory = sessions(make_engine(settings.database_url))
    _INTAKER = Intaker(settings, factory, clock=lambda: dt.datetime.now(dt.UTC))


def _take(raw: bytes, source: str) -> Intake:
    assert _INTAKER is not None, "the intake process was not started"
    return _INTAKER.take(raw, source=source)


def _ready() -> bool:
    return _INTAKER is not None


class IntakePool:
    """``processes`` intake processes (spawned: they read the same ``POLICYDESK_*``
    environment). A process that dies (killed, out of memory) fails the messages it had,
    which are answered ``451`` and sent again; the next message gets fresh processes."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._lock = threading.Lock()
        self._pool = self._new()

    def _new(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(self.processes, mp_context=context, initializer=_start_worker)

    def start(self) -> None:
        """Start every process now (each takes about a second to import), not with the first
        messages."""
        futures = [self._pool.submit(_ready) for _ in range(self.processes * 2)]
        for future in futures:
            future.result(timeout=120)

    async def take(self, raw: bytes, *, source: str) -> Intake:
        pool = self._pool
        try:
            return await asyncio.wrap_future(pool.submit(_take, raw, source))
        except BrokenProcessPool:
            with self._lock:
                if self._pool is pool:
                    self._pool = self._new()
            raise

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
