"""Random treaty histories for property tests: valid-looking walks of several states' lives under a
treaty, treaty-wide acts, compliance items, corrections and retractions, in a random recording order.

:func:`walks` draws the steps; :func:`body_for` turns a step into an event body (as a client
sends it), given what is recorded so far, or ``None`` when it has nothing to refer to. Some
steps are invalid on purpose: the ledger must refuse them.
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import strategies as st

from tests.scenario import SOURCE
from treaty_ledger.domain.records import Record

STATES = ("USA", "RUS", "GBR", "FIN", "GEO", "CSHH")
START = date(1990, 1, 1)

day = st.integers(min_value=0, max_value=12_000)
gap = st.integers(min_value=0, max_value=3_000)
state = st.sampled_from(STATES)


@st.composite
def chain(draw: st.DrawFn, who: str) -> list[tuple[str, object, int]]:
    """One state's life under the treaty, in date order: sign, join, maybe leave, maybe rejoin."""
    at = draw(day)
    steps: list[tuple[str, object, int]] = []
    if draw(st.booleans()):
        steps.append(("signed", who, at))
        at += draw(gap)
        if draw(st.integers(min_value=0, max_value=3)) == 0:
            steps.append(("provisional_application_started", who, at))
            if draw(st.booleans()):
                steps.append(("provisional_application_ended", who, at + draw(gap)))
        if draw(st.integers(min_value=0, max_value=4)) == 0:
            steps.append(("signature_withdrawn", who, at + draw(gap)))
            return steps
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        steps.append((draw(st.sampled_from(["ratified", "acceded"])), who, at))
        at += draw(gap)
        if draw(st.integers(min_value=0, max_value=4)) == 0:
            steps.append(("instrument_withdrawn", who, at))
            at += draw(gap)
            continue
        if draw(st.booleans()):
            steps.append(("implementation_suspended", who, at))
            steps.append(("implementation_resumed", who, at + draw(gap)))
        if not draw(st.booleans()):
            break
        at += draw(gap)
        steps.append(("withdrawal_announced", who, at))
        steps.append(("withdrawal_notified", who, at + 1))
        if draw(st.booleans()):
            steps.append(("withdrawal_rescinded", who, at + 1 + draw(st.integers(min_value=0, max_value=400))))
        at += 800
    return steps


@st.composite
def walks(draw: st.DrawFn) -> list[tuple[str, object, int]]:
    """Chains for several states, treaty-wide acts, compliance items, corrections and retractions,
    interleaved in a random recording order (each chain keeps its own order)."""
    chains = [draw(chain(who)) for who in ("USA", "RUS", "GBR", "FIN", "CSHH")]
    if draw(st.booleans()):
        chains.append([("succeeded", "CZE", draw(day))])
    chains.append([("entered_into_force", None, draw(day))])
    if draw(st.integers(min_value=0, max_value=5)) == 0:
        chains.append([("terminated", None, draw(day))])
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        chains.append([("extended", draw(st.integers(min_value=0, max_value=2_000)), draw(day))])
    if draw(st.booleans()):
        chains.append([("territorial_application", draw(state), draw(day)), ("territorial_application", draw(state), draw(day) + 1)])
    for kind, follow in (("restriction_imposed", ["restriction_lifted"]), ("allegation_made", ["allegation_rejected", "allegation_resolved"]),
                         ("flight_denied", ["alternative_timeframe_offered", "alternative_timeframe_refused"]),
                         ("reservation_made", ["objection_made", "objection_withdrawn", "reservation_withdrawn"]),
                         ("declaration_made", ["declaration_withdrawn"])):
        for _ in range(draw(st.integers(min_value=0, max_value=2))):
            at = draw(day)
            items: list[tuple[str, object, int]] = [(kind, draw(state), at)]
            for next_kind in follow[: draw(st.integers(min_value=0, max_value=len(follow)))]:
                at += draw(gap)
                items.append((next_kind, -1, at))
            chains.append(items)
    chains.append([("statement", draw(state), draw(day))])
    order = draw(st.randoms(use_true_random=False))
    queue = [list(c) for c in chains if c]
    steps: list[tuple[str, object, int]] = []
    while queue:
        picked = queue[order.randrange(len(queue))]
        steps.append(picked.pop(0))
        queue = [c for c in queue if c]
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        position = draw(st.integers(min_value=0, max_value=len(steps)))
        steps.insert(position, (draw(st.sampled_from(["correction", "retraction"])), draw(st.integers(min_value=0, max_value=50)), draw(day)))
    return steps


rules = st.sampled_from([
    {"withdrawal_notice": "P6M", "late_joiner_delay": "P60D"},
    {"withdrawal_notice": "P1Y", "earliest_withdrawal_notice": "P3Y"},
    {"withdrawal_notice": "P6M", "minimum_parties": 2},
    {"withdrawal_notice": "P6M", "duration": "P10Y", "extension": {"max_period": "P5Y", "times": 2}},
    {"entry_into_force": {"instruments": 2, "required_states": ["USA"]}, "late_joiner_delay": "P60D",
     "late_joiner_alignment": "first_of_next_month", "withdrawal_notice": "P1Y"},
    {},
])


def body_for(kind: str, who: object, offset: int, recorded: list[Record]) -> dict | None:
    on = (START + timedelta(days=offset)).isoformat()
    body: dict = {"type": kind, "date": on, "source": SOURCE}
    if kind in ("signed", "ratified", "acceded", "withdrawal_announced", "withdrawal_notified", "withdrawal_rescinded",
                "implementation_suspended", "implementation_resumed", "statement", "provisional_application_started",
                "provisional_application_ended", "signature_withdrawn", "instrument_withdrawn"):
        body["state"] = who
        if kind == "statement":
            body["summary"] = "said something"
        if kind == "implementation_suspended":
            body.update(scope="partial", detail="inspections", basis="countermeasure")
    elif kind in ("entered_into_force", "terminated", "adopted"):
        pass
    elif kind == "extended":  # before a ten-year term ends, by ``who`` days (most within the rule's five years, some not)
        entry = next((r.date for r in reversed(recorded) if r.type == "entered_into_force" and r.date), START)
        body["date"] = (entry + timedelta(days=offset % 3_700)).isoformat()
        body["until"] = (entry + timedelta(days=3_652 + int(str(who)))).isoformat()
    elif kind == "territorial_application":
        body.update(state=who, territory="An island", applies=offset % 2 == 0)
    elif kind in ("reservation_made", "declaration_made"):
        body.update(state=who, text="Article 1 does not apply", articles=["Article 1"])
    elif kind == "succeeded":
        body.update(state=who, predecessor="CSHH")
    elif kind == "restriction_imposed":
        body.update(state=who, area="Somewhere", kind="altitude", detail="a floor")
    elif kind == "allegation_made":
        body.update(accuser="USA" if who != "USA" else "RUS", accused=who, subject="limits")
    elif kind == "flight_denied":
        body.update(state=who, observers=["USA" if who != "USA" else "GBR"], reason="weather")
    else:
        if not recorded:
            return None
        if who == -1:  # follows the latest item of the kind it answers
            wanted = {"restriction_lifted": "restriction_imposed", "allegation_rejected": "allegation_made", "allegation_resolved": "allegation_made",
                      "alternative_timeframe_offered": "flight_denied", "alternative_timeframe_refused": "flight_denied",
                      "objection_made": "reservation_made", "objection_withdrawn": "objection_made",
                      "reservation_withdrawn": "reservation_made", "declaration_withdrawn": "declaration_made"}[kind]
            candidates = [r for r in recorded if r.type == wanted]
            if not candidates:
                return None
            target = candidates[-1]
        else:
            target = recorded[int(str(who)) % len(recorded)]
        if kind == "correction":
            return {"type": "correction", "corrects": target.id, "changes": {"date": on}, "source": SOURCE}
        if kind == "retraction":
            return {"type": "retraction", "retracts": target.id, "reason": "false report", "source": SOURCE}
        ref = {"restriction_lifted": "restriction", "allegation_rejected": "allegation", "allegation_resolved": "allegation",
               "alternative_timeframe_offered": "flight", "alternative_timeframe_refused": "flight", "objection_made": "reservation",
               "objection_withdrawn": "objection", "reservation_withdrawn": "reservation", "declaration_withdrawn": "declaration"}[kind]
        body[ref] = target.id
        if kind in ("restriction_lifted", "objection_withdrawn", "reservation_withdrawn", "declaration_withdrawn"):
            body["state"] = target.fields.get("state", "USA")
        elif kind == "objection_made":
            body.update(state="GBR" if target.fields.get("state") != "GBR" else "FIN", text="incompatible", precludes_entry_into_force=offset % 2 == 0)
        elif kind == "allegation_rejected":
            body.update(state=target.fields.get("accused", "RUS"), reasons="no")
        elif kind == "allegation_resolved":
            body["resolution"] = "settled"
        elif kind == "alternative_timeframe_offered":
            body["state"] = target.fields.get("state", "RUS")
        else:
            body["observers"] = target.fields.get("observers", ["USA"])
    return body
