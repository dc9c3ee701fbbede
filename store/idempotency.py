"""Idempotent responses: what a write answered, remembered by Idempotency-Key, beside the views."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from treaty_ledger.domain.dates import utc_now
from treaty_ledger.domain.errors import InvalidInput
from treaty_ledger.store.views import LedgerView

__all__ = ["IdempotencyConflict", "IdempotencyStore"]


class IdempotencyConflict(InvalidInput):
    """An Idempotency-Key reused with another request body."""


class IdempotencyStore:
    """Responses remembered by Idempotency-Key, so a retried write records nothing new."""

    def __init__(self, view: LedgerView) -> None:
        self.view = view

    @staticmethod
    def request_hash(body: Any) -> str:
        """A hash of a request body (canonical JSON)."""
        return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()

    def lookup(self, key: str, scope: str, request_hash: str) -> tuple[int, Any] | None:
        """The first response to this key and scope, or ``None``; another body is a conflict."""
        with self.view.cursor(commit=False) as c:
            c.execute(self.view.q("SELECT request_hash, status, response FROM {idempotency} WHERE key = ? AND scope = ?"), (key, scope))
            row = c.fetchone()
        if row is None:
            return None
        if row["request_hash"] != request_hash:
            raise IdempotencyConflict("this Idempotency-Key was used with another request body", field="Idempotency-Key")
        return int(row["status"]), json.loads(row["response"])

    def remember(self, key: str, scope: str, request_hash: str, status: int, response: Any) -> None:
        """Remember the response to a key (the first one wins if two race)."""
        try:
            with self.view.cursor(commit=True) as c:
                c.execute(self.view.q("INSERT INTO {idempotency} VALUES (?, ?, ?, ?, ?, ?)"),
                          (key, scope, request_hash, status, json.dumps(response), self.view.stamp(utc_now())))
        except Exception:  # noqa: BLE001 - a concurrent retry stored it first; the lookup will find it
            return
