"""An in-memory notifier for unit tests: records what it is handed, and fails on request."""

from __future__ import annotations

from dataclasses import dataclass, field

from policydesk.notify.base import Delivery, DeliveryFailed

__all__ = ["FakeNotifier"]


@dataclass
class FakeNotifier:
    channel: str
    sent: list[Delivery] = field(default_factory=list)
    #: Raise this many temporary failures before accepting.
    failures: int = 0
    permanent: bool = False

    def send(self, delivery: Delivery) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise DeliveryFailed(f"{self.channel} is down (fake)", permanent=self.permanent)
        self.sent.append(delivery)

    def close(self) -> None:
        pass
