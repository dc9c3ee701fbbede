"""API keys, kept in the ledger's database beside the views.

Only a SHA-256 hash of each secret is stored (secrets are 256-bit random tokens, so a plain
hash is enough). A secret reads ``tl_<key id>_<token>``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from treaty_ledger.domain.dates import utc_now
from treaty_ledger.domain.errors import InvalidInput, LedgerError
from treaty_ledger.store.views import LedgerView, stored_moment

__all__ = ["ROLES", "ApiKey", "KeyNotFound", "KeyStore"]

ROLES = ("reader", "writer", "admin")
"""Roles in increasing power: a writer may also read, an admin may also write."""


class KeyNotFound(LedgerError):
    """No API key with that id (or name)."""


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key as stored: never its secret."""

    id: str
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None

    def allows(self, role: str) -> bool:
        """Whether this key has ``role`` or a more powerful one."""
        return self.revoked_at is None and ROLES.index(self.role) >= ROLES.index(role)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()




class KeyStore:
    """Create, list, revoke and check API keys."""

    def __init__(self, view: LedgerView) -> None:
        self.view = view

    def create(self, name: str, role: str) -> tuple[ApiKey, str]:
        """Create a key; return it and its secret (shown once, never stored)."""
        if role not in ROLES:
            raise InvalidInput(f"expected one of {', '.join(ROLES)}, got {role!r}", field="role")
        if not name.strip():
            raise InvalidInput("a key needs a name", field="name")
        key_id = secrets.token_hex(6)
        secret = f"tl_{key_id}_{secrets.token_urlsafe(32)}"
        now = utc_now()
        with self.view.cursor(commit=True) as c:
            c.execute(self.view.q("INSERT INTO {api_keys} VALUES (?, ?, ?, ?, ?, NULL)"), (key_id, name.strip(), role, _hash(secret), self.view.stamp(now)))
        return ApiKey(key_id, name.strip(), role, now, None), secret

    def list(self) -> list[ApiKey]:
        """Every key, revoked ones included, oldest first."""
        with self.view.cursor(commit=False) as c:
            c.execute(self.view.q("SELECT id, name, role, created_at, revoked_at FROM {api_keys} ORDER BY created_at"))
            return [ApiKey(r["id"], r["name"], r["role"], stored_moment(r["created_at"]),
                           None if r["revoked_at"] is None else stored_moment(r["revoked_at"])) for r in c.fetchall()]

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke the key with ``key_id`` (or, if unique, the key named so)."""
        matches = [k for k in self.list() if key_id in (k.id, k.name)]
        if len(matches) != 1:
            raise KeyNotFound(f"no single key with id or name {key_id!r}", field="key")
        with self.view.cursor(commit=True) as c:
            c.execute(self.view.q("UPDATE {api_keys} SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"), (self.view.stamp(utc_now()), matches[0].id))
        return next(k for k in self.list() if k.id == matches[0].id)

    def check(self, secret: str) -> ApiKey | None:
        """The key a secret belongs to, or ``None`` (unknown or revoked)."""
        parts = secret.split("_", 2)
        if len(parts) != 3 or parts[0] != "tl":
            return None
        with self.view.cursor(commit=False) as c:
            c.execute(self.view.q("SELECT id, name, role, secret_hash, created_at, revoked_at FROM {api_keys} WHERE id = ?"), (parts[1],))
            row = c.fetchone()
        if row is None or not hmac.compare_digest(row["secret_hash"], _hash(secret)) or row["revoked_at"] is not None:
            return None
        return ApiKey(row["id"], row["name"], row["role"], stored_moment(row["created_at"]), None)
