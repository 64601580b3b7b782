"""The SMTP test server receives over real SMTP and keeps each message with its envelope."""

from __future__ import annotations

import smtplib
from pathlib import Path

import pytest

from policydesk.mail import ParsedMessage, parse_message
from tests.mail.smtp_server import SmtpServer

CORPUS = Path(__file__).parent / "corpus"


def test_messages_sent_over_smtp_are_kept_with_their_envelope(smtp_server: SmtpServer) -> None:
    raw = (CORPUS / "alternative_utf8.eml").read_bytes()
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        client.sendmail("bjorn@kallare.example", ["support@desk.example", "b@desk.example"], raw)
    (received,) = smtp_server.wait_for(1)
    assert received.mail_from == "bjorn@kallare.example"
    assert received.rcpt_tos == ("support@desk.example", "b@desk.example")
    parsed = parse_message(received.data, max_attachment_bytes=10**6)
    assert isinstance(parsed, ParsedMessage)
    assert parsed.subject == "Fråga om fakturan"


def test_waiting_for_a_message_that_never_comes_times_out(smtp_server: SmtpServer) -> None:
    with pytest.raises(TimeoutError, match="0 of 1 messages"):
        smtp_server.wait_for(1, timeout=0.2)
