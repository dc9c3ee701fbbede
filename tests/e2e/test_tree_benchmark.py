"""The tree benchmark runs end to end with --quick, printing each figure beside its floor and each target (no timing is checked)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest

from tests.conftest import postgres_base_url, require_postgres
from tests.e2e.benchmark_output import summary_cells

ROOT = Path(__file__).resolve().parents[2]

ITEMS = ["1 inclusion proof p50", "1 consistency proof p50", "2 tree build", "3 write with tree p50"]
"""The summary's rows for one backend, in order."""
GOALS = ["<= 5 ms", "<= 5 ms", "-", "<= 1.1x"]


def run_benchmark(backend: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # fewer samples than --quick's own: the figures are not looked at, only that each is made and printed
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "tree.py"), "--quick", "--events", "5000", "--proofs", "30", "--writes", "10",
         "--backends", backend],
        capture_output=True, text=True, timeout=300, check=False, env={**os.environ, **env},
    )


def check_output(result: subprocess.CompletedProcess[str], backend: str) -> None:
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("machine: "), lines[0]
    assert sum(line.startswith("reference loop") for line in lines) == 2  # the machine's speed at start and at end
    assert "checkpoints signed with " in result.stdout

    measured = [line.strip() for line in lines if line.startswith("  [")]
    assert sorted(line[1:line.index("]")] for line in measured) == sorted(ITEMS)
    for line in measured:
        assert "|  floor: " in line and "|  ratio " in line, line
        assert re.search(r"\d", line.split("|")[0]), line  # a figure, a number
        assert re.search(r"\d", line.split("|")[1]), line  # beside its floor
        if not line.startswith("[2 "):
            assert re.search(r"; target <= [\d.]+ ?(ms|x): (met|NOT met)$", line), line
    assert re.search(r"p50 / p99: inclusion [\d.]+ ms / [\d.]+ ms, consistency [\d.]+ ms / [\d.]+ ms, floor", result.stdout)
    assert re.search(r"p50 / p99: without the tree [\d.]+ ms / [\d.]+ ms, with it [\d.]+ ms / [\d.]+ ms", result.stdout)

    cells = summary_cells(lines)
    assert [row[0] for row in cells] == ITEMS
    assert all(row[1] == backend and len(row) == 7 for row in cells), cells
    assert [row[5] for row in cells] == GOALS
    for row in cells:
        assert float(row[4].rstrip("x")) > 0, row
        assert row[6] in (("-",) if row[5] == "-" else ("met", "NOT met")), row


def test_the_quick_tree_benchmark_prints_each_figure_beside_its_floor_on_sqlite(tmp_path: Path) -> None:
    result = run_benchmark("sqlite", {"TMPDIR": str(tmp_path)})
    check_output(result, "sqlite")
    assert list(tmp_path.iterdir()) == []  # its SQLite file is removed


@pytest.mark.postgres
def test_the_quick_tree_benchmark_runs_on_postgresql_and_drops_its_schema() -> None:
    require_postgres()
    prefix = f"bench_{uuid4().hex[:8]}_"  # this run's own: other runs on the shared server make theirs meanwhile
    result = run_benchmark("postgres", {"TREATY_LEDGER_BENCH_POSTGRES": postgres_base_url(), "TREATY_LEDGER_BENCH_SCHEMA_PREFIX": prefix})
    check_output(result, "postgres")
    with psycopg.connect(postgres_base_url()) as conn:
        left = conn.execute("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", (prefix,)).fetchall()
    assert left == []
