"""Banks' API tokens: created and revoked by admins, stored as SHA-256, shown once."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from finportal import limits
from finportal.models import ApiToken, Bank, utcnow
from finportal.paging import Page, paginate
from finportal.services.audit import record_event
from finportal.services.errors import InvalidTransition, NotFound, ValidationFailed

#: Tokens start with this, so a leaked one is easy to recognise (and to scan for).
TOKEN_PREFIX = "fp_"  # noqa: S105 - a public marker, not a secret
PREFIX_LENGTH = 10


#: How precisely a token's last use is recorded.
LAST_USED_PRECISION = timedelta(minutes=1)


def hash_token(plain: str) -> str:
    """Return the SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def create_token(
    session: Session, *, bank_id: int, actor_id: int | None, label: str = ""
) -> tuple[ApiToken, str]:
    """Create a token for a bank; return the record and the plain token (shown only now)."""
    bank = session.get(Bank, bank_id) if limits.check_id(bank_id) else None
    if bank is None:
        raise NotFound.of("bank")
    if not bank.active:
        raise ValidationFailed("该银行已停用。", "The bank is not active.")
    label = limits.valid_text(label, "label", "label")
    # 32 random bytes: 256 bits, so a SHA-256 without salt is enough to store it.
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        bank_id=bank.id,
        prefix=plain[:PREFIX_LENGTH],
        token_hash=hash_token(plain),
        label=label,
        created_by_id=actor_id,
    )
    session.add(token)
    session.flush()
    record_event(
        session,
        actor_id=actor_id,
        action="api_token.created",
        object_type="api_token",
        object_id=token.id,
        to_state="active",
        data={"bank_id": bank.id, "prefix": token.prefix, "label": label},
    )
    session.commit()
    return token, plain


def revoke_token(session: Session, token_id: int, *, actor_id: int | None) -> ApiToken:
    """Revoke a token: it stops working at once."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound.of("token")
    if token.revoked_at is not None:
        raise InvalidTransition("令牌已撤销。", "The token is already revoked.")
    token.revoked_at = utcnow()
    record_event(
        session,
        actor_id=actor_id,
        action="api_token.revoked",
        object_type="api_token",
        object_id=token.id,
        from_state="active",
        to_state="revoked",
        data={"bank_id": token.bank_id, "prefix": token.prefix},
    )
    session.commit()
    return token


def list_tokens(session: Session, bank_id: int | None = None) -> list[ApiToken]:
    """Return tokens (of one bank, when given), newest first."""
    stmt = select(ApiToken).order_by(ApiToken.id.desc())
    if bank_id is not None:
        stmt = stmt.where(ApiToken.bank_id == bank_id)
    return list(session.scalars(stmt))


def tokens_page(session: Session, *, page: int = 1, per_page: int = limits.PAGE_SIZE) -> Page:
    """Return one page of every bank's tokens, newest first, each with its bank."""
    stmt = select(ApiToken).order_by(ApiToken.id.desc())
    return paginate(
        session, stmt, page=page, per_page=per_page, options=(joinedload(ApiToken.bank),)
    )


def authenticate(session: Session, plain: str) -> ApiToken | None:
    """Return the active token matching ``plain`` (of an active bank), or None."""
    if not plain or len(plain) > limits.TEXT["token"]:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(plain)))
    if token is None or token.revoked_at is not None or not token.bank.active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        # Written at most once a minute: a write per API call would cost a commit on every
        # call and make every page kept for any reader stale (finportal/page_cache.py).
        token.last_used_at = now
        session.commit()
    return token
