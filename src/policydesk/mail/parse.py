"""Inbound parsing: raw bytes in, a :class:`ParsedMessage` or a :class:`Quarantine` out.

What is quarantined (the message is kept for an agent with the reason, never dropped):

- ``EMPTY``: no bytes at all, or only whitespace;
- ``NO_HEADERS``: not a single header field, so not an e-mail message;
- ``NO_SENDER``: no mailbox in ``From`` (nor in ``Sender``): nobody to answer or attribute;
- ``TOO_COMPLEX``: more than 1,000 MIME parts or 32 levels of nesting (a MIME bomb), or
  nesting deep enough to exhaust the ``email`` package's own recursion;
- ``UNREADABLE``: anything else the parser failed on (the reason names the error). The fuzz
  tests hold that no input reaches this; it is there so that none is ever lost.

What is tolerated, with a note in :attr:`ParsedMessage.notes` where it matters:

- a missing or unreadable Message-ID: a stable synthetic one from the SHA-256 of the bytes;
- a missing or unparseable Date: ``date`` is None; a missing Subject: "";
- unknown, wrong or missing charsets, 8-bit bytes in headers, undecodable encoded words:
  decoded by the fallbacks in :mod:`policydesk.mail.charsets`, never raising;
- broken MIME (missing boundaries, bad base64 or quoted-printable, a wrong
  Content-Transfer-Encoding): what could be read, as the ``email`` package reads it;
- a From whose syntax is broken but which holds an address (``"Unclosed <jo@x.example>``):
  that address; several From addresses: the first; unreadable To/Cc entries are left out;
- files without a name: a name from their position and type; names are made safe;
- NUL characters: shown as U+FFFD, so that PostgreSQL can store every text;
- HTML with more than 10,000 tags: kept as escaped text (sanitising it would take too long);
- more than 100 References: the newest 100.

Attachments over the limit are not truncated: the message comes back with
:attr:`ParsedMessage.oversize` set, to be refused with :meth:`ParsedMessage.refusal_text`.
"""

from __future__ import annotations

import hashlib
import re
from email.message import Message
from email.parser import BytesParser
from typing import Final

from policydesk.mail import _walk
from policydesk.mail.charsets import clean_text
from policydesk.mail.headers import (
    PARSING_POLICY,
    SYNTHETIC_DOMAIN,
    header_text,
    parse_addresses,
    parse_date,
    parse_message_ids,
    unfold,
)
from policydesk.mail.html import MAX_HTML_TAGS, html_to_text, is_too_complex, sanitise_html
from policydesk.mail.loops import classify
from policydesk.mail.model import (
    Address,
    Attachment,
    Oversize,
    ParsedMessage,
    Quarantine,
    QuarantineCode,
)
from policydesk.mail.threading import find_ticket_number, subject_tag_pattern

__all__ = ["MAX_NOTES", "MAX_REFERENCES", "parse_message"]

#: Notes beyond this many are summed up in one: a broken message can have thousands.
MAX_NOTES: Final = 20

#: References beyond this many (the oldest) are dropped.
MAX_REFERENCES: Final = 100

_NULL_PATH = re.compile(r"^\s*<\s*>\s*$")


class _Headers:
    """The top-level header fields as received: unfolded, 8-bit bytes decoded, in order."""

    def __init__(self, message: Message) -> None:
        self.items: tuple[tuple[str, str], ...] = tuple(
            (clean_text(name), clean_text(unfold(value)).strip())
            for name, value in message.raw_items()
        )

    def first(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.items if k.lower() == wanted), None)

    def addresses(self, *names: str) -> tuple[Address, ...]:
        found: dict[str, Address] = {}
        for name in names:
            for key, value in self.items:
                if key.lower() == name.lower():
                    for display, addr in parse_addresses(value):
                        found.setdefault(addr, Address(addr, display))
        return tuple(found.values())


def _synthetic_id(digest: str) -> str:
    return f"{digest}@{SYNTHETIC_DOMAIN}"


def _message_id(headers: _Headers, digest: str) -> tuple[str, bool]:
    value = headers.first("Message-ID")
    ids = parse_message_ids(value, bare=True) if value else []
    return (ids[0], False) if ids else (_synthetic_id(digest), True)


def _return_path(headers: _Headers) -> str | None:
    value = headers.first("Return-Path")
    if value is None:
        return None
    if _NULL_PATH.match(value):
        return ""
    found = parse_addresses(value)
    return found[0][1] if found else None


def _oversize(
    attachments: list[Attachment], max_attachment_bytes: int, max_total_bytes: int | None
) -> tuple[Oversize, ...]:
    over = [
        Oversize(a.filename, a.size, max_attachment_bytes)
        for a in attachments
        if a.size > max_attachment_bytes
    ]
    total = sum(a.size for a in attachments)
    if max_total_bytes is not None and total > max_total_bytes:
        over.append(Oversize(None, total, max_total_bytes))
    return tuple(over)


def _notes(found: list[str]) -> tuple[str, ...]:
    unique = list(dict.fromkeys(found))
    if len(unique) <= MAX_NOTES:
        return tuple(unique)
    return (*unique[: MAX_NOTES - 1], f"and {len(unique) - MAX_NOTES + 1} more")


def _quarantine(
    code: QuarantineCode,
    reason: str,
    *,
    digest: str,
    size: int,
    headers: _Headers | None = None,
) -> Quarantine:
    message_id, synthetic = (
        _message_id(headers, digest) if headers else (_synthetic_id(digest), True)
    )
    sender = headers.addresses("From", "Sender") if headers else ()
    subject = headers.first("Subject") if headers else None
    return Quarantine(
        reason=reason,
        code=code,
        message_id=message_id,
        message_id_synthetic=synthetic,
        from_address=sender[0].addr if sender else None,
        subject=header_text(subject) if subject is not None else None,
        raw_sha256=digest,
        raw_size=size,
    )


def parse_message(
    raw: bytes,
    *,
    max_attachment_bytes: int,
    max_total_bytes: int | None = None,
    tag_prefix: str = "",
) -> ParsedMessage | Quarantine:
    """Read one message as delivered (by SMTP or fetched by IMAP). Never raises on its content.

    ``max_attachment_bytes`` bounds each file, ``max_total_bytes`` (if given) all of them
    together; a message over either comes back with ``oversize`` set. ``tag_prefix`` is the
    prefix of our subject tags (``"PD"`` for ``[PD#1234]``). See the module's documentation
    for what is quarantined and what is tolerated.
    """
    if max_attachment_bytes < 0 or (max_total_bytes is not None and max_total_bytes < 0):
        raise ValueError("size limits cannot be negative")
    subject_tag_pattern(tag_prefix)  # a bad prefix is the caller's error, not the message's
    digest = hashlib.sha256(raw).hexdigest()
    if not raw.strip():
        return _quarantine(
            QuarantineCode.EMPTY, "the message is empty", digest=digest, size=len(raw)
        )
    headers: _Headers | None = None
    try:
        message = BytesParser(policy=PARSING_POLICY).parsebytes(raw)
        headers = _Headers(message)
        return _parse(
            message,
            headers,
            digest=digest,
            size=len(raw),
            max_attachment_bytes=max_attachment_bytes,
            max_total_bytes=max_total_bytes,
            tag_prefix=tag_prefix,
        )
    except (_walk.TooComplex, RecursionError) as exc:
        # RecursionError: nesting deep enough to exhaust the email package's own parser.
        detail = exc if isinstance(exc, _walk.TooComplex) else "MIME parts nested too deeply"
        return _quarantine(
            QuarantineCode.TOO_COMPLEX,
            f"the message has {detail}",
            digest=digest,
            size=len(raw),
            headers=headers,
        )
    except Exception as exc:  # the last line of defence: a message is never dropped
        return _quarantine(
            QuarantineCode.UNREADABLE,
            f"the message could not be read ({type(exc).__name__}: {exc})"[:500],
            digest=digest,
            size=len(raw),
            headers=headers,
        )


def _parse(
    message: Message,
    headers: _Headers,
    *,
    digest: str,
    size: int,
    max_attachment_bytes: int,
    max_total_bytes: int | None,
    tag_prefix: str,
) -> ParsedMessage | Quarantine:
    if not headers.items:
        return _quarantine(
            QuarantineCode.NO_HEADERS,
            "the message has no header fields: it is not an e-mail message",
            digest=digest,
            size=size,
        )
    senders = headers.addresses("From") or headers.addresses("Sender")
    if not senders:
        written = headers.first("From")
        return _quarantine(
            QuarantineCode.NO_SENDER,
            "the message has no From address"
            if written is None
            else f"the From field has no usable address: {header_text(written)[:200]!r}",
            digest=digest,
            size=size,
            headers=headers,
        )
    body = _walk.walk(message)
    raw_html = "\n".join(body.html) if body.html else None
    html = sanitise_html(raw_html) if raw_html is not None else None
    text = "\n\n".join(t.strip("\n") for t in body.plain if t.strip())
    if not text and html:
        text = html_to_text(html)
    message_id, synthetic = _message_id(headers, digest)
    subject = header_text(headers.first("Subject") or "")
    return_path = _return_path(headers)
    content_type = _walk.content_type(message)
    classification = classify(
        headers.items,
        content_type=content_type,
        report_type=_walk.param(message, "report-type"),
        part_types=body.part_types,
        from_address=senders[0].addr,
        return_path=return_path,
    )
    date_value = headers.first("Date")
    date = parse_date(date_value) if date_value else None
    notes = list(body.notes)
    if raw_html is not None and is_too_complex(raw_html):
        notes.append(f"HTML with more than {MAX_HTML_TAGS:,} tags: kept as text")
    if synthetic:
        notes.insert(0, "no Message-ID: one was made from the message's SHA-256")
    if date_value and date is None:
        notes.insert(0, f"unreadable Date: {date_value[:100]!r}")
    in_reply_to = headers.first("In-Reply-To")
    references = headers.first("References")
    return ParsedMessage(
        message_id=message_id,
        message_id_synthetic=synthetic,
        in_reply_to=tuple(parse_message_ids(in_reply_to)) if in_reply_to else (),
        # The newest references are the useful ones; clients trim the middle of long chains.
        references=tuple(parse_message_ids(references)[-MAX_REFERENCES:]) if references else (),
        subject=subject,
        from_address=senders[0].addr,
        from_name=senders[0].name,
        to=headers.addresses("To"),
        cc=headers.addresses("Cc"),
        reply_to=headers.addresses("Reply-To"),
        return_path=return_path,
        date=date,
        text=text,
        html=html,
        attachments=tuple(body.attachments),
        kind=classification.kind,
        kind_reason=classification.reason,
        ticket_number=find_ticket_number(subject, prefix=tag_prefix),
        oversize=_oversize(body.attachments, max_attachment_bytes, max_total_bytes),
        headers=headers.items,
        notes=_notes(notes),
        raw_sha256=digest,
        raw_size=size,
    )
