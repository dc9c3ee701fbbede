"""``--help`` shows a flag as a flag and a value by what to type (DATE, URL, N), never by a Python type."""

from __future__ import annotations

import re

import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from treaty_ledger.cli.commands import app

runner = CliRunner()


def _command_paths(command: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [path]
    if isinstance(command, TyperGroup):
        for name, sub in sorted(command.commands.items()):
            paths += _command_paths(sub, (*path, name))
    return paths


COMMANDS = _command_paths(typer.main.get_command(app))


def _help(*path: str) -> str:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "treaty-ledger")
def test_help_shows_no_python_types(path: tuple[str, ...]) -> None:
    text = _help(*path)
    assert not re.search(r"<(bool|str|int|float|list|path|int range|float range)[^>]*>", text), text


def test_help_shows_json_as_a_flag_and_dates_by_their_metavar() -> None:
    text = _help("membership")
    json_line = next(line for line in text.splitlines() if "--json" in line)
    assert re.search(r"--json\s+Print the JSON", json_line), json_line
    assert re.search(r"--as-of\s+DATE\s", text)
    assert re.search(r"--database\s+URL\s", text)
    assert "TREATY" in text


def test_a_flag_still_takes_no_value() -> None:
    result = runner.invoke(app, ["membership", "--json", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
