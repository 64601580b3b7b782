"""Prometheus metrics: counters of what this process did, and gauges read from the database
when scraped (so that every process serving ``/metrics`` tells the same totals)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from policydesk.db.engine import READ_ONLY, session_scope
from policydesk.outbox import service as outbox
from policydesk.tickets.models import Ticket

if TYPE_CHECKING:  # the worker imports this module
    from policydesk.worker.deliver import DeliveryStats
    from policydesk.worker.sweep import SweepStats

__all__ = [
    "REGISTRY",
    "clock_ended",
    "record_delivery",
    "record_sweep",
    "render",
]

REGISTRY = CollectorRegistry()
ALERTS = Counter(
    "policydesk_deadline_alerts",
    "Warnings and breaches the worker sent, per clock.",
    ["kind", "clock"],
    registry=REGISTRY,
)
CLOCKS_MET = Counter(
    "policydesk_deadlines_met",
    "Clocks met by a change in this process, in time or late, per clock.",
    ["clock", "outcome"],
    registry=REGISTRY,
)
PAGES = Counter("policydesk_emergency_pages", "Emergency pages sent.", registry=REGISTRY)
SWEEP_ERRORS = Counter(
    "policydesk_sweep_errors", "Tickets the sweep failed to handle.", registry=REGISTRY
)
DELIVERIES = Counter(
    "policydesk_outbox_deliveries",
    "Delivery attempts by outcome (delivered, retry, dead).",
    ["outcome"],
    registry=REGISTRY,
)


def record_sweep(stats: SweepStats) -> None:
    for (kind, clock), n in stats.by_clock.items():
        ALERTS.labels(kind, clock).inc(n)
    PAGES.inc(stats.pages)
    SWEEP_ERRORS.inc(stats.errors)


def record_delivery(stats: DeliveryStats) -> None:
    DELIVERIES.labels("delivered").inc(stats.delivered)
    DELIVERIES.labels("retry").inc(stats.retried)
    DELIVERIES.labels("dead").inc(stats.dead)


def clock_ended(clock: str, *, late: bool) -> None:
    CLOCKS_MET.labels(clock, "late" if late else "in_time").inc()


class _Database(Collector):
    """Gauges read from the database at each scrape."""

    def __init__(self, sessions: sessionmaker[Session], now: dt.datetime) -> None:
        self.sessions, self.now = sessions, now

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with session_scope(self.sessions) as session:
            session.connection(execution_options={READ_ONLY: True})
            tickets = GaugeMetricFamily(
                "policydesk_tickets",
                "Tickets by status and priority.",
                labels=["status", "priority"],
            )
            rows = session.execute(
                select(Ticket.status, Ticket.priority, func.count()).group_by(
                    Ticket.status, Ticket.priority
                )
            )
            for status, priority, n in rows:
                tickets.add_metric([status, priority], n)
            yield tickets
            depth = GaugeMetricFamily(
                "policydesk_outbox_messages",
                "Outbox messages by status (pending, delivered, dead) and channel.",
                labels=["status", "channel"],
            )
            for (status, channel), n in sorted(outbox.counts(session).items()):
                depth.add_metric([status, channel], n)
            yield depth
            oldest = session.scalar(select(func.min(Ticket.wake_at)))
            lag = max(0.0, (self.now - oldest).total_seconds()) if oldest else 0.0
            yield GaugeMetricFamily(
                "policydesk_worker_lag_seconds",
                "Now minus the earliest wake-up instant still waiting (0: the worker keeps up).",
                value=lag,
            )
            waiting = outbox.oldest_pending(session)
            age = max(0.0, (self.now - waiting).total_seconds()) if waiting else 0.0
            yield GaugeMetricFamily(
                "policydesk_outbox_oldest_pending_seconds",
                "Age of the oldest message not yet delivered.",
                value=age,
            )


def render(sessions: sessionmaker[Session], clock: Callable[[], dt.datetime]) -> bytes:
    """The text exposition of this process's counters and the database's gauges."""
    database = CollectorRegistry()
    database.register(_Database(sessions, clock()))
    return generate_latest(REGISTRY) + generate_latest(database)
