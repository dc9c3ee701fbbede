"""The very commands the containers of docker-compose.yml run, run here against the local PostgreSQL.

No Docker engine runs on development and CI machines, so this runs each service's `command` as a
process with the environment the compose file gives it (TREATY_LEDGER_DATABASE), and checks that
an event written through the API is seen in membership as of its date through every API worker,
and that the projection worker keeps the views current for writes made by other processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from projections.bootstrap import open_ledger, open_view
from projections.projection import APPLICATION_NAME
from tests.e2e.server import free_port

ROOT = Path(__file__).resolve().parents[2]


def compose_command(service: str) -> list[str]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = compose["services"][service]["command"]
    return command if isinstance(command, list) else command.split()


def as_local(command: list[str], port: int | None = None) -> list[str]:
    """The container's command, run with this Python, listening on a free local port."""
    assert command[0] == "treaty-ledger"
    args = list(command[1:])
    if "--host" in args:
        args[args.index("--host") + 1] = "127.0.0.1"
    if "--port" in args and port is not None:
        args[args.index("--port") + 1] = str(port)
    return [sys.executable, "-m", "api", *args]


@pytest.fixture
def environment(postgres_url: str) -> dict[str, str]:
    return {**os.environ, "TREATY_LEDGER_DATABASE": postgres_url}


@pytest.fixture
def stack(environment: dict[str, str]) -> Iterator[tuple[str, dict[str, str]]]:
    """import (one-shot), then worker and api, as the compose file orders them."""
    imported = subprocess.run(as_local(compose_command("import")), cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300, check=False)
    assert imported.returncode == 0, imported.stderr
    port = free_port()
    worker = subprocess.Popen(as_local(compose_command("worker")), cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    api = subprocess.Popen(as_local(compose_command("api"), port), cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if api.poll() is not None:
                raise AssertionError(api.stdout.read() if api.stdout else "the api exited")
            time.sleep(0.1)  # waiting for processes to start listening, not for the ledger
        yield base, environment
    finally:
        for process in (api, worker):
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.mark.postgres
def test_an_event_written_through_the_api_is_seen_through_every_worker(stack: tuple[str, dict[str, str]]) -> None:
    base, environment = stack
    assert "--workers" in compose_command("api")
    key = subprocess.run([sys.executable, "-m", "api", "keys", "create", "--name", "ops", "--role", "writer"],
                         env=environment, capture_output=True, text=True, timeout=120, check=True).stdout.strip()
    before = httpx.get(f"{base}/v1/treaties/open-skies/membership", params={"as_of": "2022-06-01"}).json()
    assert len(before["parties"]) == 32
    response = httpx.post(f"{base}/v1/treaties/open-skies/events", headers={"Authorization": f"Bearer {key}"},
                          json={"type": "withdrawal_notified", "state": "BLR", "date": "2022-06-01",
                                "source": {"title": "A test note, not a real one"}})
    assert response.status_code == 201, response.text
    for _ in range(12):  # a new connection each time: the requests spread over the workers
        with httpx.Client(base_url=base) as client:
            answer = client.get("/v1/treaties/open-skies/membership", params={"as_of": "2022-06-01"}).json()
        assert answer["withdrawing"] == [{"state": "BLR", "notified_on": "2022-06-01", "effective_on": "2022-12-01"}]


@pytest.mark.postgres
def test_the_worker_keeps_the_views_current_for_writes_from_other_processes(stack: tuple[str, dict[str, str]]) -> None:
    base, environment = stack
    database = environment["TREATY_LEDGER_DATABASE"]
    writer = open_ledger(database)  # another process's writer: no catch-up of its own
    writer.record_event("open-skies", {"type": "withdrawal_notified", "state": "FIN", "date": "2023-01-01",
                                       "source": {"title": "A test note, not a real one"}})
    view = open_view(database)
    view.wait(APPLICATION_NAME, writer.recorder.max_notification_id(), timeout=30)
    answer = httpx.get(f"{base}/v1/treaties/open-skies/states/FIN", params={"as_of": "2023-02-01"}).json()
    assert (answer["status"], answer["effective_on"]) == ("withdrawing", "2023-07-01")
    writer.close()
