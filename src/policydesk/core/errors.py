"""Typed domain errors raised by the core; adapters map them to their own error shapes."""

from __future__ import annotations

__all__ = ["CalendarError", "PolicyError"]


class PolicyError(Exception):
    """A policy (or something it names) is not valid."""


class CalendarError(ValueError):
    """A calendar question that has no answer (naive instant, negative duration, no open time)."""
