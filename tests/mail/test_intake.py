"""Mail intake against real databases: new tickets, threaded replies, duplicates recorded once,
loops and noise never answered, quarantine with the reason, oversize and refused mail answered,
DL6 asking for what is missing, and the corpus's messages each ending where they should."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from policydesk.access import Actor, Staff
from policydesk.accounts.models import Account, Contact
from policydesk.agents.models import Agent
from policydesk.db.engine import session_scope
from policydesk.mail.intake import Intake, take_in
from policydesk.mail.models import Attachment, MailMessage
from policydesk.notify.compose import Composer
from policydesk.outbox.models import OutboxMessage
from policydesk.policies import service as policy_service
from policydesk.settings import Settings
from policydesk.tickets import service as ticket_service
from policydesk.tickets.models import Ticket, TicketEvent
from policydesk.tickets.schemas import EventIn

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"
NOW = dt.datetime.fromisoformat("2026-11-24T10:00:00-05:00")


def mail(
    subject: str = "Printer stopped",
    body: str = "The receipt printer stopped after the update.",
    sender: str = "Ann Owner <ann@acme.test>",
    message_id: str = "m1@acme.test",
    **headers: str,
) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = "support@desk.test"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{message_id}>"
    msg["Date"] = "Tue, 24 Nov 2026 09:59:00 -0500"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


@dataclass
class Mailroom:
    factory: sessionmaker[Session]
    settings: Settings
    composer: Composer
    acme_id: int
    ann_id: int

    def take(self, raw: bytes, at: dt.datetime = NOW, source: str = "smtp") -> Intake:
        with session_scope(self.factory) as s:
            return take_in(
                s, raw=raw, source=source, now=at, settings=self.settings, composer=self.composer
            )

    def query(self, fn: Callable[[Session], object]) -> object:
        with session_scope(self.factory) as s:
            return fn(s)

    def tickets(self) -> int:
        return int(self.query(lambda s: s.scalar(select(func.count()).select_from(Ticket))))  # type: ignore[arg-type]

    def record(self, message_id: str) -> MailMessage:
        found = self.query(
            lambda s: s.scalars(
                select(MailMessage).where(MailMessage.message_id == message_id)
            ).one()
        )
        assert isinstance(found, MailMessage)
        return found

    def outbox(self) -> list[OutboxMessage]:
        return list(
            self.query(lambda s: s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all())
        )  # type: ignore[call-overload]

    def events(self, ticket_id: int) -> list[TicketEvent]:
        return list(
            self.query(  # type: ignore[call-overload]
                lambda s: s.scalars(
                    select(TicketEvent)
                    .where(TicketEvent.ticket_id == ticket_id)
                    .order_by(TicketEvent.id)
                ).all()
            )
        )

    def ticket(self, ticket_id: int) -> Ticket:
        found = self.query(lambda s: s.get(Ticket, ticket_id))
        assert isinstance(found, Ticket)
        return found


@pytest.fixture
def mailroom(factory: sessionmaker[Session]) -> Mailroom:
    return make_mailroom(factory, "rarelogic.yaml")


def make_mailroom(factory: sessionmaker[Session], policy: str, **settings: object) -> Mailroom:
    defaults: dict[str, object] = {
        "mail_addresses": ["support@desk.test"],
        "mail_max_attachment_bytes": 1024,
        "mail_rate_limit_per_hour": 5,
    }
    config = Settings(**{**defaults, **settings})  # type: ignore[arg-type]
    with session_scope(factory) as s:
        text = (ROOT / "policies" / policy).read_text()
        policy_service.activate_policy(s, text=text, source=policy, now=NOW)
        compiled = policy_service.compiled(policy_service.active_version(s))
        plan = next(iter(compiled.doc.plans), None)
        acme = Account(name="Acme", plan=plan, attributes={}, created_at=NOW)
        s.add(acme)
        s.flush()
        ann = Contact(name="Ann Owner", email="ann@acme.test", account_id=acme.id, created_at=NOW)
        s.add_all([ann, Agent(name="Ada Agent", email="ada@desk.test", created_at=NOW)])
        s.flush()
        ids = (acme.id, ann.id)
    return Mailroom(factory, config, Composer(config), *ids)


def test_a_message_opens_a_ticket_for_its_sender(mailroom: Mailroom) -> None:
    done = mailroom.take(mail())
    assert done.outcome == "ticket"
    ticket = mailroom.ticket(done.ticket_id or 0)
    assert (ticket.subject, ticket.channel, ticket.requester_id) == (
        "Printer stopped", "email", mailroom.ann_id,
    )  # fmt: skip
    assert ticket.account_id == mailroom.acme_id
    received = mailroom.events(ticket.id)[0]
    assert received.data["message_id"] == "m1@acme.test"
    assert received.body.startswith("The receipt printer stopped")
    record = mailroom.record("m1@acme.test")
    assert (record.outcome, record.ticket_id, record.event_id) == ("ticket", ticket.id, None)
    assert record.raw.endswith(b"after the update.\r\n")


def test_an_unknown_sender_becomes_a_contact_of_no_account(mailroom: Mailroom) -> None:
    done = mailroom.take(mail(sender="Zoe New <zoe@newshop.test>"))
    ticket = mailroom.ticket(done.ticket_id or 0)
    contact = mailroom.query(lambda s: s.get(Contact, ticket.requester_id))
    assert isinstance(contact, Contact)
    assert (contact.name, contact.email, contact.account_id) == (
        "Zoe New",
        "zoe@newshop.test",
        None,
    )
    assert ticket.account_id is None


def test_the_same_message_delivered_twice_is_recorded_once(mailroom: Mailroom) -> None:
    assert mailroom.take(mail()).outcome == "ticket"
    again = mailroom.take(mail(), source="imap:support@desk.test/INBOX")
    assert again.outcome == "duplicate"
    assert mailroom.tickets() == 1
    count = mailroom.query(lambda s: s.scalar(select(func.count()).select_from(MailMessage)))
    assert count == 1


def test_a_reply_joins_its_ticket_by_the_message_id_it_answers(mailroom: Mailroom) -> None:
    first = mailroom.take(mail())
    reply = mail(
        subject="Re: Printer stopped",
        body="It works again, thanks!\n\nOn Tue, Ann wrote:\n> The receipt printer stopped",
        message_id="m2@acme.test",
        In_Reply_To="<m1@acme.test>",
        References="<m1@acme.test>",
    )
    done = mailroom.take(reply)
    assert (done.outcome, done.ticket_id) == ("reply", first.ticket_id)
    last = mailroom.events(first.ticket_id or 0)[-1]
    assert (last.type, last.body) == ("customer_reply", "It works again, thanks!")


def test_a_reply_to_our_mail_joins_the_ticket_we_wrote_about(mailroom: Mailroom) -> None:
    first = mailroom.take(mail())
    tid = first.ticket_id or 0
    with session_scope(mailroom.factory) as s:
        ticket = s.get(Ticket, tid)
        assert ticket is not None
        ada = s.scalars(select(Agent)).one()
        ticket_service.record_event(
            s, ticket_id=tid, expected_version=ticket.version,
            data=EventIn(type="reply", body="Please restart the printer."),
            actor=Actor(agent=Staff.of(ada)),
            now=NOW + dt.timedelta(minutes=5), composer=mailroom.composer,
        )  # fmt: skip
    (out,) = [o for o in mailroom.outbox() if o.recipient == "ann@acme.test"]
    assert out.subject == f"Re: [#{tid}] Printer stopped"
    assert out.data["in_reply_to"] == "<m1@acme.test>"
    assert out.data["auto_submitted"] == "no"
    assert out.message_id is not None
    assert out.message_id.startswith(f"pd.{tid}.")
    answer = mail(subject=f"RE: {out.subject}", body="Done, it prints.", message_id="m3@acme.test",
                  In_Reply_To=f"<{out.message_id}>")  # fmt: skip
    assert mailroom.take(answer) == Intake("reply", "m3@acme.test", tid, "reply")


def test_the_subject_tag_threads_only_for_the_tickets_own_people(mailroom: Mailroom) -> None:
    tid = mailroom.take(mail()).ticket_id
    mine = mail(subject=f"Re: [#{tid}] Printer", message_id="m4@acme.test")
    assert mailroom.take(mine).ticket_id == tid
    stranger = mail(subject=f"Re: [#{tid}] Printer", message_id="x1@evil.test",
                    sender="Eve <eve@evil.test>")  # fmt: skip
    done = mailroom.take(stranger)
    assert done.outcome == "ticket"
    assert done.ticket_id != tid


@pytest.mark.parametrize(
    ("headers", "sender", "why"),
    [
        ({"Auto_Submitted": "auto-replied"}, "ann@acme.test", "auto reply: Auto-Submitted"),
        ({"Precedence": "bulk"}, "news@shop.test", "bulk: Precedence: bulk"),
        ({"X_Policydesk_Ticket": "12"}, "ann@acme.test", "our own message"),
        ({}, "support@desk.test", "our own message: it is from our own address"),
    ],
)
def test_loops_and_noise_are_kept_but_never_open_or_answer(
    mailroom: Mailroom, headers: dict[str, str], sender: str, why: str
) -> None:
    done = mailroom.take(mail(sender=sender, **headers))
    assert done.outcome == "ignored"
    assert why in done.detail
    assert mailroom.tickets() == 0
    assert mailroom.outbox() == []


def test_a_message_that_cannot_be_read_is_quarantined_with_its_reason(mailroom: Mailroom) -> None:
    raw = b"Subject: no sender at all\r\nMessage-ID: <q@x.test>\r\n\r\nhello\r\n"
    done = mailroom.take(raw)
    assert done.outcome == "quarantined"
    record = mailroom.record("q@x.test")
    assert "no sender" in record.reason.lower() or "from" in record.reason.lower()
    assert record.raw == raw


def test_a_sender_over_the_rate_limit_is_quarantined(mailroom: Mailroom) -> None:
    outcomes = [mailroom.take(mail(message_id=f"r{i}@acme.test")).outcome for i in range(6)]
    assert outcomes == ["ticket"] * 5 + ["quarantined"]
    assert "more than 5 messages" in mailroom.record("r5@acme.test").reason
    later = NOW + dt.timedelta(hours=1, seconds=1)
    assert mailroom.take(mail(message_id="r6@acme.test"), at=later).outcome == "ticket"


def test_an_oversize_attachment_is_refused_with_a_bounce_not_truncated(mailroom: Mailroom) -> None:
    done = mailroom.take((CORPUS / "oversize_attachment.eml").read_bytes())
    assert done.outcome == "refused"
    assert 'The attachment "export.bin"' in done.detail
    assert mailroom.tickets() == 0
    (bounce,) = mailroom.outbox()
    assert bounce.recipient == "ana.ruiz@vineyard.example"
    assert bounce.subject == "Not accepted: Full export"
    assert "the limit is 1,024 bytes" in bounce.body
    assert bounce.data["auto_submitted"] == "auto-replied"


def test_a_refused_account_gets_the_refusal_and_its_message_is_kept(mailroom: Mailroom) -> None:
    def refuse(s: Session) -> None:
        acme = s.get(Account, mailroom.acme_id)
        assert acme is not None
        acme.status, acme.status_reason = "refused", "phishing (RL9)"

    mailroom.query(refuse)
    done = mailroom.take(mail())
    assert done.outcome == "refused"
    assert mailroom.tickets() == 0
    (answer,) = mailroom.outbox()
    assert "support for\nthis account has been refused" in answer.body
    assert "phishing" not in answer.body  # the lead's reason stays inside the desk
    assert mailroom.record("m1@acme.test").raw


def test_attachments_are_kept_with_name_type_size_and_checksum(mailroom: Mailroom) -> None:
    done = mailroom.take((CORPUS / "related_inline_image.eml").read_bytes())
    files = mailroom.query(lambda s: s.scalars(select(Attachment)).all())
    (image,) = files  # type: ignore[misc]
    assert (image.filename, image.content_type, image.size, image.inline) == (
        "attachment-1.png", "image/png", 70, True,
    )  # fmt: skip
    assert image.sha256 == "c414cd0e204de974f73753c7e28d7638e7b3691bb8b1a2bab6b25bb7fed7ce77"
    assert image.ticket_id == done.ticket_id


def test_an_order_mail_without_its_number_is_taken_and_the_number_asked_for(
    factory: sessionmaker[Session],
) -> None:
    room = make_mailroom(factory, "storebuilder.yaml")
    body = "Someone placed an order and I didn't get the email notification."
    done = room.take(mail(subject="No notification", body=body))
    ticket = room.ticket(done.ticket_id or 0)
    assert (ticket.category, ticket.custom_fields) == ("order_issue", {})
    with_number = room.take(mail(subject="Order 48213 is stuck", message_id="m9@acme.test"))
    assert room.ticket(with_number.ticket_id or 0).custom_fields == {"order_number": "48213"}


MANIFEST = yaml.safe_load((CORPUS / "manifest.yaml").read_text())["messages"]


def expected_outcome(name: str, entry: dict[str, object]) -> str:
    if "quarantine" in entry:
        return "quarantined"
    if entry.get("oversize"):
        return "refused"
    if entry.get("kind") != "normal" or name == "own_message_loop.eml":
        return "ignored"
    return "ticket"


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_each_corpus_message_ends_where_it_should(
    factory: sessionmaker[Session], name: str
) -> None:
    room = make_mailroom(factory, "rarelogic.yaml", mail_addresses=["support@desk.example"],
                         mail_from="Support <support@desk.example>")  # fmt: skip
    want = expected_outcome(name, MANIFEST[name])
    done = room.take((CORPUS / name).read_bytes())
    assert done.outcome == want, done.detail
    assert room.record(done.message_id).outcome == want
    assert room.tickets() == (1 if want == "ticket" else 0)
