"""The ``treaty-ledger`` command line, run in this process (no interpreter start-up per command).

For commands whose behaviour is their output and exit status. Commands that need a process of
their own (``serve``, ``project`` loops, signals, spawned rebuild workers) run as subprocesses
in the tests that need them.
"""

from __future__ import annotations

from click.testing import Result
from typer.testing import CliRunner

from treaty_ledger.cli.commands import app


def run_cli(*args: str, database: str) -> Result:
    """Run ``treaty-ledger ARGS --database DATABASE`` and return its exit code, stdout and stderr.

    An exception the command does not turn into an exit status propagates, as a traceback would
    in a real run (it is not caught and reported as a status).
    """
    return CliRunner().invoke(app, [*args, "--database", database], catch_exceptions=False)


def create_key(database: str, name: str, role: str) -> str:
    """``treaty-ledger keys create``: the secret it prints, alone on its line."""
    result = run_cli("keys", "create", "--name", name, "--role", role, database=database)
    assert result.exit_code == 0, result.stderr
    secret = result.stdout.strip()
    assert secret.startswith("tl_") and "\n" not in secret
    return secret
