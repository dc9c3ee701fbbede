"""Key commands: API keys (keys create, list, revoke) and the checkpoints' signing key (keys signing create, show)."""


from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from treaty_ledger.cli.base import (
    DatabaseOption,
    LedgerTyper,
    app,
    console,
    errors,
    exit_on_ledger_error,
    open_services_or_exit,
)
from treaty_ledger.domain.checkpoints import NoteSigner
from treaty_ledger.store.database import DEFAULT_DATABASE
from treaty_ledger.store.keys import KeyStore
from treaty_ledger.store.signing import DEFAULT_ORIGIN, default_key_path, load_signer, write_signer

keys_app = LedgerTyper(help="API keys: create, list, revoke. Only hashes are stored.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="Who or what the key is for.")],
    role: Annotated[str, typer.Option(help="reader, writer or admin.")] = "writer",
    database: DatabaseOption = DEFAULT_DATABASE,
) -> None:
    """Create a key and print its secret, once, on its own line (it cannot be shown again)."""
    services = open_services_or_exit(database)
    with closing(services), exit_on_ledger_error():
        key, secret = KeyStore(services.view).create(name, role)
    errors.print(f"created key {key.id} ({key.name}, {key.role}); the secret below is shown once:")
    print(secret)


@keys_app.command("list")
def keys_list(database: DatabaseOption = DEFAULT_DATABASE) -> None:
    """List keys (never their secrets)."""
    services = open_services_or_exit(database)
    try:
        keys = KeyStore(services.view).list()
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
    services = open_services_or_exit(database)
    with closing(services), exit_on_ledger_error():
        revoked = KeyStore(services.view).revoke(key)
    console.print(f"revoked key {revoked.id} ({revoked.name})")



signing_app = LedgerTyper(help="The key that signs the Merkle tree's checkpoints (kept outside the database).", no_args_is_help=True)
keys_app.add_typer(signing_app, name="signing")


@signing_app.command("create")
def signing_create(
    name: Annotated[str, typer.Option(help="The key's name, which is the log's origin: a name no other log uses, such as ledger.example.org/treaties.")]
    = DEFAULT_ORIGIN,
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="FILE",
                                                 help="Write the key here (default: signing-key in the user's configuration folder).")] = None,
) -> None:
    """Create an Ed25519 signing key in a new file only you may read, and print its public (verifier) key."""
    path = output or default_key_path()
    with exit_on_ledger_error():
        signer = NoteSigner.generate(name)
    try:
        write_signer(signer, path)
    except FileExistsError:
        errors.print(f"error: {path} exists; a signing key is never overwritten (move it away first, or choose --output)")
        raise typer.Exit(2) from None
    errors.print(f"wrote the signing key to {path} (keep it secret; the ledger reads it from there, or from "
                 "TREATY_LEDGER_SIGNING_KEY_FILE / TREATY_LEDGER_SIGNING_KEY). Its public key, for clients:")
    print(signer.verifier.encoded())


@signing_app.command("show")
def signing_show() -> None:
    """Print the public (verifier) key of the signing key the environment names; exit 1 when there is none."""
    with exit_on_ledger_error():
        signer = load_signer()
    if signer is None:
        errors.print(f"no signing key: none in TREATY_LEDGER_SIGNING_KEY or TREATY_LEDGER_SIGNING_KEY_FILE, and no {default_key_path()}; "
                     "create one with `treaty-ledger keys signing create`")
        raise typer.Exit(1)
    print(signer.verifier.encoded())
