"""API key commands: keys create, keys list, keys revoke."""


from __future__ import annotations

from contextlib import closing
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
from treaty_ledger.store.database import DEFAULT_DATABASE
from treaty_ledger.store.keys import KeyStore

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

