"""The IMAP poller: the messages waiting in the configured mailboxes, taken in one by one.

Messages are fetched without being marked (``BODY.PEEK[]``), up to ``CHUNK`` in one command,
each taken in and committed on its own, and only then marked seen or moved to the mailbox's
``done_folder``, those of a chunk in one command. A poller that dies in between
leaves the message to be read again; the second reading is recognised by its Message-ID and
recorded once. A message whose intake fails (the database is down) stays as it was.
"""

from __future__ import annotations

import logging
import re
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

__all__ = ["CHUNK", "ImapPoller", "PollStats"]

#: Messages fetched, and marked, per IMAP command.
CHUNK = 50
_UID = re.compile(rb"\bUID (\d+)")

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
            for start in range(0, len(uids), CHUNK):
                chunk = uids[start : start + CHUNK]
                if not self._take_chunk(mailbox, box, chunk, stats):
                    break
        return stats

    def _take_chunk(
        self, mailbox: BaseMailBox, box: ImapMailbox, uids: list[str], stats: PollStats
    ) -> bool:
        """Fetch ``uids`` in one command, take each in (each committed on its own), then mark
        those taken in one command. False when the database failed: the rest stay unseen."""
        fetched = _fetch(mailbox, uids)
        log.info("%s: %d new message(s) fetched", box.name, len(fetched))
        taken: list[str] = []
        try:
            for uid in uids:
                raw = fetched.get(uid)
                if raw is None:  # gone meanwhile (another client moved it)
                    continue
                stats.fetched += 1
                try:
                    done = self.intaker.take(raw, source=box.name)
                except Exception:
                    log.exception("%s: message %s could not be stored; left unseen", box.name, uid)
                    stats.failed += 1
                    return False
                stats.taken += 1
                taken.append(uid)
                log.info("%s: message <%s>: %s", box.name, done.message_id, done.outcome)
        finally:
            # Only what was committed; a poller that dies before this reads those again, and
            # their Message-IDs are recognised.
            if taken and box.done_folder:
                mailbox.move(taken, box.done_folder)
            elif taken:
                mailbox.flag(taken, MailMessageFlags.SEEN, True)
        return True


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


def _fetch(mailbox: BaseMailBox, uids: list[str]) -> dict[str, bytes]:
    """The messages' bytes as stored, by UID, in one command, without marking them seen."""
    status, data = mailbox.client.uid("FETCH", ",".join(uids), "(UID BODY.PEEK[])")
    found: dict[str, bytes] = {}
    if status != "OK":
        return found
    for part in data:
        if isinstance(part, tuple) and len(part) == 2 and isinstance(part[1], bytes):
            head = part[0] if isinstance(part[0], bytes) else b""
            match = _UID.search(head)
            if match is not None:
                found[match.group(1).decode()] = part[1]
    return found
