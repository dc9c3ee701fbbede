"""How the API answers errors the layers below raise on purpose."""

import asyncio

import httpx2
from fastapi import FastAPI

from treaty_ledger.api.errors import install_error_handlers
from treaty_ledger.store.projection import ViewsIncomplete


def test_views_that_lack_a_treaty_are_a_500_that_asks_for_a_rebuild() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/damaged")
    def damaged() -> None:
        raise ViewsIncomplete("the views hold no treaty with aggregate id 42: rebuild them (treaty-ledger rebuild)")

    async def get() -> httpx2.Response:
        async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://api") as client:
            return await client.get("/damaged")

    response = asyncio.run(get())
    assert response.status_code == 500
    assert response.json() == {"error": "views_incomplete", "field": None,
                                "reason": "the views hold no treaty with aggregate id 42: rebuild them (treaty-ledger rebuild)"}
