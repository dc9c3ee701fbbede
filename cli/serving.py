"""Serving: serve, and demo (the main job)."""


from __future__ import annotations

import os
from contextlib import closing
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from treaty_ledger.cli.base import (
    DatabaseOption,
    app,
    catch_up_with_progress,
    console,
    exit_on_ledger_error,
    open_services_or_exit,
)
from treaty_ledger.store.database import DEFAULT_DATABASE, parse_database_url
from treaty_ledger.store.datasets import import_file

HostOption = Annotated[str, typer.Option(metavar="HOST", help="Interface to listen on.")]
PortOption = Annotated[int, typer.Option(min=1, max=65535, metavar="PORT", help="Port to listen on.")]


@app.command()
def serve(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    workers: Annotated[int, typer.Option(min=1, metavar="N", help="Worker processes (use PostgreSQL for more than one).")] = 1,
    database: DatabaseOption = DEFAULT_DATABASE,
) -> None:
    """Serve the HTTP API (docs at /docs) on uvicorn."""
    services = open_services_or_exit(database)  # create the store and catch the views up once, before the workers start
    try:
        catch_up_with_progress(services, label="catching up views")
    finally:
        services.close()
    os.environ["TREATY_LEDGER_DATABASE"] = database  # the workers read it when they build the app
    console.print(f"serving {parse_database_url(database).redacted()} on http://{host}:{port} (docs: http://{host}:{port}/docs)")
    uvicorn.run("treaty_ledger.api.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="info")


def _dataset(name: str) -> Path:
    for base in (Path(__file__).resolve().parents[1] / "data", Path.cwd() / "data"):
        if (base / name).exists():
            return base / name
    raise typer.BadParameter(f"cannot find data/{name}")


@app.command()
def demo(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    database: DatabaseOption = DEFAULT_DATABASE,
) -> None:
    """The main job: the Open Skies Treaty in a local store, served on http://127.0.0.1:8000."""
    services = open_services_or_exit(database)
    with closing(services), exit_on_ledger_error():
        if services.view.treaty_row("open-skies") is None:
            console.print("importing the Open Skies Treaty dataset ...")
            report = import_file(services.ledger, _dataset("open-skies.yaml"))
            console.print(f"recorded {report.recorded} events")
        catch_up_with_progress(services, label="updating views")
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
    uvicorn.run("treaty_ledger.api.app:create_app", factory=True, host=host, port=port, log_level="warning")

