"""Delivery to real servers on loopback: SMTP (aiosmtpd) and an HTTP receiver standing in for
the team's chat webhook and the SMS gateway. No notifier is faked here."""

from __future__ import annotations

import pytest

from policydesk.notify.webhook import verify
from policydesk.settings import Settings
from policydesk.worker.runner import Worker
from tests.mail._ports import free_port
from tests.mail.smtp_server import SmtpServer, smtp_server
from tests.worker.conftest import MakeDesk, at
from tests.worker.receivers import HttpReceiver, http_receiver

__all__ = ["http_receiver", "smtp_server"]

SATURDAY_NIGHT = "2026-11-28T23:30:00-06:00"


def real_worker(desk: object, smtp_port: int, http: HttpReceiver, **extra: object) -> Worker:
    settings = Settings(
        smtp_port=smtp_port,
        webhook_urls=[http.url("/hooks/team")],
        webhook_secret="hook-secret",
        sms_gateway_url=http.url("/sms"),
        sms_gateway_token="sms-token",
        delivery_backoff_seconds=60,
        **extra,  # type: ignore[arg-type]
    )
    return Worker(settings, desk.factory, clock=lambda: desk.clock[0])  # type: ignore[attr-defined]


def test_an_emergency_page_arrives_by_email_webhook_and_sms(
    make_desk: MakeDesk, smtp_server: SmtpServer, http_receiver: HttpReceiver
) -> None:
    desk = make_desk("restaurant.yaml", now=SATURDAY_NIGHT, plan="24x7")
    desk.worker = real_worker(desk, smtp_server.port, http_receiver)
    tid = desk.open(SATURDAY_NIGHT, subject="Store is down", channel="phone")
    done = desk.run(SATURDAY_NIGHT)
    assert done.delivery.delivered == done.delivery.taken == 4  # ack, page by e-mail/SMS/hook
    subject = f"[#{tid}] EMERGENCY (page 1): Store is down"
    (page,) = [m for m in smtp_server.parsed if m["Subject"] == subject]
    assert page["To"] == "pat@desk.test"
    assert page["Auto-Submitted"] == "auto-generated"
    assert page["X-Policydesk-Ticket"] == str(tid)
    assert "It pages every 10 minutes until someone acknowledges it." in page.get_content()
    ack = [m for m in smtp_server.parsed if m["To"] == "ann@acme.test"]
    assert ack[0]["Auto-Submitted"] == "auto-replied"
    sms = [r for r in http_receiver.requests if r.path == "/sms"]
    assert [r.json()["to"] for r in sms] == ["+15550000005"]
    assert sms[0].json()["text"] == subject
    assert sms[0].headers["Authorization"] == "Bearer sms-token"
    (hook,) = [r for r in http_receiver.requests if r.path == "/hooks/team"]
    assert hook.json()["ticket_id"] == tid
    assert hook.json()["text"].startswith(f"**{subject}**")
    stamp, signature = (
        hook.headers["X-Policydesk-Timestamp"],
        hook.headers["X-Policydesk-Signature"],
    )
    assert verify("hook-secret", stamp, hook.body, signature)
    assert not verify("another-secret", stamp, hook.body, signature)
    key = hook.headers["Idempotency-Key"]
    assert key.startswith(f"t{tid}:page:")
    assert key.endswith(":1:webhook:0")


def test_a_warning_and_a_breach_arrive_at_a_real_smtp_server(
    make_desk: MakeDesk, smtp_server: SmtpServer, http_receiver: HttpReceiver
) -> None:
    desk = make_desk("rarelogic.yaml", now="2026-11-27T16:59:00-05:00")
    desk.worker = real_worker(desk, smtp_server.port, http_receiver)
    tid = desk.open("2026-11-27T16:59:00-05:00")
    desk.run("2026-11-27T16:59:00-05:00")
    desk.run("2026-11-30T10:29:00-05:00")
    desk.run("2026-11-30T10:59:00-05:00")
    subjects = [(m["To"], m["Subject"]) for m in smtp_server.parsed]
    assert subjects == [
        ("ann@acme.test", f"[#{tid}] We have received your request: A question"),
        (
            "sam@desk.test",
            f"[#{tid}] Warning: first response due Mon 2026-11-30 10:59 EST — A question",
        ),
        (
            "admin@desk.test",
            f"[#{tid}] Breached: first response was due Mon 2026-11-30 10:59 EST — A question",
        ),
        (
            "lead@desk.test",
            f"[#{tid}] Breached: first response was due Mon 2026-11-30 10:59 EST — A question",
        ),
    ]
    ids = [m["Message-ID"] for m in smtp_server.parsed]
    assert len(set(ids)) == 4
    rows = {row.recipient + row.subject: row for row in desk.outbox() if row.channel == "email"}
    assert {r.data["message_id"] for r in rows.values()} == set(ids)
    assert all(r.status == "delivered" for r in rows.values())


def test_a_webhook_that_answers_503_is_retried_and_a_400_is_given_up(
    make_desk: MakeDesk, smtp_server: SmtpServer, http_receiver: HttpReceiver
) -> None:
    desk = make_desk("restaurant.yaml", now=SATURDAY_NIGHT, plan="24x7")
    desk.worker = real_worker(desk, smtp_server.port, http_receiver)
    http_receiver.statuses = [503, 400]  # the hook first, then the SMS gateway
    desk.open(SATURDAY_NIGHT, subject="Store is down", channel="phone")
    done = desk.run(SATURDAY_NIGHT)
    assert (done.delivery.retried, done.delivery.dead) == (1, 1)
    rows = {row.channel: row for row in desk.outbox()}
    assert rows["webhook"].status == "pending"
    assert "HTTP 503" in (rows["webhook"].last_error or "")
    assert rows["sms"].status == "dead"
    assert "HTTP 400" in (rows["sms"].last_error or "")
    desk.run(at("2026-11-28T23:31:00-06:00"))
    assert {row.channel: row.status for row in desk.outbox()}["webhook"] == "delivered"


def test_an_smtp_server_that_is_down_leaves_the_message_for_later(
    make_desk: MakeDesk, http_receiver: HttpReceiver
) -> None:
    desk = make_desk("rarelogic.yaml", now="2026-11-27T16:59:00-05:00")
    desk.worker = real_worker(desk, free_port(), http_receiver, smtp_timeout_seconds=2)
    desk.open("2026-11-27T16:59:00-05:00")
    done = desk.run("2026-11-27T16:59:00-05:00")
    assert done.delivery.retried == 1
    (row,) = desk.outbox()
    assert row.status == "pending"
    assert "ConnectionRefusedError" in (row.last_error or "")


pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
