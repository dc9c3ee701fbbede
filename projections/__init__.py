"""The read side: interval rows, the answers built from them, replay, and the projector that
turns recorded events into rows. Pure: no SQL, no HTTP; the views that store the rows are
infrastructure (:mod:`treaty_ledger.store.views`).
"""
