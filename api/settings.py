"""The server's settings, read once from the environment when the app is built."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from treaty_ledger.store.database import DEFAULT_DATABASE

__all__ = ["Settings"]


@dataclass(frozen=True, slots=True)
class Settings:
    """``TREATY_LEDGER_DATABASE`` (the store) and ``TREATY_LEDGER_REQUIRE_READ_KEY`` (reads need a key)."""

    database: str = DEFAULT_DATABASE
    require_read_key: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``environ`` (default: the process environment)."""
        env = os.environ if environ is None else environ
        return cls(
            database=env.get("TREATY_LEDGER_DATABASE") or DEFAULT_DATABASE,
            require_read_key=env.get("TREATY_LEDGER_REQUIRE_READ_KEY", "").strip().lower() in ("1", "true", "yes", "on"),
        )
