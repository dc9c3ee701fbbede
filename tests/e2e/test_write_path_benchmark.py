"""The write-path benchmark runs end to end with --quick, printing every figure beside its floor (no timing is checked)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.e2e.benchmark_output import summary_cells

ROOT = Path(__file__).resolve().parents[2]

ITEMS = ["1 import cost/event", "1 import rate", "2 HTTP write p50", "2 HTTP write vs bare", "3 rebuild", "3 rebuild",
         "4 as-of view p50", "5 16 writers rate", "5 16 writers p99", "5 checks"]
"""The summary's rows, in order: one per figure (item 3 once per rebuilt size)."""


def test_the_quick_write_path_benchmark_prints_each_figure_beside_its_floor_on_sqlite(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "write_path.py"), "--quick", "--backends", "sqlite"],
        capture_output=True, text=True, timeout=600, check=False, env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert list(tmp_path.iterdir()) == []  # its SQLite files, datasets and server logs are removed
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"machine: .+ \(.+\), \d+ CPUs, Python 3\.\d+\.\d+, \d{4}-\d\d-\d\d \d\d:\d\d UTC", lines[0]), lines[0]
    assert sum(line.startswith("reference loop") for line in lines) == 2  # the machine's speed at start and at end

    measured = [line.strip() for line in lines if line.startswith("  [")]
    assert [line[1:line.index("]")] for line in measured] == ITEMS
    for line in measured:
        assert "|  floor: " in line and "|  ratio " in line, line
        assert re.search(r"\d", line.split("|")[0]), line  # a figure, a number
        assert re.search(r"\d", line.split("|")[1]), line  # beside its floor

    cells = summary_cells(lines)
    assert [row[0] for row in cells] == ITEMS
    assert all(row[1] == "sqlite" and len(row) == 7 for row in cells), cells
    for row in cells:
        if row[0] == "5 checks":
            assert (row[5], row[6]) == ("all hold", "met"), row  # correctness, not timing: every write stored once, verify ok, no 5xx
        else:
            assert float(row[4].rstrip("x")) > 0, row
            assert row[6] in (("-",) if row[5] == "-" else ("met", "NOT met")), row
    assert [row[5] for row in cells if row[0].startswith(("1 ", "2 ", "3 ", "4 "))] == [
        "<= 1.3x", ">= 0.25", "<= 1.3x", "<= 2x", ">= 0.25", ">= 0.25", "<= 1.2x"]
