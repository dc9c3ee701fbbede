"""The compose file's stack within PostgreSQL's default budget: four API workers, the projection
worker and an import, all at once and under load, hold fewer than 30 connections; the projection
worker alone, at most 4."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from uuid import uuid4

import httpx2
import pytest

from tests.deployment.test_container_commands import ROOT, Lines, as_api_role, as_local, compose_command, naming_an_api_role, running_stack
from tests.integration.test_connection_budget import peak_connections
from treaty_ledger.bootstrap import open_services
from treaty_ledger.store.projection import APPLICATION_NAME

pytestmark = pytest.mark.postgres


def test_four_api_workers_the_projection_worker_and_an_import_hold_fewer_than_thirty_connections(postgres_url: str) -> None:
    name = f"tl-stack-{uuid4().hex[:8]}"
    assert "--workers" in compose_command("api") and compose_command("api")[compose_command("api").index("--workers") + 1] == "4"
    with naming_an_api_role({**os.environ, "TREATY_LEDGER_DATABASE": postgres_url, "PGAPPNAME": name}) as environment, \
            peak_connections(name) as peak, running_stack(environment) as stack:
        answers: list[int] = []
        again = threading.Thread(target=lambda: answers.append(subprocess.run(
            as_local(compose_command("import")), cwd=ROOT, env=as_api_role(environment), capture_output=True, timeout=300, check=False).returncode))
        again.start()  # a second import while the API is under load

        def ask(n: int) -> int:
            path = ("/v1/treaties/open-skies/membership?as_of=2020-06-01", "/v1/treaties/open-skies/events?limit=50", "/v1/verify")[n % 3]
            return httpx2.get(f"{stack.base}{path}", timeout=60).status_code

        with ThreadPoolExecutor(12) as pool:
            statuses = list(pool.map(ask, range(60)))
        again.join(timeout=300)
        assert set(statuses) == {200}, statuses
        assert answers == [0]
    assert 6 <= peak() < 30, peak()  # every process connected, and together they stayed within the budget


def test_the_projection_worker_alone_holds_at_most_four_connections_while_it_follows_writes(postgres_url: str) -> None:
    name = f"tl-worker-{uuid4().hex[:8]}"
    writer = open_services(postgres_url)
    try:
        writer.register_treaty({"id": "budget", "title": "Budget", "source": {"title": "t"}})
        environment = {**os.environ, "TREATY_LEDGER_DATABASE": postgres_url, "PGAPPNAME": name}
        with peak_connections(name) as peak:
            worker = subprocess.Popen(as_local(compose_command("worker")), cwd=ROOT, env=environment, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True)
            try:
                Lines(worker).until("projection worker following")
                for n in range(30):
                    writer.ledger.record_event("budget", {"type": "statement", "state": "FRA", "date": "2000-01-01", "summary": f"s{n}",
                                                          "source": {"title": "t"}})
                target = writer.ledger.recorder.max_notification_id()
                deadline = time.monotonic() + 60
                while (writer.view.max_tracking_id(APPLICATION_NAME) or 0) < (target or 0):
                    assert time.monotonic() < deadline, "the worker did not apply the writes"
                    time.sleep(0.05)  # waiting on another process's view, not on the ledger
            finally:
                worker.terminate()
                worker.wait(timeout=30)
    finally:
        writer.close()
    assert 2 <= peak() <= 4, peak()
