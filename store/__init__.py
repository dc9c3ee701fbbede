"""Infrastructure: the store, the materialized views' SQL per backend, their locks and rebuild,
API keys, idempotency records and datasets.

Errors this layer adds to :mod:`treaty_ledger.domain.errors`' tree (each a ``LedgerError``)::

    LedgerError
    ├── InvalidInput
    │   ├── StoreError           database: the database URL is malformed or names an unsupported store
    │   ├── DatasetError         datasets: a dataset file is malformed; names the file, entry and field
    │   └── IdempotencyConflict  idempotency: an Idempotency-Key was used before with another body
    ├── KeyNotFound              keys: no API key with that id (or name)
    ├── RebuildInProgress        view_locks: another process is rebuilding the views; nothing was written
    ├── ViewsBusy                view_locks: a rebuild gave up waiting for writes in progress; nothing was dropped
    ├── RebuildFailed            rebuild: a worker failed; the views hold every window written before it
    ├── ViewsMoved               projection: the views stand behind where a subscriber left them
    └── ViewsIncomplete          projection: the views hold no treaty an event belongs to; rebuild them
"""
