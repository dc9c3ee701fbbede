"""The ``treaty-ledger`` command line.

The store comes from ``--database`` or ``TREATY_LEDGER_DATABASE`` (default: a SQLite file
``treaty-ledger.db`` in the working directory).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console

from domain.errors import LedgerError
from domain.ledger import Ledger
from projections.bootstrap import open_ledger
from projections.store import DEFAULT_DATABASE, parse_database_url

__all__ = ["app", "main"]

app = typer.Typer(
    name="treaty-ledger",
    help="An event-sourced, tamper-evident ledger of treaty status.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
errors = Console(stderr=True)

DatabaseOption = Annotated[
    str,
    typer.Option(
        "--database",
        envvar="TREATY_LEDGER_DATABASE",
        help="sqlite:///path/to/file.db or postgresql://user:password@host:port/dbname",
        show_default=True,
    ),
]


def _open(database: str) -> Ledger:
    try:
        return open_ledger(database)
    except LedgerError as error:
        errors.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None


@app.command()
def init(database: DatabaseOption = DEFAULT_DATABASE) -> None:
    """Create the store: tables, and triggers that refuse changes to recorded events."""
    ledger = _open(database)
    try:
        treaties = ledger.list_treaties()
    finally:
        ledger.close()
    console.print(f"store ready: {parse_database_url(database).redacted()} ({len(treaties)} treaties)")


@app.command()
def verify(
    treaty: Annotated[str | None, typer.Argument(help="Verify one treaty's chain (default: the whole ledger).")] = None,
    database: DatabaseOption = DEFAULT_DATABASE,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Recompute the hash chains; exit 0 when every chain holds, 1 naming the first bad event."""
    ledger = _open(database)
    try:
        report = ledger.verify(treaty)
    except LedgerError as error:
        errors.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None
    finally:
        ledger.close()
    if as_json:
        console.print_json(json.dumps(report.to_json()))
    elif report.ok:
        console.print(f"[green]ok[/green]: {report.events_checked} events checked, head {report.head}")
    else:
        bad: dict[str, Any] = report.first_bad or {}
        errors.print(
            f"[red]tampered[/red]: treaty {bad.get('treaty')}, event {bad.get('id', '?')} "
            f"(sequence {bad.get('sequence')}): {bad.get('reason')}"
        )
    if not report.ok:
        raise typer.Exit(1)


def main() -> None:
    """Run the command line."""
    app()
