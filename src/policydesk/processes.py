"""The service's long-running parts, started in the calling process: the SMTP receiver, the
local mail catcher, the worker in a thread; each a context manager that stops what it started.
The command line composes them (``policydesk serve --worker --receive-mail --dev-mail``)."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from policydesk.db.engine import make_engine, sessions
from policydesk.settings import Settings

if TYPE_CHECKING:
    from policydesk.mail.intake_pool import IntakePool

__all__ = [
    "CannotStart",
    "background_worker",
    "configure_logging",
    "mail_catcher",
    "mail_receiver",
    "mail_receiver_processes",
    "stop_on_signal",
]

#: Where the local mail catcher keeps what it receives.
CAUGHT_MAIL = Path("var/mail")


class CannotStart(Exception):
    """A part could not start (its port is taken, or it is not for this mode)."""


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd: a line per command


def stop_on_signal() -> threading.Event:
    """An event that SIGINT or SIGTERM sets: a long-running command stops cleanly."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


@contextlib.contextmanager
def mail_receiver(settings: Settings, clock: Callable[[], dt.datetime]) -> Iterator[str]:
    """The SMTP receiver, its intake in this process's threads; yields a line saying where it
    listens."""
    with _receiver(settings, clock, None) as line:
        yield line


def mail_receiver_processes(settings: Settings, stop: threading.Event) -> Iterator[str]:
    """The SMTP receiver with ``mail_workers`` intake processes behind it (in this process's
    threads for one), until ``stop`` is set. Yields the line saying where it listens."""
    from policydesk.mail.intake_pool import IntakePool

    pool = IntakePool(settings.mail_workers) if settings.mail_workers > 1 else None
    try:
        if pool is not None:
            pool.start()
        with _receiver(settings, _utc_now, pool) as line:
            yield line
            stop.wait()
    finally:
        if pool is not None:
            pool.close()


@contextlib.contextmanager
def _receiver(
    settings: Settings, clock: Callable[[], dt.datetime], pool: IntakePool | None
) -> Iterator[str]:
    from policydesk.mail.intake import Intaker
    from policydesk.mail.smtp import IntakeHandler, start_receiver

    factory = sessions(make_engine(settings.database_url))
    host, port = settings.mail_listen_host, settings.mail_listen_port
    try:
        receiver = start_receiver(IntakeHandler(Intaker(settings, factory, clock=clock), pool))
    except OSError as exc:
        raise CannotStart(f"cannot listen on {host}:{port}: {exc}") from None
    intake = f"{pool.processes} intake processes" if pool else "intake in this process"
    try:
        yield f"taking in mail on smtp://{host}:{port} ({intake})"
    finally:
        receiver.stop()


@contextlib.contextmanager
def mail_catcher(settings: Settings) -> Iterator[str]:
    """The local mail catcher on the outgoing SMTP address (local mode only)."""
    from policydesk.devmail import start_sink

    if settings.mode != "local":
        raise CannotStart("the mail catcher is for local use only")
    host, port = settings.smtp_host, settings.smtp_port
    try:
        sink = start_sink(CAUGHT_MAIL, host=host, port=port)
    except OSError as exc:
        raise CannotStart(f"cannot listen on {host}:{port}: {exc}") from None
    try:
        yield f"mail catcher on smtp://{host}:{port} -> {CAUGHT_MAIL}/"
    finally:
        sink.stop()


@contextlib.contextmanager
def background_worker(settings: Settings, clock: Callable[[], dt.datetime]) -> Iterator[str]:
    """The worker in a thread of this process (beside one server process)."""
    from policydesk.worker.runner import Worker

    if settings.workers != 1:
        raise CannotStart("the worker runs beside one server process (POLICYDESK_WORKERS=1)")
    stop = threading.Event()
    runner = Worker(settings, sessions(make_engine(settings.database_url)), clock=clock)
    thread = threading.Thread(target=runner.run_forever, args=(stop,), name="worker", daemon=True)
    thread.start()
    try:
        yield "worker running in this process"
    finally:
        stop.set()
        thread.join(timeout=30)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
