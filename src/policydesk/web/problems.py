"""Every error as RFC 9457 problem+json, with the field at fault where there is one."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError
from starlette.exceptions import HTTPException

from policydesk.errors import DomainError

__all__ = ["install", "problem"]

log = logging.getLogger("policydesk.web")


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        extra = {"field": exc.field} if exc.field else {}
        return problem(exc.status, exc.title, exc.detail, **extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": None, "message": "invalid request"}
        detail = f"{first['field']}: {first['message']}"
        return problem(422, "Invalid input", detail, field=first["field"], errors=errors)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), str(exc.detail))

    @app.exception_handler(DataError)
    @app.exception_handler(OverflowError)
    async def _unstorable(request: Request, exc: Exception) -> JSONResponse:
        # A value the request carried that the database cannot hold: a NUL character or a
        # number past PostgreSQL's INTEGER, past 64 bits on SQLite, a date out of range. The
        # services name the field where they check; this is the net for the other routes.
        log.warning(
            "unstorable input on %s %s: %s", request.method, request.url.path, exc, exc_info=exc
        )
        detail = "a value in the request is out of range or contains a NUL character"
        return problem(422, "Invalid input", detail)

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        if not exc.connection_invalidated:
            return await _bug(request, exc)
        # The server dropped the connection mid-request (a restart, a failover); the pool
        # has been refreshed and the next request gets a new connection.
        log.warning("database connection lost on %s %s: %s", request.method, request.url.path, exc)
        detail = "the connection to the database was lost; the change may not have been made"
        response = problem(503, "Service unavailable", detail)
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "Internal error", "an unexpected error; it has been logged")
