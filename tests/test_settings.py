"""The one settings object: production refuses the secrets that ship with the code."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from policydesk.settings import Settings


def test_production_refuses_the_built_in_secrets() -> None:
    with pytest.raises(ValidationError, match="POLICYDESK_SECRET_KEY must be set"):
        Settings(mode="production")
    with pytest.raises(ValidationError, match="POLICYDESK_WEBHOOK_SECRET must be set"):
        Settings(mode="production", secret_key="a-secret-of-our-own")
    ok = Settings(mode="production", secret_key="a", webhook_secret="b")
    assert ok.mail_domain == "policydesk.localhost"


def test_the_message_id_domain_is_the_senders() -> None:
    assert Settings(mail_from="Help <help@shop.example>").mail_domain == "shop.example"


def test_a_mailbox_list_comes_as_json_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "POLICYDESK_IMAP_MAILBOXES",
        '[{"host": "imap.example", "user": "desk", "password": "pw", "done_folder": "Done"}]',
    )
    (box,) = Settings().imap_mailboxes
    assert (box.name, box.port, box.ssl, box.done_folder) == (
        "imap:desk@imap.example/INBOX", 993, True, "Done",
    )  # fmt: skip
    assert box.password.get_secret_value() == "pw"
