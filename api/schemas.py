"""Response schemas, named by role.

Request bodies have no models here: the domain's catalogue checks them, and its JSON Schemas
(:func:`treaty_ledger.domain.schema.request_schemas`) are what the OpenAPI document publishes
for them (:func:`treaty_ledger.api.openapi.openapi_document`).
"""

from __future__ import annotations

from datetime import date as Date
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, create_model

from treaty_ledger.domain.rules import RULES

__all__ = [
    "ChangesPublic",
    "CheckpointPublic",
    "CompliancePublic",
    "ConsistencyPublic",
    "ErrorPublic",
    "EventHistoryPublic",
    "EventPagePublic",
    "EventPublic",
    "InclusionPublic",
    "MembershipPublic",
    "ReceiptPublic",
    "RulesPublic",
    "SigningKeyPublic",
    "StatePublic",
    "TreatyPublic",
    "VerifyPublic",
]


class ExtensionRule(BaseModel):
    """How a treaty's term may be extended: by at most max_period beyond its expiry, at most times times (null: any number)."""

    max_period: str
    times: int | None


class EntryIntoForceRule(BaseModel):
    """What a treaty needs to enter into force: instruments, required states, and the delay after the last (aligned)."""

    instruments: int | None
    required_states: list[str]
    delay: str | None
    alignment: Literal["none", "first_of_next_month"]


_RULE_TYPES: dict[str, Any] = {"duration": str, "count": int, "alignment": Literal["none", "first_of_next_month"], "extension": ExtensionRule,
                               "entry_into_force": EntryIntoForceRule}


def _rules_model() -> type[BaseModel]:
    fields: dict[str, Any] = {
        rule.name: (_RULE_TYPES[rule.kind] | None, Field(None, description=rule.description, examples=list(rule.examples)))
        for rule in RULES
    }
    return create_model("RulesPublic", __doc__="A treaty's rules, durations as ISO 8601 text; null where the treaty has no such rule.", **fields)


RulesPublic = _rules_model()
"""A treaty's rules as the API answers them, read off the domain's catalogue of rules."""


class TreatyPublic(BaseModel):
    """A registered treaty."""

    id: str
    title: str
    depositaries: list[str]
    rules: RulesPublic  # type: ignore[valid-type]
    source: dict[str, Any]
    registered_at: datetime
    events: int = Field(description="how many events are recorded")
    head: str = Field(description="the hash at the head of the treaty's chain")


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
    """A suspension of implementation, with its scope and the basis it claims."""

    model_config = ConfigDict(extra="allow")

    state: str
    since: Date
    towards: list[str] = Field(description="the states it concerns (all when empty)")
    scope: Literal["complete", "partial"] | None = Field(None, description="all of the treaty, or part of it (see detail)")
    detail: str | None = Field(None, description="what is suspended")
    basis: str | None = Field(None, description="the ground the suspending state claims (e.g. 'countermeasure')")
    events: list[str]


class StateSuspension(BaseModel):
    """A state's suspension of implementation in force on the date."""

    since: Date
    towards: list[str]
    scope: Literal["complete", "partial"] | None = None
    detail: str | None = None
    basis: str | None = None
    events: list[str]


class Extension(BaseModel):
    """An extension of a treaty's term: when it was made, the new expiry date, and its events."""

    on: Date
    until: Date
    events: list[str]


class InstrumentCount(BaseModel):
    """Instruments the entry-into-force rule requires, and how many are deposited (and not withdrawn) on the date."""

    required: int
    deposited: int


class RequiredStates(BaseModel):
    """The states the entry-into-force rule names: those that have deposited an instrument on the date, and those missing."""

    required: int
    met: list[str]
    missing: list[str]


class Conditions(BaseModel):
    """The entry-into-force rule's conditions on the date: met, and what is missing."""

    instruments: InstrumentCount | None = Field(description="null when the rule counts no instruments")
    required_states: RequiredStates | None = Field(description="null when the rule names no states")
    met: bool = Field(description="whether every condition is met (the recorded entered_into_force event says when it entered into force)")


class Provisional(BaseModel):
    """A provisional application in force."""

    id: str
    provisions: str | None = Field(description="the provisions applied, when not the whole treaty")
    since: Date
    events: list[str]


class ReservationItem(BaseModel):
    """A reservation in force: the reserving state, its text and the provisions it concerns."""

    id: str = Field(description="the reservation_made event's id")
    state: str = Field(description="the reserving state")
    text: str
    articles: list[str]
    since: Date
    events: list[str]


class DeclarationItem(ReservationItem):
    """A declaration in force (interpretative, or accepting an optional clause)."""

    id: str = Field(description="the declaration_made event's id")
    kind: str | None


class ObjectionItem(BaseModel):
    """An objection in force to a reservation."""

    id: str = Field(description="the objection_made event's id")
    state: str = Field(description="the objecting state")
    reservation: str = Field(description="the reservation_made event objected to")
    reserving_state: str
    text: str
    precludes_entry_into_force: bool
    since: Date
    events: list[str]


class TerritoryItem(BaseModel):
    """A territorial application in force: the treaty extended to a territory (applies) or it excluded."""

    id: str
    territory: str
    applies: bool
    since: Date
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
    phase: Literal["not_in_force", "in_force", "expired", "terminated"]
    expires_on: Date | None = Field(description="for a treaty with a term: when it expires (or expired), as extended by then; else null")
    extensions: list[Extension] = Field(description="the extensions of its term made by then")
    parties: list[str] = Field(description="States Parties, withdrawing states included, sorted")
    signatories: list[str] = Field(description="states that signed and are not bound")
    contracting: list[Contracting]
    withdrawing: list[Withdrawal]
    withdrawn: list[Withdrawal]
    suspended: list[Suspension]
    provisionally_applying: list[str] = Field(description="states applying the treaty provisionally, sorted")
    conditions: Conditions | None = Field(description="for a treaty with an entry_into_force rule: its conditions met and missing; else null")
    events: list[str] = Field(description="ids of the events this answer rests on")


class StatePublic(BaseModel):
    """One state's standing on a date."""

    model_config = ConfigDict(extra="allow")

    treaty: str
    state: str
    as_of: Date
    known_at: datetime | None
    status: Literal["none", "signatory", "contracting", "party", "withdrawing", "withdrawn", "terminated", "expired"]
    since: Date | None
    until: Date | None = Field(description="when this status ends, where already known")
    party: bool = Field(description="whether the state is a party on that date")
    effective_on: Date | None = Field(description="when a withdrawal takes effect, or when a contracting state becomes a party")
    notified_on: Date | None
    suspended: bool
    suspension: StateSuspension | None = Field(description="its suspension of implementation in force, with scope and basis")
    provisionally_applying: bool
    provisional: Provisional | None
    reservations: list[ReservationItem] = Field(description="its reservations in force")
    declarations: list[DeclarationItem] = Field(description="its declarations in force")
    objections_made: list[ObjectionItem] = Field(description="its objections in force to other states' reservations")
    objections_received: list[ObjectionItem] = Field(description="objections in force to its reservations (state: the objector)")
    territories: list[TerritoryItem] = Field(description="territories it extended the treaty to, or excluded, in force")
    events: list[str]


class ReservationsPublic(BaseModel):
    """The reservations, declarations and objections in force on a date, as known at a moment."""

    treaty: str
    as_of: Date
    known_at: datetime | None
    reservations: list[ReservationItem]
    declarations: list[DeclarationItem]
    objections: list[ObjectionItem]
    events: list[str]


class StateInTreaty(BaseModel):
    """One state's standing in one treaty on a date."""

    treaty: str
    title: str | None
    status: Literal["none", "signatory", "contracting", "party", "withdrawing", "withdrawn", "terminated", "expired"]
    since: Date | None
    effective_on: Date | None
    party: bool
    suspended: bool
    suspension: StateSuspension | None
    events: list[str]


class StateAcrossPublic(BaseModel):
    """One state's standing in every treaty of the ledger on a date, as known at a moment."""

    state: str
    as_of: Date
    known_at: datetime | None
    treaties: list[StateInTreaty]


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
    started: list[dict[str, Any]] = Field(description="items in force on `to` and not on `from`, each as its own answer gives it, with "
                                          "`item` naming what it is (restriction, suspension, provisional, reservation, declaration, "
                                          "objection, territory); `kind` is a restriction's or a declaration's own kind where it has one, else the same as `item`")
    ended: list[dict[str, Any]] = Field(description="items in force on `from` and not on `to`, as in `started`")
    allegations_made: list[str]
    flights_denied: list[str]
    events: list[dict[str, Any]]


class VerifyPublic(BaseModel):
    """The outcome of recomputing the hash chains."""

    ok: bool
    events_checked: int
    head: str | None
    first_bad_event: dict[str, Any] | None = None


class CheckpointPublic(BaseModel):
    """A signed checkpoint: the tree's size and root hash (standard base64), and the C2SP signed note that carries them."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "origin": "treaty-ledger.local/ledger", "tree_size": 183, "root_hash": "oS1erMWIJwlNbXSIhsjrX00+NTX71qQIA0l/zSgv4W4=",
        "note": "treaty-ledger.local/ledger\n183\noS1erMWIJwlNbXSIhsjrX00+NTX71qQIA0l/zSgv4W4=\n\n\u2014 treaty-ledger.local/ledger K/dV...\n",
        "issued_at": "2026-12-01T23:55:02.123456+00:00"}]})

    origin: str
    tree_size: int
    root_hash: str
    note: str | None
    issued_at: datetime


class SigningKeyPublic(BaseModel):
    """The key that signs the checkpoints: the signed-note verifier key a client keeps to check them offline."""

    origin: str
    algorithm: Literal["Ed25519"]
    key_id: str
    verifier_key: str = Field(description="name+hexid+base64(0x01 || public key), as Go's golang.org/x/mod/sumdb/note reads it")


class InclusionPublic(BaseModel):
    """RFC 9162's inclusion proof of one leaf: the leaf's entry (its hash is SHA-256 of 0x00 and the entry's canonical JSON) and path."""

    event: str | None = Field(description="the event's id (null for a registration)")
    treaty: str
    sequence: int = Field(description="the event's place in its treaty's history (0: the registration)")
    leaf_index: int
    tree_size: int
    leaf_hash: str
    entry: dict[str, Any] = Field(description="the event as recorded, or the registration: canonical JSON of it is the leaf's data")
    inclusion_path: list[str] = Field(description="RFC 9162's PATH, the hash nearest the leaf first, each standard base64")


class ConsistencyPublic(BaseModel):
    """RFC 9162's consistency proof between two tree sizes."""

    first: int
    second: int
    consistency_path: list[str] = Field(description="RFC 9162's PROOF(first, D[second]), each hash standard base64")


class ReceiptPublic(BaseModel):
    """An answer with its audit receipt: the signed checkpoint it was computed at and the inclusion proof of every event it rests on."""

    answer: dict[str, Any]
    receipt: dict[str, Any] = Field(description="`checkpoint` (as GET /v1/checkpoint gives it) and `leaves` (inclusion proofs with entries)")


class ErrorPublic(BaseModel):
    """An error: what kind, which field, and why."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"error": "timeline_contradiction", "field": "state",
                                                               "reason": "KGZ never joined this treaty: it has deposited no instrument by 2020-01-01"}]})

    error: str
    field: str | None
    reason: str
