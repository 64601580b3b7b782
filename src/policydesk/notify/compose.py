"""What notifications say: rendered from Jinja2 templates into outbox messages per channel.

A template's first line is the subject (also the text of an SMS); the body follows a blank
line. The templates live in ``notify/templates``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, Template, TemplateSyntaxError

from policydesk.agents.models import Agent
from policydesk.core.located import Issue
from policydesk.core.policy import Policy
from policydesk.mail.threading import make_message_id, message_id_header
from policydesk.notify.base import Outgoing
from policydesk.settings import Settings

__all__ = ["Composer", "check_templates"]


def check_templates(policy: Policy) -> list[Issue]:
    """The policy's own templates that are not valid Jinja2, located at their key."""
    env = Environment(autoescape=False)
    problems: list[Issue] = []
    for name, text in policy.doc.templates.items():
        try:
            env.parse(text)
        except TemplateSyntaxError as exc:
            message = f"not a valid template (its line {exc.lineno}): {exc.message}"
            problems.append(policy.located.issue(("templates", name), message))
    return problems


class Composer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.domain = settings.mail_domain  # read once: it parses an address
        self.env = Environment(
            loader=PackageLoader("policydesk.notify"),
            autoescape=False,  # plain text: e-mail bodies, SMS and chat messages
            undefined=StrictUndefined,
            trim_blocks=True,
            keep_trailing_newline=False,
        )
        self._own: dict[tuple[str, str], Template] = {}

    def message_id(self, key: str, ticket_id: int | None) -> str:
        """The Message-ID (with its brackets) of the message queued under ``key``: the same on
        every retry, and not to be guessed from outside (a keyed hash of the key), so a forged
        In-Reply-To cannot slip a message into someone's ticket."""
        secret = self.settings.secret_key.get_secret_value().encode()
        digest = hmac.new(secret, key.encode(), hashlib.sha256).digest()
        token = base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")
        return message_id_header(make_message_id(self.domain, ticket_id, token))

    def render(
        self, template: str, context: Mapping[str, Any], policy: Policy | None = None
    ) -> tuple[str, str]:
        """Subject and body of ``template``, worded by ``policy`` when it words it."""
        text = self._template(template, policy).render(context)
        subject, _, body = text.partition("\n\n")
        return subject.strip(), body.strip() + "\n"

    def _template(self, name: str, policy: Policy | None) -> Template:
        own = policy.doc.templates.get(name) if policy is not None else None  # type: ignore[call-overload]
        if own is None:
            return self.env.get_template(f"{name}.txt.j2")
        key = (policy.version if policy else "", name)
        found = self._own.get(key)
        if found is None:
            found = self._own[key] = self.env.from_string(own)
        return found

    def to_agents(
        self,
        *,
        key: str,
        template: str,
        context: Mapping[str, Any],
        via: Iterable[str],
        agents: Sequence[Agent],
        ticket_id: int,
        policy: Policy | None = None,
    ) -> list[Outgoing]:
        """One message per agent and channel in ``via`` (webhook: one per configured hook)."""
        subject, body = self.render(template, context, policy)
        out: list[Outgoing] = []
        for channel in via:
            if channel == "email":
                for agent in agents:
                    k = f"{key}:email:{agent.email}"
                    data = {"message_id": self.message_id(k, ticket_id), "ticket_id": ticket_id}
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
        ticket_id: int | None,
        in_reply_to: str | None = None,
        references: Sequence[str] = (),
        policy: Policy | None = None,
        automatic: bool = True,
    ) -> Outgoing:
        """An e-mail to a customer; an ``automatic`` one says so (RFC 3834:
        ``Auto-Submitted: auto-replied``) so that their auto-responder does not answer it."""
        subject, body = self.render(template, context, policy)
        data: dict[str, Any] = {
            "message_id": self.message_id(key, ticket_id),
            "ticket_id": ticket_id,
            "auto_submitted": "auto-replied" if automatic else "no",
        }
        if in_reply_to:
            data["in_reply_to"] = in_reply_to
            data["references"] = [*references, in_reply_to]
        return Outgoing(key, "email", address, subject, body, ticket_id, data)
