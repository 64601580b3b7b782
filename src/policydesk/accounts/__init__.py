"""Client businesses (accounts) and the people who write in for them (contacts)."""
