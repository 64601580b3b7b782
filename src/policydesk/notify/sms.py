"""SMS through an HTTP gateway: a JSON POST of ``{"to": "+1555…", "text": "…"}`` to the
configured URL, with ``Authorization: Bearer <token>`` when a token is set."""

from __future__ import annotations

import httpx

from policydesk.notify._http import Connection, check_response
from policydesk.notify.base import Delivery, DeliveryFailed
from policydesk.settings import Settings

__all__ = ["SMS_LIMIT", "SmsGatewayNotifier"]

#: Characters of one message; a longer text is cut, ending with an ellipsis.
SMS_LIMIT = 320


class SmsGatewayNotifier:
    channel = "sms"

    def __init__(self, settings: Settings, *, client: httpx.Client | None = None) -> None:
        if not settings.sms_gateway_url:
            raise ValueError("POLICYDESK_SMS_GATEWAY_URL is not set")
        self.url = settings.sms_gateway_url
        token = settings.sms_gateway_token
        self.headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}
        self.http = Connection(settings.http_timeout_seconds, client)

    def send(self, delivery: Delivery) -> None:
        text = (
            delivery.subject
            if len(delivery.subject) <= SMS_LIMIT
            else (delivery.subject[: SMS_LIMIT - 1] + "…")
        )
        body = {"to": delivery.recipient, "text": text, "id": delivery.key}
        try:
            response = self.http.client.post(
                self.url, json=body, headers={**self.headers, "Idempotency-Key": delivery.key}
            )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"sms gateway: {type(exc).__name__}: {exc}") from None
        check_response(response, "sms gateway")

    def close(self) -> None:
        self.http.close()
