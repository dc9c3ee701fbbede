"""Serving: serve, and demo (the main job)."""


from __future__ import annotations

import errno
import os
import socket
from contextlib import closing
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from treaty_ledger.cli.base import (
    DatabaseOption,
    app,
    catch_up_with_progress,
    console,
    errors,
    exit_on_ledger_error,
    open_services_or_exit,
)
from treaty_ledger.domain.checkpoints import NoteSigner
from treaty_ledger.store.database import DEFAULT_DATABASE, parse_database_url
from treaty_ledger.store.datasets import import_file
from treaty_ledger.store.signing import DEFAULT_ORIGIN, default_key_path, load_signer, write_signer

HostOption = Annotated[str, typer.Option(metavar="HOST", help="Interface to listen on.")]
PortOption = Annotated[int, typer.Option(min=1, max=65535, metavar="PORT", help="Port to listen on.")]


APP = "treaty_ledger.api.app:create_app"
"""The app factory the workers import."""


def _check_port_or_exit(host: str, port: int) -> None:
    """Exit 1, saying why and suggesting ``--port``, unless ``host:port`` can be listened on now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET  # as uvicorn binds
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                errors.print(f"[red]error:[/red] port {port} on {host} is already in use (another server is listening there); "
                             f"choose another with --port, e.g. --port {port % 65535 + 1}")
            else:
                errors.print(f"[red]error:[/red] cannot listen on {host}:{port} ({error.strerror or error}); check --host and --port")
            raise typer.Exit(1) from None


def listening_socket(config: uvicorn.Config) -> socket.socket:
    """The socket the workers share, bound by uvicorn, that says it is TCP.

    uvicorn binds it with protocol 0, so asyncio, which sets ``TCP_NODELAY`` on accepted
    connections only when the listening socket's protocol is ``IPPROTO_TCP``, leaves Nagle's
    algorithm on: with several workers every request on a kept-alive connection waited about
    40 ms for the client's delayed acknowledgement (uvicorn issue 3149). One worker binds its
    own socket and is not affected.
    """
    bound = config.bind_socket()
    if bound.family not in (socket.AF_INET, socket.AF_INET6) or bound.proto == socket.IPPROTO_TCP:
        return bound
    tcp = socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())
    tcp.set_inheritable(True)
    return tcp


def _run(host: str, port: int, workers: int, log_level: str) -> None:
    """Serve until stopped; exit non-zero when the server, or any worker, fails to start."""
    if workers == 1:
        uvicorn.run(APP, factory=True, host=host, port=port, log_level=log_level)  # exits 3 when it fails to start
        return
    config = uvicorn.Config(APP, factory=True, host=host, port=port, workers=workers, log_level=log_level)
    supervisor = Multiprocess(config, sockets=[listening_socket(config)])
    supervisor.run()  # returns when stopped, or when a worker failed to start (uvicorn.run would then exit 0)
    if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes):
        errors.print("[red]error:[/red] a worker failed to start (its log above says why); the server stopped")
        raise typer.Exit(STARTUP_FAILURE)


@app.command()
def serve(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    workers: Annotated[int, typer.Option(min=1, metavar="N", help="Worker processes (use PostgreSQL for more than one).")] = 1,
    database: DatabaseOption = DEFAULT_DATABASE,
) -> None:
    """Serve the HTTP API (docs at /docs) on uvicorn; exit non-zero if the port is taken or a worker fails to start."""
    _check_port_or_exit(host, port)
    services = open_services_or_exit(database)  # create the store and catch the views up once, before the workers start
    try:
        catch_up_with_progress(services, label="catching up views")
    finally:
        services.close()
    os.environ["TREATY_LEDGER_DATABASE"] = database  # the workers read it when they build the app
    console.print(f"serving {parse_database_url(database).redacted()} on http://{host}:{port} (docs: http://{host}:{port}/docs)")
    _run(host, port, workers, "info")


def _datasets() -> list[Path]:
    """Every shipped dataset (``data/*.yaml``), by file name."""
    for base in (Path(__file__).resolve().parents[1] / "data", Path.cwd() / "data"):
        found = sorted(base.glob("*.yaml"))
        if found:
            return found
    raise typer.BadParameter("cannot find the datasets (data/*.yaml)")


def _signing_key_for_the_demo() -> None:
    """Make the demo's checkpoints signed: with no signing key configured, create one in the user's configuration folder."""
    with exit_on_ledger_error():
        if load_signer() is not None:
            return
    path = default_key_path()
    write_signer(NoteSigner.generate(DEFAULT_ORIGIN), path)
    console.print(f"created a signing key for the checkpoints at {path} (see `treaty-ledger keys signing --help`)")


@app.command()
def demo(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    database: DatabaseOption = DEFAULT_DATABASE,
) -> None:
    """The main job: every shipped dataset in a local store, served on http://127.0.0.1:8000 (exit 1 if the port is taken).

    Each dataset is imported on every start: what the store already holds is not recorded again,
    so a dataset that gained events since brings only those.
    """
    _check_port_or_exit(host, port)
    _signing_key_for_the_demo()
    services = open_services_or_exit(database)
    with closing(services), exit_on_ledger_error():
        for path in _datasets():
            report = import_file(services.ledger, path)
            console.print(f"{report.treaty}: {report.recorded} new events recorded" if report.recorded else f"{report.treaty}: up to date")
        catch_up_with_progress(services, label="updating views")
    base = f"http://{host}:{port}"
    print(f"""
Treaty Ledger is serving the shipped treaties from {parse_database_url(database).redacted()}

  API docs:   {base}/docs
  Try:
    curl '{base}/v1/treaties/open-skies/membership?as_of=2002-01-01'
    curl '{base}/v1/treaties/open-skies/membership?as_of=2020-06-01'
    curl '{base}/v1/treaties/open-skies/states/USA?as_of=2020-11-22'
    curl '{base}/v1/treaties/open-skies/compliance?as_of=2019-10-01'
    curl '{base}/v1/treaties/open-skies/changes?from=2020-01-01&to=2021-12-31'
    curl '{base}/v1/verify'
    curl '{base}/v1/checkpoint'
    curl '{base}/v1/treaties/open-skies/membership/receipt?as_of=2021-01-01'
    curl '{base}/v1/treaties/new-start/membership?as_of=2024-01-01'
    curl '{base}/v1/treaties/ctbt/membership?as_of=2020-01-01'
    curl '{base}/v1/states/RUS?as_of=2024-01-01'
  Record events with a key: treaty-ledger keys create --name you --role writer
""", flush=True)
    os.environ["TREATY_LEDGER_DATABASE"] = database
    _run(host, port, 1, "warning")

