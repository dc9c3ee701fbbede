"""The pages and the datasets' import against floors measured in the same run.

    python benchmarks/pages.py                 # 60 requests and 10 browser loads of each page
    python benchmarks/pages.py --quick         # 10 requests, 3 loads (the smoke run)

1. Import: every shipped dataset into a fresh SQLite store (``treaty-ledger import`` in process), each
   file's wall time and events per second; then the Rome Statute again, which records nothing. No
   floor: the issue asks for "a few seconds".
2. Serving: a real ``treaty-ledger serve`` with those datasets and, beside it, the bare FastAPI app
   (``bare_app.py``, the floor of any request); interleaved in a shuffled order each round, the
   p50 and p99 of ``GET /treaties/rome-statute`` (the largest page: about 140 states), of the JSON
   it is a view of (``GET /v1/treaties/rome-statute/membership``) and of the bare app's ``GET /readyz``.
   Target: the page's p50 at most 100 ms.
3. Drawing: chromium (Playwright, Debian's binary) loads the Rome Statute page; the page says when its
   timeline was first shown (``data-drawn-ms`` on ``#timeline``: milliseconds since navigation began),
   beside the floor: the load of the bare app's ``/readyz`` in the same browser (its ``loadEventEnd``).
   Target: drawn within 1 s (p50).

Exit status 0 when every measurement was made (whether the targets are met or not: the output says).
"""

from __future__ import annotations

import argparse
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.server import free_port, start_server
from treaty_ledger.bootstrap import open_services
from treaty_ledger.store.datasets import import_file

PAGE = "/treaties/rome-statute?as_of=2024-01-01"
JSON = "/v1/treaties/rome-statute/membership?as_of=2024-01-01"


def p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def start_bare() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, str(HERE / "bare_app.py"), "--port", str(port)], cwd=HERE,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx2.get(f"{url}/readyz", timeout=1).status_code == 200:
                return process, url
        except httpx2.HTTPError:
            time.sleep(0.1)  # waiting for the process to listen
    process.kill()
    raise RuntimeError("the bare app did not start")


def imports(database: str) -> None:
    print("== import (SQLite, in process)")
    services = open_services(database)
    try:
        for path in sorted((ROOT / "data").glob("*.yaml")):
            started = time.perf_counter()
            report = import_file(services.ledger, path)
            took = time.perf_counter() - started
            print(f"  {path.name:20} {report.recorded:4} events in {took:5.2f} s ({report.recorded / took:,.0f} events/s)")
        started = time.perf_counter()
        again = import_file(services.ledger, ROOT / "data" / "rome-statute.yaml")
        print(f"  rome-statute.yaml again: {again.recorded} recorded, {again.already_there} already there, {time.perf_counter() - started:.2f} s")
        started = time.perf_counter()
        services.read.refresh()
        print(f"  views caught up in {time.perf_counter() - started:.2f} s")
    finally:
        services.close()


def serving(base: str, bare: str, rounds: int, rng: random.Random) -> None:
    print(f"== serving ({rounds} rounds, interleaved)")
    targets = {"page": f"{base}{PAGE}", "json": f"{base}{JSON}", "bare": f"{bare}/readyz"}
    samples: dict[str, list[float]] = {name: [] for name in targets}
    with httpx2.Client(timeout=60) as client:
        for url in targets.values():
            client.get(url)  # warm up
        for _ in range(rounds):
            names = list(targets)
            rng.shuffle(names)
            for name in names:
                started = time.perf_counter()
                response = client.get(targets[name])
                samples[name].append(time.perf_counter() - started)
                assert response.status_code == 200, (name, response.status_code)
    floor = statistics.median(samples["bare"])
    for name in ("page", "json", "bare"):
        p50 = statistics.median(samples[name])
        print(f"  {name:5} p50 {p50 * 1000:7.2f} ms  p99 {p(samples[name], 0.99) * 1000:7.2f} ms  ({p50 / floor:.1f}x the bare app)")
    page = statistics.median(samples["page"]) * 1000
    print(f"  target: the Rome Statute page p50 <= 100 ms: {page:.1f} ms, {'met' if page <= 100 else 'NOT met'}")


def drawing(base: str, bare: str, loads: int) -> None:
    print(f"== drawing in chromium ({loads} loads)")
    binary = shutil.which("chromium")
    if binary is None:
        print("  skipped: no chromium (apt-get install chromium)")
        return
    from playwright.sync_api import sync_playwright

    drawn, floor = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=binary, args=["--no-sandbox", "--disable-gpu"])
        for _ in range(loads + 1):
            context = browser.new_context(viewport={"width": 1366, "height": 900})
            page = context.new_page()
            page.goto(f"{base}{PAGE}")
            page.wait_for_selector("#timeline[data-drawn-ms]", timeout=30_000)
            drawn.append(float(page.get_attribute("#timeline", "data-drawn-ms") or "nan"))
            page.goto(f"{bare}/readyz")
            floor.append(float(page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")))
            context.close()
        browser.close()
    drawn, floor = drawn[1:], floor[1:]  # the first load fills the browser's caches
    p50 = statistics.median(drawn)
    print(f"  Rome Statute timeline shown p50 {p50:.0f} ms (max {max(drawn):.0f}); floor: the bare app's page loaded p50 {statistics.median(floor):.0f} ms")
    print(f"  target: drawn within 1 s: {'met' if p50 <= 1000 else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 requests and 3 browser loads")
    args = parser.parse_args()
    rounds, loads = (10, 3) if args.quick else (60, 10)
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    folder = Path(tempfile.mkdtemp(prefix="tl-pages-"))
    database = f"sqlite:///{folder / 'ledger.db'}"
    bare_process = None
    server = None
    try:
        imports(database)
        server = start_server(database)
        bare_process, bare = start_bare()
        serving(server.url, bare, rounds, random.Random(7))
        drawing(server.url, bare, loads)
    finally:
        if server is not None:
            server.stop()
        if bare_process is not None:
            bare_process.terminate()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
