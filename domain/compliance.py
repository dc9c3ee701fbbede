"""Compliance in the fold: restrictions on observation flights, allegations and their answers, denied flights.

Each ``on_<type>`` handler applies one compliance event to the timeline, checking the events
it refers to (:meth:`ComplianceFold.referenced`).
"""

from __future__ import annotations

from dataclasses import replace

from treaty_ledger.domain.effective import Effective
from treaty_ledger.domain.fold_state import FoldState
from treaty_ledger.domain.timeline import Allegation, Flight, Restriction

__all__ = ["ComplianceFold"]


class ComplianceFold(FoldState):
    """The fold's handlers of compliance events."""

    def on_restriction_imposed(self, event: Effective) -> None:
        f = event.fields
        self.put_item(Restriction(
            event.id, f["state"], f["area"], f["kind"], f["detail"], list(f.get("towards", [])), event.date, None,
            list(event.event_ids), f.get("claimed_by"),
        ))

    def on_restriction_lifted(self, event: Effective) -> None:
        target = self.referenced(event, "restriction", "restriction_imposed")
        restriction = self.timeline.restrictions[target.id]
        if restriction.until is not None:
            raise self.fail("restriction", f"the restriction {target.id} was already lifted on {restriction.until}")
        if event.state != restriction.state:
            raise self.fail("state", f"the restriction {target.id} was imposed by {restriction.state}, not {event.state}")
        self.put_item(replace(restriction, until=event.date, events=[*restriction.events, *event.event_ids]))

    def on_allegation_made(self, event: Effective) -> None:
        f = event.fields
        for i, ref in enumerate(f.get("restrictions", [])):
            self.referenced(event, f"restrictions[{i}]", "restriction_imposed", ref)
        self.put_item(Allegation(
            event.id, f["accuser"], f["accused"], f["subject"], list(f.get("restrictions", [])), event.date, [], list(event.event_ids)
        ))

    def respond(self, event: Effective, text_field: str) -> None:
        target = self.referenced(event, "allegation", "allegation_made")
        allegation = self.timeline.allegations[target.id]
        if allegation.standing_on(event.date) == "resolved":
            raise self.fail("allegation", f"the allegation {target.id} was already resolved")
        if event.type == "allegation_rejected" and event.state != allegation.accused:
            raise self.fail("state", f"only the accused state ({allegation.accused}) can reject the allegation {target.id}")
        response = {"date": event.date, "type": event.type, "id": event.id, "state": event.state, "text": event.fields[text_field]}
        self.put_item(replace(allegation, responses=[*allegation.responses, response], events=[*allegation.events, *event.event_ids]))

    def on_allegation_rejected(self, event: Effective) -> None:
        self.respond(event, "reasons")

    def on_allegation_resolved(self, event: Effective) -> None:
        self.respond(event, "resolution")

    def on_flight_denied(self, event: Effective) -> None:
        f = event.fields
        self.put_item(Flight(
            event.id, f["state"], list(f["observers"]), f["reason"], event.date, [], [], list(event.event_ids), f.get("claimed_by")
        ))

    def on_alternative_timeframe_offered(self, event: Effective) -> None:
        target = self.referenced(event, "flight", "flight_denied")
        flight = self.timeline.flights[target.id]
        if event.state != flight.host:
            raise self.fail("state", f"only the host state ({flight.host}) can offer another timeframe for flight {target.id}")
        offer = {"id": event.id, "date": event.date, "timeframe": event.fields.get("timeframe")}
        self.put_item(replace(flight, offers=[*flight.offers, offer], events=[*flight.events, *event.event_ids]))

    def on_alternative_timeframe_refused(self, event: Effective) -> None:
        target = self.referenced(event, "flight", "flight_denied")
        flight = self.timeline.flights[target.id]
        if not any(offer["date"] <= event.date for offer in flight.offers):
            raise self.fail("flight", f"no alternative timeframe was offered for flight {target.id} by {event.date}")
        outsiders = sorted(set(event.fields["observers"]) - set(flight.observers))
        if outsiders:
            raise self.fail("observers", f"{', '.join(outsiders)} did not request flight {target.id}")
        refusal = {"id": event.id, "date": event.date, "observers": list(event.fields["observers"]), "reason": event.fields.get("reason")}
        self.put_item(replace(flight, refusals=[*flight.refusals, refusal], events=[*flight.events, *event.event_ids]))
