"""The very commands the containers of docker-compose.yml run, run here against the local PostgreSQL.

No Docker engine runs on development and CI machines, so this runs each service's `command` as a
process with the environment the compose file gives it (TREATY_LEDGER_DATABASE), and checks that
an event written through the API is seen in membership as of its date through every API worker,
and that the projection worker keeps the views current for writes made by other processes.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from uuid import uuid4

import httpx2
import psycopg
import pytest
import yaml

from tests.conftest import postgres_base_url
from tests.e2e.server import free_port
from tests.integration.helpers import an_advisory_lock_request_queues
from treaty_ledger.bootstrap import open_ledger, open_services, open_view
from treaty_ledger.store.projection import APPLICATION_NAME

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sum(len(yaml.safe_load(path.read_text())["events"]) + 1 for path in (ROOT / "data").glob("*.yaml"))
"""The notifications the compose file's import writes: every shipped dataset's events, and its registration."""


def compose_command(service: str) -> list[str]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = compose["services"][service]["command"]
    return command if isinstance(command, list) else command.split()


def as_local(command: list[str], port: int | None = None, environment: dict[str, str] | None = None) -> list[str]:
    """The container's command, run with this Python, listening on a free local port (``${NAME...}`` filled from ``environment``)."""
    assert command[0] == "treaty-ledger"
    args = [re.sub(r"\$\{(\w+)[^}]*\}", lambda m: (environment or {})[m.group(1)], word) for word in command[1:]]
    if "--host" in args:
        args[args.index("--host") + 1] = "127.0.0.1"
    if "--port" in args and port is not None:
        args[args.index("--port") + 1] = str(port)
    return [sys.executable, "-m", "treaty_ledger.cli", *args]


@contextmanager
def naming_an_api_role(environment: dict[str, str]) -> Iterator[dict[str, str]]:
    """``environment`` (the owner's, as the compose file's set-up has it) naming a fresh API role, dropped afterwards."""
    role = f"tl_api_{uuid4().hex[:10]}"
    try:
        yield {**environment, "TREATY_LEDGER_API_USER": role, "TREATY_LEDGER_API_PASSWORD": "unused-with-trust"}
    finally:
        with psycopg.connect(postgres_base_url(), autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                conn.execute(f'DROP OWNED BY "{role}"')
                conn.execute(f'DROP ROLE "{role}"')


@pytest.fixture
def environment(postgres_url: str) -> Iterator[dict[str, str]]:
    """The owner's environment, naming a fresh API role (:func:`naming_an_api_role`)."""
    with naming_an_api_role({**os.environ, "TREATY_LEDGER_DATABASE": postgres_url}) as named:
        yield named


def as_api_role(environment: dict[str, str]) -> dict[str, str]:
    """The environment of the import, the API and the worker: the owner's database URL with the API role for user."""
    url = environment["TREATY_LEDGER_DATABASE"].replace("postgresql://postgres@", f"postgresql://{environment['TREATY_LEDGER_API_USER']}@")
    return {**environment, "TREATY_LEDGER_DATABASE": url}


def set_up(environment: dict[str, str]) -> None:
    """The compose file's one-shot set-up, run here as the owner: the tables, the triggers, the API role."""
    done = subprocess.run(as_local(compose_command("setup"), environment=environment), cwd=ROOT, env=environment, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr


def import_dataset(environment: dict[str, str]) -> None:
    """The compose file's one-shot import, run here."""
    imported = subprocess.run(as_local(compose_command("import")), cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300, check=False)
    assert imported.returncode == 0, imported.stderr


@dataclass
class Stack:
    """The running services: the API's address, the owner's environment (the services run as the API role), and their processes."""

    base: str
    environment: dict[str, str]
    worker: subprocess.Popen[str]
    api: subprocess.Popen[str]


@pytest.fixture
def stack(environment: dict[str, str]) -> Iterator[Stack]:
    """import (one-shot), then worker and api, as the compose file orders them."""
    with running_stack(environment) as running:
        yield running


@contextmanager
def running_stack(environment: dict[str, str]) -> Iterator[Stack]:
    """The compose file's stack, run here: the set-up (as the owner), the import, then the worker and the api (4 workers), as the API role."""
    set_up(environment)
    role = as_api_role(environment)
    import_dataset(role)
    port = free_port()
    worker = subprocess.Popen(as_local(compose_command("worker")), cwd=ROOT, env=role, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    api = subprocess.Popen(as_local(compose_command("api"), port), cwd=ROOT, env=role, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx2.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
            if api.poll() is not None:
                raise AssertionError(api.stdout.read() if api.stdout else "the api exited")
            time.sleep(0.1)  # waiting for processes to start listening, not for the ledger
        yield Stack(base, environment, worker, api)
    finally:
        for process in (api, worker):
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


class Lines:
    """What a process prints, line by line, read by a thread of its own (so a wait can time out)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.queue: queue.Queue[str] = queue.Queue()
        assert process.stdout is not None
        threading.Thread(target=self._read, args=(process.stdout,), daemon=True).start()

    def _read(self, stdout: Iterable[str]) -> None:
        for line in stdout:
            self.queue.put(line)

    def until(self, text: str, timeout: float = 60) -> str:
        """The lines up to the one holding ``text``, which must come within ``timeout`` seconds."""
        said = ""
        deadline = time.monotonic() + timeout
        while text not in said:
            try:
                said += self.queue.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise AssertionError(f"no {text!r} within {timeout} s; it said: {said!r}") from None
        return said


@pytest.mark.postgres
def test_an_event_written_through_the_api_is_seen_through_every_worker(stack: Stack) -> None:
    base, environment = stack.base, stack.environment
    assert "--workers" in compose_command("api")
    key = subprocess.run([sys.executable, "-m", "treaty_ledger.cli", "keys", "create", "--name", "ops", "--role", "writer"],
                         env=environment, capture_output=True, text=True, timeout=120, check=True).stdout.strip()
    before = httpx2.get(f"{base}/v1/treaties/open-skies/membership", params={"as_of": "2022-06-01"}).json()
    assert len(before["parties"]) == 32
    response = httpx2.post(f"{base}/v1/treaties/open-skies/events", headers={"Authorization": f"Bearer {key}"},
                          json={"type": "withdrawal_notified", "state": "BLR", "date": "2022-06-01",
                                "source": {"title": "A test note, not a real one"}})
    assert response.status_code == 201, response.text
    for _ in range(12):  # a new connection each time: the requests spread over the workers
        with httpx2.Client(base_url=base) as client:
            answer = client.get("/v1/treaties/open-skies/membership", params={"as_of": "2022-06-01"}).json()
        assert answer["withdrawing"] == [{"state": "BLR", "notified_on": "2022-06-01", "effective_on": "2022-12-01"}]


def record_finlands_notice_elsewhere(database: str) -> int:
    """Another process's writer (no catch-up of its own) records Finland's notice; its notification id."""
    with closing(open_ledger(database)) as writer:
        writer.record_event("open-skies", {"type": "withdrawal_notified", "state": "FIN", "date": "2023-01-01",
                                           "source": {"title": "A test note, not a real one"}})
        notification = writer.recorder.max_notification_id()
    assert notification is not None
    return notification


def finland_gives_notice_elsewhere_and_the_api_shows_it(stack: Stack) -> None:
    """The worker puts a notice recorded elsewhere in the views, and the API answers with it."""
    database = stack.environment["TREATY_LEDGER_DATABASE"]
    open_view(database).wait(APPLICATION_NAME, record_finlands_notice_elsewhere(database), timeout=30)
    answer = httpx2.get(f"{stack.base}/v1/treaties/open-skies/states/FIN", params={"as_of": "2023-02-01"}).json()
    assert (answer["status"], answer["effective_on"]) == ("withdrawing", "2023-07-01")


@pytest.mark.postgres
def test_the_worker_keeps_the_views_current_for_writes_from_other_processes(stack: Stack) -> None:
    finland_gives_notice_elsewhere_and_the_api_shows_it(stack)


@pytest.mark.postgres
def test_the_worker_goes_on_following_after_a_rebuild_run_beside_it(stack: Stack) -> None:
    rebuilt = subprocess.run([sys.executable, "-m", "treaty_ledger.cli", "rebuild"], env=stack.environment, capture_output=True, text=True, timeout=300, check=False)
    assert rebuilt.returncode == 0, rebuilt.stderr
    finland_gives_notice_elsewhere_and_the_api_shows_it(stack)
    assert stack.worker.poll() is None, "the worker stopped"


@dataclass
class LoneWorker:
    """The projection worker alone (no API processes, whose catch-ups at start could fill the views first)."""

    process: subprocess.Popen[str]
    lines: Lines
    said: str


@pytest.fixture
def lone_worker(environment: dict[str, str]) -> Iterator[LoneWorker]:
    """The dataset imported, then the worker started and following."""
    import_dataset(environment)
    worker = subprocess.Popen(as_local(compose_command("worker")), cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = Lines(worker)
        yield LoneWorker(worker, lines, lines.until("projection worker following"))  # subscribed where the views stood
    finally:
        if worker.poll() is None:
            worker.terminate()
            worker.wait(timeout=30)


@pytest.mark.postgres
def test_after_a_rebuild_dies_part_way_the_worker_catches_up_and_follows_again(lone_worker: LoneWorker, environment: dict[str, str]) -> None:
    database = environment["TREATY_LEDGER_DATABASE"]
    view = open_view(database)
    with view.rebuilding():
        view.drop_views(APPLICATION_NAME)  # a rebuild that died right after dropping the views
    view.wait(APPLICATION_NAME, record_finlands_notice_elsewhere(database), timeout=60)
    assert lone_worker.process.poll() is None, "the worker stopped"
    said = lone_worker.lines.until("projection worker following")  # following again
    assert f"the views stand at notification None, behind {SHIPPED} where this process left them" in said
    assert "catching up, then following again" in said
    with closing(open_services(database, catch_up=False)) as services:
        answer = services.read.membership_as_of("open-skies", date(2023, 2, 1))
    assert len(answer["parties"]) == 32 and answer["withdrawing"][0]["state"] == "FIN"


@pytest.mark.postgres
def test_ctrl_c_stops_a_worker_that_waits_for_a_rebuild(lone_worker: LoneWorker, environment: dict[str, str]) -> None:
    database = environment["TREATY_LEDGER_DATABASE"]
    view = open_view(database)
    with view.rebuilding():  # a rebuild in progress elsewhere
        record_finlands_notice_elsewhere(database)
        an_advisory_lock_request_queues(database)  # the worker's request for the views, behind the rebuild
        lone_worker.process.send_signal(signal.SIGINT)
        assert lone_worker.lines.until("stopped", timeout=10)
        assert lone_worker.process.wait(timeout=10) == 0
    assert view.max_tracking_id(APPLICATION_NAME) == SHIPPED  # the notice is left for the next worker's catch-up
