"""Dependencies as short aliases: the services, the settings, and the key checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPBearer

from treaty_ledger.api.errors import Forbidden, Unauthorized
from treaty_ledger.api.settings import Settings
from treaty_ledger.bootstrap import Services
from treaty_ledger.store.keys import ApiKey, KeyStore

__all__ = ["BearerKey", "ReaderKey", "ServicesDep", "SettingsDep", "WriterKey", "get_services", "get_settings"]


def get_services(request: Request) -> Services:
    """The services opened when the app started."""
    services: Services = request.app.state.services
    return services


def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


class BearerKey(HTTPBearer):
    """The ``Authorization`` header as sent (checked by :func:`_key`, whose errors name the problem).

    Being a security scheme, it gives the interactive docs (``/docs``) their Authorize button.
    """

    async def __call__(self, request: Request) -> str | None:  # type: ignore[override]
        return request.headers.get("Authorization")


_API_KEY = BearerKey(
    auto_error=False,
    scheme_name="API key",
    description="A key made with `treaty-ledger keys create`. Writes need one with the writer role; reads need one "
    "only when the server requires it (`TREATY_LEDGER_REQUIRE_READ_KEY`).",
)


def _key(services: Services, authorization: str | None) -> ApiKey:
    if not authorization:
        raise Unauthorized("this request needs an API key: send 'Authorization: Bearer <key>'", field="Authorization")
    scheme, _, secret = authorization.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("expected 'Authorization: Bearer <key>'", field="Authorization")
    key = KeyStore(services.view).check(secret.strip())
    if key is None:
        raise Unauthorized("unknown or revoked API key", field="Authorization")
    return key


def require_writer(services: ServicesDep, authorization: Annotated[str | None, Security(_API_KEY)]) -> ApiKey:
    """The caller's key, which must have the writer role."""
    key = _key(services, authorization)
    if not key.allows("writer"):
        raise Forbidden(f"the key {key.name!r} has the {key.role} role; writes need writer", field="Authorization")
    return key


def require_reader(services: ServicesDep, settings: SettingsDep, authorization: Annotated[str | None, Security(_API_KEY)]) -> ApiKey | None:
    """The caller's key when reads need one (``TREATY_LEDGER_REQUIRE_READ_KEY``) or one is sent, else ``None``.

    Reads are open by default, but a key that is sent is checked: a client with a mistyped or
    revoked key learns so at once (401) instead of believing it is authenticated.
    """
    if not settings.require_read_key and not authorization:
        return None
    return _key(services, authorization)


WriterKey = Annotated[ApiKey, Depends(require_writer)]
ReaderKey = Annotated[ApiKey | None, Depends(require_reader)]
