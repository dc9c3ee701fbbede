"""The treaty ledger's domain: events, rules, the timeline fold and the ledger application.

Imports only the standard library, eventsourcing and pycountry; never ``api`` or ``projections``.
"""
