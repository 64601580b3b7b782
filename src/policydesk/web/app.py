"""The application factory."""

from __future__ import annotations

import datetime as dt
import gc
import logging
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from policydesk import metrics
from policydesk.access import require_agent
from policydesk.accounts import api as accounts_api
from policydesk.agents import api as agents_api
from policydesk.console import routes as console
from policydesk.db.engine import begin_read_only, make_engine, session_scope, sessions
from policydesk.mail import api as mail_api
from policydesk.notify.compose import Composer
from policydesk.policies import api as policies_api
from policydesk.policies import service as policy_service
from policydesk.settings import Settings
from policydesk.tickets import api as tickets_api
from policydesk.web import problems
from policydesk.web.context import Runtime, actor_of, runtime, unit
from policydesk.web.keepalive import KeepAliveLimit

__all__ = ["app_from_environment", "create_app", "for_serving"]

log = logging.getLogger("policydesk.web")


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    session_factory: sessionmaker[Session] | None = None,
    clock: Callable[[], dt.datetime] = _utc_now,
) -> FastAPI:
    """The API for ``settings``; tests hand in their own engine, sessions and clock."""
    engine = engine or make_engine(settings.database_url)
    app = FastAPI(
        title="Policydesk",
        version="0.1.0",
        summary="A help desk whose support policy is executable.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.runtime = Runtime(
        settings, engine, session_factory or sessions(engine), clock, Composer(settings)
    )
    problems.install(app)
    app.add_middleware(KeepAliveLimit, limit=settings.keepalive_requests)
    app.include_router(tickets_api.router)
    app.include_router(policies_api.router)
    app.include_router(agents_api.router)
    app.include_router(accounts_api.router)
    app.include_router(mail_api.router)
    app.include_router(console.router)

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/console/", status_code=303)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    def readyz(request: Request) -> JSONResponse:
        """The database answers and a policy is active."""
        try:
            with unit(request, read_only=True) as (session, _now):
                session.execute(text("SELECT 1"))
                version = policy_service.active_version(session).version
        except Exception as exc:
            detail = f"{type(exc).__name__}: {exc}"
            return JSONResponse({"status": "unavailable", "detail": detail}, status_code=503)
        return JSONResponse({"status": "ready", "policy_version": version})

    @app.get("/metrics", tags=["health"], response_class=PlainTextResponse)
    def prometheus_metrics(request: Request) -> Response:
        """Prometheus metrics, for agents (scrape with an API token): tickets by status and
        priority, outbox depth, worker lag, and the deadlines met, warned and breached as
        counted by this process."""
        with unit(request, read_only=True) as (session, now):
            require_agent(actor_of(session, request, now))
        rt = runtime(request)
        return Response(metrics.render(rt.sessions, rt.clock), media_type=CONTENT_TYPE_LATEST)

    return app


def app_from_environment() -> FastAPI:
    """The app of the ``POLICYDESK_*`` settings: what each server worker process builds."""
    return for_serving(create_app(Settings()))


def for_serving(app: FastAPI) -> FastAPI:
    """``app``, about to serve for the life of this process.

    The active policy is compiled now (a few hundred milliseconds) rather than by the first
    ticket, if the database answers. Then what has been built (the modules, the app, its
    schemas, mappers and statements, the policy: some 100,000 objects) is taken out of the
    garbage collector's sight (``gc.freeze``), so that its full collections walk only what
    requests leave behind, instead of pausing a request for tens of milliseconds."""
    rt = getattr(app.state, "runtime", None)
    if isinstance(rt, Runtime):
        try:
            with session_scope(rt.sessions) as session:
                begin_read_only(session)
                policy_service.active_policy(session)
        except Exception as exc:  # no database or no policy yet: requests will say so
            log.warning("the active policy is not compiled ahead: %s", exc)
    gc.collect()
    gc.freeze()
    return app
