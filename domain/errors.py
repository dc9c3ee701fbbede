"""Errors raised by the domain.

The tree::

    LedgerError                    any error the ledger raises on purpose
    ├── InvalidInput               the input is malformed; names the field and the reason
    │   ├── UnknownEventType       `type` is not an event the ledger knows
    │   ├── UnknownState           a state code or name that ISO 3166 does not know
    │   ├── InvalidDate            a malformed or impossible date, timestamp or duration
    │   └── MissingSource          an event or treaty without a source
    ├── TimelineContradiction      the act contradicts the treaty's timeline
    ├── TreatyNotFound             no treaty with that id
    ├── TreatyAlreadyExists        a treaty with that id is already registered
    ├── EventNotFound              no event with that id
    ├── WriteConflict              concurrent writers kept winning; nothing was recorded
    └── ProofError                 the verifiable ledger cannot give or check a proof
        ├── BadKey                 a signing or verifier key not in the signed-note encoding
        ├── BadCheckpoint          a checkpoint malformed, or its signature does not check
        ├── NotInTree              a tree size or event the Merkle tree does not (yet) hold
        ├── Unsigned               no signing key is configured: no checkpoint to give
        ├── ProofFailed            a proof, receipt or export does not check against its checkpoint
        ├── SnapshotRejected       a stored snapshot disagrees with the events it stands for
        └── TreeDamaged            the Merkle tree's tables disagree with themselves (run verify)

Every error carries a ``field`` (a dotted path into the input, or ``None``) and a
``reason`` (a sentence a person can act on); ``str(error)`` is ``"field: reason"``.
"""

from __future__ import annotations

__all__ = [
    "BadCheckpoint",
    "BadKey",
    "EventNotFound",
    "InvalidDate",
    "InvalidInput",
    "LedgerError",
    "MissingSource",
    "NotInTree",
    "ProofError",
    "ProofFailed",
    "SnapshotRejected",
    "TimelineContradiction",
    "TreatyAlreadyExists",
    "TreatyNotFound",
    "TreeDamaged",
    "UnknownEventType",
    "UnknownState",
    "Unsigned",
    "WriteConflict",
]


class LedgerError(Exception):
    """Base class of every error the ledger raises on purpose."""

    def __init__(self, reason: str, *, field: str | None = None) -> None:
        self.reason = reason
        self.field = field
        super().__init__(f"{field}: {reason}" if field else reason)

    def at(self, prefix: str) -> LedgerError:
        """Return the same error with its field nested under ``prefix``."""
        field = f"{prefix}.{self.field}" if self.field else prefix
        return type(self)(self.reason, field=field)


class InvalidInput(LedgerError):
    """The input is malformed: a field is missing, of the wrong kind, or out of range."""


class UnknownEventType(InvalidInput):
    """The event `type` is not one the ledger knows."""


class UnknownState(InvalidInput):
    """A state code or name that ISO 3166 does not know."""


class InvalidDate(InvalidInput):
    """A malformed or impossible date, timestamp or duration."""


class MissingSource(InvalidInput):
    """An event or a treaty was given without a usable source."""


class TimelineContradiction(LedgerError):
    """The act contradicts the treaty's timeline as of its effective date."""


class TreatyNotFound(LedgerError):
    """No treaty is registered under that id."""


class TreatyAlreadyExists(LedgerError):
    """A treaty is already registered under that id."""


class EventNotFound(LedgerError):
    """No event is recorded under that id."""


class WriteConflict(LedgerError):
    """Concurrent writers kept winning the optimistic-concurrency check."""


class ProofError(LedgerError):
    """The verifiable ledger cannot give a proof, or a proof does not check."""


class BadKey(ProofError):
    """A signing or verifier key that is not in the signed-note encoding."""


class BadCheckpoint(ProofError):
    """A checkpoint that is malformed, or whose signature does not check with the key given."""


class NotInTree(ProofError):
    """A tree size beyond the tree, a checkpoint never issued, or an event not (yet) a leaf."""


class ProofFailed(ProofError):
    """A proof, a receipt or an exported history does not check against its checkpoint: something was altered."""


class Unsigned(ProofError):
    """No signing key is configured, so no signed checkpoint can be given."""


class SnapshotRejected(ProofError):
    """A stored snapshot whose records do not hash to their chain, or whose head is not the stored events' (it is set aside)."""


class TreeDamaged(ProofError):
    """The Merkle tree's stored nodes are missing or inconsistent: no proof can be given until an operator runs ``verify``."""
