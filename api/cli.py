"""The ``treaty-ledger`` command line.

The store comes from ``--database`` or ``TREATY_LEDGER_DATABASE`` (default: a SQLite file
``treaty-ledger.db`` in the working directory). The commands live in :mod:`api.commands`.
"""

from __future__ import annotations

from api.commands import app

__all__ = ["app", "main"]


def main() -> None:
    """Run the command line."""
    app()
