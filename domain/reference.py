"""``docs/events.md``, generated from the catalogue: every event type, its fields and their
constraints, the source, a treaty's registration and its rules.

Regenerate the committed file with ``python -m treaty_ledger.domain.reference > docs/events.md``;
a test fails when the two differ.
"""

from __future__ import annotations

from collections.abc import Iterable

from treaty_ledger.domain.events import COMMON_FIELDS, EVENT_TYPES, LEDGER_FIELDS, EventType
from treaty_ledger.domain.fields import FieldSpec
from treaty_ledger.domain.registration import TREATY_FIELDS
from treaty_ledger.domain.rules import RULES, RuleSpec
from treaty_ledger.domain.schema import STATE_DOC
from treaty_ledger.domain.sources import SOURCE_FIELDS
from treaty_ledger.domain.text import MAX_TEXT

__all__ = ["events_markdown"]

_CATEGORIES = (
    ("participation", "Participation", "who signs, joins, leaves or suspends; the treaty's own phases"),
    ("reservations", "Reservations, declarations and objections",
     "what a state excludes, interprets or accepts, who objects to it, and the territories the treaty applies to"),
    ("compliance", "Compliance", "restrictions, allegations and their answers, denied flights"),
    ("record", "Record", "notes, statements and decisions kept for audit; no legal effect of their own"),
    ("maintenance", "Maintenance", "mending the record: nothing recorded is ever changed or deleted"),
)


def _kind(spec: FieldSpec) -> str:
    if spec.kind == "choice":
        return f"one of {', '.join(f'`{c}`' for c in spec.choices)}"
    if spec.kind == "text":
        limit = spec.max_length or MAX_TEXT
        return f"text (≤ {limit:,} characters)" + (f", matching `{spec.pattern}`" if spec.pattern else "")
    if spec.kind == "slug":
        return f"text matching `{spec.pattern}`"
    if spec.kind in ("ref", "refs"):
        what = " or ".join(f"`{name}`" for name in spec.refers_to) or "any"
        return f"{'event id' if spec.kind == 'ref' else 'list of event ids'} ({what})"
    return {
        "state": "state", "states": "list of states (each once)", "texts": f"list of texts (each ≤ {MAX_TEXT:,} characters)",
        "boolean": "`true` or `false`", "date": "date `YYYY-MM-DD`",
        "changes": "object: field → new value", "actor": "state, or the name of a body",
        "rules": "object: the rules below", "source": "object: a source, as above",
    }[spec.kind]


def _rule_kind(rule: RuleSpec) -> str:
    return {
        "duration": "duration",
        "count": f"whole number ≥ {rule.minimum}",
        "alignment": "`none` or `first_of_next_month`",
        "extension": "object: `max_period` (duration), `times` (whole number or `null`)",
        "entry_into_force": "object: `instruments` (whole number), `required_states` (list of states), `delay` (duration), "
                            "`alignment` (`none` or `first_of_next_month`)",
    }[rule.kind]


def _table(fields: Iterable[FieldSpec]) -> list[str]:
    rows = ["| field | kind | meaning |", "| --- | --- | --- |"]
    for spec in fields:
        required = "**required** " if spec.required else ""
        rows.append(f"| `{spec.name}` | {_kind(spec)} | {required}{spec.description} |")
    return rows


def _event(spec: EventType) -> list[str]:
    title = f"### `{spec.name}`" + (" (treaty-wide)" if spec.treaty_wide else "")
    lines = [title, "", spec.description[0].upper() + spec.description[1:] + ".", ""]
    if spec.fields:
        lines += [*_table(spec.fields), ""]
    if spec.one_of:
        lines += [f"One of {' or '.join(f'`{name}`' for name in spec.one_of)} is required.", ""]
    return lines


def events_markdown() -> str:
    """The text of ``docs/events.md``."""
    lines = [
        "# Event types and their fields",
        "",
        "<!-- Generated from the catalogue (treaty_ledger/domain/events.py and the modules it names):",
        "     python -m treaty_ledger.domain.reference > docs/events.md -->",
        "",
        "Every event has a `type`, a `date` (`YYYY-MM-DD`, the effective date: when it happened or takes",
        "effect, never after the day it is recorded; `correction` and `retraction` have none) and a",
        "`source`; the fields of its type; and these common fields, all optional:",
        "",
        *_table(COMMON_FIELDS),
        "",
        f"States are given as an {STATE_DOC};",
        "the ledger stores and answers with the alpha-3 code, or the ISO 3166-3 code of a historic state.",
        "Free text is never blank and holds no NUL character or lone surrogate; an optional field that is",
        "`null`, `\"\"` or `[]` is taken as absent. The ledger sets "
        + ", ".join(f"`{name}`" for name in LEDGER_FIELDS) + "; a client never sends them.",
        "",
        "## Source",
        "",
        "Where a fact comes from. A `title` or a `url` is required.",
        "",
        *_table(SOURCE_FIELDS),
        "",
    ]
    for category, heading, meaning in _CATEGORIES:
        lines += [f"## {heading}", "", meaning[0].upper() + meaning[1:] + ".", ""]
        for spec in EVENT_TYPES.values():
            if spec.category == category:
                lines += _event(spec)
    lines += [
        "## Registering a treaty",
        "",
        "`POST /v1/treaties` takes:",
        "",
        *_table(TREATY_FIELDS),
        "",
        "### Rules",
        "",
        "Each rule is optional: `null` or absent means the treaty has no such rule. Durations are",
        "ISO 8601 (`P6M`, `P60D`, `P1Y`, `P2W`) and calendar arithmetic (six months after 31 August is",
        "the last day of February).",
        "",
        "| rule | kind | meaning |",
        "| --- | --- | --- |",
        *(f"| `{rule.name}` | {_rule_kind(rule)} | {rule.description} |" for rule in RULES),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(events_markdown(), end="")
