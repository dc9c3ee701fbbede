"""The command line's shared parts: the app, consoles, the --database option, opening the store."""


from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TextIO

import psycopg
import typer
from eventsourcing.persistence import OperationalError as EventsourcingOperationalError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from typer._click import Context, Parameter  # the click that this Typer vendors (its commands are not click.Command)
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from treaty_ledger.bootstrap import Services, open_ledger, open_services
from treaty_ledger.domain.checkpoints import NoteVerifier
from treaty_ledger.domain.errors import LedgerError
from treaty_ledger.domain.ledger import Ledger
from treaty_ledger.store.projection import APPLICATION_NAME


class _ArgumentHelp(TyperArgument):
    """An argument that ``--help`` shows by its name (``TREATY``), not by its Python type (``<str>``)."""

    def display_type_rich(self, ctx: Context) -> str | None:
        """No type column: the name says what to give."""
        return None


class _OptionHelp(TyperOption):
    """An option that ``--help`` shows as a bare flag (``--json``) or with its metavar (``--as-of DATE``)."""

    def display_type_rich(self, ctx: Context) -> str | None:
        """Nothing for a flag; else the metavar, or the option's name in capitals."""
        if self.is_flag:
            return None
        return self.metavar or (self.name or "value").upper()


def _help_shows_values(params: list[Parameter]) -> list[Parameter]:
    """``params``, shown in ``--help`` as a user types them rather than as Typer's ``<bool>``, ``<str>``, ``<int range>``."""
    for param in params:
        if type(param) is TyperArgument:
            param.__class__ = _ArgumentHelp
            param.metavar = param.metavar or (param.name or "value").upper()
        elif type(param) is TyperOption:
            param.__class__ = _OptionHelp
    return params


class LedgerCommand(TyperCommand):
    """A command whose ``--help`` shows flags as flags and values by their metavars."""

    def get_params(self, ctx: Context) -> list[Parameter]:
        """The parameters, ``--help`` included, shown as a user types them."""
        return _help_shows_values(super().get_params(ctx))


class LedgerGroup(TyperGroup):
    """A group of commands whose ``--help`` shows flags as flags and values by their metavars."""

    def get_params(self, ctx: Context) -> list[Parameter]:
        """The parameters, ``--help`` included, shown as a user types them."""
        return _help_shows_values(super().get_params(ctx))


class LedgerTyper(typer.Typer):
    """A Typer app whose groups and commands are :class:`LedgerGroup` and :class:`LedgerCommand`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cls=LedgerGroup, **kwargs)

    def command(self, name: str | None = None, *, cls: type[TyperCommand] | None = None,
                **kwargs: Any) -> Callable[[typer.models.CommandFunctionType], typer.models.CommandFunctionType]:
        """Register a command, a :class:`LedgerCommand` unless ``cls`` says otherwise."""
        return super().command(name, cls=cls or LedgerCommand, **kwargs)


app = LedgerTyper(
    name="treaty-ledger",
    help="An event-sourced, tamper-evident ledger of treaty status.",
    no_args_is_help=True,
    add_completion=False,
)
PIPED_WIDTH = 200
"""The width tables are laid out to when the output is not a terminal and ``COLUMNS`` is unset (rich's default, 80,
wrapped the treaties' titles over several lines in a file or a pipe)."""


def _width(stream: TextIO | None) -> int | None:
    """``None`` (the terminal's width, or ``COLUMNS``) unless ``stream`` is piped with no ``COLUMNS`` set: then :data:`PIPED_WIDTH`.

    (``stream`` is ``None`` when the process was started with it closed: rich then writes nowhere, at any width.)
    """
    return None if os.environ.get("COLUMNS") or stream is None or stream.isatty() else PIPED_WIDTH


console = Console(soft_wrap=True, width=_width(sys.stdout))  # piped output keeps its lines whole
errors = Console(stderr=True, soft_wrap=True, width=_width(sys.stderr))

DatabaseOption = Annotated[
    str,
    typer.Option(
        "--database",
        metavar="URL",
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
    except (psycopg.OperationalError, EventsourcingOperationalError) as error:  # the server does not answer, or refuses us
        reason = " ".join(str(error).split()) or type(error).__name__
        errors.print(f"[red]error:[/red] cannot reach the database: {reason}")
        raise typer.Exit(2) from None


def open_ledger_or_exit(database: str) -> Ledger:
    """The ledger in ``database``, or exit 2 with the reason."""
    with exit_on_ledger_error():
        return open_ledger(database)


def read_verifier(key: str) -> NoteVerifier:
    """A public key given on the command line: the verifier key itself, or a file holding it."""
    path = Path(key)
    text = path.read_text(encoding="utf-8") if "+" not in key and path.is_file() else key
    return NoteVerifier.parse(text)


def open_services_or_exit(database: str) -> Services:
    """The ledger and its views in ``database`` (not yet caught up), or exit 2 with the reason."""
    with exit_on_ledger_error():
        return open_services(database, catch_up=False)


def catch_up_with_progress(services: Services, *, label: str, rebuild: bool = False, workers: int | None = None) -> int:
    """Catch the views up (or, with ``rebuild``, build them afresh), then the Merkle tree, with progress bars over the events to apply."""
    applied = _views_with_progress(services, label=label, rebuild=rebuild, workers=workers)
    _tree_with_progress(services)
    return applied


_TREE_BAR_FROM = 5000
"""Events below which the tree's catch-up shows no bar (a fraction of a second)."""


def _progress(*, disable: bool = False) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("events"),
        TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), console=errors, transient=False, disable=disable,
    )


def _tree_with_progress(services: Services) -> int:
    tracked = services.tree.standing().tracking or 0
    total = max((services.ledger.recorder.max_notification_id() or 0) - tracked, 0)
    if total < _TREE_BAR_FROM:
        return services.tree.catch_up(services.ledger)
    with _progress() as progress:
        task = progress.add_task("Merkle tree", total=total)
        return services.tree.catch_up(services.ledger, progress=lambda n: progress.advance(task, n))


def _views_with_progress(services: Services, *, label: str, rebuild: bool, workers: int | None) -> int:
    tracked = 0 if rebuild else services.view.max_tracking_id(APPLICATION_NAME) or 0
    total = max((services.ledger.recorder.max_notification_id() or 0) - tracked, 0)
    with _progress(disable=total == 0) as progress:
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

