"""States: ISO 3166 codes in, canonical codes out.

A state is stored and answered with its ISO 3166-1 alpha-3 code (``USA``), or, for a state
that no longer exists, its ISO 3166-3 code (``CSHH`` for Czechoslovakia). Input may also use
alpha-2 codes and English names. Places that are not states (Kaliningrad, Abkhazia) are free
text elsewhere and never pass through here.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pycountry

from treaty_ledger.domain.errors import UnknownState

__all__ = ["is_historic", "normalise_state", "state_name"]

# English names in common use that ISO 3166's official and common names do not cover.
_ALIASES: dict[str, str] = {
    "russia": "RUS",
    "united states": "USA",
    "united states of america": "USA",
    "us": "USA",
    "usa": "USA",
    "united kingdom": "GBR",
    "uk": "GBR",
    "britain": "GBR",
    "great britain": "GBR",
    "czech republic": "CZE",
    "turkey": "TUR",
    "moldova": "MDA",
    "bosnia": "BIH",
    "bosnia and herzegovina": "BIH",
    "kyrgyzstan": "KGZ",
    "south korea": "KOR",
    "north korea": "PRK",
    "iran": "IRN",
    "syria": "SYR",
    "vietnam": "VNM",
    "laos": "LAO",
    "czechoslovakia": "CSHH",
    "soviet union": "SUHH",
    "ussr": "SUHH",
    "yugoslavia": "YUCS",
    "east germany": "DDDE",
    "german democratic republic": "DDDE",
    "serbia and montenegro": "CSXX",
}


@lru_cache(maxsize=4096)
def _lookup(text: str) -> str | None:
    key = text.strip()
    if not key:
        return None
    upper = key.upper()
    alias = _ALIASES.get(key.casefold())
    if alias:
        return alias
    if len(upper) == 4 and upper.isalpha():
        historic = pycountry.historic_countries.get(alpha_4=upper)
        return str(historic.alpha_4) if historic else None
    if len(upper) == 3 and upper.isalpha():
        country = pycountry.countries.get(alpha_3=upper)
        if country:
            return str(country.alpha_3)
        historic = pycountry.historic_countries.get(alpha_3=upper)
        return str(historic.alpha_4) if historic else None
    if len(upper) == 2 and upper.isalpha():
        country = pycountry.countries.get(alpha_2=upper)
        return str(country.alpha_3) if country else None
    try:
        return str(pycountry.countries.lookup(key).alpha_3)
    except LookupError:
        pass
    try:
        return str(pycountry.historic_countries.lookup(key).alpha_4)
    except LookupError:
        return None


def normalise_state(value: Any, *, field: str = "state") -> str:
    """Return the canonical code for a state given by code or English name.

    Raises :class:`UnknownState` naming ``field`` when ISO 3166 does not know it.
    """
    if not isinstance(value, str):
        raise UnknownState(
            f"expected a state code or name (e.g. 'USA'), got {type(value).__name__}",
            field=field,
        )
    code = _lookup(value)
    if code is None:
        raise UnknownState(
            f"unknown state {value!r}: use an ISO 3166-1 alpha-3 code (e.g. 'USA'), "
            "an ISO 3166-3 code for a historic state (e.g. 'CSHH'), or an English name",
            field=field,
        )
    return code


def is_historic(code: str) -> bool:
    """Whether ``code`` names a state that has ceased to exist (ISO 3166-3)."""
    return len(code) == 4


def state_name(code: str) -> str:
    """The English name of a canonical state code."""
    if is_historic(code):
        historic = pycountry.historic_countries.get(alpha_4=code)
        return str(historic.name) if historic else code
    country = pycountry.countries.get(alpha_3=code)
    if country is None:
        return code
    return str(getattr(country, "common_name", None) or country.name)
