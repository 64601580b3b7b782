"""Mail benchmark: inbound messages/s into PostgreSQL, through the SMTP receiver and through
the IMAP poller, with django-helpdesk 2.6.1's own mail intake on the same IMAP mailbox.

Run from the project root::

    .venv/bin/python bench/mail_bench.py [--quick] [--messages N] [--concurrency C] [--no-peer]

The messages (``--quick`` 300, default 2,000) are written here: 200 senders of one account,
about 600 bytes of text each, one in ten with a 20 KB attachment, one in five a reply that
names an earlier message by In-Reply-To. Each run:

SMTP (Policydesk)
    A fresh database ``pdmail_<pid>`` (``policydesk db upgrade`` and ``demo``), and
    ``policydesk mail serve`` as its own process (one SMTP listener, ``--workers`` intake
    processes behind it); ``C`` client processes, each on one SMTP connection, send their
    share; a message counts when the server has answered 250, which it does only once the
    message is committed. Reported: messages/s and p50/p95 per message.
IMAP (Policydesk, then django-helpdesk)
    A pymap server (the IMAP server the tests use) holds the same messages; Policydesk's poller
    takes them in one by one (fetch, intake, commit, flag seen), timed; then a fresh mailbox
    with the same messages, a fresh database ``dhmail_<pid>`` for django-helpdesk (installed in
    ``bench/.peers/`` as ``bench/api_bench.py`` does), and its ``process_email`` over it, timed.
    django-helpdesk has no SMTP receiver (it polls POP3, IMAP or a local folder), so IMAP is
    the comparison; its ratio is printed.

Issue 5's target: at least 200 messages/s through the SMTP receiver into PostgreSQL on this
2-core machine. Everything it starts is stopped, and every database dropped, on exit.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import os
import shutil
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the tests' IMAP server

from tests.mail.imap_server import ImapServer, running_imap_server  # noqa: E402

from api_bench import (  # noqa: E402
    DEFAULT_PG,
    PEERS,
    Cleanup,
    free_port,
    loadavg,
    peer_python,
    pg_database,
    run,
    start_server,
    terminate_cleanly,
)

BIN = Path(sys.executable).parent
PEER_DRIVER = ROOT / "bench" / "peers" / "django_helpdesk_mail.py"
SMTP_TARGET = 200.0
console = Console(width=max(shutil.get_terminal_size().columns, 120))


def messages(n: int) -> list[bytes]:
    out = []
    text = "Hello, since this morning our checkout shows the wrong total for some orders. " * 8
    for i in range(n):
        msg = EmailMessage(policy=SMTP)  # CRLF line ends, as mail travels
        msg["From"] = f"Owner {i % 200} <owner{i % 200}@harbor.test>"
        msg["To"] = "support@policydesk.localhost"
        msg["Subject"] = f"Checkout total wrong ({i})"
        msg["Message-ID"] = f"<bench-{i}@harbor.test>"
        msg["Date"] = "Mon, 30 Nov 2026 10:00:00 -0500"
        if i % 5 == 4 and i >= 50:
            msg["In-Reply-To"] = f"<bench-{i - 50}@harbor.test>"
            msg.replace_header("Subject", f"Re: Checkout total wrong ({i - 50})")
        msg.set_content(text)
        if i % 10 == 9:
            msg.add_attachment(os.urandom(20_000), maintype="application", subtype="octet-stream",
                               filename=f"export-{i}.bin")  # fmt: skip
        out.append(msg.as_bytes())
    return out


def _send(port: int, batch: list[bytes]) -> list[float]:
    """One client: its messages over one connection; the seconds each took to a 250."""
    took = []
    with smtplib.SMTP("127.0.0.1", port, timeout=120) as smtp:
        for raw in batch:
            started = time.perf_counter()
            smtp.sendmail("owner@harbor.test", ["support@policydesk.localhost"], raw)
            took.append(time.perf_counter() - started)
    return took


def wait_port(port: int, proc: object, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port}: {log.read_text()[-2000:]}")


def policydesk_db(pg_url: str, cleanup: Cleanup, workers: int) -> dict[str, str]:
    url = pg_database(pg_url, f"pdmail_{os.getpid()}", cleanup)
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYDESK_")}
    env |= {
        "POLICYDESK_DATABASE_URL": url,
        "POLICYDESK_POLICY": str(ROOT / "policies" / "rarelogic.yaml"),
        "POLICYDESK_MAIL_RATE_LIMIT_PER_HOUR": "100000",
        "POLICYDESK_MAIL_ADDRESSES": '["support@policydesk.localhost"]',
        "POLICYDESK_MAIL_WORKERS": str(workers),
    }
    run([str(BIN / "policydesk"), "db", "upgrade"], env=env, timeout=120)
    run([str(BIN / "policydesk"), "demo"], env=env, timeout=120)
    return env


def measure_smtp(env: dict[str, str], raws: list[bytes], clients: int, cleanup: Cleanup,
                 tmp: Path) -> tuple[float, list[float]]:  # fmt: skip
    port = free_port()
    env = env | {"POLICYDESK_MAIL_LISTEN_PORT": str(port)}
    log = tmp / "mail-serve.log"
    proc = start_server([str(BIN / "policydesk"), "mail", "serve"], env, log, cleanup)
    wait_port(port, proc, log)
    _send(port, raws[:1])  # warm the server (its first message compiles the policy)
    shares = [raws[1 + i :: clients] for i in range(clients)]
    started = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(clients) as pool:
        latencies = [t for part in pool.map(_send, [port] * clients, shares) for t in part]
    seconds = time.perf_counter() - started
    return len(latencies) / seconds, latencies


def fill(server: ImapServer, raws: list[bytes]) -> None:
    with server.client() as conn:
        for raw in raws:
            status, detail = conn.append("INBOX", None, None, raw)
            if status != "OK":
                raise RuntimeError(f"APPEND failed: {detail!r}")


def measure_imap(env: dict[str, str], raws: list[bytes]) -> float:
    from policydesk.db.engine import make_engine, sessions
    from policydesk.mail.imap import ImapPoller
    from policydesk.mail.intake import Intaker
    from policydesk.settings import ImapMailbox, Settings

    settings = Settings(
        database_url=env["POLICYDESK_DATABASE_URL"],
        mail_rate_limit_per_hour=100_000,
        mail_addresses=["support@policydesk.localhost"],
    )
    factory = sessions(make_engine(settings.database_url))
    with running_imap_server() as server:
        fill(server, raws)
        box = ImapMailbox(host=server.host, port=server.port, user=server.user,
                          password=server.password, ssl=False)  # type: ignore[arg-type]  # fmt: skip
        poller = ImapPoller(Intaker(settings, factory, clock=lambda: dt.datetime.now(dt.UTC)))
        started = time.perf_counter()
        stats = poller.poll(box, limit=len(raws))
        seconds = time.perf_counter() - started
    if stats.taken != len(raws):
        raise RuntimeError(f"the poller took {stats.taken} of {len(raws)} messages")
    return stats.taken / seconds


def measure_peer_imap(pg_url: str, raws: list[bytes], cleanup: Cleanup) -> tuple[float, int]:
    python = peer_python()
    site = PEERS / f"mail-{os.getpid()}"
    shutil.rmtree(site, ignore_errors=True)
    site.mkdir(parents=True)
    cleanup.push(f"remove {site}", lambda: shutil.rmtree(site, ignore_errors=True))
    name = f"dhmail_{os.getpid()}"
    pg_database(pg_url, name, cleanup)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "POLICYDESK_"))}
    pg = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with running_imap_server() as server:
        fill(server, raws)
        out = run(
            [str(python), str(PEER_DRIVER), "imap", "--root", str(site), "--db", "postgresql",
             "--name", name, "--pg-url", pg, "--host", server.host, "--port", str(server.port),
             "--user", server.user, "--password", server.password],
            env=env,
            timeout=3600,
        )  # fmt: skip
    done = json.loads(out.splitlines()[-1])
    return len(raws) / done["seconds"], int(done["tickets"])


def ms(x: float) -> str:
    return f"{x * 1000:.1f}"


@contextmanager
def workspace() -> Iterator[tuple[Cleanup, Path]]:
    cleanup = Cleanup()
    tmp = Path(tempfile.mkdtemp(prefix="pdmailbench-"))
    cleanup.push(f"remove {tmp}", lambda: shutil.rmtree(tmp, ignore_errors=True))
    try:
        yield cleanup, tmp
    finally:
        cleanup.run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="300 messages")
    parser.add_argument("--messages", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=4, help="SMTP clients (default 4)")
    parser.add_argument("--no-peer", action="store_true", help="Policydesk only")
    parser.add_argument("--workers", type=int, default=2, help="intake processes (default 2)")
    parser.add_argument(
        "--pg-url", default=os.environ.get("POLICYDESK_TEST_DATABASE_URL", DEFAULT_PG)
    )
    args = parser.parse_args(argv)
    n = args.messages or (300 if args.quick else 2_000)
    if not 10 <= n <= 100_000 or not 1 <= args.concurrency <= 32:
        parser.error("--messages must be 10..100,000 and --concurrency 1..32")
    loads = [loadavg("start")]
    console.print(f"mail bench: {n:,} messages, {args.concurrency} SMTP clients, "
                  f"{args.workers} intake processes, PostgreSQL; "
                  f"{os.cpu_count()} cores; load average {loads[0]}", highlight=False)  # fmt: skip
    raws = messages(n + 1)
    rows: list[tuple[str, str, str, str, str]] = []
    with terminate_cleanly(), workspace() as (cleanup, tmp):
        try:
            env = policydesk_db(args.pg_url, cleanup, args.workers)
            smtp_rate, latencies = measure_smtp(env, raws, args.concurrency, cleanup, tmp)
            q = statistics.quantiles(latencies, n=20)
            rows.append(("SMTP receiver", "Policydesk", f"{smtp_rate:.0f}", ms(q[9]), ms(q[18])))
            imap_rate = measure_imap(env, [r.replace(b"<bench-", b"<imap-") for r in raws[1:]])
            rows.append(("IMAP poller", "Policydesk", f"{imap_rate:.0f}", "", ""))
            if not args.no_peer:
                peer_rate, made = measure_peer_imap(args.pg_url, raws[1:], cleanup)
                rows.append(("IMAP poller", f"django-helpdesk ({made:,} tickets)",
                             f"{peer_rate:.0f}", "", ""))  # fmt: skip
        except KeyboardInterrupt:
            console.print("[yellow]interrupted; servers stopped, databases dropped[/yellow]")
            return 130
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            console.print(f"[red]benchmark failed:[/red] {exc}", highlight=False)
            return 1
    loads.append(loadavg("end"))
    table = Table(title=f"inbound mail into PostgreSQL, {n:,} messages")
    for col in ("path", "system", "messages/s", "p50 ms", "p95 ms"):
        table.add_column(col, justify="right" if col != "path" else "left")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    if not args.no_peer:
        ratio = float(rows[1][2]) / float(rows[2][2])
        console.print(f"IMAP intake: Policydesk / django-helpdesk = {ratio:.1f}x", highlight=False)
    met = smtp_rate >= SMTP_TARGET
    console.print(
        f"target: SMTP intake >= {SMTP_TARGET:.0f} messages/s into PostgreSQL: "
        f"{smtp_rate:.0f}/s, {'met' if met else 'NOT met'}; load average {' / '.join(loads)}",
        highlight=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
