"""Property: the running fold (the timeline kept folded, event by event, with checkpoints) always
equals a full fold of the same history, on random timelines recorded in random order, with
back-filled events, corrections, retractions and refused events among them (issue 13, item 1).

Checkpoints are taken every few events here, so that refolds from a checkpoint, and the thinning
of old checkpoints, happen in every example.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.scenario import SOURCE
from tests.walks import body_for, rules, walks
from treaty_ledger.domain.effective import effective_events
from treaty_ledger.domain.errors import LedgerError, TimelineContradiction
from treaty_ledger.domain.events import normalise_event
from treaty_ledger.domain.fold import TimelineFold, build_timeline
from treaty_ledger.domain.records import Record
from treaty_ledger.domain.rules import TreatyRules
from treaty_ledger.domain.running_fold import RunningFold
from treaty_ledger.domain.shared_list import RecordLog
from treaty_ledger.domain.timeline import Timeline
from treaty_ledger.domain.treaty import Treaty
from treaty_ledger.projections.intervals import intervals_of
from treaty_ledger.projections.projector import TreatyProjector

RECORDED_FROM = datetime(2026, 1, 1, tzinfo=UTC)
"""When the walks are recorded: their steps dated later are refused as ahead of their recording."""

EXAMPLES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(autouse=True)
def frequent_checkpoints(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(RunningFold, "checkpoint_every", 3)
    monkeypatch.setattr(RunningFold, "max_checkpoints", 4)
    yield


def full_fold(treaty: Treaty, extra: Record | None = None) -> Timeline:
    """The timeline folded from nothing, over every recorded event (and ``extra``)."""
    records = [*treaty.records, extra] if extra is not None else treaty.records
    return build_timeline(treaty.rules, effective_events(records))


def new_treaty(chosen_rules: dict[str, Any]) -> Treaty:
    return Treaty.register(slug="walk", title="A random walk", depositaries=[], rules=TreatyRules.from_input(chosen_rules),
                           source=SOURCE, registered_at=RECORDED_FROM)


def refused_before_the_fold(treaty: Treaty, body: dict[str, Any]) -> bool:
    """Whether a correction or retraction is refused for its target, which no fold is asked about."""
    target_id = body.get("corrects") or body.get("retracts")
    if target_id is None:
        return False
    target = next((r for r in treaty.records if r.id == target_id), None)
    retracted = any(r.type == "retraction" and r.fields["retracts"] == target_id for r in treaty.records)
    return target is None or target.type in ("correction", "retraction") or retracted


def record_steps(treaty: Treaty, steps: list[tuple[str, object, int]], outcomes: list[str]) -> None:
    """Record each step; after every one, accepted or refused, the running fold equals a full fold."""
    for kind, who, offset in steps:
        body = body_for(kind, who, offset, treaty.records)
        if body is None:
            continue
        try:
            new = normalise_event(body)
        except LedgerError:
            continue
        event_id = str(uuid4())
        recorded_at = RECORDED_FROM
        try:
            treaty.record(new, event_id=event_id, recorded_at=recorded_at)
            outcomes.append("recorded")
        except TimelineContradiction:
            outcomes.append("refused")
            if not refused_before_the_fold(treaty, body):
                candidate = Record(id=event_id, treaty=treaty.slug, sequence=len(treaty.records) + 1, type=new.type, date=new.date,
                                   fields=new.fields, source=new.source, recorded_at=treaty.records[-1].recorded_at if treaty.records else recorded_at,
                                   prev_hash=treaty.head)
                with pytest.raises(TimelineContradiction):
                    full_fold(treaty, candidate)  # the full fold refuses it too
        except LedgerError:
            outcomes.append("invalid")
        assert treaty.timeline() == full_fold(treaty)


@EXAMPLES
@given(chosen_rules=rules, steps=walks())
def test_the_running_fold_equals_a_full_fold_after_every_event(chosen_rules: dict[str, Any], steps: list[tuple[str, object, int]]) -> None:
    treaty = new_treaty(chosen_rules)
    outcomes: list[str] = []
    record_steps(treaty, steps, outcomes)
    assert treaty.timeline() == full_fold(treaty)


@EXAMPLES
@given(chosen_rules=rules, steps=walks(), split=st.floats(min_value=0, max_value=1))
def test_a_copy_of_a_treaty_folds_on_without_changing_the_original(chosen_rules: dict[str, Any], steps: list[tuple[str, object, int]],
                                                                    split: float) -> None:
    """What eventsourcing's cache relies on: a copy to record on shares the fold, and changes only its own."""
    treaty = new_treaty(chosen_rules)
    at = int(len(steps) * split)
    record_steps(treaty, steps[:at], [])
    before = full_fold(treaty)
    branch = copy.deepcopy(treaty)
    record_steps(branch, steps[at:], [])
    assert treaty.timeline() == before and len(treaty.records) <= len(branch.records)
    record_steps(treaty, list(reversed(steps[at:])), [])  # the original goes on differently
    assert branch.timeline() == full_fold(branch)
    assert treaty.timeline() == full_fold(treaty)


@EXAMPLES
@given(chosen_rules=rules, steps=walks())
def test_the_views_projector_rewrites_every_row_an_event_changes(chosen_rules: dict[str, Any], steps: list[tuple[str, object, int]]) -> None:
    """The projector rebuilds only the scopes the fold says changed: after each event its rows are all the timeline's."""
    treaty = new_treaty(chosen_rules)
    record_steps(treaty, steps, [])
    projector = TreatyProjector(treaty.slug, treaty.rules)
    projector.initial_rows()
    for n, record in enumerate(treaty.records, start=1):
        projector.apply(record)
        expected = intervals_of(build_timeline(treaty.rules, effective_events(treaty.records[:n])))
        held = [row for rows in projector.current.values() for row in rows.values()]
        assert Counter((repr(r.place), r.text) for r in held) == Counter((repr(r.place), r.text) for r in expected)


def test_an_event_dated_after_the_last_folds_only_itself() -> None:
    """The cost that stays flat: recording in date order folds each event once, however long the history."""
    treaty = new_treaty({"withdrawal_notice": "P6M"})
    folded: list[str] = []
    step = TimelineFold.step

    def counting(self: TimelineFold, event: Any) -> None:
        folded.append(event.id)
        step(self, event)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TimelineFold, "step", counting)
        for n in range(200):
            on = f"{1950 + n // 12}-{n % 12 + 1:02d}-01"
            treaty.record(normalise_event({"type": "statement", "date": on, "state": "USA", "summary": f"said {n}", "source": SOURCE}),
                          event_id=str(uuid4()), recorded_at=RECORDED_FROM)
    assert folded == [r.id for r in treaty.records]


def test_a_back_filled_event_refolds_from_the_checkpoint_before_its_date() -> None:
    treaty = new_treaty({"withdrawal_notice": "P6M"})
    for n in range(30):
        treaty.record(normalise_event({"type": "statement", "date": f"{1960 + n}-01-01", "state": "USA", "summary": f"said {n}",
                                       "source": SOURCE}), event_id=str(uuid4()), recorded_at=RECORDED_FROM)
    folded: list[str] = []
    step = TimelineFold.step

    def counting(self: TimelineFold, event: Any) -> None:
        folded.append(event.date.isoformat())
        step(self, event)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TimelineFold, "step", counting)
        treaty.record(normalise_event({"type": "signed", "date": "1987-06-01", "state": "USA", "source": SOURCE}),
                      event_id=str(uuid4()), recorded_at=RECORDED_FROM)
    # Not from 1960: from a checkpoint at most a few events before 1987 (checkpoints every 3 events near the present).
    assert folded[0] <= "1987-06-01" and len(folded) < 12
    assert "1987-06-01" in folded and folded[-1] == "1989-01-01"
    assert treaty.timeline() == full_fold(treaty)


def test_a_refused_event_leaves_the_fold_as_it_was() -> None:
    treaty = new_treaty({"withdrawal_notice": "P6M"})
    for body in ({"type": "ratified", "date": "1990-01-01", "state": "USA"}, {"type": "entered_into_force", "date": "1991-01-01"}):
        treaty.record(normalise_event({**body, "source": SOURCE}), event_id=str(uuid4()), recorded_at=RECORDED_FROM)
    before = full_fold(treaty)
    with pytest.raises(TimelineContradiction, match="already deposited"):
        treaty.record(normalise_event({"type": "ratified", "date": "1992-01-01", "state": "USA", "source": SOURCE}),
                      event_id=str(uuid4()), recorded_at=RECORDED_FROM)
    assert treaty.timeline() == before and len(treaty.records) == 2


def test_a_fold_in_place_that_meets_a_contradiction_is_as_before_it() -> None:
    """The views' fold steps on its running state itself; a contradiction refolds from a checkpoint."""
    treaty = new_treaty({"withdrawal_notice": "P6M"})
    for n in range(10):
        treaty.record(normalise_event({"type": "statement", "date": f"{1960 + n}-01-01", "state": "USA", "summary": f"said {n}",
                                       "source": SOURCE}), event_id=str(uuid4()), recorded_at=RECORDED_FROM)
    for body in ({"type": "ratified", "date": "1990-01-01", "state": "USA"}, {"type": "entered_into_force", "date": "1991-01-01"}):
        treaty.record(normalise_event({**body, "source": SOURCE}), event_id=str(uuid4()), recorded_at=RECORDED_FROM)
    log = RecordLog(treaty.records)
    fold = RunningFold(treaty.rules, log.find, in_place=True)
    fold.add(log)
    twice = Record(id=str(uuid4()), treaty="walk", sequence=len(log) + 1, type="ratified", date=date(1992, 1, 1),
                   fields={"state": "USA"}, source=SOURCE, recorded_at=RECORDED_FROM, prev_hash="")
    with pytest.raises(TimelineContradiction, match="already deposited"):
        fold.add([twice])
    assert fold.timeline() == full_fold(treaty) and fold.sequence == len(log)
    timeline, changed = fold.timeline_and_changes()
    assert changed is None and timeline == full_fold(treaty)  # after the refold, every scope counts as changed
