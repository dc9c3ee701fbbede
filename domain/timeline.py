"""The treaty's timeline: what the fold derives from its effective events, as intervals.

A :class:`Timeline` holds each state's status (:class:`Segment`), the treaty's phases
(:class:`Phase`), suspensions, provisional application, reservations, declarations, objections,
territorial application, restrictions, allegations and denied flights, each over ``[since, until)``
of effective dates. :func:`~treaty_ledger.domain.fold.build_timeline` makes one;
:class:`~treaty_ledger.domain.running_fold.RunningFold` keeps one up to date event by event.

The fold treats the items as values: a change replaces an item (``dataclasses.replace``) rather
than altering it, so that copies of a fold can share every item neither of them changes.
Each part of a timeline belongs to one :data:`Scope`: a state's standing (its segments and
suspensions), a compliance item, or the treaty's phases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

__all__ = [
    "ITEM_COLLECTIONS",
    "TREATY_SCOPE",
    "Allegation",
    "Declaration",
    "Flight",
    "Item",
    "Objection",
    "Phase",
    "Provisional",
    "Reservation",
    "Restriction",
    "Scope",
    "Segment",
    "Suspension",
    "Territory",
    "Timeline",
]

Scope = tuple[str, str]
"""A part of the timeline an event can change: ``("state", code)`` (its segments and suspensions),
``("item", id)`` (a restriction, allegation, denied flight, provisional application, reservation,
declaration, objection or territorial application) or :data:`TREATY_SCOPE` (the phases)."""

TREATY_SCOPE: Scope = ("treaty", "")
"""The scope of the treaty's phases."""


@dataclass(slots=True)
class Segment:
    """A state's status over ``[since, until)``; ``until`` is ``None`` when open-ended."""

    state: str
    status: str
    since: date
    until: date | None
    detail: dict[str, Any]
    events: tuple[str, ...]
    in_force: bool = False

    def holds_on(self, day: date) -> bool:
        """Whether the segment covers ``day``."""
        return self.since <= day and (self.until is None or day < self.until)

    def ended(self, on: date) -> Segment:
        """This segment, ending on ``on``."""
        return Segment(self.state, self.status, self.since, on, self.detail, self.events, self.in_force)


@dataclass(slots=True)
class Phase:
    """The treaty's phase over ``[since, until)``: ``not_in_force``, ``in_force``, ``expired`` or ``terminated``.

    ``detail`` holds, for a treaty with a term, its expiry date then (``expires_on``) and the
    extensions made by then (``extensions``): an extension starts a new phase.
    """

    phase: str
    since: date | None
    until: date | None
    events: tuple[str, ...]
    detail: dict[str, Any] = field(default_factory=dict)

    def holds_on(self, day: date) -> bool:
        """Whether the phase covers ``day``."""
        return (self.since is None or self.since <= day) and (self.until is None or day < self.until)

    def ended(self, on: date) -> Phase:
        """This phase, ending on ``on``."""
        return Phase(self.phase, self.since, on, self.events, self.detail)


@dataclass(slots=True)
class Suspension:
    """A state's suspension of implementation over ``[since, until)``, with its scope and the basis it claims."""

    id: str
    state: str
    towards: list[str]
    since: date
    until: date | None
    events: list[str]
    scope: str | None = None
    detail: str | None = None
    basis: str | None = None


@dataclass(slots=True)
class Provisional:
    """A state's provisional application of the treaty (or of ``provisions``) over ``[since, until)``."""

    id: str
    state: str
    provisions: str | None
    since: date
    until: date | None
    events: list[str]


@dataclass(slots=True)
class Reservation:
    """A state's reservation over ``[since, until)``: made, until withdrawn."""

    id: str
    state: str
    text: str
    articles: list[str]
    since: date
    until: date | None
    events: list[str]


@dataclass(slots=True)
class Declaration(Reservation):
    """A state's declaration (interpretative, or accepting an optional clause) over ``[since, until)``."""

    kind: str | None = None


@dataclass(slots=True)
class Objection:
    """``state``'s objection to ``reservation`` (made by ``reserving_state``) over ``[since, until)``.

    It ends when withdrawn, or when the reservation is.
    """

    id: str
    state: str
    reservation: str
    reserving_state: str
    text: str
    precludes_entry_into_force: bool
    since: date
    until: date | None
    events: list[str]


@dataclass(slots=True)
class Territory:
    """A state's territorial application over ``[since, until)``: the treaty extended to ``territory``, or it excluded."""

    id: str
    state: str
    territory: str
    applies: bool
    since: date
    until: date | None
    events: list[str]


@dataclass(slots=True)
class Restriction:
    """A restriction on observation flights over ``[since, until)``."""

    id: str
    state: str
    area: str
    kind: str
    detail: str
    towards: list[str]
    since: date
    until: date | None
    events: list[str]
    claimed_by: str | None = None


@dataclass(slots=True)
class Allegation:
    """An allegation of non-compliance; ``responses`` hold (date, type, event id, state, text)."""

    id: str
    accuser: str
    accused: str
    subject: str
    restrictions: list[str]
    made_on: date
    responses: list[dict[str, Any]]
    events: list[str]

    def standing_on(self, day: date) -> str:
        """``open``, ``disputed`` or ``resolved`` on ``day``."""
        standing = "open"
        for response in self.responses:
            if response["date"] > day:
                break
            standing = "resolved" if response["type"] == "allegation_resolved" else "disputed"
        return standing


@dataclass(slots=True)
class Flight:
    """A denied observation flight with the timeframes offered and refused."""

    id: str
    host: str
    observers: list[str]
    reason: str
    denied_on: date
    offers: list[dict[str, Any]]
    refusals: list[dict[str, Any]]
    events: list[str]
    claimed_by: str | None = None


@dataclass(slots=True)
class Timeline:
    """Everything the fold derives: the answers for every date, as intervals."""

    phases: list[Phase] = field(default_factory=list)
    segments: dict[str, list[Segment]] = field(default_factory=dict)
    suspensions: dict[str, Suspension] = field(default_factory=dict)
    restrictions: dict[str, Restriction] = field(default_factory=dict)
    allegations: dict[str, Allegation] = field(default_factory=dict)
    flights: dict[str, Flight] = field(default_factory=dict)
    provisional: dict[str, Provisional] = field(default_factory=dict)
    reservations: dict[str, Reservation] = field(default_factory=dict)
    declarations: dict[str, Declaration] = field(default_factory=dict)
    objections: dict[str, Objection] = field(default_factory=dict)
    territories: dict[str, Territory] = field(default_factory=dict)

    def segment_on(self, state: str, day: date) -> Segment | None:
        """``state``'s segment on ``day``, or ``None`` when it has no standing then."""
        for segment in self.segments.get(state, ()):
            if segment.holds_on(day):
                return segment
        return None


Item = Restriction | Allegation | Flight | Provisional | Reservation | Declaration | Objection | Territory
"""An item of the timeline with a scope of its own (``("item", id)``)."""

ITEM_COLLECTIONS: dict[type, str] = {
    Restriction: "restrictions", Allegation: "allegations", Flight: "flights", Provisional: "provisional",
    Reservation: "reservations", Declaration: "declarations", Objection: "objections", Territory: "territories",
}
"""The :class:`Timeline` attribute that holds each kind of item, by its class."""
