"""Activating policy versions and reading the compiled policy a ticket runs under."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from policydesk.core.located import LocatedError
from policydesk.core.policy import Policy, parse_policy
from policydesk.errors import InvalidInput, NotFound
from policydesk.notify.compose import check_templates
from policydesk.policies.models import PolicyVersion

__all__ = [
    "ACTIVE_VERSION",
    "activate_policy",
    "active_policy",
    "active_version",
    "compiled",
    "note_active_version",
    "validate_policy",
]

_COMPILED: dict[str, Policy] = {}


def compiled(row: PolicyVersion) -> Policy:
    """The compiled policy of a stored version (compiled once per process)."""
    found = _COMPILED.get(row.version)
    if found is None:
        found = _COMPILED[row.version] = parse_policy(row.text, row.source)
    return found


def validate_policy(*, text: str, source: str) -> Policy:
    """Parse ``text``; raises ``InvalidInput`` listing every located problem."""
    known = _COMPILED.get(hashlib.sha256(text.encode()).hexdigest())
    if known is not None:  # the version is the hash of the text: parsed once per process
        return known
    try:
        policy = parse_policy(text, source)
        issues = check_templates(policy)
        if issues:
            raise LocatedError(issues)
    except LocatedError as exc:
        raise InvalidInput("\n".join(str(i) for i in exc.issues), field="policy") from None
    return policy


def activate_policy(session: Session, *, text: str, source: str, now: dt.datetime) -> PolicyVersion:
    """Store ``text`` as a version (if new) and make it the active one."""
    policy = validate_policy(text=text, source=source)
    row = session.get(PolicyVersion, policy.version)
    if row is None:
        row = PolicyVersion(
            version=policy.version,
            name=policy.doc.name,
            source=source,
            text=text,
            activated_at=now,
        )
        session.add(row)
    _COMPILED.setdefault(policy.version, policy)
    note_active_version(session, policy.version)
    session.execute(
        update(PolicyVersion).where(PolicyVersion.version != policy.version).values(active=False)
    )
    row.active = True
    row.activated_at = now
    session.flush()
    return row


def active_version(session: Session) -> PolicyVersion:
    row = session.scalars(select(PolicyVersion).where(PolicyVersion.active)).first()
    if row is None:
        raise NotFound("no policy is active; activate one with POST /api/v1/policy")
    return row


_VERSIONS = PolicyVersion.metadata.tables[PolicyVersion.__tablename__]
#: The active version's key; other queries embed it as a scalar subquery. Table columns: an
#: entity's attribute would make every query it is in an ORM query, with its result costs.
ACTIVE_VERSION = select(_VERSIONS.c.version).where(_VERSIONS.c.active).limit(1)
_SEEN = "policydesk.active_version"


def note_active_version(session: Session, version: str | None) -> None:
    """Record the active version a query of this transaction has just read along with its
    own rows (the API token check does), so that ``active_policy`` need not read it again."""
    session.info[_SEEN] = version


def active_policy(session: Session) -> Policy:
    """The compiled active policy. Only the active version's key is read (a version is the
    hash of its text, so a compiled one never goes stale), or taken from what the session
    has already read (``note_active_version``); the text is read and parsed only the first
    time this process meets that version. A policy activated by another process is seen by
    the next request, as each reads the key in its own transaction."""
    version = session.info[_SEEN] if _SEEN in session.info else session.scalar(ACTIVE_VERSION)
    if version is None:
        raise NotFound("no policy is active; activate one with POST /api/v1/policy")
    note_active_version(session, version)  # the rest of this transaction asks no more
    found = _COMPILED.get(version)
    return found if found is not None else compiled(get_version(session, version))


def get_version(session: Session, version: str) -> PolicyVersion:
    row = session.get(PolicyVersion, version)
    if row is None:
        raise NotFound(f"policy version {version} is not stored")
    return row
