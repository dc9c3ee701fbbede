"""Every kind of tampering an intruder with database access can do is found, given a checkpoint kept before it (issue 14).

The intruder drops the triggers and edits the events and snapshots tables directly, as far as
recomputing hashes with the ledger's own code; the signing key lives outside the database, so
that is the one thing out of reach. For each kind, 20 random instances on each store: each is
applied, checked (the chains and the Merkle tree, as ``treaty-ledger verify`` runs them, with
the checkpoint kept before), and undone (the two tables' rows put back), after which the same
check passes again, so a check that cannot pass cannot hide behind these.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import StoredEvent

from tests.integration.helpers import execute, execute_all
from tests.scenario import SOURCE
from treaty_ledger.bootstrap import Services, open_services
from treaty_ledger.domain.checkpoints import Checkpoint, open_checkpoint
from treaty_ledger.domain.records import chain_hash
from treaty_ledger.domain.treaty import Treaty
from treaty_ledger.store.database import parse_database_url
from treaty_ledger.store.tree_audit import audit_tree

INSTANCES = 20
STATES = ["USA", "RUS", "FRA", "DEU", "GBR", "CAN", "ITA", "ESP"]


@dataclass
class Store:
    url: str
    services: Services
    kept: Checkpoint
    events: list[tuple[Any, ...]]
    snapshots: list[tuple[Any, ...]]
    postgres: bool

    def found(self) -> bool:
        """Whether verify (the chains, then the tree against the kept checkpoint) finds something wrong."""
        chains = self.services.ledger.verify()
        tree = audit_tree(self.services.ledger, self.services.tree, verifier=self.services.tree.signer.verifier,  # type: ignore[union-attr]
                          kept=self.kept)
        return not chains.ok or not tree.ok

    def rows(self) -> list[tuple[Any, ...]]:
        """The events table's rows in the log's order: notification id, treaty (aggregate id), version, topic, state."""
        return list(self.events)

    def put_back(self) -> None:
        """Both tables' rows as they were, in one transaction."""
        _drop_triggers(self.url)  # opening the ledger puts them back
        execute_all(self.url, [
            ("DELETE FROM {events}", ()),
            ("DELETE FROM {snapshots}", ()),
            *(self._insertion(row) for row in self.events),
            *(("INSERT INTO {snapshots} (originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?)", row) for row in self.snapshots),
        ])

    def insert(self, row: tuple[Any, ...]) -> None:
        execute(self.url, *self._insertion(row))

    def _insertion(self, row: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        column = "notification_id" if self.postgres else "rowid"
        return f"INSERT INTO {{events}} ({column}, originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?, ?)", tuple(row)

    def set_state(self, *changes: tuple[int, bytes]) -> None:
        """Each ``(notification id, state)`` of ``changes`` written, in one transaction."""
        column = "notification_id" if self.postgres else "rowid"
        execute_all(self.url, [(f"UPDATE {{events}} SET state = ? WHERE {column} = ?", (state, nid)) for nid, state in changes])

    def delete(self, *nids: int) -> None:
        """The rows of notification ids ``nids`` deleted, in one transaction."""
        column = "notification_id" if self.postgres else "rowid"
        execute_all(self.url, [(f"DELETE FROM {{events}} WHERE {column} = ?", (nid,)) for nid in nids])

    def decoded(self, row: tuple[Any, ...]) -> Any:
        _, originator, version, topic, state = row
        return self.services.ledger.mapper.to_domain_event(StoredEvent(UUID(str(originator)), version, topic, bytes(state)))

    def encoded(self, event: Any) -> bytes:
        return bytes(self.services.ledger.mapper.to_stored_event(event).state)


def _drop_triggers(url: str) -> None:
    if parse_database_url(url).is_postgres:
        execute_all(url, [("DROP TRIGGER IF EXISTS treaty_ledger_immutable ON {events}", ()),
                          ("DROP TRIGGER IF EXISTS treaty_ledger_immutable_snapshots ON {snapshots}", ())])
    else:
        execute_all(url, [(f"DROP TRIGGER IF EXISTS treaty_ledger_{name}", ())
                          for name in ("no_update", "no_delete", "no_update_snapshots", "no_delete_snapshots")])


@pytest.fixture(scope="module")
def store(module_database_url: str) -> Iterator[Store]:
    url = module_database_url
    services = open_services(url)
    rng = random.Random(14)
    for number in range(3):
        slug = f"treaty-{number}"
        services.register_treaty({"id": slug, "title": f"Treaty {number}", "rules": {"withdrawal_notice": "P6M"}, "source": SOURCE})
        for state in STATES[: 4 + number]:
            services.record_event(slug, {"type": "signed", "state": state, "date": "1995-01-01", "source": SOURCE})
        for i in range(rng.randint(4, 8)):
            services.record_event(slug, {"type": "statement", "state": rng.choice(STATES[:4]), "date": "2001-01-01",
                                         "summary": f"statement {i}", "source": SOURCE})
    services.ledger.snapshot_every = 10  # a few snapshots to forge
    for i in range(12):
        services.record_event("treaty-0", {"type": "statement", "state": "USA", "date": "2002-01-01", "summary": f"more {i}", "source": SOURCE})
    latest = services.tree.sign()
    assert latest is not None and latest.note is not None and services.tree.signer is not None
    kept = open_checkpoint(latest.note, services.tree.signer.verifier)
    postgres = parse_database_url(url).is_postgres
    nid = "notification_id" if postgres else "rowid"
    events = execute(url, f"SELECT {nid}, originator_id, originator_version, topic, state FROM {{events}} ORDER BY {nid}")
    snapshots = execute(url, "SELECT originator_id, originator_version, topic, state FROM {snapshots}")
    assert snapshots, "the fixture should hold snapshots"
    _drop_triggers(url)
    built = Store(url, services, kept, events, snapshots, postgres)
    assert not built.found(), "the untouched store must verify"
    yield built
    services.close()


# -- the kinds of tampering ---------------------------------------------------------------------------


def byte_changed(store: Store, rng: random.Random) -> None:
    nid, *_, state = rng.choice(store.rows())
    data = bytearray(bytes(state))
    position = rng.randrange(len(data))
    data[position] = (data[position] + rng.randint(1, 255)) % 256
    store.set_state((nid, bytes(data)))


def row_deleted(store: Store, rng: random.Random) -> None:
    store.delete(rng.choice(store.rows())[0])


def rows_swapped(store: Store, rng: random.Random) -> None:
    (a, *_, state_a), (b, *_, state_b) = rng.sample(store.rows(), 2)
    store.set_state((a, bytes(state_b)), (b, bytes(state_a)))


def row_inserted(store: Store, rng: random.Random) -> None:
    """A copy of an event, inserted at the end of its chain under the next version."""
    rows = store.rows()
    _, originator, _, topic, state = rng.choice([r for r in rows if r[2] > 1])
    last = max(r[2] for r in rows if r[1] == originator)
    store.insert((max(r[0] for r in rows) + 1, originator, last + 1, topic, state))


def tail_truncated(store: Store, rng: random.Random) -> None:
    rows = store.rows()
    originator = rng.choice(sorted({r[1] for r in rows}, key=str))
    chain = [r for r in rows if r[1] == originator]
    store.delete(*(row[0] for row in chain[-rng.randint(1, len(chain) - 1):]))


def _forged_after(head: Any, slug: str, rng: random.Random) -> Any:
    """An event recorded after ``head`` (a decoded event), its hash recomputed with the ledger's own code."""
    sequence = head.originator_version  # the registration is version 1, event n is version n + 1
    record = Treaty.EventRecorded(
        originator_id=head.originator_id, originator_version=head.originator_version + 1, timestamp=head.timestamp,
        event_id=str(uuid4()), event_type="statement", date=None, fields={"state": rng.choice(STATES), "summary": "forged"},
        source=dict(SOURCE), sequence=sequence, prev_hash=head.hash, hash="",
    )
    content = record.to_record(slug).content()
    return replace_hash(record, chain_hash(content, head.hash))


def replace_hash(event: Any, value: str) -> Any:
    event.__dict__["hash"] = value
    return event


def forged_append(store: Store, rng: random.Random) -> None:
    rows = store.rows()
    originator = rng.choice(sorted({r[1] for r in rows}, key=str))
    chain = [r for r in rows if r[1] == originator]
    head = store.decoded(chain[-1])
    slug = store.decoded(chain[0]).slug
    forged = _forged_after(head, slug, rng)
    store.insert((max(r[0] for r in rows) + 1, originator, forged.originator_version, chain[-1][3], store.encoded(forged)))


def chain_rewritten(store: Store, rng: random.Random) -> None:
    """One event's content changed and every hash after it recomputed: the chain holds to its new head."""
    rows = store.rows()
    originator = rng.choice(sorted({r[1] for r in rows}, key=str))
    chain = [r for r in rows if r[1] == originator]
    slug = store.decoded(chain[0]).slug
    start = rng.randrange(1, len(chain))
    previous = store.decoded(chain[start - 1]).hash
    changes = []
    for position, row in enumerate(chain[start:]):
        event = store.decoded(row)
        if position == 0:
            event.__dict__["fields"] = {**event.fields, "state": "GEO"} if "state" in event.fields else {**event.fields, "note": "rewritten"}
        event.__dict__["prev_hash"] = previous
        replace_hash(event, chain_hash(event.to_record(slug).content(), previous))
        changes.append((row[0], store.encoded(event)))
        previous = event.hash
    store.set_state(*changes)


def treaty_deleted(store: Store, rng: random.Random) -> None:
    rows = store.rows()
    originator = rng.choice(sorted({r[1] for r in rows}, key=str))
    store.delete(*(row[0] for row in rows if row[1] == originator))


def snapshot_forged(store: Store, rng: random.Random) -> None:
    """A snapshot's records changed (and, half the time, their hashes recomputed so the chain inside it holds)."""
    originator, version, topic, state = rng.choice(store.snapshots)
    snapshot = store.services.ledger.mapper.to_domain_event(StoredEvent(UUID(str(originator)), version, topic, bytes(state)))
    records = list(snapshot.state["records"])
    position = rng.randrange(len(records))
    records[position] = replace(records[position], fields={**records[position].fields, "state": "GEO"})
    if rng.random() < 0.5:
        previous = records[position].prev_hash
        for i in range(position, len(records)):
            records[i] = replace(records[i], prev_hash=previous, hash="")
            records[i] = replace(records[i], hash=records[i].computed_hash())
            previous = records[i].hash
        snapshot.state["head"] = previous
    snapshot.state["records"] = records
    forged = bytes(store.services.ledger.mapper.to_stored_event(snapshot).state)
    execute(store.url, "UPDATE {snapshots} SET state = ? WHERE originator_id = ? AND originator_version = ?", (forged, originator, version))


KINDS: dict[str, Callable[[Store, random.Random], None]] = {
    "a byte changed": byte_changed, "a row deleted": row_deleted, "two rows swapped": rows_swapped, "a row inserted": row_inserted,
    "a tail truncated": tail_truncated, "a forged event appended": forged_append, "a chain rewritten to its head": chain_rewritten,
    "a treaty deleted": treaty_deleted, "a snapshot forged": snapshot_forged,
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_instance_of_each_tampering_is_found(store: Store, kind: str) -> None:
    rng = random.Random(kind)
    missed = []
    for instance in range(INSTANCES):
        KINDS[kind](store, rng)
        try:
            if not store.found():
                missed.append(instance)
        finally:
            store.put_back()
        assert not store.found(), f"the store, put back after instance {instance}, should verify again"
    assert not missed, f"{kind}: instances {missed} of {INSTANCES} went unnoticed"


def test_a_forged_snapshot_never_changes_what_the_ledger_holds(store: Store) -> None:
    truth = [r.to_json() for r in store.services.ledger.list_events("treaty-0")]
    try:
        snapshot_forged(store, random.Random(3))
        fresh = open_services(store.url, catch_up=False)
        try:
            assert [r.to_json() for r in fresh.ledger.list_events("treaty-0")] == truth
        finally:
            fresh.close()
    finally:
        store.put_back()
