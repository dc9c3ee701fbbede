"""Free text as the ledger accepts it: non-blank, without NUL characters or lone surrogates.

A lone surrogate (``"\\ud800"``, which JSON can escape but UTF-8 cannot encode) would fail in the
store; a NUL character is refused by PostgreSQL and hides text from most tools. Both are
refused at the door, naming the field.
"""

from __future__ import annotations

from typing import Any

from treaty_ledger.domain.errors import InvalidInput

__all__ = ["MAX_TEXT", "TEXT_PATTERN", "check_text"]

MAX_TEXT = 20_000
"""The longest free text a field takes, in characters."""

TEXT_PATTERN = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"
"""JSON Schema's statement of the rule: some character that is not white space, and no NUL."""


def check_text(value: Any, *, field: str, max_length: int = MAX_TEXT, what: str = "non-empty text") -> str:
    """``value`` stripped of surrounding white space, or :class:`InvalidInput` naming ``field``."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"expected {what}", field=field)
    if "\x00" in value:
        raise InvalidInput("contains a NUL character (\\u0000), which text may not hold", field=field)
    if not value.isascii():  # ASCII text holds no surrogate
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            raise InvalidInput(
                f"contains a lone surrogate ({value[error.start]!r} at character {error.start}), which is not Unicode text", field=field
            ) from None
    text = value.strip()
    if len(text) > max_length:
        raise InvalidInput(f"longer than {max_length} characters", field=field)
    return text
