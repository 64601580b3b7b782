"""Responses from models the route has already built."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Response
from pydantic import BaseModel

__all__ = ["json_response"]


def json_response(
    model: BaseModel, *, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """``model`` as JSON, serialised once: the bytes FastAPI would send for it, without
    validating it again against the route's ``response_model`` (which still documents it)."""
    return Response(model.model_dump_json(), status_code, headers, media_type="application/json")
