"""Policy versions stored in the database, and which one is active."""
