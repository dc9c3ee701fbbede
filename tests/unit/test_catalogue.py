"""The catalogue's invariants: what adding an event type must not forget."""

from __future__ import annotations

from treaty_ledger.domain.events import COMPLIANCE, EVENT_TYPES, PARTICIPATION
from treaty_ledger.domain.fold import TimelineFold
from treaty_ledger.domain.schema import request_schemas


def test_every_participation_and_compliance_type_has_its_legal_effect_in_the_fold() -> None:
    missing = sorted(name for name in PARTICIPATION | COMPLIANCE if not hasattr(TimelineFold, f"on_{name}"))
    assert not missing, f"add an on_<type> handler to the fold for {missing}"


def test_every_reference_names_types_the_catalogue_has() -> None:
    for spec in EVENT_TYPES.values():
        for field in spec.fields:
            assert set(field.refers_to) <= set(EVENT_TYPES), (spec.name, field.name)
            assert (field.kind in ("ref", "refs")) or not field.refers_to, (spec.name, field.name)


def test_every_event_type_has_a_request_schema_and_a_place_in_the_union() -> None:
    schemas = request_schemas()
    union = schemas["EventCreate"]["discriminator"]["mapping"]
    assert set(union) == set(EVENT_TYPES)
    for name, ref in union.items():
        schema = schemas[ref.rsplit("/", 1)[1]]
        assert schema["properties"]["type"]["const"] == name
        assert set(schema["properties"]) == {"type", "source", *(["date"] if EVENT_TYPES[name].dated else []),
                                             *(f.name for f in EVENT_TYPES[name].fields), "date_precision", "note", "claimed_by"}
