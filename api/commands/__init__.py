"""The ``treaty-ledger`` commands, one module per group; importing this package registers them.

The import order is the order ``--help`` lists the commands in.
"""

# ruff: noqa: I001 - the order of these imports is the order of the commands in --help
from api.commands.base import app
from api.commands import serving
from api.commands import store
from api.commands import queries
from api.commands import keys

__all__ = ["app", "keys", "queries", "serving", "store"]
