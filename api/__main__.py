"""``python -m api``: the same as the ``treaty-ledger`` command."""

from api.cli import main

main()
