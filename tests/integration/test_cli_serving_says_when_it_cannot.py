"""``demo`` and ``serve`` say when they cannot serve, and exit non-zero, before printing that they serve."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from treaty_ledger.cli import serving
from treaty_ledger.cli.commands import app

runner = CliRunner()


def broken_app() -> FastAPI:
    """An app whose start-up fails, as a worker's does when it cannot open the store."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        raise RuntimeError("this worker cannot open its store")
        yield

    return FastAPI(lifespan=lifespan)


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port another server is listening on."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def test_demo_on_a_busy_port_says_so_and_suggests_another(busy_port: int, tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--port", str(busy_port), "--database", f"sqlite:///{tmp_path / 'ledger.db'}"])
    assert result.exit_code == 1
    assert f"port {busy_port} on 127.0.0.1 is already in use" in result.output
    assert "--port" in result.output
    assert "serving" not in result.output and "curl" not in result.output
    assert "importing" not in result.output  # the port is checked first


def test_serve_on_a_busy_port_says_so(busy_port: int, tmp_path: Path) -> None:
    result = runner.invoke(app, ["serve", "--port", str(busy_port), "--database", f"sqlite:///{tmp_path / 'ledger.db'}"])
    assert result.exit_code == 1
    assert "already in use" in result.output and "serving" not in result.output


def test_a_port_out_of_range_is_a_usage_error_naming_the_option(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--port", "70000", "--database", f"sqlite:///{tmp_path / 'ledger.db'}"])
    assert result.exit_code == 2
    assert "--port" in result.output and "65535" in result.output


def test_serve_with_workers_exits_non_zero_when_a_worker_fails_to_start(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(serving, "APP", f"{__name__}:broken_app")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("TREATY_LEDGER_DATABASE", "")  # serve sets it for its workers
    result = runner.invoke(app, ["serve", "--port", str(port), "--workers", "2", "--database", f"sqlite:///{tmp_path / 'ledger.db'}"])
    assert result.exit_code == 3, result.output  # as the README says
    assert "a worker failed to start" in result.output
