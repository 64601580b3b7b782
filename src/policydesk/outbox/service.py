"""Queueing messages in the caller's transaction, and taking them out for delivery."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from policydesk.notify.base import Delivery, Outgoing
from policydesk.outbox.models import OutboxMessage

__all__ = ["Taken", "counts", "enqueue", "mark_delivered", "mark_failed", "oldest_pending", "take"]

#: The longest wait between two attempts, however many have failed.
MAX_BACKOFF = dt.timedelta(hours=6)
_OUTBOX = OutboxMessage.metadata.tables[OutboxMessage.__tablename__]


def enqueue(session: Session, messages: Sequence[Outgoing], *, now: dt.datetime) -> int:
    """Queue ``messages``; one whose key is queued already is left out. Returns how many were
    queued."""
    if not messages:
        return 0
    rows = [
        {
            "dedupe_key": m.key,
            "channel": m.channel,
            "recipient": m.recipient,
            "subject": m.subject,
            "body": m.body,
            "data": m.data,
            "ticket_id": m.ticket_id,
            "message_id": str(m.data["message_id"]).strip("<>") if "message_id" in m.data else None,
            "status": "pending",
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now,
        }
        for m in messages
    ]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(_OUTBOX).on_conflict_do_nothing(index_elements=["dedupe_key"])
    # One small statement run over the rows (pipelined on PostgreSQL), counted by the driver's
    # summed row count. With RETURNING, the rows would be inlined into one statement per
    # thousand, which the driver takes longer to parse than the server to run.
    result = session.execute(statement, rows, execution_options={"preserve_rowcount": True})
    return int(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Taken:
    """A message taken for delivery (its lease runs until it is marked)."""

    id: int
    channel: str
    attempts: int
    delivery: Delivery


def take(session: Session, *, now: dt.datetime, limit: int, lease: dt.timedelta) -> list[Taken]:
    """Take up to ``limit`` due messages, oldest first, and lease them: each is not taken again
    before ``now + lease`` unless marked meanwhile. On PostgreSQL, workers skip each other's
    rows (``FOR UPDATE SKIP LOCKED``); SQLite lets one writer in at a time."""
    due = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(due.scalar_subquery()))
        .values(next_attempt_at=now + lease, attempts=OutboxMessage.attempts + 1)
        .returning(
            OutboxMessage.id,
            OutboxMessage.channel,
            OutboxMessage.attempts,
            OutboxMessage.dedupe_key,
            OutboxMessage.recipient,
            OutboxMessage.subject,
            OutboxMessage.body,
            OutboxMessage.data,
        )
    )
    rows = session.execute(statement, execution_options={"synchronize_session": False}).all()
    return sorted(
        (
            Taken(
                r.id,
                r.channel,
                r.attempts,
                Delivery(r.dedupe_key, r.recipient, r.subject, r.body, r.data or {}),
            )
            for r in rows
        ),
        key=lambda t: t.id,
    )


def mark_delivered(session: Session, ids: Sequence[int], *, now: dt.datetime) -> None:
    if ids:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(status="delivered", delivered_at=now, last_error=None),
            execution_options={"synchronize_session": False},
        )


def mark_failed(
    session: Session,
    taken: Taken,
    *,
    error: str,
    permanent: bool,
    now: dt.datetime,
    max_attempts: int,
    backoff: dt.timedelta,
) -> str:
    """Record a failed attempt: retried after an exponential back-off, or dead when the failure
    is permanent or the attempts are used up. Returns the new status."""
    dead = permanent or taken.attempts >= max_attempts
    values: dict[str, Any] = {"last_error": error[:2000]}
    if dead:
        values["status"] = "dead"
    else:
        wait = min(backoff * 2 ** (taken.attempts - 1), MAX_BACKOFF)
        values["next_attempt_at"] = now + wait
    session.execute(
        update(OutboxMessage).where(OutboxMessage.id == taken.id).values(**values),
        execution_options={"synchronize_session": False},
    )
    return "dead" if dead else "pending"


def counts(session: Session) -> dict[tuple[str, str], int]:
    """Messages per (status, channel)."""
    rows = session.execute(
        select(OutboxMessage.status, OutboxMessage.channel, func.count()).group_by(
            OutboxMessage.status, OutboxMessage.channel
        )
    ).all()
    return {(status, channel): n for status, channel, n in rows}


def oldest_pending(session: Session) -> dt.datetime | None:
    """When the oldest message still waiting was queued."""
    return session.scalar(
        select(func.min(OutboxMessage.created_at)).where(OutboxMessage.status == "pending")
    )
