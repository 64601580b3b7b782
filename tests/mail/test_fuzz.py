"""Fuzzing the parser: whatever arrives, it is accepted or quarantined, and never raises.

Three sources of input: random bytes, soups of the header fields the parser reads with
random (often hostile) values, and corpus messages mutated byte by byte. Beyond "no
exception", every accepted message must be storable as it stands, and the parser's last line
of defence (``UNREADABLE``) must not be what saved it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policydesk.mail import ParsedMessage, Quarantine, QuarantineCode, parse_message
from policydesk.mail.headers import is_mailbox

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.eml"))
SEEDS = [p.read_bytes() for p in CORPUS]
FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

HEADER_NAMES = [
    "From", "Sender", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID", "In-Reply-To",
    "References", "Return-Path", "Content-Type", "Content-Disposition", "Content-ID",
    "Content-Transfer-Encoding", "MIME-Version", "Auto-Submitted", "Precedence", "List-Id",
    "X-Autoreply", "X-Auto-Response-Suppress", "X-Failed-Recipients", "X-Policydesk-Ticket",
]  # fmt: skip
# Pieces that have broken e-mail parsers before: encoded words (good, bad, unknown charset),
# RFC 2231 parameters, unbalanced quotes, brackets and comments, 8-bit bytes, NUL, folding.
FRAGMENTS = [
    b"=?utf-8?b?w6k=?=", b"=?utf-8?b?!!!?=", b"=?x-bogus?q?a=E9?=", b"=?utf-8?q?", b"?=",
    b"=?iso-2022-jp?b?GyRCJCIbKEI=?=", b"<", b">", b"<>", b'"', b"(", b")", b"\\", b"@", b",",
    b";", b":", b" ", b"\t", b"\r\n ", b"\n\t", b"\x00", b"\xff\xfe", b"\xc3", b"\xe9",
    b"multipart/mixed; boundary=", b"multipart/alternative; boundary=\"b\"", b"text/plain",
    b"charset=", b"charset=\"unknown-8bit\"", b"charset=rot13", b"name*0*=utf-8''%E9",
    b"filename*=x''%", b"base64", b"quoted-printable", b"x-uuencode", b"jo@example.com",
    b"Jo <jo@example.com>", b"group: a@b.c, d@e.f;", b"message/rfc822", b"[#12]", b"--b",
]  # fmt: skip

fragments = st.lists(st.sampled_from(FRAGMENTS) | st.binary(max_size=12), max_size=8).map(b"".join)
header = st.tuples(st.sampled_from(HEADER_NAMES), fragments).map(
    lambda pair: pair[0].encode() + b": " + pair[1]
)
body_part = st.sampled_from(
    [b"--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n", b"--b--\r\n", b"\r\n"]
) | st.binary(max_size=40)
header_soups = st.tuples(
    st.lists(header, min_size=1, max_size=12),
    st.lists(body_part, max_size=6),
    st.sampled_from([b"\r\n", b"\n"]),
).map(lambda t: t[2].join(t[0]) + t[2] + t[2] + b"".join(t[1]))


@st.composite
def mutated_corpus(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["flip", "cut", "insert", "repeat", "truncate"]))
        if action == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif action == "cut":
            del data[at : at + draw(st.integers(1, 64))]
        elif action == "insert":
            data[at:at] = draw(st.sampled_from(FRAGMENTS) | st.binary(max_size=16))
        elif action == "repeat":
            data[at:at] = data[at : at + draw(st.integers(1, 200))] * draw(st.integers(2, 5))
        elif action == "truncate":
            del data[at:]
    return bytes(data)


def check(raw: bytes) -> None:
    result = parse_message(raw, max_attachment_bytes=512, max_total_bytes=4096)
    assert isinstance(result, ParsedMessage | Quarantine)
    assert result.raw_sha256 == hashlib.sha256(raw).hexdigest()
    if isinstance(result, Quarantine):
        assert result.code is not QuarantineCode.UNREADABLE, result.reason
        assert result.reason
        return
    assert is_mailbox(result.from_address)
    assert result.message_id
    texts = [result.subject, result.text, result.html or "", result.from_name, result.reply_text]
    texts += [v for _, v in result.headers] + list(result.notes)
    texts += [a.filename for a in result.attachments] + [a.addr for a in result.to]
    for text in texts:
        assert "\x00" not in text
        text.encode("utf-8")  # raises on a lone surrogate, which no database stores
    for attachment in result.attachments:
        assert attachment.size == len(attachment.content)
    assert result.refused == any(a.size > 512 for a in result.attachments) or (
        sum(a.size for a in result.attachments) > 4096
    )


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes_are_accepted_or_quarantined_never_raised(raw: bytes) -> None:
    check(raw)


@FUZZ
@given(header_soups)
def test_header_soups_are_accepted_or_quarantined_never_raised(raw: bytes) -> None:
    check(raw)


@FUZZ
@given(mutated_corpus())
def test_mutated_corpus_messages_are_accepted_or_quarantined_never_raised(raw: bytes) -> None:
    check(raw)
