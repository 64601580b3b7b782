"""The IMAP test server is real: imap-tools logs in, fetches, flags and moves through it."""

from __future__ import annotations

import imaplib
from pathlib import Path

import pytest
from imap_tools import AND, MailBoxUnencrypted, MailMessageFlags

from policydesk.mail import ParsedMessage, parse_message
from tests.mail.imap_server import ImapServer, running_imap_server

CORPUS = Path(__file__).parent / "corpus"


def test_imap_tools_logs_in_fetches_flags_and_moves_a_message(imap_server: ImapServer) -> None:
    raw = (CORPUS / "plain_ascii.eml").read_bytes()
    imap_server.append(raw)
    imap_server.append((CORPUS / "alternative_utf8.eml").read_bytes(), flags=["\\Seen"])

    with MailBoxUnencrypted(imap_server.host, imap_server.port).login(
        imap_server.user, imap_server.password
    ) as mailbox:
        unseen = list(mailbox.fetch(AND(seen=False), mark_seen=False))
        assert [m.subject for m in unseen] == ["Cannot place orders since this morning"]
        fetched = unseen[0]
        assert fetched.uid is not None
        # The bytes come back as delivered, so the parser reads the same message.
        parsed = parse_message(fetched.obj.as_bytes(), max_attachment_bytes=10**6)
        assert isinstance(parsed, ParsedMessage)
        assert parsed.message_id == "20261124080512.4711@mail.vineyard.example"

        mailbox.flag([fetched.uid], MailMessageFlags.SEEN, True)
        assert list(mailbox.fetch(AND(seen=False), mark_seen=False)) == []

        mailbox.folder.create("Processed")
        mailbox.move([fetched.uid], "Processed")
        assert [m.subject for m in mailbox.fetch(mark_seen=False)] == ["Fråga om fakturan"]
        mailbox.folder.set("Processed")
        moved = list(mailbox.fetch(mark_seen=False))
        assert [m.subject for m in moved] == ["Cannot place orders since this morning"]
        assert MailMessageFlags.SEEN in moved[0].flags


def test_the_server_rejects_a_wrong_password(imap_server: ImapServer) -> None:
    conn = imaplib.IMAP4(imap_server.host, imap_server.port, timeout=10)
    with pytest.raises(imaplib.IMAP4.error):
        conn.login(imap_server.user, "wrong")
    conn.logout()


def test_append_creates_the_mailbox_and_each_server_starts_empty() -> None:
    with running_imap_server() as first:
        first.append((CORPUS / "plain_ascii.eml").read_bytes(), mailbox="Archive")
        with first.client() as conn:
            conn.select("Archive")
            status, data = conn.search(None, "ALL")
            assert (status, data) == ("OK", [b"1"])
    with running_imap_server() as second:
        with second.client() as conn:
            conn.select("INBOX")
            assert conn.search(None, "ALL") == ("OK", [b""])
        assert second.port > 0
