"""The role the API and the worker run as on PostgreSQL (``treaty-ledger init --api-role``): it writes and reads, and cannot undo.

It records and answers through the whole ledger (events, views, tree, checkpoints), starts
without DDL, and is refused what an intruder with its credentials would try: dropping the
triggers, deleting or truncating events, rewriting the tree's checkpoints.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from uuid import uuid4

import psycopg
import pytest

from tests.command_line import run_cli
from tests.conftest import postgres_base_url, postgres_schema
from tests.scenario import SOURCE
from treaty_ledger.bootstrap import open_services

pytestmark = pytest.mark.postgres


@pytest.fixture
def role_url() -> Iterator[tuple[str, str, str]]:
    """(the owner's URL, the API role's URL, the role) on a fresh schema; the role and the schema dropped afterwards."""
    role = f"tl_api_{uuid4().hex[:10]}"
    with postgres_schema() as owner:
        schema = owner.split("schema=")[1]
        try:
            yield owner, owner.replace("postgresql://postgres@", f"postgresql://{role}@"), role
        finally:
            with psycopg.connect(postgres_base_url(), autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
                if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                    conn.execute(f'DROP OWNED BY "{role}"')
                    conn.execute(f'DROP ROLE "{role}"')


def test_the_api_role_records_answers_and_proves_without_owning_anything(role_url: tuple[str, str, str]) -> None:
    owner, api, role = role_url
    result = run_cli("init", "--api-role", role, database=owner)
    assert result.exit_code == 0, result.stderr
    assert f"created role {role}" in result.stdout
    services = open_services(api)
    try:
        services.register_treaty({"id": "open-skies", "title": "Treaty on Open Skies", "source": SOURCE})
        for state in ("USA", "RUS"):
            services.record_event("open-skies", {"type": "ratified", "state": state, "date": "1995-01-01", "source": SOURCE})
        assert [c["state"] for c in services.read.membership_as_of("open-skies", date(2000, 1, 1))["contracting"]] == ["RUS", "USA"]
        latest = services.tree.sign()
        assert latest is not None and latest.size == 3 and latest.note is not None
        assert services.tree.consistency(1, 3)
    finally:
        services.close()
    again = run_cli("init", "--api-role", role, database=owner)  # a second run updates the role's grants
    assert again.exit_code == 0 and f"updated role {role}" in again.stdout


def test_the_api_role_cannot_drop_the_triggers_or_delete_history(role_url: tuple[str, str, str]) -> None:
    owner, api, role = role_url
    assert run_cli("init", "--api-role", role, database=owner).exit_code == 0
    services = open_services(api)
    services.register_treaty({"id": "open-skies", "title": "Treaty on Open Skies", "source": SOURCE})
    services.close()
    schema = owner.split("schema=")[1]
    with psycopg.connect(postgres_base_url().replace("postgresql://postgres@", f"postgresql://{role}@"), autocommit=True) as conn:
        for statement, refusal in [
            (f'DROP TRIGGER treaty_ledger_immutable ON "{schema}".treatyledger_events', "must be owner"),
            (f'DROP TRIGGER treaty_ledger_immutable_snapshots ON "{schema}".treatyledger_snapshots', "must be owner"),
            (f'DELETE FROM "{schema}".treatyledger_events', "permission denied"),
            (f'TRUNCATE "{schema}".treatyledger_events', "permission denied"),
            (f'UPDATE "{schema}".treatyledger_events SET topic = \'x\'', "immutable"),
            (f'DELETE FROM "{schema}".tl_checkpoints', "permission denied"),
            (f'UPDATE "{schema}".tl_tree_nodes SET hash = \'00\'', "permission denied"),
            (f'DROP TABLE "{schema}".tl_tree_treaties', "must be owner"),
        ]:
            with pytest.raises(psycopg.Error, match=refusal):
                conn.execute(statement)


def test_api_role_is_for_postgresql_only(sqlite_url: str) -> None:
    result = run_cli("init", "--api-role", "someone", database=sqlite_url)
    assert result.exit_code == 2 and "SQLite has no roles" in result.stderr


def test_the_api_role_opens_views_that_still_hold_an_index_it_may_not_drop(role_url: tuple[str, str, str],
                                                                           caplog: pytest.LogCaptureFixture) -> None:
    owner, api, role = role_url
    assert run_cli("init", "--api-role", role, database=owner).exit_code == 0
    schema = owner.split("schema=")[1]
    with psycopg.connect(postgres_base_url(), autocommit=True) as conn:  # what an earlier version made, as the owner
        conn.execute(f'CREATE INDEX tl_intervals_now ON "{schema}".tl_intervals (treaty, kind, since) WHERE known_to IS NULL')
    services = open_services(api)  # the retired index is left, with a warning, and the views answer
    try:
        services.register_treaty({"id": "open-skies", "title": "Treaty on Open Skies", "source": SOURCE})
        services.record_event("open-skies", {"type": "ratified", "state": "USA", "date": "1995-01-01", "source": SOURCE})
        assert [c["state"] for c in services.read.membership_as_of("open-skies", date(2000, 1, 1))["contracting"]] == ["USA"]
    finally:
        services.close()
    assert "left an index earlier versions made" in caplog.text and "tl_intervals_now" in caplog.text
    open_services(owner).close()  # the owner drops it
    with psycopg.connect(postgres_base_url(), autocommit=True) as conn:
        assert conn.execute("SELECT 1 FROM pg_indexes WHERE schemaname = %s AND indexname = 'tl_intervals_now'", (schema,)).fetchone() is None
