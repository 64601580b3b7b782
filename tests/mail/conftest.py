"""Mail test servers, started on loopback by the tests that ask for them."""

from tests.mail.imap_server import imap_server
from tests.mail.smtp_server import smtp_server

__all__ = ["imap_server", "smtp_server"]
