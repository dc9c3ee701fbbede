"""The command line's defaults and progress: today is the UTC date, as in the API; import counts what it checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from treaty_ledger.api.routers.params import as_of_date
from treaty_ledger.cli.commands import app

ROOT = Path(__file__).resolve().parents[2]

DATASET = Path(__file__).resolve().parents[2] / "data" / "open-skies.yaml"
runner = CliRunner()


@pytest.fixture
def local_date_is_not_the_utc_date(monkeypatch: pytest.MonkeyPatch) -> Iterator[date]:
    """A local time zone in which today is another day than in UTC, whatever the hour; yields the UTC date."""
    now = datetime.now(UTC)
    monkeypatch.setenv("TZ", "Etc/GMT-14" if now.hour >= 12 else "Etc/GMT+12")  # UTC+14 after noon, UTC-12 before
    time.tzset()
    assert date.today() != datetime.now(UTC).date()
    yield datetime.now(UTC).date()
    monkeypatch.undo()
    time.tzset()


def test_the_cli_and_the_api_take_the_utc_date_as_today(local_date_is_not_the_utc_date: date, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    assert runner.invoke(app, ["import", str(DATASET), "--database", url]).exit_code == 0
    result = runner.invoke(app, ["membership", "open-skies", "--json", "--database", url])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["as_of"] == local_date_is_not_the_utc_date.isoformat()
    assert as_of_date(None) == local_date_is_not_the_utc_date


def test_import_counts_what_it_checks_and_never_shows_an_unknown_total(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    first = runner.invoke(app, ["import", str(DATASET), "--database", url])
    assert first.exit_code == 0, first.output
    assert "98/98" in first.output
    again = runner.invoke(app, ["import", str(DATASET), "--database", url])
    assert again.exit_code == 0, again.output
    assert "/?" not in again.output
    assert "recorded 0 events, 98 already recorded" in again.output


@pytest.mark.parametrize("closed", ["stdout", "stderr"])
def test_the_cli_runs_with_its_output_closed_as_a_service_manager_may_start_it(tmp_path: Path, closed: str) -> None:
    database = f"sqlite:///{tmp_path / 'ledger.db'}"
    kept = "stderr" if closed == "stdout" else "stdout"
    done = subprocess.run([sys.executable, "-m", "treaty_ledger.cli", "init", "--database", database],
                          **{closed: subprocess.DEVNULL, kept: subprocess.PIPE}, check=False, timeout=60,
                          env={name: value for name, value in os.environ.items() if name != "COLUMNS"},
                          preexec_fn=lambda: os.close(1 if closed == "stdout" else 2))
    assert done.returncode == 0, getattr(done, kept)


def test_piped_tables_are_laid_out_wide_unless_columns_is_set(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'ledger.db'}"
    command = [sys.executable, "-m", "treaty_ledger.cli", "import", "data/rome-statute.yaml", "--database", database]
    subprocess.run(command, check=True, capture_output=True, timeout=120, cwd=ROOT)
    across = [sys.executable, "-m", "treaty_ledger.cli", "state-across", "GRC", "--as-of", "2024-01-01", "--database", database]
    piped = subprocess.run(across, check=True, capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": ""})
    title = next(line for line in piped.stdout.splitlines() if "rome-statute" in line)
    assert "Rome Statute of the International Criminal Court" in title and len(title) > 80
    narrow = subprocess.run(across, check=True, capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "60"})
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 60
