"""Parks, chambers of commerce, partner banks and enterprise memberships."""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from finportal.models.base import Base, TimestampMixin


class Park(TimestampMixin, Base):
    """An industrial park (园区) that can recommend members for a park batch."""

    __tablename__ = "parks"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    #: Where the name comes from (a public address), or "demo" when fictional.
    source: Mapped[str] = mapped_column(String(500), default="")
    active: Mapped[bool] = mapped_column(default=True)


class Chamber(TimestampMixin, Base):
    """A chamber of commerce (商会) that can recommend members for a chamber batch."""

    __tablename__ = "chambers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(500), default="")
    active: Mapped[bool] = mapped_column(default=True)


class Bank(TimestampMixin, Base):
    """A partner bank that receives referrals."""

    __tablename__ = "banks"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    #: True for the fictional banks of the demo data.
    demo: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)


class Membership(TimestampMixin, Base):
    """An enterprise's membership of one park or one chamber."""

    __tablename__ = "memberships"
    __table_args__ = (
        CheckConstraint("(park_id IS NULL) <> (chamber_id IS NULL)", name="one_organisation"),
        UniqueConstraint("enterprise_id", "park_id", "chamber_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    park_id: Mapped[int | None] = mapped_column(ForeignKey("parks.id"), index=True)
    chamber_id: Mapped[int | None] = mapped_column(ForeignKey("chambers.id"), index=True)
    joined_on: Mapped[date | None]

    park: Mapped[Park | None] = relationship(lazy="joined")
    chamber: Mapped[Chamber | None] = relationship(lazy="joined")
