"""Outbox delivery: take due messages, hand each to its channel's notifier, record the outcome.

A message is leased when taken (its next attempt moves a lease ahead) and the lease is
committed before anything is sent, so a worker holds no transaction while it talks to a mail
server or a webhook. Each outcome is committed as soon as it is known. A worker killed between
sending and recording leaves the message to be sent again when its lease ends: delivery is at
least once, and the message carries the same key (``Idempotency-Key``, ``X-Policydesk-Key``) and
Message-ID every time, so a receiver can tell a repeat.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from policydesk.db.engine import session_scope
from policydesk.notify.base import DeliveryFailed, Notifier
from policydesk.notify.email import SmtpNotifier
from policydesk.notify.sms import SmsGatewayNotifier
from policydesk.notify.webhook import WebhookNotifier
from policydesk.outbox import service as outbox
from policydesk.settings import Settings

__all__ = ["Deliverer", "DeliveryStats", "default_notifiers"]

log = logging.getLogger("policydesk.worker")


@dataclass
class DeliveryStats:
    taken: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0

    def add(self, other: DeliveryStats) -> None:
        self.taken += other.taken
        self.delivered += other.delivered
        self.retried += other.retried
        self.dead += other.dead


def default_notifiers(settings: Settings) -> dict[str, Notifier]:
    """A notifier per configured channel (SMS only with a gateway URL)."""
    found: dict[str, Notifier] = {
        "email": SmtpNotifier(settings),
        "webhook": WebhookNotifier(settings),
    }
    if settings.sms_gateway_url:
        found["sms"] = SmsGatewayNotifier(settings)
    return found


class Deliverer:
    def __init__(self, settings: Settings, notifiers: Mapping[str, Notifier]) -> None:
        self.settings = settings
        self.notifiers = notifiers

    def run(
        self, factory: sessionmaker[Session], *, clock: Callable[[], dt.datetime], limit: int
    ) -> DeliveryStats:
        """One batch: take up to ``limit`` due messages and deliver them one by one."""
        s = self.settings
        stats = DeliveryStats()
        with session_scope(factory) as session:
            taken = outbox.take(
                session,
                now=clock(),
                limit=limit,
                lease=dt.timedelta(seconds=s.delivery_lease_seconds),
            )
        stats.taken = len(taken)
        used: set[str] = set()
        try:
            for item in taken:
                notifier = self.notifiers.get(item.channel)
                error: str | None = None
                permanent = False
                if notifier is None:
                    error, permanent = f"no {item.channel} channel is configured", True
                else:
                    used.add(item.channel)
                    try:
                        notifier.send(item.delivery)
                    except DeliveryFailed as exc:
                        error, permanent = exc.reason, exc.permanent
                    except Exception as exc:  # a notifier's bug must not stop the others
                        log.exception("outbox %s: the %s notifier failed", item.id, item.channel)
                        error = f"{type(exc).__name__}: {exc}"
                with session_scope(factory) as session:
                    if error is None:
                        outbox.mark_delivered(session, [item.id], now=clock())
                        stats.delivered += 1
                        continue
                    state = outbox.mark_failed(
                        session,
                        item,
                        error=error,
                        permanent=permanent,
                        now=clock(),
                        max_attempts=s.delivery_max_attempts,
                        backoff=dt.timedelta(seconds=s.delivery_backoff_seconds),
                    )
                log.warning("outbox %s (%s to %s): %s; %s", item.id, item.channel,
                            item.delivery.recipient, error, state)  # fmt: skip
                if state == "dead":
                    stats.dead += 1
                else:
                    stats.retried += 1
        finally:
            for channel in used:
                self.notifiers[channel].close()
        return stats
