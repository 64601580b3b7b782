"""A server process compiles the active policy at start, then takes what it built out of the
garbage collector's sight."""

from __future__ import annotations

import datetime as dt
import gc
from pathlib import Path

import pytest

from policydesk.db.engine import make_engine, session_scope, sessions
from policydesk.db.migrate import upgrade
from policydesk.policies import service as policy_service
from policydesk.settings import Settings
from policydesk.web.app import create_app, for_serving

ROOT = Path(__file__).resolve().parents[2]


def test_a_server_process_compiles_the_active_policy_and_freezes_its_start_up_objects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    upgrade(engine)
    with session_scope(sessions(engine)) as session:
        text = (ROOT / "policies" / "rarelogic.yaml").read_text()
        now = dt.datetime.now(dt.UTC)
        version = policy_service.activate_policy(session, text=text, source="r", now=now).version
    compiled: dict[str, object] = {}
    monkeypatch.setattr(policy_service, "_COMPILED", compiled)
    app = create_app(Settings(), engine=engine)
    try:
        assert for_serving(app) is app
        assert gc.get_freeze_count() > 0
        assert list(compiled) == [version]
    finally:
        gc.unfreeze()
        engine.dispose()


def test_a_server_process_starts_without_its_database(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # no tables: no policy
    app = create_app(Settings(), engine=engine)
    try:
        assert for_serving(app) is app
    finally:
        gc.unfreeze()
        engine.dispose()
