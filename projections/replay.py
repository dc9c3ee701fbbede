"""Replay: the answers folded afresh from a treaty's recorded events.

The reference the materialized views are tested against, and what ``treaty-ledger replay``
uses. Pure functions of the events: no store, no cache.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from treaty_ledger.domain.effective import effective_events
from treaty_ledger.domain.fold import build_timeline
from treaty_ledger.domain.records import Record
from treaty_ledger.domain.rules import TreatyRules
from treaty_ledger.projections.answers import compliance_answer, membership_answer, reservations_answer, state_answer
from treaty_ledger.projections.intervals import Interval, intervals_of

__all__ = ["compliance_by_replay", "membership_by_replay", "reservations_by_replay", "rows_by_replay", "state_by_replay"]


def rows_by_replay(rules: TreatyRules, records: Iterable[Record], as_of: date, known_at: datetime | None = None) -> list[Interval]:
    """The interval rows holding on ``as_of``, folded from the events known at ``known_at``."""
    timeline = build_timeline(rules, effective_events(records, known_at))
    return [row for row in intervals_of(timeline) if row.holds_on(as_of)]


def membership_by_replay(treaty: str, rules: TreatyRules, records: Iterable[Record], as_of: date, known_at: datetime | None = None) -> dict[str, Any]:
    """Membership on ``as_of`` as known at ``known_at``, by replay."""
    return membership_answer(treaty, as_of, known_at, rows_by_replay(rules, records, as_of, known_at), rules)


def state_by_replay(treaty: str, rules: TreatyRules, records: Iterable[Record], state: str, as_of: date, known_at: datetime | None = None) -> dict[str, Any]:
    """One state's standing on ``as_of`` as known at ``known_at``, by replay."""
    return state_answer(treaty, state, as_of, known_at, rows_by_replay(rules, records, as_of, known_at))


def compliance_by_replay(treaty: str, rules: TreatyRules, records: Iterable[Record], as_of: date, known_at: datetime | None = None) -> dict[str, Any]:
    """The compliance picture on ``as_of`` as known at ``known_at``, by replay."""
    return compliance_answer(treaty, as_of, known_at, rows_by_replay(rules, records, as_of, known_at))


def reservations_by_replay(treaty: str, rules: TreatyRules, records: Iterable[Record], as_of: date, known_at: datetime | None = None) -> dict[str, Any]:
    """The reservations, declarations and objections in force on ``as_of`` as known at ``known_at``, by replay."""
    return reservations_answer(treaty, as_of, known_at, rows_by_replay(rules, records, as_of, known_at))
