"""The write path against floors measured in the same run (issue 13): import, one HTTP write, rebuild, as-of latency, concurrent writers.

    python benchmarks/write_path.py                                   # SQLite and PostgreSQL, full sizes
    python benchmarks/write_path.py --quick --backends sqlite         # small sizes (the smoke test)
    python benchmarks/write_path.py --rebuild-sizes 10000 1000000 --backends postgres

This machine's speed varies from hour to hour, so every target is a ratio against a floor
measured beside it, in the same run, on the same store:

1. Import of a 10,000-event treaty (``import_file``, what ``treaty-ledger import`` runs: the whole
   file checked, then recorded through ``record_batch`` in one save): its cost per event at most
   1.3x that of a 500-event import, and its rate at least 25% of a bare eventsourcing
   Application's (a trivial aggregate, 100 events per save, the same store settings).
2. One HTTP write (POST of one statement) to a real ``treaty-ledger serve`` (one worker, real
   sockets, httpx2): p50 on a 10,000-event treaty at most 1.3x that on a 50-event treaty, and at
   most 2x the sum of a bare FastAPI POST route's p50 (``bare_app.py``, served the same way) and
   eventsourcing's get + change + save p50. The four are interleaved, in a shuffled order each
   round, so that a change in the machine's speed falls on all of them alike.
3. Rebuild (``Services.rebuild_views``, what ``treaty-ledger rebuild`` runs) at least 25% of the
   rate of reading every notification (``recorder.select_notifications``, pages of the rebuild's
   window, best of a read before and one after, with the cycle collector paused as the rebuild
   pauses it), for each of ``--rebuild-sizes`` (synthetic ledgers of 500-event treaties, as
   ``asof_benchmark.py`` builds them).
4. As-of view latency (random membership queries, as ``asof_benchmark.py`` asks them, some
   checked against the replay): p50 at the largest size at most 1.2x that at the smallest
   (10,000 events by default); the sizes' queries are interleaved.
5. Sixteen concurrent HTTP writers over 4 treaties (PostgreSQL: ``serve --workers 4``; SQLite: one
   worker), each write with an Idempotency-Key: events per second and p99 latency beside one
   writer alone on the same server (no target); then checks that every write's event is stored
   exactly once (by id), the treaties' sequences are gap-free, ``GET /v1/verify`` is ok and no
   answer was a 5xx.

Exit status 0 when every check held (whether the timing targets are met or not), 1 when a check
failed or a measurement could not be made (the output says which and why).

PostgreSQL: ``TREATY_LEDGER_BENCH_POSTGRES`` (default postgresql://postgres@127.0.0.1:5432/test);
each store is a schema of its own (``bench_...``), dropped at the end. SQLite: files in a
temporary folder (``$TMPDIR``), removed at the end, as are the servers' logs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter as Tally
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx2
import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from psycopg import sql

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from asof_benchmark import CODES, RULES, SOURCE, percentile, record_treaty, reference_loop_ms, schema_name, synthetic_treaty, with_ids

from treaty_ledger.bootstrap import Services, open_services
from treaty_ledger.domain.ledger import Ledger
from treaty_ledger.projections.replay import membership_by_replay
from treaty_ledger.store.database import parse_database_url
from treaty_ledger.store.datasets import import_file
from treaty_ledger.store.keys import KeyStore
from treaty_ledger.store.projection import LedgerProjection, collector_paused
from treaty_ledger.store.rebuild import default_workers

POSTGRES = os.environ.get("TREATY_LEDGER_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
PER_TREATY = 500
"""Events per treaty of the rebuild's synthetic ledgers (as asof_benchmark.py's default)."""
BATCH = 100
"""Events per save of the floor's batch saves."""
TODAY = datetime.now(UTC).date().isoformat()
"""The date of the statements written over HTTP (an event may not be dated after today, UTC)."""

IMPORT_RATIO_TARGET = 1.3
IMPORT_FLOOR_SHARE = 0.25
WRITE_RATIO_TARGET = 1.3
WRITE_FLOOR_TARGET = 2.0
REBUILD_FLOOR_SHARE = 0.25
ASOF_RATIO_TARGET = 1.2


# -- sizes ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    """How much each measurement does."""

    import_sizes: tuple[int, int] = (500, 10_000)
    small_imports: int = 5
    """Imports of the small size (the median is taken: one takes a tenth of a second)."""
    http_sizes: tuple[int, int] = (50, 10_000)
    http_writes: int = 100
    rebuild_sizes: tuple[int, ...] = (10_000, 100_000)
    queries: int = 300
    writers: int = 16
    writer_treaties: int = 4
    writes_per_writer: int = 25
    writer_history: int = 500
    postgres_workers: int = 4


FULL = Sizes()
QUICK = Sizes(import_sizes=(500, 2_000), small_imports=3, http_sizes=(50, 2_000), http_writes=20, rebuild_sizes=(2_000, 5_000),
              queries=60, writes_per_writer=4, writer_history=50)


# -- outcomes ---------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """One figure beside its floor, the ratio, the target and whether it is met (``None``: no target)."""

    item: str
    backend: str
    figure: str
    floor: str
    ratio: str
    goal: str
    met: bool | None

    @property
    def verdict(self) -> str:
        return "-" if self.met is None else "met" if self.met else "NOT met"


class CheckFailed(Exception):
    """The ledger answered wrongly: a 5xx, an event lost or stored twice, a gap, a failed verify, a view disagreeing with the replay."""


def show(outcome: Outcome) -> Outcome:
    goal = f"; target {outcome.goal}: {outcome.verdict}" if outcome.met is not None else ""
    print(f"  [{outcome.item}] {outcome.figure}  |  floor: {outcome.floor}  |  ratio {outcome.ratio}{goal}", flush=True)
    return outcome


def at_most(item: str, backend: str, figure: float, floor: float, limit: float, unit: Callable[[float], str],
            figure_label: str, floor_label: str) -> Outcome:
    ratio = figure / floor
    return show(Outcome(item, backend, f"{figure_label} {unit(figure)}", f"{floor_label} {unit(floor)}", f"{ratio:.2f}x",
                        f"<= {limit:g}x", ratio <= limit))


def at_least(item: str, backend: str, figure: float, floor: float, share: float, figure_label: str, floor_label: str) -> Outcome:
    ratio = figure / floor
    return show(Outcome(item, backend, f"{figure_label} {figure:,.0f} events/s", f"{floor_label} {floor:,.0f} events/s", f"{ratio:.2f}",
                        f">= {share:g}", ratio >= share))


def interleaved(steps: dict[str, Callable[[], float]], rounds: int, rng: random.Random, *, warm_up: int) -> dict[str, list[float]]:
    """Each step's timings over ``rounds`` rounds, the steps in a shuffled order each round, after ``warm_up`` untimed rounds."""
    for _ in range(warm_up):
        for step in steps.values():
            step()
    samples: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        names = list(steps)
        rng.shuffle(names)
        for name in names:
            samples[name].append(steps[name]())
    return samples


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} us/event"


# -- stores -----------------------------------------------------------------------------------------


@dataclass
class Store:
    """A fresh store of one backend: its URL, and a folder for its datasets and logs (and SQLite files)."""

    backend: str
    url: str
    folder: Path
    name: str

    @property
    def is_postgres(self) -> bool:
        return self.backend == "postgres"

    def floor_env(self) -> dict[str, str]:
        """The ledger's eventsourcing settings for this store (SQLite: a file beside it, its table name being fixed)."""
        env = {**Ledger.env, **parse_database_url(self.url).eventsourcing_env()}
        env.pop("APPLICATION_RECORDER_TOPIC", None)  # the floor is eventsourcing's own recorder, pipeline and all
        if not self.is_postgres:
            env["SQLITE_DBNAME"] = str(self.folder / f"{self.name}-floor.db")
        return env


@contextmanager
def fresh_store(backend: str, folder: Path, name: str) -> Iterator[Store]:
    if backend == "sqlite":
        yield Store(backend, f"sqlite:///{folder / name}.db", folder, name)
        return
    schema = schema_name()
    try:
        yield Store(backend, f"{POSTGRES}?schema={schema}", folder, name)
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


# -- the eventsourcing floor ------------------------------------------------------------------------


class Counter(Aggregate):
    """The floor's trivial aggregate."""

    def __init__(self) -> None:
        self.count = 0

    @event("Incremented")
    def increment(self) -> None:
        self.count += 1


class Floor(Application[UUID]):
    """A bare eventsourcing application (the ledger's cache setting, no snapshots)."""

    name = "WritePathFloor"


def batch_save_rate(app: Floor, events: int) -> tuple[float, UUID]:
    """Events per second saving a trivial aggregate ``BATCH`` events at a time; the aggregate's id."""
    counter = Counter()
    app.save(counter)
    started = time.perf_counter()
    done = 0
    while done < events:
        for _ in range(BATCH):
            counter.increment()
        app.save(counter)
        done += BATCH
    return done / (time.perf_counter() - started), counter.id


def get_change_save(app: Floor, aggregate: UUID) -> float:
    started = time.perf_counter()
    counter: Counter = app.repository.get(aggregate)
    counter.increment()
    app.save(counter)
    return time.perf_counter() - started


# -- datasets ---------------------------------------------------------------------------------------


def before_today(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``events`` moved back by whole 400-year cycles until the last is not after today.

    The generator dates a treaty's events from 1950 on, 1 to 20 days apart: 10,000 events run
    into the 23rd century. The Gregorian calendar repeats every 400 years, so the months and the
    leap days, and with them the withdrawal notices the generator counts, are unchanged.
    """
    last = max(date.fromisoformat(e["date"]) for e in events)
    cycles = 0
    while last.replace(year=last.year - 400 * cycles) > date.today():
        cycles += 1
    if not cycles:
        return events
    moved = []
    for body in events:
        day = date.fromisoformat(body["date"])
        moved.append({**body, "date": day.replace(year=day.year - 400 * cycles).isoformat()})
    return moved


def dataset_lines(slug: str, events: list[dict[str, Any]]) -> str:
    """A JSON Lines dataset (the format ``treaty-ledger export`` writes and ``import`` reads) of a synthetic treaty."""
    lines = [json.dumps({"kind": "treaty", "id": slug, "title": f"Synthetic treaty {slug}", "depositaries": [], "rules": RULES, "source": SOURCE})]
    bodies, ids = with_ids(events)
    lines += [json.dumps({"id": event_id, **body}) for body, event_id in zip(bodies, ids, strict=True)]
    return "\n".join(lines) + "\n"


def import_treaty(services: Services, store: Store, slug: str, size: int, rng: random.Random) -> tuple[float, float]:
    """Import a synthetic treaty of ``size`` events as ``treaty-ledger import`` does: seconds importing, seconds catching the views up."""
    path = store.folder / f"{slug}.jsonl"
    path.write_text(dataset_lines(slug, before_today(synthetic_treaty(rng, size))), encoding="utf-8")
    started = time.perf_counter()
    report = import_file(services.ledger, path)
    imported = time.perf_counter() - started
    if report.recorded != size:
        raise CheckFailed(f"the import of {slug} recorded {report.recorded} of {size} events")
    started = time.perf_counter()
    services.projection.catch_up(services.ledger)
    return imported, time.perf_counter() - started


# -- servers ----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A server process listening on a local port; its output goes to ``log``."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def serving(command: list[str], port: int, log: Path) -> Iterator[Server]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{' '.join(command[1:4])} exited with {process.returncode}:\n{server.tail()}")
            try:
                if httpx2.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{' '.join(command[1:4])} was not ready within 120 s:\n{server.tail()}")
            time.sleep(0.1)  # a process starting up
        yield server
    finally:
        server.stop()


def serve_ledger(store: Store, workers: int, log_name: str) -> AbstractContextManager[Server]:
    """``treaty-ledger serve --workers N`` on the store, as a user starts it."""
    port = free_port()
    return serving([sys.executable, "-m", "treaty_ledger.cli", "serve", "--port", str(port), "--workers", str(workers), "--database", store.url],
                   port, store.folder / log_name)


def serve_bare(folder: Path) -> AbstractContextManager[Server]:
    port = free_port()
    return serving([sys.executable, str(HERE / "bare_app.py"), "--port", str(port)], port, folder / "bare.log")


def statement(summary: str, state: str = "FRA") -> dict[str, Any]:
    return {"type": "statement", "state": state, "date": TODAY, "summary": summary, "source": SOURCE}


def timed_post(client: httpx2.Client, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[float, httpx2.Response]:
    started = time.perf_counter()
    response = client.post(path, json=body, headers=headers)
    return time.perf_counter() - started, response


def created(response: httpx2.Response, what: str) -> httpx2.Response:
    if response.status_code != 201:
        raise CheckFailed(f"{what}: {response.status_code} {response.text[:400]}")
    return response


# -- 1 and 2: import, one HTTP write ----------------------------------------------------------------


def imports_and_one_write(backend: str, folder: Path, sizes: Sizes, rng: random.Random) -> list[Outcome]:
    with fresh_store(backend, folder, "writes") as store:
        services = open_services(store.url, catch_up=False)  # first: on PostgreSQL it creates the schema
        try:
            floor = Floor(env=store.floor_env())
            try:
                outcomes, slugs, secret, aggregate = imports(backend, store, services, floor, sizes, rng)
            except BaseException:
                floor.close()
                raise
        finally:
            services.close()  # the server is the only client of the ledger from here on
        try:
            return outcomes + one_write(backend, store, sizes, slugs, secret, floor, aggregate, rng)
        finally:
            floor.close()


def imports(backend: str, store: Store, services: Services, floor: Floor, sizes: Sizes,
            rng: random.Random) -> tuple[list[Outcome], dict[int, str], str, UUID]:
    """Item 1; then the treaties item 2 writes to, and a writer key: the outcomes, the treaties by size, the key, the floor's aggregate."""
    small, large = sizes.import_sizes
    print(f"  importing {sizes.small_imports} treaties of {small:,} events and one of {large:,} ...", flush=True)
    small_costs, catch_ups = [], []
    half = sizes.small_imports // 2
    large_slug, large_seconds = f"imported-{large}", 0.0
    for i, size in enumerate([small] * half + [large] + [small] * (sizes.small_imports - half)):
        slug = large_slug if i == half else f"imported-{size}-{i}"
        seconds, catching_up = import_treaty(services, store, slug, size, rng)
        catch_ups.append(catching_up / size)
        if i == half:
            large_seconds = seconds
        else:
            small_costs.append(seconds / size)
    floor_rate, aggregate = batch_save_rate(floor, large)
    outcomes = [
        at_most("1 import cost/event", backend, large_seconds / large, statistics.median(small_costs), IMPORT_RATIO_TARGET, us,
                f"{large:,} events:", f"{small:,} events (median of {len(small_costs)}):"),
        at_least("1 import rate", backend, large / large_seconds, floor_rate, IMPORT_FLOOR_SHARE,
                 f"import of {large:,} events:", f"eventsourcing, trivial aggregate, {BATCH} events per save:"),
    ]
    print(f"  (after each import the views were caught up, as `treaty-ledger import` does: median {us(statistics.median(catch_ups))};"
          " not in the figures above)")
    slugs = {size: large_slug if size == large else f"written-{size}" for size in sizes.http_sizes}
    for size, slug in slugs.items():
        if slug != large_slug:
            import_treaty(services, store, slug, size, rng)
    secret = KeyStore(services.view).create("write-path-benchmark", "writer")[1]  # as `treaty-ledger keys create` does
    return outcomes, slugs, secret, aggregate


def one_write(backend: str, store: Store, sizes: Sizes, slugs: dict[int, str], secret: str, floor: Floor, aggregate: UUID,
              rng: random.Random) -> list[Outcome]:
    http_small, http_large = sizes.http_sizes
    headers = {"Authorization": f"Bearer {secret}"}
    with serve_ledger(store, 1, "ledger-1-worker.log") as ledger, serve_bare(store.folder) as bare, \
            httpx2.Client(base_url=ledger.url, headers=headers, timeout=120) as api, \
            httpx2.Client(base_url=bare.url, headers=headers, timeout=120) as plain:
        print(f"  {sizes.http_writes} rounds of one POST each to the {http_small:,}- and {http_large:,}-event treaties, the bare route,"
              " and one eventsourcing get + change + save, in a shuffled order ...", flush=True)
        counter = 0

        def post(treaty: str) -> float:
            nonlocal counter
            counter += 1
            seconds, response = timed_post(api, f"/v1/treaties/{treaty}/events", statement(f"write-path benchmark write {counter}"))
            created(response, f"POST /v1/treaties/{treaty}/events")
            return seconds

        def post_bare() -> float:
            seconds, response = timed_post(plain, "/items", statement("write-path benchmark write"))
            created(response, "POST /items (bare app)")
            return seconds

        steps: dict[str, Callable[[], float]] = {
            "small": lambda: post(slugs[http_small]), "large": lambda: post(slugs[http_large]),
            "bare": post_bare, "floor": lambda: get_change_save(floor, aggregate),
        }
        samples = interleaved(steps, sizes.http_writes, rng, warm_up=5)  # warm-up: the treaties in the server's cache, connections open
        p50 = {name: statistics.median(values) for name, values in samples.items()}
        p99 = {name: percentile(values, 0.99) for name, values in samples.items()}
        print("  p50 / p99: " + ", ".join(f"{name} {ms(p50[name])} / {ms(p99[name])}" for name in samples)
              + f" (small: {http_small:,}-event treaty, large: {http_large:,}-event treaty)")
        outcomes = [
            at_most("2 HTTP write p50", backend, p50["large"], p50["small"], WRITE_RATIO_TARGET, ms,
                    f"{http_large:,}-event treaty:", f"{http_small:,}-event treaty:"),
        ]
        bound = p50["bare"] + p50["floor"]
        ratio = p50["large"] / bound
        outcomes.append(show(Outcome("2 HTTP write vs bare", backend, f"{http_large:,}-event treaty: {ms(p50['large'])}",
                                     f"bare POST {ms(p50['bare'])} + es get/change/save {ms(p50['floor'])} = {ms(bound)}",
                                     f"{ratio:.2f}x", f"<= {WRITE_FLOOR_TARGET:g}x", ratio <= WRITE_FLOOR_TARGET)))
        print(f"  (the {http_small:,}-event treaty's p50 is {p50['small'] / bound:.2f}x the same floor)")
        return outcomes


# -- 3 and 4: rebuild, as-of latency ----------------------------------------------------------------


@dataclass
class Built:
    """A synthetic ledger, its views rebuilt."""

    size: int
    store: Store
    services: Services
    slugs: list[str]
    last_day: date
    view_seconds: list[float] = field(default_factory=list)
    checked: int = 0


def read_every_notification(services: Services) -> tuple[int, float]:
    """Every notification of the store read in the rebuild's pages: how many, in how many seconds.

    Read with the cycle collector paused, as the rebuild runs: with it running, its collections
    over the process's heap made the same read take from 1x to 3.5x its best time (0.038 s to
    0.136 s for 10,020 events), which flattered any ratio to it.
    """
    recorder = services.ledger.recorder
    with collector_paused():
        started = time.perf_counter()
        count, start = 0, None
        while True:
            page = recorder.select_notifications(start=start, limit=LedgerProjection.rebuild_batch_size, inclusive_of_start=False)
            if not page:
                return count, time.perf_counter() - started
            count += len(page)
            start = page[-1].id


def build_and_rebuild(backend: str, store: Store, size: int, rng: random.Random) -> tuple[Built, Outcome]:
    services = open_services(store.url, catch_up=False)
    treaties = max(1, size // PER_TREATY)
    started = time.perf_counter()
    slugs = [f"treaty-{i:05d}" for i in range(treaties)]
    for i, slug in enumerate(slugs):
        record_treaty(services, slug, synthetic_treaty(rng, PER_TREATY))
        print(f"\r  {backend} {size:,}: recorded {i + 1}/{treaties} treaties", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    total = services.ledger.recorder.max_notification_id() or 0
    print(f"  {total:,} events in {treaties:,} treaties recorded in {time.perf_counter() - started:.1f} s", flush=True)
    read, before = read_every_notification(services)
    started = time.perf_counter()
    applied = services.rebuild_views()  # what `treaty-ledger rebuild` runs (workers: one per core from 50,000 events)
    rebuild_seconds = time.perf_counter() - started
    read_again, after = read_every_notification(services)
    if applied != total or read != total or read_again != total:
        raise CheckFailed(f"{total:,} events recorded, {read:,} and {read_again:,} read, {applied:,} applied by the rebuild")
    floor_rate = total / min(before, after)
    workers = default_workers(total)
    outcome = at_least("3 rebuild", backend, applied / rebuild_seconds, floor_rate, REBUILD_FLOOR_SHARE,
                       f"{total:,} events ({workers} workers):", "select_notifications (best of 2):")
    last_day = max(r.date for r in services.ledger.list_events(slugs[0]) if r.date)
    return Built(size, store, services, slugs, last_day), outcome


def ask(built: Built, rng: random.Random, replay_checks: int) -> None:
    slug = rng.choice(built.slugs)
    as_of = date.fromordinal(rng.randint(date(1950, 1, 1).toordinal(), built.last_day.toordinal()))
    started = time.perf_counter()
    answer = built.services.read.membership_as_of(slug, as_of)
    built.view_seconds.append(time.perf_counter() - started)
    if built.checked < replay_checks:
        built.checked += 1
        treaty = built.services.ledger.treaty(slug)
        if answer != membership_by_replay(slug, treaty.rules, treaty.records, as_of):
            raise CheckFailed(f"the views and the replay disagree for {slug} as of {as_of} ({built.size:,} events)")


def rebuilds_and_asof(backend: str, folder: Path, sizes: Sizes, rng: random.Random) -> list[Outcome]:
    outcomes: list[Outcome] = []
    built: list[Built] = []
    try:
        with ExitStack() as stack:
            for size in sizes.rebuild_sizes:
                store = stack.enter_context(fresh_store(backend, folder, f"rebuild-{size}"))
                one, outcome = build_and_rebuild(backend, store, size, rng)
                built.append(one)
                outcomes.append(outcome)
            print(f"  {sizes.queries} membership queries on each ledger, interleaved ...", flush=True)
            for _ in range(sizes.queries):
                for one in rng.sample(built, len(built)):
                    ask(one, rng, replay_checks=20)
            for one in built:
                print(f"  view p50 {ms(statistics.median(one.view_seconds))}, p99 {ms(percentile(one.view_seconds, 0.99))} "
                      f"at {one.size:,} events ({one.checked} answers checked against the replay)")
            if len(built) >= 2:
                first, last = built[0], built[-1]
                outcomes.append(at_most("4 as-of view p50", backend, statistics.median(last.view_seconds), statistics.median(first.view_seconds),
                                        ASOF_RATIO_TARGET, ms, f"{last.size:,} events:", f"{first.size:,} events:"))
            for one in built:
                one.services.close()
            built.clear()
    finally:
        for one in built:
            one.services.close()
    return outcomes


# -- 5: concurrent writers --------------------------------------------------------------------------


@dataclass
class Write:
    treaty: str
    writer: int
    number: int
    status: int
    seconds: float
    event_id: str | None
    text: str


def write(client: httpx2.Client, treaty: str, writer: int, number: int, run: str) -> Write:
    body = statement(f"writer {writer} write {number}", CODES[writer % len(CODES)])
    seconds, response = timed_post(client, f"/v1/treaties/{treaty}/events", body, {"Idempotency-Key": f"{run}-{writer}-{number}"})
    event_id = response.json().get("id") if response.status_code == 201 else None
    return Write(treaty, writer, number, response.status_code, seconds, event_id, "" if response.status_code == 201 else response.text[:300])


def all_events(client: httpx2.Client, treaty: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        response = client.get(f"/v1/treaties/{treaty}/events", params=params)
        if response.status_code != 200:
            raise CheckFailed(f"GET /v1/treaties/{treaty}/events: {response.status_code} {response.text[:300]}")
        page = response.json()
        events += page["events"]
        cursor = page["next_cursor"]
        if not cursor:
            return events


def check_writes(client: httpx2.Client, writes: Sequence[Write], treaties: dict[str, int]) -> list[str]:
    """What is wrong with the stored events after ``writes`` (empty when nothing is)."""
    problems = []
    statuses = Tally(w.status for w in writes)
    failed = [w for w in writes if w.status != 201]
    if failed:
        problems.append(f"{len(failed)} writes not 201 ({dict(statuses)}); first: {failed[0].status} {failed[0].text}")
    total = 0
    for treaty, history in treaties.items():
        events = all_events(client, treaty)
        total += len(events) + 1
        listed = Tally(e["id"] for e in events)
        twice = [i for i, n in listed.items() if n > 1]
        mine = [w for w in writes if w.treaty == treaty and w.event_id]
        lost = [w for w in mine if listed[w.event_id or ""] != 1]
        extra = len(events) - history - len(mine)
        sequences = [e["sequence"] for e in events]
        if twice:
            problems.append(f"{treaty}: {len(twice)} ids listed more than once")
        if lost:
            problems.append(f"{treaty}: {len(lost)} written events not listed exactly once (writer {lost[0].writer} write {lost[0].number})")
        if extra:
            problems.append(f"{treaty}: {extra} events more than its history and the writes answered 201")
        if sorted(sequences) != list(range(1, len(events) + 1)):
            problems.append(f"{treaty}: sequences are not 1..{len(events)} without gaps")
        by_id = {e["id"]: e for e in events}
        wrong = [w for w in mine if w.event_id in by_id and by_id[w.event_id].get("summary") != f"writer {w.writer} write {w.number}"]
        if wrong:
            problems.append(f"{treaty}: {len(wrong)} events stored with another writer's body")
    verify = client.get("/v1/verify")
    report = verify.json() if verify.status_code == 200 else {}
    if not report.get("ok") or report.get("events_checked") != total:
        problems.append(f"GET /v1/verify: {verify.status_code} {verify.text[:300]} (expected ok and {total} events checked)")
    return problems


def concurrent_writers(backend: str, folder: Path, sizes: Sizes, rng: random.Random) -> list[Outcome]:
    workers = sizes.postgres_workers if backend == "postgres" else 1
    with fresh_store(backend, folder, "writers") as store:
        services = open_services(store.url, catch_up=False)
        try:
            treaties = {f"concurrent-{i}": sizes.writer_history for i in range(sizes.writer_treaties)}
            for slug in treaties:
                import_treaty(services, store, slug, sizes.writer_history, rng)
            secret = KeyStore(services.view).create("write-path-writers", "writer")[1]
        finally:
            services.close()
        slugs = list(treaties)
        alone_count = max(10, sizes.writers * sizes.writes_per_writer // 8)
        headers = {"Authorization": f"Bearer {secret}"}
        with serve_ledger(store, workers, f"ledger-{workers}-workers.log") as server:
            print(f"  one writer alone: {alone_count} writes; then {sizes.writers} writers at once, {sizes.writes_per_writer} writes each, "
                  f"over {len(slugs)} treaties of {sizes.writer_history:,} events ({workers} API worker{'s' if workers > 1 else ''}) ...", flush=True)
            with httpx2.Client(base_url=server.url, headers=headers, timeout=120) as client:
                for i in range(3):
                    created(client.post(f"/v1/treaties/{slugs[i % len(slugs)]}/events", json=statement("warm-up")), "a warm-up write")
                    treaties[slugs[i % len(slugs)]] += 1
                started = time.perf_counter()
                alone = [write(client, slugs[i % len(slugs)], sizes.writers, i, "alone") for i in range(alone_count)]
                alone_seconds = time.perf_counter() - started

            barrier = threading.Barrier(sizes.writers)
            results: list[list[Write]] = [[] for _ in range(sizes.writers)]
            spans: list[tuple[float, float]] = [(0.0, 0.0)] * sizes.writers
            errors: list[BaseException] = []

            def writer(w: int) -> None:
                try:
                    with httpx2.Client(base_url=server.url, headers=headers, timeout=120) as client:
                        client.get("/healthz")  # connected before the start
                        barrier.wait(timeout=60)
                        began = time.perf_counter()
                        for j in range(sizes.writes_per_writer):
                            results[w].append(write(client, slugs[w % len(slugs)], w, j, "together"))
                        spans[w] = (began, time.perf_counter())
                except BaseException as error:  # noqa: BLE001 - reported below
                    errors.append(error)
                    barrier.abort()

            threads = [threading.Thread(target=writer, args=(w,)) for w in range(sizes.writers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            if errors:
                raise CheckFailed(f"a writer failed: {errors[0]!r}")
            together = [w for mine in results for w in mine]
            wall = max(end for _, end in spans) - min(began for began, _ in spans)
            with httpx2.Client(base_url=server.url, timeout=120) as client:
                problems = check_writes(client, [*alone, *together], treaties)
            five = sum(1 for w in [*alone, *together] if w.status >= 500)
            if five:
                print(f"  the server's log ends:\n{server.tail()}")
    ok_together = sum(1 for w in together if w.status == 201)
    rate, alone_rate = ok_together / wall, sum(1 for w in alone if w.status == 201) / alone_seconds
    latencies, alone_latencies = [w.seconds for w in together], [w.seconds for w in alone]
    print(f"  {sizes.writers} writers: p50 {ms(statistics.median(latencies))}, p99 {ms(percentile(latencies, 0.99))}, "
          f"{ok_together}/{len(together)} created in {wall:.1f} s; alone: p50 {ms(statistics.median(alone_latencies))}")
    label = f"{backend}, {workers} worker{'s' if workers > 1 else ''}"
    outcomes = [
        show(Outcome("5 16 writers rate", backend, f"{sizes.writers} writers ({label}): {rate:,.0f} events/s", f"one writer alone: {alone_rate:,.0f} events/s",
                     f"{rate / alone_rate:.2f}x", "-", None)),
        show(Outcome("5 16 writers p99", backend, f"{sizes.writers} writers: p99 {ms(percentile(latencies, 0.99))}",
                     f"one writer alone: p99 {ms(percentile(alone_latencies, 0.99))}",
                     f"{percentile(latencies, 0.99) / percentile(alone_latencies, 0.99):.2f}x", "-", None)),
    ]
    checks = "each write stored once by id, sequences gap-free, verify ok, no 5xx"
    outcomes.append(show(Outcome("5 checks", backend, f"{len(alone) + len(together)} writes, {five} 5xx", checks, "-",
                                 "all hold", not problems)))
    for problem in problems:
        print(f"  CHECK FAILED: {problem}")
    return outcomes


# -- main -------------------------------------------------------------------------------------------


def machine() -> str:
    return (f"machine: {platform.node()} {platform.platform()} ({platform.machine()}), {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")


def postgres_version() -> str:
    try:
        with psycopg.connect(POSTGRES, connect_timeout=5) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return f"PostgreSQL {row[0] if row else '?'}"
    except psycopg.Error as error:
        return f"PostgreSQL at {POSTGRES} does not answer: {error}"


def print_run(backends: Sequence[str], sizes: str) -> None:
    """What a run measures on: the machine, the stores, the sizes, and the reference loop at the start."""
    print(machine())
    if "postgres" in backends:
        print(f"store: {postgres_version()} at {parse_database_url(POSTGRES).redacted()}; SQLite {sqlite3.sqlite_version}")
    print(f"sizes: {sizes}")
    print(f"reference loop (sum of 1,000,000 squares): {reference_loop_ms():.1f} ms at start", flush=True)


def print_summary(outcomes: list[Outcome]) -> None:
    header = ("target", "backend", "figure", "floor", "ratio", "goal", "verdict")
    rows = [header, *((o.item, o.backend, o.figure, o.floor, o.ratio, o.goal, o.verdict) for o in outcomes)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    print("\nsummary")
    for n, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * width for width in widths))


def failure(item: str, backend: str, error: BaseException) -> Outcome:
    if not isinstance(error, CheckFailed):
        traceback.print_exception(error)
    reason = " ".join(str(error).split())[:200] or type(error).__name__
    print(f"  [{item}] FAILED: {type(error).__name__}: {reason}", flush=True)
    return Outcome(item, backend, f"FAILED: {type(error).__name__}: {reason}", "-", "-", "-", False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test (figures not comparable with a full run)")
    parser.add_argument("--import-sizes", type=int, nargs=2, metavar=("SMALL", "LARGE"), help=f"events per imported treaty (default {FULL.import_sizes})")
    parser.add_argument("--small-imports", type=int, metavar="N", help=f"imports of the small size, the median taken (default {FULL.small_imports})")
    parser.add_argument("--http-sizes", type=int, nargs=2, metavar=("SMALL", "LARGE"), help=f"events of the treaties written to over HTTP (default {FULL.http_sizes})")
    parser.add_argument("--http-writes", type=int, metavar="N", help=f"timed writes to each (default {FULL.http_writes})")
    parser.add_argument("--rebuild-sizes", type=int, nargs="+", metavar="N", help=f"ledgers rebuilt and queried (default {FULL.rebuild_sizes}; 1000000 allowed)")
    parser.add_argument("--queries", type=int, metavar="N", help=f"membership queries per ledger (default {FULL.queries})")
    parser.add_argument("--writers", type=int, metavar="N", help=f"concurrent HTTP writers (default {FULL.writers})")
    parser.add_argument("--writer-treaties", type=int, metavar="N", help=f"treaties they write to (default {FULL.writer_treaties})")
    parser.add_argument("--writes-per-writer", type=int, metavar="N", help=f"(default {FULL.writes_per_writer})")
    parser.add_argument("--writer-history", type=int, metavar="N", help=f"events each of those treaties holds before (default {FULL.writer_history})")
    parser.add_argument("--only", nargs="+", choices=["1/2", "3/4", "5"], help="run only these parts (default: all)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    overrides: dict[str, Any] = {}
    for name in ("import_sizes", "small_imports", "http_sizes", "http_writes", "rebuild_sizes", "queries",
                 "writers", "writer_treaties", "writes_per_writer", "writer_history"):
        value = getattr(args, name)
        if value is not None:
            overrides[name] = tuple(value) if isinstance(value, list) else value
    sizes = replace(sizes, **overrides)
    if len(sizes.rebuild_sizes) > 1 and sorted(sizes.rebuild_sizes) != list(sizes.rebuild_sizes):
        parser.error("--rebuild-sizes go from the smallest to the largest")

    print_run(args.backends, f"{'quick' if args.quick else 'full'}: {sizes}")
    rng = random.Random(args.seed)
    outcomes: list[Outcome] = []
    folder = Path(tempfile.mkdtemp(prefix="treaty-write-path-"))
    try:
        for backend in args.backends:
            for title, item, run in (("1, 2: import, one HTTP write", "1/2", imports_and_one_write),
                                     ("3, 4: rebuild, as-of latency", "3/4", rebuilds_and_asof),
                                     ("5: concurrent HTTP writers", "5", concurrent_writers)):
                if args.only and item not in args.only:
                    continue
                print(f"\n== {backend}: {title} ({datetime.now(UTC):%H:%M:%S} UTC)", flush=True)
                part = folder / f"{backend}-{item.replace('/', '-')}"
                part.mkdir()
                try:
                    outcomes += run(backend, part, sizes, rng)
                except Exception as error:  # noqa: BLE001 - reported, and the other measurements go on
                    outcomes.append(failure(item, backend, error))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\nreference loop: {reference_loop_ms():.1f} ms at end ({datetime.now(UTC):%H:%M} UTC)")
    print_summary(outcomes)
    failed = [o for o in outcomes if (o.item == "5 checks" and not o.met) or o.figure.startswith("FAILED")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
