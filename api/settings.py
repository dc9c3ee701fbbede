"""The server's settings, read once from the environment when the app is built."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from treaty_ledger.store.database import DEFAULT_DATABASE

__all__ = ["MAX_BODY_BYTES", "Settings"]

MAX_BODY_BYTES = 1 << 20
"""The largest request body the API reads by default: 1 MiB (an event is a few kilobytes)."""


@dataclass(frozen=True, slots=True)
class Settings:
    """``TREATY_LEDGER_DATABASE`` (the store), ``TREATY_LEDGER_REQUIRE_READ_KEY`` (reads need a key) and
    ``TREATY_LEDGER_MAX_BODY_BYTES`` (the largest request body the API reads, default 1 MiB)."""

    database: str = DEFAULT_DATABASE
    require_read_key: bool = False
    max_body_bytes: int = MAX_BODY_BYTES
    """Bodies larger than this are a 413, refused before they are parsed (see :mod:`treaty_ledger.api.bodies`)."""

    def __post_init__(self) -> None:
        if isinstance(self.max_body_bytes, bool) or not isinstance(self.max_body_bytes, int) or self.max_body_bytes < 1:
            raise ValueError(f"the largest request body must be a whole number of bytes, 1 or more; got {self.max_body_bytes!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``environ`` (default: the process environment)."""
        env = os.environ if environ is None else environ
        return cls(
            database=env.get("TREATY_LEDGER_DATABASE") or DEFAULT_DATABASE,
            require_read_key=env.get("TREATY_LEDGER_REQUIRE_READ_KEY", "").strip().lower() in ("1", "true", "yes", "on"),
            max_body_bytes=_bytes(env.get("TREATY_LEDGER_MAX_BODY_BYTES", "").strip()),
        )


def _bytes(text: str) -> int:
    """``TREATY_LEDGER_MAX_BODY_BYTES`` as a number of bytes (unset or empty: the default, 1 MiB)."""
    if not text:
        return MAX_BODY_BYTES
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise ValueError(f"TREATY_LEDGER_MAX_BODY_BYTES must be a whole number of bytes, 1 or more (such as 1048576); got {text!r}")
    return int(text)
