"""The agents' console over HTTP, on both databases: who may use it, what the queue and a
ticket show, and forms that either apply or come back with what was typed and the reason."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy.orm import Session, sessionmaker

from policydesk.db.engine import session_scope
from policydesk.mail.models import MailMessage
from policydesk.web.context import SESSION_COOKIE
from tests.web.conftest import NOW, PASSWORD, Desk

ROOT = Path(__file__).resolve().parents[2]
FORM_TOKEN = re.compile(r'name="token" value="([0-9a-f]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')


def sign_in(desk: Desk, email: str = "agent@desk.test", next_page: str = "/console/") -> str:
    """Sign in through the form; the client keeps the cookie. Returns the form token."""
    r = desk.client.post(
        "/console/login",
        data={"email": email, "password": PASSWORD, "next": next_page},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = desk.client.get("/console/")
    found = FORM_TOKEN.search(page.text)
    assert found is not None, page.text
    return found[1]


def open_ticket(desk: Desk, subject: str = "Export fails", **body: object) -> int:
    payload = {"subject": subject, "channel": "email", "account_id": desk.acme_id, **body}
    r = desk.client.post("/api/v1/tickets", json=payload, headers=desk.agent)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def events(desk: Desk, ticket_id: int) -> list[str]:
    r = desk.client.get(f"/api/v1/tickets/{ticket_id}", headers=desk.agent)
    return [e["type"] for e in r.json()["events"]]


def post_event(desk: Desk, ticket_id: int, token: str, **form: str) -> object:
    data = {"token": token, "version": "1", "type": "reply", "body": "", "status": ""} | form
    return desk.client.post(
        f"/console/tickets/{ticket_id}/events", data=data, follow_redirects=False
    )


def test_a_stranger_is_sent_to_sign_in_and_then_to_the_page_asked_for(desk: Desk) -> None:
    tid = open_ticket(desk)
    r = desk.client.get(f"/console/tickets/{tid}", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/console/login?next=/console/tickets/{tid}"
    r = desk.client.post(
        "/console/login",
        data={"email": "agent@desk.test", "password": PASSWORD, "next": f"/console/tickets/{tid}"},
        follow_redirects=False,
    )
    assert (r.status_code, r.headers["location"]) == (303, f"/console/tickets/{tid}")
    assert "httponly" in r.headers["set-cookie"].lower()
    assert "samesite=lax" in r.headers["set-cookie"].lower()
    assert "Export fails" in desk.client.get(f"/console/tickets/{tid}").text


def test_the_home_page_is_the_console(desk: Desk) -> None:
    r = desk.client.get("/", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/console/")


def test_a_wrong_password_is_refused_and_the_email_kept(desk: Desk) -> None:
    r = desk.client.post("/console/login", data={"email": "agent@desk.test", "password": "guess"})
    assert r.status_code == 401
    assert "wrong e-mail or password" in r.text
    assert 'value="agent@desk.test"' in r.text
    assert SESSION_COOKIE not in r.headers.get("set-cookie", "")


@pytest.mark.parametrize("target", ["https://evil.test/", "//evil.test/console/", "/api/v1/me"])
def test_signing_in_never_leads_off_the_console(desk: Desk, target: str) -> None:
    r = desk.client.post(
        "/console/login",
        data={"email": "agent@desk.test", "password": PASSWORD, "next": target},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/console/"


def test_a_contact_cannot_use_the_console(desk: Desk) -> None:
    r = desk.client.post("/console/login", data={"email": desk.ann_email, "password": PASSWORD})
    assert r.status_code == 401
    portal = desk.client.post(
        "/api/v1/portal/login", json={"email": desk.ann_email, "password": PASSWORD}
    )
    assert portal.status_code == 200
    r = desk.client.get("/console/", follow_redirects=False)  # with the portal's cookie
    assert r.status_code == 303
    assert r.headers["location"].startswith("/console/login")


def test_every_console_page_needs_an_agents_session(desk: Desk) -> None:
    tid = open_ticket(desk, subject="Secret recipe")
    app = desk.client.app
    routes = {
        (method, route.path)
        for route in iter_route_contexts(app.routes)  # type: ignore[attr-defined]
        if route.path is not None and route.path.startswith("/console")
        for method in route.methods or ()
    }
    open_to_all = {("GET", "/console/login"), ("POST", "/console/login"),
                   ("POST", "/console/logout")}  # fmt: skip
    guarded = sorted(routes - open_to_all)
    assert len(guarded) >= 3, guarded
    callers = {"nobody": {}, "an API token": desk.agent}
    for method, path in guarded:
        for who, headers in callers.items():
            desk.client.cookies.clear()
            r = desk.client.request(
                method, path.replace("{ticket_id}", str(tid)), headers=headers,
                data={"type": "note", "body": "x"} if method == "POST" else None,
                follow_redirects=False,
            )  # fmt: skip
            if r.status_code == 401:  # a typed form: signing in is offered on the spot
                assert 'action="/console/login"' in r.text, (method, path, who)
            else:
                assert r.status_code == 303, (method, path, who, r.text)
                assert r.headers["location"].startswith("/console/login")
            assert "Secret recipe" not in r.text
    assert events(desk, tid) == ["received"]


def test_the_queue_shows_the_most_urgent_first_with_the_time_left(desk: Desk) -> None:
    open_ticket(desk, subject="Acme asks about exports")
    open_ticket(desk, subject="Other's checkout is down", account_id=desk.other_id)
    sign_in(desk)
    page = desk.client.get("/console/").text
    assert page.index("Other&#39;s checkout is down") < page.index("Acme asks about exports")
    assert "2 h 00 min left" in page  # 10:00 on a Tuesday, 2 support hours (RL11)
    assert "Tue 2026-11-24 12:00 EST" in page  # shown in the policy's zone


def test_a_filter_with_a_status_nobody_has_shows_the_open_work(desk: Desk) -> None:
    open_ticket(desk)
    sign_in(desk)
    assert "Export fails" in desk.client.get("/console/?status=nonsense&cursor=zzz").text


def test_a_ticket_shows_each_clock_with_the_clauses_behind_it(desk: Desk) -> None:
    tid = open_ticket(desk)
    sign_in(desk)
    page = desk.client.get(f"/console/tickets/{tid}").text
    assert "first response" in page
    assert "target 2 business hours" in page
    assert "(RL11)" in page


def test_a_reply_from_the_console_is_recorded_and_the_page_says_so(desk: Desk) -> None:
    tid = open_ticket(desk)
    token = sign_in(desk)
    r = post_event(desk, tid, token, body="Here is how to export.")
    assert r.status_code == 303  # type: ignore[attr-defined]
    assert r.headers["location"] == f"/console/tickets/{tid}?done=reply"  # type: ignore[attr-defined]
    page = desk.client.get(r.headers["location"]).text  # type: ignore[attr-defined]
    assert "Reply queued for sending." in page
    assert "Here is how to export." in page
    assert events(desk, tid) == ["received", "reply"]
    r = post_event(desk, tid, token, version="2", type="status", status="resolved")
    assert r.status_code == 303  # type: ignore[attr-defined]
    detail = desk.client.get(f"/api/v1/tickets/{tid}", headers=desk.agent).json()
    assert detail["status"] == "resolved"


def test_a_stale_form_keeps_the_typed_reply_and_says_the_ticket_changed(desk: Desk) -> None:
    tid = open_ticket(desk)
    token = sign_in(desk)
    r = desk.client.post(
        f"/api/v1/tickets/{tid}/events",
        json={"type": "note", "body": "Looking into it."},
        headers={**desk.lead, "If-Match": '"1"'},
    )
    assert r.status_code == 200
    r = post_event(desk, tid, token, body="My long & careful answer")
    assert r.status_code == 412  # type: ignore[attr-defined]
    page = r.text  # type: ignore[attr-defined]
    assert "Someone changed this ticket while you had it open" in page
    assert html.escape("My long & careful answer") in page
    assert "Looking into it." in page
    version = VERSION.search(page)
    assert version is not None
    assert version[1] == "2"  # sending again applies it, now that the agent has seen the note
    assert events(desk, tid) == ["received", "note"]


KEPT_FIELD = re.compile(r'name="kept_(\w+)" value="([^"]*)"')
KEPT_BODY = re.compile(r'<textarea name="kept_body" hidden>(.*?)</textarea>', re.DOTALL)
REPLY_BOX = re.compile(r'<textarea id="body" name="body">(.*?)</textarea>', re.DOTALL)


def kept_form(page: str) -> dict[str, str]:
    """What the sign-in page will post back: the form the ended session could not send."""
    kept = {f"kept_{k}": html.unescape(v) for k, v in KEPT_FIELD.findall(page)}
    body = KEPT_BODY.search(page)
    assert body is not None, page
    return kept | {"kept_body": html.unescape(body[1])}


def test_a_reply_sent_after_the_session_ended_comes_back_unsent_after_signing_in(
    desk: Desk,
) -> None:
    tid = open_ticket(desk)
    token = sign_in(desk)
    desk.at(NOW + dt.timedelta(days=15))  # sessions last 14 days
    answer = "Dear Ann,\n\nexport with <Ctrl-E> & save as CSV."
    r = post_event(desk, tid, token, body=answer, suggestion="true")
    assert r.status_code == 401  # type: ignore[attr-defined]
    page = r.text  # type: ignore[attr-defined]
    assert "Your session has ended" in page
    kept = kept_form(page)
    assert kept["kept_body"] == answer
    assert (kept["kept_type"], kept["kept_suggestion"]) == ("reply", "on")
    assert events(desk, tid) == ["received"]  # nothing was sent

    wrong = {"email": "agent@desk.test", "password": "typo", "next": f"/console/tickets/{tid}"}
    r = desk.client.post("/console/login", data=wrong | kept)
    assert r.status_code == 401
    assert kept_form(r.text) == kept  # a mistyped password loses nothing either

    again = wrong | {"password": PASSWORD}
    r = desk.client.post("/console/login", data=again | kept, follow_redirects=False)
    assert r.status_code == 200
    assert SESSION_COOKIE in r.headers["set-cookie"]
    assert "what you typed is back in the form below, not sent yet" in r.text
    box = REPLY_BOX.search(r.text)
    assert box is not None
    assert html.unescape(box[1]) == answer
    assert 'name="suggestion" value="true" checked' in r.text
    assert events(desk, tid) == ["received"]

    fresh = FORM_TOKEN.search(r.text)
    assert fresh is not None
    r = post_event(desk, tid, fresh[1], body=answer)
    assert r.status_code == 303  # type: ignore[attr-defined]
    assert events(desk, tid) == ["received", "reply"]


def test_a_form_without_the_sessions_token_changes_nothing(desk: Desk) -> None:
    tid = open_ticket(desk)
    sign_in(desk)
    r = post_event(desk, tid, "0" * 64, body="Forged")
    assert r.status_code == 401  # type: ignore[attr-defined]
    assert "this form is out of date" in r.text  # type: ignore[attr-defined]
    assert events(desk, tid) == ["received"]


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({"body": "   "}, "the reply is empty"),
        ({"type": "note"}, "the note is empty"),
        ({"type": "status", "status": "lost"}, "status"),
        ({"type": "override", "body": "x"}, "is not one of: reply, note, status"),
    ],
)
def test_an_incomplete_form_is_refused_naming_what_is_wrong(
    desk: Desk, form: dict[str, str], reason: str
) -> None:
    tid = open_ticket(desk)
    token = sign_in(desk)
    r = post_event(desk, tid, token, **form)
    assert r.status_code == 422  # type: ignore[attr-defined]
    assert reason in r.text  # type: ignore[attr-defined]
    assert events(desk, tid) == ["received"]


def test_an_unknown_ticket_is_a_404_page(desk: Desk) -> None:
    sign_in(desk)
    r = desk.client.get("/console/tickets/99999")
    assert r.status_code == 404
    assert "Back to the queue" in r.text


def test_what_customers_write_is_shown_as_text_never_as_markup(desk: Desk) -> None:
    tid = open_ticket(desk, subject="<script>alert(1)</script>", body="<img src=x onerror=1>")
    sign_in(desk)
    for path in ("/console/", f"/console/tickets/{tid}"):
        page = desk.client.get(path).text
        assert "<script>alert" not in page
        assert "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_signing_out_ends_the_session(desk: Desk) -> None:
    token = sign_in(desk)
    sid = desk.client.cookies.get(SESSION_COOKIE)
    r = desk.client.post("/console/logout", data={"token": token}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/console/login")
    desk.client.cookies.set(SESSION_COOKIE, sid or "")  # even a copy of the cookie is dead
    assert desk.client.get("/console/", follow_redirects=False).status_code == 303


def test_the_pages_run_no_script_and_say_only_their_own_messages(desk: Desk) -> None:
    tid = open_ticket(desk)
    sign_in(desk)
    r = desk.client.get(f"/console/tickets/{tid}?done=Call+this+number+to+log+in+again")
    assert "script-src" not in r.headers["content-security-policy"]
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert "Call this number" not in r.text


def test_taking_a_ticket_makes_it_yours_and_the_next_taker_is_told_who_has_it(desk: Desk) -> None:
    tid = open_ticket(desk)
    token = sign_in(desk)
    r = desk.client.post(
        f"/console/tickets/{tid}/take", data={"token": token}, follow_redirects=False
    )
    assert r.headers["location"] == f"/console/tickets/{tid}?done=take"
    page = desk.client.get(r.headers["location"]).text
    assert "The ticket is yours." in page
    assert "Take it" not in page
    token = sign_in(desk, email="lead@desk.test")
    r = desk.client.post(f"/console/tickets/{tid}/take", data={"token": token})
    assert r.status_code == 409
    assert f"ticket {tid} was taken by Agent already" in r.text


def test_a_tier_move_the_ladder_refuses_comes_back_with_the_reason(desk: Desk) -> None:
    text = (ROOT / "policies" / "restaurant.yaml").read_text()
    r = desk.client.post(
        "/api/v1/policy", json={"text": text, "source": "restaurant.yaml"}, headers=desk.admin
    )
    assert r.status_code == 201, r.text
    r = desk.client.post(
        "/api/v1/accounts", json={"name": "Mesa Grill", "plan": "business_hours"},
        headers=desk.admin,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    tid = open_ticket(desk, subject="Menu sync fails", channel="phone", account_id=r.json()["id"])
    token = sign_in(desk)
    r = post_event(desk, tid, token, type="tier", tier="L2")
    assert r.status_code == 409  # type: ignore[attr-defined]
    assert "L1 has logged 0 of the 1 suggestion" in r.text  # type: ignore[attr-defined]  # RS4
    assert events(desk, tid) == ["received"]
    r = post_event(desk, tid, token, type="reply", body="Try a resync.", suggestion="true")
    assert r.status_code == 303  # type: ignore[attr-defined]
    r = post_event(desk, tid, token, version="2", type="tier", tier="L2")
    assert r.status_code == 303  # type: ignore[attr-defined]
    assert "Moved to the new tier." in desk.client.get(f"/console/tickets/{tid}?done=tier").text


def test_quarantined_mail_waits_in_the_console_with_its_reason_and_its_bytes(
    desk: Desk, factory: sessionmaker[Session]
) -> None:
    raw = b"Subject: <b>broken</b>\r\n\r\nno sender at all\r\n"
    with session_scope(factory) as s:
        s.add(MailMessage(message_id="q@x.test", source="smtp", received_at=NOW, kind="unknown",
                          outcome="quarantined", reason="no From address", subject="<b>broken</b>",
                          raw_sha256="0" * 64, raw_size=len(raw), raw=raw))  # fmt: skip
    sign_in(desk)
    page = desk.client.get("/console/mail").text
    assert "no From address" in page
    assert "&lt;b&gt;broken&lt;/b&gt;" in page
    link = re.search(r'href="(/api/v1/mail/messages/\d+/raw)"', page)
    assert link is not None
    r = desk.client.get(link[1])  # the console's session is enough: no API token
    assert (r.status_code, r.content) == (200, raw)
    assert r.headers["content-disposition"].startswith("attachment")
    assert "No ticket mail." in desk.client.get("/console/mail?outcome=ticket").text
