"""Support agents, their tiers and roles, and how they sign in."""
