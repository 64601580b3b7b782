"""Tickets and their append-only event log, run by the active policy."""
