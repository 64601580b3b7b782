"""Parsing rules: what is quarantined, what is tolerated, and what every message carries."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from policydesk.mail import (
    MessageKind,
    ParsedMessage,
    Quarantine,
    QuarantineCode,
    parse_message,
)
from policydesk.mail.headers import is_mailbox


def msg(headers: str, body: str = "Hello", *, raw_tail: bytes = b"") -> bytes:
    return (headers.strip("\n").replace("\n", "\r\n") + "\r\n\r\n" + body).encode() + raw_tail


def parse(
    raw: bytes, max_attachment_bytes: int = 10**6, max_total_bytes: int | None = None
) -> ParsedMessage | Quarantine:
    return parse_message(
        raw, max_attachment_bytes=max_attachment_bytes, max_total_bytes=max_total_bytes
    )


def accepted(raw: bytes) -> ParsedMessage:
    result = parse(raw)
    assert isinstance(result, ParsedMessage), getattr(result, "reason", None)
    return result


def nested(depth: int) -> bytes:
    raw = b'From: a@b.example\r\nContent-Type: multipart/mixed; boundary="b0"\r\n\r\n'
    for i in range(depth):
        raw += f'--b{i}\r\nContent-Type: multipart/mixed; boundary="b{i + 1}"\r\n\r\n'.encode()
    raw += f"--b{depth}\r\nContent-Type: text/plain\r\n\r\ndeep\r\n".encode()
    return raw + b"".join(f"--b{i}--\r\n".encode() for i in range(depth, -1, -1))


@pytest.mark.parametrize(
    ("raw", "code", "reason"),
    [
        (b"", QuarantineCode.EMPTY, "the message is empty"),
        (b" \r\n\t\r\n", QuarantineCode.EMPTY, "the message is empty"),
        (b"\x00\x01\x02 just bytes", QuarantineCode.NO_HEADERS, "no header fields"),
        (msg("To: x@desk.example\nSubject: hi"), QuarantineCode.NO_SENDER, "no From address"),
        (msg("From: Jo\nSubject: hi"), QuarantineCode.NO_SENDER, "no usable address: 'Jo'"),
        (msg("From: jo@\nSubject: hi"), QuarantineCode.NO_SENDER, "no usable address"),
        (msg("From: @example.com"), QuarantineCode.NO_SENDER, "no usable address"),
        (nested(40), QuarantineCode.TOO_COMPLEX, "32 levels of nesting"),
        (nested(3000), QuarantineCode.TOO_COMPLEX, "nested too deeply"),
        (
            b"From: a@b.example\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
            + b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" * 1001
            + b"--b--\r\n",
            QuarantineCode.TOO_COMPLEX,
            "more than 1000 MIME parts",
        ),
    ],
    ids=[
        "empty",
        "whitespace",
        "binary",
        "no-from",
        "name-only",
        "no-domain",
        "no-local-part",
        "deep",
        "deeper-than-the-parser",
        "too-many-parts",
    ],
)
def test_a_message_that_cannot_be_understood_is_quarantined_with_the_reason(
    raw: bytes, code: QuarantineCode, reason: str
) -> None:
    result = parse(raw)
    assert isinstance(result, Quarantine)
    assert result.code is code
    assert reason in result.reason
    assert result.raw_sha256 == hashlib.sha256(raw).hexdigest()
    assert result.raw_size == len(raw)


def test_a_quarantined_message_keeps_what_could_be_read_for_the_agent() -> None:
    result = parse(
        msg("From: Jo\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\nMessage-ID: <q1@x.example>")
    )
    assert isinstance(result, Quarantine)
    assert (result.message_id, result.message_id_synthetic) == ("q1@x.example", False)
    assert result.subject == "Grüße"
    assert result.from_address is None


def test_the_sender_header_stands_in_for_a_from_without_an_address() -> None:
    result = accepted(msg("From: Team\nSender: Jo <jo@shop.example>"))
    assert (result.from_address, result.from_name) == ("jo@shop.example", "Jo")


def test_the_first_of_several_from_addresses_is_the_sender() -> None:
    result = accepted(msg("From: A <a@x.example>, B <b@x.example>"))
    assert result.from_address == "a@x.example"


def test_the_same_message_always_gets_the_same_synthetic_id_and_another_message_another() -> None:
    raw = msg("From: a@b.example\nSubject: no id")
    first, again = accepted(raw), accepted(raw)
    other = accepted(msg("From: a@b.example\nSubject: no id either"))
    assert first.message_id_synthetic
    assert (
        first.message_id
        == again.message_id
        == f"{hashlib.sha256(raw).hexdigest()}@policydesk.invalid"
    )
    assert other.message_id != first.message_id


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("<abc@x.example>", "abc@x.example"),
        ("  < abc@x.example >  ", "abc@x.example"),
        ("abc@x.example", "abc@x.example"),
        ("<abc@x.example> (comment)", "abc@x.example"),
        ("<abc@\n x.example>", "abc@x.example"),
        ("<" + "a" * 300 + "@x.example>", None),
    ],
)
def test_message_ids_are_normalised_without_brackets_or_whitespace(
    header: str, expected: str | None
) -> None:
    result = accepted(msg(f"From: a@b.example\nMessage-ID: {header}"))
    assert not result.message_id_synthetic
    if expected is None:  # overlong: a stable hash of itself, as references to it will be
        assert result.message_id.startswith("long.")
        assert len(result.message_id) <= 250
    else:
        assert result.message_id == expected


def test_the_same_message_id_delivered_twice_parses_to_the_same_key() -> None:
    raw = msg("From: a@b.example\nMessage-ID: <dup@x.example>\nSubject: twice")
    delivered_again = b"Received: from relay.example by mx.desk.example\r\n" + raw
    assert accepted(raw).message_id == accepted(delivered_again).message_id == "dup@x.example"


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("Tue, 24 Nov 2026 08:05:12 -0800", "2026-11-24T16:05:12+00:00"),
        ("24 Nov 2026 08:05 +0100", "2026-11-24T07:05:00+00:00"),
        ("Tue, 24 Nov 2026 08:05:12 -0000", "2026-11-24T08:05:12+00:00"),
        ("Tue, 24 Nov 2026 08:05:12 GMT", "2026-11-24T08:05:12+00:00"),
        ("yesterday", None),
        ("Tue, 24 Nov 2026 08:05:12 +9999", None),
        ("31 Feb 2026 10:00 +0000", None),
        ("", None),
    ],
)
def test_dates_are_aware_instants_or_none(date: str, expected: str | None) -> None:
    result = accepted(msg(f"From: a@b.example\nDate: {date}"))
    if expected is None:
        assert result.date is None
    else:
        assert result.date is not None
        assert result.date.astimezone(dt.UTC).isoformat() == expected


def test_addresses_are_lower_cased_with_decoded_names_and_unusable_entries_left_out() -> None:
    result = accepted(
        msg(
            "From: =?utf-8?q?Ren=C3=A9e?= <Renee@Cave.Example>\n"
            'To: "Desk, Support" <Support@Desk.Example>, broken <, jo@, , x@y.example\n'
            "Cc: undisclosed-recipients:;\n"
            "Reply-To: Billing <billing@cave.example>"
        )
    )
    assert (result.from_address, result.from_name) == ("renee@cave.example", "Renée")
    assert [(a.addr, a.name) for a in result.to] == [
        ("support@desk.example", "Desk, Support"),
        ("x@y.example", ""),
    ]
    assert result.cc == ()
    assert [str(a) for a in result.reply_to] == ["Billing <billing@cave.example>"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("<>", ""), ("< >", ""), ("<bounces@list.example>", "bounces@list.example"), (None, None)],
)
def test_the_return_path_is_empty_for_the_null_path_and_none_when_absent(
    value: str | None, expected: str | None
) -> None:
    header = f"\nReturn-Path: {value}" if value is not None else ""
    assert accepted(msg("From: a@b.example" + header)).return_path == expected


def test_raw_8bit_headers_decode_as_utf8_or_windows_1252_and_never_leave_surrogates() -> None:
    raw = b"From: J\xfcrgen <j@x.example>\r\nSubject: Gr\xc3\xbc\xc3\x9fe \xe9t\xe9\r\n\r\nHi"
    result = accepted(raw)
    assert result.from_name == "Jürgen"
    assert result.subject == "Grüße été"


def test_nul_characters_are_made_visible_so_that_any_database_stores_the_text() -> None:
    result = accepted(msg("From: a@b.example\nSubject: a\x00b", "text\x00here"))
    assert result.subject == "a\ufffdb"
    assert result.text == "text\ufffdhere"


def test_html_is_sanitised_and_plain_text_is_made_from_it_when_there_is_no_text_part() -> None:
    body = (
        '<p onclick="x()">Hi <b>there</b></p><script>alert(1)</script><a href="javascript:x">l</a>'
    )
    result = accepted(msg("From: a@b.example\nContent-Type: text/html; charset=utf-8", body))
    assert result.html == '<p>Hi <b>there</b></p><a rel="noopener noreferrer">l</a>'
    assert result.text == "Hi there\n\nl"


def test_an_empty_plain_alternative_gives_way_to_the_html_one() -> None:
    body = (
        "--b\r\nContent-Type: text/plain\r\n\r\n\r\n"
        "--b\r\nContent-Type: text/html\r\n\r\n<p>Only here</p>\r\n--b--\r\n"
    )
    result = accepted(
        msg('From: a@b.example\nContent-Type: multipart/alternative; boundary="b"', body)
    )
    assert result.text == "Only here"


ATTACHED = (
    "--b\r\nContent-Type: text/plain\r\n\r\nsee files\r\n"
    "--b\r\nContent-Type: application/octet-stream\r\n"
    'Content-Disposition: attachment; filename="{name}"\r\n'
    "Content-Transfer-Encoding: base64\r\n\r\n{data}\r\n--b--\r\n"
)


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\\\Users\\\\jo\\\\notes.txt", "notes.txt"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        (".htaccess", "htaccess"),
        ("..", "attachment-1.bin"),
        ("", "attachment-1.bin"),
        ("a" * 300 + ".pdf", "a" * 196 + ".pdf"),
    ],
)
def test_attachment_names_are_safe_base_names(name: str, stored: str) -> None:
    body = ATTACHED.format(name=name, data="aGVsbG8=")
    result = accepted(msg('From: a@b.example\nContent-Type: multipart/mixed; boundary="b"', body))
    (attachment,) = result.attachments
    assert attachment.filename == stored
    assert (attachment.content, attachment.size) == (b"hello", 5)
    assert attachment.sha256 == hashlib.sha256(b"hello").hexdigest()


@pytest.mark.parametrize(
    ("max_attachment_bytes", "max_total_bytes", "oversize"),
    [
        (5, None, []),
        (4, None, [("x.bin", 5, 4)]),
        (5, 5, []),
        (5, 4, [(None, 5, 4)]),
        (4, 4, [("x.bin", 5, 4), (None, 5, 4)]),
    ],
)
def test_an_attachment_over_the_limit_refuses_the_message_rather_than_being_truncated(
    max_attachment_bytes: int,
    max_total_bytes: int | None,
    oversize: list[tuple[str | None, int, int]],
) -> None:
    body = ATTACHED.format(name="x.bin", data="aGVsbG8=")
    raw = msg('From: a@b.example\nContent-Type: multipart/mixed; boundary="b"', body)
    result = parse(raw, max_attachment_bytes, max_total_bytes)
    assert isinstance(result, ParsedMessage)
    assert [(o.filename, o.size, o.limit) for o in result.oversize] == oversize
    assert result.refused == bool(oversize)
    assert result.attachments[0].content == b"hello"  # whole, never cut
    if oversize:
        assert "too large" in (result.refusal_text() or "")
    else:
        assert result.refusal_text() is None


def test_the_refusal_names_all_attachments_together_when_only_their_total_is_too_large() -> None:
    body = ATTACHED.format(name="x.bin", data="aGVsbG8=")
    raw = msg('From: a@b.example\nContent-Type: multipart/mixed; boundary="b"', body)
    result = parse(raw, max_attachment_bytes=10, max_total_bytes=4)
    assert isinstance(result, ParsedMessage)
    assert "The attachments together are 5 bytes; the limit is 4 bytes." in (
        result.refusal_text() or ""
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_attachment_bytes": -1}, "cannot be negative"),
        ({"max_attachment_bytes": 1, "max_total_bytes": -1}, "cannot be negative"),
        ({"max_attachment_bytes": 1, "tag_prefix": "bad prefix!"}, "subject tag prefix"),
    ],
)
def test_a_callers_mistake_raises_instead_of_quarantining_the_message(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        parse_message(msg("From: a@b.example"), **kwargs)  # type: ignore[arg-type]


def test_the_subject_tag_prefix_is_configurable() -> None:
    raw = msg("From: a@b.example\nSubject: Re: [PD#88] printer [#12]")
    assert accepted(raw).ticket_number == 12
    result = parse_message(raw, max_attachment_bytes=1, tag_prefix="PD")
    assert isinstance(result, ParsedMessage)
    assert result.ticket_number == 88


def test_headers_are_kept_in_order_unfolded_and_readable_by_name() -> None:
    result = accepted(msg("From: a@b.example\nX-Custom: one\n two\nx-custom: three"))
    assert result.header("X-CUSTOM") == "one two"
    assert result.header_values("x-custom") == ["one two", "three"]
    assert result.header("Missing") is None


def test_html_too_complex_to_sanitise_quickly_is_kept_as_escaped_text() -> None:
    body = "<div>" * 20_000 + "5 < 6 &amp; <b>bold</b>"
    result = accepted(msg("From: a@b.example\nContent-Type: text/html", body))
    assert result.html == "<pre>5 &lt; 6 &amp; bold</pre>"
    assert result.text == "5 < 6 & bold"
    assert any("10,000 tags" in note for note in result.notes)


def test_only_the_newest_hundred_references_are_kept() -> None:
    refs = " ".join(f"<r{i}@x.example>" for i in range(250))
    result = accepted(msg(f"From: a@b.example\nReferences: {refs}"))
    assert result.references == tuple(f"r{i}@x.example" for i in range(150, 250))


def test_a_normal_message_is_normal_with_no_reason() -> None:
    result = accepted(msg("From: a@b.example"))
    assert (result.kind, result.kind_reason) == (MessageKind.NORMAL, None)
    assert not result.kind.is_automatic


@pytest.mark.parametrize(
    "value",
    [
        "a@" + "a" * 5000 + "!",  # took exponential time in a domain pattern with nested repeats
        '"x <' + "a" * 200_000,  # took quadratic time in the salvage of broken address lists
        "a" * 200_000 + "@" + "b" * 200_000,
    ],
)
def test_long_hostile_address_headers_are_read_without_backtracking(value: str) -> None:
    result = parse(f"From: {value}\r\n\r\nx".encode())
    assert isinstance(result, Quarantine)
    assert result.code is QuarantineCode.NO_SENDER


@pytest.mark.parametrize(
    ("address", "usable"),
    [
        ("jo@shop.example", True),
        ("jo@exämple.com", True),
        ("jo@shop.example.", True),
        ("jo@[192.0.2.1]", True),
        ('"jo smith"@shop.example', True),
        ("jo@-shop.example", False),
        ("jo@shop..example", False),
        ("jo smith@shop.example", False),
        ("jo@", False),
        ("@shop.example", False),
    ],
)
def test_a_usable_mailbox_has_a_local_part_and_a_well_formed_domain(
    address: str, usable: bool
) -> None:
    assert is_mailbox(address) is usable
