"""``treaty-ledger audit``: receipts, exports and checkpoints checked offline with the public key alone, and ``verify``'s kept checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.command_line import run_cli
from tests.integration.helpers import drop_immutability, execute
from tests.scenario import SOURCE
from treaty_ledger.api.app import create_app
from treaty_ledger.api.settings import Settings
from treaty_ledger.bootstrap import Services, open_services
from treaty_ledger.cli.commands import app

DATASET = Path(__file__).resolve().parents[2] / "data" / "open-skies.yaml"


def offline(*args: str) -> object:
    """A command that opens no database (``audit``): run without ``--database``."""
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def services(sqlite_url: str) -> Services:
    assert run_cli("import", str(DATASET), database=sqlite_url).exit_code == 0
    opened = open_services(sqlite_url)
    yield opened
    opened.close()


def public_key(services: Services) -> str:
    assert services.tree.signer is not None
    return services.tree.signer.verifier.encoded()


def test_an_export_with_proofs_audits_and_any_change_to_it_fails(services: Services, sqlite_url: str, tmp_path: Path) -> None:
    exported = tmp_path / "open-skies.jsonl"
    assert run_cli("export", "open-skies", "--proofs", "-o", str(exported), database=sqlite_url).exit_code == 0
    result = offline("audit", "export", str(exported), "--key", public_key(services))
    assert result.exit_code == 0, result.stderr
    assert "99 leaves proven" in result.stdout
    lines = exported.read_text().splitlines()
    for change in ({"date": "1980-01-01"}, {"date": "19992-03-24"}, {"source": {"title": "Another source"}}):
        changed = tmp_path / "changed.jsonl"
        changed.write_text("\n".join([*lines[:5], json.dumps({**json.loads(lines[5]), **change}), *lines[6:]]))
        result = offline("audit", "export", str(changed), "--key", public_key(services))
        assert result.exit_code == 1 and "event 5" in result.stderr, (change, result.stderr)
    dropped = tmp_path / "dropped.jsonl"
    dropped.write_text("\n".join([*lines[:7], *lines[8:]]))
    result = offline("audit", "export", str(dropped), "--key", public_key(services))
    assert result.exit_code == 1 and "failed" in result.stderr


def test_an_export_made_for_a_kept_checkpoint_audits_against_it(services: Services, sqlite_url: str, tmp_path: Path) -> None:
    kept = services.tree.sign()
    assert kept is not None and kept.note is not None
    (tmp_path / "kept.note").write_text(kept.note)
    services.record_event("open-skies", {"type": "statement", "state": "RUS", "date": "2022-01-01", "summary": "later", "source": SOURCE})
    exported = tmp_path / "at-kept.jsonl"
    assert run_cli("export", "open-skies", "--proofs", "--tree-size", str(kept.size), "-o", str(exported), database=sqlite_url).exit_code == 0
    result = offline("audit", "export", str(exported), "--key", public_key(services), "--checkpoint", str(tmp_path / "kept.note"))
    assert result.exit_code == 0, result.stderr
    newest = tmp_path / "newest.jsonl"
    assert run_cli("export", "open-skies", "--proofs", "-o", str(newest), database=sqlite_url).exit_code == 0
    result = offline("audit", "export", str(newest), "--key", public_key(services), "--checkpoint", str(tmp_path / "kept.note"))
    assert result.exit_code == 1 and "--tree-size" in result.stderr


def test_a_receipt_audits_offline_and_a_changed_answer_fails(services: Services, sqlite_url: str, tmp_path: Path) -> None:
    with TestClient(create_app(settings=Settings(database=sqlite_url), services=services)) as client:
        body = client.get("/v1/treaties/open-skies/membership/receipt", params={"as_of": "2021-01-01"}).json()
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(body))
    result = offline("audit", "receipt", str(path), "--key", public_key(services))
    assert result.exit_code == 0, result.stderr
    forged = dict(body, answer={**body["answer"], "events": [*body["answer"]["events"], "00000000-0000-4000-8000-000000000000"]})
    path.write_text(json.dumps(forged))
    assert offline("audit", "receipt", str(path), "--key", public_key(services)).exit_code == 1
    leaves = [dict(leaf) for leaf in body["receipt"]["leaves"]]
    leaves[1]["entry"] = {**leaves[1]["entry"], "date": "1999-01-01"}
    path.write_text(json.dumps({**body, "receipt": {**body["receipt"], "leaves": leaves}}))
    result = offline("audit", "receipt", str(path), "--key", public_key(services))
    assert result.exit_code == 1 and "not in the tree" in result.stderr
    note = body["receipt"]["checkpoint"]["note"].replace("\n99\n", "\n98\n")
    path.write_text(json.dumps({**body, "receipt": {**body["receipt"], "checkpoint": {"note": note}}}))
    result = offline("audit", "receipt", str(path), "--key", public_key(services))
    assert result.exit_code == 1 and "does not check" in result.stderr


def test_a_checkpoint_kept_is_consistent_with_a_later_one_and_not_with_another_history(services: Services, sqlite_url: str,
                                                                                      tmp_path: Path) -> None:
    old = services.tree.sign()
    services.record_event("open-skies", {"type": "statement", "state": "RUS", "date": "2022-01-01", "summary": "later", "source": SOURCE})
    new = services.tree.sign()
    assert old is not None and new is not None and old.note and new.note
    (tmp_path / "old.note").write_text(old.note)
    (tmp_path / "new.note").write_text(new.note)
    with TestClient(create_app(settings=Settings(database=sqlite_url), services=services)) as client:
        proof = client.get("/v1/proofs/consistency", params={"first": old.size, "second": new.size}).json()
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    key = public_key(services)
    result = offline("audit", "consistency", str(tmp_path / "old.note"), str(tmp_path / "new.note"), "--proof", str(tmp_path / "proof.json"), "--key", key)
    assert result.exit_code == 0, result.stderr
    other = open_services(f"sqlite:///{tmp_path / 'other.db'}")  # another history signed with the same key: a fork
    other.register_treaty({"id": "forked", "title": "Forked", "source": SOURCE})
    for number in range(new.size - 1):  # with its registration, as many leaves as the newer checkpoint
        other.record_event("forked", {"type": "statement", "state": "FRA", "date": "2001-01-01", "summary": f"{number}", "source": SOURCE})
    forked = other.tree.sign()
    assert forked is not None and forked.size == new.size
    other.close()
    assert forked.note is not None
    (tmp_path / "forked.note").write_text(forked.note)
    result = offline("audit", "consistency", str(tmp_path / "old.note"), str(tmp_path / "forked.note"), "--proof", str(tmp_path / "proof.json"),
                     "--key", key)
    assert result.exit_code == 1 and "rewritten, truncated or forked" in result.stderr


def test_verify_keeps_the_checkpoint_it_checked_and_then_finds_a_truncated_store(services: Services, sqlite_url: str) -> None:
    first = run_cli("verify", database=sqlite_url)
    assert first.exit_code == 0, first.stderr
    assert "kept checkpoint 99" in first.stderr
    drop_immutability(sqlite_url)
    execute(sqlite_url, "DROP TRIGGER IF EXISTS treaty_ledger_no_delete_snapshots")
    execute(sqlite_url, "DELETE FROM {events} WHERE rowid = (SELECT MAX(rowid) FROM {events})")
    # the intruder covers their tracks in the tree too
    execute(sqlite_url, "DELETE FROM tl_tree_nodes WHERE level = 0 AND idx >= 98")
    execute(sqlite_url, "DELETE FROM tl_checkpoints WHERE size >= 99")
    again = run_cli("verify", database=sqlite_url)
    assert again.exit_code == 1
    assert "fewer than the 99 of the checkpoint kept" in again.stderr


def test_audit_refuses_a_key_that_is_not_one(tmp_path: Path) -> None:
    (tmp_path / "r.json").write_text("{}")
    result = offline("audit", "receipt", str(tmp_path / "r.json"), "--key", "not-a-key")
    assert result.exit_code == 2 and "verifier key" in result.stderr
