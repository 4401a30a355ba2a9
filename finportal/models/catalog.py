"""Products and their published versions, reference rates and the holiday table."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from finportal.models.base import Base, Rate, TimestampMixin, utcnow


class Product(TimestampMixin, Base):
    """A loan product of the catalogue; its terms live in its versions."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("product_versions.id", use_alter=True)
    )
    active: Mapped[bool] = mapped_column(default=True)

    current_version: Mapped[ProductVersion | None] = relationship(
        foreign_keys=[current_version_id], post_update=True
    )


class ProductVersion(Base):
    """One published content of a product (the catalogue YAML as data); never edited."""

    __tablename__ = "product_versions"
    __table_args__ = (
        UniqueConstraint("product_id", "number"),
        UniqueConstraint("product_id", "content_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    number: Mapped[int]
    content: Mapped[dict[str, Any]]
    content_hash: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Set when the 政策找企业 push for this version has run.
    notified_at: Mapped[datetime | None]

    product: Mapped[Product] = relationship(foreign_keys=[product_id])


class ReferenceRate(Base):
    """A reference rate with its effective date, e.g. the 1-year LPR."""

    __tablename__ = "reference_rates"
    __table_args__ = (UniqueConstraint("kind", "effective_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "lpr_1y" (1-year loan prime rate) or "lpr_5y".
    kind: Mapped[str] = mapped_column(String(20))
    #: Annual rate as a decimal fraction: 0.030000 is 3.00 % per year.
    annual_rate: Mapped[Decimal] = mapped_column(Rate)
    effective_on: Mapped[date]
    source: Mapped[str] = mapped_column(String(500), default="")


class Holiday(Base):
    """A day that breaks the working-day rule: a public holiday, or a weekend workday (调休)."""

    __tablename__ = "holidays"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(80))
    #: True for a weekend day that is worked (调休上班), False for a day off.
    is_workday: Mapped[bool] = mapped_column(default=False)


# --- issue 13 (wip-13p): maker-checker publishing and the per-firm push state -------------


class ProductDraft(Base):
    """A product content drafted by one admin, published only when a second admin approves.

    ``state`` follows the ``product_draft`` machine (``domain/states.py``): pending ->
    approved | returned | withdrawn. ``base_version_id`` is the version the draft was made
    against; approving refuses a draft whose product moved on since.
    """

    __tablename__ = "product_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), index=True)
    content: Mapped[dict[str, Any]]
    content_hash: Mapped[str] = mapped_column(String(64))
    base_version_id: Mapped[int | None] = mapped_column(ForeignKey("product_versions.id"))
    state: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    drafted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    drafted_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(String(2000), default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(String(2000), default="")
    #: The version the approval published (or made current again).
    version_id: Mapped[int | None] = mapped_column(ForeignKey("product_versions.id"))

    base_version: Mapped[ProductVersion | None] = relationship(foreign_keys=[base_version_id])
    version: Mapped[ProductVersion | None] = relationship(foreign_keys=[version_id])


class PushRecord(Base):
    """What a firm was last told of a product (政策找企业): the version and its cost.

    One row per enterprise and product. A push is sent only when a product is new for the
    firm (no row) or cheaper than the effective annual cost last told; the row then records
    the new notice. ``effective_rate`` is None when the cost told is unknown (a notice sent
    before this record existed).
    """

    __tablename__ = "push_records"
    __table_args__ = (UniqueConstraint("enterprise_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("product_versions.id"))
    #: The effective annual cost told (decimal fraction per year), at the example loan.
    effective_rate: Mapped[Decimal | None] = mapped_column(Rate)
    told_at: Mapped[datetime] = mapped_column(default=utcnow)
