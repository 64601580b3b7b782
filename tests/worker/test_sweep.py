"""The worker at chosen instants: acknowledgements that promise a time, warnings and breaches
once each, what a breach does, emergency pages (RS6, RS7, EC6), on-duty broadcasts (DL5), and
deliveries that retry and give up. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from policydesk.errors import Conflict, EscalationRefused
from tests.worker.conftest import SMS, WEBHOOK, MakeDesk, at

FRIDAY_1659 = "2026-11-27T16:59:00-05:00"


def test_the_acknowledgement_promises_the_first_response_time(make_desk: MakeDesk) -> None:
    desk = make_desk("rarelogic.yaml", now=FRIDAY_1659)
    tid = desk.open(FRIDAY_1659)
    done = desk.run(FRIDAY_1659)
    assert done.sweep.acknowledgements == 1
    ((to, subject),) = desk.sent("email")
    assert to == "ann@acme.test"
    assert subject == f"[#{tid}] We have received your request: A question"
    body = desk.notifiers["email"].sent[0].body
    assert "You will hear back from us by Mon 2026-11-30 10:59 EST." in body
    (event,) = desk.events(tid, "acknowledgement")
    assert event.data["clock"] == "first_response"
    assert at(event.data["promise"]) == at("2026-11-30T10:59:00-05:00")
    assert desk.notifiers["email"].sent[0].data["auto_submitted"] == "auto-replied"


def test_the_promise_is_shown_in_the_customers_zone(make_desk: MakeDesk) -> None:
    desk = make_desk("rarelogic.yaml", now=FRIDAY_1659, zone="America/Los_Angeles")
    desk.open(FRIDAY_1659)
    desk.run(FRIDAY_1659)
    body = desk.notifiers["email"].sent[0].body
    assert "You will hear back from us by Mon 2026-11-30 07:59 PST." in body


def test_a_warning_then_a_breach_go_out_once_each_friday_1659(make_desk: MakeDesk) -> None:
    desk = make_desk("rarelogic.yaml", now=FRIDAY_1659)
    tid = desk.open(FRIDAY_1659)
    desk.run(FRIDAY_1659)
    desk.clear()
    assert desk.ticket(tid).wake_at == at("2026-11-30T10:29:00-05:00")
    assert not desk.run("2026-11-30T10:28:59-05:00").sweep.tickets
    done = desk.run("2026-11-30T10:29:00-05:00")
    assert (done.sweep.alerts, done.delivery.delivered) == (1, 1)
    # on_warning: the assignee (nobody yet) and whoever is on duty at 10:29 (Sam, not Nia)
    assert desk.sent("email") == [
        (
            "sam@desk.test",
            f"[#{tid}] Warning: first response due Mon 2026-11-30 10:59 EST — A question",
        )
    ]
    assert desk.run("2026-11-30T10:29:30-05:00").sweep.alerts == 0
    desk.clear()
    done = desk.run("2026-11-30T10:59:00-05:00")
    assert done.sweep.alerts == 1
    # on_breach: the assignee and the leads, by e-mail and on the team's webhook
    assert sorted(to for to, _ in desk.sent("email")) == ["admin@desk.test", "lead@desk.test"]
    assert [to for to, _ in desk.sent("webhook")] == [WEBHOOK]
    assert desk.run("2026-11-30T12:00:00-05:00").sweep.alerts == 0
    kinds = [(e.type, e.data.get("clock")) for e in desk.events(tid, "warning", "breach")]
    assert kinds == [("warning", "first_response"), ("breach", "first_response")]
    assert desk.ticket(tid).wake_at is None  # the follow-up clock waits for a first touch


def test_a_ticket_answered_in_time_warns_nobody(make_desk: MakeDesk) -> None:
    desk = make_desk("rarelogic.yaml", now=FRIDAY_1659)
    tid = desk.open(FRIDAY_1659)
    desk.run(FRIDAY_1659)
    desk.event(tid, "2026-11-30T09:30:00-05:00", type="reply", body="Looking into it")
    desk.clear()
    assert desk.run("2026-11-30T10:29:00-05:00").sweep.tickets == 0
    assert desk.run("2026-11-30T11:00:00-05:00").sweep.tickets == 0
    # the reply itself went to the customer; no alert to anyone
    assert desk.sent("email") == [("ann@acme.test", f"Re: [#{tid}] A question")]
    # The follow-up clock (RL12) now runs from the first touch: it warns with a quarter left.
    assert desk.ticket(tid).wake_at == at("2026-12-02T11:30:00-05:00")


def test_a_worker_stopped_over_the_weekend_sends_the_breach_not_the_stale_warning(
    make_desk: MakeDesk,
) -> None:
    desk = make_desk("rarelogic.yaml", now=FRIDAY_1659)
    tid = desk.open(FRIDAY_1659)
    done = desk.run("2026-11-30T14:00:00-05:00")
    assert (done.sweep.acknowledgements, done.sweep.alerts) == (1, 1)
    assert [e.type for e in desk.events(tid, "warning", "breach")] == ["breach"]


def test_a_holiday_moves_the_warning_to_the_next_support_day(make_desk: MakeDesk) -> None:
    # Christmas and Boxing Day are Canadian holidays (RL10).
    desk = make_desk("rarelogic.yaml", now="2026-12-24T16:45:00-05:00")
    tid = desk.open("2026-12-24T16:45:00-05:00")
    desk.run("2026-12-24T16:45:00-05:00")
    assert desk.ticket(tid).wake_at == at("2026-12-29T10:15:00-05:00")
    assert desk.run("2026-12-28T12:00:00-05:00").sweep.alerts == 0
    assert desk.run("2026-12-29T10:15:00-05:00").sweep.alerts == 1


BREACH_ACTS = """\
name: Breaches that act
calendars:
  office: {zone: America/New_York, hours: {weekdays: ["09:00-17:00"]}}
channels: [email, phone]
priorities:
  - name: urgent
  - name: normal
default_priority: normal
clocks:
  first_response:
    met_on_touch: true
    targets: [{priority: urgent, business_hours: 1}, {business_hours: 4}]
    on_breach: {notify: [tier], raise_priority: urgent, move_to_tier: L2, cite: X9}
escalation: {tiers: [L1, L2, PT]}
"""


def test_a_breach_raises_the_priority_and_moves_the_ticket_up_a_tier(make_desk: MakeDesk) -> None:
    desk = make_desk(BREACH_ACTS, now="2026-11-24T09:00:00-05:00")
    tid = desk.open("2026-11-24T09:00:00-05:00")
    before = desk.ticket(tid)
    done = desk.run("2026-11-24T13:00:00-05:00")
    assert done.sweep.alerts == 1
    after = desk.ticket(tid)
    assert (after.priority, after.tier) == ("urgent", "L2")
    assert after.version == before.version + 1  # an agent holding the old ETag gets 412
    breach = desk.events(tid, "breach")[0]
    assert breach.data["done"] == ["priority raised from normal to urgent", "moved from L1 to L2"]
    # notify [tier]: the agents of the ticket's tier after the move
    alerts = sorted(to for to, subject in desk.sent("email") if "Breached" in subject)
    assert alerts == ["admin@desk.test", "lead@desk.test"]
    # The raised priority re-targets the clock (1 hour from receipt): breached already, and
    # recorded so, but not told twice.
    (_, silent) = desk.events(tid, "breach")
    assert at(silent.data["due"]) == at("2026-11-24T10:00:00-05:00")
    assert silent.data["messages"] == 0
    assert desk.ticket(tid).wake_at is None
    assert desk.run("2026-11-24T14:00:00-05:00").sweep.alerts == 0


# ----- emergencies -----------------------------------------------------------------------------

SATURDAY_NIGHT = "2026-11-28T23:30:00-06:00"


def test_an_emergency_pages_every_channel_until_acknowledged(make_desk: MakeDesk) -> None:
    desk = make_desk("restaurant.yaml", now=SATURDAY_NIGHT, plan="24x7")
    tid = desk.open(SATURDAY_NIGHT, subject="Store is down", channel="phone")
    done = desk.run(SATURDAY_NIGHT)
    assert done.sweep.pages == 1
    page = f"[#{tid}] EMERGENCY (page 1): Store is down"
    # notify [tier:PT, on_call] over e-mail, webhook and SMS, all at once (RS6)
    assert ("pat@desk.test", page) in desk.sent("email")
    assert desk.sent("sms") == [("+15550000005", page)]
    assert desk.sent("webhook") == [(WEBHOOK, page)]
    desk.clear()
    assert desk.run("2026-11-28T23:39:59-06:00").sweep.pages == 0
    assert desk.run("2026-11-28T23:40:00-06:00").sweep.pages == 1
    assert desk.sent("sms") == [("+15550000005", f"[#{tid}] EMERGENCY (page 2): Store is down")]
    with desk.factory() as s:
        from policydesk.access import Actor, Staff
        from policydesk.agents.models import Agent
        from policydesk.tickets import service as ticket_service

        ticket_service.acknowledge(
            s, ticket_id=tid, actor=Actor(agent=Staff.of(s.get(Agent, desk.staff["pat"]))),
            now=at("2026-11-28T23:41:00-06:00"),
        )  # fmt: skip
        s.commit()
    assert desk.run("2026-11-28T23:50:00-06:00").sweep.pages == 0
    assert desk.ticket(tid).wake_at is None
    assert [e.data["number"] for e in desk.events(tid, "page")] == [1, 2]


def test_a_business_hours_contract_pages_when_business_opens(make_desk: MakeDesk) -> None:
    desk = make_desk("restaurant.yaml", now="2026-11-24T23:30:00-06:00", plan="business_hours")
    tid = desk.open("2026-11-24T23:30:00-06:00", subject="Payments are down", channel="phone")
    assert desk.run("2026-11-24T23:30:00-06:00").sweep.pages == 0  # RS7
    assert desk.ticket(tid).wake_at == at("2026-11-25T09:00:00-06:00")
    assert desk.run("2026-11-25T09:00:00-06:00").sweep.pages == 1


def test_an_after_hours_voicemail_pages_the_on_call_staff(make_desk: MakeDesk) -> None:
    desk = make_desk("ecellar.yaml", now="2026-11-28T22:00:00-08:00")
    tid = desk.open("2026-11-28T22:00:00-08:00", subject="Voicemail", channel="voicemail")
    desk.run("2026-11-28T22:00:00-08:00")
    assert desk.sent("sms") == [("+15550000005", f"[#{tid}] EMERGENCY (page 1): Voicemail")]
    assert desk.ticket(tid).priority == "immediate"  # EC6 via triage


# ----- routing ---------------------------------------------------------------------------------


def test_a_contact_form_message_reaches_everyone_on_duty_and_tiers_two_and_three(
    make_desk: MakeDesk,
) -> None:
    desk = make_desk("storebuilder.yaml", now="2026-11-24T02:00:00-05:00")
    tid = desk.open("2026-11-24T02:00:00-05:00", subject="Pictures missing", channel="contact_form")
    done = desk.run("2026-11-24T02:00:00-05:00")
    assert done.sweep.broadcasts == 1
    to = sorted(r for r, s in desk.sent("email") if "New ticket" in s)
    # Nia is on her night shift, Sam is not; L2 (admin, lead) and PT (Pat) always (DL5)
    assert to == ["admin@desk.test", "lead@desk.test", "nia@desk.test", "pat@desk.test"]
    with desk.factory() as s:
        from policydesk.access import Actor, Staff
        from policydesk.agents.models import Agent
        from policydesk.tickets import service as ticket_service

        nia = Actor(agent=Staff.of(s.get(Agent, desk.staff["nia"])))
        taken = ticket_service.take_ticket(
            s, ticket_id=tid, actor=nia, now=at("2026-11-24T02:03:00-05:00")
        )
        assert taken.assignee_id == desk.staff["nia"]
        s.commit()
        sam = Actor(agent=Staff.of(s.get(Agent, desk.staff["sam"])))
        with pytest.raises(Conflict, match="taken by Nia Night already"):
            ticket_service.take_ticket(
                s, ticket_id=tid, actor=sam, now=at("2026-11-24T02:04:00-05:00")
            )


def test_an_email_is_not_broadcast_where_the_policy_routes_only_forms(make_desk: MakeDesk) -> None:
    desk = make_desk("storebuilder.yaml", now="2026-11-24T02:00:00-05:00")
    desk.open("2026-11-24T02:00:00-05:00", subject="Question", channel="email")
    assert desk.run("2026-11-24T02:00:00-05:00").sweep.broadcasts == 0


# ----- the escalation ladder through the service (RS4, RS5) ----------------------------------


def test_the_ladder_refuses_and_allows_as_the_restaurant_policy_says(make_desk: MakeDesk) -> None:
    desk = make_desk("restaurant.yaml", now="2026-11-24T10:00:00-06:00", plan="business_hours")
    tid = desk.open("2026-11-24T10:00:00-06:00", subject="Menu sync fails", channel="phone")
    with pytest.raises(EscalationRefused, match="L1 has logged 0 of the 1 suggestion") as info:
        desk.event(tid, "2026-11-24T10:05:00-06:00", type="tier", tier="L2")
    assert info.value.field == "tier"
    desk.event(tid, "2026-11-24T10:06:00-06:00", type="reply", body="Try a resync", suggestion=True)
    with pytest.raises(EscalationRefused, match="may not be skipped: from L1 the next tier is L2"):
        desk.event(tid, "2026-11-24T10:07:00-06:00", type="tier", tier="PT")
    desk.event(tid, "2026-11-24T10:08:00-06:00", type="tier", tier="L2")
    assert desk.ticket(tid).tier == "L2"
    (moved,) = desk.events(tid, "tier")
    assert "best efforts met (RS4)" in moved.data["ladder"]


def test_a_named_request_citing_an_earlier_ticket_goes_straight_to_that_tech(
    make_desk: MakeDesk,
) -> None:
    desk = make_desk("restaurant.yaml", now="2026-11-17T10:00:00-06:00", plan="business_hours")
    earlier = desk.open("2026-11-17T10:00:00-06:00", subject="Printer offline", channel="phone")
    desk.event(earlier, "2026-11-17T11:00:00-06:00", agent="pat", type="note", body="Driver fix")
    tid = desk.open("2026-11-24T10:00:00-06:00", subject="Printer offline again", channel="phone")
    desk.event(tid, "2026-11-24T10:01:00-06:00", type="tier", tier="PT",
               exception="named_request", named_agent_id=desk.staff["pat"],
               cited_ticket_id=earlier)  # fmt: skip
    ticket = desk.ticket(tid)
    assert (ticket.tier, ticket.assignee_id) == ("PT", desk.staff["pat"])
    # Dee (Dev) never worked on the earlier ticket: the records do not bear the request out.
    other = desk.open("2026-11-24T10:30:00-06:00", subject="Printer offline", channel="phone")
    with pytest.raises(EscalationRefused, match="shows no work by Dee Dev"):
        desk.event(other, "2026-11-24T10:31:00-06:00", type="tier", tier="Dev",
                   exception="named_request", named_agent_id=desk.staff["dev"],
                   cited_ticket_id=earlier)  # fmt: skip


# ----- delivery --------------------------------------------------------------------------------


def test_a_failed_delivery_is_retried_with_backoff_then_delivered(make_desk: MakeDesk) -> None:
    desk = make_desk("rarelogic.yaml", now=FRIDAY_1659)
    desk.notifiers["email"].failures = 2
    desk.open(FRIDAY_1659)
    first = desk.run(FRIDAY_1659)
    assert (first.delivery.taken, first.delivery.retried) == (1, 1)
    assert desk.run("2026-11-27T16:59:59-05:00").delivery.taken == 0  # waits 60 s
    assert desk.run("2026-11-27T17:00:00-05:00").delivery.retried == 1  # then 120 s
    assert desk.run("2026-11-27T17:01:59-05:00").delivery.taken == 0
    assert desk.run("2026-11-27T17:02:00-05:00").delivery.delivered == 1
    (row,) = desk.outbox()
    assert (row.status, row.attempts, row.last_error) == ("delivered", 3, None)


def test_a_permanent_failure_is_dead_at_once_with_its_reason(make_desk: MakeDesk) -> None:
    desk = make_desk("rarelogic.yaml", now=FRIDAY_1659)
    desk.notifiers["email"].failures, desk.notifiers["email"].permanent = 1, True
    desk.open(FRIDAY_1659)
    assert desk.run(FRIDAY_1659).delivery.dead == 1
    (row,) = desk.outbox()
    assert (row.status, row.last_error) == ("dead", "email is down (fake)")


def test_sms_goes_to_the_gateway_only_for_agents_with_a_phone(make_desk: MakeDesk) -> None:
    desk = make_desk("restaurant.yaml", now=SATURDAY_NIGHT, plan="24x7")
    desk.open(SATURDAY_NIGHT, subject="Store is down", channel="phone")
    desk.run(SATURDAY_NIGHT)
    assert {row.recipient for row in desk.outbox() if row.channel == "sms"} == {"+15550000005"}
    assert desk.settings.sms_gateway_url == SMS


def test_a_batch_takes_the_earliest_due_tickets_and_leaves_the_rest_for_the_next(
    make_desk: MakeDesk,
) -> None:
    desk = make_desk("rarelogic.yaml", now=FRIDAY_1659)
    late = desk.open("2026-11-27T16:58:00-05:00")
    early = desk.open("2026-11-27T16:50:00-05:00")
    middle = desk.open("2026-11-27T16:55:00-05:00")
    sweeper = desk.worker.sweeper
    with desk.factory() as s:
        assert sweeper.claim(s, now=at(FRIDAY_1659), limit=2) == [early, middle]
        s.rollback()
        assert [t.id for t in sweeper.due(s, now=at(FRIDAY_1659), limit=2)] == [early, middle]
        s.rollback()
        assert sweeper.claim(s, now=at("2026-11-27T16:49:00-05:00"), limit=2) == []
    desk.run(FRIDAY_1659)  # batches of the settings' size: all three acknowledged
    assert all(desk.events(t, "acknowledgement") for t in (late, early, middle))
