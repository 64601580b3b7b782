"""The agents' web console: sign in, the queue by urgency, one ticket with its clocks and the
clauses behind them, and the forms to reply, note and change its status.

Plain HTML forms, posted and then redirected, so that every browser can use it without
scripts; it calls the same services as the API, so the same rules, versions and errors apply.
A form that fails is shown again with what the agent typed and the reason, never emptied.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, get_args
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from policydesk.access import Actor
from policydesk.accounts.models import Account, Contact
from policydesk.agents import service as agent_service
from policydesk.agents.models import Agent
from policydesk.core.policy import STATUSES
from policydesk.errors import DomainError, StaleVersion, Unauthenticated
from policydesk.mail import service as mail_service
from policydesk.policies import service as policy_service
from policydesk.tickets import queue as ticket_queue
from policydesk.tickets import service as ticket_service
from policydesk.tickets.schemas import EventIn, Tier, clock_views
from policydesk.web.context import SESSION_COOKIE, runtime, set_session_cookie, unit
from policydesk.web.params import PathId

__all__ = ["router"]

router = APIRouter(prefix="/console", include_in_schema=False)

_PAGES = Environment(
    loader=PackageLoader("policydesk.console"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
#: The queue shows this many tickets a page.
PAGE = 50
#: What the ticket page's forms may do; the API has the rest.
FORM_EVENTS = ("reply", "note", "status", "tier")
TIERS = get_args(Tier)


#: The pages run no script and load nothing from anywhere: text that slipped through escaping
#: could not act, and no other site may frame them or receive their forms.
_NO_SCRIPTS = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
#: What the ticket page says after a form was applied (``?done=``).
_DONE = {"reply": "Reply queued for sending", "note": "Note added", "status": "Status changed",
         "tier": "Moved to the new tier", "take": "The ticket is yours"}  # fmt: skip


class _SignIn(Exception):
    """The request has no agent's session: the browser is sent to the sign-in page."""


def _page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = _PAGES.get_template(name).render(request=request, **context)
    headers = {"Cache-Control": "no-store", "Content-Security-Policy": _NO_SCRIPTS}
    return HTMLResponse(html, status_code=status, headers=headers)


def _token(request: Request, sid: str) -> str:
    """The form token of a session: forms posted from another site cannot know it."""
    key = runtime(request).settings.secret_key.get_secret_value().encode()
    return hmac.new(key, b"console-form:" + sid.encode(), hashlib.sha256).hexdigest()


def _agent(
    session: Session, request: Request, now: dt.datetime, sid: str | None = None
) -> tuple[Actor, str]:
    """The signed-in agent of the request's cookie (or of ``sid``, a session just opened)."""
    sid = sid or request.cookies.get(SESSION_COOKIE)
    if not sid:
        raise _SignIn
    try:
        actor = agent_service.authenticate_session(session, sid, now)
    except Unauthenticated:
        raise _SignIn from None
    if actor.agent is None:  # a client's contact: the portal is theirs, not the console
        raise _SignIn
    return actor, sid


def _check_token(request: Request, sid: str, token: str) -> None:
    if not hmac.compare_digest(_token(request, sid), token):
        raise Unauthenticated("this form is out of date; open the page again and resubmit")


def _to_sign_in(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/console/login?next={quote(target)}", status_code=303)


def _safe_next(target: str) -> str:
    # Only a page of the console: never another site (an open redirect).
    return target if target.startswith("/console/") and "//" not in target else "/console/"


# ----- signing in and out ----------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request, next: str = "/console/") -> Response:
    return _page(request, "login.html", next=_safe_next(next), email="", error=None, kept=None)


#: A ticket page, where a kept form goes back to.
_TICKET_PAGE = re.compile(r"/console/tickets/(\d{1,18})")


@router.post("/login")
def login(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1_000)] = "",
    next: Annotated[str, Form(max_length=2_000)] = "/console/",
    kept_type: Annotated[str | None, Form(max_length=20)] = None,
    kept_body: Annotated[str, Form(max_length=200_000)] = "",
    kept_status: Annotated[str, Form(max_length=30)] = "",
    kept_tier: Annotated[str, Form(max_length=10)] = "",
    kept_suggestion: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Sign in, then go to ``next``. A ticket's form that an ended session could not send
    (``kept_*``, see ``add_event``) comes back filled in on that ticket's page, not sent:
    the agent reads what changed meanwhile and sends it again."""
    target = _safe_next(next)
    kept = None
    if kept_type is not None:
        kept = {"type": kept_type, "body": kept_body, "status": kept_status,
                "tier": kept_tier, "suggestion": kept_suggestion}  # fmt: skip
    days = runtime(request).settings.session_days
    try:
        with unit(request) as (session, now):
            sid = agent_service.login(
                session, email=email, password=password, contact=False, now=now, days=days
            )
    except Unauthenticated as exc:
        return _page(request, "login.html", 401, next=target, email=email, error=exc, kept=kept)
    page = _TICKET_PAGE.fullmatch(target)
    if kept is not None and page is not None:
        try:
            response = _ticket(request, int(page[1]), form=kept, sid=sid, said=_KEPT)
        except _SignIn:  # pragma: no cover - the session was opened a moment ago
            response = _to_sign_in(request)
    else:
        response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, sid)
    return response


_KEPT = "Signed in again: what you typed is back in the form below, not sent yet"


@router.post("/logout")
def logout(request: Request, token: Annotated[str, Form(max_length=200)] = "") -> Response:
    sid = request.cookies.get(SESSION_COOKIE)
    if sid and hmac.compare_digest(_token(request, sid), token):
        with unit(request) as (session, _now):
            agent_service.end_session(session, sid)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


# ----- the queue -------------------------------------------------------------------------------


@router.get("/")
def queue(request: Request, status: str = "", cursor: str = "") -> Response:
    if status and status not in STATUSES:
        status = ""
    filters = ticket_queue.Filters(status=status or None)
    try:
        with unit(request, read_only=True) as (session, now):
            actor, sid = _agent(session, request, now)
            try:
                rows, nxt = ticket_queue.list_tickets(
                    session, actor=actor, filters=filters, cursor=cursor or None, limit=PAGE,
                    now=now,
                )  # fmt: skip
            except DomainError:  # a cursor edited by hand: start from the top
                rows, nxt = ticket_queue.list_tickets(
                    session, actor=actor, filters=filters, cursor=None, limit=PAGE, now=now
                )
            zone = policy_service.active_policy(session).zone
            accounts = _names(session, Account, (r.account_id for r in rows))
            agents = _names(session, Agent, (r.assignee_id for r in rows))
            return _page(
                request, "queue.html", me=actor.agent, token=_token(request, sid), rows=rows,
                next_cursor=nxt, shown=status, statuses=STATUSES, accounts=accounts,
                agents=agents, now=now, when=_when(zone), left=_left,
            )  # fmt: skip
    except _SignIn:
        return _to_sign_in(request)


# ----- mail ------------------------------------------------------------------------------------

MAIL_OUTCOMES = ("quarantined", "refused", "ignored", "ticket", "reply")


@router.get("/mail")
def mail(request: Request, outcome: str = "quarantined", after: int | None = None) -> Response:
    """Inbound mail, quarantine first: what could not be taken in waits here, with its reason
    and its bytes as they came, for an agent to read."""
    if outcome not in MAIL_OUTCOMES:
        outcome = "quarantined"
    try:
        with unit(request, read_only=True) as (session, now):
            actor, sid = _agent(session, request, now)
            rows, nxt = mail_service.list_messages(
                session, actor=actor, outcome=outcome, after=after, limit=PAGE
            )
            zone = policy_service.active_policy(session).zone
            return _page(
                request, "mail.html", me=actor.agent, token=_token(request, sid), rows=rows,
                next_after=nxt, shown=outcome, outcomes=MAIL_OUTCOMES, when=_when(zone),
            )  # fmt: skip
    except _SignIn:
        return _to_sign_in(request)


# ----- one ticket ------------------------------------------------------------------------------


@router.get("/tickets/{ticket_id}")
def ticket_page(request: Request, ticket_id: PathId) -> Response:
    try:
        return _ticket(request, ticket_id)
    except _SignIn:
        return _to_sign_in(request)


@router.post("/tickets/{ticket_id}/events")
def add_event(
    request: Request,
    ticket_id: PathId,
    token: Annotated[str, Form(max_length=200)] = "",
    version: Annotated[int, Form(ge=1)] = 1,
    type: Annotated[str, Form(max_length=20)] = "",
    body: Annotated[str, Form(max_length=200_000)] = "",
    status: Annotated[str, Form(max_length=30)] = "",
    tier: Annotated[str, Form(max_length=10)] = "",
    suggestion: Annotated[bool, Form()] = False,
) -> Response:
    form = {"type": type, "body": body, "status": status, "tier": tier,
            "suggestion": "on" if suggestion else ""}  # fmt: skip

    def change(session: Session, actor: Actor, now: dt.datetime) -> None:
        data = _event_in(type, body, status, tier, suggestion=suggestion)
        ticket_service.record_event(
            session, ticket_id=ticket_id, expected_version=version, data=data, actor=actor,
            now=now, composer=runtime(request).composer,
        )  # fmt: skip

    return _apply(request, ticket_id, token, change, done=type, form=form)


_ENDED = "Your session has ended. Sign in again; what you typed is kept and comes back unsent"


@router.post("/tickets/{ticket_id}/take")
def take(
    request: Request, ticket_id: PathId, token: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    def change(session: Session, actor: Actor, now: dt.datetime) -> None:
        ticket_service.take_ticket(session, ticket_id=ticket_id, actor=actor, now=now)

    return _apply(request, ticket_id, token, change, done="take")


def _apply(
    request: Request,
    ticket_id: int,
    token: str,
    change: Callable[[Session, Actor, dt.datetime], None],
    *,
    done: str,
    form: Mapping[str, str] | None = None,
) -> Response:
    """``change`` the ticket as the signed-in agent, in one transaction, then show it saying
    what was ``done``; a refused change shows the ticket again with the reason and the form
    as it was typed. Without an agent's session, a typed ``form`` is kept by the sign-in
    page shown in its place, and comes back unsent once the agent has signed in again."""
    try:
        try:
            with unit(request) as (session, now):
                actor, sid = _agent(session, request, now)
                _check_token(request, sid, token)
                change(session, actor, now)
        except DomainError as exc:
            return _ticket(request, ticket_id, form=form, error=exc, status=exc.status)
    except _SignIn:
        if form is None:
            return _to_sign_in(request)
        return _page(request, "login.html", 401, next=f"/console/tickets/{ticket_id}",
                     email="", error=Unauthenticated(_ENDED), kept=form)  # fmt: skip
    return RedirectResponse(f"/console/tickets/{ticket_id}?done={done}", status_code=303)


def _event_in(kind: str, body: str, status: str, tier: str, *, suggestion: bool) -> EventIn:
    if kind not in FORM_EVENTS:
        raise _FormError(f"{kind!r} is not one of: {', '.join(FORM_EVENTS)}", field="type")
    if kind in ("reply", "note") and not body.strip():
        raise _FormError(f"the {kind} is empty", field="body")
    fields: dict[str, Any] = {"type": kind}
    if kind == "status":
        fields["status"] = status
    elif kind == "tier":
        fields["tier"] = tier
    else:
        fields["body"] = body
        fields["suggestion"] = suggestion and kind == "reply"
    try:
        return EventIn.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "form"
        raise _FormError(first["msg"], field=where) from None


class _FormError(DomainError):
    status = 422
    title = "The form is not complete"


def _ticket(
    request: Request,
    ticket_id: int,
    *,
    form: Mapping[str, str] | None = None,
    error: DomainError | None = None,
    status: int = 200,
    sid: str | None = None,
    said: str = "",
) -> Response:
    with unit(request, read_only=True) as (session, now):
        actor, sid = _agent(session, request, now, sid)
        try:
            ticket = ticket_service.get_ticket(session, ticket_id=ticket_id, actor=actor)
        except DomainError as exc:
            return _page(request, "missing.html", exc.status, me=actor.agent,
                         token=_token(request, sid), error=exc)  # fmt: skip
        policy = policy_service.active_policy(session)
        events = ticket_service.events_of(session, ticket, actor)
        return _page(
            request, "ticket.html", status, me=actor.agent, token=_token(request, sid),
            ticket=ticket, clocks=clock_views(ticket_service.clocks_of(session, ticket, now)),
            events=events, missing=ticket_service.missing_of(session, ticket),
            files=mail_service.attachments_of(session, ticket.id),
            account=session.get(Account, ticket.account_id) if ticket.account_id else None,
            requester=session.get(Contact, ticket.requester_id) if ticket.requester_id else None,
            agents=_names(session, Agent, [*(e.agent_id for e in events), ticket.assignee_id]),
            contacts=_names(session, Contact, (e.contact_id for e in events)),
            statuses=STATUSES, tiers=TIERS,
            form=form or {"type": "reply", "body": "", "status": "", "tier": "", "suggestion": ""},
            error=error, stale=isinstance(error, StaleVersion),
            done=said or (
                _DONE.get(request.query_params.get("done", ""), "") if error is None else ""
            ),
            when=_when(policy.zone), left=_left,
        )  # fmt: skip


# ----- helpers for the pages -------------------------------------------------------------------


def _names(
    session: Session, model: type[Account] | type[Agent] | type[Contact], ids: Iterable[int | None]
) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(model.id, model.name).where(model.id.in_(wanted)))
    return {row.id: row.name for row in rows}


def _when(zone: dt.tzinfo) -> Any:
    def when(instant: dt.datetime | None) -> str:
        if instant is None:
            return "—"
        return instant.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z")

    return when


def _left(seconds: int | None) -> str:
    """``seconds`` to a deadline as an agent reads it: "2 h 05 min left", "15 min overdue"."""
    if seconds is None:
        return ""
    late = seconds < 0
    minutes = abs(seconds) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        text = f"{days} d {hours} h"
    else:
        text = f"{hours} h {mins:02d} min" if hours else f"{mins} min"
    return f"{text} overdue" if late else f"{text} left"
