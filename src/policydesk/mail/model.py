"""What parsing a message gives: a :class:`ParsedMessage` or a :class:`Quarantine`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from policydesk.mail.reply import reply_text as _reply_text

__all__ = [
    "Address",
    "Attachment",
    "MessageKind",
    "Oversize",
    "ParsedMessage",
    "Quarantine",
    "QuarantineCode",
]


class MessageKind(StrEnum):
    """What sort of message it is, for loop and noise control.

    Only ``NORMAL`` messages open or update tickets and may be answered automatically; the
    others are recorded (a bounce can mark an outgoing message undelivered) but never opened
    as tickets, never acknowledged and never bounced.
    """

    NORMAL = "normal"
    #: Written by a program on someone's behalf: out-of-office, vacation, read receipts,
    #: "we received your message" (RFC 3834 ``Auto-Submitted`` and the vendors' headers).
    AUTO_REPLY = "auto_reply"
    #: A delivery status notification: something we (or someone) sent did not arrive.
    BOUNCE = "bounce"
    #: Bulk or mailing-list mail (``Precedence: bulk/junk/list``, ``List-Id``).
    BULK = "bulk"

    @property
    def is_automatic(self) -> bool:
        """True when the message must neither open a ticket nor be answered."""
        return self is not MessageKind.NORMAL


class QuarantineCode(StrEnum):
    """Why a message could not be taken in (the :class:`Quarantine` says it in words)."""

    EMPTY = "empty"
    NO_HEADERS = "no_headers"
    NO_SENDER = "no_sender"
    TOO_COMPLEX = "too_complex"
    UNREADABLE = "unreadable"


@dataclass(frozen=True, slots=True)
class Address:
    """A mailbox: its lower-cased addr-spec and the display name ("" when none)."""

    addr: str
    name: str = ""

    def __str__(self) -> str:
        return f"{self.name} <{self.addr}>" if self.name else self.addr


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file that came with the message, decoded from its transfer encoding.

    ``filename`` is always a safe base name (no directories, no control characters), made up
    from the part's position and type when the sender gave none. ``inline`` parts are shown in
    the body (images a ``cid:`` link points to); ``content_id`` is without angle brackets.
    """

    filename: str
    content_type: str
    size: int
    sha256: str
    content: bytes = field(repr=False)
    inline: bool = False
    content_id: str | None = None


@dataclass(frozen=True, slots=True)
class Oversize:
    """An attachment larger than the limit; ``filename`` None means all of them together."""

    filename: str | None
    size: int
    limit: int

    def describe(self) -> str:
        """One sentence for a bounce, e.g. ``The attachment "logs.zip" is 31,457,280 bytes;
        the limit is 10,485,760 bytes.``"""
        if self.filename is None:
            return (
                f"The attachments together are {self.size:,} bytes; "
                f"the limit is {self.limit:,} bytes."
            )
        return (
            f'The attachment "{self.filename}" is {self.size:,} bytes; '
            f"the limit is {self.limit:,} bytes."
        )


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """A message that was understood. Every text is decoded, storable and free of NUL.

    ``message_id``, ``in_reply_to`` and ``references`` are normalised (no angle brackets, no
    whitespace). A message without a Message-ID gets a stable one made from the SHA-256 of its
    bytes, at ``policydesk.invalid``, and ``message_id_synthetic`` is set.

    ``text`` is the whole plain text (the text/plain parts, else text made from the HTML);
    ``reply_text`` is what the sender wrote above the quoted history. ``html`` is sanitised
    with nh3 and safe to show. ``headers`` are the top-level fields as received (unfolded,
    8-bit bytes decoded, encoded words left as written). ``notes`` list what was tolerated.

    A message with ``oversize`` entries is refused: store nothing of it and, when its kind is
    ``NORMAL``, answer with :meth:`refusal_text`.
    """

    message_id: str
    message_id_synthetic: bool
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    from_address: str
    from_name: str
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    reply_to: tuple[Address, ...]
    #: The envelope sender from ``Return-Path``: "" for the null path ``<>``, None when absent.
    return_path: str | None
    date: dt.datetime | None
    text: str
    html: str | None
    attachments: tuple[Attachment, ...]
    kind: MessageKind
    #: Why it is not ``NORMAL`` (the header or structure that decided), else None.
    kind_reason: str | None
    #: The ticket number in a ``[#1234]`` subject tag, if any.
    ticket_number: int | None
    oversize: tuple[Oversize, ...]
    headers: tuple[tuple[str, str], ...] = field(repr=False)
    notes: tuple[str, ...]
    raw_sha256: str
    raw_size: int

    @property
    def refused(self) -> bool:
        """True when an attachment (or all together) is over the limit."""
        return bool(self.oversize)

    def refusal_text(self) -> str | None:
        """Why the message was refused, in words fit for a bounce; None when it was not."""
        if not self.oversize:
            return None
        lines = ["Your message was not accepted because it is too large."]
        lines += [o.describe() for o in self.oversize]
        lines.append("Please send the files in smaller parts, or share them by a link.")
        return "\n".join(lines)

    @property
    def reply_text(self) -> str:
        """``text`` without the quoted history (see :func:`policydesk.mail.reply_text`)."""
        return _reply_text(self.text)

    def header(self, name: str) -> str | None:
        """The first value of the header ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)

    def header_values(self, name: str) -> list[str]:
        """Every value of the header ``name`` (case-insensitive), in order."""
        wanted = name.lower()
        return [v for k, v in self.headers if k.lower() == wanted]


@dataclass(frozen=True, slots=True)
class Quarantine:
    """A message that could not be taken in. Keep its raw bytes with this for an agent.

    ``reason`` says what is wrong in words; the rest is what could still be read. The
    ``message_id`` is always there (synthetic when the message had none), so the same message
    delivered twice is quarantined once.
    """

    reason: str
    code: QuarantineCode
    message_id: str
    message_id_synthetic: bool
    from_address: str | None
    subject: str | None
    raw_sha256: str
    raw_size: int
