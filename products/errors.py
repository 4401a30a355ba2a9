"""Errors raised by the products package."""

from __future__ import annotations


class CatalogError(ValueError):
    """A catalogue file or product definition is invalid; the message names the place.

    ``problems`` lists the same findings one by one as (path, message), the path written
    ``terms.amount_min.value`` or ``conditions[2].op`` (what a form puts beside a field).
    """

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.problems: list[tuple[str, str]] = list(problems or [])


class QuoteError(ValueError):
    """A quote was asked for outside the product's terms; carries zh and en messages."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(f"{message_en} / {message_zh}")
        self.message_zh = message_zh
        self.message_en = message_en


class ProfileError(ValueError):
    """A profile or request value cannot be read (wrong type or format)."""
