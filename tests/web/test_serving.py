"""A server process takes what it built at start out of the garbage collector's sight."""

from __future__ import annotations

import gc

from fastapi import FastAPI

from policydesk.web.app import for_serving


def test_an_app_for_serving_has_its_start_up_objects_frozen() -> None:
    app = FastAPI()
    try:
        assert for_serving(app) is app
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
