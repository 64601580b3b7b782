"""E-mail intake, the pure half: parsing, classification, threading keys and reply text.

Nothing here reads the clock, the database or the network. The SMTP receiver and the IMAP
poller hand raw bytes to :func:`parse_message`; the result says what the message is, and the
ticket service decides what to do with it::

    result = parse_message(raw, max_attachment_bytes=settings.mail_max_attachment_bytes)
    if isinstance(result, Quarantine):
        ...  # keep raw with result.reason for an agent
    elif is_own_message(result, our_addresses, our_domain) or result.kind.is_automatic:
        ...  # record, never open a ticket, never answer
    elif result.refused:
        ...  # answer with result.refusal_text()
    else:
        keys = thread_keys(result)  # look up; else result.ticket_number; else a new ticket
"""

from policydesk.mail.charsets import decode_bytes
from policydesk.mail.html import html_to_text, sanitise_html
from policydesk.mail.loops import (
    AUTO_REPLY_HEADERS,
    OWN_HEADER,
    Classification,
    classify,
    is_own_message,
    own_message_reason,
)
from policydesk.mail.model import (
    Address,
    Attachment,
    MessageKind,
    Oversize,
    ParsedMessage,
    Quarantine,
    QuarantineCode,
)
from policydesk.mail.parse import parse_message
from policydesk.mail.reply import reply_text
from policydesk.mail.threading import (
    SUBJECT_TAG,
    find_ticket_number,
    is_our_message_id,
    make_message_id,
    message_id_header,
    reply_subject,
    strip_reply_prefixes,
    subject_tag,
    subject_tag_pattern,
    thread_keys,
)

__all__ = [
    "AUTO_REPLY_HEADERS",
    "OWN_HEADER",
    "SUBJECT_TAG",
    "Address",
    "Attachment",
    "Classification",
    "MessageKind",
    "Oversize",
    "ParsedMessage",
    "Quarantine",
    "QuarantineCode",
    "classify",
    "decode_bytes",
    "find_ticket_number",
    "html_to_text",
    "is_our_message_id",
    "is_own_message",
    "make_message_id",
    "message_id_header",
    "own_message_reason",
    "parse_message",
    "reply_subject",
    "reply_text",
    "sanitise_html",
    "strip_reply_prefixes",
    "subject_tag",
    "subject_tag_pattern",
    "thread_keys",
]
