"""The SMTP receiver and the IMAP poller, over real protocols on loopback, with their faults:
the same message twice, the database down (the message stays with its sender or on the
server), a poller that fails between fetch and commit or between commit and marking."""

from __future__ import annotations

import contextlib
import imaplib
import json
import os
import signal
import smtplib
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from policydesk.db.engine import make_engine, session_scope, sessions
from policydesk.mail import imap as imap_module
from policydesk.mail import intake as intake_module
from policydesk.mail.imap import ImapPoller
from policydesk.mail.intake import Intaker
from policydesk.mail.models import MailMessage
from policydesk.mail.smtp import IntakeHandler, start_receiver
from policydesk.policies import service as policy_service
from policydesk.settings import ImapMailbox, Settings
from policydesk.tickets.models import Ticket
from tests.conftest import CommittedDatabase
from tests.mail._ports import free_port
from tests.mail.imap_server import ImapServer
from tests.mail.test_intake import NOW, mail, make_mailroom

ROOT = Path(__file__).resolve().parents[2]
POLICYDESK = Path(sys.executable).parent / "policydesk"


def count(factory: sessionmaker[Session], table: type) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(table)) or 0


@contextmanager
def receiver(factory: sessionmaker[Session], **settings: object) -> Iterator[int]:
    port = free_port()
    config = Settings(mail_listen_port=port, mail_addresses=["support@desk.test"], **settings)  # type: ignore[arg-type]
    controller = start_receiver(IntakeHandler(Intaker(config, factory, clock=lambda: NOW)))
    try:
        yield port
    finally:
        controller.stop()


def send(
    port: int, raw: bytes, *, sender: str = "ann@acme.test", to: str = "support@desk.test"
) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.sendmail(sender, [to], raw)


# ----- SMTP ------------------------------------------------------------------------------------


def test_smtp_takes_a_message_in_before_it_says_250(factory: sessionmaker[Session]) -> None:
    make_mailroom(factory, "rarelogic.yaml")
    with receiver(factory) as port:
        send(port, mail())
        assert count(factory, Ticket) == 1
        send(port, mail())  # a retry of the same message (the client did not see our 250)
        assert count(factory, Ticket) == 1
        assert count(factory, MailMessage) == 1


def test_smtp_refuses_strangers_addresses_and_oversize_messages(
    factory: sessionmaker[Session],
) -> None:
    make_mailroom(factory, "rarelogic.yaml")
    with receiver(factory, mail_max_message_bytes=4096) as port:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            send(port, mail(), to="someone-else@desk.test")
        assert refused.value.recipients["someone-else@desk.test"][0] == 550
        # smtplib declares the size, and the server refuses before the data is sent (RFC 1870)
        with pytest.raises(smtplib.SMTPSenderRefused) as big:
            send(port, mail(body="x" * 10_000))
        assert big.value.smtp_code == 552
    assert count(factory, MailMessage) == 0


def test_a_bounce_to_the_null_sender_is_kept_and_never_answered(
    factory: sessionmaker[Session],
) -> None:
    make_mailroom(factory, "rarelogic.yaml")
    with receiver(factory) as port:
        send(port, mail(), sender="")
    with factory() as s:
        record = s.scalars(select(MailMessage)).one()
        assert (record.outcome, record.kind) == ("ignored", "bounce")


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////nonexistent-folder/policydesk.db",
        "postgresql+psycopg://postgres@127.0.0.1:1/test",
    ],
)
def test_with_the_database_down_smtp_answers_451_and_keeps_nothing_half_done(url: str) -> None:
    broken = sessions(
        make_engine(url, connect_args={"connect_timeout": 2})
        if "postgresql" in url
        else make_engine(url)
    )
    with receiver(broken) as port, pytest.raises(smtplib.SMTPDataError) as failed:
        send(port, mail())
    assert failed.value.smtp_code == 451
    assert b"try again later" in failed.value.smtp_error


# ----- IMAP ------------------------------------------------------------------------------------


def mailbox(server: ImapServer, **extra: object) -> ImapMailbox:
    return ImapMailbox(host=server.host, port=server.port, user=server.user,
                       password=server.password, ssl=False, **extra)  # type: ignore[arg-type]  # fmt: skip


def poller(factory: sessionmaker[Session], box: ImapMailbox) -> ImapPoller:
    config = Settings(imap_mailboxes=[box], mail_addresses=["support@desk.test"])
    return ImapPoller(Intaker(config, factory, clock=lambda: NOW))


def unseen(server: ImapServer, folder: str = "INBOX") -> int:
    with server.client() as conn:
        conn.select(folder)
        status, data = conn.search(None, "UNSEEN")
        assert status == "OK"
        return len(data[0].split())


def test_imap_takes_in_the_unseen_mail_and_marks_it_after_commit(
    factory: sessionmaker[Session], imap_server: ImapServer
) -> None:
    make_mailroom(factory, "rarelogic.yaml")
    imap_server.append(mail(message_id="i1@acme.test"))
    imap_server.append(mail(message_id="i2@acme.test", subject="Second"))
    imap_server.append(mail(message_id="i0@acme.test"), flags=[r"\Seen"])  # read by a person
    stats = poller(factory, mailbox(imap_server)).poll_all()
    assert (stats.fetched, stats.taken, stats.failed) == (2, 2, 0)
    assert count(factory, Ticket) == 2
    assert unseen(imap_server) == 0
    assert poller(factory, mailbox(imap_server)).poll_all().fetched == 0


def test_imap_moves_taken_mail_to_the_done_folder(
    factory: sessionmaker[Session], imap_server: ImapServer
) -> None:
    make_mailroom(factory, "rarelogic.yaml")
    imap_server.append(mail())
    poller(factory, mailbox(imap_server, done_folder="Desk/Done")).poll_all()
    with imap_server.client() as conn:
        assert conn.select("INBOX")[1][0] == b"0"
        assert conn.select("Desk/Done")[1][0] == b"1"


def test_a_poller_that_fails_before_commit_leaves_the_message_unseen(
    factory: sessionmaker[Session], imap_server: ImapServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_mailroom(factory, "rarelogic.yaml")
    imap_server.append(mail())

    def database_down(*args: object, **kwargs: object) -> object:
        raise ConnectionError("the database went away")

    monkeypatch.setattr(intake_module, "take_in", database_down)
    stats = poller(factory, mailbox(imap_server)).poll_all()
    assert (stats.fetched, stats.taken, stats.failed) == (1, 0, 1)
    assert unseen(imap_server) == 1
    monkeypatch.undo()
    assert poller(factory, mailbox(imap_server)).poll_all().taken == 1
    assert count(factory, Ticket) == 1


def test_a_poller_that_dies_after_commit_reads_the_message_again_and_records_it_once(
    factory: sessionmaker[Session], imap_server: ImapServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_mailroom(factory, "rarelogic.yaml")
    imap_server.append(mail())

    def crash(*args: object, **kwargs: object) -> None:
        raise imaplib.IMAP4.abort("connection lost before the flag was set")

    monkeypatch.setattr(imap_module.BaseMailBox, "flag", crash)
    assert poller(factory, mailbox(imap_server)).poll_all().failed == 1
    assert (count(factory, Ticket), unseen(imap_server)) == (1, 1)
    monkeypatch.undo()
    assert poller(factory, mailbox(imap_server)).poll_all().taken == 1
    assert (count(factory, Ticket), count(factory, MailMessage), unseen(imap_server)) == (1, 1, 0)


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``policydesk *args`` in its own process group, its output in ``log``."""
    with log.open("wb") as out:
        return subprocess.Popen([str(POLICYDESK), *args], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip


def wait_for_line(proc: subprocess.Popen[bytes], log: Path, text: str) -> None:
    deadline = time.monotonic() + 60
    while text not in log.read_text():
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)


@contextmanager
def writes_blocked(db: CommittedDatabase) -> Iterator[None]:
    """No other connection can write meanwhile: SQLite's write lock, or PostgreSQL's tables
    that intake writes locked against writers (readers go on)."""
    if db.url.startswith("sqlite"):
        raw = sqlite3.connect(db.url.removeprefix("sqlite:///"), isolation_level=None)
        raw.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            raw.execute("ROLLBACK")
            raw.close()
        return
    with db.engine.connect() as conn, conn.begin() as txn:
        conn.exec_driver_sql("LOCK TABLE mail_messages, tickets IN EXCLUSIVE MODE")
        yield
        txn.rollback()


def test_a_poller_killed_between_fetch_and_commit_loses_nothing_and_doubles_nothing(
    database: CommittedDatabase, imap_server: ImapServer, tmp_path: Path
) -> None:
    factory = sessions(database.engine)
    make_mailroom(factory, "rarelogic.yaml")
    imap_server.append(mail())
    box = mailbox(imap_server).model_dump(mode="json")
    box["password"] = imap_server.password
    env = {**os.environ, "POLICYDESK_DATABASE_URL": database.url,
           "POLICYDESK_IMAP_MAILBOXES": json.dumps([box])}  # fmt: skip
    log = tmp_path / "poll.log"
    with writes_blocked(database):
        proc = start(["mail", "poll"], env, log)
        try:
            wait_for_line(proc, log, "1 new message(s) fetched")
            # It has the message and cannot commit it while the writes are blocked.
            os.killpg(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(timeout=20)
    assert proc.returncode == -signal.SIGKILL
    assert (count(factory, Ticket), count(factory, MailMessage), unseen(imap_server)) == (0, 0, 1)
    again = subprocess.run([str(POLICYDESK), "mail", "poll"], env=env, capture_output=True,
                           text=True, timeout=120)  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    assert "fetched 1, taken in 1, failed 0" in again.stdout
    assert (count(factory, Ticket), count(factory, MailMessage), unseen(imap_server)) == (1, 1, 0)


def test_an_unreachable_mailbox_is_reported_not_raised(factory: sessionmaker[Session]) -> None:
    box = ImapMailbox(host="127.0.0.1", port=free_port(), user="x", password="y", ssl=False)
    assert poller(factory, box).poll_all().failed == 1


def intake_processes(serve: subprocess.Popen[bytes]) -> list[int]:
    """The intake processes ``policydesk mail serve`` spawned."""
    found = []
    for task in Path(f"/proc/{serve.pid}/task").iterdir():  # children of any of its threads
        for child in (task / "children").read_text().split():
            with contextlib.suppress(OSError):
                if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.append(int(child))
    return found


@contextmanager
def mail_serve(database: CommittedDatabase, tmp_path: Path) -> Iterator[tuple[int, Any]]:
    """``policydesk mail serve`` with two intake processes; (its port, the process)."""
    with session_scope(sessions(database.engine)) as s:
        text = (ROOT / "policies" / "rarelogic.yaml").read_text()
        policy_service.activate_policy(s, text=text, source="rarelogic", now=NOW)
    port = free_port()
    env = {**os.environ, "POLICYDESK_DATABASE_URL": database.url,
           "POLICYDESK_MAIL_LISTEN_PORT": str(port), "POLICYDESK_MAIL_WORKERS": "2"}  # fmt: skip
    log = tmp_path / "serve.log"
    proc = start(["mail", "serve"], env, log)
    try:
        wait_for_line(proc, log, "taking in mail on smtp://127.0.0.1")
        assert "(2 intake processes)" in log.read_text()
        yield port, proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_one_connection_is_taken_in_by_all_the_intake_processes(
    database: CommittedDatabase, tmp_path: Path
) -> None:
    with mail_serve(database, tmp_path) as (port, proc):
        assert len(intake_processes(proc)) == 2
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:  # a relay's one connection
            for i in range(12):
                raw = mail(message_id=f"p{i}@acme.test", sender=f"Ann <ann{i}@acme.test>")
                smtp.sendmail("ann@acme.test", ["support@desk.test"], raw)
        with Session(database.engine) as s:
            assert s.scalar(select(func.count()).select_from(Ticket)) == 12


def test_an_intake_process_killed_loses_no_message_and_is_replaced(
    database: CommittedDatabase, tmp_path: Path
) -> None:
    with mail_serve(database, tmp_path) as (port, proc):
        send(port, mail(message_id="before@acme.test"))
        os.kill(intake_processes(proc)[0], signal.SIGKILL)
        codes: list[int] = []
        for attempt in range(20):  # as a relay does: a 4xx answer means "send it again later"
            try:
                send(port, mail(message_id="after@acme.test", subject="After"))
                break
            except smtplib.SMTPDataError as exc:
                codes.append(exc.smtp_code)
                time.sleep(0.2 * attempt)
        else:
            pytest.fail("the receiver never took a message in again")
        assert codes in ([], [451])  # at most the message the killed process had
        with Session(database.engine) as s:
            subjects = set(s.scalars(select(Ticket.subject)))
        assert len(subjects) == 2
        assert "After" in subjects
        assert intake_processes(proc)  # fresh ones
