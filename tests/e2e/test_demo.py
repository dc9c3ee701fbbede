"""The README's first command ends in `treaty-ledger demo`: it must bring up the API with the Open Skies data."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx2

from tests.e2e.server import free_port


def test_demo_imports_the_dataset_and_answers_its_printed_queries(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "treaty_ledger.cli", "demo", "--port", str(port)], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"the demo exited with {process.returncode}: {process.communicate()[0]}")
            try:
                if httpx2.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx2.HTTPError:
                time.sleep(0.2)  # waiting for a process to start listening
        else:
            raise AssertionError("the demo did not start")
        assert (tmp_path / "treaty-ledger.db").exists()
        assert httpx2.get(f"{base}/docs").status_code == 200
        at_entry = httpx2.get(f"{base}/v1/treaties/open-skies/membership", params={"as_of": "2002-01-01"}).json()
        assert at_entry["in_force"] and len(at_entry["parties"]) == 26
        june_2020 = httpx2.get(f"{base}/v1/treaties/open-skies/membership", params={"as_of": "2020-06-01"}).json()
        assert june_2020["withdrawing"] == [{"state": "USA", "notified_on": "2020-05-22", "effective_on": "2020-11-22"}]
        assert httpx2.get(f"{base}/v1/verify").json()["ok"] is True
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    queries = re.findall(r"curl '([^']+)'", output)
    assert f"{base}/docs" in output and len(queries) >= 5
    # the printed queries are the ones checked above, among others
    assert any("membership?as_of=2002-01-01" in q for q in queries)
