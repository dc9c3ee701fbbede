"""Given/when/then for ledgers: given these events, recorded in this order, then this state.

    scenario = Scenario.open_skies_rules()
    scenario.given(signed("USA", "1992-03-24"), ratified("USA", "1993-12-03"))
    assert scenario.status("USA", on="1994-01-01") == "contracting"

Events are plain dicts, as a client would send them; ``key=`` names an event so later events
(corrections, lifted restrictions) can refer to it with ``scenario.id("key")``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from treaty_ledger.domain.errors import LedgerError
from treaty_ledger.domain.ledger import Ledger
from treaty_ledger.domain.records import Record
from treaty_ledger.domain.timeline import Timeline

SOURCE = {"title": "Test source", "url": "https://example.org/source"}
OPEN_SKIES_RULES = {"withdrawal_notice": "P6M", "late_joiner_delay": "P60D"}


def event(type_: str, on: str | None = None, state: str | None = None, **fields: Any) -> dict[str, Any]:
    """An event as a client would send it, with a source."""
    body: dict[str, Any] = {"type": type_, "source": SOURCE}
    if on is not None:
        body["date"] = on
    if state is not None:
        body["state"] = state
    body.update(fields)
    return body


def signed(state: str, on: str) -> dict[str, Any]:
    return event("signed", on, state)


def ratified(state: str, on: str) -> dict[str, Any]:
    return event("ratified", on, state)


def acceded(state: str, on: str) -> dict[str, Any]:
    return event("acceded", on, state)


def in_force(on: str) -> dict[str, Any]:
    return event("entered_into_force", on)


def notified(state: str, on: str, **fields: Any) -> dict[str, Any]:
    return event("withdrawal_notified", on, state, **fields)


class Scenario:
    """A treaty in an in-memory ledger, built from events the way a user records them."""

    def __init__(self, rules: dict[str, Any] | None = None, ledger: Ledger | None = None, treaty: str = "test-treaty") -> None:
        self.ledger = ledger or Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
        self.treaty = treaty
        self.keys: dict[str, str] = {}
        self.ledger.register_treaty({"id": treaty, "title": "Test treaty", "rules": rules or {}, "source": SOURCE})

    @classmethod
    def open_skies_rules(cls, **kwargs: Any) -> Scenario:
        return cls(rules=OPEN_SKIES_RULES, **kwargs)

    def given(self, *events: dict[str, Any]) -> Scenario:
        """Record ``events`` in this order."""
        for body in events:
            self.record(body)
        return self

    def record(self, body: dict[str, Any]) -> Record:
        """Record one event (``key=`` names it for later reference)."""
        body = dict(body)
        key = body.pop("key", None)
        record = self.ledger.record_event(self.treaty, body)
        if key:
            self.keys[key] = record.id
        return record

    def id(self, key: str) -> str:
        """The id of the event recorded with ``key=``."""
        return self.keys[key]

    def rejects(self, body: dict[str, Any], error: type[LedgerError], field: str | None, match: str) -> LedgerError:
        """Then recording ``body`` fails with ``error`` on ``field``, and nothing is recorded."""
        before = len(self.ledger.list_events(self.treaty))
        with pytest.raises(error, match=match) as caught:
            self.record(body)
        assert caught.value.field == field
        assert len(self.ledger.list_events(self.treaty)) == before
        return caught.value

    def timeline(self, known_at: Any = None) -> Timeline:
        return self.ledger.treaty(self.treaty).timeline(known_at)

    def status(self, state: str, on: str, known_at: Any = None) -> str:
        """Then ``state``'s status on ``on``."""
        segment = self.timeline(known_at).segment_on(state, date.fromisoformat(on))
        return segment.status if segment else "none"

    def parties(self, on: str, known_at: Any = None) -> list[str]:
        """Then the States Parties on ``on`` (withdrawing states included)."""
        timeline = self.timeline(known_at)
        day = date.fromisoformat(on)
        return sorted(
            state
            for state in timeline.segments
            if (segment := timeline.segment_on(state, day)) is not None and segment.in_force
        )
