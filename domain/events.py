"""The catalogue of event types: each defined once, with its fields, their kinds, constraints and
meaning, and the one pass that checks a client's event and puts it in canonical form.

Each type is an :class:`EventType` in :data:`EVENT_TYPES`, its fields
:class:`~treaty_ledger.domain.fields.FieldSpec` s. Everything else is read off it: validation
(:func:`normalise_event`, raising :class:`~treaty_ledger.domain.errors.InvalidInput` naming the
field and the reason), the JSON Schema the API publishes (:mod:`treaty_ledger.domain.schema`),
``docs/events.md`` (:mod:`treaty_ledger.domain.reference`), the dataset reader and the CLI.
Adding an event type is one entry here plus its legal effect in the fold
(:mod:`treaty_ledger.domain.participation`, :mod:`treaty_ledger.domain.compliance`), where checks that need the treaty's history live (does
the referenced restriction exist? is the state a party?).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from treaty_ledger.domain.dates import parse_date
from treaty_ledger.domain.errors import InvalidInput, UnknownEventType
from treaty_ledger.domain.fields import FieldSpec, normalise_value
from treaty_ledger.domain.sources import normalise_source

__all__ = [
    "COMMON_FIELDS",
    "COMPLIANCE",
    "EVENT_TYPES",
    "LEDGER_FIELDS",
    "PARTICIPATION",
    "RESTRICTION_KINDS",
    "SUSPENSION_SCOPES",
    "TREATY_WIDE",
    "EventType",
    "FieldSpec",
    "NewEvent",
    "normalise_event",
    "normalise_fields",
]

Category = Literal["participation", "reservations", "compliance", "record", "maintenance"]

LEDGER_FIELDS = ("id", "treaty", "sequence", "recorded_at", "prev_hash", "hash")
"""Fields of a recorded event that the ledger sets, never the client."""

RESTRICTION_KINDS = ("altitude", "distance", "exclusion_zone", "corridor", "airfield", "other")

SUSPENSION_SCOPES = ("complete", "partial")
"""How much of a treaty a suspension of implementation covers."""


@dataclass(frozen=True, slots=True)
class EventType:
    """An event type: its name, what it means and the fields it takes besides the common ones."""

    name: str
    category: Category
    description: str
    fields: tuple[FieldSpec, ...] = ()
    treaty_wide: bool = False
    one_of: tuple[str, ...] = ()

    @property
    def dated(self) -> bool:
        """Whether the event has an effective date (corrections and retractions do not)."""
        return self.category != "maintenance"

    def field_named(self, name: str) -> FieldSpec | None:
        """The spec of field ``name``, among this type's and the common fields."""
        for spec in (*self.fields, *COMMON_FIELDS):
            if spec.name == name:
                return spec
        return None


def _state(description: str = "the acting state (ISO 3166 code or English name)") -> FieldSpec:
    return FieldSpec("state", "state", description, required=True)


def _ref(name: str, refers_to: str, description: str) -> FieldSpec:
    return FieldSpec(name, "ref", description, required=True, refers_to=(refers_to,))


COMMON_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("date_precision", "choice", "how precisely the date is known", choices=("day", "month", "year")),
    FieldSpec("note", "text", "a free-text note: conflicts between sources, doubts, context"),
    FieldSpec("claimed_by", "actor", "whose account this is, when the event is a claim (a state or a body)"),
)

_TOWARDS = FieldSpec("towards", "states", "only towards these states (all states when absent)")

EVENT_TYPES: dict[str, EventType] = {
    spec.name: spec
    for spec in (
        EventType("adopted", "participation", "the text is adopted or opened for signature", treaty_wide=True),
        EventType("signed", "participation", "a state signs; it is a signatory, not yet bound", (_state(),)),
        EventType(
            "ratified",
            "participation",
            "a state deposits an instrument of ratification, acceptance or approval",
            (
                _state(),
                FieldSpec(
                    "instrument",
                    "choice",
                    "the instrument deposited (default ratification)",
                    choices=("ratification", "acceptance", "approval"),
                ),
            ),
        ),
        EventType("acceded", "participation", "a state that did not sign deposits an instrument of accession", (_state(),)),
        EventType(
            "succeeded",
            "participation",
            "a successor state declares itself bound by its predecessor's acts and takes its standing",
            (_state("the successor state"), FieldSpec("predecessor", "state", "the predecessor state", required=True)),
        ),
        EventType("entered_into_force", "participation", "the treaty enters into force", treaty_wide=True),
        EventType("withdrawal_announced", "participation", "a political announcement of intent to withdraw", (_state(),)),
        EventType(
            "withdrawal_notified",
            "participation",
            "the official note of withdrawal to the depositaries",
            (_state(), FieldSpec("effective_on", "date", "a later date named by the note, when it names one")),
        ),
        EventType("withdrawal_rescinded", "participation", "the notice is revoked before it takes effect", (_state(),)),
        EventType(
            "implementation_suspended",
            "participation",
            "a state suspends implementation; it stays a party",
            (
                _state(),
                _TOWARDS,
                FieldSpec("scope", "choice", "how much it suspends: all of the treaty, or part of it", choices=SUSPENSION_SCOPES),
                FieldSpec("detail", "text", "what is suspended (e.g. 'inspections and data exchanges')"),
                FieldSpec("basis", "text", "the ground claimed (e.g. 'Article 62 of the Vienna Convention', 'countermeasure')"),
            ),
        ),
        EventType("implementation_resumed", "participation", "the suspension ends", (_state(),)),
        EventType("terminated", "participation", "the treaty ends", treaty_wide=True),
        EventType(
            "extended",
            "participation",
            "the parties extend a treaty with a duration to a new expiry date (within the treaty's extension rule)",
            (FieldSpec("until", "date", "the new expiry date: the treaty is not in force from this date", required=True),),
            treaty_wide=True,
        ),
        EventType(
            "provisional_application_started",
            "participation",
            "a state applies the treaty (or named provisions) provisionally before it is bound; it ends when the treaty "
            "enters into force for the state, or the state leaves",
            (_state(), FieldSpec("provisions", "text", "the provisions applied, when not the whole treaty")),
        ),
        EventType("provisional_application_ended", "participation", "a state stops applying the treaty provisionally", (_state(),)),
        EventType(
            "signature_withdrawn",
            "participation",
            "a signatory notifies that it does not intend to become a party ('unsigning'); it is no longer a signatory, "
            "and its history stays",
            (_state(),),
        ),
        EventType(
            "instrument_withdrawn",
            "participation",
            "a deposited instrument is withdrawn before it took effect for the state, or a ratification of a treaty not in "
            "force is revoked: the state is a signatory again, or nothing if it never signed",
            (_state(),),
        ),
        EventType(
            "reservation_made",
            "reservations",
            "a state's reservation: it excludes or modifies the legal effect of provisions for itself",
            (_state("the reserving state"), FieldSpec("text", "text", "the reservation's text or summary", required=True),
             FieldSpec("articles", "texts", "the provisions it concerns (e.g. 'Article 8')")),
        ),
        EventType(
            "reservation_withdrawn",
            "reservations",
            "a state withdraws its reservation; objections to it end with it",
            (_state("the reserving state"), _ref("reservation", "reservation_made", "the reservation_made event it withdraws")),
        ),
        EventType(
            "declaration_made",
            "reservations",
            "a state's declaration: interpretative, or accepting an optional clause",
            (_state("the declaring state"), FieldSpec("text", "text", "the declaration's text or summary", required=True),
             FieldSpec("articles", "texts", "the provisions it concerns"),
             FieldSpec("kind", "text", "what kind of declaration (e.g. 'interpretative', 'Article 12(3) acceptance')")),
        ),
        EventType(
            "declaration_withdrawn",
            "reservations",
            "a state withdraws its declaration",
            (_state("the declaring state"), _ref("declaration", "declaration_made", "the declaration_made event it withdraws")),
        ),
        EventType(
            "objection_made",
            "reservations",
            "a state objects to another state's reservation",
            (
                _state("the objecting state"),
                _ref("reservation", "reservation_made", "the reservation_made event objected to"),
                FieldSpec("text", "text", "the objection's text or summary", required=True),
                FieldSpec("precludes_entry_into_force", "boolean",
                          "whether the objector opposes the treaty's entry into force between it and the reserving state (default false)"),
            ),
        ),
        EventType(
            "objection_withdrawn",
            "reservations",
            "a state withdraws its objection",
            (_state("the objecting state"), _ref("objection", "objection_made", "the objection_made event it withdraws")),
        ),
        EventType(
            "territorial_application",
            "reservations",
            "a state extends the treaty to a territory, or excludes one, from the date",
            (
                _state(),
                FieldSpec("territory", "text", "the territory (free text, like a restriction's area)", required=True),
                FieldSpec("applies", "boolean", "true: the treaty is extended to the territory; false: the territory is excluded",
                          required=True),
            ),
        ),
        EventType(
            "restriction_imposed",
            "compliance",
            "a state limits observation over an area",
            (
                _state("the state imposing the restriction"),
                FieldSpec("area", "text", "the area (free text: a region, zone or territory)", required=True),
                FieldSpec("kind", "choice", "the kind of restriction", required=True, choices=RESTRICTION_KINDS),
                FieldSpec("detail", "text", "what the restriction is", required=True),
                _TOWARDS,
            ),
        ),
        EventType(
            "restriction_lifted",
            "compliance",
            "a restriction ends",
            (_state("the state lifting it"), _ref("restriction", "restriction_imposed", "the restriction_imposed event it ends")),
        ),
        EventType(
            "allegation_made",
            "compliance",
            "a state alleges non-compliance by another",
            (
                FieldSpec("accuser", "state", "the state making the allegation", required=True),
                FieldSpec("accused", "state", "the state accused", required=True),
                FieldSpec("subject", "text", "what is alleged", required=True),
                FieldSpec("restrictions", "refs", "restriction_imposed events the allegation names", refers_to=("restriction_imposed",)),
            ),
        ),
        EventType(
            "allegation_rejected",
            "compliance",
            "the accused denies the allegation; it is then disputed",
            (
                _state("the accused state"),
                _ref("allegation", "allegation_made", "the allegation_made event it answers"),
                FieldSpec("reasons", "text", "the reasons given", required=True),
            ),
        ),
        EventType(
            "allegation_resolved",
            "compliance",
            "the parties or the consultative commission settle the allegation",
            (
                _ref("allegation", "allegation_made", "the allegation_made event it settles"),
                FieldSpec("resolution", "text", "how it was settled", required=True),
            ),
        ),
        EventType(
            "flight_denied",
            "compliance",
            "a host state refuses or prevents an observation flight",
            (
                _state("the host state"),
                FieldSpec("observers", "states", "the observing states", required=True),
                FieldSpec("reason", "text", "the reason the host gave", required=True),
            ),
        ),
        EventType(
            "alternative_timeframe_offered",
            "compliance",
            "the host offers another time for a denied flight",
            (
                _state("the host state"),
                _ref("flight", "flight_denied", "the flight_denied event"),
                FieldSpec("timeframe", "text", "the timeframe offered"),
            ),
        ),
        EventType(
            "alternative_timeframe_refused",
            "compliance",
            "the observing states refuse the offered timeframe",
            (
                _ref("flight", "flight_denied", "the flight_denied event"),
                FieldSpec("observers", "states", "the observing states refusing", required=True),
                FieldSpec("reason", "text", "the reason given"),
            ),
        ),
        EventType(
            "official_note",
            "record",
            "any other diplomatic note",
            (
                FieldSpec("from", "states", "the states sending the note", required=True),
                FieldSpec("to", "text", "the addressees (free text)", required=True),
                FieldSpec("subject", "text", "what the note is about", required=True),
            ),
        ),
        EventType(
            "statement",
            "record",
            "a public statement by a state or body; no legal effect",
            (
                FieldSpec("state", "state", "the state making the statement"),
                FieldSpec("body", "text", "the body making the statement, when not a state"),
                FieldSpec("summary", "text", "what was said", required=True),
            ),
            one_of=("state", "body"),
        ),
        EventType(
            "commission_decision",
            "record",
            "a decision of the treaty's consultative commission",
            (
                FieldSpec("body", "text", "the commission (default: the treaty's consultative commission)"),
                FieldSpec("decision", "text", "what was decided", required=True),
            ),
        ),
        EventType(
            "correction",
            "maintenance",
            "corrects fields of an earlier event, from its recorded time on",
            (
                FieldSpec("corrects", "ref", "the id of the event corrected", required=True),
                FieldSpec("changes", "changes", "the corrected fields and their new values", required=True),
            ),
        ),
        EventType(
            "retraction",
            "maintenance",
            "an earlier event should never have been recorded; ignored from the retraction's recorded time on",
            (
                FieldSpec("retracts", "ref", "the id of the event retracted", required=True),
                FieldSpec("reason", "text", "why it is retracted", required=True),
            ),
        ),
    )
}


PARTICIPATION = frozenset(name for name, spec in EVENT_TYPES.items() if spec.category == "participation")
"""The types that change who is bound: each has its legal effect in the fold."""


COMPLIANCE = frozenset(name for name, spec in EVENT_TYPES.items() if spec.category == "compliance")
"""The types of the compliance picture: each has its effect in the fold."""

TREATY_WIDE = frozenset(name for name, spec in EVENT_TYPES.items() if spec.treaty_wide)
"""The types that concern the treaty as a whole, not one state."""


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event as a client asks to record it, checked and in canonical form."""

    type: str
    date: date | None
    fields: dict[str, Any] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def spec(self) -> EventType:
        """The :class:`EventType` of this event."""
        return EVENT_TYPES[self.type]


def normalise_event(payload: Mapping[str, Any]) -> NewEvent:
    """Check a client's event and return it in canonical form.

    ``payload`` holds ``type``, ``date`` (not for corrections and retractions), ``source`` and
    the type's fields. Raises :class:`~treaty_ledger.domain.errors.InvalidInput` naming the field and reason.
    """
    if not isinstance(payload, Mapping):
        raise InvalidInput("expected an object describing the event")
    kind = payload.get("type")
    if kind is None:
        raise InvalidInput("every event needs a type", field="type")
    if not isinstance(kind, str) or kind not in EVENT_TYPES:
        known = ", ".join(EVENT_TYPES)
        raise UnknownEventType(f"unknown event type {kind!r}; known types are {known}", field="type")
    spec = EVENT_TYPES[kind]
    for forbidden in LEDGER_FIELDS:
        if payload.get(forbidden) is not None:
            raise InvalidInput(f"'{forbidden}' is set by the ledger, not by the client", field=forbidden)
    if spec.dated:
        if payload.get("date") is None:
            raise InvalidInput(f"a {kind} event needs its effective date (YYYY-MM-DD)", field="date")
        effective = parse_date(payload["date"], field="date")
    else:
        if payload.get("date") is not None:
            raise InvalidInput(f"a {kind} takes effect when it is recorded and has no date", field="date")
        effective = None
    body = {k: v for k, v in payload.items() if k not in _NOT_FIELDS}
    fields = normalise_fields(spec, body)
    source = normalise_source(payload.get("source"))
    return NewEvent(type=kind, date=effective, fields=fields, source=source)


def normalise_fields(spec: EventType, body: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Check the type-specific and common fields of an event; ``partial`` skips required checks."""
    made = _FIELD_SPECS.get(spec.name)
    specs, allowed = made[1:] if made is not None and made[0] is spec else _field_specs(spec)[1:]
    if not allowed.issuperset(body):
        unknown = sorted(set(body) - allowed)
        names = ", ".join(sorted(allowed)) or "no fields of its own"
        raise InvalidInput(f"a {spec.name} event has no field {unknown[0]!r} (it takes {names})", field=unknown[0])
    fields: dict[str, Any] = {}
    for field_spec in specs:
        value = body.get(field_spec.name)
        if value is None or value == [] or value == "":
            if field_spec.required and not partial:
                raise InvalidInput(f"a {spec.name} event needs {field_spec.name}: {field_spec.description}", field=field_spec.name)
            continue
        fields[field_spec.name] = normalise_value(field_spec, value)
    if spec.one_of and not partial and not any(name in fields for name in spec.one_of):
        raise InvalidInput(f"a {spec.name} event needs one of {' or '.join(spec.one_of)}", field=spec.one_of[0])
    if spec.name == "succeeded" and not partial and fields["state"] == fields["predecessor"]:
        raise InvalidInput("a state cannot succeed itself", field="predecessor")
    if spec.name == "allegation_made" and not partial and fields["accuser"] == fields["accused"]:
        raise InvalidInput("a state cannot accuse itself", field="accused")
    return fields


_NOT_FIELDS = frozenset(("type", "date", "source", *LEDGER_FIELDS))
"""Keys of a client's event that are not fields of its type."""


def _field_specs(spec: EventType) -> tuple[EventType, tuple[FieldSpec, ...], frozenset[str]]:
    """``spec``, the fields an event of its type takes (its own, then the common ones), and their names."""
    specs = (*spec.fields, *COMMON_FIELDS)
    return spec, specs, frozenset(f.name for f in specs)


_FIELD_SPECS = {name: _field_specs(spec) for name, spec in EVENT_TYPES.items()}
""":func:`_field_specs` of each type of the catalogue, made once (a type made elsewhere is read each time)."""
