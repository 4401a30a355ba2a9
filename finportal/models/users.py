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
#: Extra duties of an advisor (a flag, not a role: a supervisor works the queue too).
DUTIES = ("supervisor", "head")


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
    #: Where e-mail notifications and password-reset links go, once checked (verified_at).
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    email_verified_at: Mapped[datetime | None]
    #: A mobile number for SMS, and a WeChat OpenID, handed to the configured gateways.
    #: Indexed to find one number on several firms (services/consistency.py).
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    wechat_openid: Mapped[str | None] = mapped_column(String(64))
    #: An advisor's extra duty: None, "supervisor" (督导顾问: assigns work, is told of overdue
    #: work) or "head" (中心负责人: the ladder's last rung, approves publications).
    duty: Mapped[str | None] = mapped_column(String(20))
    #: Quiet hours in Shanghai time, minutes after midnight (start > end spans midnight):
    #: no SMS, WeChat or e-mail is sent then; it waits until they end.
    quiet_start: Mapped[int | None]
    quiet_end: Mapped[int | None]
    #: The language of the user's messages outside the portal: "zh_CN" (None) or "en".
    language: Mapped[str | None] = mapped_column(String(8))

    enterprise: Mapped[Enterprise | None] = relationship()
    bank: Mapped[Bank | None] = relationship()
    park: Mapped[Park | None] = relationship()
    chamber: Mapped[Chamber | None] = relationship()
    #: What signing in and out writes (never None for a user the ORM created).
    sign_in: Mapped[UserSignIn | None] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    def __init__(self, **values: object) -> None:
        values.setdefault("sign_in", UserSignIn(session_version=1))
        super().__init__(**values)

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    @property
    def session_version(self) -> int:
        """Part of every session's id (see :class:`UserSignIn`)."""
        return self.sign_in.session_version if self.sign_in is not None else 1

    @property
    def last_login_at(self) -> datetime | None:
        return self.sign_in.last_login_at if self.sign_in is not None else None

    def get_id(self) -> str:
        """Return the session id: the user's id and session version (see ``web/access.py``)."""
        return f"{self.id}.{self.session_version}"

    def __eq__(self, other: object) -> bool:
        # The same user (flask-login's compares session ids, which would read the sign-in).
        if not isinstance(other, User):
            return NotImplemented
        return self is other or (self.id is not None and self.id == other.id)

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = object.__hash__


class UserSignIn(Base):
    """A user's sign-in state: what each sign-in and sign-out writes, one row per user.

    Kept out of the users table on purpose: the page cache (``finportal/page_cache.py``)
    follows writes per table, and every page that shows a user's name reads the users; were
    the time of a sign-in or the session version a column of theirs, each firm signing in or
    out anywhere would make all those pages stale. The signed-in user's own row here is read
    by row (:func:`finportal.rows.one_user`).
    """

    __tablename__ = "user_sign_ins"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    #: Part of every session's id: raising it (logout, password change, deactivation)
    #: ends all of the user's sessions at their next request.
    session_version: Mapped[int] = mapped_column(default=1)
    last_login_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="sign_in")


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


class Invitation(Base):
    """A verified enterprise's invitation of a colleague; only the token's SHA-256 is stored."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: Who the invitation is for, as the inviter wrote it (a name or a note).
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None]
