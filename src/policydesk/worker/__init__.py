"""The worker: the deadline sweep and the outbox delivery, run by ``policydesk worker``."""
