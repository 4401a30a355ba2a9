"""Batch loans (批次贷): one park or chamber, one bank, one batch product, a quota."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from finportal.models.base import Base, TimestampMixin, utcnow
from finportal.models.catalog import Product, ProductVersion
from finportal.models.enterprises import Enterprise
from finportal.models.organisations import Bank, Chamber, Park


class Batch(TimestampMixin, Base):
    """A batch of recommended members for one bank and one batch product."""

    __tablename__ = "batches"
    __table_args__ = (
        CheckConstraint("(park_id IS NULL) <> (chamber_id IS NULL)", name="one_organisation"),
        # The quota is never overspent, whatever the application does.
        CheckConstraint("quota_used <= quota_total", name="quota_not_overspent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    park_id: Mapped[int | None] = mapped_column(ForeignKey("parks.id"))
    chamber_id: Mapped[int | None] = mapped_column(ForeignKey("chambers.id"))
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    product_version_id: Mapped[int | None] = mapped_column(ForeignKey("product_versions.id"))
    #: Total quota and per-firm cap, yuan.
    quota_total: Mapped[Decimal]
    per_firm_cap: Mapped[Decimal]
    #: Sum of approved amounts, yuan; updated atomically with a guarded UPDATE.
    quota_used: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    #: open -> submitted -> closed
    state: Mapped[str] = mapped_column(String(20), default="open")
    #: 备案 with the guarantee centre: not_filed -> filed
    filing_status: Mapped[str] = mapped_column(String(20), default="not_filed")
    filed_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    park: Mapped[Park | None] = relationship()
    chamber: Mapped[Chamber | None] = relationship()
    bank: Mapped[Bank] = relationship()
    product: Mapped[Product] = relationship()
    product_version: Mapped[ProductVersion | None] = relationship()
    members: Mapped[list[BatchMember]] = relationship(
        back_populates="batch", order_by="BatchMember.id"
    )


class BatchMember(Base):
    """A member enterprise recommended into a batch (白名单), decided by the bank."""

    __tablename__ = "batch_members"
    __table_args__ = (UniqueConstraint("batch_id", "enterprise_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    recommended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    #: recommended -> checked -> submitted -> approved | declined; withdrawn at any time before.
    state: Mapped[str] = mapped_column(String(20), default="recommended")
    #: Amount asked, yuan (at most the per-firm cap).
    requested_amount: Mapped[Decimal | None]
    approved_amount: Mapped[Decimal | None]
    check_result: Mapped[dict[str, object] | None]
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    batch: Mapped[Batch] = relationship(back_populates="members")
    enterprise: Mapped[Enterprise] = relationship()
