"""What notifications say: rendered from Jinja2 templates into outbox messages per channel.

A template's first line is the subject (also the text of an SMS); the body follows a blank
line. The templates live in ``notify/templates``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from policydesk.agents.models import Agent
from policydesk.notify.base import Outgoing
from policydesk.settings import Settings

__all__ = ["Composer", "message_id"]


def message_id(key: str, domain: str) -> str:
    """A Message-ID that is the same on every retry of one message."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<pd.{digest}@{domain}>"


class Composer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.env = Environment(
            loader=PackageLoader("policydesk.notify"),
            autoescape=False,  # plain text: e-mail bodies, SMS and chat messages
            undefined=StrictUndefined,
            trim_blocks=True,
            keep_trailing_newline=False,
        )

    def render(self, template: str, context: Mapping[str, Any]) -> tuple[str, str]:
        text = self.env.get_template(f"{template}.txt.j2").render(context)
        subject, _, body = text.partition("\n\n")
        return subject.strip(), body.strip() + "\n"

    def to_agents(
        self,
        *,
        key: str,
        template: str,
        context: Mapping[str, Any],
        via: Iterable[str],
        agents: Sequence[Agent],
        ticket_id: int,
    ) -> list[Outgoing]:
        """One message per agent and channel in ``via`` (webhook: one per configured hook)."""
        subject, body = self.render(template, context)
        domain = self.settings.mail_domain
        out: list[Outgoing] = []
        for channel in via:
            if channel == "email":
                for agent in agents:
                    k = f"{key}:email:{agent.email}"
                    data = {"message_id": message_id(k, domain), "ticket_id": ticket_id}
                    out.append(Outgoing(k, "email", agent.email, subject, body, ticket_id, data))
            elif channel == "sms":
                for agent in agents:
                    if agent.phone:
                        k = f"{key}:sms:{agent.phone}"
                        out.append(Outgoing(k, "sms", agent.phone, subject, "", ticket_id))
            elif channel == "webhook":
                for i, url in enumerate(self.settings.webhook_urls):
                    k = f"{key}:webhook:{i}"
                    data = {"ticket_id": ticket_id, "kind": template, "link": context["link"]}
                    out.append(Outgoing(k, "webhook", url, subject, body, ticket_id, data))
        return out

    def to_customer(
        self,
        *,
        key: str,
        template: str,
        context: Mapping[str, Any],
        address: str,
        ticket_id: int,
        in_reply_to: str | None = None,
        references: Sequence[str] = (),
    ) -> Outgoing:
        """An automatic e-mail to a customer (RFC 3834: ``Auto-Submitted: auto-replied``)."""
        subject, body = self.render(template, context)
        data: dict[str, Any] = {
            "message_id": message_id(key, self.settings.mail_domain),
            "ticket_id": ticket_id,
            "auto_submitted": "auto-replied",
        }
        if in_reply_to:
            data["in_reply_to"] = in_reply_to
            data["references"] = [*references, in_reply_to]
        return Outgoing(key, "email", address, subject, body, ticket_id, data)
