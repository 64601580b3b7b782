"""Threading keys, our Message-IDs and the ticket tag in subjects."""

from __future__ import annotations

import pytest

from policydesk.mail import (
    SUBJECT_TAG,
    ParsedMessage,
    find_ticket_number,
    is_our_message_id,
    make_message_id,
    message_id_header,
    parse_message,
    reply_subject,
    strip_reply_prefixes,
    subject_tag,
    thread_keys,
)


def parsed(headers: str) -> ParsedMessage:
    raw = (headers.replace("\n", "\r\n") + "\r\n\r\nbody").encode()
    result = parse_message(raw, max_attachment_bytes=1000)
    assert isinstance(result, ParsedMessage)
    return result


@pytest.mark.parametrize(
    ("headers", "keys"),
    [
        ("", []),
        ("In-Reply-To: <b@x>", ["b@x"]),
        ("References: <a@x> <b@x> <c@x>", ["c@x", "b@x", "a@x"]),
        ("In-Reply-To: <b@x>\nReferences: <a@x> <b@x>", ["b@x", "a@x"]),
        ("In-Reply-To: <c@x>\nReferences: <a@x>\n <b@x>", ["c@x", "b@x", "a@x"]),
        ('In-Reply-To: Your message of "Mon" <c@x>', ["c@x"]),
        ("In-Reply-To: c@x\nReferences: a@x,b@x", ["c@x", "b@x", "a@x"]),
        ("Message-ID: <self@x>\nReferences: <a@x> <self@x>", ["a@x"]),
    ],
)
def test_thread_keys_are_in_reply_to_first_then_references_newest_first(
    headers: str, keys: list[str]
) -> None:
    assert thread_keys(parsed("From: jo@shop.example\n" + headers)) == keys


@pytest.mark.parametrize(
    ("subject", "number"),
    [
        ("[#1234] Printer", 1234),
        ("Re: [#1234] Printer", 1234),
        ("AW: WG: Fwd: [#7] Kassenlade", 7),
        ("RE[2]: SV: [#99]", 99),
        ("Printer issue [#1234]", 1234),
        ("Printer (ticket [#1234])", 1234),
        ("[#1] a [#2]", 1),
        ("abc[#1234]", None),
        ("[#1234]abc", None),
        ("[# 1234]", None),
        ("[#abc]", None),
        ("[#0]", None),
        ("[#99999999999]", None),
        ("[#2147483648] then [#5]", 5),
        ("#1234", None),
        ("", None),
    ],
)
def test_the_ticket_number_comes_from_a_standalone_subject_tag(
    subject: str, number: int | None
) -> None:
    assert find_ticket_number(subject) == number


def test_a_prefixed_tag_is_matched_in_any_case_and_the_plain_one_is_not() -> None:
    assert find_ticket_number("Re: [pd#12] x", prefix="PD") == 12
    assert find_ticket_number("Re: [#12] x", prefix="PD") is None
    assert subject_tag(12, prefix="PD") == "[PD#12]"
    assert SUBJECT_TAG.search("x [#3] y") is not None


@pytest.mark.parametrize("prefix", ["a b", "#", "x" * 21, "é"])
def test_a_malformed_tag_prefix_is_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="subject tag prefix"):
        subject_tag(1, prefix=prefix)


@pytest.mark.parametrize(
    ("subject", "stripped"),
    [
        ("Re: Re: Printer", "Printer"),
        ("AW: WG: Printer", "Printer"),
        ("RE[3]: FW: Printer", "Printer"),
        ("Fwd:Printer", "Printer"),
        ("SV: VS: Antw: Printer", "Printer"),
        ("Réunion: agenda", "Réunion: agenda"),
        ("Reply needed: x", "Reply needed: x"),
    ],
)
def test_reply_prefixes_are_stripped_however_many(subject: str, stripped: str) -> None:
    assert strip_reply_prefixes(subject) == stripped


@pytest.mark.parametrize(
    ("subject", "ours"),
    [
        ("Printer", "Re: [#12] Printer"),
        ("Re: [#12] Printer", "Re: [#12] Printer"),
        ("AW: Re: [#12] Printer", "Re: [#12] Printer"),
        ("Re: [#12] Fwd: [#9] Printer", "Re: [#12] [#9] Printer"),
        ("", "Re: [#12]"),
    ],
)
def test_our_reply_subject_carries_one_tag_and_one_re(subject: str, ours: str) -> None:
    assert reply_subject(subject, 12) == ours


def test_our_message_ids_are_recognised_and_only_at_our_domain() -> None:
    mid = make_message_id("Desk.Example", 1042, "Kx9fQ2")
    assert mid == "pd.1042.Kx9fQ2@desk.example"
    assert message_id_header(mid) == "<pd.1042.Kx9fQ2@desk.example>"
    assert is_our_message_id(mid, "desk.example")
    assert is_our_message_id(make_message_id("desk.example", None, "t"), "DESK.example")
    assert not is_our_message_id(mid, "other.example")
    assert not is_our_message_id("pd.1.2.3@desk.example", "desk.example")
    assert not is_our_message_id("pd.x.tok@desk.example", "desk.example")
    assert not is_our_message_id("pd.@desk.example", "desk.example")


@pytest.mark.parametrize(
    ("domain", "ticket_id", "token", "message"),
    [
        ("desk example", 1, "t", "not a domain"),
        ("desk.example>", 1, "t", "not a domain"),
        ("", 1, "t", "not a domain"),
        ("desk.example", 1, "", "a token"),
        ("desk.example", 1, "a.b", "a token"),
        ("desk.example", 1, "x" * 65, "a token"),
        ("desk.example", 0, "t", "not a ticket id"),
        ("desk.example", 2**31, "t", "not a ticket id"),
    ],
)
def test_a_malformed_message_id_part_is_refused(
    domain: str, ticket_id: int, token: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make_message_id(domain, ticket_id, token)


def test_a_reply_to_our_message_threads_by_the_id_we_made() -> None:
    ours = make_message_id("desk.example", 77, "abc123")
    reply = parsed(f"From: jo@shop.example\nIn-Reply-To: {message_id_header(ours)}")
    assert thread_keys(reply) == [ours]
