"""Limits: the request body cap is a setting (``TREATY_LEDGER_MAX_BODY_BYTES``), still a 413 before
the body is parsed; the whole ledger's verification is computed once per head of the store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing

import pytest
from fastapi.testclient import TestClient

from tests.scenario import SOURCE, acceded, in_force, ratified
from treaty_ledger.api.app import create_app
from treaty_ledger.api.settings import MAX_BODY_BYTES, Settings
from treaty_ledger.bootstrap import Services, open_services
from treaty_ledger.store.keys import KeyStore

TREATY = {"id": "open-skies", "title": "Treaty on Open Skies", "rules": {"withdrawal_notice": "P6M"}, "source": SOURCE}
EVENTS = "/v1/treaties/open-skies/events"
LIMIT = 300


def padded_event(size: int) -> bytes:
    """A valid event of exactly ``size`` bytes (padded with JSON's white space)."""
    event = b'{"type": "statement", "state": "USA", "date": "2020-05-21", "source": {"title": "t"}, "summary": "s"}'
    return event + b" " * (size - len(event))


@pytest.fixture
def services(database_url: str) -> Iterator[Services]:
    with closing(open_services(database_url)) as opened:
        opened.register_treaty(TREATY)
        yield opened


def client(services: Services, settings: Settings) -> TestClient:
    _, secret = KeyStore(services.view).create(f"writer-{id(settings)}", "writer")
    return TestClient(create_app(settings, services), headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"})


class TestTheBodyLimit:
    def test_it_is_read_from_the_environment_and_is_1_mib_by_default(self) -> None:
        assert Settings.from_env({}).max_body_bytes == MAX_BODY_BYTES == 1 << 20
        assert Settings.from_env({"TREATY_LEDGER_MAX_BODY_BYTES": ""}).max_body_bytes == 1 << 20
        assert Settings.from_env({"TREATY_LEDGER_MAX_BODY_BYTES": " 4096 "}).max_body_bytes == 4096

    @pytest.mark.parametrize("value", ["0", "-1", "1.5", "1MiB", "lots", "١٢٣"])
    def test_a_value_that_is_no_positive_number_of_bytes_is_refused_naming_the_setting(self, value: str) -> None:
        with pytest.raises(ValueError, match="TREATY_LEDGER_MAX_BODY_BYTES must be a whole number of bytes"):
            Settings.from_env({"TREATY_LEDGER_MAX_BODY_BYTES": value})
        with pytest.raises(ValueError, match="whole number of bytes"):
            Settings(max_body_bytes=0)

    def test_a_body_over_the_configured_limit_is_a_413_naming_it_and_nothing_is_stored(self, services: Services, database_url: str) -> None:
        with client(services, Settings(database=database_url, max_body_bytes=LIMIT)) as api:
            response = api.post(EVENTS, content=padded_event(LIMIT + 1))
            assert response.status_code == 413, response.text
            assert response.json()["field"] == "body" and f"at most {LIMIT:,}" in response.json()["reason"]
            assert api.post(EVENTS, content=padded_event(LIMIT)).status_code == 201  # at the limit: read
            streamed = api.post(EVENTS, content=iter([padded_event(LIMIT + 1)]))  # no Content-Length: cut off as it passes
            assert streamed.status_code == 413 and f"over {LIMIT:,} bytes" in streamed.json()["reason"], streamed.text
        assert len(services.ledger.list_events("open-skies")) == 1

    def test_a_body_over_the_limit_is_refused_before_it_is_parsed(self, services: Services, database_url: str) -> None:
        with client(services, Settings(database=database_url, max_body_bytes=LIMIT)) as api:
            assert api.post(EVENTS, content=b"[" * (LIMIT + 1)).status_code == 413  # parsed, it would be a 422
            assert api.post(EVENTS, content=b"[" * LIMIT).status_code == 422

    def test_a_larger_limit_reads_bodies_over_a_mebibyte(self, services: Services, database_url: str) -> None:
        body = padded_event(MAX_BODY_BYTES + 10)
        with client(services, Settings(database=database_url)) as api:
            assert api.post(EVENTS, content=body).status_code == 413
        with client(services, Settings(database=database_url, max_body_bytes=2 * MAX_BODY_BYTES)) as api:
            assert api.post(EVENTS, content=body).status_code == 201


class TestTheVerifyCache:
    def test_a_repeat_is_answered_the_same_without_recomputing_and_a_new_event_makes_it_recompute(
            self, services: Services, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        for body in (ratified("USA", "1993-12-03"), ratified("RUS", "2001-11-02"), in_force("2002-01-01")):
            services.record_event("open-skies", body)
        computed: list[object] = []
        verify = services.ledger.verify

        def counted(*args: object, **kwargs: object) -> object:
            computed.append(args)
            return verify(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(services.ledger, "verify", counted)
        with TestClient(create_app(Settings(database=database_url), services)) as api:
            first = api.get("/v1/verify").json()
            assert first == {"ok": True, "events_checked": 4, "head": first["head"], "first_bad_event": None}
            assert [api.get("/v1/verify").json() for _ in range(3)] == [first] * 3
            assert len(computed) == 1  # the repeats read the store's head only
            assert api.get("/v1/treaties/open-skies/verify").json()["ok"] is True  # one treaty's chain is not cached
            assert len(computed) == 2

            services.ledger.record_event("open-skies", acceded("FIN", "2002-12-13"))  # a new head, recorded elsewhere
            second = api.get("/v1/verify").json()
            assert len(computed) == 3
            assert second["events_checked"] == 5 and second["head"] != first["head"] and second["ok"] is True
            assert api.get("/v1/verify").json() == second and len(computed) == 3

    def test_the_cached_answer_is_a_copy_the_caller_cannot_change(self, services: Services) -> None:
        answer = services.verify_ledger()
        answer["ok"] = False
        assert services.verify_ledger()["ok"] is True
