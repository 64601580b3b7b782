"""What a route needs from the running application: a transaction, the actor, the time."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from fastapi import Request, Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from policydesk.access import Actor
from policydesk.agents import service as agent_service
from policydesk.db.engine import begin_read_only, begin_reads_first, session_scope
from policydesk.errors import DomainError, Unauthenticated
from policydesk.notify.compose import Composer
from policydesk.settings import Settings

__all__ = [
    "SESSION_COOKIE",
    "Runtime",
    "actor_of",
    "expected_version",
    "runtime",
    "set_session_cookie",
    "unit",
]

SESSION_COOKIE = "pd_session"
_ETAG = re.compile(r'\s*(?:W/)?"?(\d{1,18})"?\s*')


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Callable[[], dt.datetime]
    #: Renders what the desk sends (agents' replies by e-mail, …).
    composer: Composer


def runtime(request: Request) -> Runtime:
    found = request.app.state.runtime
    assert isinstance(found, Runtime)
    return found


@contextmanager
def unit(
    request: Request, *, read_only: bool = False, reads_first: bool = False
) -> Iterator[tuple[Session, dt.datetime]]:
    """One transaction for the request (committed when the block ends), and its instant.

    ``read_only`` routes must not write: on SQLite they then start a plain ``BEGIN`` and read
    alongside a writer instead of queueing behind it; on PostgreSQL they read without a
    transaction block (see ``begin_read_only``). ``reads_first`` routes call services that
    take the write lock themselves when they are done reading (see ``begin_reads_first``).
    """
    rt = runtime(request)
    with session_scope(rt.sessions) as session:
        if read_only:
            begin_read_only(session)
        elif reads_first:
            begin_reads_first(session)
        yield session, rt.clock()


def actor_of(session: Session, request: Request, now: dt.datetime) -> Actor:
    """The agent of a bearer token, or the agent or contact of a session cookie."""
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return agent_service.authenticate_token(session, header[7:].strip())
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        return agent_service.authenticate_session(session, sid, now)
    raise Unauthenticated("sign in, or send an API token as 'Authorization: Bearer …'")


class PreconditionRequired(DomainError):
    status = 428
    title = "Precondition required"


def expected_version(request: Request) -> int:
    """The ticket version the client read, from ``If-Match`` (an ETag such as ``"3"``)."""
    raw = request.headers.get("if-match")
    if raw is None:
        raise PreconditionRequired(
            "send If-Match with the ticket's ETag, so that no update is lost", field="If-Match"
        )
    m = _ETAG.fullmatch(raw)
    if m is None:
        raise PreconditionRequired(f"If-Match {raw!r} is not an ETag of this API", field="If-Match")
    return int(m[1])


def set_session_cookie(request: Request, response: Response, sid: str) -> None:
    """The signed-in session, for the browser: unreadable by scripts, not sent with other
    sites' posts, and only over HTTPS in production."""
    settings = runtime(request).settings
    response.set_cookie(
        SESSION_COOKIE,
        sid,
        max_age=settings.session_days * 86_400,
        httponly=True,
        samesite="lax",
        secure=settings.mode == "production",
    )
