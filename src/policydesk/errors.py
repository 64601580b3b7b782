"""Domain errors raised by the services; the web layer maps each to one HTTP status."""

from __future__ import annotations

__all__ = [
    "AccountRefused",
    "Conflict",
    "DomainError",
    "EscalationRefused",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "StaleVersion",
    "Unauthenticated",
]


class DomainError(Exception):
    """Base class; ``field`` names the input at fault when there is one."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class InvalidInput(DomainError):
    status = 422
    title = "Invalid input"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Unauthenticated(DomainError):
    status = 401
    title = "Not signed in"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class Conflict(DomainError):
    """The target is already in the state the change would put it in."""

    status = 409
    title = "Conflict"


class StaleVersion(DomainError):
    """The ticket changed since the version the client read (If-Match)."""

    status = 412
    title = "Precondition failed"


class AccountRefused(DomainError):
    """The account is banned from support (RL4) or refused as fraudulent (RL9)."""

    status = 403
    title = "Support refused"


class EscalationRefused(DomainError):
    """The escalation ladder does not allow this tier change now (RS1, RS4, RS5)."""

    status = 409
    title = "Escalation refused"
