"""Taking a message in: from raw bytes to a new ticket, a reply on a ticket, or a record of why
neither, in the caller's transaction (the SMTP receiver answers 250, and the IMAP poller marks
the message done, only once it has committed).

Every message is kept once per Message-ID, with its raw bytes and what became of it:

- quarantined: it could not be understood, or its sender is over the rate limit (an agent
  looks at it: ``GET /api/v1/mail/quarantine``);
- ignored: an auto-reply, a bounce, bulk mail, or our own message come back: never a ticket,
  never answered (no mail loops);
- refused: too large (the sender gets a bounce that says which file and the limit), or from a
  banned or refused account (RL4, RL9: the policy's refusal reply);
- reply: it names a ticket by a Message-ID we sent or received, or by the ticket's number in
  its subject when the sender belongs to the ticket's account;
- ticket: a new ticket, its category and fields read from the text when the policy says how
  (DL6); the worker then sends the acknowledgement, which asks for what is missing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parseaddr

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from policydesk.access import Actor
from policydesk.accounts.models import Account, Contact
from policydesk.core.facts import TicketFacts
from policydesk.core.policy import Policy
from policydesk.core.triage import categorize, read_fields
from policydesk.db.engine import session_scope
from policydesk.db.types import UTCDateTime
from policydesk.errors import InvalidInput
from policydesk.mail.loops import own_message_reason
from policydesk.mail.model import Attachment as ParsedAttachment
from policydesk.mail.model import ParsedMessage, Quarantine
from policydesk.mail.models import Attachment, MailMessage
from policydesk.mail.parse import parse_message
from policydesk.mail.threading import reply_subject, thread_keys
from policydesk.notify.compose import Composer
from policydesk.outbox import service as outbox
from policydesk.outbox.models import OutboxMessage
from policydesk.policies import service as policy_service
from policydesk.settings import Settings
from policydesk.tickets import service as ticket_service
from policydesk.tickets.models import Ticket
from policydesk.tickets.schemas import TicketCreate

__all__ = ["Intake", "Intaker", "take_in"]

SUBJECT_LIMIT = 500
BODY_LIMIT = 200_000

_RECORDS = MailMessage.metadata.tables[MailMessage.__tablename__]
#: One round trip: is the message here already, and how much has its sender sent lately.
_SEEN_AND_RECENT = select(
    select(_RECORDS.c.id).where(_RECORDS.c.message_id == bindparam("message_id")).scalar_subquery(),
    select(func.count())
    .select_from(_RECORDS)
    .where(
        _RECORDS.c.from_address == bindparam("sender"),
        _RECORDS.c.received_at > bindparam("since", type_=UTCDateTime()),
    )
    .scalar_subquery(),
)
#: The record is written once and read by id: a prepared INSERT, not the unit of work.
_INSERT_RECORD = insert(_RECORDS).returning(_RECORDS.c.id)


@dataclass(frozen=True, slots=True)
class Intake:
    """What became of a message: ticket, reply, duplicate, quarantined, ignored or refused."""

    outcome: str
    message_id: str
    ticket_id: int | None = None
    detail: str = ""


class Intaker:
    """Takes messages in, each in a transaction of its own: what the SMTP receiver and the
    IMAP poller share."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        *,
        clock: Callable[[], dt.datetime],
        composer: Composer | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.clock = clock
        self.composer = composer or Composer(settings)

    def take(self, raw: bytes, *, source: str) -> Intake:
        """Take ``raw`` in and commit; raises when the database fails (nothing is kept then)."""
        with session_scope(self.sessions) as session:
            return take_in(
                session,
                raw=raw,
                source=source,
                now=self.clock(),
                settings=self.settings,
                composer=self.composer,
            )


def take_in(
    session: Session,
    *,
    raw: bytes,
    source: str,
    now: dt.datetime,
    settings: Settings,
    composer: Composer,
) -> Intake:
    """Take in one message as delivered. Raises only when the database fails (the caller's
    transaction then rolls back and the message stays with its sender or on the server)."""
    result = parse_message(
        raw,
        max_attachment_bytes=settings.mail_max_attachment_bytes,
        max_total_bytes=settings.mail_max_message_bytes,
        tag_prefix=settings.mail_tag_prefix,
    )
    # One round trip: is it here already, and how much has its sender sent in the last hour.
    sender = result.from_address or ""
    since = now - dt.timedelta(hours=1)
    known, recent = session.execute(
        _SEEN_AND_RECENT, {"message_id": result.message_id, "sender": sender, "since": since}
    ).one()
    if known is not None:
        return Intake("duplicate", result.message_id, detail="taken in already")
    keep = _Keeper(session, raw, source, now, result)
    if isinstance(result, Quarantine):
        return keep("quarantined", result.reason)
    ours = [*settings.mail_addresses, parseaddr(settings.mail_from)[1]]
    loop = own_message_reason(result, ours, settings.mail_domain)
    if loop is not None:
        return keep("ignored", f"our own message: {loop}")
    if result.kind.is_automatic:
        return keep("ignored", f"{result.kind.value.replace('_', ' ')}: {result.kind_reason}")
    if recent >= settings.mail_rate_limit_per_hour:
        limit = settings.mail_rate_limit_per_hour
        return keep("quarantined", f"more than {limit} messages from this sender in an hour")
    if result.refused:
        text = result.refusal_text() or "Your message was not accepted."
        _answer(session, composer, now, result, "bounce", {"reason": text}, None)
        return keep("refused", text)
    contact, account = _contact(session, result, now)
    if account is not None and account.status != "active":
        context = {"status": "suspended" if account.status == "banned" else "refused"}
        _answer(session, composer, now, result, "refusal", context, None)
        return keep("refused", f"the account is {account.status} (RL4, RL9)")
    ticket = _thread(session, result, contact, settings.mail_tag_prefix)
    try:
        if ticket is not None:
            event = ticket_service.add_customer_reply(
                session,
                ticket=ticket,
                contact=contact,
                body=result.reply_text[:BODY_LIMIT],
                data={"message_id": result.message_id, "channel": "email"},
                now=now,
            )
            done = keep("reply", "", ticket.id, event.id)
            _attachments(session, result.attachments, ticket.id, event.id, keep.id, now)
            return done
        ticket = _open(session, result, contact, account, now)
    except InvalidInput as exc:  # the policy cannot take it (no e-mail channel, …)
        return keep("quarantined", f"the policy did not take it: {exc.detail}")
    # The opening message is the ticket's ``received`` event: no event id is kept for it.
    done = keep("ticket", "", ticket.id)
    _attachments(session, result.attachments, ticket.id, None, keep.id, now)
    return done


class _Keeper:
    """Records the message once, with what became of it."""

    def __init__(
        self,
        session: Session,
        raw: bytes,
        source: str,
        now: dt.datetime,
        result: ParsedMessage | Quarantine,
    ) -> None:
        self.session, self.raw, self.source, self.now, self.result = (
            session, raw, source, now, result
        )  # fmt: skip
        self._id: int | None = None

    def __call__(
        self, outcome: str, reason: str, ticket_id: int | None = None, event_id: int | None = None
    ) -> Intake:
        r = self.result
        parsed = isinstance(r, ParsedMessage)
        row = {
            "message_id": r.message_id,
            "synthetic_id": r.message_id_synthetic,
            "source": self.source[:200],
            "received_at": self.now,
            "from_address": (r.from_address or "")[:320],
            "subject": (r.subject or "")[:500],
            "kind": r.kind.value if isinstance(r, ParsedMessage) else "unknown",
            "outcome": outcome,
            "reason": reason,
            "ticket_id": ticket_id,
            "event_id": event_id,
            "raw_sha256": r.raw_sha256,
            "raw_size": r.raw_size,
            "raw": self.raw,
        }
        self._id = self.session.execute(_INSERT_RECORD, row).scalar_one()
        detail = reason if reason or not parsed else outcome
        return Intake(outcome, r.message_id, ticket_id, detail)

    @property
    def id(self) -> int:
        assert self._id is not None
        return self._id


def _contact(
    session: Session, msg: ParsedMessage, now: dt.datetime
) -> tuple[Contact, Account | None]:
    """The sender's contact and its account; an unknown sender becomes a contact of no account
    (an agent can attach it to one). One round trip, which also reads the active policy's
    version for the rest of the transaction."""
    found = session.execute(
        select(Contact, Account, policy_service.ACTIVE_VERSION.scalar_subquery())
        .outerjoin(Account, Account.id == Contact.account_id)
        .where(Contact.email == msg.from_address)
    ).first()
    if found is not None:
        policy_service.note_active_version(session, found[2])
        return found[0], found[1]
    name = msg.from_name.strip() or msg.from_address.split("@")[0]
    contact = Contact(name=name[:200], email=msg.from_address[:320], created_at=now)
    session.add(contact)
    session.flush()
    return contact, None


def _thread(
    session: Session, msg: ParsedMessage, contact: Contact, tag_prefix: str
) -> Ticket | None:
    """The ticket a message answers: by the Message-IDs it names, else by its subject's tag
    when the sender is the ticket's requester or of its account; None for a new ticket."""
    keys = thread_keys(msg)
    if keys:
        found: dict[str, int] = {}
        for table in (MailMessage, OutboxMessage):
            rows = session.execute(
                select(table.message_id, table.ticket_id).where(
                    table.message_id.in_(keys), table.ticket_id.is_not(None)
                )
            )
            for message_id, ticket_id in rows:
                if message_id is not None and ticket_id is not None:
                    found.setdefault(message_id, ticket_id)
        for key in keys:  # In-Reply-To first, then the newest reference
            if key in found:
                return session.get(Ticket, found[key])
    if msg.ticket_number is not None:
        ticket = session.get(Ticket, msg.ticket_number)
        if ticket is not None and (
            ticket.requester_id == contact.id
            or (contact.account_id is not None and ticket.account_id == contact.account_id)
        ):
            return ticket
    return None


def _open(
    session: Session,
    msg: ParsedMessage,
    contact: Contact,
    account: Account | None,
    now: dt.datetime,
) -> Ticket:
    policy = policy_service.active_policy(session)
    subject = (msg.subject.strip() or "(no subject)")[:SUBJECT_LIMIT]
    body = msg.text[:BODY_LIMIT]
    category, fields = _category(policy, subject, body, account, now)
    return ticket_service.create_ticket(
        session,
        data=TicketCreate(
            subject=subject,
            body=body,
            channel="email",
            account_id=contact.account_id,
            requester_id=contact.id,
            category=category,
            custom_fields=fields,
        ),
        actor=Actor(contact=contact),
        now=now,
        require_fields=False,
        received_data={"message_id": msg.message_id, "from": msg.from_address},
    )


def _category(
    policy: Policy, subject: str, body: str, account: Account | None, now: dt.datetime
) -> tuple[str | None, dict[str, str | int]]:
    """The category the policy's rules give a message, and the fields read from it (DL6)."""
    facts = TicketFacts(
        received=now,
        plan=account.plan if account else None,
        channel="email",
        subject=subject,
        body=body,
        contract=account.contract if account else None,
    )
    found = categorize(policy, facts)
    if found is None:
        return None, {}
    fields: dict[str, str | int] = dict(read_fields(policy, found[0], f"{subject}\n{body}"))
    return found[0], fields


def _attachments(
    session: Session,
    files: tuple[ParsedAttachment, ...],
    ticket_id: int,
    event_id: int | None,
    mail_id: int,
    now: dt.datetime,
) -> None:
    if not files:
        return
    session.add_all(
        Attachment(
            ticket_id=ticket_id,
            event_id=event_id,
            mail_message_id=mail_id,
            filename=f.filename[:255],
            content_type=f.content_type[:200],
            size=f.size,
            sha256=f.sha256,
            inline=f.inline,
            content_id=f.content_id[:300] if f.content_id else None,
            created_at=now,
            content=f.content,
        )
        for f in files
    )


def _answer(
    session: Session,
    composer: Composer,
    now: dt.datetime,
    msg: ParsedMessage,
    template: str,
    context: dict[str, str],
    ticket_id: int | None,
) -> None:
    """An automatic answer to the sender (a bounce, the refusal), through the outbox. A null
    return path (``<>``) asks for none."""
    if msg.return_path == "":
        return
    policy = policy_service.active_policy(session)
    subject = reply_subject(msg.subject, ticket_id) if ticket_id else msg.subject
    out = composer.to_customer(
        key=f"mail:{msg.message_id}:{template}",
        template=template,
        context={"subject": subject or "(no subject)", **context},
        address=msg.from_address,
        ticket_id=ticket_id,
        in_reply_to=f"<{msg.message_id}>",
        policy=policy,
    )
    outbox.enqueue(session, [out], now=now)
