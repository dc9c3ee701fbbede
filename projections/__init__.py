"""The read side and the store: wiring, storage settings, materialized views and their rebuild.

Errors this layer adds to :mod:`domain.errors`' tree (each a ``LedgerError``, by module)::

    LedgerError
    ├── KeyNotFound          access: no API key with that id (or name)
    ├── RebuildInProgress    views: another process is rebuilding the views; nothing was written
    ├── ViewsBusy            views: a rebuild gave up waiting for writes in progress; nothing was dropped
    ├── RebuildFailed        rebuild: a worker failed; the views hold every window written before it
    ├── ViewsMoved           projection: the views stand behind where a subscriber left them
    └── ViewsIncomplete      projection: the views hold no treaty an event belongs to; rebuild them
"""
