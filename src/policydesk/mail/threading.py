"""Threading: which ticket a message belongs to, and the ids and subject tags we send.

A reply joins its ticket by the Message-IDs it names (:func:`thread_keys`, looked up against
the ids we sent and received), else by the ticket number in its subject
(:func:`find_ticket_number`), else it opens a new ticket.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Final

from policydesk.types import MAX_ID

if TYPE_CHECKING:
    from policydesk.mail.model import ParsedMessage

__all__ = [
    "MESSAGE_ID_PREFIX",
    "SUBJECT_TAG",
    "find_ticket_number",
    "is_our_message_id",
    "make_message_id",
    "message_id_header",
    "reply_subject",
    "strip_reply_prefixes",
    "subject_tag",
    "subject_tag_pattern",
    "thread_keys",
]

#: Every Message-ID Policydesk makes starts with this (``pd.1234.TOKEN@domain``).
MESSAGE_ID_PREFIX: Final = "pd."

_TAG_PREFIX = re.compile(r"[A-Za-z0-9_-]{0,20}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*")

#: Reply and forward markers in the languages our customers write in, each optionally counted
#: (``Re[2]:``, ``AW(3):``) and followed by an ASCII or full-width colon.
_REPLY_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|antw|sv|vs|odp|rif|res|ynt|wg|fwd?|tr|enc)"
    r"(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)+",
    re.IGNORECASE,
)


@cache
def subject_tag_pattern(prefix: str = "") -> re.Pattern[str]:
    """The pattern of a subject tag such as ``[#1234]`` (or ``[PD#1234]`` with prefix
    ``PD``), not glued to a word on either side, the prefix in any case."""
    if not _TAG_PREFIX.fullmatch(prefix):
        raise ValueError(f"a subject tag prefix is up to 20 letters, digits, - or _: {prefix!r}")
    return re.compile(r"(?<!\w)\[" + re.escape(prefix) + r"#(\d{1,10})\](?!\w)", re.IGNORECASE)


#: The default tag, ``[#1234]``.
SUBJECT_TAG: Final = subject_tag_pattern()


def subject_tag(ticket_id: int, *, prefix: str = "") -> str:
    """The tag that names a ticket in a subject: ``subject_tag(1234) == "[#1234]"``."""
    subject_tag_pattern(prefix)  # validates the prefix
    return f"[{prefix}#{ticket_id}]"


def find_ticket_number(subject: str, *, prefix: str = "") -> int | None:
    """The ticket number of the first tag in ``subject`` that can name a ticket, or None.

    ``Re: AW: [#1234] Printer`` gives 1234; ``abc[#1234]`` and ``[#0]`` give None, and so
    does a number too large to be a ticket's id.
    """
    for match in subject_tag_pattern(prefix).finditer(subject):
        number = int(match.group(1))
        if 1 <= number <= MAX_ID:
            return number
    return None


def strip_reply_prefixes(subject: str) -> str:
    """``subject`` without its leading ``Re:``/``AW:``/``Fwd:``… markers, however many."""
    return _REPLY_PREFIX.sub("", subject).strip()


def reply_subject(subject: str, ticket_id: int, *, prefix: str = "") -> str:
    """The subject of our reply: ``Re: [#1234] Printer``, with the customer's markers and any
    tags of this ticket removed so they do not pile up."""
    tag = subject_tag(ticket_id, prefix=prefix)
    rest = strip_reply_prefixes(subject)
    rest = subject_tag_pattern(prefix).sub(
        lambda m: "" if int(m.group(1)) == ticket_id else m.group(0), rest
    )
    rest = strip_reply_prefixes(" ".join(rest.split()))
    return f"Re: {tag} {rest}".rstrip()


def thread_keys(msg: ParsedMessage) -> list[str]:
    """The Message-IDs to look a message's ticket up by, best first, each once: the
    ``In-Reply-To`` ids, then the ``References`` from the newest (last) to the oldest."""
    keys: list[str] = []
    for message_id in (*msg.in_reply_to, *reversed(msg.references)):
        if message_id not in keys and message_id != msg.message_id:
            keys.append(message_id)
    return keys


def make_message_id(domain: str, ticket_id: int | None, token: str) -> str:
    """A Message-ID for a message we send, without angle brackets: ``pd.1234.TOKEN@domain``.

    ``token`` must be unique per message (e.g. ``secrets.token_urlsafe(16)``): it is what makes
    a reply's ``In-Reply-To`` hard to forge. Raises ValueError on a malformed domain or token.
    """
    domain = domain.lower()
    if not _DOMAIN.fullmatch(domain):
        raise ValueError(f"not a domain name: {domain!r}")
    if not _TOKEN.fullmatch(token):
        raise ValueError("a token is 1 to 64 letters, digits, - or _")
    if ticket_id is None:
        return f"{MESSAGE_ID_PREFIX}{token}@{domain}"
    if not 1 <= ticket_id <= MAX_ID:
        raise ValueError(f"not a ticket id: {ticket_id}")
    return f"{MESSAGE_ID_PREFIX}{ticket_id}.{token}@{domain}"


def message_id_header(message_id: str) -> str:
    """The header value for a normalised id: ``<pd.1234.TOKEN@domain>``."""
    return f"<{message_id}>"


def is_our_message_id(message_id: str, domain: str) -> bool:
    """Whether ``message_id`` has the shape :func:`make_message_id` gives at ``domain``."""
    local, at, its_domain = message_id.rpartition("@")
    if not at or its_domain.lower() != domain.lower():
        return False
    if not local.startswith(MESSAGE_ID_PREFIX):
        return False
    *number, token = local[len(MESSAGE_ID_PREFIX) :].split(".")
    if len(number) > 1 or not all(n.isascii() and n.isdigit() for n in number):
        return False
    return _TOKEN.fullmatch(token) is not None
