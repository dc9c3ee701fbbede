"""A treaty's rules: how recorded acts turn into legal effects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from treaty_ledger.domain.dates import Duration, parse_duration
from treaty_ledger.domain.errors import InvalidInput

__all__ = ["TreatyRules"]

_FIELDS = ("withdrawal_notice", "late_joiner_delay", "earliest_withdrawal_notice", "minimum_parties")


@dataclass(frozen=True, slots=True)
class TreatyRules:
    """The rules of domain.md: notice period, late-joiner delay, earliest notice, minimum parties.

    ``None`` means the treaty has no such rule: a withdrawal takes effect on notice, a late
    joiner becomes a party on deposit, notice may be given at any time, no minimum applies.
    """

    withdrawal_notice: Duration | None = None
    late_joiner_delay: Duration | None = None
    earliest_withdrawal_notice: Duration | None = None
    minimum_parties: int | None = None

    @classmethod
    def from_input(cls, value: Any, *, field: str = "rules") -> TreatyRules:
        """Read rules from a mapping of ISO 8601 durations and an integer."""
        if value is None:
            return cls()
        if not isinstance(value, dict):
            raise InvalidInput("expected an object with the treaty's rules", field=field)
        unknown = sorted(set(value) - set(_FIELDS))
        if unknown:
            raise InvalidInput(f"unknown rule {unknown[0]!r}; rules are {', '.join(_FIELDS)}", field=f"{field}.{unknown[0]}")
        durations = {
            name: None if value.get(name) is None else parse_duration(value[name], field=f"{field}.{name}")
            for name in _FIELDS[:3]
        }
        minimum = value.get("minimum_parties")
        if minimum is not None and (isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 1):
            raise InvalidInput("expected a whole number of parties, 1 or more, or null", field=f"{field}.minimum_parties")
        return cls(minimum_parties=minimum, **durations)

    def to_json(self) -> dict[str, Any]:
        """The rules as JSON: durations as ISO 8601 text, ``null`` where there is no rule."""
        return {
            "withdrawal_notice": _text(self.withdrawal_notice),
            "late_joiner_delay": _text(self.late_joiner_delay),
            "earliest_withdrawal_notice": _text(self.earliest_withdrawal_notice),
            "minimum_parties": self.minimum_parties,
        }


def _text(duration: Duration | None) -> str | None:
    return None if duration is None else duration.isoformat()
