"""The console in a real browser (Debian's Chromium, driven by Playwright) against a real
``policydesk serve`` process, on SQLite and PostgreSQL: sign in, the queue, a ticket's clocks,
a reply, and two tabs on one ticket."""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from policydesk.access import Actor, Staff
from policydesk.accounts.models import Account, Contact
from policydesk.agents import service as agent_service
from policydesk.db.engine import session_scope, sessions
from policydesk.policies import service as policy_service
from policydesk.tickets import service as ticket_service
from policydesk.tickets.schemas import TicketCreate
from tests.conftest import CommittedDatabase
from tests.web._serve import serving

ROOT = Path(__file__).resolve().parents[2]
POLICYDESK = Path(sys.executable).parent / "policydesk"
PASSWORD = "browser-pass-1"
SUBJECT = "Checkout page shows the wrong tax rate"


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("Chromium is not installed: `make browser` installs Debian's package")
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def server(database: CommittedDatabase, tmp_path: Path) -> Iterator[str]:
    """A seeded desk served by a real server process; its base URL."""
    now = dt.datetime.now(dt.UTC)
    with session_scope(sessions(database.engine)) as s:
        text = (ROOT / "policies" / "rarelogic.yaml").read_text()
        policy_service.activate_policy(s, text=text, source="rarelogic", now=now)
        agent = agent_service.create_agent(
            s, name="Sam Support", email="sam@desk.test", role="agent", password=PASSWORD, now=now
        )
        acme = Account(name="Acme Store", plan="standard", attributes={}, created_at=now)
        s.add(acme)
        s.flush()
        ann = Contact(name="Ann Owner", email="ann@acme.test", account_id=acme.id, created_at=now)
        s.add(ann)
        s.flush()
        ticket_service.create_ticket(
            s, data=TicketCreate(subject=SUBJECT, channel="email", account_id=acme.id,
                                 requester_id=ann.id, body="Since this morning."),
            actor=Actor(agent=Staff.of(agent)), now=now,
        )  # fmt: skip
    env = {"POLICYDESK_DATABASE_URL": database.url, "POLICYDESK_WORKERS": "1"}
    with serving(env, tmp_path / "serve.log") as port:
        yield f"http://127.0.0.1:{port}"


def submit_sign_in(page: Page, password: str = PASSWORD) -> None:
    """Fill in the sign-in form the page shows, as Sam, and send it."""
    page.get_by_label("E-mail").fill("sam@desk.test")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_in(page: Page, base: str) -> None:
    page.goto(base + "/")
    expect(page).to_have_url(f"{base}/console/login?next=/console/")
    submit_sign_in(page)
    expect(page).to_have_url(f"{base}/console/")


def test_an_agent_signs_in_reads_the_clocks_and_replies(browser: Browser, server: str) -> None:
    page = browser.new_context().new_page()
    page.goto(server + "/console/")
    submit_sign_in(page, "not the password")
    expect(page.get_by_role("alert")).to_have_text("wrong e-mail or password")
    expect(page.get_by_label("E-mail")).to_have_value("sam@desk.test")

    sign_in(page, server)
    page.get_by_role("link", name=SUBJECT).click()
    clocks = page.locator("#clocks")
    expect(clocks).to_contain_text("first response")
    expect(clocks).to_contain_text("target 2 business hours")
    expect(clocks).to_contain_text("(RL11)")

    page.get_by_role("button", name="Take it").click()
    expect(page.get_by_role("status")).to_have_text("The ticket is yours.")
    page.get_by_label("Text (reply or note)").fill("We found the tax rule; fixed within the hour.")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Reply queued for sending.")
    expect(page.locator("#events")).to_contain_text("We found the tax rule")
    expect(page.locator("#ticket-status")).to_have_text("open")
    expect(clocks).to_contain_text("met")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.goto(server + "/console/")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_two_tabs_on_one_ticket_lose_no_reply(browser: Browser, server: str) -> None:
    context = browser.new_context()
    first, second = context.new_page(), context.new_page()
    sign_in(first, server)
    first.get_by_role("link", name=SUBJECT).click()
    second.goto(first.url)

    first.get_by_label("What").select_option("note")
    first.get_by_label("Text (reply or note)").fill("Customer called, it is urgent.")
    first.get_by_role("button", name="Save").click()
    expect(first.get_by_role("status")).to_have_text("Note added.")

    typed = "Here is a long answer\nthat took ten minutes to write."
    second.get_by_label("Text (reply or note)").fill(typed)
    second.get_by_role("button", name="Save").click()
    expect(second.get_by_role("alert")).to_contain_text("Someone changed this ticket")
    expect(second.get_by_label("Text (reply or note)")).to_have_value(typed)
    expect(second.locator("#events")).to_contain_text("Customer called, it is urgent.")
    second.get_by_role("button", name="Save").click()
    expect(second.get_by_role("status")).to_have_text("Reply queued for sending.")
    expect(second.locator("#events")).to_contain_text("that took ten minutes to write.")


def test_a_reply_typed_while_the_session_ended_survives_signing_in_again(
    browser: Browser, server: str
) -> None:
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, server)
    page.get_by_role("link", name=SUBJECT).click()
    typed = "A long answer,\nwritten while the session ran out."
    page.get_by_label("Text (reply or note)").fill(typed)
    context.clear_cookies()  # the session ends (expired, or signed out in another tab)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("Your session has ended")
    submit_sign_in(page)
    expect(page.get_by_role("status")).to_contain_text("not sent yet")
    expect(page.get_by_label("Text (reply or note)")).to_have_value(typed)
    expect(page.locator("#events")).not_to_contain_text("written while the session ran out")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Reply queued for sending.")
    expect(page.locator("#events")).to_contain_text("written while the session ran out.")
