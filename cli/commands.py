"""The ``treaty-ledger`` commands, one module per group; importing this package registers them.

The import order is the order ``--help`` lists the commands in.
"""

# ruff: noqa: I001 - the order of these imports is the order of the commands in --help
from treaty_ledger.cli.base import app
from treaty_ledger.cli import serving
from treaty_ledger.cli import store
from treaty_ledger.cli import queries
from treaty_ledger.cli import keys
from treaty_ledger.cli import audit

__all__ = ["app", "audit", "keys", "queries", "serving", "store"]
