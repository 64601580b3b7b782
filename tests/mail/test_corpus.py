"""The corpus: every message under corpus/ against its expected outcome in manifest.yaml."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from policydesk.mail import Attachment, ParsedMessage, Quarantine, parse_message

CORPUS = Path(__file__).parent / "corpus"
MANIFEST: dict[str, Any] = yaml.safe_load((CORPUS / "manifest.yaml").read_text("utf-8"))
EXPECTED: dict[str, dict[str, Any]] = MANIFEST["messages"]
LIMIT: int = MANIFEST["max_attachment_bytes"]


def parse(name: str) -> ParsedMessage | Quarantine:
    return parse_message((CORPUS / name).read_bytes(), max_attachment_bytes=LIMIT)


def test_every_corpus_message_has_an_expected_outcome_and_none_is_missing() -> None:
    assert sorted(p.name for p in CORPUS.glob("*.eml")) == sorted(EXPECTED)
    assert len(EXPECTED) >= 25


def _check_attachment(got: Attachment, want: dict[str, Any]) -> None:
    for key, value in want.items():
        assert getattr(got, key) == value, f"attachment {got.filename}: {key}"


def _check_parsed(msg: ParsedMessage, want: dict[str, Any]) -> None:
    simple: dict[str, Callable[[], object]] = {
        "kind": lambda: msg.kind.value,
        "message_id": lambda: msg.message_id,
        "synthetic_id": lambda: msg.message_id_synthetic,
        "subject": lambda: msg.subject,
        "from": lambda: msg.from_address,
        "from_name": lambda: msg.from_name,
        "to": lambda: [a.addr for a in msg.to],
        "cc": lambda: [a.addr for a in msg.cc],
        "in_reply_to": lambda: list(msg.in_reply_to),
        "references": lambda: list(msg.references),
        "ticket_number": lambda: msg.ticket_number,
        "text": lambda: msg.text,
        "reply_text": lambda: msg.reply_text,
    }
    for key, value in want.items():
        if key in simple:
            assert simple[key]() == value, key
        elif key == "kind_reason":
            assert msg.kind_reason is not None
            assert value in msg.kind_reason
        elif key == "date":
            expected = None if value is None else dt.datetime.fromisoformat(value)
            assert msg.date == expected
            if msg.date is not None:
                assert msg.date.utcoffset() == expected.utcoffset()  # type: ignore[union-attr]
        elif key == "text_contains":
            for snippet in value:
                assert snippet in msg.text
        elif key == "text_excludes":
            for snippet in value:
                assert snippet not in msg.text
        elif key == "html":
            if value is None:
                assert msg.html is None
            else:
                assert msg.html is not None
                for snippet in value:
                    assert snippet in msg.html
        elif key == "html_excludes":
            for snippet in value:
                assert snippet not in (msg.html or "")
        elif key == "attachments":
            assert len(msg.attachments) == len(value)
            for got, expected_attachment in zip(msg.attachments, value, strict=True):
                _check_attachment(got, expected_attachment)
        elif key == "oversize":
            assert [(o.filename, o.size) for o in msg.oversize] == [
                (o["filename"], o["size"]) for o in value
            ]
        elif key == "notes_contain":
            for snippet in value:
                assert any(snippet in note for note in msg.notes), (snippet, msg.notes)
        else:
            pytest.fail(f"unknown manifest key {key!r}")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_message_parses_to_its_expected_outcome(name: str) -> None:
    want = dict(EXPECTED[name])
    result = parse(name)
    code = want.pop("quarantine", None)
    if code is None:
        assert isinstance(result, ParsedMessage), getattr(result, "reason", None)
        _check_parsed(result, want)
        return
    assert isinstance(result, Quarantine)
    assert result.code.value == code
    assert want.pop("reason_contains") in result.reason
    for key, value in want.items():
        field = {"from": "from_address"}.get(key, key)
        assert getattr(result, field) == value, key


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_attachment_checksum_and_size_describe_its_content(name: str) -> None:
    result = parse(name)
    for attachment in getattr(result, "attachments", ()):
        assert attachment.size == len(attachment.content)
        assert attachment.sha256 == hashlib.sha256(attachment.content).hexdigest()
        assert "/" not in attachment.filename
        assert "\\" not in attachment.filename
        assert attachment.filename.strip() == attachment.filename != ""


def test_a_nested_forward_is_kept_whole_as_an_e_mail_file() -> None:
    result = parse("forward_attached_nested.eml")
    assert isinstance(result, ParsedMessage)
    attached = BytesParser(policy=policy.default).parsebytes(result.attachments[0].content)
    assert attached["Subject"] == "Fwd: Wrong vintage delivered"
    inner = [p for p in attached.walk() if p.get_content_type() == "message/rfc822"]
    assert len(inner) == 1
    assert b"I ordered the 2019, the box says 2021." in result.attachments[0].content


def test_an_oversize_message_is_refused_with_a_bounce_naming_the_file_its_size_and_the_limit() -> (
    None
):
    result = parse("oversize_attachment.eml")
    assert isinstance(result, ParsedMessage)
    assert result.refused
    assert result.refusal_text() == (
        "Your message was not accepted because it is too large.\n"
        'The attachment "export.bin" is 2,048 bytes; the limit is 1,024 bytes.\n'
        "Please send the files in smaller parts, or share them by a link."
    )


def test_every_text_in_the_corpus_is_storable() -> None:
    for name in EXPECTED:
        result = parse(name)
        texts = [getattr(result, f, None) for f in ("subject", "text", "html", "from_name")]
        for text in texts:
            if isinstance(text, str):
                assert "\x00" not in text
                text.encode("utf-8")  # no lone surrogates


def test_parsing_the_corpus_again_with_every_header_seen_before_gives_the_same_results() -> None:
    # Parsed header fields are kept between messages; a second pass reads them all from there.
    first = [parse(name) for name in sorted(EXPECTED)]
    again = [parse(name) for name in sorted(EXPECTED)]
    assert again == first
