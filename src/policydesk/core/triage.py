"""Triage: which priority a ticket gets, and the rule that decided it."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from policydesk.core.clauses import TriageRule
from policydesk.core.facts import Attr, Step, TicketFacts
from policydesk.core.policy import Policy

__all__ = [
    "Triage",
    "attributes_of",
    "categorize",
    "classify",
    "contract_of",
    "first_matching_rule",
    "matches_attributes",
    "missing_fields",
    "read_fields",
]


@dataclass(frozen=True, slots=True)
class Triage:
    priority: str
    clause: str
    reason: str | Step


def attributes_of(policy: Policy, facts: TicketFacts) -> Mapping[str, Attr]:
    """The plan's attributes, overridden by the ticket's own (read-only)."""
    plan = policy.doc.plans.get(facts.plan or "")
    if not facts.attributes:
        return plan.attributes if plan else {}
    merged: dict[str, Attr] = dict(plan.attributes) if plan else {}
    merged.update(facts.attributes)
    return merged


def contract_of(policy: Policy, facts: TicketFacts) -> str | None:
    if facts.contract:
        return facts.contract
    plan = policy.doc.plans.get(facts.plan or "")
    return plan.contract if plan else None


def matches_attributes(wanted: Mapping[str, Attr], have: Mapping[str, Attr]) -> bool:
    return all(have.get(k, False) == v for k, v in wanted.items())


def _normalise(text: str) -> str:
    return " ".join(text.replace("’", "'").lower().split())


_PATTERNS: dict[tuple[str, ...], re.Pattern[str]] = {}


def _any_phrase(phrases: list[str]) -> re.Pattern[str]:
    """One pattern for a rule's phrases, each matched as whole words, case-insensitively."""
    key = tuple(phrases)
    pattern = _PATTERNS.get(key)
    if pattern is None:
        body = "|".join(re.escape(_normalise(p)) for p in phrases)
        pattern = _PATTERNS[key] = re.compile(r"(?<!\w)(?:" + body + r")(?!\w)")
    return pattern


def _rule_reason(
    policy: Policy, rule: TriageRule, facts: TicketFacts, text: str, attrs: Mapping[str, Attr]
) -> str | None:
    """Why ``rule`` matches ``facts``, or None when it does not."""
    reasons: list[str] = []
    if rule.phrases:
        hit = _any_phrase(rule.phrases).search(text)
        if hit is None:
            return None
        reasons.append(f"mentions {hit.group()!r}")
    if rule.unless_phrases and _any_phrase(rule.unless_phrases).search(text):
        return None
    if rule.plan:
        if facts.plan not in rule.plan:
            return None
        reasons.append(f"plan {facts.plan}")
    if rule.attributes:
        if not matches_attributes(rule.attributes, attrs):
            return None
        reasons.append(", ".join(f"{k}={v}" for k, v in rule.attributes.items()))
    if rule.channel:
        if facts.channel not in rule.channel:
            return None
        reasons.append(f"channel {facts.channel}")
    if rule.outside_hours:
        if policy.calendar(rule.outside_hours).is_open(facts.received):
            return None
        reasons.append(f"received outside {rule.outside_hours} hours")
    return "; ".join(reasons)


def first_matching_rule(
    policy: Policy, rules: Sequence[TriageRule], facts: TicketFacts
) -> tuple[int, str] | None:
    """The index of the first of ``rules`` that matches the ticket, and why; None if none."""
    text = _normalise(f"{facts.subject}\n{facts.body}")
    attrs = attributes_of(policy, facts)
    for j, rule in enumerate(rules):
        reason = _rule_reason(policy, rule, facts, text, attrs)
        if reason is not None:
            return j, reason
    return None


def categorize(policy: Policy, facts: TicketFacts) -> tuple[str, str] | None:
    """The first category whose rules match a ticket that came without one, and why."""
    for name, category in policy.doc.categories.items():
        found = first_matching_rule(policy, category.rules, facts) if category.rules else None
        if found is not None:
            return name, found[1]
    return None


def read_fields(policy: Policy, category: str | None, text: str) -> dict[str, str]:
    """The category's fields that its patterns read from ``text`` (DL6)."""
    model = policy.doc.categories.get(category or "")
    found: dict[str, str] = {}
    for name, pattern in (model.fields if model else {}).items():
        match = re.search(pattern, text, re.IGNORECASE)
        if match is not None:
            value = match.group(1) if match.groups() else match.group(0)
            if value and value.strip():
                found[name] = value.strip()[:200]
    return found


def missing_fields(policy: Policy, category: str | None, fields: Mapping[str, object]) -> list[str]:
    """The fields the category requires that ``fields`` lacks (DL6)."""
    model = policy.doc.categories.get(category or "")
    if model is None:
        return []
    return [n for n in model.required_fields if not str(fields.get(n) or "").strip()]


def classify(policy: Policy, facts: TicketFacts) -> Triage:
    """The first priority (most urgent first) with a matching rule, else the default.

    A priority given in ``facts`` is kept as it is (an agent or the requester chose it).
    """
    if facts.priority is not None:
        return Triage(facts.priority, "", "given on the ticket")
    text = _normalise(f"{facts.subject}\n{facts.body}")
    attrs = attributes_of(policy, facts)
    for i, prio in enumerate(policy.doc.priorities):
        for j, rule in enumerate(prio.rules):
            reason = _rule_reason(policy, rule, facts, text, attrs)
            if reason is not None:
                cite = f" ({rule.cite})" if rule.cite else ""
                return Triage(prio.name, policy.clause("priorities", i, "rules", j), reason + cite)
    return Triage(policy.doc.default_priority, policy.clause("default_priority"), "no rule matched")
