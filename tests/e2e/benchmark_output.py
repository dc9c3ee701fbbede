"""Reading a benchmark's printed summary table (write_path.py and tree.py print the same one)."""

from __future__ import annotations

import re


def summary_cells(lines: list[str]) -> list[list[str]]:
    """The rows of the table after the ``summary`` line, each split into its cells; its header and rule checked."""
    header, rule, *rows = lines[lines.index("summary") + 1:]
    assert header.split() == ["target", "backend", "figure", "floor", "ratio", "goal", "verdict"]
    assert set(rule.replace(" ", "")) == {"-"}
    return [re.split(r"\s{2,}", row.strip()) for row in rows]
