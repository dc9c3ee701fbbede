"""The command line's shared parts: the app, consoles, the --database option, opening the store."""


from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from treaty_ledger.bootstrap import Services, open_ledger, open_services
from treaty_ledger.domain.errors import LedgerError
from treaty_ledger.domain.ledger import Ledger
from treaty_ledger.store.projection import APPLICATION_NAME

app = typer.Typer(
    name="treaty-ledger",
    help="An event-sourced, tamper-evident ledger of treaty status.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(soft_wrap=True)  # piped output keeps its lines whole (tables still fit the width)
errors = Console(stderr=True, soft_wrap=True)

DatabaseOption = Annotated[
    str,
    typer.Option(
        "--database",
        envvar="TREATY_LEDGER_DATABASE",
        help="sqlite:///path/to/file.db or postgresql://user:password@host:port/dbname",
        show_default=True,
    ),
]


@contextmanager
def exit_on_ledger_error(suffix: str = "") -> Iterator[None]:
    """Turn a ledger error into its message on standard error and exit status 2."""
    try:
        yield
    except LedgerError as error:
        errors.print(f"[red]error:[/red] {error}{suffix}")
        raise typer.Exit(2) from None


def open_ledger_or_exit(database: str) -> Ledger:
    """The ledger in ``database``, or exit 2 with the reason."""
    with exit_on_ledger_error():
        return open_ledger(database)


def open_services_or_exit(database: str) -> Services:
    """The ledger and its views in ``database`` (not yet caught up), or exit 2 with the reason."""
    with exit_on_ledger_error():
        return open_services(database, catch_up=False)


def catch_up_with_progress(services: Services, *, label: str, rebuild: bool = False, workers: int | None = None) -> int:
    """Catch the views up (or, with ``rebuild``, build them afresh), with a progress bar over the events to apply."""
    tracked = 0 if rebuild else services.view.max_tracking_id(APPLICATION_NAME) or 0
    total = max((services.ledger.recorder.max_notification_id() or 0) - tracked, 0)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("events"),
        TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), console=errors, transient=False, disable=total == 0,
    ) as progress:
        task = progress.add_task(label, total=total)
        if not rebuild:
            return services.projection.catch_up(services.ledger, progress=lambda n: progress.advance(task, n))
        applied = services.rebuild_views(
            workers=workers,
            progress=lambda n: progress.advance(task, n),
            indexing=lambda: progress.update(task, description=f"{label} (creating indexes)"),
        )
        progress.update(task, description=label)
        return applied

