"""A treaty's rules: how recorded acts turn into legal effects.

The rules are defined once, as :data:`RULES`: :meth:`TreatyRules.from_input` reads a client's
rules by it, and the JSON Schema and the reference documentation are read off it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from treaty_ledger.domain.dates import Duration, parse_duration
from treaty_ledger.domain.errors import InvalidInput
from treaty_ledger.domain.states import normalise_state

__all__ = ["ALIGNMENTS", "RULES", "EntryIntoForce", "Extension", "RuleSpec", "TreatyRules", "aligned"]

RuleKind = Literal["duration", "count", "alignment", "extension", "entry_into_force"]

ALIGNMENTS = ("none", "first_of_next_month")
"""How a date the rules derive is aligned: as it falls, or to the first day of the next month."""


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One rule: its name, the kind of value and its meaning."""

    name: str
    kind: RuleKind
    description: str
    examples: tuple[Any, ...] = ()
    minimum: int = 1


RULES: tuple[RuleSpec, ...] = (
    RuleSpec("withdrawal_notice", "duration",
             "how long after an official notice of withdrawal it takes effect (a notice may name a later date); none: on notice", ("P6M",)),
    RuleSpec("late_joiner_delay", "duration",
             "how long after depositing an instrument a state that joins after entry into force (or, with an entry_into_force "
             "rule, after its conditions were met) becomes a party; none: on deposit", ("P60D",)),
    RuleSpec("late_joiner_alignment", "alignment",
             "none, or first_of_next_month: a late joiner becomes a party on the first day of the month after the delay ends "
             "(Rome Statute, Article 126(2)); none: as the delay falls", ("first_of_next_month",)),
    RuleSpec("earliest_withdrawal_notice", "duration",
             "how long after the treaty entered into force for a state it may give notice; none: at any time", ("P3Y",)),
    RuleSpec("minimum_parties", "count", "the treaty ends when fewer parties remain; none: no minimum", (2,), minimum=1),
    RuleSpec("duration", "duration", "the treaty expires this long after its entry into force, unless extended; none: no term",
             ("P10Y",)),
    RuleSpec("extension", "extension",
             "how an extended event may prolong a treaty with a duration: the longest extension (max_period, beyond the expiry "
             "date it extends) and how many times (times; null: any number); none: it cannot be extended",
             ({"max_period": "P5Y", "times": 1},)),
    RuleSpec("entry_into_force", "entry_into_force",
             "what the treaty needs to enter into force: a number of instruments (instruments), named states (required_states), "
             "and the delay after the last (delay, with alignment none or first_of_next_month); a state depositing after the "
             "conditions were met is a late joiner. The recorded entered_into_force event stays the authority on the date",
             ({"instruments": 60, "required_states": [], "delay": "P60D", "alignment": "first_of_next_month"},)),
)
"""Every rule a treaty may have; each is optional (``null`` or absent: no such rule)."""

_NAMES = ", ".join(rule.name for rule in RULES)


def aligned(day: date, alignment: str | None) -> date:
    """``day`` aligned: itself, or (``first_of_next_month``) the first day of the month after it."""
    if alignment != "first_of_next_month":
        return day
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


@dataclass(frozen=True, slots=True)
class Extension:
    """How a treaty with a duration may be extended: by at most ``max_period`` each time, at most ``times`` times."""

    max_period: Duration | None = None
    times: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"max_period": self.max_period.isoformat() if self.max_period else None, "times": self.times}


@dataclass(frozen=True, slots=True)
class EntryIntoForce:
    """What a treaty needs to enter into force: ``instruments`` deposited, the ``required_states``, then ``delay``."""

    instruments: int | None = None
    required_states: tuple[str, ...] = ()
    delay: Duration | None = None
    alignment: str = "none"

    def to_json(self) -> dict[str, Any]:
        return {"instruments": self.instruments, "required_states": list(self.required_states),
                "delay": self.delay.isoformat() if self.delay else None, "alignment": self.alignment}


def _count(value: Any, where: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInput(f"expected a whole number, {minimum} or more, or null", field=where)
    return value


def _alignment(value: Any, where: str) -> str:
    if value not in ALIGNMENTS:
        raise InvalidInput(f"expected one of {', '.join(ALIGNMENTS)}, got {value!r}", field=where)
    return str(value)


def _object(value: Any, where: str, names: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(f"expected an object with {', '.join(names)}", field=where)
    unknown = sorted(set(value) - set(names))
    if unknown:
        raise InvalidInput(f"unknown field {unknown[0]!r}; it takes {', '.join(names)}", field=f"{where}.{unknown[0]}")
    return value


def _extension(value: Any, where: str) -> Extension:
    item = _object(value, where, ("max_period", "times"))
    if item.get("max_period") is None:
        raise InvalidInput("an extension rule needs max_period, the longest extension (an ISO 8601 duration)", field=f"{where}.max_period")
    times = item.get("times")
    return Extension(parse_duration(item["max_period"], field=f"{where}.max_period"),
                     None if times is None else _count(times, f"{where}.times", 1))


def _entry_into_force(value: Any, where: str) -> EntryIntoForce:
    item = _object(value, where, ("instruments", "required_states", "delay", "alignment"))
    instruments = item.get("instruments")
    states = item.get("required_states") or []
    if not isinstance(states, list):
        raise InvalidInput("expected a list of states", field=f"{where}.required_states")
    codes = [normalise_state(state, field=f"{where}.required_states[{i}]") for i, state in enumerate(states)]
    if len(set(codes)) != len(codes):
        raise InvalidInput("a state is named twice", field=f"{where}.required_states")
    if instruments is None and not codes:
        raise InvalidInput("an entry_into_force rule needs instruments, required_states or both", field=where)
    delay = item.get("delay")
    return EntryIntoForce(
        None if instruments is None else _count(instruments, f"{where}.instruments", 1),
        tuple(sorted(codes)),
        None if delay is None else parse_duration(delay, field=f"{where}.delay"),
        _alignment("none" if item.get("alignment") is None else item["alignment"], f"{where}.alignment"),
    )


@dataclass(frozen=True, slots=True)
class TreatyRules:
    """The rules of :data:`RULES`; ``None`` means the treaty has no such rule.

    No rule: a withdrawal takes effect on notice, a late joiner becomes a party on deposit,
    notice may be given at any time, no minimum applies, the treaty has no term (and cannot be
    extended), and it enters into force when an ``entered_into_force`` event says so.
    """

    withdrawal_notice: Duration | None = None
    late_joiner_delay: Duration | None = None
    late_joiner_alignment: str | None = None
    earliest_withdrawal_notice: Duration | None = None
    minimum_parties: int | None = None
    duration: Duration | None = None
    extension: Extension | None = None
    entry_into_force: EntryIntoForce | None = None

    @property
    def states_interact(self) -> bool:
        """Whether one state's acts, or the passing of time, can change another state's standing.

        A minimum number of parties (a withdrawal can end the treaty for all) or a term (the
        treaty expires for all): a fold must then finish the whole timeline, not a state's alone.
        """
        return self.minimum_parties is not None or self.duration is not None

    def joins_on(self, deposited_on: date) -> date:
        """When a late joiner that deposited on ``deposited_on`` becomes a party."""
        joined = self.late_joiner_delay.after(deposited_on) if self.late_joiner_delay else deposited_on
        return aligned(joined, self.late_joiner_alignment)

    @classmethod
    def from_input(cls, value: Any, *, field: str = "rules") -> TreatyRules:
        """Read rules from a mapping of ISO 8601 durations, counts and objects (``None``: no rules)."""
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
            elif rule.kind == "count":
                read[rule.name] = _count(item, where, rule.minimum)
            elif rule.kind == "alignment":
                read[rule.name] = _alignment(item, where)
            elif rule.kind == "extension":
                read[rule.name] = _extension(item, where)
            else:
                read[rule.name] = _entry_into_force(item, where)
        if "extension" in read and "duration" not in read:
            raise InvalidInput("an extension rule needs a duration rule: only a treaty with a term can be extended", field=f"{field}.extension")
        return cls(**read)

    def to_json(self) -> dict[str, Any]:
        """The rules as JSON: durations as ISO 8601 text, ``null`` where there is no rule."""
        values = {rule.name: getattr(self, rule.name) for rule in RULES}
        return {name: value.isoformat() if isinstance(value, Duration) else value.to_json() if isinstance(value, Extension | EntryIntoForce)
                else value for name, value in values.items()}
