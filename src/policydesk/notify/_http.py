"""What the HTTP channels share."""

from __future__ import annotations

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
