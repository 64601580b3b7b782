"""Team chat webhooks (Microsoft Teams / Slack incoming-webhook style): a JSON POST, signed.

The body carries ``text`` (what Teams and Slack show) and the ticket's details. Each request is
signed so that the receiver can tell it came from this desk and is fresh:
``X-Policydesk-Timestamp: <unix seconds>`` and
``X-Policydesk-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret>``.
``Idempotency-Key`` carries the outbox key, the same on every retry of one message.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable

import httpx

from policydesk.notify._http import Connection, check_response
from policydesk.notify.base import Delivery, DeliveryFailed
from policydesk.settings import Settings

__all__ = ["WebhookNotifier", "sign", "verify"]


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


class WebhookNotifier:
    channel = "webhook"

    def __init__(
        self,
        settings: Settings,
        *,
        client: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.secret = settings.webhook_secret.get_secret_value()
        self.http = Connection(settings.http_timeout_seconds, client)
        self.clock = clock

    def send(self, delivery: Delivery) -> None:
        payload = {"text": f"**{delivery.subject}**\n\n{delivery.body}", **delivery.data}
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        timestamp = str(int(self.clock()))
        headers = {
            "Content-Type": "application/json",
            "X-Policydesk-Timestamp": timestamp,
            "X-Policydesk-Signature": sign(self.secret, timestamp, body),
            "Idempotency-Key": delivery.key,
        }
        try:
            response = self.http.client.post(delivery.recipient, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"webhook: {type(exc).__name__}: {exc}") from None
        check_response(response, "webhook")

    def close(self) -> None:
        self.http.close()
