"""The read side and the store: wiring, storage settings and (later) materialized views."""
