"""Policydesk: a help desk whose support policy is executable."""
