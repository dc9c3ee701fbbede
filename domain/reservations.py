"""Reservations, declarations, objections and territorial application in the fold.

Each ``on_<type>`` handler applies one event to the timeline, checking the events it names
(:meth:`~treaty_ledger.domain.fold_state.FoldState.referenced`). A reservation or declaration
holds from the date it is made until withdrawn; an objection until it is withdrawn or the
reservation it objects to is; a territorial application until the state says otherwise of the
same territory. Each is made by a signatory or a bound state, and each ends when its state leaves
the treaty (its signature or instrument withdrawn, its withdrawal effective) or the treaty ends.
"""

from __future__ import annotations

from dataclasses import replace

from treaty_ledger.domain.effective import Effective
from treaty_ledger.domain.fold_state import FoldState
from treaty_ledger.domain.participation import BOUND
from treaty_ledger.domain.timeline import Declaration, Objection, Reservation, Territory

__all__ = ["ReservationFold"]


class ReservationFold(FoldState):
    """The fold's handlers of reservations, declarations, objections and territorial application."""

    def check_standing(self, event: Effective, what: str) -> None:
        """A state makes a reservation, declaration, objection or territorial application as a signatory or a bound
        state, and keeps it while it has standing (see :meth:`~treaty_ledger.domain.fold_state.FoldState.end_standing_items`)."""
        track = self.tracks.get(str(event.state))
        status = track.status if track else "none"
        if status not in ("signatory", *BOUND):
            article = "an" if what[0] in "aeiou" else "a"
            raise self.fail("state", f"{event.state} is {status} on {event.date}: {article} {what} is made by a signatory or a bound state")

    def on_reservation_made(self, event: Effective) -> None:
        self.check_standing(event, "reservation")
        f = event.fields
        self.put_item(Reservation(event.id, str(event.state), f["text"], list(f.get("articles", [])), event.date, None, list(event.event_ids)))

    def on_declaration_made(self, event: Effective) -> None:
        self.check_standing(event, "declaration")
        f = event.fields
        self.put_item(Declaration(event.id, str(event.state), f["text"], list(f.get("articles", [])), event.date, None,
                                  list(event.event_ids), f.get("kind")))

    def withdrawn(self, event: Effective, name: str, kind: str, items: dict[str, Reservation] | dict[str, Declaration]
                  | dict[str, Objection]) -> Reservation | Declaration | Objection:
        """The item that field ``name`` names, checked to be ``event.state``'s and in force; ended by ``event``."""
        target = self.referenced(event, name, kind)
        item = items[target.id]
        if item.state != event.state:
            raise self.fail("state", f"the {name} {target.id} was made by {item.state}, not {event.state}")
        if item.until is not None:
            raise self.fail(name, f"the {name} {target.id} is no longer in force: it ended on {item.until} (withdrawn, or its state left the treaty)")
        ended = replace(item, until=event.date, events=[*item.events, *event.event_ids])
        self.put_item(ended)
        return ended

    def on_reservation_withdrawn(self, event: Effective) -> None:
        reservation = self.withdrawn(event, "reservation", "reservation_made", self.timeline.reservations)
        for objection in list(self.timeline.objections.values()):
            if objection.reservation == reservation.id and objection.until is None:
                self.put_item(replace(objection, until=event.date, events=[*objection.events, *event.event_ids]))

    def on_declaration_withdrawn(self, event: Effective) -> None:
        self.withdrawn(event, "declaration", "declaration_made", self.timeline.declarations)

    def on_objection_made(self, event: Effective) -> None:
        self.check_standing(event, "objection")
        target = self.referenced(event, "reservation", "reservation_made")
        reservation = self.timeline.reservations[target.id]
        if reservation.until is not None:
            raise self.fail("reservation", f"the reservation {target.id} is no longer in force: it ended on {reservation.until} (withdrawn, "
                                           "or its state left the treaty); there is nothing to object to")
        if reservation.state == event.state:
            raise self.fail("state", f"{event.state} made the reservation {target.id}: a state cannot object to its own reservation")
        for objection in self.timeline.objections.values():
            if objection.reservation == target.id and objection.state == event.state and objection.until is None:
                raise self.fail("state", f"{event.state} already objects to the reservation {target.id} (objection {objection.id})")
        f = event.fields
        self.put_item(Objection(event.id, str(event.state), target.id, reservation.state, f["text"], bool(f.get("precludes_entry_into_force")),
                                event.date, None, list(event.event_ids)))

    def on_objection_withdrawn(self, event: Effective) -> None:
        self.withdrawn(event, "objection", "objection_made", self.timeline.objections)

    def on_territorial_application(self, event: Effective) -> None:
        self.check_standing(event, "territorial application")
        state, territory = str(event.state), str(event.fields["territory"])
        for earlier in list(self.timeline.territories.values()):
            if earlier.state == state and earlier.until is None and earlier.territory.casefold() == territory.casefold():
                self.put_item(replace(earlier, until=event.date, events=[*earlier.events, *event.event_ids]))
        self.put_item(Territory(event.id, state, territory, bool(event.fields["applies"]), event.date, None, list(event.event_ids)))
