"""Declarative base with a constraint naming convention, so migration names stay stable."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, Numeric, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: Told of every reading of the clock through :func:`utcnow` and :func:`clock_read` (the page
#: cache: a page that shows the time is kept only while what it shows holds). Each is given
#: the moment until which what was read holds, None for no longer than this moment.
CLOCK_READERS: list[Callable[[datetime | None], None]] = []


def clock_read(holds_until: datetime | None) -> None:
    """Tell :data:`CLOCK_READERS` that the clock was read, and until when what was read holds
    (a date: until its midnight; None: the time itself, which holds no longer than now)."""
    for reader in CLOCK_READERS:
        reader(holds_until)


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC (and tell :data:`CLOCK_READERS`)."""
    clock_read(None)
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Store timestamps in UTC and always hand back aware datetimes (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Money in yuan, to the fen.
Money = Numeric(18, 2, asdecimal=True)
# An annual rate as a decimal fraction (0.0310 = 3.10 % per year).
Rate = Numeric(9, 6, asdecimal=True)


class Base(DeclarativeBase):
    """Base class of every ORM model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        Decimal: Money,
        dict: JSON,
        list: JSON,
        dict[str, Any]: JSON,
        dict[str, object]: JSON,
        list[Any]: JSON,
        list[str]: JSON,
    }


class TimestampMixin:
    """Add ``created_at`` and ``updated_at`` columns."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
