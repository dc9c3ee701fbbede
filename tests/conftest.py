"""Fixtures: a fresh store per test, on SQLite and on the real PostgreSQL.

PostgreSQL tests run against ``TREATY_LEDGER_TEST_POSTGRES`` (default
``postgresql://postgres@127.0.0.1:5432/test``), each test in a schema of its own that is
dropped afterwards. Where no server answers they skip with the reason, unless
``TREATY_LEDGER_REQUIRE_POSTGRES=1`` (set by ``.ci/run``): then they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest
from psycopg import sql

DEFAULT_TEST_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"

TEST_SIGNER = "PRIVATE+KEY+tests.treaty-ledger.local/ledger+b05240d3+AQcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUm"
"""The key every test's ledger signs its checkpoints with (servers started by tests inherit it), unless a test says otherwise."""


@pytest.fixture(autouse=True, scope="session")
def _signing_key_and_config_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Checkpoints signed with :data:`TEST_SIGNER`; the user's configuration folder a temporary one (never the developer's own)."""
    saved = {name: os.environ.get(name) for name in ("TREATY_LEDGER_SIGNING_KEY", "XDG_CONFIG_HOME")}
    os.environ["TREATY_LEDGER_SIGNING_KEY"] = TEST_SIGNER
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("config"))
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def postgres_base_url() -> str:
    return os.environ.get("TREATY_LEDGER_TEST_POSTGRES", DEFAULT_TEST_POSTGRES)


@cache
def postgres_unavailable() -> str | None:
    """Why PostgreSQL cannot be used, or ``None`` when it answers."""
    try:
        with psycopg.connect(postgres_base_url(), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        return f"PostgreSQL at {postgres_base_url()} does not answer: {error}".strip()
    return None


def require_postgres() -> None:
    reason = postgres_unavailable()
    if reason is None:
        return
    if os.environ.get("TREATY_LEDGER_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL tests are mandatory here (TREATY_LEDGER_REQUIRE_POSTGRES=1): {reason}")
    pytest.skip(reason)


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A PostgreSQL URL whose schema is a fresh one, dropped afterwards."""
    require_postgres()
    schema = f"test_{uuid4().hex[:12]}"
    yield f"{postgres_base_url()}?schema={schema}"
    with psycopg.connect(postgres_base_url(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose schema is this test's own, dropped afterwards."""
    with postgres_schema() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite URL for a fresh file in this test's temporary folder."""
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each store-level test runs once on SQLite and once on PostgreSQL."""
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def module_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One store per module on SQLite and one on PostgreSQL, for tests that only read what the module set up once."""
    if request.param == "postgres":
        with postgres_schema() as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('module') / 'ledger.db'}"
