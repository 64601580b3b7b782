"""The one protocol every channel implements, and what it is handed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Delivery", "DeliveryFailed", "Notifier", "Outgoing"]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message to queue in the outbox. ``key`` is unique per message: the same decision never
    queues it twice."""

    key: str
    channel: str
    recipient: str
    subject: str
    body: str
    ticket_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Delivery:
    """An outbox row as a notifier sees it."""

    key: str
    recipient: str
    subject: str
    body: str
    data: dict[str, Any] = field(default_factory=dict)


class DeliveryFailed(Exception):
    """Sending failed. ``permanent``: retrying cannot help (a refused recipient, a 4xx)."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class Notifier(Protocol):
    """Sends messages of one channel. ``send`` returns when the far end has accepted the
    message, and raises ``DeliveryFailed`` otherwise; ``close`` ends any open connection."""

    channel: str

    def send(self, delivery: Delivery) -> None: ...

    def close(self) -> None: ...
