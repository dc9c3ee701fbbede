"""The projection that keeps the materialized views, and the pull-based catch-up.

eventsourcing's SQLite store offers no subscription, so the ledger catches the views up by
pulling new notifications after each write and at start (:meth:`LedgerProjection.catch_up`).
On PostgreSQL the long-running worker (``treaty-ledger project``) runs the same projection
under eventsourcing's ``ProjectionRunner``. Either way every batch is written in one
transaction with a compare-and-set of the tracking record, so processes that race apply each
event exactly once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import IntegrityError, Tracking

from domain.ledger import Ledger
from domain.rules import TreatyRules
from domain.treaty import Treaty
from eventsourcing.projection import Projection
from projections.engine import Change, TreatyProjector
from projections.views import LedgerView, Registration

__all__ = ["APPLICATION_NAME", "LedgerProjection"]

APPLICATION_NAME = Ledger.name
"""The name the views track the ledger's notifications under."""


class LedgerProjection(Projection[LedgerView]):
    """Applies the ledger's events to the materialized views."""

    name = "treaty_views"
    topics = ()
    max_cached_treaties = 256
    """Treaties whose records and rows stay in memory between events (least recently used go)."""

    def __init__(self, view: LedgerView) -> None:
        super().__init__(view)
        self._projectors: OrderedDict[str, TreatyProjector] = OrderedDict()
        self._slugs: dict[str, str] = {}
        self._lock = threading.RLock()
        self._tracked: int | None = view.max_tracking_id(APPLICATION_NAME)

    # -- eventsourcing's entry point (ProjectionRunner) -----------------------------------------

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Apply one event delivered by a subscription."""
        with self._lock:
            if self._tracked is not None and tracking.notification_id <= self._tracked:
                return
            try:
                self.apply([(domain_event, tracking)], self._tracked)
            except IntegrityError:
                # Another process applied it first: catch up with what it wrote.
                self._forget()
                self._tracked = self.view.max_tracking_id(APPLICATION_NAME)
                if self._tracked is None or tracking.notification_id > self._tracked:
                    raise

    # -- pull-based catch-up ----------------------------------------------------------------------

    def catch_up(self, ledger: Ledger, *, batch_size: int = 1000, progress: Callable[[int], None] | None = None) -> int:
        """Apply every notification the views have not applied yet; return how many were applied."""
        applied = 0
        with self._lock:
            while True:
                previous = self.view.max_tracking_id(APPLICATION_NAME)
                notifications = ledger.recorder.select_notifications(start=previous, limit=batch_size, inclusive_of_start=False)
                if not notifications:
                    self._tracked = previous
                    return applied
                items = [(ledger.mapper.to_domain_event(n), Tracking(APPLICATION_NAME, n.id)) for n in notifications]
                try:
                    self.apply(items, previous)
                except IntegrityError:
                    self._forget()  # another process got there first; read where it left off
                    continue
                applied += len(items)
                if progress is not None:
                    progress(len(items))

    # -- applying -----------------------------------------------------------------------------------

    def apply(self, items: Sequence[tuple[Any, Tracking]], previous: int | None) -> None:
        """Apply ``items`` and move the tracking record from ``previous``, in one transaction."""
        batch: list[Registration | Change] = []
        try:
            for event, _ in items:
                if isinstance(event, Treaty.Registered):
                    projector = TreatyProjector(event.slug, TreatyRules.from_input(event.rules))
                    self._keep(event.slug, projector)
                    self._slugs[str(event.originator_id)] = event.slug
                    doc = {"id": event.slug, "title": event.title, "depositaries": event.depositaries, "rules": event.rules,
                           "source": event.source, "registered_at": event.timestamp}
                    batch.append(Registration(event.slug, str(event.originator_id), projector.rules, doc, projector.initial_rows(), event.timestamp))
                elif isinstance(event, Treaty.EventRecorded):
                    projector = self._projector(str(event.originator_id))
                    if event.sequence <= projector.last_sequence:
                        continue
                    batch.append(projector.apply(event.to_record(projector.treaty)))
            self.view.write_batch(batch, items[-1][1], previous)
        except BaseException:
            self._forget()
            raise
        self._tracked = items[-1][1].notification_id
        self._trim()

    def _projector(self, uuid: str) -> TreatyProjector:
        slug = self._slugs.get(uuid)
        if slug is not None and slug in self._projectors:
            self._projectors.move_to_end(slug)
            return self._projectors[slug]
        row = self.view.treaty_row(uuid=uuid)
        if row is None:
            raise LookupError(f"the views hold no treaty with aggregate id {uuid}: rebuild them (treaty-ledger rebuild)")
        projector = TreatyProjector(row.treaty, row.rules, self.view.records(row.treaty), self.view.current_rows(row.treaty))
        self._slugs[uuid] = row.treaty
        self._keep(row.treaty, projector)
        return projector

    def _keep(self, slug: str, projector: TreatyProjector) -> None:
        self._projectors[slug] = projector
        self._projectors.move_to_end(slug)

    def _trim(self) -> None:
        """Forget the least recently used treaties (only between batches: a batch's own stay)."""
        while len(self._projectors) > self.max_cached_treaties:
            slug, _ = self._projectors.popitem(last=False)
            for uuid in [u for u, s in self._slugs.items() if s == slug]:
                del self._slugs[uuid]

    def _forget(self) -> None:
        self._projectors.clear()
        self._slugs.clear()

    def reset(self) -> None:
        """Forget everything held in memory (after the views were dropped)."""
        with self._lock:
            self._forget()
            self._tracked = None
