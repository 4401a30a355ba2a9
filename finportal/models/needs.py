"""The demand board (需求发布): needs posted by enterprises and the banks' claims of them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from finportal.models.base import Base, TimestampMixin, utcnow
from finportal.models.catalog import Product
from finportal.models.enterprises import Enterprise
from finportal.models.organisations import Bank


class Need(TimestampMixin, Base):
    """A financing need an enterprise posts without choosing a product or a bank."""

    __tablename__ = "needs"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("term_months > 0", name="term_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: XQ-<date>-<id>: the number the firm, the banks and the advisors quote.
    number: Mapped[str | None] = mapped_column(String(40), unique=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(20), index=True, default="open")
    #: Amount asked, yuan.
    amount: Mapped[Decimal]
    term_months: Mapped[int]
    #: A key of ``services.labels.PURPOSES``.
    purpose: Mapped[str] = mapped_column(String(40))
    purpose_note: Mapped[str] = mapped_column(Text, default="")
    #: Keys of ``services.needs.COLLATERAL`` and ``URGENCY``.
    collateral: Mapped[str] = mapped_column(String(20))
    urgency: Mapped[str] = mapped_column(String(20))
    #: The enterprise profile as posted (``services/profiles.freeze``).
    profile_snapshot: Mapped[dict[str, Any]]
    #: What banks see before the firm consents: size class, industry, district, score band.
    size_class: Mapped[str | None] = mapped_column(String(20))
    industry_code: Mapped[str | None] = mapped_column(String(10))
    district_code: Mapped[str | None] = mapped_column(String(10))
    score_grade: Mapped[str | None] = mapped_column(String(2))
    posted_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Banks claim it by then (``domain/clocks.NEED_CLAIM_WORKING_DAYS``).
    claim_due_at: Mapped[datetime] = mapped_column(index=True)
    first_claim_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    assigned_advisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: The advisor's deadline once the need was escalated.
    handle_due_at: Mapped[datetime | None]
    #: The application made when the firm chose a claim (it carries the referral).
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"), unique=True)
    closed_at: Mapped[datetime | None]
    lock_version: Mapped[int] = mapped_column(default=1)

    enterprise: Mapped[Enterprise] = relationship()
    claims: Mapped[list[NeedClaim]] = relationship(
        back_populates="need", order_by="NeedClaim.id", foreign_keys="NeedClaim.need_id"
    )

    __mapper_args__ = {"version_id_col": lock_version}


class NeedProduct(Base):
    """A product of the catalogue the need fits (eligible when posted): which banks see it."""

    __tablename__ = "need_products"
    __table_args__ = (UniqueConstraint("need_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)

    product: Mapped[Product] = relationship()


class BankProduct(Base):
    """A catalogue product a bank lends under: the bank sees the needs that fit one of them."""

    __tablename__ = "bank_products"
    __table_args__ = (UniqueConstraint("bank_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)

    product: Mapped[Product] = relationship()


class NeedClaim(TimestampMixin, Base):
    """A bank's claim of a need, for one of its products that fits."""

    __tablename__ = "need_claims"
    __table_args__ = (UniqueConstraint("need_id", "bank_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), index=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    state: Mapped[str] = mapped_column(String(20), default="claimed", index=True)
    #: What the bank tells the firm (its offer in words).
    note: Mapped[str] = mapped_column(Text, default="")
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The referral made when the firm chose this claim.
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"))

    need: Mapped[Need] = relationship(back_populates="claims", foreign_keys=[need_id])
    bank: Mapped[Bank] = relationship()
    product: Mapped[Product] = relationship()
