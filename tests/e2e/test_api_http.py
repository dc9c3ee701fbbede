"""The HTTP API served by real ``treaty-ledger serve`` processes: what only a real server shows.

The API's behaviour is tested in process (``tests/integration/test_api.py``); here remain the
settings read from the environment by a started server, and several workers on PostgreSQL
seeing each other's writes at once.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.command_line import create_key
from tests.e2e.server import start_server
from tests.integration.test_api import OPEN_SKIES
from tests.scenario import SOURCE


def test_reads_need_a_key_when_the_server_requires_one(sqlite_url: str) -> None:
    reader_key = create_key(sqlite_url, "reader", "reader")
    server = start_server(sqlite_url, env={**os.environ, "TREATY_LEDGER_REQUIRE_READ_KEY": "1"})
    try:
        assert server.client().get("/v1/treaties").status_code == 401
        assert server.client(reader_key).get("/v1/treaties").status_code == 200
        assert server.client().get("/healthz").status_code == 200
        reads = server.client().get("/openapi.json").json()["paths"]["/v1/treaties"]["get"]
        assert reads["security"] == [{"API key": []}]
    finally:
        server.stop()


@pytest.mark.postgres
def test_a_write_through_one_worker_is_seen_through_every_other(postgres_url: str) -> None:
    key = create_key(postgres_url, "writer", "writer")
    server = start_server(postgres_url, workers=3)
    try:
        with server.client(key) as client:
            assert client.post("/v1/treaties", json=OPEN_SKIES).status_code == 201
            for i, state in enumerate(("USA", "RUS", "GBR", "FRA", "DEU", "CAN")):
                assert client.post("/v1/treaties/open-skies/events",
                                   json={"type": "ratified", "state": state, "date": f"199{i}-01-01", "source": SOURCE}).status_code == 201
                # new connections land on any worker: every one must see the write at once
                for _ in range(6):
                    with server.client() as fresh:
                        members = fresh.get("/v1/treaties/open-skies/membership", params={"as_of": "2000-01-01"}).json()
                    assert len(members["contracting"]) == i + 1
    finally:
        server.stop()


def test_a_receipt_from_a_real_server_checks_offline_with_the_published_key(sqlite_url: str, tmp_path: Path) -> None:
    key = create_key(sqlite_url, "writer", "writer")
    server = start_server(sqlite_url)
    try:
        with server.client(key) as client:
            assert client.post("/v1/treaties", json=OPEN_SKIES).status_code == 201
            for state in ("USA", "RUS"):
                body = {"type": "ratified", "state": state, "date": "1995-01-01", "source": SOURCE}
                assert client.post("/v1/treaties/open-skies/events", json=body).status_code == 201
            receipt = client.get("/v1/treaties/open-skies/membership/receipt", params={"as_of": "2000-01-01"})
            public = client.get("/v1/checkpoints/key").json()["verifier_key"]
    finally:
        server.stop()
    assert receipt.status_code == 200 and receipt.json()["receipt"]["checkpoint"]["tree_size"] == 3
    (tmp_path / "receipt.json").write_bytes(receipt.content)
    audited = subprocess.run([sys.executable, "-m", "treaty_ledger.cli", "audit", "receipt", str(tmp_path / "receipt.json"), "--key", public],
                             capture_output=True, text=True, timeout=60, check=False)
    assert audited.returncode == 0, audited.stderr
    assert "3 leaves proven" in audited.stdout
