"""Offline audits: a receipt, an exported history, an old checkpoint against a newer one. No database is opened."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from treaty_ledger.cli.base import LedgerTyper, app, console, errors, read_verifier
from treaty_ledger.domain.audit import Audit, audit_consistency, audit_export, audit_receipt
from treaty_ledger.domain.checkpoints import open_checkpoint
from treaty_ledger.domain.errors import BadCheckpoint, LedgerError, ProofFailed

audit_app = LedgerTyper(help="Check receipts, exports and checkpoints offline, with the log's public key alone.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")

KeyOption = Annotated[str, typer.Option("--key", metavar="KEY",
                                        help="The log's public key: name+id+key as GET /v1/checkpoints/key gives it, or a file holding it.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")]


@contextmanager
def _judged() -> Iterator[None]:
    """A checkpoint whose signature fails, or an export or receipt that is not what it claims, is a failed audit (exit 1);
    a malformed key, exit 2."""
    try:
        yield
    except (BadCheckpoint, ProofFailed) as error:
        errors.print(f"[red]failed[/red]: {error.reason}")
        raise typer.Exit(1) from None
    except LedgerError as error:
        errors.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None


def _json_file(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        errors.print(f"error: cannot read {what} {path}: {error.strerror}")
    except json.JSONDecodeError as error:
        errors.print(f"error: {what} {path} is not JSON: {error.msg} (line {error.lineno})")
    raise typer.Exit(2)


def _report(audit: Audit, what: str, as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(audit.to_json()))
    elif audit.ok:
        console.print(f"[green]ok[/green]: {what}: {audit.leaves} leaves proven in the signed checkpoint of "
                      f"{audit.checkpoint.size} events ({audit.checkpoint.origin})")
    else:
        for problem in audit.problems:
            errors.print(f"[red]failed[/red]: {problem}")
    if not audit.ok:
        raise typer.Exit(1)


@audit_app.command("receipt")
def receipt(
    file: Annotated[Path, typer.Argument(help="A receipt, as GET .../receipt answers it (JSON).")],
    key: KeyOption,
    as_json: JsonOption = False,
) -> None:
    """Check a receipt: the checkpoint's signature, and the inclusion of every event the answer names; exit 1 when any fails."""
    with _judged():
        _report(audit_receipt(_json_file(file, "receipt"), read_verifier(key)), "receipt", as_json)


@audit_app.command("export")
def export(
    file: Annotated[Path, typer.Argument(help="An export made with `treaty-ledger export TREATY --proofs` (JSON Lines).")],
    key: KeyOption,
    checkpoint: Annotated[Path | None, typer.Option("--checkpoint", metavar="FILE",
                                                     help="A checkpoint you kept (a signed note): the export must be proven in it.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Check an exported history: its hash chain and each event's inclusion in the signed checkpoint it carries (or the one you kept)."""
    try:
        lines = [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, json.JSONDecodeError) as error:
        errors.print(f"error: cannot read the export {file}: {error}")
        raise typer.Exit(2) from None
    with _judged():
        verifier = read_verifier(key)
        kept = open_checkpoint(checkpoint.read_text(encoding="utf-8"), verifier) if checkpoint else None
        _report(audit_export(lines, verifier, kept=kept), f"export of {lines[0].get('id') if lines else '?'}", as_json)


@audit_app.command("consistency")
def consistency(
    old: Annotated[Path, typer.Argument(help="The older signed checkpoint (the note), one you kept.")],
    new: Annotated[Path, typer.Argument(help="The newer signed checkpoint (the note).")],
    proof: Annotated[Path, typer.Option("--proof", metavar="FILE",
                                        help="GET /v1/proofs/consistency?first=OLD&second=NEW's answer (JSON).")],
    key: KeyOption,
    as_json: JsonOption = False,
) -> None:
    """Check that the newer checkpoint's log extends the older one's: truncation, rewrites and forks fail (exit 1)."""
    with _judged():
        audit = audit_consistency(old.read_text(encoding="utf-8"), new.read_text(encoding="utf-8"), _json_file(proof, "proof"), read_verifier(key))
    if as_json:
        console.print_json(json.dumps(audit.to_json()))
    elif audit.ok:
        console.print(f"[green]ok[/green]: the log of {audit.checkpoint.size} events extends the older checkpoint's")
    else:
        for problem in audit.problems:
            errors.print(f"[red]failed[/red]: {problem}")
    if not audit.ok:
        raise typer.Exit(1)
