"""The floor of one HTTP write: a bare FastAPI app with one POST route, served as `treaty-ledger serve` serves the API.

    python benchmarks/bare_app.py --port 8765

One uvicorn worker, the app built by a factory, log level ``info`` (an access-log line per
request, as the API's), a synchronous route (run in the thread pool, as the API's routes are)
that reads a JSON object and answers it with an id, 201. ``write_path.py`` starts it beside a
real ``treaty-ledger serve`` and posts the same bodies to both.
"""

from __future__ import annotations

import argparse
from typing import Any
from uuid import uuid4

import uvicorn
from fastapi import Body, FastAPI, status

APP = "bare_app:create_app"


def create_app() -> FastAPI:
    """An app with one route: POST /items, a JSON object in, the object and an id out."""
    app = FastAPI(title="bare")

    @app.post("/items", status_code=status.HTTP_201_CREATED)
    def create_item(item: dict[str, Any] = Body(...)) -> dict[str, Any]:
        return {"id": str(uuid4()), **item}

    @app.get("/readyz")
    def readyz() -> dict[str, str]:
        return {"status": "ready"}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(APP, factory=True, host=args.host, port=args.port, log_level="info")  # as cli/serving.py's _run with one worker


if __name__ == "__main__":
    main()
