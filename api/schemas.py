"""Request and response schemas, named by role. Event request models are generated from the
domain's event types, so the OpenAPI document lists every type with exactly its fields."""

from __future__ import annotations

from datetime import date as Date
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model
from pydantic_core import PydanticCustomError

from treaty_ledger.domain.dates import parse_date
from treaty_ledger.domain.errors import InvalidDate
from treaty_ledger.domain.events import COMMON_FIELDS, EVENT_TYPES, EventType, FieldSpec

__all__ = [
    "ChangesPublic",
    "CompliancePublic",
    "ErrorPublic",
    "EventCreate",
    "EventHistoryPublic",
    "EventPagePublic",
    "EventPublic",
    "MembershipPublic",
    "SourceIn",
    "StatePublic",
    "TreatyCreate",
    "TreatyPublic",
    "VerifyPublic",
]

STATE_DOC = "a state: ISO 3166-1 alpha-3 code (USA), ISO 3166-3 code for a historic state (CSHH), alpha-2 code or English name"


def _calendar_date(value: Any) -> Date:
    """A date as the domain reads one: the text ``YYYY-MM-DD`` only (not a number, not a timestamp)."""
    try:
        return parse_date(value, field="date")
    except InvalidDate as error:
        raise PydanticCustomError("invalid_date", error.reason) from None


CalendarDate = Annotated[Date, BeforeValidator(_calendar_date)]
"""A request's date: read by the domain's rule, so the API accepts exactly the dates a dataset may hold."""


class SourceIn(BaseModel):
    """Where a fact comes from: a title or a url is required."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"title": "Treaty on Open Skies", "url": "https://www.osce.org/library/14127"}]})

    title: str | None = Field(None, description="title of the source", max_length=10_000)
    url: str | None = Field(None, description="http(s) address of the source", max_length=10_000)
    publisher: str | None = Field(None, max_length=10_000)
    published_on: CalendarDate | None = None
    quote: str | None = Field(None, description="a short quote", max_length=10_000)


class Rules(BaseModel):
    """A treaty's rules, as ISO 8601 durations; null where the treaty has no such rule."""

    model_config = ConfigDict(extra="forbid")

    withdrawal_notice: str | None = Field(None, description="e.g. P6M", examples=["P6M"])
    late_joiner_delay: str | None = Field(None, description="e.g. P60D", examples=["P60D"])
    earliest_withdrawal_notice: str | None = Field(None, description="e.g. P3Y")
    minimum_parties: int | None = Field(None, ge=1)


class TreatyCreate(BaseModel):
    """A treaty to register."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "id": "open-skies", "title": "Treaty on Open Skies", "depositaries": ["CAN", "HUN"],
        "rules": {"withdrawal_notice": "P6M", "late_joiner_delay": "P60D", "earliest_withdrawal_notice": None, "minimum_parties": None},
        "source": {"title": "Treaty on Open Skies", "url": "https://www.osce.org/library/14127"}}]})

    id: str = Field(description="a lowercase slug", pattern=r"^[a-z0-9][a-z0-9-]{0,99}$")
    title: str = Field(min_length=1, max_length=1000)
    depositaries: list[str] = Field(default_factory=list, description="states")
    rules: Rules = Field(default_factory=lambda: Rules.model_validate({}))
    source: SourceIn


class TreatyPublic(BaseModel):
    """A registered treaty."""

    id: str
    title: str
    depositaries: list[str]
    rules: Rules
    source: dict[str, Any]
    registered_at: datetime
    events: int = Field(description="how many events are recorded")
    head: str = Field(description="the hash at the head of the treaty's chain")


def _annotation(spec: FieldSpec) -> Any:
    if spec.kind == "state":
        return str
    if spec.kind == "states":
        return list[str]
    if spec.kind in ("text", "actor"):
        return str
    if spec.kind == "choice":
        return Literal[spec.choices]
    if spec.kind == "date":
        return CalendarDate
    if spec.kind == "ref":
        return UUID
    if spec.kind == "refs":
        return list[UUID]
    return dict[str, Any]


def _description(spec: FieldSpec) -> str:
    text = spec.description
    if spec.kind in ("state", "states"):
        text += f" ({STATE_DOC})"
    if spec.refers_to:
        text += f" (id of a {' or '.join(spec.refers_to)} event)"
    return text


def _event_model(spec: EventType) -> type[BaseModel]:
    fields: dict[str, Any] = {"type": (Literal[spec.name], Field(description=spec.description))}
    if spec.dated:
        fields["date"] = (CalendarDate, Field(description="the effective date (YYYY-MM-DD)"))
    for field_spec in (*spec.fields, *COMMON_FIELDS):
        annotation = _annotation(field_spec)
        name = "from_" if field_spec.name == "from" else field_spec.name
        if field_spec.required and not spec.one_of:
            fields[name] = (annotation, Field(description=_description(field_spec), alias=field_spec.name))
        else:
            fields[name] = (annotation | None, Field(None, description=_description(field_spec), alias=field_spec.name))
    fields["source"] = (SourceIn, Field(description="where the fact comes from"))
    name = "".join(part.capitalize() for part in spec.name.split("_")) + "Create"
    return create_model(name, __config__=ConfigDict(extra="forbid", populate_by_name=True), __doc__=spec.description, **fields)


EVENT_CREATE_MODELS = {name: _event_model(spec) for name, spec in EVENT_TYPES.items()}

if TYPE_CHECKING:
    EventCreate = BaseModel
else:
    EventCreate = Annotated[Union[tuple(EVENT_CREATE_MODELS.values())], Field(discriminator="type")]  # noqa: UP007
    """An event to record: one of the types of domain.md, told apart by ``type``."""


class EventPublic(BaseModel):
    """A recorded event: every field sent, plus the ledger's own."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "id": "5f0c3a52-2b1e-4c56-9b0e-3f6f6d1a2b3c", "treaty": "open-skies", "sequence": 7, "type": "withdrawal_notified",
        "date": "2020-05-22", "state": "USA", "source": {"title": "US State Department statement"},
        "recorded_at": "2026-11-25T07:00:00.000000+00:00", "prev_hash": "ab12...", "hash": "cd34...",
        "retracted": False, "retracted_by": None, "corrected_by": []}]})

    id: UUID
    treaty: str
    sequence: int
    type: str
    date: Date | None = None
    source: dict[str, Any]
    recorded_at: datetime
    prev_hash: str
    hash: str
    retracted: bool = Field(False, description="whether a retraction names this event: projections ignore it from the retraction's recorded time on")
    retracted_by: UUID | None = Field(None, description="the id of the retraction naming this event, or null")
    corrected_by: list[UUID] = Field(
        default_factory=list, description="the ids of the corrections naming this event, in recorded order (a correction names its event in `corrects`, a retraction in `retracts`)"
    )


class EventHistoryPublic(EventPublic):
    """One event with its corrections and retraction."""

    corrections: list[EventPublic]
    retraction: EventPublic | None
    retracted: bool


class EventPagePublic(BaseModel):
    """A page of the audit history, in recorded order.

    Every event is listed as recorded, retracted and corrected ones included: ``retracted``,
    ``retracted_by`` and ``corrected_by`` say what names it, as known at ``known_at``, looked up in the
    whole history whatever the filters.
    """

    treaty: str
    events: list[EventPublic]
    next_cursor: str | None = Field(description="pass as cursor= for the next page; null at the end")


class Withdrawal(BaseModel):
    """A withdrawal: notice date and the date it takes (or took) effect."""

    state: str
    notified_on: Date
    effective_on: Date


class Contracting(BaseModel):
    """A state that deposited an instrument, for which the treaty is not yet in force."""

    state: str
    deposited_on: Date
    party_from: Date | None = Field(None, description="when it becomes a party, where already known")


class Suspension(BaseModel):
    """A suspension of implementation."""

    model_config = ConfigDict(extra="allow")

    state: str
    since: Date
    towards: list[str]
    events: list[str]


class MembershipPublic(BaseModel):
    """Membership on a date, as known at a moment."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "treaty": "open-skies", "as_of": "2020-06-01", "known_at": None, "in_force": True, "phase": "in_force",
        "parties": ["BEL", "BGR", "USA"], "signatories": ["KGZ"], "contracting": [],
        "withdrawing": [{"state": "USA", "notified_on": "2020-05-22", "effective_on": "2020-11-22"}],
        "withdrawn": [], "suspended": [], "events": ["5f0c3a52-2b1e-4c56-9b0e-3f6f6d1a2b3c"]}]})

    treaty: str
    as_of: Date
    known_at: datetime | None
    in_force: bool
    phase: Literal["not_in_force", "in_force", "terminated"]
    parties: list[str] = Field(description="States Parties, withdrawing states included, sorted")
    signatories: list[str] = Field(description="states that signed and are not bound")
    contracting: list[Contracting]
    withdrawing: list[Withdrawal]
    withdrawn: list[Withdrawal]
    suspended: list[Suspension]
    events: list[str] = Field(description="ids of the events this answer rests on")


class StatePublic(BaseModel):
    """One state's standing on a date."""

    model_config = ConfigDict(extra="allow")

    treaty: str
    state: str
    as_of: Date
    known_at: datetime | None
    status: Literal["none", "signatory", "contracting", "party", "withdrawing", "withdrawn", "terminated"]
    since: Date | None
    until: Date | None = Field(description="when this status ends, where already known")
    party: bool = Field(description="whether the state is a party on that date")
    effective_on: Date | None = Field(description="when a withdrawal takes effect, or when a contracting state becomes a party")
    notified_on: Date | None
    suspended: bool
    events: list[str]


class CompliancePublic(BaseModel):
    """The compliance picture on a date."""

    treaty: str
    as_of: Date
    known_at: datetime | None
    restrictions: list[dict[str, Any]] = Field(description="restrictions in force: state, area, kind, detail, towards, since, events")
    allegations: list[dict[str, Any]] = Field(description="allegations made by then, with standing (open, disputed, resolved) and responses")
    denied_flights: list[dict[str, Any]] = Field(description="flights denied by then, with alternative timeframes offered and refused")
    suspensions: list[dict[str, Any]]
    events: list[str]


class ChangesPublic(BaseModel):
    """What changed after ``from`` (exclusive) up to and including ``to`` (inclusive).

    The answer compares the state on ``from`` with the state on ``to``: an event dated ``from`` is
    already part of the starting state, so it is not among the changes; one dated ``to`` is.
    """

    model_config = ConfigDict(populate_by_name=True)

    treaty: str
    from_: Date = Field(alias="from")
    to: Date
    known_at: datetime | None
    in_force: dict[str, bool]
    joined: list[str]
    left: list[str]
    status_changes: list[dict[str, Any]]
    started: list[dict[str, Any]]
    ended: list[dict[str, Any]]
    allegations_made: list[str]
    flights_denied: list[str]
    events: list[dict[str, Any]]


class VerifyPublic(BaseModel):
    """The outcome of recomputing the hash chains."""

    ok: bool
    events_checked: int
    head: str | None
    first_bad_event: dict[str, Any] | None = None


class ErrorPublic(BaseModel):
    """An error: what kind, which field, and why."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"error": "timeline_contradiction", "field": "state",
                                                               "reason": "KGZ never joined this treaty: it has deposited no instrument by 2020-01-01"}]})

    error: str
    field: str | None
    reason: str
