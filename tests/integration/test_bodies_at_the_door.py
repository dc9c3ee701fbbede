"""Request bodies at the door: read once, checked by the domain's catalogue, every failure a 4xx
naming the field, nothing stored; and the OpenAPI document states the catalogue's constraints."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from treaty_ledger.api.app import create_app
from treaty_ledger.api.settings import Settings
from treaty_ledger.bootstrap import Services, open_services
from treaty_ledger.store.keys import KeyStore

SOURCE = {"title": "Treaty on Open Skies", "url": "https://www.osce.org/library/14127"}
TREATY = {"id": "open-skies", "title": "Treaty on Open Skies", "rules": {"withdrawal_notice": "P6M"}, "source": SOURCE}


@dataclass
class Door:
    client: TestClient
    services: Services

    def count(self) -> int:
        return len(self.services.ledger.list_events("open-skies"))

    def post_raw(self, path: str, content: bytes, content_type: str = "application/json") -> dict:
        response = self.client.post(path, content=content, headers={"Content-Type": content_type})
        assert 400 <= response.status_code < 500, (response.status_code, response.text)
        return {"status": response.status_code, **response.json()}


@pytest.fixture
def door(database_url: str) -> Iterator[Door]:
    services = open_services(database_url)
    _, secret = KeyStore(services.view).create("door", "writer")
    with TestClient(create_app(Settings(database=database_url), services)) as client:
        client.headers["Authorization"] = f"Bearer {secret}"
        assert client.post("/v1/treaties", json=TREATY).status_code == 201
        yield Door(client, services)
    services.close()


EVENTS = "/v1/treaties/open-skies/events"
SIGNED = b'{"type": "statement", "state": "USA", "date": "2020-05-21", "source": {"title": "t"}, '


class TestText:
    @pytest.mark.parametrize(("body", "field"), [
        (SIGNED + b'"summary": "withdrawal \\ud800 announced"}', "summary"),
        (SIGNED + b'"summary": "x", "note": "\\udfff"}', "note"),
        (b'{"type": "statement", "state": "USA", "date": "2020-05-21", "summary": "x", "source": {"title": "t", "quote": "\\ud83d"}}',
         "source.quote"),
        (b'{"type": "signed", "state": "\\ud800", "date": "1992-03-24", "source": {"title": "t"}}', "state"),
    ], ids=["summary", "note", "source.quote", "state"])
    def test_a_lone_surrogate_in_text_is_a_422_naming_the_field_and_nothing_is_stored(self, door: Door, body: bytes, field: str) -> None:
        before = door.count()
        error = door.post_raw(EVENTS, body)
        assert (error["status"], error["field"], "surrogate" in error["reason"]) == (422, field, True), error
        assert door.count() == before

    @pytest.mark.parametrize(("path", "body"), [
        (EVENTS, b'{"type": "ratified", "state": "USA", "date": "1993-12-03", "source": {"title": "t"}, "\\ud800": 1}'),
        (EVENTS, b'{"type": "ratified", "state": "USA", "date": "1993-12-03", "source": {"title": "t", "\\udc00x": "y"}}'),
        (EVENTS, b'{"type": "correction", "corrects": "6f1c1f4e-0000-4000-8000-000000000000", "source": {"title": "t"}, '
                 b'"changes": {"\\ud800": "2001-01-01"}}'),
        ("/v1/treaties", b'{"id": "x-treaty", "title": "X", "source": {"title": "t"}, "\\ud800": 1}'),
        ("/v1/treaties", b'{"id": "x-treaty", "title": "X", "source": {"title": "t"}, "rules": {"\\ud800": "P6M"}}'),
    ], ids=["event", "source", "changes", "treaty", "rules"])
    def test_a_lone_surrogate_in_a_key_is_a_422_naming_the_body_and_nothing_is_stored(self, door: Door, path: str, body: bytes) -> None:
        before = door.count()
        error = door.post_raw(path, body)
        assert (error["status"], error["field"]) == (422, "body") and "lone surrogate" in error["reason"], error
        assert door.count() == before and door.client.get("/v1/treaties/x-treaty").status_code == 404

    def test_a_lone_surrogate_in_a_treaty_title_is_a_422_naming_the_title(self, door: Door) -> None:
        error = door.post_raw("/v1/treaties", b'{"id": "x-treaty", "title": "Accord \\ud800", "source": {"title": "t"}}')
        assert (error["status"], error["field"]) == (422, "title") and "surrogate" in error["reason"]
        assert door.client.get("/v1/treaties/x-treaty").status_code == 404

    @pytest.mark.parametrize(("fields", "field"), [
        ({"summary": "said\u0000so"}, "summary"),
        ({"summary": "x", "note": "\u0000"}, "note"),
        ({"summary": "x", "source": {"title": "t", "publisher": "Mini\u0000stry"}}, "source.publisher"),
    ], ids=["summary", "note", "source.publisher"])
    def test_a_nul_character_in_text_is_a_422_naming_the_field_and_nothing_is_stored(self, door: Door, fields: dict, field: str) -> None:
        before = door.count()
        response = door.client.post(EVENTS, json={"type": "statement", "state": "USA", "date": "2020-05-21", "source": SOURCE, **fields})
        assert (response.status_code, response.json()["field"]) == (422, field) and "NUL" in response.json()["reason"]
        assert door.count() == before


class TestEnvelope:
    @pytest.mark.parametrize(("content", "reason"), [
        (b"", "empty"),
        (b"   ", "empty"),
        (b"[]", "expected a JSON object, got an array"),
        (b"null", "expected a JSON object, got null"),
        (b'"signed"', "expected a JSON object, got a string"),
        (b"42", "expected a JSON object, got a number"),
        (b'{"type": "signed", "date": NaN}', "NaN is not a JSON number"),
        (b'{"type": "signed",', "not valid JSON at character"),
        (b'{"type": "sign\xe9d"}', "not UTF-8"),
        (b"\xff\xfe{}", "not UTF-8"),
    ], ids=["empty", "blank", "array", "null", "string", "number", "nan", "truncated", "latin-1", "utf-16-bom"])
    def test_a_body_that_is_no_json_object_is_a_422_naming_the_body(self, door: Door, content: bytes, reason: str) -> None:
        before = door.count()
        error = door.post_raw(EVENTS, content)
        assert (error["status"], error["field"]) == (422, "body") and reason in error["reason"], error
        assert door.count() == before

    def test_a_body_nested_thousands_deep_is_a_422_naming_the_body(self, door: Door) -> None:
        deep = b'{"type": "correction", "corrects": "6f1c1f4e-0000-4000-8000-000000000000", "source": {"title": "t"}, "changes": {"a": ' \
            + b"[" * 5000 + b"]" * 5000 + b"}}"
        error = door.post_raw(EVENTS, deep)
        assert (error["status"], error["field"]) == (422, "body") and "nests deeper" in error["reason"]
        shallow_but_too_deep = b'{"changes": ' + b'{"a": ' * 40 + b"1" + b"}" * 40 + b"}"
        assert door.post_raw(EVENTS, shallow_but_too_deep)["field"] == "body"

    @pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
    def test_a_body_not_sent_as_json_is_a_415_naming_the_body(self, door: Door, content_type: str) -> None:
        before = door.count()
        body = b'{"type": "signed", "state": "USA", "date": "1992-03-24", "source": {"title": "t"}}'
        response = door.client.post(EVENTS, content=body, headers={"Content-Type": content_type} if content_type else {})
        assert response.status_code == 415 and response.json()["field"] == "body", response.text
        assert door.count() == before

    @pytest.mark.parametrize("content", [b"", b"[1", b"\xff"], ids=["empty", "broken", "not-utf-8"])
    def test_a_write_without_a_key_is_a_401_whatever_its_body(self, door: Door, content: bytes) -> None:
        response = door.client.post(EVENTS, content=content, headers={"Authorization": "", "Content-Type": "text/plain"})
        assert response.status_code == 401 and response.json()["field"] == "Authorization"

    def test_a_body_over_a_mebibyte_is_a_413(self, door: Door) -> None:
        body = b'{"type": "statement", "state": "USA", "date": "2020-05-21", "source": {"title": "t"}, "summary": "' + b"x" * (1 << 20) + b'"}'
        assert door.post_raw(EVENTS, body)["status"] == 413

    def test_json_with_a_charset_and_a_json_suffix_type_is_read(self, door: Door) -> None:
        body = b'{"type": "signed", "state": "USA", "date": "1992-03-24", "source": {"title": "t"}}'
        response = door.client.post(EVENTS, content=body, headers={"Content-Type": "application/json; charset=utf-8"})
        assert response.status_code == 201, response.text


def _resolve(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


class TestTheOpenApiDocument:
    def test_every_event_type_is_a_body_schema_with_the_catalogues_constraints(self, door: Door) -> None:
        document = door.client.get("/openapi.json").json()
        body = document["paths"]["/v1/treaties/{treaty}/events"]["post"]["requestBody"]["content"]["application/json"]["schema"]
        union = _resolve(document, body)
        assert union["discriminator"]["propertyName"] == "type" and len(union["oneOf"]) == len(union["discriminator"]["mapping"]) >= 25
        ratified = _resolve(document, {"$ref": union["discriminator"]["mapping"]["ratified"]})
        assert ratified["additionalProperties"] is False and {"type", "date", "state", "source"} <= set(ratified["required"])
        assert ratified["properties"]["date"]["pattern"] == r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$" and ratified["properties"]["date"]["format"] == "date"
        assert ratified["properties"]["instrument"]["anyOf"][0]["enum"] == ["ratification", "acceptance", "approval"]
        restriction = _resolve(document, {"$ref": union["discriminator"]["mapping"]["restriction_imposed"]})
        assert restriction["properties"]["detail"]["minLength"] == 1 and "pattern" in restriction["properties"]["detail"]
        correction = _resolve(document, {"$ref": union["discriminator"]["mapping"]["correction"]})
        assert "date" not in correction["properties"] and correction["properties"]["corrects"]["format"] == "uuid"
        source = document["components"]["schemas"]["Source"]
        assert source["anyOf"] == [{"required": ["title"], "properties": {"title": {"type": "string"}}},
                                   {"required": ["url"], "properties": {"url": {"type": "string"}}}]

    def test_a_treaty_body_states_the_slug_pattern_and_the_rules(self, door: Door) -> None:
        document = door.client.get("/openapi.json").json()
        body = document["paths"]["/v1/treaties"]["post"]["requestBody"]["content"]["application/json"]["schema"]
        treaty = _resolve(document, body)
        assert treaty["properties"]["id"]["pattern"] == r"^[a-z0-9][a-z0-9-]{0,99}$"
        assert treaty["required"] == ["id", "title", "source"]
        rules = document["components"]["schemas"]["Rules"]["properties"]
        assert rules["minimum_parties"]["anyOf"][0] == {"type": "integer", "minimum": 1, "examples": [2]}
        assert rules["withdrawal_notice"]["anyOf"][0]["pattern"].startswith("^P")

    def test_date_parameters_state_their_format(self, door: Door) -> None:
        document = door.client.get("/openapi.json").json()
        for path, name in [("/v1/treaties/{treaty}/membership", "as_of"), ("/v1/treaties/{treaty}/changes", "from"),
                           ("/v1/treaties/{treaty}/changes", "to"), ("/v1/treaties/{treaty}/events", "from")]:
            (parameter,) = [p for p in document["paths"][path]["get"]["parameters"] if p["name"] == name]
            assert parameter["schema"]["format"] == "date" and parameter["schema"]["pattern"] == r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", (path, name)
