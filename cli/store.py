"""Store commands: init, verify, rebuild, project, replay, import, export."""


from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from treaty_ledger.bootstrap import grant_access, open_projection_runner
from treaty_ledger.cli.base import (
    DatabaseOption,
    app,
    catch_up_with_progress,
    console,
    errors,
    exit_on_ledger_error,
    open_ledger_or_exit,
    open_services_or_exit,
    read_verifier,
)
from treaty_ledger.domain.checkpoints import open_checkpoint
from treaty_ledger.domain.dates import parse_date, parse_timestamp, today
from treaty_ledger.domain.states import normalise_state
from treaty_ledger.projections.replay import (
    compliance_by_replay,
    membership_by_replay,
    state_by_replay,
)
from treaty_ledger.store.database import (
    DEFAULT_DATABASE,
    DatabaseURL,
    parse_database_url,
)
from treaty_ledger.store.datasets import export_lines, import_file
from treaty_ledger.store.projection import LedgerProjection, ViewsMoved
from treaty_ledger.store.signing import kept_checkpoint_path
from treaty_ledger.store.tree_audit import audit_tree


@app.command()
def init(
    database: DatabaseOption = DEFAULT_DATABASE,
    api_role: Annotated[str | None, typer.Option(
        "--api-role", metavar="ROLE", help="PostgreSQL: create (if missing) and grant the role the API and the worker run as: it may insert "
                                           "and read the events, snapshots and Merkle tree, never own them (its password: "
                                           "TREATY_LEDGER_API_PASSWORD).")] = None,
) -> None:
    """Create the store: tables, and triggers that refuse changes to recorded events (and with --api-role, the API's role)."""
    if api_role is not None:
        url = parse_database_url(database)
        if not url.is_postgres:
            errors.print("error: --api-role: SQLite has no roles; a SQLite store is protected by its file's permissions")
            raise typer.Exit(2)
        with exit_on_ledger_error():
            created = grant_access(url, api_role, os.environ.get("TREATY_LEDGER_API_PASSWORD") or None)
        console.print(f"{'created' if created else 'updated'} role {api_role}: it may insert and read the events, snapshots and tree, "
                      "and read and write the views")
    ledger = open_ledger_or_exit(database)
    try:
        treaties = ledger.list_treaties()
    finally:
        ledger.close()
    console.print(f"store ready: {parse_database_url(database).redacted()} ({len(treaties)} treaties)")


@app.command()
def verify(
    treaty: Annotated[str | None, typer.Argument(help="Verify one treaty's chain only (default: the whole ledger, its Merkle tree and snapshots).")] = None,
    database: DatabaseOption = DEFAULT_DATABASE,
    checkpoint: Annotated[Path | None, typer.Option(
        "--checkpoint", metavar="FILE", help="A signed checkpoint kept earlier (GET /v1/checkpoint's note): the store must still be consistent "
                                             "with it (default: the one this command kept at its last clean run).")] = None,
    key: Annotated[str | None, typer.Option(
        "--key", metavar="KEY", help="The log's public key (name+id+key, or a file holding it) to check signatures with "
                                     "(default: the configured signing key's).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Recompute the hash chains, the Merkle tree and its checkpoints from the stored events; exit 0 when all hold, 1 naming what does not.

    The whole ledger's check remembers the newest signed checkpoint it saw, in the user's
    configuration folder, and at the next run fails if the store is no longer consistent with it.
    """
    if treaty is not None:
        ledger = open_ledger_or_exit(database)
        with closing(ledger), exit_on_ledger_error():
            report = ledger.verify(treaty)
        _print_chains(report.to_json(), as_json)
        if not report.ok:
            raise typer.Exit(1)
        return
    services = open_services_or_exit(database)  # not caught up: a catch-up would sign whatever the store now holds
    with closing(services), exit_on_ledger_error():
        verifier = read_verifier(key) if key else (services.tree.signer.verifier if services.tree.signer else None)
        origin = verifier.name if verifier else services.tree.origin
        remembered = kept_checkpoint_path(origin, services.database.redacted())
        kept_file = checkpoint or (remembered if remembered.exists() else None)
        kept = None
        if kept_file is not None:
            if verifier is None:
                errors.print("error: --key: a kept checkpoint is checked with the log's public key; give it with --key")
                raise typer.Exit(2)
            kept = open_checkpoint(kept_file.read_text(encoding="utf-8"), verifier)
        chains = services.ledger.verify()
        tree = audit_tree(services.ledger, services.tree, verifier=verifier, kept=kept)
    ok = chains.ok and tree.ok
    body = {**chains.to_json(), "ok": ok, "tree": tree.to_json()}
    if as_json:
        console.print_json(json.dumps(body))
    else:
        _print_chains(chains.to_json(), False)
        for problem in tree.problems:
            errors.print(f"[red]tampered[/red]: {problem}")
        if tree.ok:
            kept_text = f", consistent with the checkpoint kept at size {kept.size} ({kept_file})" if kept else ""
            signed = f"signed checkpoint {tree.latest_signed.size} checked" if tree.latest_signed else "no signed checkpoint checked"
            console.print(f"[green]ok[/green]: the Merkle tree of {tree.leaves} events matches its {_count(tree.checkpoints_checked, 'checkpoint')} "
                          f"({signed}{kept_text}); {_count(tree.snapshots_checked, 'snapshot')} checked against the events")
    if ok and tree.latest_signed_note is not None and tree.latest_signed is not None:
        remembered.parent.mkdir(parents=True, exist_ok=True)
        remembered.write_text(tree.latest_signed_note, encoding="utf-8")
        if not as_json:
            errors.print(f"kept checkpoint {tree.latest_signed.size} in {remembered}: the next verify checks the store against it")
    if not ok:
        raise typer.Exit(1)


def _print_chains(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(report))
    elif report["ok"]:
        console.print(f"[green]ok[/green]: {report['events_checked']} events checked, head {report['head']}")
    else:
        bad: dict[str, Any] = report["first_bad_event"] or {}
        errors.print(
            f"[red]tampered[/red]: treaty {bad.get('treaty')}, event {bad.get('id', '?')} "
            f"(sequence {bad.get('sequence')}): {bad.get('reason')}"
        )


@app.command()
def rebuild(
    database: DatabaseOption = DEFAULT_DATABASE,
    workers: Annotated[int | None, typer.Option(
        min=0, max=64, metavar="N", show_default="one per core (up to 8) from 50,000 events, else 0",
        help="Processes that fold shards of the treaties while this one writes (0: this process alone).",
    )] = None,
) -> None:
    """Drop the materialized views and rebuild them from the whole history."""
    services = open_services_or_exit(database)
    with closing(services), exit_on_ledger_error():
        started = time.perf_counter()
        applied = catch_up_with_progress(services, label="rebuilding views", rebuild=True, workers=workers)
        elapsed = time.perf_counter() - started
        rate = applied / elapsed if elapsed else 0.0
        console.print(f"rebuilt the views from {applied} events in {elapsed:.1f} s ({rate:,.0f} events/s)")


@app.command()
def project(
    database: DatabaseOption = DEFAULT_DATABASE,
    poll_interval: Annotated[float, typer.Option(metavar="SECONDS", help="On SQLite (no subscriptions), seconds between polls.")] = 1.0,
) -> None:
    """Keep the materialized views up to date, until interrupted (the projection worker).

    On PostgreSQL this runs eventsourcing's ProjectionRunner on a LISTEN/NOTIFY subscription;
    on SQLite, which offers no subscription, it polls.
    """
    try:
        with exit_on_ledger_error():
            url = parse_database_url(database)
            if url.is_postgres:
                _follow_with_runner(url)
                return
            services = open_services_or_exit(database)
            try:
                catch_up_with_progress(services, label="catching up")
                console.print(f"projection worker following {url.redacted()}, every {poll_interval:g} s (Ctrl-C to stop)")
                while True:
                    services.refresh()
                    time.sleep(poll_interval)
            finally:
                services.close()
    except KeyboardInterrupt:
        console.print("stopped")


def _follow_with_runner(url: DatabaseURL) -> None:
    """Catch up, then follow with eventsourcing's ProjectionRunner; when the views move under it
    (a rebuild stopped part-way, say), catch up and follow again from where they stand.

    The services that catch up are closed before the runner starts: it opens its own, and the
    process keeps to its connection budget."""
    while True:
        services = open_services_or_exit(url.url)
        try:
            catch_up_with_progress(services, label="catching up")
        finally:
            services.close()
        runner = open_projection_runner(url)
        try:
            with runner:  # subscribed from where the views stand
                console.print(f"projection worker following {url.redacted()} (Ctrl-C to stop)")
                try:
                    runner.run_forever()
                except KeyboardInterrupt:
                    if isinstance(runner.projection, LedgerProjection):
                        runner.projection.stop_waiting()  # or stopping waits for a rebuild in progress
                    raise
            return
        except ViewsMoved as moved:
            console.print(f"{moved.reason}: catching up, then following again")


@app.command()
def replay(
    treaty: Annotated[str, typer.Argument(help="The treaty id, e.g. open-skies.")],
    as_of: Annotated[str, typer.Option("--as-of", metavar="DATE", help="Effective date YYYY-MM-DD (default: today, in UTC).")] = "",
    known_at: Annotated[str | None, typer.Option("--known-at", metavar="TIME", help="Answer as the ledger knew it at this ISO 8601 time.")] = None,
    what: Annotated[str, typer.Option(help="membership, compliance, or a state code for one state.")] = "membership",
    database: DatabaseOption = DEFAULT_DATABASE,
) -> None:
    """Answer by folding the recorded events afresh (no views): the reference answer, as JSON."""
    ledger = open_ledger_or_exit(database)
    with closing(ledger), exit_on_ledger_error():
        day = parse_date(as_of, field="as_of") if as_of else today()
        moment = parse_timestamp(known_at, field="known_at") if known_at else None
        aggregate = ledger.treaty(treaty)
        records = list(aggregate.records)
        if what == "membership":
            answer = membership_by_replay(aggregate.slug, aggregate.rules, records, day, moment)
        elif what == "compliance":
            answer = compliance_by_replay(aggregate.slug, aggregate.rules, records, day, moment)
        else:
            answer = state_by_replay(aggregate.slug, aggregate.rules, records, normalise_state(what, field="what"), day, moment)
    console.print_json(json.dumps(answer))


class _CountOnceKnown(MofNCompleteColumn):
    """``done/total`` once there is a total to count towards; nothing (not ``0/?``) before, or when there is nothing to do."""

    def render(self, task: Task) -> Text:
        """The count, or an empty text."""
        return super().render(task) if task.total else Text("")


def _progress_of(progress: Progress, task: TaskID, description: str) -> Callable[[int, int], None]:
    """A callback that moves ``task`` of ``progress`` to ``done`` of ``total``."""
    return lambda done, total: progress.update(task, description=description, completed=done, total=total)


@app.command("import")
def import_(
    files: Annotated[list[Path], typer.Argument(metavar="FILE", help="Datasets: YAML (data/open-skies.yaml) or JSON Lines from 'export'.")],
    database: DatabaseOption = DEFAULT_DATABASE,
) -> None:
    """Import treaties' histories, one file after another: each file is checked whole first; re-importing records nothing new.

    A bad file stops the import there: it records nothing, and the files before it stay recorded.
    """
    services = open_services_or_exit(database)
    with closing(services):
        for file in files:
            with exit_on_ledger_error(f"\nnothing was recorded from {file.name}"):
                with Progress(TextColumn("{task.description}"), BarColumn(), _CountOnceKnown(), TimeElapsedColumn(), console=errors) as progress:
                    task = progress.add_task(f"reading {file.name}", total=None)
                    report = import_file(services.ledger, file, progress=_progress_of(progress, task, f"checking {file.name}"))
                    progress.update(task, description=f"checked {file.name}", total=report.recorded, completed=report.recorded)
            action = "registered" if report.registered else "found"
            console.print(f"{action} {report.treaty}: recorded {report.recorded} events, {report.already_there} already recorded")
        with exit_on_ledger_error():
            catch_up_with_progress(services, label="updating views")


@app.command()
def export(
    treaty: Annotated[str, typer.Argument(help="The treaty id.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write to this file (default: standard output).")] = None,
    proofs: Annotated[bool, typer.Option("--proofs", help="End with the signed checkpoint and every event's inclusion proof, "
                                                          "for `treaty-ledger audit export`.")] = False,
    tree_size: Annotated[int | None, typer.Option("--tree-size", min=1, metavar="N",
                                                  help="With --proofs: prove the events in the checkpoint of N events (one you kept; "
                                                       "default: the newest).")] = None,
    database: DatabaseOption = DEFAULT_DATABASE,
) -> None:
    """Export a treaty's full history as JSON Lines, with recorded times, sequences and hashes (and with --proofs, their inclusion proofs)."""
    if tree_size is not None and not proofs:
        errors.print("error: --tree-size: it says which checkpoint --proofs proves the events in; add --proofs")
        raise typer.Exit(2)
    services = open_services_or_exit(database)
    with closing(services), exit_on_ledger_error():
        lines = list(export_lines(services.ledger, treaty, tree=services.tree if proofs else None, tree_size=tree_size))
    text = "\n".join(lines) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        errors.print(f"wrote {len(lines) - 1 - proofs} events of {treaty} to {output}" + (" with their proofs" if proofs else ""))


def _count(number: int, noun: str) -> str:
    """``number`` and ``noun``, plural unless one: "1 checkpoint", "2 checkpoints"."""
    return f"{number} {noun}{'' if number == 1 else 's'}"
