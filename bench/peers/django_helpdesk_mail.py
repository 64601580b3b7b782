"""The django-helpdesk side of bench/mail_bench.py, run by the peer's own interpreter.

``imap --root DIR --db postgresql --name NAME --pg-url URL --host H --port P --user U
--password W`` writes the minimal project (as ``django_helpdesk.py setup`` does), migrates a
fresh database, configures one queue to read the IMAP mailbox, runs django-helpdesk's own mail
intake (``helpdesk.email.process_email``, what its ``get_email`` command runs) once, timed,
and prints one JSON line: the seconds, the tickets and follow-ups it made.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from django_helpdesk import database, start_django, write_project


def imap(args: argparse.Namespace) -> None:
    root = Path(args.root)
    write_project(root, database(args.db, args.name, root, args.pg_url))
    start_django(root)
    from django.core.management import call_command
    from helpdesk.email import process_email
    from helpdesk.models import FollowUp, Queue, Ticket

    call_command("migrate", verbosity=0, interactive=False)
    Queue.objects.create(
        title="Support",
        slug="support",
        allow_email_submission=True,
        email_box_type="imap",
        email_box_host=args.host,
        email_box_port=args.port,
        email_box_ssl=False,
        email_box_user=args.user,
        email_box_pass=args.password,
        email_box_imap_folder="INBOX",
        email_box_interval=0,
    )
    started = time.perf_counter()
    process_email(quiet=True)
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": seconds,
                "tickets": Ticket.objects.count(),
                "followups": FollowUp.objects.count(),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("imap")
    p.add_argument("--root", required=True)
    p.add_argument("--db", choices=["sqlite", "postgresql"], required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.set_defaults(run=imap)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
