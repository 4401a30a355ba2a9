"""Consented public data (无感核查): authorisations, imports and the verified facts they bring."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from finportal.models.base import Base, utcnow


class DataAuthorisation(Base):
    """An enterprise's authorisation that the centre fetch one source's data about it.

    In force on day D when not withdrawn and D is on or before ``valid_until`` (inclusive,
    Shanghai time): the consent rule of ``services/consents.py``, read from there.
    """

    __tablename__ = "data_authorisations"
    __table_args__ = (Index("ix_data_authorisations_firm_source", "enterprise_id", "source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    #: A source code of ``services/public_data/sources.py`` (tax, social_insurance, ...).
    source: Mapped[str] = mapped_column(String(40))
    #: The source's items the centre may fetch (item codes).
    scope: Mapped[list[str]] = mapped_column(default=list)
    valid_until: Mapped[date]
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class DataImport(Base):
    """One run of a connector: a file an admin uploaded, or a fetch over the exchange API."""

    __tablename__ = "data_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(40), index=True)
    #: file | http
    connector: Mapped[str] = mapped_column(String(20))
    #: queued -> checking -> storing -> done | rejected (bad rows: nothing stored) | failed
    state: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    filename: Mapped[str] = mapped_column(String(200), default="")
    #: The uploaded file (the job reads it from here: web and workers share the database).
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    #: For a fetch limited to one enterprise (after it authorised), else None: every firm.
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    job_id: Mapped[str | None] = mapped_column(String(36))
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_done: Mapped[int] = mapped_column(default=0)
    #: {"stored": n, "unchanged": n, "no_authorisation": n, "unknown_firm": n, ...}
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Row-numbered problems of a rejected file: [{"row", "column", "zh", "en"}].
    errors: Mapped[list[Any]] = mapped_column(default=list)
    message: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class VerifiedFact(Base):
    """One item of one enterprise as a source reported it, and where it came from.

    One row per enterprise and item: a later import with an as-of date no older replaces
    it. It counts (wins over the declared value) only while the authorisation it was
    fetched under is in force.
    """

    __tablename__ = "verified_facts"
    __table_args__ = (UniqueConstraint("enterprise_id", "item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    source: Mapped[str] = mapped_column(String(40))
    item: Mapped[str] = mapped_column(String(60))
    #: The value in its plain text form (money in yuan "1234.50", counts "12", "true"/"false").
    value: Mapped[str] = mapped_column(String(200))
    #: The date the source's data stands at (数据截至日期).
    as_of: Mapped[date]
    authorisation_id: Mapped[int] = mapped_column(ForeignKey("data_authorisations.id"))
    import_id: Mapped[int] = mapped_column(ForeignKey("data_imports.id"))
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)

    authorisation: Mapped[DataAuthorisation] = relationship()
