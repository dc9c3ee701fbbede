"""The FastAPI application, built by :func:`create_app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from treaty_ledger.api import pages
from treaty_ledger.api.errors import install_error_handlers
from treaty_ledger.api.openapi import openapi_document
from treaty_ledger.api.routers import events, feeds, health, proofs, queries, treaties
from treaty_ledger.api.settings import Settings
from treaty_ledger.bootstrap import Services, open_services

__all__ = ["create_app"]

DESCRIPTION = """An event-sourced, bitemporal, tamper-evident ledger of treaty status.

Query state **as of a date** (`as_of`) and **as the ledger knew it** at a moment (`known_at`);
audit every answer through the events it names; record events with a writer key
(`Authorization: Bearer <key>`, made by `treaty-ledger keys create --name NAME --role writer`).
"""


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """Build the app. Without ``services`` it opens the store named by the settings at start-up."""
    chosen = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = services or open_services(chosen.database)
        app.state.services = opened
        try:
            yield
        finally:
            if services is None:
                opened.close()

    # /docs and /redoc are pages of our own (api/pages.py): their scripts come from the package, not a CDN.
    app = FastAPI(title="Treaty Ledger", version="0.1.0", description=DESCRIPTION, lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = chosen
    install_error_handlers(app, page_error=pages.error_page)
    for router in (treaties.router, events.router, queries.router, queries.states_router, proofs.router, feeds.router, health.router,
                   pages.router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=pages.STATIC), name="static")
    app.openapi = lambda: openapi_document(app, reads_open=not chosen.require_read_key)  # type: ignore[method-assign]
    return app
