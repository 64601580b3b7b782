"""The audit log: who did what to accounts, bans, overrides and billing disclosures."""
