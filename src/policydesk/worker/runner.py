"""The worker process: rounds of its jobs, until told to stop.

A round runs each job in ``JOBS`` until it has nothing more to do right now (a job whose batch
came back full runs again at once), then waits ``worker_interval_seconds``. Any number of
workers may run against one PostgreSQL database; on SQLite their writes take turns.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from policydesk import metrics
from policydesk.db.engine import session_scope
from policydesk.mail.imap import ImapPoller
from policydesk.mail.intake import Intaker
from policydesk.notify.base import Notifier
from policydesk.settings import Settings
from policydesk.worker.deliver import Deliverer, DeliveryStats, default_notifiers
from policydesk.worker.sweep import Sweeper, SweepStats

__all__ = ["JOBS", "Round", "Worker"]

log = logging.getLogger("policydesk.worker")


@dataclass
class Round:
    sweep: SweepStats = field(default_factory=SweepStats)
    delivery: DeliveryStats = field(default_factory=DeliveryStats)
    mail_fetched: int = 0

    @property
    def busy(self) -> bool:
        return bool(
            self.sweep.tickets or self.sweep.errors or self.delivery.taken or self.mail_fetched
        )


class Worker:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        *,
        clock: Callable[[], dt.datetime],
        notifiers: Mapping[str, Notifier] | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.clock = clock
        self.sweeper = Sweeper(settings)
        self.deliverer = Deliverer(settings, notifiers or default_notifiers(settings))
        self.poller = ImapPoller(
            Intaker(settings, sessions, clock=clock, composer=self.sweeper.composer)
        )
        self._polled_at: float | None = None

    def sweep(self, into: Round) -> bool:
        """One sweep batch; True when the batch was full (more may be due)."""
        with session_scope(self.sessions) as session:
            stats = self.sweeper.run(session, now=self.clock(), limit=self.settings.worker_batch)
        into.sweep.add(stats)
        metrics.record_sweep(stats)
        return stats.tickets + stats.errors >= self.settings.worker_batch

    def deliver(self, into: Round) -> bool:
        """One delivery batch; True when the batch was full."""
        limit = self.settings.delivery_batch
        stats = self.deliverer.run(self.sessions, clock=self.clock, limit=limit)
        into.delivery.add(stats)
        metrics.record_delivery(stats)
        return stats.taken >= limit

    def poll_mail(self, into: Round) -> bool:
        """The IMAP mailboxes, every ``imap_interval_seconds``; never runs twice in a round."""
        s = self.settings
        started = time.monotonic()
        if not s.imap_mailboxes or (
            self._polled_at is not None and started - self._polled_at < s.imap_interval_seconds
        ):
            return False
        self._polled_at = started
        stats = self.poller.poll_all()
        into.mail_fetched += stats.fetched
        return False

    def run_round(self) -> Round:
        """Every job until none has more to do now."""
        done = Round()
        for _name, job in JOBS:
            while job(self, done):
                pass
        return done

    def run_forever(self, stop: threading.Event) -> None:
        """Rounds until ``stop`` is set; a failing round is logged and retried next time."""
        interval = self.settings.worker_interval_seconds
        while not stop.is_set():
            started = time.monotonic()
            try:
                done = self.run_round()
            except Exception:
                log.exception("a worker round failed; trying again in %.1f s", interval)
            else:
                if done.busy:
                    s, d = done.sweep, done.delivery
                    log.info(
                        "swept %d tickets (%d alerts, %d pages, %d broadcasts, %d "
                        "acknowledgements, %d errors); delivered %d, retrying %d, dead %d; "
                        "%d messages fetched",
                        s.tickets, s.alerts, s.pages, s.broadcasts, s.acknowledgements, s.errors,
                        d.delivered, d.retried, d.dead, done.mail_fetched,
                    )  # fmt: skip
            stop.wait(max(0.0, interval - (time.monotonic() - started)))


#: The worker's jobs, in the order a round runs them: the registry, and the only one.
JOBS: tuple[tuple[str, Callable[[Worker, Round], bool]], ...] = (
    ("mail", Worker.poll_mail),
    ("sweep", Worker.sweep),
    ("deliver", Worker.deliver),
)
