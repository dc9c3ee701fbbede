"""Query commands for people and scripts: membership, state, reservations, compliance, changes, events, and one state across treaties."""


from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import closing
from datetime import date, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from treaty_ledger.bootstrap import Services
from treaty_ledger.cli.base import (
    DatabaseOption,
    app,
    console,
    exit_on_ledger_error,
    open_services_or_exit,
)
from treaty_ledger.domain.dates import parse_date, parse_timestamp, today
from treaty_ledger.domain.states import state_name
from treaty_ledger.store.database import DEFAULT_DATABASE


def _query(database: str, as_json: bool, ask: Callable[[Services], dict[str, Any] | tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any] | None:
    """The answer ``ask`` gives on fresh views; with ``as_json``, print it as the API returns it (and give ``None``).

    ``ask`` may give the answer and, beside it, what only the table shows (not part of the API's answer, so not of ``--json``).
    """
    services = open_services_or_exit(database)
    with closing(services), exit_on_ledger_error():
        services.read.refresh()
        asked = ask(services)
        answer, also = asked if isinstance(asked, tuple) else (asked, {})
        if as_json:
            console.print_json(json.dumps(answer))
            return None
        return {**answer, **also}


def _suspension(item: dict[str, Any], state: str | None = None) -> str:
    """A suspension of implementation in words: towards whom, since when, until when where known, its scope and basis."""
    code = state or item["state"]
    towards = ", ".join(item["towards"]) or "all States Parties"
    until = f" until {item['until']}" if item.get("until") else ""
    scope = f"; {item['scope']}" if item.get("scope") else ""
    scope += f" ({item['detail']})" if item.get("detail") else ""
    basis = f"; basis: {item['basis']}" if item.get("basis") else ""
    return f"{code} ({state_name(code)}) suspends implementation towards {towards} since {item['since']}{until}{scope}{basis}"


def _day(value: str | None, field: str = "as_of") -> date:
    return parse_date(value, field=field) if value else today()


def _moment(value: str | None) -> datetime | None:
    return parse_timestamp(value, field="known_at") if value else None


AsOfOption = Annotated[str | None, typer.Option("--as-of", metavar="DATE", help="Effective date YYYY-MM-DD (default: today, in UTC).")]
KnownAtOption = Annotated[str | None, typer.Option("--known-at", metavar="TIME", help="Answer as the ledger knew it at this ISO 8601 time.")]
TreatyArgument = Annotated[str, typer.Argument(metavar="TREATY", help="The treaty id, e.g. open-skies.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the JSON the API returns.")]


@app.command()
def membership(treaty: TreatyArgument, as_of: AsOfOption = None, known_at: KnownAtOption = None, as_json: JsonOption = False,
               database: DatabaseOption = DEFAULT_DATABASE) -> None:
    """Who is a party, signatory, contracting, withdrawing or withdrawn on a date."""
    def ask(services: Services) -> tuple[dict[str, Any], dict[str, Any]]:
        answer, statuses = services.read.membership_and_statuses(treaty, _day(as_of), _moment(known_at))
        return answer, {"status_since": {code: status.since for code, status in statuses.items()}}

    answer = _query(database, as_json, ask)
    if answer is None:
        return
    status = "in force" if answer["in_force"] else answer["phase"].replace("_", " ")
    expiry = ""
    if answer["expires_on"]:
        expiry = f" on {answer['expires_on']}" if answer["phase"] == "expired" else f", expires {answer['expires_on']}"
        expiry += "".join(f" (extended on {e['on']} to {e['until']})" for e in answer["extensions"])
    console.print(f"[bold]{answer['treaty']}[/bold] as of {answer['as_of']}: {status}{expiry}, {len(answer['parties'])} States Parties")
    conditions = answer.get("conditions")
    if conditions and not answer["in_force"]:
        console.print(f"entry into force: {_conditions(conditions)}")
    table = Table("state", "name", "status", "since / notice", "effective")
    standing = {w["state"]: w for w in answer["withdrawing"]}
    suspending = {s["state"] for s in answer["suspended"]}
    for code in answer["parties"]:
        w = standing.get(code)
        status = ("withdrawing" if w else "party") + (", suspending" if code in suspending else "")
        since = w["notified_on"] if w else answer["status_since"].get(code, "")
        table.add_row(code, state_name(code), status, since, w["effective_on"] if w else "")
    for item in answer["contracting"]:
        table.add_row(item["state"], state_name(item["state"]), "contracting", item["deposited_on"], item.get("party_from") or "")
    for code in answer["signatories"]:
        table.add_row(code, state_name(code), "signatory", answer["status_since"].get(code, ""), "")
    for item in answer["withdrawn"]:
        table.add_row(item["state"], state_name(item["state"]), "withdrawn", item["notified_on"], item["effective_on"])
    console.print(table)
    for item in answer["suspended"]:
        console.print(_suspension(item))
    if answer["provisionally_applying"]:
        console.print(f"applying it provisionally: {', '.join(answer['provisionally_applying'])}")
    count = len(answer["events"])
    console.print(f"rests on {count} event{'' if count == 1 else 's'} (--json lists their ids)")


@app.command()
def state(treaty: TreatyArgument, code: Annotated[str, typer.Argument(metavar="STATE", help="A state code or English name.")],
          as_of: AsOfOption = None, known_at: KnownAtOption = None, as_json: JsonOption = False,
          database: DatabaseOption = DEFAULT_DATABASE) -> None:
    """One state's status on a date, and the events behind it."""
    answer = _query(database, as_json, lambda s: s.read.state_as_of(treaty, code, _day(as_of), _moment(known_at)))
    if answer is None:
        return
    console.print(f"{answer['state']} ({state_name(answer['state'])}) in {answer['treaty']} as of {answer['as_of']}: "
                  f"[bold]{answer['status']}[/bold]"
                  + (f" since {answer['since']}" if answer.get("since") else "")
                  + (f", effective {answer['effective_on']}" if answer.get("effective_on") else ""))
    if answer["suspension"]:
        console.print(_suspension(answer["suspension"], answer["state"]))
    if answer["provisional"]:
        provisions = answer["provisional"]["provisions"] or "the whole treaty"
        console.print(f"applies {provisions} provisionally since {answer['provisional']['since']}")
    for name, items in (("reservation", answer["reservations"]), ("declaration", answer["declarations"])):
        for item in items:
            console.print(f"{name} since {item['since']}: {item['text']}")
    for item in answer["objections_made"]:
        console.print(f"objects since {item['since']} to {item['reserving_state']}'s reservation {item['reservation'][:8]}: {item['text']}")
    for item in answer["objections_received"]:
        console.print(f"{item['state']} objects since {item['since']} to its reservation {item['reservation'][:8]}: {item['text']}")
    for item in answer["territories"]:
        console.print(f"{'extended to' if item['applies'] else 'excludes'} {item['territory']} since {item['since']}")
    console.print(f"events: {', '.join(answer['events'])}")


def _conditions(conditions: dict[str, Any]) -> str:
    """An entry-into-force rule's conditions in words: instruments deposited, required states missing."""
    parts = []
    if conditions["instruments"]:
        parts.append(f"{conditions['instruments']['deposited']} of {conditions['instruments']['required']} instruments deposited")
    if conditions["required_states"]:
        required = conditions["required_states"]
        missing = f"; missing: {', '.join(required['missing'])}" if required["missing"] else ""
        parts.append(f"{len(required['met'])} of {required['required']} required states{missing}")
    return ("conditions met; " if conditions["met"] else "conditions not met; ") + "; ".join(parts)


@app.command()
def reservations(treaty: TreatyArgument, as_of: AsOfOption = None, known_at: KnownAtOption = None, as_json: JsonOption = False,
                 database: DatabaseOption = DEFAULT_DATABASE) -> None:
    """Reservations, declarations and objections in force on a date."""
    answer = _query(database, as_json, lambda s: s.read.reservations_as_of(treaty, _day(as_of), _moment(known_at)))
    if answer is None:
        return
    console.print(f"[bold]{answer['treaty']}[/bold] reservations, declarations and objections as of {answer['as_of']}")
    table = Table("kind", "state", "since", "articles", "text", "id")
    for name, items in (("reservation", answer["reservations"]), ("declaration", answer["declarations"])):
        for item in items:
            table.add_row(name if name == "reservation" else f"declaration ({item['kind']})" if item["kind"] else name, item["state"],
                          item["since"], ", ".join(item["articles"]), item["text"], item["id"][:8])
    for item in answer["objections"]:
        table.add_row("objection", item["state"], item["since"], f"to {item['reserving_state']}'s {item['reservation'][:8]}", item["text"],
                      item["id"][:8])
    console.print(table)


@app.command("state-across")
def state_across(code: Annotated[str, typer.Argument(metavar="STATE", help="A state code or English name.")], as_of: AsOfOption = None,
                 known_at: KnownAtOption = None, as_json: JsonOption = False, database: DatabaseOption = DEFAULT_DATABASE) -> None:
    """One state's status in every treaty of the ledger on a date."""
    answer = _query(database, as_json, lambda s: s.read.state_across(code, _day(as_of), _moment(known_at)))
    if answer is None:
        return
    console.print(f"{answer['state']} ({state_name(answer['state'])}) as of {answer['as_of']}")
    table = Table("treaty", "title", "status", "since", "effective", "suspending")
    for item in answer["treaties"]:
        table.add_row(item["treaty"], item["title"] or "", item["status"], item["since"] or "", item["effective_on"] or "",
                      "yes" if item["suspended"] else "")
    console.print(table)


@app.command()
def compliance(treaty: TreatyArgument, as_of: AsOfOption = None, known_at: KnownAtOption = None, as_json: JsonOption = False,
               database: DatabaseOption = DEFAULT_DATABASE) -> None:
    """Restrictions in force, allegations and their standing, denied flights on a date."""
    answer = _query(database, as_json, lambda s: s.read.compliance_as_of(treaty, _day(as_of), _moment(known_at)))
    if answer is None:
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
    table = Table("by", "name", "towards", "since", "until", title="suspensions of implementation")
    for s in answer["suspensions"]:
        table.add_row(s["state"], state_name(s["state"]), ", ".join(s["towards"]) or "all", s["since"], s.get("until") or "")
    console.print(table)
    table = Table("denied", "host", "observers", "offered", "refused by", "reason", title="denied flights")
    for f in answer["denied_flights"]:
        refused = sorted({s for r in f["alternative_timeframes_refused"] for s in r["observers"]})
        table.add_row(f["denied_on"], f["host"], ", ".join(f["observers"]), str(len(f["alternative_timeframes_offered"])),
                      ", ".join(refused), f["reason"])
    console.print(table)


@app.command()
def changes(treaty: TreatyArgument, from_: Annotated[str, typer.Option("--from", metavar="DATE", help="Start date, exclusive: changes after the state on this date.")],
            to: Annotated[str, typer.Option("--to", metavar="DATE", help="End date, inclusive: changes up to and including it.")], known_at: KnownAtOption = None,
            as_json: JsonOption = False, database: DatabaseOption = DEFAULT_DATABASE) -> None:
    """What changed after one date (exclusive) up to and including another, and the events behind it."""
    answer = _query(database, as_json, lambda s: s.read.changes_between(treaty, _day(from_, "from"), _day(to, "to"), _moment(known_at)))
    if answer is None:
        return
    console.print(f"[bold]{answer['treaty']}[/bold] after {answer['from']} up to and including {answer['to']}: "
                  f"joined {', '.join(answer['joined']) or 'none'}; left {', '.join(answer['left']) or 'none'}")
    for change in answer["status_changes"]:
        console.print(f"  {change['state']}: {change['from']} -> {change['to']} (since {change['since']})")
    console.print(f"  {len(answer['started'])} items started, {len(answer['ended'])} ended (restrictions, suspensions, reservations...); "
                  f"{len(answer['allegations_made'])} allegations made; {len(answer['events'])} events dated after {answer['from']} up to and including {answer['to']}")


@app.command()
def events(treaty: TreatyArgument, state: Annotated[str | None, typer.Option(metavar="STATE", help="Only this state's events (a code or English name).")] = None,
           type_: Annotated[list[str] | None, typer.Option("--type", metavar="TYPE", help="Only these event types (repeatable).")] = None,
           known_at: KnownAtOption = None, limit: Annotated[int, typer.Option(min=1, metavar="N", help="At most this many events.")] = 1000,
           as_json: JsonOption = False, database: DatabaseOption = DEFAULT_DATABASE) -> None:
    """The audit history in recorded order; each event says what retracts or corrects it, and what it retracts or corrects."""
    answer = _query(database, as_json, lambda s: _event_page(s, treaty, state, type_, _moment(known_at), limit))
    if answer is None:
        return
    table = Table("seq", "date", "type", "state", "source", "id", "note")
    for e in answer["events"]:
        source = e["source"].get("title") or e["source"].get("url") or ""
        table.add_row(str(e["sequence"]), e.get("date") or "", e["type"], e.get("state") or "", source[:50], e["id"], _audit_note(e))
    console.print(table)
    if answer["next_cursor"]:
        console.print(f"the first {limit} events; raise --limit for more")


def _event_page(services: Services, treaty: str, state: str | None, types: list[str] | None, known_at: datetime | None,
                limit: int) -> dict[str, Any]:
    """The first page of the audit list, as ``GET /v1/treaties/{treaty}/events`` answers it."""
    page = services.read.events(treaty, state=state, types=types, known_at=known_at, limit=limit)
    return {"treaty": treaty, "events": page.listed(), "next_cursor": page.next_cursor}


def _audit_note(event: dict[str, Any]) -> str:
    """What an event of the audit list retracts or corrects, and what retracts or corrects it (ids shortened to 8 characters)."""
    notes = []
    if event.get("retracts"):
        notes.append(f"retracts {event['retracts'][:8]}")
    if event.get("corrects"):
        notes.append(f"corrects {event['corrects'][:8]}")
    if event["retracted_by"]:
        notes.append(f"retracted by {event['retracted_by'][:8]}")
    if event["corrected_by"]:
        notes.append(f"corrected by {', '.join(c[:8] for c in event['corrected_by'])}")
    return "; ".join(notes)
