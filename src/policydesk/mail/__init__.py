"""E-mail intake, the pure half: parsing, classification, threading keys and reply text."""

__all__: list[str] = []
