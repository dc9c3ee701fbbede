"""The benchmark script runs as the README documents it (on small sizes: no figures are checked)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest

from tests.conftest import postgres_base_url, require_postgres

ROOT = Path(__file__).resolve().parents[2]


def run_benchmark(*options: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "asof_benchmark.py"), "--sizes", "1000", "3000", "--queries", "20", *options],
        capture_output=True, text=True, timeout=300, check=False, env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize("workers", ["0", "2"])
def test_the_benchmark_prints_a_row_per_size_and_the_latency_ratio_on_sqlite(workers: str, tmp_path: Path) -> None:
    result = run_benchmark("--backends", "sqlite", "--workers", workers, env={"TMPDIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == []  # its SQLite files are removed
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("sqlite ")]
    assert [row[1] for row in rows] == ["1,002", "3,006"]
    assert all(float(row[-2].replace(",", "")) > 0 for row in rows)  # rebuild events per second
    assert [row[-1] for row in rows] == [workers, workers]  # worker processes the rebuild used
    assert "sqlite: view p50 at 3,006 events is" in result.stdout
    verdicts = [line for line in result.stdout.splitlines() if line.startswith("sqlite: rebuild of")]
    assert verdicts[0].startswith("sqlite: rebuild of 1,002 events at") and "not held to the target" in verdicts[0]
    assert verdicts[1].startswith("sqlite: rebuild of 3,006 events at") and "(target >= 20,000: " in verdicts[1]
    assert result.stdout.count("reference loop") == 2  # the machine's speed at start and at end


def test_by_default_the_benchmark_rebuilds_short_histories_in_process() -> None:
    result = run_benchmark("--backends", "sqlite")
    assert result.returncode == 0, result.stderr
    assert [line.split()[-1] for line in result.stdout.splitlines() if line.startswith("sqlite ")] == ["0", "0"]


def schemas_named(prefix: str) -> set[str]:
    with psycopg.connect(postgres_base_url()) as conn:
        return {name for (name,) in conn.execute("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", (prefix,))}


@pytest.mark.postgres
def test_the_benchmark_runs_on_postgresql_and_drops_its_schemas() -> None:
    require_postgres()
    prefix = f"bench_{uuid4().hex[:8]}_"  # this run's own: other runs on the shared server make theirs meanwhile
    result = run_benchmark("--backends", "postgres", "--workers", "2",
                           env={"TREATY_LEDGER_BENCH_POSTGRES": postgres_base_url(), "TREATY_LEDGER_BENCH_SCHEMA_PREFIX": prefix})
    assert result.returncode == 0, result.stderr
    assert [line.split()[1] for line in result.stdout.splitlines() if line.startswith("postgres ")] == ["1,002", "3,006"]
    assert schemas_named(prefix) == set()
