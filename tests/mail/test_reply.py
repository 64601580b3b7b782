"""Reply text: what the customer wrote, without the history their client quoted."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policydesk.mail.reply import MAX_SCANNED_LINES, reply_text

CASES = {
    "gmail": (
        "Thanks, that fixed it.\n\n"
        "On Tue, 3 Nov 2026 at 10:12, Support <help@desk.example> wrote:\n"
        "> Please restart the printer.\n>\n> Regards",
        "Thanks, that fixed it.",
    ),
    "wrapped intro": (
        "Works now.\n\nOn Tue, 3 Nov 2026 at 10:12, Support Team of a very long name\n"
        "<help@desk.example> wrote:\n> quoted",
        "Works now.",
    ),
    "german": (
        "Danke!\n\nAm 03.11.2026 um 10:12 schrieb Support <help@desk.example>:\n"
        "> Bitte neu starten.",
        "Danke!",
    ),
    "french": (
        "Merci !\n\nLe mar. 3 nov. 2026 à 10:12, Support <help@desk.example> a écrit :\n> Bonjour",
        "Merci !",
    ),
    "outlook original message": (
        "Still broken.\n\n-----Original Message-----\nFrom: Support <help@desk.example>\n"
        "Sent: Tuesday, November 3, 2026 10:12 AM\nTo: Jo <jo@shop.example>\n"
        "Subject: RE: printer\n\nPlease restart.",
        "Still broken.",
    ),
    "outlook header block": (
        "Still broken.\n\nFrom: Support <help@desk.example>\nSent: Tuesday, November 3, 2026\n"
        "To: Jo <jo@shop.example>\nSubject: RE: printer\n\nPlease restart.",
        "Still broken.",
    ),
    "outlook underscores": (
        "See below.\n\n________________________________\nFrom: Support <help@desk.example>\n"
        "Sent: Tuesday, November 3, 2026\nTo: Jo\nSubject: printer\n\nPlease restart.",
        "See below.",
    ),
    "interleaved": (
        "> Which browser?\nFirefox 140.\n> Since when?\nSince Monday.",
        "Firefox 140.\nSince Monday.",
    ),
    "bottom posted": (
        "> one\n> two\n> three\n\nMy answer below the quote.",
        "My answer below the quote.",
    ),
    "no quote": ("Just a message\nover two lines.", "Just a message\nover two lines."),
    "all quoted": ("> only\n> quoted\n> text", "> only\n> quoted\n> text"),
    "crlf": ("Ok.\r\n\r\nOn Mon, Jo <jo@x.example> wrote:\r\n> hi", "Ok."),
}


@pytest.mark.parametrize(("text", "own"), CASES.values(), ids=CASES.keys())
def test_reply_text_keeps_only_what_the_sender_wrote(text: str, own: str) -> None:
    assert reply_text(text) == own


def test_a_long_reply_without_quotes_in_the_scanned_lines_is_kept_whole() -> None:
    text = "\n".join(f"line {i}" for i in range(MAX_SCANNED_LINES + 500))
    assert reply_text(text) == text


def test_history_beyond_the_scanned_lines_goes_with_the_quote_found_above_it() -> None:
    quoted = "\n".join(f"> old {i}" for i in range(MAX_SCANNED_LINES + 500))
    text = "New answer.\n\nOn Mon, 2 Nov 2026, Jo <jo@x.example> wrote:\n" + quoted
    assert reply_text(text) == "New answer."


@given(st.text(max_size=500))
def test_reply_text_never_raises_and_never_invents_text(text: str) -> None:
    own = reply_text(text)
    for line in own.split("\n"):
        assert line.strip() in text
