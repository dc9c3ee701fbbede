"""A PostgreSQL server that does not answer is a clear message and exit 2, not a traceback."""

from __future__ import annotations

import socket

import pytest

from tests.command_line import run_cli


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens there once the socket is closed


@pytest.mark.parametrize("command", [["verify"], ["membership", "open-skies"], ["init"]])
def test_a_database_that_does_not_answer_is_named_not_a_traceback(command: list[str]) -> None:
    result = run_cli(*command, database=f"postgresql://nobody@127.0.0.1:{closed_port()}/nothing")
    assert result.exit_code == 2, result.output
    assert "cannot reach the database" in result.output and "Connection refused" in result.output
