"""Overrides with a written reason (RL8) and moving a ticket to another policy version."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from policydesk.audit.models import AuditEntry
from tests.web.conftest import Desk

ROOT = Path(__file__).resolve().parents[2]


def ticket(desk: Desk) -> dict[str, object]:
    r = desk.client.post(
        "/api/v1/tickets",
        json={"subject": "Question", "channel": "email", "account_id": desk.acme_id},
        headers=desk.agent,
    )
    assert r.status_code == 201
    return dict(r.json())


def test_an_override_needs_a_written_reason_and_is_audited(
    desk: Desk, factory: sessionmaker[Session]
) -> None:
    t = ticket(desk)
    url = f"/api/v1/tickets/{t['id']}/events"
    r = desk.client.post(url, json={"type": "override"}, headers={**desk.agent, "If-Match": '"1"'})
    assert r.status_code == 422
    assert r.json()["detail"] == "an override needs a written reason (RL8)"
    assert r.json()["field"] == "reason"
    why = "Refund the rush fee: outage was ours"
    r = desk.client.post(
        url, json={"type": "override", "reason": why}, headers={**desk.agent, "If-Match": '"1"'}
    )
    assert r.status_code == 200
    with factory() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "ticket.override")).one()
        assert entry.target == f"ticket:{t['id']}"
        assert entry.detail == {"reason": why}


def test_a_ticket_keeps_its_policy_until_an_admin_moves_it(desk: Desk) -> None:
    t = ticket(desk)
    old_version = t["policy_version"]
    text = (ROOT / "policies" / "storebuilder.yaml").read_text()
    r = desk.client.post(
        "/api/v1/policy", json={"text": text, "source": "storebuilder.yaml"}, headers=desk.admin
    )
    assert r.status_code == 201, r.text
    new_version = r.json()["version"]
    assert (
        desk.client.get(f"/api/v1/tickets/{t['id']}", headers=desk.agent).json()["policy_version"]
        == old_version
    )

    body = {"version": new_version, "reason": "moving to the new policy"}
    url = f"/api/v1/tickets/{t['id']}/policy"
    assert (
        desk.client.post(url, json=body, headers={**desk.agent, "If-Match": '"1"'}).status_code
        == 403
    )
    r = desk.client.post(url, json=body, headers={**desk.admin, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert r.json()["policy_version"] == new_version
    detail = desk.client.get(f"/api/v1/tickets/{t['id']}", headers=desk.agent).json()
    # Store-builder answers e-mail with no stated target.
    assert [c["state"] for c in detail["clocks"]] == ["no_target"]


def test_activating_an_invalid_policy_lists_every_located_problem(desk: Desk) -> None:
    r = desk.client.post(
        "/api/v1/policy",
        json={"text": "name: x\ncalendars: {}\n", "source": "draft.yaml"},
        headers=desk.admin,
    )
    assert r.status_code == 422
    body = r.json()
    assert body["field"] == "policy"
    assert "draft.yaml:1:1:" in body["detail"]
    assert (
        desk.client.post("/api/v1/policy", json={"text": "name: x"}, headers=desk.agent).status_code
        == 403
    )


def test_preview_shows_a_tickets_clocks_under_a_draft(desk: Desk) -> None:
    t = ticket(desk)
    draft = (
        (ROOT / "policies" / "rarelogic.yaml")
        .read_text()
        .replace("business_hours: 2}", "business_hours: 1}")
    )
    r = desk.client.post(
        "/api/v1/policy/preview", json={"text": draft, "ticket_id": t["id"]}, headers=desk.agent
    )
    assert r.status_code == 200, r.text
    first = next(c for c in r.json()["clocks"] if c["name"] == "first_response")
    assert first["due"] == "2026-11-24T16:00:00+00:00"  # one support hour after 10:00 Toronto
