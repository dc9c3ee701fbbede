"""Participation in the fold: signatures, deposits, entry into force, succession, withdrawal, suspension, termination.

Each ``on_<type>`` handler applies one participation event to the timeline, or raises
:class:`~treaty_ledger.domain.errors.TimelineContradiction` naming the field and the reason.
Joining and withdrawing that take effect later are scheduled and applied as the fold reaches
their dates (:meth:`ParticipationFold.advance`).
"""

from __future__ import annotations

import heapq
from dataclasses import replace
from datetime import date

from treaty_ledger.domain.effective import Effective
from treaty_ledger.domain.fold_state import FoldState, Track
from treaty_ledger.domain.states import is_historic
from treaty_ledger.domain.timeline import TREATY_SCOPE, Provisional, Suspension

__all__ = ["BOUND", "ParticipationFold"]

BOUND = ("contracting", "party", "withdrawing")
"""Statuses of a state that has deposited an instrument and not withdrawn."""


class ParticipationFold(FoldState):
    """The fold's handlers of participation events."""

    def parties_count(self) -> int:
        return sum(1 for t in self.tracks.values() if t.status in ("party", "withdrawing") and t.in_force_since is not None)

    def check_minimum(self, on: date, cause: str) -> None:
        minimum = self.rules.minimum_parties
        if minimum is None or self.in_force_on is None or self.terminated_on is not None:
            return
        if self.parties_count() < minimum:
            self.terminate(on, (cause,), derived=True)

    def terminate(self, on: date, events: tuple[str, ...], *, derived: bool, ending: str = "terminated") -> None:
        """End the treaty for every state on ``on``: ``terminated``, or ``expired`` at the end of its term."""
        if ending == "expired":
            self.expired_on = on
        else:
            self.terminated_on = on
        self.expiry_token += 1
        self.set_phase(ending, on, events, {"expires_on": on, "extensions": list(self.extensions)} if ending == "expired" else None)
        for state, shared in list(self.tracks.items()):
            if shared.status in BOUND:
                track = self.track(state)
                track.events.extend(e for e in events if e not in track.events)
                self.set_status(track, ending, on, {"derived": derived} if derived else {})
                track.withdrawal_token += 1
                track.joining_token += 1
            elif shared.status == "signatory":
                if shared.provisional is not None:
                    self.end_provisional(self.track(state), on)
                self.end_standing_items(state, on)
            self.end_suspension(shared, on)

    def conditions_met_before(self, day: date) -> bool:
        """Whether the entry-into-force rule's conditions were met by deposits made before ``day``."""
        rule = self.rules.entry_into_force
        if rule is None:
            return False
        deposited = {t.state for t in self.tracks.values() if t.status in BOUND and t.deposited_on is not None and t.deposited_on < day}
        return (rule.instruments is None or len(deposited) >= rule.instruments) and deposited.issuperset(rule.required_states)

    def advance(self, until: date | None) -> None:
        while self.pending and (until is None or self.pending[0][0] <= until):
            on, _, kind, state, token, cause = heapq.heappop(self.pending)
            if kind == "expires":
                if token == self.expiry_token and self.terminated_on is None and self.expired_on is None:
                    self.terminate(on, (cause,), derived=True, ending="expired")
                continue
            track = self.track(state)
            if kind == "joins" and self.in_force_on is None:
                continue  # the treaty is not in force yet: the state becomes a party when it enters into force
            if kind == "joins" and token == track.joining_token and track.status == "contracting":
                track.in_force_since = on
                self.set_status(track, "party", on)
            elif kind == "joins" and token == track.joining_token and track.status == "withdrawing":
                track.in_force_since = on
                self.set_status(track, "withdrawing", on, track.detail)
            elif kind == "withdraws" and token == track.withdrawal_token and track.status == "withdrawing":
                detail = {"notified_on": track.detail["notified_on"], "effective_on": on}
                track.in_force_since = None
                track.deposited_on = None
                track.joining_token += 1
                self.set_status(track, "withdrawn", on, detail)
                self.end_suspension(track, on)
                self.check_minimum(on, cause)

    def check_not_terminated(self, event: Effective) -> None:
        if self.terminated_on is not None:
            raise self.fail("date", f"the treaty terminated on {self.terminated_on}; no {event.type} can follow")
        if self.expired_on is not None:
            raise self.fail("date", f"the treaty expired on {self.expired_on} at the end of its term; no {event.type} can follow")

    def on_adopted(self, event: Effective) -> None:
        if self.adopted_on is not None:
            raise self.fail("type", f"the treaty was already adopted on {self.adopted_on}")
        self.adopted_on = event.date

    def on_signed(self, event: Effective) -> None:
        track = self.track(str(event.state))
        if track.status == "signatory":
            raise self.fail("state", f"{track.state} already signed on {track.signed_on}")
        if track.status in BOUND:
            raise self.fail("state", f"{track.state} is already bound (instrument deposited on {track.deposited_on}); it cannot sign again")
        self.note(track, event)
        track.signed_on = event.date
        self.set_status(track, "signatory", event.date)

    def on_ratified(self, event: Effective) -> None:
        self.deposit(event, "ratify")

    def on_acceded(self, event: Effective) -> None:
        self.deposit(event, "accede")

    def deposit(self, event: Effective, verb: str) -> None:
        track = self.track(str(event.state))
        if track.status in BOUND:
            raise self.fail(
                "state",
                f"{track.state} already deposited an instrument on {track.deposited_on} and is {track.status}; it cannot {verb} again",
            )
        self.note(track, event)
        track.deposited_on = event.date
        self.join(track, event.date, event.id)

    def join(self, track: Track, on: date, cause: str, joining_on: date | None = None) -> None:
        """Bind ``track`` from ``on``: a party now if the treaty is in force, later if a delay applies."""
        track.joining_token += 1
        if self.in_force_on is None and (joining_on is not None or not self.conditions_met_before(on)):
            track.in_force_since = None
            self.set_status(track, "contracting", on)
            return
        starts = joining_on
        if starts is None:
            starts = self.rules.joins_on(on)
        if starts <= on and self.in_force_on is None:
            # The conditions were met but the treaty is not in force yet: a party when it enters into force.
            track.in_force_since = None
            self.set_status(track, "contracting", on)
            return
        if starts <= on:
            track.in_force_since = on
            self.set_status(track, "party", on)
            return
        track.in_force_since = None
        track.joining_on = starts
        self.set_status(track, "contracting", on, {"party_from": starts})
        self.schedule(starts, "joins", track.state, track.joining_token, cause)

    def on_succeeded(self, event: Effective) -> None:
        predecessor = self.track(str(event.fields["predecessor"]))
        successor = self.track(str(event.state))
        if successor.status in BOUND:
            raise self.fail("state", f"{successor.state} is already bound (instrument deposited on {successor.deposited_on})")
        if predecessor.status != "none":
            standing: tuple[str, date | None, date | None, date | None] = (
                predecessor.status,
                predecessor.signed_on,
                predecessor.deposited_on,
                predecessor.joining_on if predecessor.status == "contracting" else None,
            )
        elif predecessor.dissolved is not None and predecessor.dissolved[0] <= event.date:
            standing = predecessor.dissolved[1:]
        else:
            raise self.fail("predecessor", f"{predecessor.state} had no standing under the treaty on {event.date}")
        status, signed_on, _deposited_on, joining_on = standing
        if status in ("withdrawn", "terminated"):
            raise self.fail("predecessor", f"{predecessor.state} had {status} by {event.date}: there is no standing to succeed to")
        self.note(successor, event)
        successor.signed_on = signed_on
        successor.predecessor = predecessor.state
        if status == "signatory":
            self.set_status(successor, "signatory", event.date)
        else:
            successor.deposited_on = event.date
            self.join(successor, event.date, event.id, joining_on=joining_on or event.date)
        if is_historic(predecessor.state) and predecessor.status != "none":
            predecessor.dissolved = (event.date, *standing)
            self.note(predecessor, event)
            predecessor.joining_token += 1
            predecessor.withdrawal_token += 1
            predecessor.in_force_since = None
            # Dissolved, its standing passed on: what it said (reservations, objections) is not ended by the succession.
            self.set_status(predecessor, "none", event.date, {"succeeded_by": [successor.state]}, ends_standing=False)
        elif is_historic(predecessor.state):
            self.note(predecessor, event)
            segment = self.timeline.segments[predecessor.state][-1]
            detail = {**segment.detail, "succeeded_by": [*segment.detail.get("succeeded_by", []), successor.state]}
            self.amend_segment(predecessor.state, detail=detail, events=tuple(predecessor.events))

    def on_entered_into_force(self, event: Effective) -> None:
        if self.in_force_on is not None:
            raise self.fail("type", f"the treaty already entered into force on {self.in_force_on}")
        self.in_force_on = event.date
        self.set_phase("in_force", event.date, event.event_ids)
        for state, shared in list(self.tracks.items()):
            if shared.status == "contracting" and shared.detail.get("party_from", event.date) > event.date:
                # A late joiner (it deposited after the conditions were met): a party from its own date, which
                # only now comes (a "joins" that fell before the treaty was in force did nothing).
                self.touched.add(("state", state))
                continue
            if shared.status == "contracting" or (shared.status == "withdrawing" and shared.in_force_since is None):
                track = self.track(state)
            else:
                continue
            if track.status == "contracting":
                self.note(track, event)
                track.in_force_since = event.date
                track.joining_token += 1
                self.set_status(track, "party", event.date)
            elif track.status == "withdrawing" and track.in_force_since is None:
                self.note(track, event)
                track.in_force_since = event.date
                self.set_status(track, "withdrawing", event.date, track.detail)
        if self.rules.duration is not None:
            self.expires_on = self.rules.duration.after(event.date, field="date")
            self.schedule(self.expires_on, "expires", "", self.expiry_token, event.id)
            self.amend_phase(expires_on=self.expires_on, extensions=[])
        self.check_minimum(event.date, event.id)

    def amend_phase(self, **detail: object) -> None:
        """Replace the current phase with a copy whose detail carries ``detail``."""
        phases = self.timeline.phases
        phases[-1] = replace(phases[-1], detail={**phases[-1].detail, **detail})
        self.touched.add(TREATY_SCOPE)

    def on_extended(self, event: Effective) -> None:
        until = event.fields["until"]
        rules = self.rules
        if rules.duration is None or rules.extension is None:
            what = "no duration (it does not expire)" if rules.duration is None else "no extension rule"
            raise self.fail("type", f"the treaty has {what}: it cannot be extended")
        if self.in_force_on is None or self.expires_on is None:
            raise self.fail("date", f"the treaty is not in force on {event.date}: only a treaty in force can be extended")
        if rules.extension.times is not None and len(self.extensions) >= rules.extension.times:
            raise self.fail("type", f"the treaty may be extended {rules.extension.times} time(s), and was already on "
                                    f"{', '.join(str(e['on']) for e in self.extensions)}")
        if until <= self.expires_on:
            raise self.fail("until", f"{until} is not after the treaty's expiry on {self.expires_on}")
        if rules.extension.max_period is not None:
            longest = rules.extension.max_period.after(self.expires_on, field="until")
            if until > longest:
                raise self.fail("until", f"{until} is beyond the longest extension the treaty allows ({rules.extension.max_period} "
                                         f"after its expiry on {self.expires_on}: {longest})")
        self.expires_on = until
        self.extensions = (*self.extensions, {"on": event.date, "until": until, "events": list(event.event_ids)})
        self.expiry_token += 1
        self.schedule(until, "expires", "", self.expiry_token, event.id)
        current = self.timeline.phases[-1]
        self.set_phase("in_force", event.date, (*current.events, *event.event_ids),
                       {"expires_on": until, "extensions": list(self.extensions)})

    def on_withdrawal_announced(self, event: Effective) -> None:
        track = self.track(str(event.state))
        if track.status not in ("signatory", *BOUND):
            raise self.fail("state", f"{track.state} is not a signatory or party on {event.date} (status: {track.status})")
        self.note(track, event)
        self.amend_segment(track.state, events=tuple(track.events))

    def on_withdrawal_notified(self, event: Effective) -> None:
        track = self.track(str(event.state))
        if track.status == "withdrawing":
            raise self.fail(
                "state",
                f"{track.state} already gave notice on {track.detail['notified_on']}, effective {track.detail['effective_on']}",
            )
        if track.status == "withdrawn":
            raise self.fail("state", f"{track.state} already withdrew on {track.detail['effective_on']} and has not joined again")
        if track.status not in BOUND:
            raise self.fail("state", f"{track.state} never joined this treaty: it has deposited no instrument by {event.date}")
        earliest_rule = self.rules.earliest_withdrawal_notice
        if earliest_rule is not None:
            if track.in_force_since is None:
                raise self.fail("date", f"the treaty is not yet in force for {track.state}, so it cannot give notice under the earliest-notice rule ({earliest_rule})")
            earliest = earliest_rule.after(track.in_force_since)
            if event.date < earliest:
                raise self.fail(
                    "date",
                    f"notice may be given from {earliest} ({earliest_rule} after the treaty entered into force for {track.state} on {track.in_force_since})",
                )
        takes_effect = self.rules.withdrawal_notice.after(event.date) if self.rules.withdrawal_notice else event.date
        named = event.fields.get("effective_on")
        if isinstance(named, date):
            if named < takes_effect:
                raise self.fail("effective_on", f"{named} is before the notice period ends on {takes_effect}")
            takes_effect = named
        self.note(track, event)
        track.withdrawal_token += 1
        self.set_status(track, "withdrawing", event.date, {"notified_on": event.date, "effective_on": takes_effect})
        self.schedule(takes_effect, "withdraws", track.state, track.withdrawal_token, event.id)
        if takes_effect <= event.date:
            self.advance(event.date)

    def on_withdrawal_rescinded(self, event: Effective) -> None:
        track = self.track(str(event.state))
        if track.status == "withdrawn":
            raise self.fail("state", f"{track.state}'s withdrawal already took effect on {track.detail['effective_on']}; it can no longer be rescinded")
        if track.status != "withdrawing":
            raise self.fail("state", f"{track.state} has no withdrawal notice pending on {event.date}")
        self.note(track, event)
        track.withdrawal_token += 1
        self.set_status(track, "party" if track.in_force_since else "contracting", event.date)

    def on_implementation_suspended(self, event: Effective) -> None:
        track = self.track(str(event.state))
        if track.status not in ("party", "withdrawing"):
            raise self.fail("state", f"{track.state} is not a party on {event.date} (status: {track.status}); it has nothing to suspend")
        suspended = self.suspension_in_force(track)
        if suspended is not None:
            raise self.fail("state", f"{track.state} already suspended implementation on {suspended.since}")
        self.note(track, event)
        track.suspension = event.id
        f = event.fields
        self.put_suspension(Suspension(event.id, track.state, list(f.get("towards", [])), event.date, None, list(event.event_ids),
                                       f.get("scope"), f.get("detail"), f.get("basis")))

    def on_implementation_resumed(self, event: Effective) -> None:
        track = self.track(str(event.state))
        if self.suspension_in_force(track) is None:
            raise self.fail("state", f"{track.state} has no suspension of implementation in force on {event.date}")
        self.note(track, event)
        self.end_suspension(track, event.date, event.event_ids)

    def on_terminated(self, event: Effective) -> None:
        self.terminate(event.date, event.event_ids, derived=False)

    def on_provisional_application_started(self, event: Effective) -> None:
        track = self.track(str(event.state))
        if track.status not in ("signatory", "contracting"):
            raise self.fail("state", f"{track.state} is {track.status} on {event.date}: a state applies a treaty provisionally "
                                     "after signing it and before it is bound")
        current = self.provisional_in_force(track)
        if current is not None:
            raise self.fail("state", f"{track.state} already applies the treaty provisionally since {current.since}")
        self.note(track, event)
        track.provisional = event.id
        self.amend_segment(track.state, events=tuple(track.events))
        self.put_item(Provisional(event.id, track.state, event.fields.get("provisions"), event.date, None, list(event.event_ids)))

    def on_provisional_application_ended(self, event: Effective) -> None:
        track = self.track(str(event.state))
        if self.provisional_in_force(track) is None:
            raise self.fail("state", f"{track.state} does not apply the treaty provisionally on {event.date}")
        self.note(track, event)
        self.amend_segment(track.state, events=tuple(track.events))
        self.end_provisional(track, event.date, event.event_ids)

    def on_signature_withdrawn(self, event: Effective) -> None:
        track = self.track(str(event.state))
        if track.status in BOUND:
            raise self.fail("state", f"{track.state} is bound (instrument deposited on {track.deposited_on}): it cannot withdraw its "
                                     "signature; an instrument is withdrawn (instrument_withdrawn) or the treaty left (withdrawal_notified)")
        if track.status != "signatory":
            withdrawn = track.detail.get("signature_withdrawn_on")
            reason = f"already withdrew its signature on {withdrawn}" if withdrawn else f"is not a signatory on {event.date} (status: {track.status})"
            raise self.fail("state", f"{track.state} {reason}")
        self.note(track, event)
        track.signed_on = None
        self.set_status(track, "none", event.date, {"signature_withdrawn_on": event.date})

    def on_instrument_withdrawn(self, event: Effective) -> None:
        track = self.track(str(event.state))
        if track.status in ("party", "withdrawing") and track.in_force_since is not None:
            raise self.fail("state", f"{track.state}'s instrument took effect on {track.in_force_since}: it can no longer be withdrawn; "
                                     "a party leaves by withdrawal_notified")
        if track.status != "contracting":
            raise self.fail("state", f"{track.state} has no instrument deposited on {event.date} (status: {track.status})")
        self.note(track, event)
        track.deposited_on = None
        track.joining_token += 1
        track.in_force_since = None
        self.set_status(track, "signatory" if track.signed_on else "none", event.date, {"instrument_withdrawn_on": event.date})
