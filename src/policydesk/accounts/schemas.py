"""The shapes accounts and contacts take in and out of the API."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)

from policydesk.types import Instant, NoNul, RowId

__all__ = [
    "AccountCreate",
    "AccountOut",
    "AccountPage",
    "AccountStatus",
    "AccountSummary",
    "AccountUpdate",
    "BillingOut",
    "ContactCreate",
    "ContactOut",
    "ContactPage",
    "ContactUpdate",
    "StatusChangeIn",
]

AccountStatus = Literal["active", "banned", "refused"]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NoNul]
PolicyName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoNul
]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        min_length=3,
        max_length=320,
        pattern=r"^[^@\s]+@[^@\s]+$",
    ),
    NoNul,
]
Phone = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        max_length=50,
        pattern=r"^\+?[0-9][0-9 ().\-/]{2,40}(?:\s*(?:x|ext\.?)\s*[0-9]{1,6})?$",
    ),
]
AttrKey = Annotated[str, StringConstraints(min_length=1, max_length=100), NoNul]


def _one_attr_error(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    try:
        return handler(value)
    except ValidationError:
        raise ValueError(
            "an attribute is true or false, a whole number, or a text of up to 200 characters"
        ) from None


AttrValue = Annotated[
    bool | int | Annotated[str, StringConstraints(max_length=200), NoNul],
    WrapValidator(_one_attr_error),
]
#: Account attributes the policy reads (``high_priority``, ``extra_support`` …); they override
#: the plan's own.
Attributes = Annotated[dict[AttrKey, AttrValue], Field(max_length=50)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _not_null(value: Any) -> Any:
    if value is None:
        raise ValueError("may be left out, but not null")
    return value


#: An optional field of an update that, when given, may not be null.
NotNull = AfterValidator(_not_null)


class AccountCreate(_In):
    """A client business. The primary and backup contacts (EC3) are named once the account
    has contacts, with an update."""

    name: Name
    plan: PolicyName | None = Field(None, description="A plan of the active policy.")
    contract: PolicyName | None = Field(
        None, description="A contract of the active policy; left out, the plan's applies."
    )
    attributes: Attributes = {}


class AccountUpdate(_In):
    """The fields to change; a field left out is kept. Status changes go through ban, refuse
    and reinstate, which need a lead and a reason."""

    name: Annotated[Name | None, NotNull] = None
    plan: PolicyName | None = None
    contract: PolicyName | None = None
    attributes: Attributes = {}
    primary_contact_id: RowId | None = Field(None, description="A contact of this account.")
    backup_contact_id: RowId | None = Field(
        None, description="Another contact of this account (EC3)."
    )


class StatusChangeIn(_In):
    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2_000), NoNul
    ] = Field(description="Why; kept on the account and in the audit log.")


class AccountSummary(BaseModel):
    """What a contact sees of its own account: no plan, contract or other billing data."""

    model_config = ConfigDict(from_attributes=True, extra="forbid")

    id: int
    name: str
    status: str
    primary_contact_id: int | None
    backup_contact_id: int | None


class AccountOut(BaseModel):
    """An account as staff see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    plan: str | None
    contract: str | None
    attributes: dict[str, Any]
    primary_contact_id: int | None
    backup_contact_id: int | None
    status: str
    status_reason: str | None
    status_by_agent_id: int | None
    status_at: Instant | None
    created_at: Instant


class AccountPage(BaseModel):
    items: list[AccountOut | AccountSummary]
    next_after: int | None = Field(description="Pass as `after` for the next page.")


class BillingOut(BaseModel):
    """Billing and revenue information about an account (RL1); every release is audited."""

    account_id: int
    plan: str | None
    contract: str | None
    attributes: dict[str, Any]
    ticket_count: int
    open_ticket_count: int


class ContactCreate(_In):
    name: Name
    email: Email = Field(description="Unique; stored lower-cased.")
    phone: Phone | None = None
    account_id: RowId | None = None
    trained: bool = Field(False, description="Trained personnel (EC7, EC8).")
    identity_verified_at: AwareDatetime | None = Field(
        None, description="When staff verified who this is (RL1)."
    )
    password: str | None = Field(
        None, min_length=8, max_length=1_000, description="For the portal login."
    )


class ContactUpdate(_In):
    """The fields to change; a field left out is kept."""

    name: Annotated[Name | None, NotNull] = None
    email: Annotated[Email | None, NotNull] = None
    phone: Phone | None = None
    account_id: RowId | None = None
    trained: bool = False
    identity_verified_at: AwareDatetime | None = None
    password: Annotated[str | None, NotNull] = Field(None, min_length=8, max_length=1_000)


class ContactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str
    phone: str | None
    account_id: int | None
    trained: bool
    identity_verified_at: Instant | None
    created_at: Instant


class ContactPage(BaseModel):
    items: list[ContactOut]
    next_after: int | None = Field(description="Pass as `after` for the next page.")
