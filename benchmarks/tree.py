"""The Merkle tree and its checkpoints against floors measured in the same run: proofs, building the tree, the cost added to a write.

    python benchmarks/tree.py                                         # SQLite and PostgreSQL, 1,000,000 events
    python benchmarks/tree.py --quick --backends sqlite               # 20,000 events (the smoke test)
    python benchmarks/tree.py --events 200000 --backends postgres

For each backend a fresh store is filled with ``--events`` synthetic events (treaties of 500
events, as ``asof_benchmark.py`` builds them, recorded without the views or the tree), then:

1. Proofs: an inclusion proof of a random event in the tree of every event (``tree.leaf`` by
   treaty and sequence, then ``tree.inclusion``; by event id the API first finds the event in the views) and a consistency proof between random sizes m < n
   (``tree.consistency``), p50 at most 5 ms each (the issue's targets); p99 printed. Beside them
   the floor: one primary-key lookup of one row on the same store (a leaf's hash from
   ``tl_tree_nodes``, in a transaction of its own, as each of a proof's reads is). The three are
   interleaved, in a shuffled order each round; some proofs are checked against the
   checkpoints' roots (RFC 9162's verification), untimed.
2. Build (measured first: the others need the tree): the tree caught up from nothing over the
   whole history (``LedgerTree.catch_up``, a checkpoint per page of 1,000 leaves, signed), in
   events per second, beside reading every notification of the same store
   (``recorder.select_notifications``, pages of the tree's size; best of one read before and
   one after). No target.
3. A write with the tree: on a treaty of the store (500 events of history), the views rebuilt
   first, a statement recorded and the views caught up without the tree (``ledger.record_event``
   then ``read.refresh`` with the projection's tree unset: the views' transaction alone) against
   ``Services.record_event``, which writes the views and the tree's leaf and signed checkpoint in
   that same transaction; interleaved in a shuffled order each round; the ratio of their p50s at
   most 1.10x. After each write without the tree the tree is caught up untimed, so each write
   with it appends one leaf.

Checkpoints are signed with the key the environment names (``TREATY_LEDGER_SIGNING_KEY`` ...),
or with a key generated for the run when there is none: a deployment signs them.

Exit status 0 when every measurement was made and every proof checked verified (whether the
timing targets are met or not: the output says "met" or "NOT met"), 1 otherwise.

PostgreSQL: ``TREATY_LEDGER_BENCH_POSTGRES`` (default postgresql://postgres@127.0.0.1:5432/test);
each store is a schema of its own (``bench_...``), dropped at the end. SQLite: a file in a
temporary folder (``$TMPDIR``), removed at the end (about 2.7 GB at 1,000,000 events).
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from asof_benchmark import percentile, record_treaty, reference_loop_ms, synthetic_treaty
from write_path import (
    CheckFailed,
    Outcome,
    at_most,
    failure,
    fresh_store,
    interleaved,
    ms,
    print_run,
    print_summary,
    show,
    statement,
)

from treaty_ledger.bootstrap import Services, open_services
from treaty_ledger.domain.checkpoints import NoteSigner
from treaty_ledger.domain.merkle import verify_consistency, verify_inclusion
from treaty_ledger.store.signing import DEFAULT_ORIGIN, load_signer
from treaty_ledger.store.tree import _PAGE as TREE_PAGE

PER_TREATY = 500
"""Events per synthetic treaty (as asof_benchmark.py's default)."""
PROOF_TARGET = 0.005
"""Seconds: the issue's bound on an inclusion proof's p50 and on a consistency proof's."""
WRITE_RATIO_TARGET = 1.10
"""At most this ratio of a write's p50 with the tree to that without it."""
CHECKED = 20
"""Proofs of each kind verified against the checkpoints' roots (untimed)."""


@dataclass(frozen=True)
class Sizes:
    """How much each measurement does."""

    events: int = 1_000_000
    proofs: int = 300
    """Timed proofs of each kind (and floor lookups)."""
    writes: int = 200
    """Timed writes of each kind."""


FULL = Sizes()
QUICK = Sizes(events=20_000, proofs=100, writes=40)


def under(item: str, backend: str, figure: float, floor: float, limit: float, figure_label: str, floor_label: str) -> Outcome:
    """An absolute target (``figure`` at most ``limit`` seconds), the floor and the ratio beside it."""
    return show(Outcome(item, backend, f"{figure_label} {ms(figure)}", f"{floor_label} {ms(floor)}", f"{figure / floor:.2f}x",
                        f"<= {limit * 1000:g} ms", figure <= limit))


def run_signer() -> tuple[NoteSigner, str]:
    signer = load_signer()
    if signer is not None:
        return signer, f"the environment's key ({signer.name})"
    return NoteSigner.generate(DEFAULT_ORIGIN), f"a key generated for this run ({DEFAULT_ORIGIN})"


# -- the store --------------------------------------------------------------------------------------


def record(services: Services, backend: str, events: int, rng: random.Random) -> tuple[int, list[str]]:
    """``events`` synthetic events (treaties of ``PER_TREATY``) recorded without the views or the tree: the total, the treaties."""
    treaties = max(1, events // PER_TREATY)
    slugs = [f"treaty-{i:05d}" for i in range(treaties)]
    started = time.perf_counter()
    for i, slug in enumerate(slugs):
        record_treaty(services, slug, synthetic_treaty(rng, PER_TREATY))
        if i % 20 == 19 or i == treaties - 1:
            print(f"\r  {backend}: recorded {i + 1:,}/{treaties:,} treaties", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    total = services.ledger.recorder.max_notification_id() or 0
    print(f"  {total:,} events ({treaties:,} registrations and their events) recorded in {time.perf_counter() - started:.1f} s", flush=True)
    return total, slugs


def read_every_notification(services: Services) -> tuple[int, float]:
    """Every notification of the store read in pages of the tree's catch-up: how many, in how many seconds."""
    recorder = services.ledger.recorder
    started = time.perf_counter()
    count, start = 0, None
    while True:
        page = recorder.select_notifications(start=start, limit=TREE_PAGE, inclusive_of_start=False)
        if not page:
            return count, time.perf_counter() - started
        count += len(page)
        start = page[-1].id


# -- 2: building the tree ---------------------------------------------------------------------------


def build(services: Services, backend: str, total: int) -> Outcome:
    read, before = read_every_notification(services)
    print(f"  read every notification: {read:,} in {before:.1f} s; catching the tree up from nothing ...", flush=True)
    done = 0
    last_shown = 0.0

    def progress(appended: int) -> None:
        nonlocal done, last_shown
        done += appended
        if time.perf_counter() - last_shown > 1 or done == total:
            last_shown = time.perf_counter()
            print(f"\r  {backend}: tree {done:,}/{total:,} leaves", end="", file=sys.stderr, flush=True)

    started = time.perf_counter()
    appended = services.tree.catch_up(services.ledger, progress=progress)
    seconds = time.perf_counter() - started
    print(file=sys.stderr)
    read_again, after = read_every_notification(services)
    size = services.tree.size()
    latest = services.tree.latest()
    if not (appended == read == read_again == size == total) or latest is None or latest.size != total or latest.note is None:
        raise CheckFailed(f"{total:,} events recorded, {read:,} and {read_again:,} read, {appended:,} leaves appended, the tree holds {size:,}, "
                          f"the latest checkpoint {latest.size if latest else None} ({'signed' if latest and latest.note else 'unsigned'})")
    rate, floor = appended / seconds, total / min(before, after)
    print(f"  the tree of {size:,} leaves built in {seconds:.1f} s ({len(services.tree.checkpoints(limit=1000)):,} signed checkpoints); "
          f"reading the notifications: {before:.1f} s and {after:.1f} s", flush=True)
    return show(Outcome("2 tree build", backend, f"catch-up from nothing, {total:,} events: {rate:,.0f} events/s",
                        f"select_notifications (best of 2): {floor:,.0f} events/s", f"{rate / floor:.2f}", "-", None))


# -- 1: proofs --------------------------------------------------------------------------------------


def primary_key_lookup(services: Services, index: int) -> float:
    """The floor: one row by primary key, in a transaction of its own."""
    view = services.view
    started = time.perf_counter()
    with view.cursor(commit=False) as c:
        c.execute(view.q("SELECT hash FROM {tl_tree_nodes} WHERE level = ? AND idx = ?"), (0, index))
        row = c.fetchone()
    seconds = time.perf_counter() - started
    if row is None:
        raise CheckFailed(f"no leaf {index} in tl_tree_nodes")
    return seconds


def event_at(services: Services, index: int) -> tuple[str, int, str | None]:
    """Leaf ``index``'s treaty, sequence and event id (untimed: the proofs are asked for by event id, as the API is)."""
    view = services.view
    with view.cursor(commit=False) as c:
        c.execute(view.q("SELECT treaty, sequence, event_id FROM {tl_tree_nodes} WHERE level = 0 AND idx = ?"), (index,))
        row = c.fetchone()
    if row is None:
        raise CheckFailed(f"no leaf {index} in tl_tree_nodes")
    return str(row["treaty"]), int(row["sequence"]), row["event_id"]


def proofs(services: Services, backend: str, size: int, sizes: Sizes, rng: random.Random) -> list[Outcome]:
    tree = services.tree
    root = tree.checkpoint(size).root
    checkpoint_sizes = [c.size for c in tree.checkpoints(limit=size)]
    samples: dict[str, list[float]] = {"inclusion": [], "consistency": [], "floor": []}

    def inclusion(check: bool) -> float:
        treaty, sequence, _ = event_at(services, rng.randrange(size))
        started = time.perf_counter()
        leaf = tree.leaf(treaty=treaty, sequence=sequence)  # (by event id, the API first finds the event in the views)
        proof = tree.inclusion(leaf, size)
        seconds = time.perf_counter() - started
        if check and not verify_inclusion(leaf.hash, leaf.index, size, proof.path, root):
            raise CheckFailed(f"the inclusion proof of leaf {leaf.index} in the tree of {size:,} does not verify against its checkpoint's root")
        return seconds

    def consistency() -> float:
        first = rng.randrange(1, size)
        second = rng.randrange(first + 1, size + 1)
        started = time.perf_counter()
        tree.consistency(first, second)
        return time.perf_counter() - started

    def check_consistency() -> None:
        first, second = sorted(rng.sample(checkpoint_sizes, 2)) if len(checkpoint_sizes) > 1 else (size, size)
        path = tree.consistency(first, second)
        if not verify_consistency(first, second, tree.checkpoint(first).root, tree.checkpoint(second).root, path):
            raise CheckFailed(f"the consistency proof from {first:,} to {second:,} leaves does not verify against the checkpoints' roots")

    steps: dict[str, Callable[[], float]] = {
        "inclusion": lambda: inclusion(False), "consistency": consistency,
        "floor": lambda: primary_key_lookup(services, rng.randrange(size)),
    }
    print(f"  {sizes.proofs} rounds of an inclusion proof, a consistency proof and a primary-key lookup, in a shuffled order, "
          f"in the tree of {size:,} leaves ...", flush=True)
    for _ in range(CHECKED):
        inclusion(True)
        check_consistency()
    samples.update(interleaved(steps, sizes.proofs, rng, warm_up=10))
    p50 = {name: statistics.median(values) for name, values in samples.items()}
    p99 = {name: percentile(values, 0.99) for name, values in samples.items()}
    print("  p50 / p99: " + ", ".join(f"{name} {ms(p50[name])} / {ms(p99[name])}" for name in samples)
          + f" ({CHECKED} proofs of each kind verified against the checkpoints' roots)", flush=True)
    floor_label = "primary-key lookup p50"
    return [
        under("1 inclusion proof p50", backend, p50["inclusion"], p50["floor"], PROOF_TARGET,
              f"leaf + inclusion at {size:,} (p99 {ms(p99['inclusion'])}): p50", floor_label),
        under("1 consistency proof p50", backend, p50["consistency"], p50["floor"], PROOF_TARGET,
              f"consistency m < n <= {size:,} (p99 {ms(p99['consistency'])}): p50", floor_label),
    ]


# -- 3: a write with the tree -----------------------------------------------------------------------


def writes(services: Services, backend: str, slug: str, sizes: Sizes, rng: random.Random) -> Outcome:
    print("  rebuilding the views (the writes catch them up) ...", flush=True)
    started = time.perf_counter()
    services.rebuild_views()
    print(f"  views rebuilt in {time.perf_counter() - started:.1f} s; {sizes.writes} rounds of a write without the tree and one with it, "
          f"in a shuffled order, to {slug} ({PER_TREATY} events of history) ...", flush=True)
    ledger, read, tree = services.ledger, services.read, services.tree
    tree.catch_up(ledger)  # the tree stands where the views do: a write grows it in the views' transaction
    counter = 0
    before = tree.size()

    def without_tree() -> float:
        nonlocal counter
        counter += 1
        services.projection.tree = None  # the views' transaction without the tree's leaves
        started = time.perf_counter()
        ledger.record_event(slug, statement(f"tree benchmark write {counter}"))
        read.refresh()
        seconds = time.perf_counter() - started
        services.projection.tree = tree
        tree.catch_up(ledger)  # untimed: the next write with the tree appends its own leaf only
        return seconds

    def with_tree() -> float:
        nonlocal counter
        counter += 1
        size = tree.size()
        started = time.perf_counter()
        services.record_event(slug, statement(f"tree benchmark write {counter}"))  # the views and the tree, one transaction
        seconds = time.perf_counter() - started
        if tree.size() != size + 1:
            raise CheckFailed(f"a write grew the tree by {tree.size() - size} leaves, not 1")
        return seconds

    steps: dict[str, Callable[[], float]] = {"without": without_tree, "with": with_tree}
    samples = interleaved(steps, sizes.writes, rng, warm_up=5)  # warm-up: the treaty in the ledger's cache
    latest = tree.sign()  # writes sign at most once a second: the newest, signed on demand
    if tree.size() != before + counter or latest is None or latest.size != before + counter or latest.note is None:
        raise CheckFailed(f"after {counter} writes the tree holds {tree.size():,} leaves (was {before:,}); latest checkpoint "
                          f"{latest.size if latest else None}")
    p50 = {name: statistics.median(values) for name, values in samples.items()}
    p99 = {name: percentile(values, 0.99) for name, values in samples.items()}
    print(f"  p50 / p99: without the tree {ms(p50['without'])} / {ms(p99['without'])}, with it {ms(p50['with'])} / {ms(p99['with'])}; "
          f"the tree's share: {ms(p50['with'] - p50['without'])} at p50", flush=True)
    return at_most("3 write with tree p50", backend, p50["with"], p50["without"], WRITE_RATIO_TARGET, ms,
                   "record + views + tree (a signed checkpoint):", "record + views:")


# -- main -------------------------------------------------------------------------------------------


def measure(backend: str, folder: Path, sizes: Sizes, signer: NoteSigner, rng: random.Random) -> list[Outcome]:
    outcomes: list[Outcome] = []
    with fresh_store(backend, folder, "tree") as store:
        services = open_services(store.url, catch_up=False, signer=signer)  # neither the views nor the tree caught up
        try:
            total, slugs = record(services, backend, sizes.events, rng)
            try:
                built = build(services, backend, total)  # first: the proofs and the writes need the tree
            except Exception as error:  # noqa: BLE001 - reported, and the other backend goes on
                return [failure("2 tree build", backend, error)]
            for item, step in (("1 proofs", lambda: proofs(services, backend, total, sizes, rng)),
                               ("3 write with tree p50", lambda: [writes(services, backend, slugs[len(slugs) // 2], sizes, rng)])):
                try:
                    outcomes += step()
                except Exception as error:  # noqa: BLE001 - reported, and the other measurements go on
                    outcomes.append(failure(item, backend, error))
                if item == "1 proofs":
                    outcomes.append(built)  # the summary in the order: proofs, build, write
        finally:
            services.close()
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK.events:,} events, fewer samples: a smoke test (figures not comparable with a full run)")
    parser.add_argument("--events", type=int, metavar="N", help=f"events in each store (default {FULL.events:,}; --quick: {QUICK.events:,})")
    parser.add_argument("--proofs", type=int, metavar="N", help=f"timed proofs of each kind (default {FULL.proofs}; --quick: {QUICK.proofs})")
    parser.add_argument("--writes", type=int, metavar="N", help=f"timed writes of each kind (default {FULL.writes}; --quick: {QUICK.writes})")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    overrides: dict[str, Any] = {name: getattr(args, name) for name in ("events", "proofs", "writes") if getattr(args, name) is not None}
    sizes = replace(sizes, **overrides)
    if sizes.events < 2 * PER_TREATY:
        parser.error(f"--events: at least {2 * PER_TREATY}")

    signer, signed_with = run_signer()
    print_run(args.backends, f"{'quick' if args.quick else 'full'}: {sizes}; checkpoints signed with {signed_with}")
    rng = random.Random(args.seed)
    outcomes: list[Outcome] = []
    folder = Path(tempfile.mkdtemp(prefix="treaty-tree-"))
    try:
        for backend in args.backends:
            print(f"\n== {backend}: {sizes.events:,} events: build, proofs, a write ({datetime.now(UTC):%H:%M:%S} UTC)", flush=True)
            try:
                outcomes += measure(backend, folder, sizes, signer, rng)
            except Exception as error:  # noqa: BLE001 - reported, and the other backend goes on
                outcomes.append(failure("store", backend, error))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\nreference loop: {reference_loop_ms():.1f} ms at end ({datetime.now(UTC):%H:%M} UTC)")
    print_summary(outcomes)
    return 1 if any(o.figure.startswith("FAILED") for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
