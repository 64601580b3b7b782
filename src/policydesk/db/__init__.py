"""The database: engine, the one transaction owner, column types and migrations."""

from policydesk.db.base import Base
from policydesk.db.engine import make_engine, session_scope

__all__ = ["Base", "make_engine", "session_scope"]
