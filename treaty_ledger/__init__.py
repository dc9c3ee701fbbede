"""Treaty Ledger: an event-sourced, bitemporal, tamper-evident ledger of treaty status.

One installed package, one layer a subpackage (each the repository's top-level folder of the
same name; in a checkout the names here are links to them)::

    cli, api        entry points: the command line and the HTTP API, thin
    bootstrap       the one place that wires a store, the ledger and the read side
    store           infrastructure: database URLs and settings, triggers, the views' SQL per
                    backend, their locks and rebuild, API keys, idempotency records, datasets
    projections     the read side: interval rows, answers, replay, the projector
    domain          the catalogue of events and rules, the fold, the aggregate, the application

Each layer imports only the layers below it; the contract is in ``pyproject.toml``
(``[tool.importlinter]``), and CI checks it.
"""
