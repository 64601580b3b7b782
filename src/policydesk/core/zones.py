"""Time zones from the pinned ``tzdata`` package, never from the operating system.

``zoneinfo.ZoneInfo(key)`` prefers the system's zone files when they exist, so two machines with
different OS updates could compute different due times for the same ticket. Loading the file out
of the pinned package makes every machine agree.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

from policydesk.core.errors import PolicyError

__all__ = ["UnknownZoneError", "load_zone"]

_KEY = re.compile(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*")


class UnknownZoneError(PolicyError):
    """The name is not an IANA zone in the pinned tzdata."""


@cache
def load_zone(key: str) -> ZoneInfo:
    """Return the IANA zone ``key`` as compiled in the pinned ``tzdata`` package.

    Raises ``UnknownZoneError`` for a name the package does not hold.
    """
    if not _KEY.fullmatch(key):
        raise UnknownZoneError(f"{key!r} is not an IANA time zone name (e.g. 'America/New_York')")
    node = resources.files("tzdata.zoneinfo").joinpath(*key.split("/"))
    if not node.is_file():
        raise UnknownZoneError(f"{key!r} is not an IANA time zone name (e.g. 'America/New_York')")
    with node.open("rb") as fh:
        return ZoneInfo.from_file(fh, key=key)
