"""Tickets through HTTP: the life of a ticket, optimistic updates, errors as problem+json."""

from __future__ import annotations

import datetime as dt

from tests.web.conftest import NOW, PASSWORD, Desk


def create(desk: Desk, **body: object) -> dict[str, object]:
    payload = {
        "subject": "How do I export contacts?",
        "channel": "email",
        "account_id": desk.acme_id,
    }
    payload.update(body)
    r = desk.client.post("/api/v1/tickets", json=payload, headers=desk.agent)
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_a_ticket_is_created_listed_replied_to_and_resolved(desk: Desk) -> None:
    t = create(desk)
    assert t["status"] == "new"
    assert t["next_deadline_at"] == "2026-11-24T17:00:00Z"  # 2 support hours (RL11)
    page = desk.client.get("/api/v1/tickets", headers=desk.agent).json()
    assert [i["id"] for i in page["items"]] == [t["id"]]

    desk.at(NOW + dt.timedelta(minutes=20))
    r = desk.client.post(
        f"/api/v1/tickets/{t['id']}/events",
        json={"type": "reply", "body": "Here is how."},
        headers={**desk.agent, "If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == '"2"'
    assert r.json()["status"] == "open"

    r = desk.client.post(
        f"/api/v1/tickets/{t['id']}/events",
        json={"type": "status", "status": "resolved"},
        headers={**desk.agent, "If-Match": r.headers["ETag"]},
    )
    assert r.json()["status"] == "resolved"
    detail = desk.client.get(f"/api/v1/tickets/{t['id']}", headers=desk.agent).json()
    clocks = {c["name"]: c for c in detail["clocks"]}
    assert clocks["first_response"]["state"] == "met"
    assert clocks["next_response"]["state"] == "cancelled"
    assert any("RL11" in line for line in clocks["first_response"]["explanation"])
    assert [e["type"] for e in detail["events"]] == ["received", "reply", "status"]
    assert desk.client.get("/api/v1/tickets", headers=desk.agent).json()["items"] == []


def test_a_write_without_if_match_is_refused_with_428(desk: Desk) -> None:
    t = create(desk)
    r = desk.client.post(
        f"/api/v1/tickets/{t['id']}/events", json={"type": "note", "body": "x"}, headers=desk.agent
    )
    assert r.status_code == 428
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["field"] == "If-Match"


def test_a_stale_if_match_gets_412_and_changes_nothing(desk: Desk) -> None:
    t = create(desk)
    ok = desk.client.post(
        f"/api/v1/tickets/{t['id']}/events",
        json={"type": "note", "body": "one"},
        headers={**desk.agent, "If-Match": '"1"'},
    )
    assert ok.status_code == 200
    stale = desk.client.post(
        f"/api/v1/tickets/{t['id']}/events",
        json={"type": "note", "body": "two"},
        headers={**desk.agent, "If-Match": '"1"'},
    )
    assert stale.status_code == 412
    events = desk.client.get(f"/api/v1/tickets/{t['id']}", headers=desk.agent).json()["events"]
    assert [e["body"] for e in events if e["type"] == "note"] == ["one"]


def test_malformed_input_is_problem_json_naming_the_field(desk: Desk) -> None:
    r = desk.client.post(
        "/api/v1/tickets", json={"subject": "", "channel": "email"}, headers=desk.agent
    )
    assert r.status_code == 422
    body = r.json()
    assert body["field"] == "body.subject"
    assert body["status"] == 422
    r = desk.client.post(
        "/api/v1/tickets",
        content=b"{not json",
        headers={**desk.agent, "content-type": "application/json"},
    )
    assert r.status_code == 422
    r = desk.client.post(
        "/api/v1/tickets", json={"subject": "x", "channel": "fax"}, headers=desk.agent
    )
    assert r.json()["field"] == "body.channel"


def test_a_channel_the_policy_does_not_use_is_refused(desk: Desk) -> None:
    r = desk.client.post(
        "/api/v1/tickets", json={"subject": "x", "channel": "voicemail"}, headers=desk.agent
    )
    assert r.status_code == 422
    assert r.json()["field"] == "channel"


def test_no_credentials_is_401_and_a_bad_token_too(desk: Desk) -> None:
    assert desk.client.get("/api/v1/tickets").status_code == 401
    r = desk.client.get("/api/v1/tickets", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"


def test_a_contact_signs_in_and_sees_only_its_accounts_tickets(desk: Desk) -> None:
    mine = create(desk)
    theirs = create(desk, account_id=desk.other_id)
    r = desk.client.post(
        "/api/v1/portal/login", json={"email": desk.ann_email, "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    items = desk.client.get("/api/v1/tickets").json()["items"]
    assert [i["id"] for i in items] == [mine["id"]]
    assert desk.client.get(f"/api/v1/tickets/{theirs['id']}").status_code == 404
    reply = desk.client.post(
        f"/api/v1/tickets/{mine['id']}/events",
        json={"type": "customer_reply", "body": "Thanks"},
        headers={"If-Match": '"1"'},
    )
    assert reply.status_code == 200
    note = desk.client.post(
        f"/api/v1/tickets/{mine['id']}/events",
        json={"type": "note", "body": "x"},
        headers={"If-Match": '"2"'},
    )
    assert note.status_code == 403


def test_wrong_password_is_401(desk: Desk) -> None:
    r = desk.client.post(
        "/api/v1/auth/login", json={"email": "admin@desk.test", "password": "wrong"}
    )
    assert r.status_code == 401


def test_health_and_readiness(desk: Desk) -> None:
    assert desk.client.get("/healthz").json() == {"status": "ok"}
    ready = desk.client.get("/readyz").json()
    assert ready["status"] == "ready"
    assert len(ready["policy_version"]) == 64


def test_openapi_is_3_1(desk: Desk) -> None:
    doc = desk.client.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert "/api/v1/tickets/{ticket_id}/events" in doc["paths"]


def test_metrics_count_tickets_the_outbox_and_met_clocks(desk: Desk) -> None:
    t = create(desk)
    desk.at(NOW + dt.timedelta(minutes=20))
    r = desk.client.post(
        f"/api/v1/tickets/{t['id']}/events",
        json={"type": "reply", "body": "Here is how."},
        headers={**desk.agent, "If-Match": '"1"'},
    )
    assert r.status_code == 200
    r = desk.client.get("/metrics", headers=desk.agent)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'policydesk_tickets{priority="normal",status="open"} 1.0' in text
    assert 'policydesk_deadlines_met_total{clock="first_response",outcome="in_time"}' in text
    assert "policydesk_worker_lag_seconds" in text
    assert "policydesk_outbox_messages" in text
    assert desk.client.get("/metrics").status_code == 401


def test_taking_a_ticket_assigns_it_to_the_first_agent_only(desk: Desk) -> None:
    t = create(desk)
    first = desk.client.post(f"/api/v1/tickets/{t['id']}/take", headers=desk.agent)
    assert first.status_code == 200, first.text
    second = desk.client.post(f"/api/v1/tickets/{t['id']}/take", headers=desk.lead)
    assert second.status_code == 409
    assert second.headers["content-type"] == "application/problem+json"
    assert "was taken by" in second.json()["detail"]
