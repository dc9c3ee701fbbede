"""Idempotent responses: what a write answered, remembered by Idempotency-Key, beside the views.

A write with a key goes through three steps, each its own transaction:

1. :meth:`IdempotencyStore.claim` reserves the key: it inserts a row holding the request's hash
   and no response yet (``status`` 0, :data:`PENDING`), unique on ``(key, scope)``. Of requests
   racing for one key exactly one inserts it. Another finds the row: with another hash it is an
   :class:`IdempotencyConflict` at once; with the same hash it waits (polling the row) until the
   winner has stored its response, and answers that.
2. The winner records its event.
3. The winner stores its response (:meth:`IdempotencyStore.complete`), or, when the write failed
   and recorded nothing, deletes its reservation (:meth:`IdempotencyStore.release`): only a
   recorded event binds a key, so a retry (with the same body or a corrected one) proceeds, and
   any request still waiting claims the key in turn.

A waiter gives up after :attr:`IdempotencyStore.wait` seconds (:class:`IdempotencyInProgress`, a
409 the client may retry). A reservation older than :attr:`IdempotencyStore.stale_after` seconds
is taken to belong to a process that died before it answered, and the next request with the same
body takes it over; the caller makes that safe by recording under an event id derived from the
key, so the event is never recorded twice.

The table's layout is the one stores have had since wave 1 (no migration): a reservation is a row
whose ``status`` is 0 and ``response`` empty.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from treaty_ledger.domain.dates import utc_now
from treaty_ledger.domain.errors import InvalidInput, LedgerError
from treaty_ledger.store.views import LedgerView, stored_moment

__all__ = ["PENDING", "Answer", "IdempotencyConflict", "IdempotencyInProgress", "IdempotencyStore", "Reservation"]

PENDING = 0
"""The ``status`` of a reserved key whose response is not stored yet."""


class IdempotencyConflict(InvalidInput):
    """An Idempotency-Key reused with another request body."""


class IdempotencyInProgress(LedgerError):
    """A request with this Idempotency-Key and body is still being answered (retry later)."""


@dataclass(frozen=True, slots=True)
class Answer:
    """The response first given to a key: its status and its JSON body, as the bytes sent."""

    status: int
    body: bytes


@dataclass(frozen=True, slots=True)
class Reservation:
    """A key this request holds: it records, then completes or releases the reservation."""

    key: str
    scope: str


class IdempotencyStore:
    """Responses remembered by Idempotency-Key, so a retried write records nothing new."""

    wait = 30.0
    """Seconds a request waits for another with the same key and body to answer."""
    stale_after = 120.0
    """Seconds after which a reservation without a response is taken over (its process died)."""
    poll = 0.01
    """The first pause between two looks at a reserved key (doubling, up to 0.2 s)."""

    def __init__(self, view: LedgerView) -> None:
        self.view = view

    @staticmethod
    def request_hash(body: Any) -> str:
        """A hash of a request body (canonical JSON)."""
        return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()

    def claim(self, key: str, scope: str, request_hash: str) -> Reservation | Answer:
        """Reserve ``key`` in ``scope`` for this request, or the first response to it.

        Raises :class:`IdempotencyConflict` when the key was taken with another body, and
        :class:`IdempotencyInProgress` when a request with the same body is still being
        answered after :attr:`wait` seconds.
        """
        deadline = time.monotonic() + self.wait
        pause = self.poll
        while True:
            if self._reserve(key, scope, request_hash):
                return Reservation(key, scope)
            row = self._row(key, scope)
            if row is None:  # released meanwhile: claim it again at once
                continue
            if row["request_hash"] != request_hash:
                raise IdempotencyConflict("this Idempotency-Key was used with another request body", field="Idempotency-Key")
            if int(row["status"]) != PENDING:
                return Answer(int(row["status"]), str(row["response"]).encode())
            if utc_now() - stored_moment(row["created_at"]) > timedelta(seconds=self.stale_after) and self._take_over(key, scope, row["created_at"]):
                return Reservation(key, scope)
            if time.monotonic() >= deadline:
                raise IdempotencyInProgress(
                    f"a request with this Idempotency-Key is still being answered after {self.wait:g} s; retry later",
                    field="Idempotency-Key")
            time.sleep(pause)  # polling the reserved row for the winner's response
            pause = min(pause * 2, 0.2)

    def lookup(self, key: str, scope: str, request_hash: str) -> Answer | None:
        """The response stored for this key, scope and body, or ``None`` (for another body too, and while the key is only reserved).

        For rows remembered before keys were scoped per API key, whose scope names the treaty only:
        such a row may be another client's, so another body is no conflict.
        """
        row = self._row(key, scope)
        if row is None or int(row["status"]) == PENDING or row["request_hash"] != request_hash:
            return None
        return Answer(int(row["status"]), str(row["response"]).encode())

    def complete(self, reservation: Reservation, status: int, body: bytes) -> Answer:
        """Store the response to a reserved key; the response stored, which is another one if a takeover answered first."""
        with self.view.cursor(commit=True) as c:
            c.execute(self.view.q("UPDATE {idempotency} SET status = ?, response = ? WHERE key = ? AND scope = ? AND status = ?"),
                      (status, body.decode(), reservation.key, reservation.scope, PENDING))
            stored = self.view.rowcount(c) == 1
        if stored:
            return Answer(status, body)
        row = self._row(reservation.key, reservation.scope)
        if row is None or int(row["status"]) == PENDING:  # cannot be: a reservation is completed or released once
            return Answer(status, body)
        return Answer(int(row["status"]), str(row["response"]).encode())

    def release(self, reservation: Reservation) -> None:
        """Give up a reserved key without a response (the write recorded nothing): the next request claims it."""
        with self.view.cursor(commit=True) as c:
            c.execute(self.view.q("DELETE FROM {idempotency} WHERE key = ? AND scope = ? AND status = ?"),
                      (reservation.key, reservation.scope, PENDING))

    def _reserve(self, key: str, scope: str, request_hash: str) -> bool:
        with self.view.cursor(commit=True) as c:
            c.execute(self.view.q("INSERT INTO {idempotency} (key, scope, request_hash, status, response, created_at) "
                                  "VALUES (?, ?, ?, ?, '', ?) ON CONFLICT (key, scope) DO NOTHING"),
                      (key, scope, request_hash, PENDING, self.view.stamp(utc_now())))
            return self.view.rowcount(c) == 1

    def _take_over(self, key: str, scope: str, reserved_at: Any) -> bool:
        """Renew a stale reservation for this request, unless another request renewed or answered it first."""
        with self.view.cursor(commit=True) as c:
            c.execute(self.view.q("UPDATE {idempotency} SET created_at = ? WHERE key = ? AND scope = ? AND status = ? AND created_at = ?"),
                      (self.view.stamp(utc_now()), key, scope, PENDING, reserved_at))
            return self.view.rowcount(c) == 1

    def _row(self, key: str, scope: str) -> Any:
        with self.view.cursor(commit=False) as c:
            c.execute(self.view.q("SELECT request_hash, status, response, created_at FROM {idempotency} WHERE key = ? AND scope = ?"),
                      (key, scope))
            return c.fetchone()
