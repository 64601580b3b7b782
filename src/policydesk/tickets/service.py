"""Ticket use cases. Every change appends to the event log and recomputes the clocks from it,
in the caller's transaction (services never commit)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.util import identity_key

from policydesk.access import Actor, require_agent, require_role
from policydesk.accounts.models import Account, Contact
from policydesk.agents.models import Agent
from policydesk.audit import service as audit
from policydesk.core.clocks import ClockReport
from policydesk.core.facts import Event, TicketFacts
from policydesk.core.policy import Policy
from policydesk.core.triage import missing_fields
from policydesk.db.engine import take_write_lock
from policydesk.errors import (
    AccountRefused,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    StaleVersion,
)
from policydesk.mail import outbound
from policydesk.notify.compose import Composer
from policydesk.outbox import service as outbox
from policydesk.policies import service as policy_service
from policydesk.policies.models import PolicyVersion
from policydesk.tickets import clocks, ladder
from policydesk.tickets.models import Ticket, TicketEvent
from policydesk.tickets.schemas import EventIn, PolicyMigrationIn, TicketCreate
from policydesk.types import MAX_ID

__all__ = [
    "acknowledge",
    "add_customer_reply",
    "clocks_of",
    "create_ticket",
    "events_of",
    "get_ticket",
    "migrate_policy",
    "missing_of",
    "record_event",
    "take_ticket",
    "timeline_of",
]

#: Sorts after every real deadline: the queue key of a ticket with none pending.
_AGENT_ONLY = {
    "reply",
    "note",
    "call",
    "chat",
    "status",
    "priority",
    "tier",
    "assignee",
    "override",
    "acknowledge",
    "add_customer_reply",
}

_TICKET_KEYS = tuple(p.key for p in Ticket.__mapper__.column_attrs)
_EVENT_KEYS = tuple(p.key for p in TicketEvent.__mapper__.column_attrs)
_TICKETS = Ticket.metadata.tables[Ticket.__tablename__]
_INSERT_TICKET = insert(_TICKETS).returning(*_TICKETS.c)
_INSERT_EVENT = insert(TicketEvent.metadata.tables[TicketEvent.__tablename__])


def create_ticket(
    session: Session,
    *,
    data: TicketCreate,
    actor: Actor,
    now: dt.datetime,
    require_fields: bool = True,
    received_data: Mapping[str, Any] | None = None,
) -> Ticket:
    """Open a ticket under the active policy.

    Raises ``AccountRefused`` for a banned or refused account (with the reason), ``Forbidden``
    when a contact writes for another account, ``InvalidInput`` naming the field at fault.
    A form requires the fields its category needs (DL6); ``require_fields=False`` takes the
    ticket anyway (an e-mail cannot be sent back to be completed: its acknowledgement asks for
    them). ``received_data`` adds to the ``received`` event's data (an e-mail's Message-ID).

    In a ``begin_reads_first`` transaction the ticket is checked and timed before the write
    lock is taken; what that depended on (the active policy, the account's row) is read again
    under the lock, and the ticket drafted again if it changed in between.
    """
    args = (session, data, actor, now, require_fields, received_data)
    ticket, events, premise = _draft(*args)
    if take_write_lock(session):
        current = _premise(session, ticket.account_id)
        if current != premise:  # a ban, a new plan or another policy came in meanwhile
            policy_service.note_active_version(session, current[0])
            ticket, events, _ = _draft(*args)
    return _insert_new(session, ticket, events)


def _draft(
    session: Session,
    data: TicketCreate,
    actor: Actor,
    now: dt.datetime,
    require_fields: bool,
    received_data: Mapping[str, Any] | None,
) -> tuple[Ticket, list[TicketEvent], tuple[str, _Served | None]]:
    """A new ticket checked and timed, not stored; its events; and its premise (the policy
    version and the account's row it was drafted from)."""
    policy = policy_service.active_policy(session)
    account_id, requester_id = data.account_id, data.requester_id
    if actor.contact is not None:
        # A contact always writes as itself, for its own account.
        if account_id not in (None, actor.contact.account_id):
            raise Forbidden("a contact can open tickets only for its own account")
        account_id, requester_id = actor.contact.account_id, actor.contact.id
    account = _account(session, account_id)
    if requester_id is not None and session.get(Contact, requester_id) is None:
        raise InvalidInput(f"no contact {requester_id}", field="requester_id")
    if account is not None and account.status != "active":
        reason = account.status_reason or "no reason recorded"
        raise AccountRefused(f"support for this account is {account.status}: {reason}")
    received = data.received_at or now
    if received > now + dt.timedelta(minutes=5):
        raise InvalidInput("received_at is in the future", field="received_at")
    if data.channel not in policy.doc.channels:
        options = ", ".join(policy.doc.channels)
        raise InvalidInput(f"channel {data.channel!r} is not one of: {options}", field="channel")
    _check_category(policy, data, require_fields)
    if data.priority is not None and data.priority not in policy.priority_names:
        options = ", ".join(p.name for p in policy.doc.priorities)
        raise InvalidInput(f"priority {data.priority!r} is not one of: {options}", field="priority")
    ticket = Ticket(
        account_id=account_id,
        requester_id=requester_id,
        subject=data.subject,
        body=data.body,
        channel=data.channel,
        category=data.category,
        priority=policy.doc.default_priority,
        priority_rank=policy.priority_rank(policy.doc.default_priority),
        status="new",
        tier=_first_tier(policy, data.category),
        policy_version=policy.version,
        custom_fields=dict(data.custom_fields),
        received_at=received,
        updated_at=now,
        queue_deadline=clocks.NO_DEADLINE,
        open_work=True,
        version=1,
    )
    actor_agent = actor.agent.id if actor.agent else None
    new_events = [
        TicketEvent(
            at=received,
            type="received",
            agent_id=actor_agent,
            contact_id=requester_id,
            body=data.body,
            data={"channel": data.channel, **(received_data or {})},
        )
    ]
    if data.priority is not None:
        # A priority chosen at intake is an agent's (or the requester's) choice, kept over triage.
        new_events.append(
            TicketEvent(
                at=received, type="priority", agent_id=actor_agent, data={"priority": data.priority}
            )
        )
    clocks.recompute(session, ticket, policy, account, now, new_events)
    return ticket, new_events, (policy.version, account)


def _premise(session: Session, account_id: int | None) -> tuple[str | None, _Served | None]:
    """The active policy version and the account's row, as they are now (one query)."""
    if account_id is None:
        return session.scalar(policy_service.ACTIVE_VERSION), None
    row = session.execute(_PREMISE, {"id": account_id}).first()
    if row is None:
        return session.scalar(policy_service.ACTIVE_VERSION), None
    return row[0], _Served(*row[1:])


def _insert_new(session: Session, ticket: Ticket, events: Sequence[TicketEvent]) -> Ticket:
    """Store a new ticket and its first events with prepared INSERTs; the ticket then
    holds the stored row (``RETURNING`` every column) and is in the session as if read.

    A flush would do the same with the unit of work's bookkeeping, which costs more than
    the rest of intake together; the change set here is known in advance."""
    state = ticket.__dict__
    stored = session.execute(_INSERT_TICKET, {k: state[k] for k in _TICKET_KEYS if k in state})
    for key, value in stored.one()._mapping.items():
        set_committed_value(ticket, key, value)
    make_transient_to_detached(ticket)
    session.add(ticket)
    for event in events:  # one at a time: each may leave other columns to their defaults
        row = {k: event.__dict__[k] for k in _EVENT_KEYS if k in event.__dict__}
        session.execute(_INSERT_EVENT, {**row, "ticket_id": ticket.id})
    return ticket


def migrate_policy(
    session: Session,
    *,
    ticket_id: int,
    expected_version: int,
    data: PolicyMigrationIn,
    actor: Actor,
    now: dt.datetime,
) -> Ticket:
    """Run a ticket under another stored policy version from now on (admins); its clocks are
    recomputed from its whole log under that version, and the move is logged and audited."""
    admin = require_role(actor, "admin")
    ticket = get_ticket(session, ticket_id=ticket_id, actor=actor)
    _check_version(ticket, expected_version)
    row = session.get(PolicyVersion, data.version)
    if row is None:
        raise InvalidInput(f"policy version {data.version} is not stored", field="version")
    # Read before the ticket changes: a query after it would autoflush the guarded UPDATE
    # outside _flush_update, and a concurrent change would surface as a 500, not a 412.
    account = _account(session, ticket.account_id)
    previous = ticket.policy_version
    ticket.policy_version = row.version
    ticket.version = expected_version + 1
    ticket.updated_at = now
    event = TicketEvent(
        ticket_id=ticket.id,
        at=now,
        type="policy",
        agent_id=admin.id,
        data={"from": previous, "to": row.version, "reason": data.reason},
    )
    clocks.recompute(session, ticket, policy_service.compiled(row), account, now, [event])
    session.add(event)
    audit.record(
        session,
        agent=admin,
        action="ticket.policy",
        target=f"ticket:{ticket.id}",
        detail={"from": previous, "to": row.version, "reason": data.reason},
        now=now,
    )
    _flush_update(session, ticket_id)
    return ticket


def _first_tier(policy: Policy, category: str | None) -> str:
    """Where a new ticket starts: its category's tier (RS3), else the bottom of the ladder."""
    model = policy.doc.categories.get(category or "")
    if model is not None and model.tier is not None:
        return model.tier
    ladder = policy.doc.escalation
    return ladder.tiers[0] if ladder is not None else "L1"


def add_customer_reply(
    session: Session,
    *,
    ticket: Ticket,
    contact: Contact | None,
    body: str,
    data: dict[str, Any],
    now: dt.datetime,
) -> TicketEvent:
    """A customer's message joins its ticket (an e-mail reply). It needs no If-Match: it takes
    the ticket as it is. A resolved ticket the customer writes to again is open again."""
    event = TicketEvent(
        ticket_id=ticket.id,
        at=now,
        type="customer_reply",
        contact_id=contact.id if contact else None,
        body=body,
        data=data,
    )
    events = [event]
    if ticket.status == "resolved":
        reopen = {"status": "open", "reason": "the customer wrote again"}
        events.append(TicketEvent(ticket_id=ticket.id, at=now, type="status", data=reopen))
    _change(session, ticket, ticket.version, now, events)
    return event


def _check_version(ticket: Ticket, expected: int) -> None:
    if ticket.version != expected:
        raise StaleVersion(f"ticket {ticket.id} is at version {ticket.version}, not {expected}")


def _flush_update(session: Session, ticket_id: int) -> None:
    """Write the change: one UPDATE … WHERE version = <the version read>, so a concurrent
    change makes it fail rather than be overwritten."""
    try:
        session.flush()
    except StaleDataError:
        raise StaleVersion(f"ticket {ticket_id} was changed by someone else meanwhile") from None


def _check_category(policy: Policy, data: TicketCreate, require_fields: bool) -> None:
    """A category the policy knows, with the fields it requires (DL6)."""
    categories = policy.doc.categories
    if data.category is None or not categories:
        return
    category = categories.get(data.category)
    if category is None:
        options = ", ".join(categories)
        raise InvalidInput(f"category must be one of: {options}", field="category")
    for name in category.required_fields if require_fields else ():
        value = data.custom_fields.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            cite = f" ({category.cite})" if category.cite else ""
            raise InvalidInput(
                f"a {data.category} ticket needs {name}{cite}", field=f"custom_fields.{name}"
            )


def record_event(
    session: Session,
    *,
    ticket_id: int,
    expected_version: int,
    data: EventIn,
    actor: Actor,
    now: dt.datetime,
    composer: Composer,
) -> Ticket:
    """Append one change to a ticket whose version is still ``expected_version``. A public
    reply is mailed to the requester (queued in the outbox, in this transaction).

    Raises ``StaleVersion`` when someone changed the ticket since (also when it happens
    concurrently, at flush), ``Forbidden``, ``NotFound`` and ``InvalidInput``.
    """
    ticket = get_ticket(session, ticket_id=ticket_id, actor=actor)
    _check_version(ticket, expected_version)
    if actor.contact is not None and data.type != "customer_reply":
        raise Forbidden("a contact can only reply to its tickets")
    if data.type in _AGENT_ONLY:
        require_agent(actor)
    policy = policy_service.compiled(_version_row(session, ticket.policy_version))
    account = _account(session, ticket.account_id)  # before the ticket changes: migrate_policy
    facts, events = clocks.facts_and_events(session, ticket, account, ())
    if data.type == "tier" and data.tier is not None and data.tier != ticket.tier:
        payload = ladder.escalate(session, policy=policy, ticket=ticket, events=events, data=data)
    else:
        payload = _payload(session, policy, ticket, data)
    event = TicketEvent(
        ticket_id=ticket.id,
        at=now,
        type=data.type,
        agent_id=actor.agent.id if actor.agent else None,
        contact_id=actor.contact.id if actor.contact else None,
        body=data.body,
        data=payload,
    )
    if data.type == "tier":
        ticket.tier = payload["tier"]
        if payload.get("named_agent_id") is not None:  # RS5: straight to the named agent
            ticket.assignee_id = payload["named_agent_id"]
    elif data.type == "assignee":
        ticket.assignee_id = payload["assignee_id"]
    ticket.updated_at = now
    ticket.version = expected_version + 1
    clocks.refresh(ticket, policy, facts, [*events, *clocks.core_events([event])], now)
    mail = None
    if data.type == "reply":
        key = f"t{ticket.id}:reply:v{ticket.version}"
        mail = outbound.reply_mail(session, composer=composer, policy=policy, ticket=ticket,
                                   body=data.body, key=key, agent=actor.agent)  # fmt: skip
        if mail is not None:
            event.data = {**payload, "mailed_to": mail.recipient,
                          "message_id": mail.data["message_id"].strip("<>")}  # fmt: skip
    session.add(event)
    if data.type == "override":
        audit.record(
            session,
            agent=actor.agent,
            action="ticket.override",
            target=f"ticket:{ticket.id}",
            detail={"reason": data.reason},
            now=now,
        )
    _flush_update(session, ticket_id)
    if mail is not None:
        outbox.enqueue(session, [mail], now=now)
    return ticket


def take_ticket(session: Session, *, ticket_id: int, actor: Actor, now: dt.datetime) -> Ticket:
    """Assign an unassigned ticket to the acting agent: the first to take a broadcast ticket gets
    it (DL5). Taking also acknowledges the ticket's emergency pages. Raises ``Conflict`` when
    someone has taken it already (also when it happens at the same moment)."""
    agent = require_agent(actor)
    ticket = get_ticket(session, ticket_id=ticket_id, actor=actor)
    if ticket.assignee_id is not None:
        owner = session.get(Agent, ticket.assignee_id)
        name = owner.name if owner else f"agent {ticket.assignee_id}"
        raise Conflict(f"ticket {ticket.id} was taken by {name} already")
    taken = TicketEvent(
        ticket_id=ticket.id,
        at=now,
        type="assignee",
        agent_id=agent.id,
        data={"assignee_id": agent.id, "from": None, "taken": True},
    )
    ack = TicketEvent(ticket_id=ticket.id, at=now, type="acknowledge", agent_id=agent.id)
    ticket.assignee_id = agent.id
    try:
        _change(session, ticket, ticket.version, now, [taken, ack])
    except StaleVersion:
        raise Conflict(f"ticket {ticket.id} was taken by someone else at the same moment") from None
    return ticket


def acknowledge(session: Session, *, ticket_id: int, actor: Actor, now: dt.datetime) -> Ticket:
    """An agent has seen the ticket's emergency: its pages stop (RS6, EC6)."""
    agent = require_agent(actor)
    ticket = get_ticket(session, ticket_id=ticket_id, actor=actor)
    ack = TicketEvent(ticket_id=ticket.id, at=now, type="acknowledge", agent_id=agent.id)
    _change(session, ticket, ticket.version, now, [ack])
    return ticket


def _change(
    session: Session, ticket: Ticket, read: int, now: dt.datetime, events: list[TicketEvent]
) -> None:
    """Append ``events`` to a ticket read at version ``read``, with its clocks recomputed, in
    one guarded update."""
    row = _version_row(session, ticket.policy_version)
    account = _account(session, ticket.account_id)
    facts, core = clocks.facts_and_events(session, ticket, account, ())
    ticket.version = read + 1
    ticket.updated_at = now
    clocks.refresh(
        ticket, policy_service.compiled(row), facts, [*core, *clocks.core_events(events)], now
    )
    session.add_all(events)
    _flush_update(session, ticket.id)


def _payload(session: Session, policy: Policy, ticket: Ticket, data: EventIn) -> dict[str, Any]:
    if data.type == "status":
        if data.status is None:
            raise InvalidInput("a status change needs `status`", field="status")
        return {"status": data.status}
    if data.type == "priority":
        if data.priority not in policy.priority_names:
            options = ", ".join(p.name for p in policy.doc.priorities)
            raise InvalidInput(f"priority must be one of: {options}", field="priority")
        return {"priority": data.priority, "reason": data.reason}
    if data.type == "tier":
        if data.tier is None:
            raise InvalidInput("a tier change needs `tier`", field="tier")
        return {"tier": data.tier, "from": ticket.tier, "reason": data.reason}
    if data.type == "assignee":
        if data.assignee_id is not None and session.get(Agent, data.assignee_id) is None:
            raise InvalidInput(f"no agent {data.assignee_id}", field="assignee_id")
        return {"assignee_id": data.assignee_id, "from": ticket.assignee_id}
    if data.type == "override":
        # RL8: staff may depart from policy for a client's benefit, in writing.
        if not data.reason.strip():
            raise InvalidInput("an override needs a written reason (RL8)", field="reason")
        return {"reason": data.reason}
    if data.type in ("reply", "customer_reply", "note") and not data.body.strip():
        raise InvalidInput(f"a {data.type} needs a body", field="body")
    if data.suggestion:
        if data.type != "reply":
            raise InvalidInput("only a reply can be a suggestion (RS4)", field="suggestion")
        return {"suggestion": True, "at_tier": ticket.tier}
    return {}


def get_ticket(session: Session, *, ticket_id: int, actor: Actor) -> Ticket:
    """The ticket, if ``actor`` may see it; a contact gets ``NotFound`` for any other account's
    ticket, so that its existence is not leaked either (RL3)."""
    ticket = session.get(Ticket, ticket_id) if -MAX_ID - 1 <= ticket_id <= MAX_ID else None
    if ticket is None or not actor.sees_account(ticket.account_id):
        raise NotFound(f"no ticket {ticket_id}")
    return ticket


def events_of(session: Session, ticket: Ticket, actor: Actor) -> Sequence[TicketEvent]:
    """The ticket's log; contacts do not see internal notes."""
    query = select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
    if not actor.is_agent:
        query = query.where(TicketEvent.type != "note")
    return session.scalars(query.order_by(TicketEvent.at, TicketEvent.id)).all()


def missing_of(session: Session, ticket: Ticket) -> list[str]:
    """The fields the ticket's category needs that it lacks (DL6)."""
    policy = policy_service.compiled(_version_row(session, ticket.policy_version))
    return missing_fields(policy, ticket.category, ticket.custom_fields or {})


def clocks_of(session: Session, ticket: Ticket, now: dt.datetime) -> ClockReport:
    """The ticket's clocks as of ``now`` (remaining time and breaches move with time)."""
    policy = policy_service.compiled(_version_row(session, ticket.policy_version))
    return clocks.evaluate_ticket(
        session, ticket, policy, _account(session, ticket.account_id), now
    )


@dataclass(frozen=True, slots=True)
class _Served:
    """What tickets read of their account: whether it is served, and its terms."""

    status: str
    status_reason: str | None
    plan: str | None
    contract: str | None
    attributes: dict[str, Any]


_ACCOUNTS = Account.metadata.tables[Account.__tablename__]
# Columns, not the mapped Account: every intake reads this, and a row costs a quarter of an
# entity (no identity map, no instance state).
_SERVED_COLUMNS = tuple(_ACCOUNTS.c[f.name] for f in fields(_Served))
_SERVED = select(*_SERVED_COLUMNS).where(_ACCOUNTS.c.id == bindparam("id"))
_PREMISE = select(policy_service.ACTIVE_VERSION.scalar_subquery(), *_SERVED_COLUMNS).where(
    _ACCOUNTS.c.id == bindparam("id")
)


def _account(session: Session, account_id: int | None) -> _Served | None:
    if account_id is None:
        return None
    # As Session.get: the session's own Account if it has one (with any change it has not
    # flushed), and no flush (a ticket's pending change is flushed by its guarded update).
    known = session.identity_map.get(identity_key(Account, account_id))
    if isinstance(known, Account):
        return _Served(*(getattr(known, f.name) for f in fields(_Served)))
    with session.no_autoflush:
        row = session.execute(_SERVED, {"id": account_id}).first()
    if row is None:
        raise InvalidInput(f"no account {account_id}", field="account_id")
    return _Served(*row)


def _version_row(session: Session, version: str) -> PolicyVersion:
    row = session.get(PolicyVersion, version)
    if row is None:  # pragma: no cover - a foreign key makes this impossible
        raise NotFound(f"policy version {version} is not stored")
    return row


def timeline_of(session: Session, ticket: Ticket) -> tuple[TicketFacts, list[Event]]:
    """The ticket as the core sees it: its facts and its clock-relevant events."""
    return clocks.facts_and_events(session, ticket, _account(session, ticket.account_id), ())
