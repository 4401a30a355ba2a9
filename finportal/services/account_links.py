"""Single-use, time-limited links by e-mail: password reset and the check of a new address.

A link carries a random token; only its SHA-256 is stored (``AccountToken``), so a copy of
the database opens nothing. A link works once, until it expires; a new reset link, a
completed reset or a changed address makes the older links of the same purpose void.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from marshmallow import ValidationError
from marshmallow.validate import Email
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from finportal import limits
from finportal.models import AccountToken, OutboxMessage, User, utcnow
from finportal.services import accounts
from finportal.services.audit import record_event
from finportal.services.errors import NotFound, ValidationFailed
from finportal.services.outbox import portal_url, queue_account_mail

#: How long a password-reset link works.
RESET_VALID = timedelta(minutes=30)
#: How long an address-check link works.
VERIFY_VALID = timedelta(hours=48)
#: Reset mails one account gets per hour at most (more requests are answered the same way,
#: without a mail: nobody can flood someone's mailbox from the login page).
RESETS_PER_HOUR = 3
#: Paths of the links (routes of ``web/account.py``).
RESET_PATH = "/account/reset/"
VERIFY_PATH = "/account/email/"

_EMAIL = Email()
_GONE = (
    "此链接已失效（已使用或已过期），请重新申请。",
    "This link no longer works (used or expired); ask for a new one.",
)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _issue(session: Session, user: User, purpose: str, valid: timedelta, *, email: str = "") -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=_hash(token),
            email=email,
            expires_at=utcnow() + valid,
        )
    )
    return token


def _void(session: Session, user_id: int, purpose: str, now: datetime) -> None:
    session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user_id,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )


def open_token(
    session: Session, token: str, purpose: str, *, now: datetime | None = None
) -> AccountToken:
    """Return the unused, unexpired token row of a link; ``NotFound`` otherwise."""
    now = now or utcnow()
    if not token or len(token) > limits.TEXT["token"]:
        raise NotFound(*_GONE)
    row = session.scalar(select(AccountToken).where(AccountToken.token_hash == _hash(token)))
    if row is None or row.purpose != purpose or row.used_at is not None or row.expires_at <= now:
        raise NotFound(*_GONE)
    return row


def check_email(value: str | None, field: str = "email") -> str:
    """Return a normalised e-mail address, or raise ``ValidationFailed`` naming ``field``."""
    text = limits.valid_text(value or "", "email", field)
    try:
        _EMAIL(text)
    except ValidationError:
        raise ValidationFailed(
            "请填写有效的电子邮件地址。",
            "Enter a valid e-mail address.",
            fields={
                field: limits.in_user_language("电子邮件地址无效", "Not a valid e-mail address")
            },
        ) from None
    local, _, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"


# --- password reset -----------------------------------------------------------------------------


def _account_for(session: Session, identifier: str) -> User | None:
    text = (identifier or "").strip()
    if not text or len(text) > limits.TEXT["email"] or limits.has_control_characters(text):
        return None
    if "@" in text:
        users = list(
            session.scalars(
                select(User)
                .where(func.lower(User.email) == text.lower(), User.email_verified_at.is_not(None))
                .order_by(User.id)
                .limit(2)
            )
        )
        if len(users) == 1:
            return users[0]
    return session.scalar(select(User).where(User.username == text))


def request_password_reset(
    session: Session, identifier: str, *, now: datetime | None = None
) -> OutboxMessage | None:
    """Mail a reset link to the account of a username or verified address, if there is one.

    Returns the outbox row (None when nothing was sent); the caller answers the same either
    way, so the page tells nobody whether an account exists (commits).
    """
    now = now or utcnow()
    user = _account_for(session, identifier)
    if (
        user is None
        or not accounts.may_sign_in(user)
        or not user.email
        or not user.email_verified_at
    ):
        return None
    recent = session.scalar(
        select(func.count())
        .select_from(AccountToken)
        .where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == "password_reset",
            AccountToken.created_at > now - timedelta(hours=1),
        )
    )
    if (recent or 0) >= RESETS_PER_HOUR:
        return None
    _void(session, user.id, "password_reset", now)
    token = _issue(session, user, "password_reset", RESET_VALID)
    link = portal_url(RESET_PATH + token)
    minutes = int(RESET_VALID.total_seconds() // 60)
    row = queue_account_mail(
        session,
        user=user,
        kind="password_reset",
        address=user.email,
        subject=("重设密码", "Reset your password"),
        body=(
            f"{user.display_name or user.username}，您好：\n\n"
            f"有人（希望是您）申请重设闵行区融资服务平台账户“{user.username}”的密码。"
            f"请在{minutes}分钟内打开以下链接设置新密码（链接只能使用一次）：\n\n{link}\n\n"
            "如果不是您本人申请，请忽略此邮件，您的密码不会改变。",
            f"Hello {user.display_name or user.username},\n\n"
            f"Someone (we hope you) asked to reset the password of the account "
            f"“{user.username}” on the Minhang District Financing Service Platform. "
            f"Open this link within {minutes} minutes to choose a new password "
            f"(it works once):\n\n{link}\n\n"
            "If it was not you, ignore this e-mail: your password stays as it is.",
        ),
    )
    record_event(
        session,
        actor_id=None,
        action="user.password_reset_requested",
        object_type="user",
        object_id=user.id,
    )
    session.commit()
    return row


def reset_password(
    session: Session, token: str, *, new: str, confirm: str, now: datetime | None = None
) -> User:
    """Set a new password through a reset link: once, in time; every session ends (commits)."""
    now = now or utcnow()
    row = open_token(session, token, "password_reset", now=now)
    user = session.get(User, row.user_id)
    if user is None or not accounts.may_sign_in(user):
        raise NotFound(*_GONE)
    problem = accounts.password_problem(new, username=user.username)
    errors: dict[str, str] = {}
    if problem:
        errors["new_password"] = problem
    elif new != confirm:
        errors["new_password_confirm"] = limits.in_user_language(
            "两次输入的密码不一致", "The two passwords differ"
        )
    if errors:
        raise ValidationFailed.marked(errors)
    accounts.set_password(user, new, field="new_password")
    accounts.end_sessions(user)
    _void(session, user.id, "password_reset", now)
    record_event(
        session,
        actor_id=user.id,
        action="user.password_reset",
        object_type="user",
        object_id=user.id,
    )
    session.commit()
    return user


# --- the user's e-mail address ------------------------------------------------------------------


def change_email(
    session: Session, user: User, email: str | None, *, now: datetime | None = None
) -> OutboxMessage | None:
    """Set the user's address (unverified) and mail it a check link; "" removes it (commits).

    Returns the outbox row of the check mail (None when the address was removed or is the
    same, verified one).
    """
    now = now or utcnow()
    if not (email or "").strip():
        if user.email:
            _void(session, user.id, "email_verify", now)
            user.email, user.email_verified_at = None, None
            record_event(
                session,
                actor_id=user.id,
                action="user.email_removed",
                object_type="user",
                object_id=user.id,
            )
            session.commit()
        return None
    address = check_email(email)
    if address == user.email and user.email_verified_at:
        return None
    _void(session, user.id, "email_verify", now)
    user.email, user.email_verified_at = address, None
    token = _issue(session, user, "email_verify", VERIFY_VALID, email=address)
    link = portal_url(VERIFY_PATH + token)
    hours = int(VERIFY_VALID.total_seconds() // 3600)
    row = queue_account_mail(
        session,
        user=user,
        kind="email_verify",
        address=address,
        subject=("请确认您的电子邮件地址", "Confirm your e-mail address"),
        body=(
            f"{user.display_name or user.username}，您好：\n\n"
            f"请在{hours}小时内打开以下链接，确认此地址用于接收闵行区融资服务平台的消息和重设密码邮件：\n\n"
            f"{link}\n\n如果不是您本人操作，请忽略此邮件。",
            f"Hello {user.display_name or user.username},\n\n"
            f"Open this link within {hours} hours to confirm this address for notifications "
            f"and password resets of the Minhang District Financing Service Platform:\n\n"
            f"{link}\n\nIf it was not you, ignore this e-mail.",
        ),
    )
    record_event(
        session,
        actor_id=user.id,
        action="user.email_changed",
        object_type="user",
        object_id=user.id,
        data={"email": address},
    )
    session.commit()
    return row


def verify_email(session: Session, token: str, *, now: datetime | None = None) -> User:
    """Mark the address of a check link verified, if it is still the user's (commits)."""
    now = now or utcnow()
    row = open_token(session, token, "email_verify", now=now)
    user = session.get(User, row.user_id)
    if user is None or (user.email or "") != row.email:
        raise NotFound(*_GONE)
    user.email_verified_at = now
    row.used_at = now
    record_event(
        session,
        actor_id=user.id,
        action="user.email_verified",
        object_type="user",
        object_id=user.id,
        data={"email": row.email},
    )
    session.commit()
    return user
