"""The ``treaty-ledger`` command line.

The store comes from ``--database`` or ``TREATY_LEDGER_DATABASE`` (default: a SQLite file
``treaty-ledger.db`` in the working directory). The commands live in one module per group
(:mod:`treaty_ledger.cli.commands` lists them).
"""

from __future__ import annotations

__all__ = ["main"]


def main() -> None:
    """Run the command line."""
    from treaty_ledger.cli.commands import app

    app()
