"""Notifications beyond the portal: channel preferences, the outbox, and single-use account links."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from finportal.models.base import Base, utcnow

if TYPE_CHECKING:
    from finportal.models.records import Notification
    from finportal.models.users import User


class NotificationPreference(Base):
    """How one user wants one kind of notification on one channel: now, in a digest, or never."""

    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("user_id", "kind", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    #: "email", "sms" or "wechat" (the portal's own list is always on).
    channel: Mapped[str] = mapped_column(String(20))
    #: "now", "digest" or "off".
    mode: Mapped[str] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OutboxMessage(Base):
    """One notification to deliver to one user on one channel; kept until it is delivered.

    Written in the same transaction as the notification, so a channel that is down loses
    nothing: delivery retries with backoff until it succeeds or gives up (``failed``).
    """

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("notification_id", "user_id", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int | None] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    #: pending -> sending -> sent | failed; "digested" when it went out in a digest;
    #: "cancelled" when it may no longer go (turned off, no address, user deactivated).
    state: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    #: True when the user wants this kind once a day (sent by the digest, not one by one).
    digest: Mapped[bool] = mapped_column(default=False)
    #: Only for messages without a notification row (password reset, address check).
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    #: The address a message without a user's stored address goes to (a new e-mail address).
    address: Mapped[str] = mapped_column(String(254), default="")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    #: Who is sending it (a random token), so two workers never send the same message.
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    notification: Mapped[Notification | None] = relationship()
    user: Mapped[User] = relationship()


class AccountToken(Base):
    """A single-use, time-limited link for a password reset or an e-mail check (hash only)."""

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: "password_reset" or "email_verify".
    purpose: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The address being checked (email_verify).
    email: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
