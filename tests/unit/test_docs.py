from pathlib import Path

from treaty_ledger.domain.events import EVENT_TYPES
from treaty_ledger.domain.reference import events_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_every_event_type_and_field_is_documented() -> None:
    text = (ROOT / "docs" / "events.md").read_text()
    for spec in EVENT_TYPES.values():
        assert f"### `{spec.name}`" in text, spec.name
        for field in spec.fields:
            assert f"| `{field.name}` |" in text, (spec.name, field.name)


def test_the_committed_events_reference_is_what_the_catalogue_generates() -> None:
    committed = (ROOT / "docs" / "events.md").read_text()
    assert committed == events_markdown(), (
        "docs/events.md differs from the catalogue: regenerate it with "
        "`python -m treaty_ledger.domain.reference > docs/events.md`"
    )
