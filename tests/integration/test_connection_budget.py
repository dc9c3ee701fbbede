"""A connection budget: one process holds at most 4 PostgreSQL connections by default
(``?pool_size=N`` sets it), however many threads write and read at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from uuid import uuid4

import psycopg
import pytest

from tests.conftest import postgres_base_url
from treaty_ledger.bootstrap import open_services
from treaty_ledger.domain.errors import InvalidInput
from treaty_ledger.store.database import DEFAULT_POOL_SIZE, parse_database_url

SOURCE = {"title": "fixture"}
pytestmark = pytest.mark.postgres


@contextmanager
def peak_connections(application_name: str) -> Iterator[Callable[[], int]]:
    """Sample pg_stat_activity for connections named ``application_name`` until the block ends."""
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        with psycopg.connect(postgres_base_url(), autocommit=True, application_name="budget-sampler") as conn:
            while not done.is_set():
                row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (application_name,)).fetchone()
                peak[0] = max(peak[0], int(row[0]) if row else 0)
                time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield lambda: peak[0]
    finally:
        done.set()
        sampler.join(timeout=10)


def hammer(postgres_url: str, monkeypatch: pytest.MonkeyPatch, *, threads: int = 12, seconds: float = 3.0) -> int:
    """Open the services (as a process starting up does), then write and read from ``threads``
    threads at once; return the most connections the process held at any moment."""
    name = f"tl-budget-{uuid4().hex[:8]}"
    monkeypatch.setenv("PGAPPNAME", name)  # libpq names every connection this process opens
    with peak_connections(name) as peak:
        services = open_services(postgres_url)
        try:
            services.register_treaty({"id": "budget", "title": "Budget", "source": SOURCE})
            errors: list[BaseException] = []
            stop = time.monotonic() + seconds

            def work(n: int) -> None:
                try:
                    state = ["FRA", "DEU", "ITA", "ESP", "PRT", "BEL", "NLD", "LUX", "AUT", "POL", "CZE", "SVK"][n % 12]
                    services.record_event("budget", {"type": "signed", "state": state, "date": "2000-01-01", "source": SOURCE})
                    while time.monotonic() < stop:
                        services.read.membership_as_of("budget", date(2001, 1, 1))
                        services.record_event("budget", {"type": "statement", "state": state, "date": "2000-01-02", "summary": "x",
                                                         "source": SOURCE})
                        services.ledger.list_events("budget")
                except BaseException as error:
                    errors.append(error)

            workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            assert not errors, errors
            assert len(services.ledger.list_events("budget")) > threads  # the threads really wrote
        finally:
            services.close()
        time.sleep(0.05)
        return peak()


def test_one_process_holds_at_most_four_connections_while_twelve_threads_write_and_read(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    peak = hammer(postgres_url, monkeypatch)
    assert DEFAULT_POOL_SIZE == 4
    assert 2 <= peak <= 4, peak


def test_the_pool_size_in_the_url_sets_the_budget(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert hammer(f"{postgres_url}&pool_size=3", monkeypatch, threads=6, seconds=2.0) <= 3
    assert parse_database_url(f"{postgres_url}&pool_size=10").pool_sizes() == (3, 6)


@pytest.mark.parametrize("value", ["2", "0", "many", "101"])
def test_a_pool_size_out_of_range_is_a_clear_error(value: str) -> None:
    with pytest.raises(InvalidInput, match="pool_size must be a whole number from 3 to 100"):
        parse_database_url(f"postgresql://postgres@127.0.0.1/test?pool_size={value}")


def test_an_unknown_setting_in_the_url_is_named() -> None:
    with pytest.raises(InvalidInput, match="unknown setting 'poolsize'"):
        parse_database_url("postgresql://postgres@127.0.0.1/test?poolsize=4")
