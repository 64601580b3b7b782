"""Reading header values as they arrive: folded, RFC 2047-encoded, 8-bit, or plain broken.

Every function here takes the raw value the ``email`` parser kept (lone surrogates standing for
undecodable bytes included) and never raises: what cannot be read is left out, never guessed
into something else.
"""

from __future__ import annotations

import datetime as dt
import email.header
import email.utils
import functools
import hashlib
import re
from email import policy
from email.headerregistry import BaseHeader, HeaderRegistry
from typing import Final

from policydesk.mail.charsets import clean_text, decode_bytes, undo_surrogates

__all__ = [
    "MAX_MESSAGE_ID_LENGTH",
    "PARSING_POLICY",
    "SYNTHETIC_DOMAIN",
    "header_text",
    "is_mailbox",
    "parse_addresses",
    "parse_date",
    "parse_message_ids",
    "unfold",
]

#: Message-IDs longer than this (none that a real client writes) are stored as a hash of
#: themselves, the same for every message that names them, so threading still matches.
MAX_MESSAGE_ID_LENGTH: Final = 250

#: The domain of every id Policydesk makes up; ``.invalid`` can never be a real domain.
SYNTHETIC_DOMAIN: Final = "policydesk.invalid"

_FOLD = re.compile(r"\r?\n(?=[ \t])")
_WORD = r"=\?[^?\s]+\?[qQbB]\?[^?\s]*\?="
#: Encoded words with only whitespace between them, which RFC 2047 says to drop.
_ENCODED_RUN = re.compile(rf"{_WORD}(?:\s*{_WORD})*")
_BRACKETED_ID = re.compile(r"<([^<>]*)>")
_SPACE = re.compile(r"\s+")
_IP_LITERAL = re.compile(r"\[[^\[\]\s]+\]")
#: What separates the addresses in text too broken to parse (no backtracking regex: a long
#: hostile header must cost linear time).
_SEPARATORS = re.compile(r"[\s<>()\[\],;:\"']+")
_LOCAL_FORBIDDEN = re.compile(r"[\s<>()\[\],;:\\]")


def unfold(value: str) -> str:
    """One line: folding undone, stray line breaks turned into spaces."""
    return _FOLD.sub("", value).replace("\r", " ").replace("\n", " ")


def _decode_run(run: str) -> str:
    """One run of adjacent encoded words, decoded together (a client may split a character's
    bytes across two words), each charset through our fallbacks."""
    try:
        chunks = email.header.decode_header(run)
    except Exception:  # e.g. HeaderParseError on bad base64: leave it as written
        return run
    out: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
        else:
            label = charset.partition("*")[0] if charset else None  # RFC 2231 language
            out.append(decode_bytes(chunk, label).text)
    return "".join(out)


def _decode_words(value: str) -> str:
    """RFC 2047 encoded words decoded where they stand; the text around them is left alone."""
    return _ENCODED_RUN.sub(lambda m: _decode_run(m.group()), value)


def header_text(value: str) -> str:
    """A header value as a person reads it: unfolded, decoded, stripped, storable."""
    text = undo_surrogates(unfold(value))
    if "=?" in text:
        text = _decode_words(text)
    return _SPACE.sub(" ", clean_text(text)).strip()


def is_mailbox(addr_spec: str) -> bool:
    """Whether ``addr_spec`` has a local part and a domain one could write to."""
    local, at, domain = addr_spec.rpartition("@")
    if not at or not local or not domain or len(addr_spec) > 320:
        return False
    if _LOCAL_FORBIDDEN.search(local) and not (local.startswith('"') and local.endswith('"')):
        return False
    if _IP_LITERAL.fullmatch(domain):
        return True
    labels = domain.removesuffix(".").split(".")
    return all(label and _is_label(label) for label in labels)


def _is_label(label: str) -> bool:
    # Letters of any script (internationalised domains), digits and inner hyphens.
    return (
        label[0].isalnum() and label[-1].isalnum() and all(c.isalnum() or c == "-" for c in label)
    )


_CACHED_VALUE_CHARS: Final = 1_000


class _ReusedHeaders:
    """The default policy's header factory, keeping the parsed fields it made.

    With the default policy every read of a field parses it anew, and walking a message reads
    Content-Type and Content-Disposition a dozen times (a quarter of intake's time went there).
    The parsed fields are immutable, and most values recur from message to message, so one
    parse each serves them all; long values are parsed every time rather than held."""

    def __init__(self) -> None:
        self._registry = HeaderRegistry()
        self._cached = functools.lru_cache(maxsize=2_048)(self._registry)

    def __call__(self, name: str, value: str) -> BaseHeader:
        if len(value) > _CACHED_VALUE_CHARS:
            return self._registry(name, value)
        return self._cached(name, value)


PARSING_POLICY: Final = policy.default.clone(header_factory=_ReusedHeaders())


def _pairs(text: str) -> list[tuple[str, str]]:
    try:
        parsed = PARSING_POLICY.header_factory("to", text)
        return [(a.display_name, a.addr_spec) for a in parsed.addresses]
    except Exception:  # e.g. IndexError on "name <" in Python 3.11; the old parser copes
        ...
    try:
        return email.utils.getaddresses([text])
    except Exception:  # nothing readable: no addresses
        return []


def parse_addresses(value: str) -> list[tuple[str, str]]:
    """The ``(display name, lower-cased addr-spec)`` pairs of an address header, in order.

    Entries without a usable mailbox (a bare name, ``jo@``, group syntax alone) are left out;
    the same address twice is kept once. When the syntax is too broken to yield any mailbox
    (``"Unclosed <jo@example.com>``), the addresses written in it are taken, without names.
    """
    text = undo_surrogates(unfold(value))
    seen: set[str] = set()
    found: list[tuple[str, str]] = []
    pairs = _pairs(text)
    if not any(is_mailbox(clean_text(addr).strip().lower()) for _, addr in pairs):
        pairs = [("", token) for token in _SEPARATORS.split(text) if token.count("@") == 1]
    for name, addr in pairs:
        spec = clean_text(addr).strip().lower()
        if not is_mailbox(spec) or spec in seen:
            continue
        seen.add(spec)
        display = header_text(name).strip("\"' ")
        found.append(("" if display.lower() == spec else display, spec))
    return found


def _bounded(message_id: str) -> str:
    if len(message_id) <= MAX_MESSAGE_ID_LENGTH:
        return message_id
    digest = hashlib.sha256(message_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"long.{digest}@{SYNTHETIC_DOMAIN}"


def parse_message_ids(value: str, *, bare: bool = False) -> list[str]:
    """The message ids in a ``Message-ID``, ``In-Reply-To`` or ``References`` value, in order,
    without angle brackets or whitespace, each once.

    Ids are ``<…>`` tokens; text around them (some clients write ``Your message of …``) is
    ignored. Without any brackets, whitespace-separated tokens holding an ``@`` are taken, and
    with ``bare`` (for ``Message-ID``, which names one message) the whole value is.
    """
    text = clean_text(unfold(value))
    tokens = _BRACKETED_ID.findall(text)
    if not tokens:
        stripped = text.strip()
        tokens = [stripped] if bare else [t for t in re.split(r"[\s,]+", stripped) if "@" in t]
    ids: dict[str, None] = {}
    for token in tokens:
        message_id = _SPACE.sub("", token)
        if message_id:
            ids[_bounded(message_id)] = None
    return list(ids)


def parse_date(value: str) -> dt.datetime | None:
    """An aware instant, or None when the value is no date. ``-0000`` (zone unknown) is UTC."""
    try:
        when = email.utils.parsedate_to_datetime(clean_text(unfold(value)).strip())
    except Exception:  # ValueError, TypeError, OverflowError…: no date
        return None
    if when.tzinfo is None:
        return when.replace(tzinfo=dt.UTC)
    return when
