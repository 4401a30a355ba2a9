"""Subsidy entitlements (免申即享), their public lists (公示) and payouts (一口兑付)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from finportal.models.base import Base, utcnow
from finportal.models.catalog import ProductVersion
from finportal.models.enterprises import Enterprise
from finportal.models.referrals import LoanOutcome, Referral


class SubsidyPublication(Base):
    """A public list (公示) of entitlements the centre published for a period."""

    __tablename__ = "subsidy_publications"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The month the list covers ("2026-11"): entitlements of loan events up to its end.
    period: Mapped[str] = mapped_column(String(7), index=True)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class SubsidyEntitlement(Base):
    """What one loan event entitles a firm to: an interest or a fee subsidy, after caps.

    ``inputs`` keeps everything the amount was worked out of (the events, the product
    version's terms with their sources, each cap and the room it left), so any figure can
    be traced. One row per loan event and kind: computing again adds nothing.
    """

    __tablename__ = "subsidy_entitlements"
    __table_args__ = (
        UniqueConstraint("loan_outcome_id", "kind"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    loan_outcome_id: Mapped[int] = mapped_column(ForeignKey("loan_outcomes.id"))
    product_version_id: Mapped[int] = mapped_column(ForeignKey("product_versions.id"))
    #: "interest" (贴息) or "fee" (贴费: guarantee fee or premium).
    kind: Mapped[str] = mapped_column(String(10))
    #: The month of the loan event ("2026-11") and its calendar year (the caps' year).
    period: Mapped[str] = mapped_column(String(7), index=True)
    year: Mapped[int]
    #: What the subsidy is of (interest or fee paid), before and after the caps, yuan.
    base: Mapped[Decimal]
    computed: Mapped[Decimal]
    amount: Mapped[Decimal]
    state: Mapped[str] = mapped_column(String(20), index=True, default="computed")
    #: Why nothing is due (overdue, serious_bad_credit, ...) for an excluded entitlement.
    exclusion: Mapped[str | None] = mapped_column(String(40))
    inputs: Mapped[dict[str, Any]]
    publication_id: Mapped[int | None] = mapped_column(
        ForeignKey("subsidy_publications.id"), index=True
    )
    #: The firm confirms or objects by then (working days after the list is published).
    due_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    objection: Mapped[str] = mapped_column(Text, default="")
    resolution: Mapped[str] = mapped_column(Text, default="")
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    lock_version: Mapped[int] = mapped_column(default=1)

    enterprise: Mapped[Enterprise] = relationship()
    referral: Mapped[Referral] = relationship()
    loan_outcome: Mapped[LoanOutcome] = relationship()
    product_version: Mapped[ProductVersion] = relationship()
    publication: Mapped[SubsidyPublication | None] = relationship()

    __mapper_args__ = {"version_id_col": lock_version}


class SubsidyPayout(Base):
    """A payout batch (一口兑付) of confirmed entitlements; its export carries the checksum."""

    __tablename__ = "subsidy_payouts"

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    total: Mapped[Decimal]
    count: Mapped[int]
    #: SHA-256 of the export's rows (services/payouts.py, ``canonical_rows``).
    checksum: Mapped[str] = mapped_column(String(64))


class SubsidyPayoutLine(Base):
    """One entitlement paid in a payout; an entitlement is paid at most once (unique)."""

    __tablename__ = "subsidy_payout_lines"
    __table_args__ = (
        UniqueConstraint("entitlement_id"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payout_id: Mapped[int] = mapped_column(ForeignKey("subsidy_payouts.id"), index=True)
    entitlement_id: Mapped[int] = mapped_column(ForeignKey("subsidy_entitlements.id"))
    amount: Mapped[Decimal]
    #: A clawback (追回): when, by whom and why; the line stays, the money is owed back.
    reversed_at: Mapped[datetime | None]
    reversed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reversal_reason: Mapped[str] = mapped_column(Text, default="")

    payout: Mapped[SubsidyPayout] = relationship()
    entitlement: Mapped[SubsidyEntitlement] = relationship()
