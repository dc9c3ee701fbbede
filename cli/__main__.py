"""``python -m treaty_ledger.cli``: the same as the ``treaty-ledger`` command."""

from treaty_ledger.cli import main

main()
