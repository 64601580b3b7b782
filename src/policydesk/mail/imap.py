"""The IMAP poller: the messages waiting in the configured mailboxes, taken in one by one.

A message is fetched without being marked (``BODY.PEEK[]``), taken in and committed, and only
then marked seen or moved to the mailbox's ``done_folder``. A poller that dies in between
leaves the message to be read again; the second reading is recognised by its Message-ID and
recorded once. A message whose intake fails (the database is down) stays as it was.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from imap_tools import (
    AND,
    BaseMailBox,
    MailBox,
    MailBoxStartTls,
    MailBoxUnencrypted,
    MailMessageFlags,
)

from policydesk.mail.intake import Intaker
from policydesk.settings import ImapMailbox

__all__ = ["ImapPoller", "PollStats"]

log = logging.getLogger("policydesk.mail")


@dataclass
class PollStats:
    fetched: int = 0
    taken: int = 0
    failed: int = 0


class ImapPoller:
    def __init__(self, intaker: Intaker) -> None:
        self.intaker = intaker
        self.settings = intaker.settings

    def poll_all(self, *, limit: int = 200) -> PollStats:
        """Every configured mailbox once; a mailbox that cannot be reached is logged."""
        total = PollStats()
        for box in self.settings.imap_mailboxes:
            try:
                stats = self.poll(box, limit=limit)
            except Exception:
                log.exception("%s: could not poll; trying again next time", box.name)
                total.failed += 1
                continue
            total.fetched += stats.fetched
            total.taken += stats.taken
            total.failed += stats.failed
        return total

    def poll(self, box: ImapMailbox, *, limit: int = 200) -> PollStats:
        """Take in up to ``limit`` unseen messages of ``box``."""
        stats = PollStats()
        with _connect(box) as mailbox:
            if box.done_folder and not mailbox.folder.exists(box.done_folder):
                mailbox.folder.create(box.done_folder)
            uids = mailbox.uids(AND(seen=False))[:limit]
            for uid in uids:
                raw = _fetch(mailbox, uid)
                if raw is None:
                    continue
                stats.fetched += 1
                try:
                    done = self.intaker.take(raw, source=box.name)
                except Exception:
                    # The database failed: leave this one (and the rest) on the server.
                    log.exception("%s: message %s could not be stored; left unseen", box.name, uid)
                    stats.failed += 1
                    break
                stats.taken += 1
                log.info("%s: message <%s>: %s", box.name, done.message_id, done.outcome)
                if box.done_folder:
                    mailbox.move(uid, box.done_folder)
                else:
                    mailbox.flag(uid, MailMessageFlags.SEEN, True)
        return stats


def _connect(box: ImapMailbox) -> BaseMailBox:
    password = box.password.get_secret_value()
    mailbox: BaseMailBox
    if box.ssl:
        mailbox = MailBox(box.host, box.port)
    elif box.starttls:
        mailbox = MailBoxStartTls(box.host, box.port)
    else:
        mailbox = MailBoxUnencrypted(box.host, box.port)
    return mailbox.login(box.user, password, initial_folder=box.folder)


def _fetch(mailbox: BaseMailBox, uid: str) -> bytes | None:
    """The message's bytes as stored, without marking it seen."""
    status, data = mailbox.client.uid("FETCH", uid, "(BODY.PEEK[])")
    if status != "OK":
        return None
    for part in data:
        if isinstance(part, tuple) and len(part) == 2 and isinstance(part[1], bytes):
            return part[1]
    return None
