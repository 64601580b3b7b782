"""Account and contact routes: parse, call one service function, render."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from policydesk.access import Actor
from policydesk.accounts import service as account_service
from policydesk.accounts.models import Account
from policydesk.accounts.schemas import (
    AccountCreate,
    AccountOut,
    AccountPage,
    AccountStatus,
    AccountSummary,
    AccountUpdate,
    BillingOut,
    ContactCreate,
    ContactOut,
    ContactPage,
    ContactUpdate,
    StatusChangeIn,
)
from policydesk.types import MAX_ID
from policydesk.web.context import actor_of, unit
from policydesk.web.params import IdFilter, PathId

router = APIRouter(prefix="/api/v1")

AccountId = PathId
ContactId = PathId
After = Annotated[int | None, Query(ge=0, le=MAX_ID, description="The last id of the page before.")]
Limit = Annotated[int, Query(ge=1, le=200)]


def _view(actor: Actor, account: Account) -> AccountOut | AccountSummary:
    """Staff see the whole account; a contact sees its own without billing data."""
    if actor.is_agent:
        return AccountOut.model_validate(account)
    return AccountSummary.model_validate(account)


# ----- accounts ---------------------------------------------------------------------------------


@router.get("/accounts", response_model=AccountPage, tags=["accounts"])
def list_accounts(
    request: Request,
    status: AccountStatus | None = None,
    after: After = None,
    limit: Limit = 50,
) -> AccountPage:
    """Accounts by id. Agents see every account; a contact only its own, without billing
    data (RL3)."""
    with unit(request, read_only=True) as (session, now):
        actor = actor_of(session, request, now)
        rows, nxt = account_service.list_accounts(
            session, actor=actor, status=status, after=after, limit=limit
        )
        return AccountPage(items=[_view(actor, a) for a in rows], next_after=nxt)


@router.post("/accounts", status_code=201, response_model=AccountOut, tags=["accounts"])
def create_account(data: AccountCreate, request: Request, response: Response) -> AccountOut:
    """A new account (admins); its plan and contract must be the active policy's."""
    with unit(request) as (session, now):
        actor = actor_of(session, request, now)
        account = account_service.create_account(session, data=data, actor=actor, now=now)
        out = AccountOut.model_validate(account)
    response.headers["Location"] = f"/api/v1/accounts/{out.id}"
    return out


@router.get("/accounts/{account_id}", response_model=AccountOut | AccountSummary, tags=["accounts"])
def get_account(account_id: AccountId, request: Request) -> AccountOut | AccountSummary:
    """One account: the whole of it for agents, the summary of its own for a contact."""
    with unit(request, read_only=True) as (session, now):
        actor = actor_of(session, request, now)
        account = account_service.get_account(session, account_id=account_id, actor=actor)
        return _view(actor, account)


@router.patch("/accounts/{account_id}", response_model=AccountOut, tags=["accounts"])
def update_account(account_id: AccountId, data: AccountUpdate, request: Request) -> AccountOut:
    """Change an account's name, plan, contract, attributes or its primary and backup
    contacts (EC3); admins."""
    with unit(request) as (session, now):
        actor = actor_of(session, request, now)
        account = account_service.update_account(
            session, account_id=account_id, data=data, actor=actor, now=now
        )
        return AccountOut.model_validate(account)


@router.post("/accounts/{account_id}/ban", response_model=AccountOut, tags=["accounts"])
def ban_account(account_id: AccountId, data: StatusChangeIn, request: Request) -> AccountOut:
    """Ban an abusive account from support (RL4): leads only, with a reason, audited."""
    with unit(request) as (session, now):
        actor = actor_of(session, request, now)
        account = account_service.ban_account(
            session, account_id=account_id, reason=data.reason, actor=actor, now=now
        )
        return AccountOut.model_validate(account)


@router.post("/accounts/{account_id}/refuse", response_model=AccountOut, tags=["accounts"])
def refuse_account(account_id: AccountId, data: StatusChangeIn, request: Request) -> AccountOut:
    """Refuse service to a phisher, spammer or scammer (RL9): leads only, with a reason,
    audited."""
    with unit(request) as (session, now):
        actor = actor_of(session, request, now)
        account = account_service.refuse_account(
            session, account_id=account_id, reason=data.reason, actor=actor, now=now
        )
        return AccountOut.model_validate(account)


@router.post("/accounts/{account_id}/reinstate", response_model=AccountOut, tags=["accounts"])
def reinstate_account(account_id: AccountId, data: StatusChangeIn, request: Request) -> AccountOut:
    """Support a banned or refused account again: leads only, with a reason, audited."""
    with unit(request) as (session, now):
        actor = actor_of(session, request, now)
        account = account_service.reinstate_account(
            session, account_id=account_id, reason=data.reason, actor=actor, now=now
        )
        return AccountOut.model_validate(account)


@router.get("/accounts/{account_id}/billing", response_model=BillingOut, tags=["accounts"])
def get_billing(account_id: AccountId, request: Request) -> BillingOut:
    """Billing and revenue information (RL1): for agents, and for a contact of the account
    whose identity was verified. Every release is audited."""
    with unit(request) as (session, now):
        actor = actor_of(session, request, now)
        billing = account_service.disclose_billing(
            session, account_id=account_id, actor=actor, now=now
        )
        account = billing.account
        return BillingOut(
            account_id=account.id,
            plan=account.plan,
            contract=account.contract,
            attributes=dict(account.attributes),
            ticket_count=billing.ticket_count,
            open_ticket_count=billing.open_ticket_count,
        )


# ----- contacts ---------------------------------------------------------------------------------


@router.get("/contacts", response_model=ContactPage, tags=["contacts"])
def list_contacts(
    request: Request,
    account_id: IdFilter = None,
    email: Annotated[str | None, Query(max_length=320)] = None,
    after: After = None,
    limit: Limit = 50,
) -> ContactPage:
    """Contacts by id (agents), of one account or with one e-mail address if asked."""
    with unit(request, read_only=True) as (session, now):
        actor = actor_of(session, request, now)
        rows, nxt = account_service.list_contacts(
            session, actor=actor, account_id=account_id, email=email, after=after, limit=limit
        )
        return ContactPage(items=[ContactOut.model_validate(c) for c in rows], next_after=nxt)


@router.post("/contacts", status_code=201, response_model=ContactOut, tags=["contacts"])
def create_contact(data: ContactCreate, request: Request, response: Response) -> ContactOut:
    """A new contact (admins); its e-mail address is unique and stored lower-cased."""
    with unit(request) as (session, now):
        actor = actor_of(session, request, now)
        contact = account_service.create_contact(session, data=data, actor=actor, now=now)
        out = ContactOut.model_validate(contact)
    response.headers["Location"] = f"/api/v1/contacts/{out.id}"
    return out


@router.get("/contacts/{contact_id}", response_model=ContactOut, tags=["contacts"])
def get_contact(contact_id: ContactId, request: Request) -> ContactOut:
    with unit(request, read_only=True) as (session, now):
        actor = actor_of(session, request, now)
        contact = account_service.get_contact(session, contact_id=contact_id, actor=actor)
        return ContactOut.model_validate(contact)


@router.patch("/contacts/{contact_id}", response_model=ContactOut, tags=["contacts"])
def update_contact(contact_id: ContactId, data: ContactUpdate, request: Request) -> ContactOut:
    """Change a contact (admins), e.g. record that its identity was verified (RL1)."""
    with unit(request) as (session, now):
        actor = actor_of(session, request, now)
        contact = account_service.update_contact(
            session, contact_id=contact_id, data=data, actor=actor, now=now
        )
        return ContactOut.model_validate(contact)
