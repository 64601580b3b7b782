"""The ``policydesk`` command: check, test and explain policies.

Exit codes: 0 success, 1 a case failed, 2 the input is invalid (with a located message),
3 an internal error (a bug, reported in one line).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from sqlalchemy import select

from policydesk import processes
from policydesk.agents import service as agent_service
from policydesk.agents.models import Agent
from policydesk.casefile import CaseResult, load_cases, run_cases
from policydesk.core.calendar import to_us
from policydesk.core.clocks import evaluate, fmt_instant
from policydesk.core.errors import CalendarError, PolicyError
from policydesk.core.facts import TicketFacts
from policydesk.core.located import LocatedError
from policydesk.core.policy import Policy, PolicyDoc, load_policy
from policydesk.db.engine import make_engine, session_scope, sessions
from policydesk.db.migrate import upgrade
from policydesk.demo import DEMO_PASSWORD, Demo, load_demo
from policydesk.errors import DomainError
from policydesk.notify.compose import Composer, check_templates
from policydesk.settings import Settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
policy_app = typer.Typer(no_args_is_help=True, help="Check, test and export policies.")
sla_app = typer.Typer(no_args_is_help=True, help="Explain SLA clocks.")
db_app = typer.Typer(no_args_is_help=True, help="The database.")
agent_app = typer.Typer(no_args_is_help=True, help="Support agents.")
token_app = typer.Typer(no_args_is_help=True, help="API tokens.")
mail_app = typer.Typer(no_args_is_help=True, help="Mail.")
app.add_typer(policy_app, name="policy")
app.add_typer(sla_app, name="sla")
app.add_typer(db_app, name="db")
app.add_typer(agent_app, name="agent")
app.add_typer(token_app, name="token")
app.add_typer(mail_app, name="mail")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
T = TypeVar("T")


def _guard(fn: Callable[[], T]) -> T:
    """Run ``fn``; turn invalid input into located messages on stderr and exit code 2."""
    try:
        return fn()
    except LocatedError as exc:
        for issue in exc.issues:
            err.print(str(issue), markup=False)
        raise typer.Exit(2) from None
    except (PolicyError, CalendarError, DomainError) as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    except Exception as exc:  # a bug: say so in one line rather than with a traceback
        err.print(f"internal error: {type(exc).__name__}: {exc} (please report it)", markup=False)
        raise typer.Exit(3) from None


PolicyOpt = Annotated[Path, typer.Option("--policy", "-p", help="The policy file (YAML).")]


@policy_app.command("check")
def policy_check(policy: Annotated[Path, typer.Argument(help="The policy file (YAML).")]) -> None:
    """Validate a policy; print its version and what it defines."""
    p = _guard(lambda: _checked(load_policy(policy)))
    d = p.doc
    out.print(f"{policy}: ok — {d.name}", markup=False)
    out.print(f"  version   {p.version}")
    out.print(f"  calendars {', '.join(d.calendars)} (default {p.default_calendar})")
    out.print(f"  priorities {', '.join(x.name for x in d.priorities)}")
    out.print(f"  clocks    {', '.join(d.clocks) or '(none)'}")
    out.print(f"  billing   {'yes' if d.billing else 'no'}")


def _checked(policy: Policy) -> Policy:
    issues = check_templates(policy)
    if issues:
        raise LocatedError(issues)
    return policy


@policy_app.command("schema")
def policy_schema() -> None:
    """Print the policy file's JSON Schema (for editor completion)."""
    schema = PolicyDoc.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Policydesk policy"
    sys.stdout.write(json.dumps(schema, indent=2) + "\n")


@policy_app.command("test")
def policy_test(
    cases: Annotated[Path, typer.Argument(help="The case file (YAML).")],
    policy: PolicyOpt,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Run a case file against a policy. Exit 0 all pass, 1 any fails, 2 invalid input."""
    p = _guard(lambda: load_policy(policy))
    case_file = _guard(lambda: load_cases(cases, p))
    results = _guard(lambda: run_cases(p, case_file))
    failed = sum(not r.passed for r in results)
    if as_json:
        doc = {
            "cases": [
                {
                    "name": r.name,
                    "passed": r.passed,
                    "expected": _jsonable(r.expected),
                    "actual": _jsonable(r.actual),
                    "explanation": r.explanation,
                }
                for r in results
            ],
            "passed": len(results) - failed,
            "failed": failed,
        }
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        _print_results(results, p)
    raise typer.Exit(1 if failed else 0)


def _print_results(results: list[CaseResult], p: Policy) -> None:
    table = Table(title=Text(f"{p.doc.name} ({p.version[:12]})"), show_lines=False)
    table.add_column("", width=4)
    table.add_column("case")
    for r in results:
        table.add_row("[green]ok[/]" if r.passed else "[red]FAIL[/]", Text(r.name))
    out.print(table)
    for r in results:
        if r.passed:
            continue
        out.print(f"\n[red]FAIL[/] {escape(r.name)}")
        for f in r.failures:
            out.print(f"  {f}", markup=False)
        for line in r.explanation:
            out.print(f"    {line}", markup=False)
    failed = sum(not r.passed for r in results)
    out.print(f"\n{len(results) - failed} passed, {failed} failed")


@sla_app.command("explain")
def sla_explain(
    policy: PolicyOpt,
    received: Annotated[str, typer.Option(help="When received, ISO 8601 with an offset.")],
    plan: Annotated[str | None, typer.Option(help="The account's plan.")] = None,
    priority: Annotated[str | None, typer.Option(help="Omit to let triage decide.")] = None,
    channel: Annotated[str | None, typer.Option()] = None,
    subject: Annotated[str, typer.Option()] = "",
    body: Annotated[str, typer.Option()] = "",
    contract: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Print each clock's due time in the policy's zone and in UTC, with the steps."""
    p = _guard(lambda: load_policy(policy))
    when = _guard(lambda: _instant("--received", received))
    facts = TicketFacts(
        received=when,
        plan=plan,
        priority=priority,
        channel=channel,
        subject=subject,
        body=body,
        contract=contract,
    )
    _guard(lambda: _check_names(p, facts))
    report = _guard(lambda: evaluate(p, facts, [], when))
    out.print(f"[bold]{escape(p.doc.name)}[/] (version {p.version[:12]})")
    out.print(f"received  {fmt_instant(p, when)}  ({_utc(when)})", markup=False)
    tri = report.priority
    out.print(f"priority  {tri.priority}: {tri.reason} {tri.clause}", markup=False)
    for name, clock in report.clocks.items():
        due = clock.state.replace("_", " ")  # not started, no target, paused…
        if clock.due is not None:
            due = f"{fmt_instant(p, clock.due)}  ({_utc(clock.due)})"
        out.print(f"\n[bold]{name}[/]: {due}")
        for step in clock.steps:
            out.print(f"  - {step}", markup=False)


def _check_names(p: Policy, facts: TicketFacts) -> None:
    d = p.doc
    for flag, value, known in (
        ("--plan", facts.plan, set(d.plans)),
        ("--priority", facts.priority, {x.name for x in d.priorities}),
        ("--channel", facts.channel, set(d.channels)),
        ("--contract", facts.contract, set(d.contracts)),
    ):
        if value is not None and value not in known:
            options = ", ".join(sorted(known)) or "(none)"
            raise PolicyError(f"{flag}: unknown {value!r}; expected one of: {options}")


def _instant(flag: str, text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise PolicyError(f"{flag}: {text!r} is not an ISO 8601 instant") from None
    to_us(value)  # rejects a naive instant with a clear message
    return value


def _utc(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        for e in exc.errors():
            where = ".".join(str(p) for p in e["loc"])
            prefix = f"settings: {where}: " if where else "settings: "
            err.print(prefix + e["msg"].removeprefix("Value error, "), markup=False)
        raise typer.Exit(2) from None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database at POLICYDESK_DATABASE_URL."""
    settings = _settings()
    engine = make_engine(settings.database_url)
    _guard(lambda: upgrade(engine))
    out.print(f"database at {engine.url.render_as_string(hide_password=True)} is up to date")


@app.command("demo")
def demo() -> None:
    """Activate the configured policy and load demo accounts, agents and tickets (once)."""
    settings = _settings()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    factory = sessions(engine)

    def load() -> tuple[str, Demo]:
        with session_scope(factory) as session:
            demo = load_demo(
                session, policy_path=settings.policy, now=_now(), composer=Composer(settings)
            )
            token = agent_service.create_token(
                session, agent_id=demo.admin.id, name="demo", now=_now()
            )
            return token, demo

    token, loaded = _guard(load)
    out.print("demo data loaded" if loaded.created else "demo data was already there")
    out.print(f"policy      {settings.policy}", markup=False)
    out.print(f"admin       admin@policydesk.test / {DEMO_PASSWORD}", markup=False)
    out.print(f"admin token {token}", markup=False)
    if loaded.unanswered is not None and loaded.due is not None:
        out.print(
            f"ticket #{loaded.unanswered} is unanswered: its warning goes out at once and its "
            f"breach at {loaded.due.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC (run the worker: "
            "make run does)",
            markup=False,
        )


@agent_app.command("create")
def agent_create(
    email: Annotated[str, typer.Option(help="Sign-in e-mail.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    role: Annotated[str, typer.Option(help="agent, lead or admin.")] = "agent",
    tier: Annotated[str, typer.Option(help="L1, L2, PT or Dev.")] = "L1",
    password: Annotated[
        str | None, typer.Option(help="For signing in to the console; omit for token-only use.")
    ] = None,
) -> None:
    """Add a support agent."""
    settings = _settings()
    factory = sessions(make_engine(settings.database_url))

    def create() -> int:
        with session_scope(factory) as session:
            agent = agent_service.create_agent(
                session,
                name=name,
                email=email,
                role=role,
                tier=tier,
                password=password or None,
                now=_now(),
            )
            return agent.id

    agent_id = _guard(create)
    out.print(f"agent {agent_id} created: {email} ({role}, {tier})", markup=False)


@token_app.command("create")
def token_create(
    email: Annotated[str, typer.Option(help="The agent's e-mail.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
) -> None:
    """Create an API token for an agent; it is printed once."""
    settings = _settings()
    factory = sessions(make_engine(settings.database_url))

    def create() -> str:
        with session_scope(factory) as session:
            agent = session.scalars(
                select(Agent).where(Agent.email == email.strip().lower())
            ).first()
            if agent is None:
                raise PolicyError(f"no agent with e-mail {email}")
            return agent_service.create_token(session, agent_id=agent.id, name=name, now=_now())

    out.print(_guard(create), markup=False)


@app.command("serve")
def serve(
    worker: Annotated[
        bool, typer.Option("--worker", help="Run the worker in this process too.")
    ] = False,
    dev_mail: Annotated[
        bool,
        typer.Option(
            "--dev-mail",
            help="Catch outgoing mail: an SMTP server on POLICYDESK_SMTP_HOST:PORT that keeps "
            "each message in var/mail (local mode only).",
        ),
    ] = False,
    receive_mail: Annotated[
        bool,
        typer.Option(
            "--receive-mail",
            help="Take in mail for the desk on POLICYDESK_MAIL_LISTEN_HOST:PORT (SMTP).",
        ),
    ] = False,
) -> None:
    """Serve the agents' console and the API on POLICYDESK_HOST:POLICYDESK_PORT (default
    http://127.0.0.1:8000)."""
    settings = _settings()
    import uvicorn

    from policydesk.web.app import create_app, for_serving

    processes.configure_logging()
    with contextlib.ExitStack() as stack:
        if dev_mail:
            _start(stack, processes.mail_catcher(settings))
        if worker:
            _start(stack, processes.background_worker(settings, _now))
        if receive_mail:
            _start(stack, processes.mail_receiver(settings, _now))
        base = f"http://{settings.host}:{settings.port}"
        out.print(f"Policydesk console on {base}/console/  (API docs: {base}/api/v1/docs)")
        host, port, access_log = settings.host, settings.port, settings.access_log
        if settings.workers == 1:
            app_ = for_serving(create_app(settings))
            uvicorn.run(app_, host=host, port=port, log_level="info", access_log=access_log)
        else:
            uvicorn.run(
                "policydesk.web.app:app_from_environment",
                factory=True,
                workers=settings.workers,
                host=host,
                port=port,
                log_level="info",
                access_log=access_log,
            )


def _start(stack: contextlib.ExitStack, part: contextlib.AbstractContextManager[str]) -> None:
    """Start a part of the service for the rest of the command, saying so; a part that cannot
    start is an error (exit 2)."""
    try:
        out.print(stack.enter_context(part), markup=False)
    except processes.CannotStart as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None


@app.command("worker")
def run_worker(
    once: Annotated[bool, typer.Option("--once", help="Run one round, then exit.")] = False,
    start_at: Annotated[
        str | None,
        typer.Option(
            help="Start the worker's clock at this instant (ISO 8601 with an offset); it then "
            "runs at the real pace. For rehearsals and tests."
        ),
    ] = None,
) -> None:
    """Act on deadlines (warnings, breaches, pages, broadcasts, acknowledgements) and deliver
    the outbox, until interrupted (SIGINT, SIGTERM)."""
    settings = _settings()
    clock = _clock(start_at)
    processes.configure_logging()
    from policydesk.worker.runner import Worker

    factory = sessions(make_engine(settings.database_url))
    runner = Worker(settings, factory, clock=clock)
    if once:
        done = _guard(runner.run_round)
        s, d = done.sweep, done.delivery
        out.print(
            f"swept {s.tickets} tickets: {s.alerts} alerts, {s.pages} pages, {s.broadcasts} "
            f"broadcasts, {s.acknowledgements} acknowledgements, {s.errors} errors; "
            f"delivered {d.delivered}, retrying {d.retried}, dead {d.dead}"
        )
        return
    stop = processes.stop_on_signal()
    out.print(f"worker on {make_engine(settings.database_url).url.render_as_string()}")
    runner.run_forever(stop)


@mail_app.command("serve")
def mail_serve() -> None:
    """Take in mail for the desk over SMTP on POLICYDESK_MAIL_LISTEN_HOST:PORT (default
    127.0.0.1:2525), for a relay to forward to; each message is stored before 250 is answered.
    POLICYDESK_MAIL_WORKERS intake processes take the messages in, whatever the connections."""
    settings = _settings()
    processes.configure_logging()
    stop = processes.stop_on_signal()
    try:
        for line in processes.mail_receiver_processes(settings, stop):
            out.print(line, markup=False)
    except processes.CannotStart as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None


@mail_app.command("poll")
def mail_poll() -> None:
    """Take in what waits in the IMAP mailboxes of POLICYDESK_IMAP_MAILBOXES, once (the worker
    polls them every POLICYDESK_IMAP_INTERVAL_SECONDS)."""
    settings = _settings()
    processes.configure_logging()
    from policydesk.mail.imap import ImapPoller
    from policydesk.mail.intake import Intaker

    if not settings.imap_mailboxes:
        err.print("error: POLICYDESK_IMAP_MAILBOXES names no mailbox", markup=False)
        raise typer.Exit(2)
    factory = sessions(make_engine(settings.database_url))
    poller = ImapPoller(Intaker(settings, factory, clock=_now))
    stats = _guard(poller.poll_all)
    out.print(f"fetched {stats.fetched}, taken in {stats.taken}, failed {stats.failed}")
    if stats.failed:
        raise typer.Exit(1)


@mail_app.command("sink")
def mail_sink() -> None:
    """Catch outgoing mail on POLICYDESK_SMTP_HOST:PORT, keeping each message in var/mail."""
    settings = _settings()
    processes.configure_logging()
    stop = processes.stop_on_signal()
    with contextlib.ExitStack() as stack:
        _start(stack, processes.mail_catcher(settings))
        stop.wait()


def _clock(start_at: str | None) -> Callable[[], dt.datetime]:
    if start_at is None:
        return _now
    start = _guard(lambda: _instant("--start-at", start_at))
    began = time.monotonic()
    return lambda: start + dt.timedelta(seconds=time.monotonic() - began)


def main() -> None:
    app()
