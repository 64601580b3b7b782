"""Accounts and contacts through HTTP: admins manage them, leads ban and refuse (RL4, RL9),
a contact sees only its own account (RL3), billing only once its identity is verified (RL1)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from policydesk.audit.models import AuditEntry
from tests.web.conftest import NOW, PASSWORD, Desk

SUMMARY_KEYS = {"id", "name", "status", "primary_contact_id", "backup_contact_id"}


def audited(factory: sessionmaker[Session], action: str) -> list[AuditEntry]:
    with factory() as s:
        query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return list(s.scalars(query))


def me(desk: Desk, headers: dict[str, str]) -> dict[str, Any]:
    return dict(desk.client.get("/api/v1/me", headers=headers).json())


def contact_id(desk: Desk, email: str) -> int:
    r = desk.client.get("/api/v1/contacts", params={"email": email}, headers=desk.agent)
    [item] = r.json()["items"]
    return int(item["id"])


def sign_in(desk: Desk, email: str) -> None:
    """The client's cookie becomes this contact's portal session."""
    r = desk.client.post("/api/v1/portal/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text


def new_contact(desk: Desk, **body: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"name": "Bea", "email": "bea@acme.test", "account_id": desk.acme_id}
    payload.update(body)
    r = desk.client.post("/api/v1/contacts", json=payload, headers=desk.admin)
    assert r.status_code == 201, r.text
    return dict(r.json())


def problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    return dict(r.json())


Case = tuple[dict[str, Any], str, str]


def refused_each(send: Any, cases: list[Case]) -> None:
    """Every body of ``cases`` gets 422 naming its field, with its message."""
    for body, field, message in cases:
        found = problem(send(body), 422)
        assert (found["field"], found["errors"][0]["message"]) == (field, message), body


# ----- accounts ---------------------------------------------------------------------------------


def test_an_admin_creates_reads_and_updates_an_account(
    desk: Desk, factory: sessionmaker[Session]
) -> None:
    r = desk.client.post(
        "/api/v1/accounts",
        json={"name": " Harbor Wines ", "plan": "high_priority", "attributes": {"extra": True}},
        headers=desk.admin,
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert r.headers["Location"] == f"/api/v1/accounts/{created['id']}"
    assert created["name"] == "Harbor Wines"
    assert created["status"] == "active"
    assert created["attributes"] == {"extra": True}

    got = desk.client.get(r.headers["Location"], headers=desk.agent).json()
    assert got == created

    r = desk.client.patch(
        r.headers["Location"],
        json={"plan": "standard", "contract": "support_hours", "attributes": {}},
        headers=desk.admin,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["plan"], r.json()["contract"]) == (
        "Harbor Wines",
        "standard",
        "support_hours",
    )
    r = desk.client.patch(
        f"/api/v1/accounts/{created['id']}", json={"plan": None}, headers=desk.admin
    )
    assert r.json()["plan"] is None

    [made] = audited(factory, "account.create")
    assert made.target == f"account:{created['id']}"
    assert made.agent_id == me(desk, desk.admin)["id"]
    changes = [e.detail["changes"] for e in audited(factory, "account.update")]
    assert changes == [
        {"plan": "standard", "contract": "support_hours", "attributes": {}},
        {"plan": None},
    ]


def test_agents_list_every_account_a_page_at_a_time(desk: Desk) -> None:
    first = desk.client.get("/api/v1/accounts", params={"limit": 1}, headers=desk.agent).json()
    assert [a["name"] for a in first["items"]] == ["Acme"]
    assert first["items"][0]["plan"] == "standard"
    rest = desk.client.get(
        "/api/v1/accounts", params={"after": first["next_after"]}, headers=desk.agent
    ).json()
    assert [a["name"] for a in rest["items"]] == ["Other"]
    assert rest["next_after"] is None
    banned = desk.client.get("/api/v1/accounts", params={"status": "banned"}, headers=desk.agent)
    assert banned.json()["items"] == []


def test_only_admins_create_and_change_accounts(desk: Desk) -> None:
    for headers in (desk.agent, desk.lead):
        r = desk.client.post("/api/v1/accounts", json={"name": "X"}, headers=headers)
        assert problem(r, 403)["detail"] == "this needs the admin role"
        url = f"/api/v1/accounts/{desk.acme_id}"
        r = desk.client.patch(url, json={"name": "X"}, headers=headers)
        assert problem(r, 403)["detail"] == "this needs the admin role"
        assert desk.client.get(url, headers=headers).json()["name"] == "Acme"


def test_a_plan_or_contract_the_active_policy_lacks_is_refused(desk: Desk) -> None:
    r = desk.client.post("/api/v1/accounts", json={"name": "X", "plan": "gold"}, headers=desk.admin)
    body = problem(r, 422)
    assert body["field"] == "plan"
    assert body["detail"] == (
        "plan 'gold' is not a plan of the active policy (standard, high_priority)"
    )
    r = desk.client.patch(
        f"/api/v1/accounts/{desk.acme_id}", json={"contract": "weekends"}, headers=desk.admin
    )
    body = problem(r, 422)
    assert body["field"] == "contract"
    assert body["detail"] == (
        "contract 'weekends' is not a contract of the active policy (support_hours)"
    )


NEW_ACCOUNT_REFUSALS: list[Case] = [
    ({}, "body.name", "Field required"),
    ({"name": "   "}, "body.name", "String should have at least 1 character"),
    ({"name": "x" * 201}, "body.name", "String should have at most 200 characters"),
    ({"name": "X", "status": "banned"}, "body.status", "Extra inputs are not permitted"),
    (
        {"name": "X", "primary_contact_id": 1},
        "body.primary_contact_id",
        "Extra inputs are not permitted",
    ),
    (
        {"name": "X", "attributes": {"high_priority": [1]}},
        "body.attributes.high_priority",
        "Value error, an attribute is true or false, a whole number, or a text of up to 200 "
        "characters",
    ),
    ({"name": "X", "attributes": []}, "body.attributes", "Input should be a valid dictionary"),
    ({"name": "X", "plan": ""}, "body.plan", "String should have at least 1 character"),
]


def test_a_malformed_new_account_is_refused_naming_the_field(desk: Desk) -> None:
    def send(body: dict[str, Any]) -> Any:
        return desk.client.post("/api/v1/accounts", json=body, headers=desk.admin)

    refused_each(send, NEW_ACCOUNT_REFUSALS)


ACCOUNT_CHANGE_REFUSALS: list[Case] = [
    ({"name": None}, "body.name", "Value error, may be left out, but not null"),
    ({"attributes": None}, "body.attributes", "Input should be a valid dictionary"),
    ({"status": "active"}, "body.status", "Extra inputs are not permitted"),
    (
        {"primary_contact_id": 0},
        "body.primary_contact_id",
        "Input should be greater than or equal to 1",
    ),
]


def test_a_malformed_account_change_is_refused_naming_the_field(desk: Desk) -> None:
    def send(body: dict[str, Any]) -> Any:
        return desk.client.patch(f"/api/v1/accounts/{desk.acme_id}", json=body, headers=desk.admin)

    refused_each(send, ACCOUNT_CHANGE_REFUSALS)


def test_an_unknown_or_impossible_account_id_is_404_or_422(desk: Desk) -> None:
    r = desk.client.get("/api/v1/accounts/999999", headers=desk.agent)
    assert problem(r, 404)["detail"] == "no account 999999"
    r = desk.client.patch("/api/v1/accounts/999999", json={"name": "X"}, headers=desk.admin)
    assert problem(r, 404)["detail"] == "no account 999999"
    r = desk.client.post("/api/v1/accounts/999999/ban", json={"reason": "x"}, headers=desk.lead)
    assert problem(r, 404)["detail"] == "no account 999999"
    r = desk.client.get("/api/v1/accounts/99999999999999999999", headers=desk.agent)
    assert problem(r, 422)["field"] == "path.account_id"
    r = desk.client.get("/api/v1/accounts", params={"limit": 0}, headers=desk.agent)
    assert problem(r, 422)["field"] == "query.limit"


def test_the_primary_and_backup_contacts_are_two_contacts_of_the_account(desk: Desk) -> None:
    ann = contact_id(desk, desk.ann_email)
    bea = new_contact(desk)["id"]
    url = f"/api/v1/accounts/{desk.acme_id}"
    r = desk.client.patch(
        url, json={"primary_contact_id": ann, "backup_contact_id": bea}, headers=desk.admin
    )
    assert r.status_code == 200, r.text
    assert (r.json()["primary_contact_id"], r.json()["backup_contact_id"]) == (ann, bea)

    olga = contact_id(desk, desk.olga_email)
    body = problem(
        desk.client.patch(url, json={"backup_contact_id": olga}, headers=desk.admin), 422
    )
    assert body["field"] == "backup_contact_id"
    assert body["detail"] == f"contact {olga} is not a contact of account {desk.acme_id}"
    body = problem(
        desk.client.patch(url, json={"primary_contact_id": 999999}, headers=desk.admin), 422
    )
    assert (body["field"], body["detail"]) == ("primary_contact_id", "no contact 999999")
    body = problem(desk.client.patch(url, json={"backup_contact_id": ann}, headers=desk.admin), 422)
    assert body["field"] == "backup_contact_id"
    assert (
        body["detail"] == f"contact {ann} cannot be both the primary and the backup contact (EC3)"
    )

    # A named contact stays with its account until another is named.
    body = problem(
        desk.client.patch(
            f"/api/v1/contacts/{bea}", json={"account_id": desk.other_id}, headers=desk.admin
        ),
        422,
    )
    assert body["field"] == "account_id"
    assert body["detail"] == (
        f"contact {bea} is the backup contact of account {desk.acme_id}; "
        "name another one there first (EC3)"
    )
    desk.client.patch(url, json={"backup_contact_id": None}, headers=desk.admin)
    r = desk.client.patch(
        f"/api/v1/contacts/{bea}", json={"account_id": desk.other_id}, headers=desk.admin
    )
    assert r.status_code == 200, r.text
    assert r.json()["account_id"] == desk.other_id


def test_a_contact_sees_only_its_own_account_and_no_billing_data(desk: Desk) -> None:
    sign_in(desk, desk.ann_email)
    mine = desk.client.get(f"/api/v1/accounts/{desk.acme_id}")
    assert mine.status_code == 200, mine.text
    assert set(mine.json()) == SUMMARY_KEYS
    assert mine.json()["name"] == "Acme"
    listed = desk.client.get("/api/v1/accounts").json()
    assert [set(a) for a in listed["items"]] == [SUMMARY_KEYS]
    assert [a["id"] for a in listed["items"]] == [desk.acme_id]

    theirs = desk.client.get(f"/api/v1/accounts/{desk.other_id}")
    assert problem(theirs, 404)["detail"] == f"no account {desk.other_id}"
    assert "Other" not in theirs.text
    r = desk.client.patch(f"/api/v1/accounts/{desk.acme_id}", json={"name": "Mine now"})
    assert problem(r, 403)["detail"] == "this needs a support agent"


# ----- bans and refusals ------------------------------------------------------------------------


def test_a_lead_bans_an_account_and_its_tickets_are_refused_with_the_reason(
    desk: Desk, factory: sessionmaker[Session]
) -> None:
    url = f"/api/v1/accounts/{desk.acme_id}"
    r = desk.client.post(f"{url}/ban", json={"reason": "Abusive calls"}, headers=desk.lead)
    assert r.status_code == 200, r.text
    lead = me(desk, desk.lead)["id"]
    account = r.json()
    assert account["status"] == "banned"
    assert account["status_reason"] == "Abusive calls"
    assert account["status_by_agent_id"] == lead
    assert account["status_at"] == "2026-11-24T15:00:00Z"
    [entry] = audited(factory, "account.ban")
    assert (entry.agent_id, entry.target) == (lead, f"account:{desk.acme_id}")
    assert entry.detail == {"from": "active", "to": "banned", "reason": "Abusive calls"}

    ticket = {"subject": "Help", "channel": "email", "account_id": desk.acme_id}
    r = desk.client.post("/api/v1/tickets", json=ticket, headers=desk.agent)
    assert problem(r, 403)["detail"] == "support for this account is banned: Abusive calls"
    sign_in(desk, desk.ann_email)
    r = desk.client.post("/api/v1/tickets", json={"subject": "Help", "channel": "portal"})
    assert problem(r, 403)["detail"] == "support for this account is banned: Abusive calls"

    r = desk.client.post(f"{url}/ban", json={"reason": "Again"}, headers=desk.lead)
    assert problem(r, 409)["detail"] == (
        f"account {desk.acme_id} is banned already, since 2026-11-24: Abusive calls"
    )

    r = desk.client.post(f"{url}/reinstate", json={"reason": "Apologised"}, headers=desk.admin)
    assert r.json()["status"] == "active"
    assert desk.client.post("/api/v1/tickets", json=ticket, headers=desk.agent).status_code == 201
    r = desk.client.post(f"{url}/reinstate", json={"reason": "Twice"}, headers=desk.lead)
    assert problem(r, 409)["detail"] == (
        f"account {desk.acme_id} is active; there is nothing to reinstate"
    )
    [entry] = audited(factory, "account.reinstate")
    assert entry.agent_id == me(desk, desk.admin)["id"]
    assert entry.detail["reason"] == "Apologised"


def test_a_lead_refuses_service_to_a_scammer(desk: Desk, factory: sessionmaker[Session]) -> None:
    url = f"/api/v1/accounts/{desk.other_id}"
    r = desk.client.post(f"{url}/refuse", json={"reason": "Phishing links"}, headers=desk.lead)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["status_reason"]) == ("refused", "Phishing links")
    [entry] = audited(factory, "account.refuse")
    assert entry.detail == {"from": "active", "to": "refused", "reason": "Phishing links"}
    r = desk.client.post(
        "/api/v1/tickets",
        json={"subject": "Help", "channel": "email", "account_id": desk.other_id},
        headers=desk.admin,
    )
    assert problem(r, 403)["detail"] == "support for this account is refused: Phishing links"
    r = desk.client.post(f"{url}/refuse", json={"reason": "x"}, headers=desk.lead)
    assert problem(r, 409)["detail"].startswith(f"account {desk.other_id} is refused already")


def test_a_plain_agent_or_a_contact_cannot_ban_refuse_or_reinstate(desk: Desk) -> None:
    urls = [f"/api/v1/accounts/{desk.acme_id}/{a}" for a in ("ban", "refuse", "reinstate")]
    for url in urls:
        r = desk.client.post(url, json={"reason": "Because"}, headers=desk.agent)
        assert problem(r, 403)["detail"] == "this needs the lead role"
    sign_in(desk, desk.ann_email)
    for url in urls:
        r = desk.client.post(url, json={"reason": "Because"})
        assert problem(r, 403)["detail"] == "this needs a support agent"
    desk.client.cookies.clear()
    for url in urls:
        r = desk.client.post(url, json={"reason": "Because"})
        assert problem(r, 401)["title"] == "Not signed in"
    status = desk.client.get(f"/api/v1/accounts/{desk.acme_id}", headers=desk.agent).json()
    assert status["status"] == "active"


def test_a_status_change_needs_a_reason(desk: Desk) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "Field required"),
        ({"reason": ""}, "String should have at least 1 character"),
        ({"reason": "  \n "}, "String should have at least 1 character"),
        ({"reason": "x" * 2001}, "String should have at most 2000 characters"),
        ({"reason": None}, "Input should be a valid string"),
    ]
    for action in ("ban", "refuse", "reinstate"):
        url = f"/api/v1/accounts/{desk.acme_id}/{action}"

        def send(body: dict[str, Any], url: str = url) -> Any:
            return desk.client.post(url, json=body, headers=desk.lead)

        refused_each(send, [(body, "body.reason", message) for body, message in cases])


# ----- billing (RL1) ----------------------------------------------------------------------------


def test_agents_get_billing_information_and_every_release_is_audited(
    desk: Desk, factory: sessionmaker[Session]
) -> None:
    for subject in ("One", "Two"):
        r = desk.client.post(
            "/api/v1/tickets",
            json={"subject": subject, "channel": "email", "account_id": desk.other_id},
            headers=desk.agent,
        )
        assert r.status_code == 201
    ticket = r.json()
    desk.client.post(
        f"/api/v1/tickets/{ticket['id']}/events",
        json={"type": "status", "status": "resolved"},
        headers={**desk.agent, "If-Match": '"1"'},
    )
    r = desk.client.get(f"/api/v1/accounts/{desk.other_id}/billing", headers=desk.agent)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "account_id": desk.other_id,
        "plan": "high_priority",
        "contract": None,
        "attributes": {"high_priority": True},
        "ticket_count": 2,
        "open_ticket_count": 1,
    }
    [entry] = audited(factory, "billing.disclose")
    assert (entry.agent_id, entry.contact_id) == (me(desk, desk.agent)["id"], None)
    assert entry.target == f"account:{desk.other_id}"
    assert entry.at == NOW


def test_a_contact_gets_billing_information_only_once_its_identity_is_verified(
    desk: Desk, factory: sessionmaker[Session]
) -> None:
    ann = contact_id(desk, desk.ann_email)
    url = f"/api/v1/accounts/{desk.acme_id}/billing"
    assert problem(desk.client.get(url), 401)["title"] == "Not signed in"
    sign_in(desk, desk.ann_email)
    r = desk.client.get(url)
    assert problem(r, 403)["detail"] == (
        "billing information is released to a contact only once its identity has been "
        "verified (RL1); ask support to verify it"
    )
    assert audited(factory, "billing.disclose") == []

    verified = (NOW - dt.timedelta(hours=1)).isoformat()
    r = desk.client.patch(
        f"/api/v1/contacts/{ann}", json={"identity_verified_at": verified}, headers=desk.admin
    )
    assert r.json()["identity_verified_at"] == "2026-11-24T14:00:00Z"
    r = desk.client.get(url)
    assert r.status_code == 200, r.text
    assert r.json()["plan"] == "standard"
    [entry] = audited(factory, "billing.disclose")
    assert (entry.agent_id, entry.contact_id) == (None, ann)
    assert entry.detail == {"identity_verified_at": "2026-11-24T14:00:00+00:00"}

    # Verified or not, another account's billing does not exist for this contact (RL3).
    r = desk.client.get(f"/api/v1/accounts/{desk.other_id}/billing")
    assert problem(r, 404)["detail"] == f"no account {desk.other_id}"
    assert "high_priority" not in r.text
    assert len(audited(factory, "billing.disclose")) == 1


# ----- contacts ---------------------------------------------------------------------------------


def test_an_admin_creates_a_contact_with_a_lower_cased_unique_email(
    desk: Desk, factory: sessionmaker[Session]
) -> None:
    created = new_contact(
        desk, email="  Bea.Smith@ACME.test ", phone="+1 (555) 010-4477 x12", trained=True
    )
    assert created["email"] == "bea.smith@acme.test"
    assert created["trained"] is True
    assert created["identity_verified_at"] is None
    assert "password_hash" not in created
    got = desk.client.get(f"/api/v1/contacts/{created['id']}", headers=desk.agent).json()
    assert got == created
    [entry] = audited(factory, "contact.create")
    assert entry.detail == {"account_id": desk.acme_id}

    for email in ("BEA.SMITH@acme.test", desk.ann_email.upper()):
        r = desk.client.post(
            "/api/v1/contacts", json={"name": "Dup", "email": email}, headers=desk.admin
        )
        body = problem(r, 422)
        assert body["field"] == "email"
        assert body["detail"] == f"a contact with e-mail {email.lower()} exists"
    r = desk.client.patch(
        f"/api/v1/contacts/{created['id']}", json={"email": desk.ann_email}, headers=desk.admin
    )
    assert problem(r, 422)["detail"] == f"a contact with e-mail {desk.ann_email} exists"
    r = desk.client.patch(
        f"/api/v1/contacts/{created['id']}",
        json={"email": "Bea@Acme.test", "phone": None, "trained": False},
        headers=desk.admin,
    )
    assert (r.json()["email"], r.json()["phone"], r.json()["trained"]) == (
        "bea@acme.test",
        None,
        False,
    )
    [entry] = audited(factory, "contact.update")
    assert entry.detail == {"changed": ["email", "phone", "trained"]}


def test_a_contact_created_with_a_password_signs_in_to_the_portal(desk: Desk) -> None:
    new_contact(desk, password="long-enough")
    r = desk.client.post(
        "/api/v1/portal/login", json={"email": "bea@acme.test", "password": "long-enough"}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["kind"], r.json()["account_id"]) == ("contact", desk.acme_id)


NEW_CONTACT_REFUSALS: list[Case] = [
    ({"email": "a@b"}, "body.name", "Field required"),
    ({"name": "A"}, "body.email", "Field required"),
    (
        {"name": "A", "email": "not an e-mail"},
        "body.email",
        "String should match pattern '^[^@\\s]+@[^@\\s]+$'",
    ),
    (
        {"name": "A", "email": "a@b", "phone": "call me"},
        "body.phone",
        "String should match pattern "
        "'^\\+?[0-9][0-9 ().\\-/]{2,40}(?:\\s*(?:x|ext\\.?)\\s*[0-9]{1,6})?$'",
    ),
    (
        {"name": "A", "email": "a@b", "password": "short"},
        "body.password",
        "String should have at least 8 characters",
    ),
    (
        {"name": "A", "email": "a@b", "identity_verified_at": "2026-11-24T10:00:00"},
        "body.identity_verified_at",
        "Input should have timezone info",
    ),
    (
        {"name": "A", "email": "a@b", "account_id": 0},
        "body.account_id",
        ("Input should be greater than or equal to 1"),
    ),
    (
        {"name": "A", "email": "a@b", "trained": "maybe"},
        "body.trained",
        ("Input should be a valid boolean, unable to interpret input"),
    ),
    (
        {"name": "A", "email": "a@b", "password_hash": "x"},
        "body.password_hash",
        ("Extra inputs are not permitted"),
    ),
]


def test_a_malformed_new_contact_is_refused_naming_the_field(desk: Desk) -> None:
    def send(body: dict[str, Any]) -> Any:
        return desk.client.post("/api/v1/contacts", json=body, headers=desk.admin)

    refused_each(send, NEW_CONTACT_REFUSALS)


def test_a_new_contact_needs_an_existing_account_and_a_past_verification(desk: Desk) -> None:
    r = desk.client.post(
        "/api/v1/contacts",
        json={"name": "A", "email": "a@b", "account_id": 999999},
        headers=desk.admin,
    )
    body = problem(r, 422)
    assert (body["field"], body["detail"]) == ("account_id", "no account 999999")
    future = (NOW + dt.timedelta(days=1)).isoformat()
    r = desk.client.post(
        "/api/v1/contacts",
        json={"name": "A", "email": "a@b", "identity_verified_at": future},
        headers=desk.admin,
    )
    body = problem(r, 422)
    assert (body["field"], body["detail"]) == (
        "identity_verified_at",
        "identity_verified_at is in the future",
    )


CONTACT_CHANGE_REFUSALS: list[Case] = [
    ({"name": None}, "body.name", "Value error, may be left out, but not null"),
    ({"email": None}, "body.email", "Value error, may be left out, but not null"),
    ({"password": None}, "body.password", "Value error, may be left out, but not null"),
    ({"trained": None}, "body.trained", "Input should be a valid boolean"),
    ({"email": "nope"}, "body.email", "String should match pattern '^[^@\\s]+@[^@\\s]+$'"),
]


def test_a_malformed_contact_change_is_refused_naming_the_field(desk: Desk) -> None:
    url = f"/api/v1/contacts/{contact_id(desk, desk.ann_email)}"

    def send(body: dict[str, Any]) -> Any:
        return desk.client.patch(url, json=body, headers=desk.admin)

    refused_each(send, CONTACT_CHANGE_REFUSALS)


def test_agents_read_contacts_admins_change_them_contacts_do_neither(desk: Desk) -> None:
    listed = desk.client.get(
        "/api/v1/contacts", params={"account_id": desk.acme_id}, headers=desk.agent
    ).json()
    assert [c["email"] for c in listed["items"]] == [desk.ann_email]
    ann = listed["items"][0]["id"]
    assert desk.client.get(f"/api/v1/contacts/{ann}", headers=desk.lead).status_code == 200
    r = desk.client.patch(f"/api/v1/contacts/{ann}", json={"name": "X"}, headers=desk.lead)
    assert problem(r, 403)["detail"] == "this needs the admin role"
    r = desk.client.post("/api/v1/contacts", json={"name": "X", "email": "x@y"}, headers=desk.agent)
    assert problem(r, 403)["detail"] == "this needs the admin role"
    assert (
        problem(desk.client.get("/api/v1/contacts/999999", headers=desk.agent), 404)["detail"]
        == "no contact 999999"
    )

    sign_in(desk, desk.ann_email)
    for r in (desk.client.get("/api/v1/contacts"), desk.client.get(f"/api/v1/contacts/{ann}")):
        assert problem(r, 403)["detail"] == "this needs a support agent"
