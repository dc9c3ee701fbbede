"""The read side's front door: answers as of a date, as known at a moment, from the views."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple, Protocol
from uuid import UUID

from treaty_ledger.domain.effective import effective_events
from treaty_ledger.domain.errors import EventNotFound, InvalidInput, TreatyNotFound
from treaty_ledger.domain.events import EVENT_TYPES
from treaty_ledger.domain.records import Record
from treaty_ledger.domain.registration import normalise_treaty_id
from treaty_ledger.domain.rules import TreatyRules
from treaty_ledger.domain.states import normalise_state
from treaty_ledger.projections.answers import (
    changes_answer,
    compliance_answer,
    membership_answer,
    reservations_answer,
    state_answer,
)
from treaty_ledger.projections.intervals import KINDS, Interval

__all__ = ["COMPLIANCE_KINDS", "MEMBERSHIP_KINDS", "EventPage", "ReadModel", "Status", "TreatyRow", "ViewReader", "audit_marks"]

MEMBERSHIP_KINDS = ("phase", "status", "suspension", "provisional")
"""The kinds of row a membership answer (and its timeline) reads."""

_STATE = ("status", "suspension", "provisional", "reservation", "declaration", "objection", "territory")
_RESERVATIONS = ("reservation", "declaration", "objection")
COMPLIANCE_KINDS = ("restriction", "allegation", "flight", "suspension")
"""The kinds of row a compliance answer (and its timeline) reads."""


class Status(NamedTuple):
    """A state's status on a date: what it is, since when (empty: from the start), and the ids of the events behind it."""

    status: str
    since: str
    events: list[str]


@dataclass(frozen=True, slots=True)
class EventPage:
    """A page of the audit history and the cursor of the next page (``None`` at the end).

    ``retracted_by`` maps an event's id to the retraction that names it, ``corrected_by`` to the
    corrections that name it (in recorded order), as known at the page's ``known_at``.
    """

    events: list[Record]
    next_cursor: str | None
    retracted_by: Mapping[str, str] = field(default_factory=dict)
    corrected_by: Mapping[str, list[str]] = field(default_factory=dict)

    def listed(self) -> list[dict[str, Any]]:
        """The events as the audit list answers them: each as recorded, and whether it is retracted or corrected."""
        return [audit_marks(r.to_json(), self.retracted_by.get(r.id), self.corrected_by.get(r.id, [])) for r in self.events]


def audit_marks(body: dict[str, Any], retracted_by: str | None, corrected_by: list[str]) -> dict[str, Any]:
    """``body`` (an event as recorded) with ``retracted``, ``retracted_by`` and ``corrected_by``."""
    return {**body, "retracted": retracted_by is not None, "retracted_by": retracted_by, "corrected_by": list(corrected_by)}


class TreatyRow:
    """A treaty as the views hold it."""

    def __init__(self, treaty: str, rules: TreatyRules, doc: dict[str, Any]) -> None:
        self.treaty = treaty
        self.rules = rules
        self.doc = doc


class ViewReader(Protocol):
    """What the read side needs of the materialized views (:mod:`treaty_ledger.store.views` implements it)."""

    def treaty_row(self, treaty: str | None = None, *, uuid: str | None = None) -> TreatyRow | None:
        """The treaty with slug ``treaty`` (or aggregate id ``uuid``), if the views hold it."""

    def treaty_rows(self) -> list[TreatyRow]:
        """Every treaty the views hold, by id."""

    def rows_on(self, treaty: str, day: date, known_at: datetime | None, kinds: Sequence[str]) -> list[Interval]:
        """The interval rows of ``kinds`` holding on ``day``, as known at ``known_at``."""

    def rows_known(self, treaty: str, known_at: datetime | None, kinds: Sequence[str]) -> list[Interval]:
        """Every row of ``kinds`` over all effective dates, as known at ``known_at``."""

    def records(self, treaty: str, *, after: int = 0, limit: int | None = None, state: str | None = None,
                types: Sequence[str] = (), start: date | None = None, end: date | None = None,
                known_at: datetime | None = None, newest_first: bool = False) -> list[Record]:
        """The treaty's recorded events in recorded order (or the newest first), filtered."""

    def record_by_id(self, event_id: str) -> Record | None:
        """The recorded event with ``event_id``, in any treaty."""

    def records_naming(self, treaty: str, event_id: str) -> list[Record]:
        """The corrections and retractions naming ``event_id``."""


class ReadModel:
    """Membership, one state, compliance, changes and the audit history, from the materialized views."""

    def __init__(self, view: ViewReader, catch_up: Callable[[], int], current: Callable[[], int] | None = None) -> None:
        self.view = view
        self._catch_up = catch_up
        self._current = current or (lambda: 0)
        """Called before every answer: catches the views up when they are behind the store (another
        process recorded events, or a rebuild died part-way), cheaply when they are not; raises
        when they cannot be read now (a rebuild holds them)."""
        self._treaties: dict[str, TreatyRow] = {}
        """Treaties found, by id: a treaty is never unregistered and its rules never change, so a
        query needs the views' treaty row only the first time (then one query, not two). The
        first miss reads every treaty's row at once (a ledger holds hundreds, not millions), so
        a process's first query of each treaty does not pay a round trip of its own."""
        self._read_all_treaties = False

    def refresh(self) -> int:
        """Catch the views up with the ledger; return how many events were applied."""
        return self._catch_up()

    def treaty(self, treaty: str) -> TreatyRow:
        """The treaty, or :class:`TreatyNotFound` (the views caught up first, when behind the store)."""
        self._current()
        slug = normalise_treaty_id(treaty, field="treaty")
        row = self._treaties.get(slug)
        if row is None and not self._read_all_treaties:
            self._remember(self.view.treaty_rows())
            row = self._treaties.get(slug)
        if row is None:
            row = self.view.treaty_row(slug)  # registered since (or no such treaty)
        if row is None:
            raise TreatyNotFound(f"no treaty with id {slug!r}", field="treaty")
        self._treaties[slug] = row
        return row

    def membership_as_of(self, treaty: str, as_of: date, known_at: datetime | None = None) -> dict[str, Any]:
        """Who is a party, signatory, contracting, withdrawing, withdrawn or suspending on ``as_of``."""
        row = self.treaty(treaty)
        return membership_answer(row.treaty, as_of, known_at, self.view.rows_on(row.treaty, as_of, known_at, MEMBERSHIP_KINDS), row.rules)

    def membership_and_statuses(self, treaty: str, as_of: date, known_at: datetime | None = None) -> tuple[dict[str, Any], dict[str, Status]]:
        """:meth:`membership_as_of`, and each state's :class:`Status` on ``as_of`` by state code, from one read (so they agree)."""
        row = self.treaty(treaty)
        rows = self.view.rows_on(row.treaty, as_of, known_at, MEMBERSHIP_KINDS)
        statuses = {r.key: Status(r.doc["status"], r.doc.get("since") or "", list(r.doc.get("events", ()))) for r in rows if r.kind == "status"}
        return membership_answer(row.treaty, as_of, known_at, rows, row.rules), statuses

    def state_as_of(self, treaty: str, state: str, as_of: date, known_at: datetime | None = None) -> dict[str, Any]:
        """One state's status on ``as_of``, since when, and the events behind it."""
        row = self.treaty(treaty)
        code = normalise_state(state, field="state")
        return state_answer(row.treaty, code, as_of, known_at, self.view.rows_on(row.treaty, as_of, known_at, _STATE))

    def timeline(self, treaty: str, kinds: Sequence[str] = KINDS, known_at: datetime | None = None) -> list[Interval]:
        """The treaty's rows of ``kinds`` over every effective date, as known at ``known_at``: what a timeline draws."""
        row = self.treaty(treaty)
        return self.view.rows_known(row.treaty, known_at, kinds)

    def treaties(self) -> list[TreatyRow]:
        """Every treaty the views hold, by id (caught up first)."""
        self._current()
        return self._remember(self.view.treaty_rows())

    def _remember(self, rows: list[TreatyRow]) -> list[TreatyRow]:
        """Keep every treaty row of ``rows`` (all the views hold) for later queries; return them."""
        self._treaties.update((row.treaty, row) for row in rows)
        self._read_all_treaties = True
        return rows

    def reservations_as_of(self, treaty: str, as_of: date, known_at: datetime | None = None) -> dict[str, Any]:
        """The reservations, declarations and objections in force on ``as_of``."""
        row = self.treaty(treaty)
        return reservations_answer(row.treaty, as_of, known_at, self.view.rows_on(row.treaty, as_of, known_at, _RESERVATIONS))

    def state_across(self, state: str, as_of: date, known_at: datetime | None = None) -> dict[str, Any]:
        """One state's status on ``as_of`` in every treaty of the ledger."""
        code = normalise_state(state, field="state")
        self._current()
        treaties = []
        for row in self._remember(self.view.treaty_rows()):
            registered = row.doc.get("registered_at")
            if known_at is not None and registered and known_at < datetime.fromisoformat(registered):
                continue  # the ledger did not know of this treaty yet
            answer = state_answer(row.treaty, code, as_of, known_at, self.view.rows_on(row.treaty, as_of, known_at, ("status", "suspension")))
            treaties.append({
                "treaty": row.treaty, "title": row.doc.get("title"), "status": answer["status"], "since": answer["since"],
                "effective_on": answer["effective_on"], "party": answer["party"], "suspended": answer["suspended"],
                "suspension": answer["suspension"], "events": answer["events"],
            })
        return {"state": code, "as_of": as_of.isoformat(), "known_at": known_at.isoformat() if known_at else None, "treaties": treaties}

    def compliance_as_of(self, treaty: str, as_of: date, known_at: datetime | None = None) -> dict[str, Any]:
        """Restrictions in force, allegations and their standing, denied flights, suspensions on ``as_of``."""
        row = self.treaty(treaty)
        return compliance_answer(row.treaty, as_of, known_at, self.view.rows_on(row.treaty, as_of, known_at, COMPLIANCE_KINDS))

    def changes_between(self, treaty: str, start: date, end: date, known_at: datetime | None = None) -> dict[str, Any]:
        """What changed after ``start`` up to and including ``end``, and the events behind it."""
        if end < start:
            raise InvalidInput(f"'to' ({end}) is before 'from' ({start})", field="to")
        row = self.treaty(treaty)
        before = self.view.rows_on(row.treaty, start, known_at, KINDS)
        after = self.view.rows_on(row.treaty, end, known_at, KINDS)
        dated = [
            {"id": e.id, "type": e.type, "date": e.date.isoformat(), "state": e.state, "corrections": list(e.corrections)}
            for e in effective_events(self.view.records(row.treaty, known_at=known_at), known_at)
            if start < e.date <= end
        ]
        return changes_answer(row.treaty, start, end, known_at, before, after, dated)

    def events(self, treaty: str, *, state: str | None = None, types: list[str] | None = None, start: date | None = None,
               end: date | None = None, known_at: datetime | None = None, limit: int = 100, cursor: str | None = None) -> EventPage:
        """The audit history in recorded order, filtered and paginated, each event with the retraction and corrections naming it.

        What names an event is looked up in the whole history as known at ``known_at``, whatever the filters.
        """
        row = self.treaty(treaty)
        after = _decode_cursor(cursor)
        code = normalise_state(state, field="state") if state else None
        for kind in types or ():
            if kind not in EVENT_TYPES:
                raise InvalidInput(f"unknown event type {kind!r}", field="type")
        records = self.view.records(row.treaty, after=after, limit=limit + 1, state=code, types=types or (), start=start, end=end, known_at=known_at)
        more = len(records) > limit
        records = records[:limit]
        retracted_by: dict[str, str] = {}
        corrected_by: dict[str, list[str]] = {}
        for mending in self.view.records(row.treaty, types=("correction", "retraction"), known_at=known_at):
            if mending.type == "retraction":
                retracted_by.setdefault(str(mending.fields["retracts"]), mending.id)
            else:
                corrected_by.setdefault(str(mending.fields["corrects"]), []).append(mending.id)
        return EventPage(records, _encode_cursor(records[-1].sequence) if more and records else None, retracted_by, corrected_by)

    def event(self, event_id: str) -> dict[str, Any]:
        """One event with its corrections and retraction."""
        try:
            canonical = str(UUID(event_id))
        except ValueError:
            raise EventNotFound(f"no event with id {event_id!r}: event ids are UUIDs", field="id") from None
        self._current()
        record = self.view.record_by_id(canonical)
        if record is None:
            raise EventNotFound(f"no event with id {canonical}", field="id")
        naming = self.view.records_naming(record.treaty, record.id)
        corrections = [r for r in naming if r.type == "correction"]
        retraction = next((r for r in naming if r.type == "retraction"), None)
        body = audit_marks(record.to_json(), retraction.id if retraction else None, [r.id for r in corrections])
        body["corrections"] = [r.to_json() for r in corrections]
        body["retraction"] = retraction.to_json() if retraction else None
        return body


def _encode_cursor(sequence: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": sequence}).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> int:
    """The sequence a cursor of :func:`_encode_cursor` names; anything else is bad input naming ``cursor``.

    A cursor names a whole number from 0 to the largest sequence the views can hold (their
    ``sequence`` column is a 32-bit integer on PostgreSQL): not a boolean, a fraction, or a
    number the database cannot compare, and not a text longer than any cursor given out.
    """
    largest = 2**31 - 1
    refused = InvalidInput("not a cursor this server gave out; pass back next_cursor unchanged", field="cursor")
    if not cursor:
        return 0
    if len(cursor) > len(_encode_cursor(largest)):
        raise refused
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        after = json.loads(base64.urlsafe_b64decode(padded.encode()))["after"]
    except (ValueError, KeyError, TypeError):
        raise refused from None
    if isinstance(after, bool) or not isinstance(after, int) or not 0 <= after <= largest:
        raise refused
    return after
