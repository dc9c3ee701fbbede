"""Datasets: importing a treaty's history from a file, and exporting it as JSON Lines.

Two formats are read:

* YAML (``data/open-skies.yaml``): ``treaty:`` (id, title, depositaries, rules, source) and
  ``events:``, each with a ``key`` that later events use to refer to it. Event ids derive from
  the treaty and the key, so importing the same file again records nothing new.
* JSON Lines, as written by :func:`export_lines`: a ``treaty`` line, then one line per event
  with its id (references are ids already).

The whole file is checked before anything is recorded: every entry through the same checks as
a single recorded event, in order, against the treaty's timeline. Any error names the entry and
the field, and nothing is stored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import orjson
import yaml
from eventsourcing.persistence import IntegrityError

from treaty_ledger.domain.dates import utc_now
from treaty_ledger.domain.errors import InvalidInput, LedgerError, NotInTree, TreatyNotFound
from treaty_ledger.domain.events import EVENT_TYPES, LEDGER_FIELDS, normalise_event
from treaty_ledger.domain.ledger import Ledger, record_batch
from treaty_ledger.domain.records import to_json_value
from treaty_ledger.domain.registration import TREATY_FIELDS, normalise_registration, normalise_treaty_id
from treaty_ledger.domain.treaty import Treaty
from treaty_ledger.store.projection import collector_paused
from treaty_ledger.store.receipts import b64, checkpoint_json, signed_checkpoint
from treaty_ledger.store.tree import LedgerTree

__all__ = ["DatasetError", "ImportReport", "export_lines", "import_file", "read_dataset"]

_KEYS = uuid5(NAMESPACE_URL, "https://treaty-ledger.org/dataset-keys/")


class _TextDatesLoader(yaml.SafeLoader):
    """A safe YAML loader that leaves dates as text, so a bad date is named by its entry."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class DatasetError(InvalidInput):
    """A dataset file is unreadable, or one of its entries is bad: names the entry and the field."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One event of a dataset: where it stands in the file, its id and its body."""

    label: str
    event_id: str
    body: dict[str, Any]


@dataclass(slots=True)
class Dataset:
    """A treaty and its events, read from a file."""

    treaty: dict[str, Any]
    entries: list[Entry] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did."""

    treaty: str
    registered: bool
    recorded: int
    already_there: int


def key_id(treaty: str, key: str) -> str:
    """The event id of the entry ``key`` of ``treaty``'s dataset (stable across imports)."""
    return str(uuid5(_KEYS, f"{treaty}\n{key}"))


def _plain(value: Any) -> Any:
    """YAML gives dates as ``date``; the event checks take text like a client sends."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def read_dataset(path: Path) -> Dataset:
    """Read a YAML or JSON Lines dataset; raises :class:`DatasetError` naming the entry and field."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise DatasetError(f"cannot read {path}: {error.strerror}", field="file") from None
    if path.suffix in (".jsonl", ".ndjson"):
        return _read_lines(text)
    try:
        document = yaml.load(text, Loader=_TextDatesLoader)  # noqa: S506 - a SafeLoader subclass
    except (yaml.YAMLError, ValueError) as error:
        raise DatasetError(f"{path} is not valid YAML: {error}", field="file") from None
    if not isinstance(document, Mapping) or not isinstance(document.get("treaty"), Mapping):
        raise DatasetError("expected a 'treaty:' mapping and an 'events:' list", field="treaty")
    treaty = _plain(document["treaty"])
    slug = normalise_treaty_id(treaty.get("id"), field="treaty.id")
    events = document.get("events") or []
    if not isinstance(events, list):
        raise DatasetError("expected a list of events", field="events")
    dataset = Dataset(treaty)
    ids: dict[str, tuple[str, str]] = {}
    for index, raw in enumerate(events):
        label = f"events[{index}]"
        if not isinstance(raw, Mapping):
            raise DatasetError("expected a mapping", field=label)
        body = _plain(raw)
        key = body.pop("key", None)
        if not isinstance(key, str) or not key:
            raise DatasetError("every event needs a key (a unique slug)", field=f"{label}.key")
        label = f"events[{index}] ({key})"
        if key in ids:
            raise DatasetError(f"the key {key!r} is used twice", field=f"{label}.key")
        kind = body.get("type")
        spec = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
        if spec is not None:
            for field_spec in spec.fields:
                if field_spec.kind in ("ref", "refs") and body.get(field_spec.name) is not None:
                    body[field_spec.name] = _resolve(body[field_spec.name], ids, field_spec.refers_to, f"{label}.{field_spec.name}")
        ids[key] = (key_id(slug, key), str(kind))
        dataset.entries.append(Entry(label, key_id(slug, key), body))
    return dataset


def _resolve(value: Any, ids: Mapping[str, tuple[str, str]], kinds: tuple[str, ...], where: str) -> Any:
    if isinstance(value, list):
        return [_resolve(v, ids, kinds, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        raise DatasetError("expected the key of an earlier event", field=where)
    if value not in ids:
        raise DatasetError(f"no earlier event has the key {value!r}", field=where)
    event_id, kind = ids[value]
    if kinds and kind not in kinds:
        raise DatasetError(f"{value!r} is a {kind} event, not a {' or '.join(kinds)} event", field=where)
    return event_id


def _read_lines(text: str) -> Dataset:
    treaty: dict[str, Any] | None = None
    entries: list[Entry] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = _loads(line)
        except json.JSONDecodeError as error:
            raise DatasetError(f"line {number} is not JSON: {error.msg}", field=f"line {number}") from None
        if not isinstance(item, dict):
            raise DatasetError("expected a JSON object", field=f"line {number}")
        if item.get("kind") == "treaty":
            treaty = {spec.name: item[spec.name] for spec in TREATY_FIELDS if spec.name in item}
            continue
        if item.get("kind") == "proofs":  # an export's proofs (export --proofs): for treaty-ledger audit, not events
            continue
        if treaty is None:
            raise DatasetError("the first line must describe the treaty", field=f"line {number}")
        body = {k: v for k, v in item.items() if k not in LEDGER_FIELDS}
        event_id = item.get("id")
        if not (type(event_id) is str and _CANONICAL_UUID.fullmatch(event_id)):  # else it is its own canonical form
            try:
                event_id = str(UUID(str(event_id)))
            except ValueError:
                raise DatasetError("every event line needs its id", field=f"line {number}.id") from None
        entries.append(Entry(f"line {number}", event_id, body))
    if treaty is None:
        raise DatasetError("no treaty line", field="file")
    return Dataset(treaty, entries)


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
"""A UUID as ``str(UUID(...))`` writes it (what an export holds)."""

_LONG_NUMBER = re.compile(r"[0-9][0-9]{18}")  # so written, the regex engine looks for the first digit only: several times faster
"""19 digits in a row: perhaps an integer orjson would read as a float (beyond 64 bits)."""


def _loads(line: str) -> Any:
    """``json.loads(line)``: orjson reads it, several times faster, and the json module what orjson does not read alike.

    orjson reads strict JSON; the json module also takes what orjson refuses (``NaN``, numbers
    beyond a double's range, escaped lone surrogates, which the checks then name) and raises its
    own error for what neither reads. orjson reads integers beyond 64 bits as floats: a line with
    19 digits in a row goes to the json module.
    """
    if _LONG_NUMBER.search(line):
        return json.loads(line)
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return json.loads(line)


def import_file(ledger: Ledger, path: Path, *, progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Check the whole file, then record what is not recorded yet, in one save and one fold.

    Every entry is checked as a recorded event is, and the treaty's timeline is folded once for
    the whole batch (through :meth:`Ledger.record_many`, with its optimistic-concurrency retry,
    when the treaty is registered already). ``progress(done, total)`` is called as entries are
    checked. Any error names the entry and the field, and nothing is stored.
    """
    with collector_paused():  # an import keeps what it makes, as the projection does: see there
        return _import(ledger, path, progress)


def _import(ledger: Ledger, path: Path, progress: Callable[[int, int], None] | None) -> ImportReport:
    dataset = read_dataset(path)
    payload = dataset.treaty
    slug = normalise_treaty_id(payload.get("id"), field="treaty.id")
    labels = {entry.event_id: entry.label for entry in dataset.entries}
    news = []
    for entry in dataset.entries:
        try:
            news.append(normalise_event(entry.body))
        except LedgerError as error:
            raise _at(entry.label, error) from None
    ids = [entry.event_id for entry in dataset.entries]
    try:
        try:
            ledger.treaty(slug)
        except TreatyNotFound:
            treaty = _new_treaty(payload)
            recorded = record_batch(treaty, news, ids, progress=progress)
            try:
                ledger.save_treaty(treaty)
                return ImportReport(slug, True, len(recorded), len(ids) - len(recorded))
            except IntegrityError:
                pass  # another import registered it meanwhile: record on theirs, as below
        recorded = ledger.record_many(slug, news, event_ids=ids, skip_recorded=True, progress=progress)
    except LedgerError as error:
        label = labels.get(str(getattr(error, "event_id", "")))
        raise (_at(label, error) if label else error) from None
    return ImportReport(slug, False, len(recorded), len(ids) - len(recorded))


def _at(label: str, error: LedgerError) -> DatasetError:
    """``error`` as a dataset error naming the entry ``label`` and the field."""
    return DatasetError(error.reason, field=f"{label}.{error.field}" if error.field else label)


def _new_treaty(payload: Mapping[str, Any]) -> Treaty:
    """A treaty aggregate, checked like a registration, not yet saved."""
    try:
        registration = normalise_registration(payload)
        return Treaty.register(slug=registration.id, title=registration.title, depositaries=registration.depositaries,
                               rules=registration.rules, source=registration.source, registered_at=utc_now())
    except LedgerError as error:
        raise DatasetError(error.reason, field=f"treaty.{error.field}" if error.field else "treaty") from None


def export_lines(ledger: Ledger, treaty_id: str, *, tree: LedgerTree | None = None, tree_size: int | None = None) -> Iterator[str]:
    """The treaty's full history as JSON Lines: the treaty (with its registration as the Merkle tree holds it), then every event
    with its recorded time, sequence and hashes.

    With ``tree``, a last line ``{"kind": "proofs", ...}`` carries the signed checkpoint of
    ``tree_size`` leaves (default: the newest) and the inclusion proof of the registration and of
    every event in it, for ``treaty-ledger audit export``; events recorded after that checkpoint
    are left out, as it cannot prove them.
    """
    treaty = ledger.treaty(treaty_id)
    summary = ledger.get_treaty(treaty_id)
    records = list(ledger.list_events(treaty_id))
    proofs = None
    if tree is not None:
        issued = signed_checkpoint(tree, ledger, tree_size)
        leaves = tree.leaves(treaty.slug, [0, *(r.sequence for r in records)])
        kept = [leaf for leaf in leaves if leaf.index < issued.size]
        if not kept:
            raise NotInTree(f"treaty {treaty.slug!r} was registered after the checkpoint of {issued.size} events: it proves none of it",
                            field="tree_size")
        records = records[: len(kept) - 1]
        proofs = {"kind": "proofs", "checkpoint": checkpoint_json(issued, tree.origin),
                  "leaves": [{"sequence": p.leaf.sequence, "leaf_index": p.leaf.index, "inclusion_path": [b64(h) for h in p.path]}
                             for p in tree.inclusions(kept, issued.size)]}
    yield json.dumps({"kind": "treaty", **summary.to_json(), "registration": treaty.registration_entry()}, ensure_ascii=False)
    for record in records:
        yield json.dumps(to_json_value(record.to_json()), ensure_ascii=False)
    if proofs is not None:
        yield json.dumps(proofs, ensure_ascii=False)
