"""The building blocks every clause of a policy file shares: strict models, citations, name
lists, and the rule shape triage and emergencies both match tickets with."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from policydesk.core.facts import Attr

__all__ = ["Attr", "Cited", "Model", "Names", "TriageRule"]


def _listify(v: Any) -> Any:
    return [v] if isinstance(v, str) else v


#: A list of names; a single name may be written without brackets.
Names = Annotated[list[str], BeforeValidator(_listify)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Cited(Model):
    cite: str = Field("", description="Requirement IDs this clause implements, e.g. 'EC2'.")
    note: str = ""


class TriageRule(Cited):
    """Conditions on a ticket as received; every condition given must hold."""

    phrases: list[str] = Field([], description="Any of these phrases in subject or body.")
    unless_phrases: list[str] = Field([], description="…and none of these (e.g. 'workaround').")
    plan: Names = []
    attributes: dict[str, Attr] = {}
    channel: Names = []
    outside_hours: str | None = Field(None, description="Received while this calendar is closed.")

    @model_validator(mode="after")
    def _some_condition(self) -> TriageRule:
        if not (self.phrases or self.plan or self.attributes or self.channel or self.outside_hours):
            raise ValueError("a rule needs at least one condition")
        return self
