"""One typed settings object, read once from ``POLICYDESK_*`` environment variables."""

from __future__ import annotations

from email.utils import parseaddr
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["LOCAL_SECRET", "ImapMailbox", "Settings", "get_settings"]

#: The secret ``make run`` uses on a developer's machine; refused outside local mode.
LOCAL_SECRET = "local-development-secret-do-not-use-in-production"


class ImapMailbox(BaseModel):
    """A mailbox to poll: messages are taken in, then marked seen or moved to ``done_folder``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str
    port: int = Field(993, ge=1, le=65535)
    user: str
    password: SecretStr
    folder: str = "INBOX"
    #: Move taken messages here (created if missing); None: mark them seen and leave them.
    done_folder: str | None = None
    ssl: bool = True
    starttls: bool = False

    @property
    def name(self) -> str:
        return f"imap:{self.user}@{self.host}/{self.folder}"


class Settings(BaseSettings):
    """Everything the service reads from its environment.

    ``POLICYDESK_MODE=production`` refuses to start with the local secret.
    """

    model_config = SettingsConfigDict(env_prefix="POLICYDESK_", frozen=True)

    mode: Literal["local", "production"] = "local"
    database_url: str = "sqlite:///policydesk.db"
    policy: Path = Path("policies/rarelogic.yaml")
    secret_key: SecretStr = SecretStr(LOCAL_SECRET)
    host: str = "127.0.0.1"
    port: int = 8000
    #: Server processes; more than one needs the app built from settings in each process.
    workers: int = Field(1, ge=1, le=64)
    #: One log line per request from the server (uvicorn's access log).
    access_log: bool = True
    #: Requests one keep-alive connection may carry before the server closes it, so that
    #: its client reconnects to whichever server process is free (0: no limit).
    keepalive_requests: int = Field(100, ge=0)
    session_days: int = 14
    #: Where agents open a ticket: links in notifications point here.
    public_url: str = "http://127.0.0.1:8000"

    # ----- outgoing messages (the worker delivers them) -----
    #: How the acknowledgement to a customer names the desk ("Thank you for writing to …").
    desk_name: str = "our support team"
    mail_from: str = "Policydesk <support@policydesk.localhost>"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(1025, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_timeout_seconds: float = Field(10.0, gt=0, le=300)
    #: Team chat incoming webhooks (Microsoft Teams / Slack style); JSON list in the environment.
    webhook_urls: list[str] = []
    #: Signs each webhook body (HMAC-SHA256), so the receiver can tell it came from here.
    webhook_secret: SecretStr = SecretStr(LOCAL_SECRET)
    #: An HTTP SMS gateway: a JSON POST of {"to", "text"} per message.
    sms_gateway_url: str | None = None
    sms_gateway_token: SecretStr | None = None
    http_timeout_seconds: float = Field(10.0, gt=0, le=300)

    # ----- inbound mail -----
    #: The desk's own addresses: the SMTP receiver takes mail for these (all, when empty), and
    #: a message from one of them is our own, never a ticket.
    mail_addresses: list[str] = []
    mail_listen_host: str = "127.0.0.1"
    mail_listen_port: int = Field(2525, ge=1, le=65535)
    #: Intake processes behind the SMTP listener (``policydesk mail serve``); 1: its threads.
    mail_workers: int = Field(1, ge=1, le=64)
    #: A larger message is refused at once (SMTP 552), before it is read.
    mail_max_message_bytes: int = Field(25 * 1024 * 1024, ge=1024, le=1024**3)
    #: A larger attachment (or all together) is refused with a bounce that says so.
    mail_max_attachment_bytes: int = Field(10 * 1024 * 1024, ge=1, le=1024**3)
    #: Subject tags are ``[#1234]``, or ``[PD#1234]`` with the prefix ``PD``.
    mail_tag_prefix: str = Field("", pattern=r"^[A-Za-z0-9_-]{0,20}$")
    #: More messages than this from one sender in an hour are quarantined, not taken in.
    mail_rate_limit_per_hour: int = Field(60, ge=1, le=100_000)
    #: Mailboxes the worker polls over IMAP; JSON list in the environment.
    imap_mailboxes: list[ImapMailbox] = []
    imap_interval_seconds: float = Field(30.0, gt=0, le=86_400)

    # ----- the worker -----
    worker_interval_seconds: float = Field(1.0, gt=0, le=3600)
    worker_batch: int = Field(500, ge=1, le=100_000)
    delivery_batch: int = Field(100, ge=1, le=10_000)
    #: A taken message is not taken again before this, unless delivered or failed meanwhile.
    delivery_lease_seconds: float = Field(120.0, gt=0, le=86_400)
    delivery_max_attempts: int = Field(8, ge=1, le=100)
    #: The first retry waits this long; each later one twice as long as the one before.
    delivery_backoff_seconds: float = Field(30.0, gt=0, le=86_400)

    @model_validator(mode="after")
    def _no_default_secret_in_production(self) -> Settings:
        if self.mode == "production":
            for name in ("secret_key", "webhook_secret"):
                secret: SecretStr = getattr(self, name)
                if secret.get_secret_value() == LOCAL_SECRET:
                    raise ValueError(
                        f"POLICYDESK_{name.upper()} must be set to a secret of your own in "
                        "production mode"
                    )
        return self

    @property
    def mail_domain(self) -> str:
        """The domain of ``mail_from``: the right-hand side of the Message-IDs we make."""
        address = parseaddr(self.mail_from)[1]
        return address.rpartition("@")[2] or "policydesk.localhost"


@cache
def get_settings() -> Settings:
    return Settings()
