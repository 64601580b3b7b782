"""Notifications: who is told (recipients), what they are told (compose, templates), and the
channels that carry it (e-mail, webhook, SMS), each a small ``Notifier``."""
