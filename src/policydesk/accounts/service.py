"""Accounts and contacts: who the clients are, who speaks for them (EC3), whether they get
support at all (RL4, RL9), and who may learn what they pay (RL1).

Who may do what is checked here, where the rule lives: agents read everything, admins change
accounts and contacts, leads ban and refuse, and a contact sees only its own account, without
billing data unless its identity was verified. Services never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from policydesk.access import Actor, require_agent, require_role
from policydesk.accounts.models import Account, Contact
from policydesk.accounts.schemas import AccountCreate, AccountUpdate, ContactCreate, ContactUpdate
from policydesk.agents.security import hash_password
from policydesk.audit import service as audit
from policydesk.errors import Conflict, Forbidden, InvalidInput, NotFound
from policydesk.policies import service as policy_service
from policydesk.tickets.models import Ticket

__all__ = [
    "Billing",
    "ban_account",
    "create_account",
    "create_contact",
    "disclose_billing",
    "get_account",
    "get_contact",
    "list_accounts",
    "list_contacts",
    "refuse_account",
    "reinstate_account",
    "update_account",
    "update_contact",
]

_Row = TypeVar("_Row", Account, Contact)


# ----- accounts ---------------------------------------------------------------------------------


def list_accounts(
    session: Session,
    *,
    actor: Actor,
    status: str | None = None,
    after: int | None = None,
    limit: int = 50,
) -> tuple[Sequence[Account], int | None]:
    """A page of accounts by id, after the id ``after``; a contact gets only its own (RL3)."""
    query = select(Account)
    if actor.contact is not None:
        if actor.contact.account_id is None:
            return [], None
        query = query.where(Account.id == actor.contact.account_id)
    else:
        require_agent(actor)
    if status is not None:
        query = query.where(Account.status == status)
    return _page(session, query, Account.id, after, limit)


def get_account(session: Session, *, account_id: int, actor: Actor) -> Account:
    """The account, if ``actor`` may see it. A contact asking for another account gets
    ``NotFound``, the same as for one that does not exist, so that nothing leaks (RL3)."""
    account = session.get(Account, account_id)
    if account is None or not actor.sees_account(account.id):
        raise NotFound(f"no account {account_id}")
    return account


def create_account(
    session: Session, *, data: AccountCreate, actor: Actor, now: dt.datetime
) -> Account:
    """A new, active account (admins). Raises ``InvalidInput`` for a plan or contract the
    active policy does not have."""
    admin = require_role(actor, "admin")
    _check_policy_names(session, plan=data.plan, contract=data.contract)
    account = Account(
        name=data.name,
        plan=data.plan,
        contract=data.contract,
        attributes=dict(data.attributes),
        status="active",
        created_at=now,
    )
    session.add(account)
    session.flush()
    audit.record(
        session,
        agent=admin,
        action="account.create",
        target=f"account:{account.id}",
        now=now,
        detail={"name": account.name, "plan": account.plan},
    )
    return account


def update_account(
    session: Session, *, account_id: int, data: AccountUpdate, actor: Actor, now: dt.datetime
) -> Account:
    """Change the fields given in ``data`` (admins).

    The primary and backup contacts (EC3) must be two different contacts of this account.
    Raises ``InvalidInput`` naming the field at fault, ``NotFound`` and ``Forbidden``.
    """
    admin = require_role(actor, "admin")
    account = get_account(session, account_id=account_id, actor=actor)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    _check_policy_names(session, plan=changes.get("plan"), contract=changes.get("contract"))
    for field in ("primary_contact_id", "backup_contact_id"):
        if changes.get(field) is not None:
            _check_member(session, account, changes[field], field)
    primary = changes.get("primary_contact_id", account.primary_contact_id)
    backup = changes.get("backup_contact_id", account.backup_contact_id)
    if primary is not None and primary == backup:
        field = "backup_contact_id" if "backup_contact_id" in changes else "primary_contact_id"
        raise InvalidInput(
            f"contact {primary} cannot be both the primary and the backup contact (EC3)",
            field=field,
        )
    for name, value in changes.items():
        setattr(account, name, value)
    session.flush()
    audit.record(
        session,
        agent=admin,
        action="account.update",
        target=f"account:{account.id}",
        now=now,
        detail={"changes": changes},
    )
    return account


def ban_account(
    session: Session, *, account_id: int, reason: str, actor: Actor, now: dt.datetime
) -> Account:
    """Ban an abusive account from support (RL4; leads). New tickets are refused with
    ``reason``. Raises ``Conflict`` if it is banned already."""
    return _set_status(session, account_id, "banned", reason, actor, now)


def refuse_account(
    session: Session, *, account_id: int, reason: str, actor: Actor, now: dt.datetime
) -> Account:
    """Refuse service to a phisher, spammer or scammer (RL9; leads). Raises ``Conflict`` if
    service is refused already."""
    return _set_status(session, account_id, "refused", reason, actor, now)


def reinstate_account(
    session: Session, *, account_id: int, reason: str, actor: Actor, now: dt.datetime
) -> Account:
    """Give a banned or refused account support again (leads). Raises ``Conflict`` for an
    active account."""
    return _set_status(session, account_id, "active", reason, actor, now)


_ACTIONS = {"banned": "account.ban", "refused": "account.refuse", "active": "account.reinstate"}


def _set_status(
    session: Session, account_id: int, status: str, reason: str, actor: Actor, now: dt.datetime
) -> Account:
    lead = require_role(actor, "lead")
    account = get_account(session, account_id=account_id, actor=actor)
    if account.status == status:
        if status == "active":
            raise Conflict(f"account {account.id} is active; there is nothing to reinstate")
        since = f", since {account.status_at:%Y-%m-%d}" if account.status_at else ""
        reason_then = account.status_reason or "no reason recorded"
        raise Conflict(f"account {account.id} is {status} already{since}: {reason_then}")
    previous = account.status
    account.status = status
    account.status_reason = reason
    account.status_by_agent_id = lead.id
    account.status_at = now
    session.flush()
    audit.record(
        session,
        agent=lead,
        action=_ACTIONS[status],
        target=f"account:{account.id}",
        now=now,
        detail={"from": previous, "to": status, "reason": reason},
    )
    return account


@dataclass(frozen=True, slots=True)
class Billing:
    """What is known of an account's billing: its plan and contract, and its tickets (there is
    no billing ledger yet)."""

    account: Account
    ticket_count: int
    open_ticket_count: int


def disclose_billing(
    session: Session, *, account_id: int, actor: Actor, now: dt.datetime
) -> Billing:
    """Billing and revenue information about an account, for agents and for a contact of that
    account whose identity was verified (RL1). Every release is audited (``billing.disclose``).

    Raises ``NotFound`` to a contact of another account (RL3), ``Forbidden`` to an unverified
    contact of this one.
    """
    account = get_account(session, account_id=account_id, actor=actor)
    detail: dict[str, Any] = {}
    if actor.contact is not None:
        verified = actor.contact.identity_verified_at
        if verified is None:
            raise Forbidden(
                "billing information is released to a contact only once its identity has been "
                "verified (RL1); ask support to verify it"
            )
        detail["identity_verified_at"] = verified.isoformat()
    total, still_open = session.execute(
        select(
            func.count(Ticket.id),
            func.coalesce(func.sum(case((Ticket.open_work, 1), else_=0)), 0),
        ).where(Ticket.account_id == account.id)
    ).one()
    audit.record(
        session,
        agent=actor.agent,
        contact=actor.contact,
        action="billing.disclose",
        target=f"account:{account.id}",
        now=now,
        detail=detail,
    )
    return Billing(account, int(total), int(still_open))


def _check_policy_names(session: Session, *, plan: str | None, contract: str | None) -> None:
    if plan is None and contract is None:
        return
    policy = policy_service.compiled(policy_service.active_version(session))
    for field, name, known in (
        ("plan", plan, policy.doc.plans),
        ("contract", contract, policy.doc.contracts),
    ):
        if name is not None and name not in known:
            options = ", ".join(known) or "none"
            raise InvalidInput(
                f"{field} {name!r} is not a {field} of the active policy ({options})",
                field=field,
            )


def _check_member(session: Session, account: Account, contact_id: int, field: str) -> None:
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise InvalidInput(f"no contact {contact_id}", field=field)
    if contact.account_id != account.id:
        raise InvalidInput(
            f"contact {contact_id} is not a contact of account {account.id}", field=field
        )


# ----- contacts ---------------------------------------------------------------------------------


def list_contacts(
    session: Session,
    *,
    actor: Actor,
    account_id: int | None = None,
    email: str | None = None,
    after: int | None = None,
    limit: int = 50,
) -> tuple[Sequence[Contact], int | None]:
    """A page of contacts by id (agents), of one account or with one e-mail if asked."""
    require_agent(actor)
    query = select(Contact)
    if account_id is not None:
        query = query.where(Contact.account_id == account_id)
    if email is not None:
        query = query.where(Contact.email == email.strip().lower())
    return _page(session, query, Contact.id, after, limit)


def get_contact(session: Session, *, contact_id: int, actor: Actor) -> Contact:
    require_agent(actor)
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(f"no contact {contact_id}")
    return contact


def create_contact(
    session: Session, *, data: ContactCreate, actor: Actor, now: dt.datetime
) -> Contact:
    """A new contact (admins). Raises ``InvalidInput`` for an e-mail another contact has, an
    account that does not exist or an identity verified in the future."""
    admin = require_role(actor, "admin")
    _check_account(session, data.account_id)
    _check_verified_at(data.identity_verified_at, now)
    _check_email_free(session, data.email)
    contact = Contact(
        name=data.name,
        email=data.email,
        phone=data.phone,
        account_id=data.account_id,
        trained=data.trained,
        identity_verified_at=data.identity_verified_at,
        password_hash=hash_password(data.password) if data.password else None,
        created_at=now,
    )
    session.add(contact)
    _flush_unique_email(session, data.email)
    audit.record(
        session,
        agent=admin,
        action="contact.create",
        target=f"contact:{contact.id}",
        now=now,
        detail={"account_id": contact.account_id},
    )
    return contact


def update_contact(
    session: Session, *, contact_id: int, data: ContactUpdate, actor: Actor, now: dt.datetime
) -> Contact:
    """Change the fields given in ``data`` (admins). A contact named as its account's primary
    or backup contact (EC3) cannot move to another account until someone else is named."""
    admin = require_role(actor, "admin")
    contact = get_contact(session, contact_id=contact_id, actor=actor)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    if "account_id" in changes and changes["account_id"] != contact.account_id:
        _check_account(session, changes["account_id"])
        _check_not_named(session, contact)
    if "identity_verified_at" in changes:
        _check_verified_at(changes["identity_verified_at"], now)
    if "email" in changes and changes["email"] != contact.email:
        _check_email_free(session, changes["email"])
    password = changes.pop("password", None)
    if password is not None:
        contact.password_hash = hash_password(password)
    for name, value in changes.items():
        setattr(contact, name, value)
    _flush_unique_email(session, contact.email)
    changed = sorted([*changes, *(["password"] if password else [])])
    audit.record(
        session,
        agent=admin,
        action="contact.update",
        target=f"contact:{contact.id}",
        now=now,
        detail={"changed": changed},
    )
    return contact


def _check_account(session: Session, account_id: int | None) -> None:
    if account_id is not None and session.get(Account, account_id) is None:
        raise InvalidInput(f"no account {account_id}", field="account_id")


def _check_verified_at(when: dt.datetime | None, now: dt.datetime) -> None:
    if when is not None and when > now + dt.timedelta(minutes=5):
        raise InvalidInput("identity_verified_at is in the future", field="identity_verified_at")


def _check_email_free(session: Session, email: str) -> None:
    if session.scalars(select(Contact.id).where(Contact.email == email)).first() is not None:
        raise InvalidInput(f"a contact with e-mail {email} exists", field="email")


def _flush_unique_email(session: Session, email: str) -> None:
    """Flush; a concurrent insert of the same e-mail is reported as the check above would."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise InvalidInput(f"a contact with e-mail {email} exists", field="email") from None


def _check_not_named(session: Session, contact: Contact) -> None:
    if contact.account_id is None:
        return
    account = session.get(Account, contact.account_id)
    if account is None:  # pragma: no cover - a foreign key makes this impossible
        return
    for field, role in (("primary_contact_id", "primary"), ("backup_contact_id", "backup")):
        if getattr(account, field) == contact.id:
            raise InvalidInput(
                f"contact {contact.id} is the {role} contact of account {account.id}; "
                "name another one there first (EC3)",
                field="account_id",
            )


def _page(
    session: Session,
    query: Select[_Row],
    key: InstrumentedAttribute[int],
    after: int | None,
    limit: int,
) -> tuple[Sequence[_Row], int | None]:
    if after is not None:
        query = query.where(key > after)
    rows = session.scalars(query.order_by(key).limit(limit + 1)).all()
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, rows[-1].id
    return rows, None
