"""Complaints and suggestions (反映), the escalations of overdue work, and published reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from finportal.models.base import Base, TimestampMixin, utcnow
from finportal.models.catalog import Product
from finportal.models.organisations import Bank


class Complaint(TimestampMixin, Base):
    """A complaint or a suggestion about a bank, a product, the centre or the portal."""

    __tablename__ = "complaints"
    __table_args__ = (
        CheckConstraint("stars IS NULL OR stars BETWEEN 1 AND 5", name="stars_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: TS-<date>-<id> (投诉) or JY-<date>-<id> (建议).
    number: Mapped[str | None] = mapped_column(String(40), unique=True)
    #: "complaint" or "suggestion".
    kind: Mapped[str] = mapped_column(String(20))
    #: What it is about: "bank", "product", "centre" or "portal".
    about: Mapped[str] = mapped_column(String(20), index=True)
    bank_id: Mapped[int | None] = mapped_column(ForeignKey("banks.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), index=True)
    #: A key of ``services.complaints.THEMES``.
    theme: Mapped[str] = mapped_column(String(40), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), index=True, default="submitted")
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    ack_due_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    answer_due_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    answer: Mapped[str] = mapped_column(Text, default="")
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    stars: Mapped[int | None]
    rating_comment: Mapped[str] = mapped_column(Text, default="")
    rated_at: Mapped[datetime | None]
    reopened_at: Mapped[datetime | None]
    reopen_reason: Mapped[str] = mapped_column(Text, default="")
    #: The first answer, kept when the complaint is reopened and answered again.
    first_answer: Mapped[str] = mapped_column(Text, default="")
    first_stars: Mapped[int | None]
    closed_at: Mapped[datetime | None]
    lock_version: Mapped[int] = mapped_column(default=1)

    bank: Mapped[Bank | None] = relationship()
    product: Mapped[Product | None] = relationship()

    __mapper_args__ = {"version_id_col": lock_version}


class Escalation(Base):
    """One rung of the escalation ladder reached by an overdue item (预警), at most once each."""

    __tablename__ = "escalations"
    __table_args__ = (UniqueConstraint("object_type", "object_id", "level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "application", "need" or "complaint".
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int]
    level: Mapped[int]
    #: The deadline that was missed.
    due_at: Mapped[datetime]
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: The advisor the item was with when it escalated (None: nobody had it).
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]


class PublishedReport(Base):
    """A report prepared for the public (评价晾晒) that shows only once the centre approved it."""

    __tablename__ = "published_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "bank_ratings": per-bank response times and satisfaction.
    kind: Mapped[str] = mapped_column(String(40), index=True)
    #: draft -> approved (public) | withdrawn
    state: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    data: Mapped[dict[str, Any]]
    prepared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    prepared_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
