"""The ``treaty-ledger`` command line.

The store comes from ``--database`` or ``TREATY_LEDGER_DATABASE`` (default: a SQLite file
``treaty-ledger.db`` in the working directory).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
import time
from datetime import date, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
import uvicorn

from eventsourcing.projection import ProjectionRunner
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from domain.dates import parse_date, parse_timestamp
from domain.errors import LedgerError
from domain.ledger import Ledger
from domain.states import normalise_state, state_name
from projections.access import KeyStore
from projections.dataset import export_lines, import_file
from projections.bootstrap import Services, open_ledger, open_services, view_env
from projections.projection import APPLICATION_NAME, LedgerProjection
from projections.replay import compliance_by_replay, membership_by_replay, state_by_replay
from projections.store import DEFAULT_DATABASE, parse_database_url, startup_lock
from projections.views import PostgresLedgerView

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


def _services(database: str) -> Services:
    try:
        return open_services(database, catch_up=False)
    except LedgerError as error:
        errors.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None


def _catch_up(services: Services, *, label: str) -> int:
    """Catch the views up, with a progress bar over the events still to apply."""
    tracked = services.read.view.max_tracking_id(APPLICATION_NAME) or 0
    total = max((services.ledger.recorder.max_notification_id() or 0) - tracked, 0)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("events"),
        TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), console=errors, transient=False, disable=total == 0,
    ) as progress:
        task = progress.add_task(label, total=total)
        return services.read.projection.catch_up(services.ledger, progress=lambda n: progress.advance(task, n))


@app.command()
def rebuild(database: DatabaseOption = DEFAULT_DATABASE) -> None:
    """Drop the materialized views and rebuild them from the whole history."""
    services = _services(database)
    try:
        started = time.perf_counter()
        services.read.view.drop_views()
        services.read.projection.reset()
        applied = _catch_up(services, label="rebuilding views")
        elapsed = time.perf_counter() - started
        rate = applied / elapsed if elapsed else 0.0
        console.print(f"rebuilt the views from {applied} events in {elapsed:.1f} s ({rate:,.0f} events/s)")
    finally:
        services.close()


@app.command()
def project(
    database: DatabaseOption = DEFAULT_DATABASE,
    poll_interval: Annotated[float, typer.Option(help="On SQLite (no subscriptions), seconds between polls.")] = 1.0,
) -> None:
    """Keep the materialized views up to date, until interrupted (the projection worker).

    On PostgreSQL this runs eventsourcing's ProjectionRunner on a LISTEN/NOTIFY subscription;
    on SQLite, which offers no subscription, it polls.
    """
    services = _services(database)
    _catch_up(services, label="catching up")
    url = services.database
    console.print(f"projection worker following {url.redacted()} (Ctrl-C to stop)")
    try:
        if url.is_postgres:
            with startup_lock(url):
                runner = ProjectionRunner(
                    application_class=Ledger, projection_class=LedgerProjection, view_class=PostgresLedgerView, env=view_env(url)
                )
            with runner:
                runner.run_forever()
        else:
            while True:
                services.read.refresh()
                time.sleep(poll_interval)
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        services.close()


@app.command()
def replay(
    treaty: Annotated[str, typer.Argument(help="The treaty id, e.g. open-skies.")],
    as_of: Annotated[str, typer.Option("--as-of", help="Effective date YYYY-MM-DD (default: today).")] = "",
    known_at: Annotated[str | None, typer.Option("--known-at", help="Answer as the ledger knew it at this ISO 8601 time.")] = None,
    what: Annotated[str, typer.Option(help="membership, compliance, or a state code for one state.")] = "membership",
    database: DatabaseOption = DEFAULT_DATABASE,
) -> None:
    """Answer by folding the recorded events afresh (no views): the reference answer, as JSON."""
    ledger = _open(database)
    try:
        day = parse_date(as_of, field="as_of") if as_of else date.today()
        moment = parse_timestamp(known_at, field="known_at") if known_at else None
        aggregate = ledger.treaty(treaty)
        records = list(aggregate.records)
        if what == "membership":
            answer = membership_by_replay(aggregate.slug, aggregate.rules, records, day, moment)
        elif what == "compliance":
            answer = compliance_by_replay(aggregate.slug, aggregate.rules, records, day, moment)
        else:
            answer = state_by_replay(aggregate.slug, aggregate.rules, records, normalise_state(what, field="what"), day, moment)
    except LedgerError as error:
        errors.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None
    finally:
        ledger.close()
    console.print_json(json.dumps(answer))


keys_app = typer.Typer(help="API keys: create, list, revoke. Only hashes are stored.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="Who or what the key is for.")],
    role: Annotated[str, typer.Option(help="reader, writer or admin.")] = "writer",
    database: DatabaseOption = DEFAULT_DATABASE,
) -> None:
    """Create a key and print its secret, once, on its own line (it cannot be shown again)."""
    services = _services(database)
    try:
        key, secret = KeyStore(services.read.view).create(name, role)
    except LedgerError as error:
        errors.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None
    finally:
        services.close()
    errors.print(f"created key {key.id} ({key.name}, {key.role}); the secret below is shown once:")
    print(secret)


@keys_app.command("list")
def keys_list(database: DatabaseOption = DEFAULT_DATABASE) -> None:
    """List keys (never their secrets)."""
    services = _services(database)
    try:
        keys = KeyStore(services.read.view).list()
    finally:
        services.close()
    table = Table("id", "name", "role", "created", "revoked")
    for key in keys:
        table.add_row(key.id, key.name, key.role, key.created_at.isoformat(timespec="seconds"),
                      key.revoked_at.isoformat(timespec="seconds") if key.revoked_at else "")
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key: Annotated[str, typer.Argument(help="The key's id (or its name, if unique).")], database: DatabaseOption = DEFAULT_DATABASE) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    services = _services(database)
    try:
        revoked = KeyStore(services.read.view).revoke(key)
    except LedgerError as error:
        errors.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None
    finally:
        services.close()
    console.print(f"revoked key {revoked.id} ({revoked.name})")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (use PostgreSQL for more than one).")] = 1,
    database: DatabaseOption = DEFAULT_DATABASE,
) -> None:
    """Serve the HTTP API (docs at /docs) on uvicorn."""
    services = _services(database)  # create the store and catch the views up once, before the workers start
    try:
        _catch_up(services, label="catching up views")
    finally:
        services.close()
    os.environ["TREATY_LEDGER_DATABASE"] = database  # the workers read it when they build the app
    console.print(f"serving {parse_database_url(database).redacted()} on http://{host}:{port} (docs: http://{host}:{port}/docs)")
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="info")


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="A dataset: YAML (data/open-skies.yaml) or JSON Lines from 'export'.")],
    database: DatabaseOption = DEFAULT_DATABASE,
) -> None:
    """Import a treaty's history: the whole file is checked first; re-importing records nothing new."""
    services = _services(database)
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=errors) as progress:
            task = progress.add_task(f"checking {file.name}", total=None)
            report = import_file(services.ledger, file, progress=lambda done, total: progress.update(task, completed=done, total=total))
        _catch_up(services, label="updating views")
    except LedgerError as error:
        errors.print(f"[red]error:[/red] {error}\nnothing was recorded")
        raise typer.Exit(2) from None
    finally:
        services.close()
    action = "registered" if report.registered else "found"
    console.print(f"{action} {report.treaty}: recorded {report.recorded} events, {report.already_there} already recorded")


@app.command()
def export(
    treaty: Annotated[str, typer.Argument(help="The treaty id.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (default: standard output).")] = None,
    database: DatabaseOption = DEFAULT_DATABASE,
) -> None:
    """Export a treaty's full history as JSON Lines, with recorded times, sequences and hashes."""
    ledger = _open(database)
    try:
        lines = list(export_lines(ledger, treaty))
    except LedgerError as error:
        errors.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None
    finally:
        ledger.close()
    text = "\n".join(lines) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        errors.print(f"wrote {len(lines) - 1} events of {treaty} to {output}")


def _query(database: str, ask: Callable[[Services], dict[str, Any]]) -> dict[str, Any]:
    services = _services(database)
    try:
        services.read.refresh()
        return ask(services)
    except LedgerError as error:
        errors.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None
    finally:
        services.close()


def _day(value: str | None, field: str = "as_of") -> date:
    return parse_date(value, field=field) if value else date.today()


def _moment(value: str | None) -> datetime | None:
    return parse_timestamp(value, field="known_at") if value else None


AsOfOption = Annotated[str | None, typer.Option("--as-of", help="Effective date YYYY-MM-DD (default: today).")]
KnownAtOption = Annotated[str | None, typer.Option("--known-at", help="Answer as the ledger knew it at this ISO 8601 time.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the JSON the API returns.")]


@app.command()
def membership(treaty: str, as_of: AsOfOption = None, known_at: KnownAtOption = None, as_json: JsonOption = False,
               database: DatabaseOption = DEFAULT_DATABASE) -> None:
    """Who is a party, signatory, contracting, withdrawing or withdrawn on a date."""
    answer = _query(database, lambda s: s.read.membership_as_of(treaty, _day(as_of), _moment(known_at)))
    if as_json:
        console.print_json(json.dumps(answer))
        return
    status = "in force" if answer["in_force"] else answer["phase"].replace("_", " ")
    console.print(f"[bold]{answer['treaty']}[/bold] as of {answer['as_of']}: {status}, {len(answer['parties'])} States Parties")
    table = Table("state", "name", "status", "since / notice", "effective")
    standing = {w["state"]: w for w in answer["withdrawing"]}
    for code in answer["parties"]:
        w = standing.get(code)
        table.add_row(code, state_name(code), "withdrawing" if w else "party", w["notified_on"] if w else "", w["effective_on"] if w else "")
    for item in answer["contracting"]:
        table.add_row(item["state"], state_name(item["state"]), "contracting", item["deposited_on"], item.get("party_from") or "")
    for code in answer["signatories"]:
        table.add_row(code, state_name(code), "signatory", "", "")
    for item in answer["withdrawn"]:
        table.add_row(item["state"], state_name(item["state"]), "withdrawn", item["notified_on"], item["effective_on"])
    console.print(table)
    console.print(f"rests on {len(answer['events'])} events (--json lists their ids)")


@app.command()
def state(treaty: str, code: Annotated[str, typer.Argument(metavar="STATE", help="A state code or English name.")],
          as_of: AsOfOption = None, known_at: KnownAtOption = None, as_json: JsonOption = False,
          database: DatabaseOption = DEFAULT_DATABASE) -> None:
    """One state's status on a date, and the events behind it."""
    answer = _query(database, lambda s: s.read.state_as_of(treaty, code, _day(as_of), _moment(known_at)))
    if as_json:
        console.print_json(json.dumps(answer))
        return
    console.print(f"{answer['state']} ({state_name(answer['state'])}) in {answer['treaty']} as of {answer['as_of']}: "
                  f"[bold]{answer['status']}[/bold] since {answer['since']}"
                  + (f", effective {answer['effective_on']}" if answer.get("effective_on") else ""))
    console.print(f"events: {', '.join(answer['events'])}")


@app.command()
def compliance(treaty: str, as_of: AsOfOption = None, known_at: KnownAtOption = None, as_json: JsonOption = False,
               database: DatabaseOption = DEFAULT_DATABASE) -> None:
    """Restrictions in force, allegations and their standing, denied flights on a date."""
    answer = _query(database, lambda s: s.read.compliance_as_of(treaty, _day(as_of), _moment(known_at)))
    if as_json:
        console.print_json(json.dumps(answer))
        return
    console.print(f"[bold]{answer['treaty']}[/bold] compliance as of {answer['as_of']}")
    table = Table("by", "area", "kind", "detail", "towards", "since", title="restrictions in force")
    for r in answer["restrictions"]:
        table.add_row(r["state"], r["area"], r["kind"], r["detail"], ", ".join(r["towards"]) or "all", r["since"])
    console.print(table)
    table = Table("made", "accuser", "accused", "standing", "subject", title="allegations")
    for a in answer["allegations"]:
        table.add_row(a["made_on"], a["accuser"], a["accused"], a["standing"], a["subject"])
    console.print(table)
    table = Table("denied", "host", "observers", "offered", "refused by", "reason", title="denied flights")
    for f in answer["denied_flights"]:
        refused = sorted({s for r in f["alternative_timeframes_refused"] for s in r["observers"]})
        table.add_row(f["denied_on"], f["host"], ", ".join(f["observers"]), str(len(f["alternative_timeframes_offered"])),
                      ", ".join(refused), f["reason"])
    console.print(table)


@app.command()
def changes(treaty: str, from_: Annotated[str, typer.Option("--from", help="Start date (exclusive).")],
            to: Annotated[str, typer.Option("--to", help="End date (inclusive).")], known_at: KnownAtOption = None,
            as_json: JsonOption = False, database: DatabaseOption = DEFAULT_DATABASE) -> None:
    """What changed between two dates, and the events behind it."""
    answer = _query(database, lambda s: s.read.changes_between(treaty, _day(from_, "from"), _day(to, "to"), _moment(known_at)))
    if as_json:
        console.print_json(json.dumps(answer))
        return
    console.print(f"[bold]{answer['treaty']}[/bold] from {answer['from']} to {answer['to']}: "
                  f"joined {', '.join(answer['joined']) or 'none'}; left {', '.join(answer['left']) or 'none'}")
    for change in answer["status_changes"]:
        console.print(f"  {change['state']}: {change['from']} -> {change['to']} (since {change['since']})")
    console.print(f"  {len(answer['started'])} restrictions or suspensions started, {len(answer['ended'])} ended; "
                  f"{len(answer['allegations_made'])} allegations made; {len(answer['events'])} events in between")


@app.command()
def events(treaty: str, state: Annotated[str | None, typer.Option(help="Only this state's events.")] = None,
           type_: Annotated[list[str] | None, typer.Option("--type", help="Only these event types (repeatable).")] = None,
           known_at: KnownAtOption = None, limit: Annotated[int, typer.Option(min=1)] = 1000,
           as_json: JsonOption = False, database: DatabaseOption = DEFAULT_DATABASE) -> None:
    """The audit history in recorded order."""
    answer = _query(database, lambda s: {"treaty": treaty, "events": [r.to_json() for r in s.read.events(
        treaty, state=state, types=type_, known_at=_moment(known_at), limit=limit).events]})
    if as_json:
        console.print_json(json.dumps(answer))
        return
    table = Table("seq", "date", "type", "state", "source", "id")
    for e in answer["events"]:
        source = e["source"].get("title") or e["source"].get("url") or ""
        table.add_row(str(e["sequence"]), e.get("date") or "", e["type"], e.get("state") or "", source[:50], e["id"])
    console.print(table)


def _dataset(name: str) -> Path:
    for base in (Path(__file__).resolve().parents[1] / "data", Path.cwd() / "data"):
        if (base / name).exists():
            return base / name
    raise typer.BadParameter(f"cannot find data/{name}")


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    database: DatabaseOption = DEFAULT_DATABASE,
) -> None:
    """The main job: the Open Skies Treaty in a local store, served on http://127.0.0.1:8000."""
    services = _services(database)
    try:
        if services.read.view.treaty_row("open-skies") is None:
            console.print("importing the Open Skies Treaty dataset ...")
            report = import_file(services.ledger, _dataset("open-skies.yaml"))
            console.print(f"recorded {report.recorded} events")
        _catch_up(services, label="updating views")
    except LedgerError as error:
        errors.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None
    finally:
        services.close()
    base = f"http://{host}:{port}"
    print(f"""
Treaty Ledger is serving the Open Skies Treaty from {parse_database_url(database).redacted()}

  API docs:   {base}/docs
  Try:
    curl '{base}/v1/treaties/open-skies/membership?as_of=2002-01-01'
    curl '{base}/v1/treaties/open-skies/membership?as_of=2020-06-01'
    curl '{base}/v1/treaties/open-skies/states/USA?as_of=2020-11-22'
    curl '{base}/v1/treaties/open-skies/compliance?as_of=2019-10-01'
    curl '{base}/v1/treaties/open-skies/changes?from=2020-01-01&to=2021-12-31'
    curl '{base}/v1/verify'
  Record events with a key: treaty-ledger keys create --name you --role writer
""", flush=True)
    os.environ["TREATY_LEDGER_DATABASE"] = database
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, log_level="warning")


def main() -> None:
    """Run the command line."""
    app()
