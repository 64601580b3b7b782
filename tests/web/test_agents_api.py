"""Agents: admins manage them; anyone staff reads them; agents get their own tokens."""

from __future__ import annotations

from tests.web.conftest import Desk


def test_only_admins_create_and_change_agents(desk: Desk) -> None:
    body = {"name": "Nia", "email": "nia@desk.test", "role": "agent", "tier": "L2"}
    assert desk.client.post("/api/v1/agents", json=body, headers=desk.lead).status_code == 403
    r = desk.client.post("/api/v1/agents", json=body, headers=desk.admin)
    assert r.status_code == 201, r.text
    nia = r.json()
    patch = {"tier": "PT", "shifts": [{"days": ["sat", "sun"], "hours": "07:00-15:00"}]}
    assert (
        desk.client.patch(f"/api/v1/agents/{nia['id']}", json=patch, headers=desk.agent).status_code
        == 403
    )
    r = desk.client.patch(f"/api/v1/agents/{nia['id']}", json=patch, headers=desk.admin)
    assert r.status_code == 200
    assert r.json()["tier"] == "PT"
    assert r.json()["shifts"] == [{"days": ["sat", "sun"], "hours": "07:00-15:00"}]
    assert desk.client.get(f"/api/v1/agents/{nia['id']}", headers=desk.agent).json()["tier"] == "PT"


def test_a_duplicate_email_names_the_field(desk: Desk) -> None:
    body = {"name": "Dup", "email": "agent@desk.test"}
    r = desk.client.post("/api/v1/agents", json=body, headers=desk.admin)
    assert r.status_code == 422
    assert r.json()["field"] == "email"


def test_a_bad_shift_is_refused_naming_the_field(desk: Desk) -> None:
    agents = desk.client.get("/api/v1/agents", headers=desk.agent).json()
    r = desk.client.patch(
        f"/api/v1/agents/{agents[0]['id']}",
        json={"shifts": [{"days": ["mon"], "hours": "7-15"}]},
        headers=desk.admin,
    )
    assert r.status_code == 422
    assert r.json()["field"] == "body.shifts.0.hours"


def test_a_deactivated_agents_token_stops_working(desk: Desk) -> None:
    me = desk.client.get("/api/v1/me", headers=desk.agent).json()
    r = desk.client.patch(f"/api/v1/agents/{me['id']}", json={"active": False}, headers=desk.admin)
    assert r.status_code == 200
    assert desk.client.get("/api/v1/tickets", headers=desk.agent).status_code == 401


def test_an_agent_creates_its_own_token_but_not_anothers(desk: Desk) -> None:
    me = desk.client.get("/api/v1/me", headers=desk.agent).json()
    admin = desk.client.get("/api/v1/me", headers=desk.admin).json()
    r = desk.client.post(
        f"/api/v1/agents/{me['id']}/tokens", json={"name": "laptop"}, headers=desk.agent
    )
    assert r.status_code == 201
    token = r.json()["token"]
    assert (
        desk.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()["id"]
        == me["id"]
    )
    r = desk.client.post(f"/api/v1/agents/{admin['id']}/tokens", json={}, headers=desk.agent)
    assert r.status_code == 403
