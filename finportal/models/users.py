"""Users with one role each, and the API tokens of partner banks."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from finportal.models.base import Base, TimestampMixin, utcnow
from finportal.models.enterprises import Enterprise
from finportal.models.organisations import Bank, Chamber, Park

ROLES = ("sme", "advisor", "recommender", "bank", "admin")


class User(UserMixin, TimestampMixin, Base):
    """A person who signs in; linked to an enterprise, a bank, a park or a chamber by role."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), index=True)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    bank_id: Mapped[int | None] = mapped_column(ForeignKey("banks.id"), index=True)
    park_id: Mapped[int | None] = mapped_column(ForeignKey("parks.id"))
    chamber_id: Mapped[int | None] = mapped_column(ForeignKey("chambers.id"))
    active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None]

    enterprise: Mapped[Enterprise | None] = relationship()
    bank: Mapped[Bank | None] = relationship()
    park: Mapped[Park | None] = relationship()
    chamber: Mapped[Chamber | None] = relationship()

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active


class ApiToken(Base):
    """A bank's API token; only its SHA-256 is stored, the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"), index=True)
    #: The first characters of the token, to tell tokens apart in lists.
    prefix: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    bank: Mapped[Bank] = relationship()
