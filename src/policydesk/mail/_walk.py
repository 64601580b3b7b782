"""The MIME walk: which parts are the body and which are files, read leniently.

Every accessor of a part is guarded: the ``email`` package's header registry raises on some
malformed headers, and one bad part must cost that part's detail, not the whole message.
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
import unicodedata
from dataclasses import dataclass, field
from email import policy
from email.generator import BytesGenerator
from email.message import Message
from typing import Final

from policydesk.mail.charsets import clean_text, decode_bytes
from policydesk.mail.headers import header_text, parse_message_ids
from policydesk.mail.model import Attachment

__all__ = ["MAX_DEPTH", "MAX_PARTS", "Body", "TooComplex", "content_type", "param", "walk"]

#: Past these a message is a MIME bomb, not mail: it is quarantined, not walked.
MAX_PARTS: Final = 1000
MAX_DEPTH: Final = 32
_MAX_FILENAME: Final = 200

#: The standard library's built-in table only (not the machine's /etc/mime.types), so every
#: machine names a file the same way, plus the types mail has that the table lacks.
_TYPES: Final = mimetypes.MimeTypes()
_EXTENSIONS: Final[dict[str, str]] = {
    "text/calendar": ".ics",
    "application/ics": ".ics",
    "message/delivery-status": ".txt",
    "message/global-delivery-status": ".txt",
    "message/disposition-notification": ".txt",
    "text/rfc822-headers": ".txt",
    "application/pgp-signature": ".asc",
    "application/pkcs7-signature": ".p7s",
    "application/octet-stream": ".bin",
}
_BODY_TYPES: Final = frozenset({"text/plain", "text/html"})
_RAW: Final = policy.compat32.clone(linesep="\r\n", max_line_length=0)


class TooComplex(Exception):
    """More parts, or deeper nesting, than any real message has."""


@dataclass
class Body:
    """What the walk found. Texts are decoded; the HTML is not yet sanitised."""

    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    part_types: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    parts: int = 0
    #: Files found before this body's own, so made-up names stay unique across branches.
    offset: int = 0

    def absorb(self, other: Body) -> None:
        self.attachments += other.attachments
        self.part_types |= other.part_types
        self.notes += other.notes


def content_type(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:  # a Content-Type the registry cannot parse: RFC 2045's default
        return "text/plain"


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:  # unreadable: as if absent
        return None


def param(part: Message, name: str, header: str = "content-type") -> str | None:
    try:
        value = part.get_param(name, header=header)
    except Exception:  # unreadable parameter: absent
        return None
    if isinstance(value, tuple):  # RFC 2231 (charset, language, text)
        value = value[2] if len(value) == 3 else None
    return value if isinstance(value, str) else None


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # unreadable disposition: try the Content-Type's name
        name = None
    return name or param(part, "name")


def _charset(part: Message) -> str | None:
    try:
        return part.get_content_charset()
    except Exception:  # unreadable: undeclared
        return None


def _raw_header(part: Message, name: str) -> str | None:
    wanted = name.lower()
    return next((v for k, v in part.raw_items() if k.lower() == wanted), None)


def _payload(part: Message) -> bytes:
    """A leaf's content with its transfer encoding undone (leniently: bad base64 gives what
    could be read, an unknown encoding the bytes as sent)."""
    try:
        data = part.get_payload(decode=True)
    except Exception:  # unreadable: the bytes as they stand
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _message_bytes(part: Message) -> bytes:
    """The content of a ``message/*`` part (an attached e-mail, delivery-status blocks) as
    bytes, with its own headers as they were written."""
    inner = part.get_payload()
    items = inner if isinstance(inner, list) else [inner]
    out = io.BytesIO()
    for item in items:
        if isinstance(item, Message):
            try:
                BytesGenerator(out, mangle_from_=False, policy=_RAW).flatten(item)
            except Exception:  # a part the generator cannot write back: its text as parsed
                out.write(str(item.get_payload()).encode("utf-8", "surrogateescape"))
        elif isinstance(item, str):
            out.write(item.encode("utf-8", "surrogateescape"))
    return out.getvalue()


def _safe_filename(name: str | None) -> str | None:
    """A base name safe to store and show: no directories, no control or bidirectional
    formatting characters (which can make ``exe.pdf`` read as ``fdp.exe``)."""
    if not name:
        return None
    text = header_text(name).replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch) not in {"Cc", "Cf", "Cs"})
    text = text.strip().lstrip(".").strip()
    if len(text) > _MAX_FILENAME:
        _, dot, ext = text.rpartition(".")
        ext = ext if dot and len(ext) <= 16 else ""
        text = text[: _MAX_FILENAME - len(ext) - 1].rstrip() + ("." + ext if ext else "")
    return text or None


def _made_up_name(content_type: str, number: int, part: Message) -> str:
    if content_type == "message/rfc822":
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            subject = _raw_header(inner[0], "subject")
            named = _safe_filename(header_text(subject) if subject else None)
            if named:
                return f"{named[:100]}.eml"
        return f"message-{number}.eml"
    ext = _EXTENSIONS.get(content_type) or _TYPES.guess_extension(content_type) or ".bin"
    return f"attachment-{number}{ext}"


def _attach(part: Message, content_type: str, out: Body, *, inline: bool) -> None:
    if content_type.startswith("message/") and part.is_multipart():
        content = _message_bytes(part)
    else:
        content = _payload(part)
    number = out.offset + len(out.attachments) + 1
    name = _safe_filename(_filename(part)) or _made_up_name(content_type, number, part)
    cid = _raw_header(part, "content-id")
    ids = parse_message_ids(cid, bare=True) if cid else []
    out.attachments.append(
        Attachment(
            filename=name,
            content_type=content_type,
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            content=content,
            inline=inline or _disposition(part) == "inline",
            content_id=ids[0] if ids else None,
        )
    )


def _text(part: Message, out: Body) -> str:
    charset = _charset(part)
    decoded = decode_bytes(_payload(part), charset)
    if decoded.note:
        out.notes.append(f"{content_type(part)} part: {decoded.note}")
    return clean_text(decoded.text.replace("\r\n", "\n").replace("\r", "\n"))


def _children(part: Message) -> list[Message]:
    payload = part.get_payload()
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def _related_root(part: Message, children: list[Message]) -> Message:
    start = param(part, "start")
    if start:
        wanted = parse_message_ids(start, bare=True)
        for child in children:
            cid = _raw_header(child, "content-id")
            if cid and parse_message_ids(cid, bare=True) == wanted:
                return child
    return children[0]


def _visit(part: Message, out: Body, depth: int) -> None:
    out.parts += 1
    if out.parts > MAX_PARTS or depth > MAX_DEPTH:
        raise TooComplex(f"more than {MAX_PARTS} MIME parts or {MAX_DEPTH} levels of nesting")
    ctype = content_type(part)
    out.part_types.add(ctype)
    for defect in getattr(part, "defects", ()):
        detail = str(defect)
        out.notes.append(type(defect).__name__ + (f": {detail}" if detail else ""))
    if ctype.startswith("message/") and part.is_multipart():
        # An attached e-mail or a delivery report is kept whole, as a file.
        for child in _children(part):
            out.part_types.add(content_type(child))
        _attach(part, ctype, out, inline=False)
        return
    if part.is_multipart():
        _visit_multipart(part, ctype, out, depth)
        return
    if ctype.startswith("multipart/"):
        # A multipart without a usable boundary is one text: read it as such (RFC 2046's
        # advice for an unrecognised subtype is mixed, but there are no parts to split).
        ctype = "text/plain"
    disposition = _disposition(part)
    if ctype in _BODY_TYPES and disposition != "attachment" and _filename(part) is None:
        (out.plain if ctype == "text/plain" else out.html).append(_text(part, out))
        return
    _attach(part, ctype, out, inline=False)


def _visit_multipart(part: Message, ctype: str, out: Body, depth: int) -> None:
    children = _children(part)
    if not children:
        return
    subtype = ctype.partition("/")[2]
    if subtype == "alternative":
        # The same content several ways: take the richest plain and HTML versions offered
        # (the last of each), and keep every other version (a calendar invite) as a file.
        plain: list[str] = []
        html: list[str] = []
        for child in children:
            branch = Body(parts=out.parts, offset=out.offset + len(out.attachments))
            _visit(child, branch, depth + 1)
            out.parts = branch.parts
            plain = branch.plain or plain
            html = branch.html or html
            out.absorb(branch)
        out.plain += plain
        out.html += html
        return
    if subtype in {"related", "report", "signed"}:
        # related: the root is the body and the rest are shown inside it; report: the first
        # part is the human-readable text; signed: the first part is the message.
        root = _related_root(part, children) if subtype == "related" else children[0]
        _visit(root, out, depth + 1)
        for child in children:
            if child is not root:
                _visit_leaf_as_file(child, out, depth + 1, inline=subtype == "related")
        return
    for child in children:
        _visit(child, out, depth + 1)


def _visit_leaf_as_file(part: Message, out: Body, depth: int, *, inline: bool) -> None:
    if part.is_multipart() and not content_type(part).startswith("message/"):
        _visit(part, out, depth)
        return
    out.parts += 1
    if out.parts > MAX_PARTS:
        raise TooComplex(f"more than {MAX_PARTS} MIME parts")
    ctype = content_type(part)
    out.part_types.add(ctype)
    for child in _children(part):
        out.part_types.add(content_type(child))
    _attach(part, ctype, out, inline=inline)


def walk(message: Message) -> Body:
    """The body texts, files and part types of ``message``. Raises :class:`TooComplex`."""
    body = Body()
    _visit(message, body, 0)
    return body
