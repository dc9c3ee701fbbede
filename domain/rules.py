"""A treaty's rules: how recorded acts turn into legal effects.

The rules are defined once, as :data:`RULES`: :meth:`TreatyRules.from_input` reads a client's
rules by it, and the JSON Schema and the reference documentation are read off it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from treaty_ledger.domain.dates import Duration, parse_duration
from treaty_ledger.domain.errors import InvalidInput

__all__ = ["RULES", "RuleSpec", "TreatyRules"]


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One rule: its name, the kind of value (an ISO 8601 duration or a count) and its meaning."""

    name: str
    kind: Literal["duration", "count"]
    description: str
    examples: tuple[Any, ...] = ()
    minimum: int = 1


RULES: tuple[RuleSpec, ...] = (
    RuleSpec("withdrawal_notice", "duration",
             "how long after an official notice of withdrawal it takes effect (a notice may name a later date); none: on notice", ("P6M",)),
    RuleSpec("late_joiner_delay", "duration",
             "how long after depositing an instrument a state that joins after entry into force becomes a party; none: on deposit", ("P60D",)),
    RuleSpec("earliest_withdrawal_notice", "duration",
             "how long after the treaty entered into force for a state it may give notice; none: at any time", ("P3Y",)),
    RuleSpec("minimum_parties", "count", "the treaty ends when fewer parties remain; none: no minimum", (2,), minimum=1),
)
"""Every rule a treaty may have; each is optional (``null`` or absent: no such rule)."""

_NAMES = ", ".join(rule.name for rule in RULES)


@dataclass(frozen=True, slots=True)
class TreatyRules:
    """The rules of :data:`RULES`: notice period, late-joiner delay, earliest notice, minimum parties.

    ``None`` means the treaty has no such rule: a withdrawal takes effect on notice, a late
    joiner becomes a party on deposit, notice may be given at any time, no minimum applies.
    """

    withdrawal_notice: Duration | None = None
    late_joiner_delay: Duration | None = None
    earliest_withdrawal_notice: Duration | None = None
    minimum_parties: int | None = None

    @classmethod
    def from_input(cls, value: Any, *, field: str = "rules") -> TreatyRules:
        """Read rules from a mapping of ISO 8601 durations and counts (``None``: no rules)."""
        if value is None:
            return cls()
        if not isinstance(value, dict):
            raise InvalidInput("expected an object with the treaty's rules", field=field)
        unknown = sorted(set(value) - {rule.name for rule in RULES})
        if unknown:
            raise InvalidInput(f"unknown rule {unknown[0]!r}; rules are {_NAMES}", field=f"{field}.{unknown[0]}")
        read: dict[str, Any] = {}
        for rule in RULES:
            item = value.get(rule.name)
            if item is None:
                continue
            where = f"{field}.{rule.name}"
            if rule.kind == "duration":
                read[rule.name] = parse_duration(item, field=where)
            elif isinstance(item, bool) or not isinstance(item, int) or item < rule.minimum:
                raise InvalidInput(f"expected a whole number, {rule.minimum} or more, or null", field=where)
            else:
                read[rule.name] = item
        return cls(**read)

    def to_json(self) -> dict[str, Any]:
        """The rules as JSON: durations as ISO 8601 text, ``null`` where there is no rule."""
        values = {rule.name: getattr(self, rule.name) for rule in RULES}
        return {name: value.isoformat() if isinstance(value, Duration) else value for name, value in values.items()}
