"""What the HTTP channels share."""

from __future__ import annotations

import ssl

import httpx

from policydesk.notify.base import DeliveryFailed


def check_response(response: httpx.Response, what: str) -> None:
    """Accept a 2xx; raise ``DeliveryFailed`` otherwise, permanent when a retry cannot help."""
    if response.is_success:
        return
    # A 4xx other than a timeout or a rate limit will not change on retry.
    permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 429)
    raise DeliveryFailed(
        f"{what}: HTTP {response.status_code}: {response.text[:200]}", permanent=permanent
    )


class Connection:
    """An HTTP client made when first needed and dropped by ``close``: a notifier closes its
    connections after each batch and opens new ones for the next."""

    def __init__(self, timeout: float, client: httpx.Client | None = None) -> None:
        self.timeout = timeout
        self._client = client
        self._given = client is not None
        # Loading the CA bundle costs tens of milliseconds: once per notifier, not per client.
        self._tls = ssl.create_default_context()

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout, verify=self._tls)
        return self._client

    def close(self) -> None:
        if self._client is not None and not self._given:
            self._client.close()
            self._client = None
