"""Administration of users: list, create with a role and its link, edit, deactivate, reset.

Every change commits with an audit event; ``actor_id`` is the acting admin.
"""

from __future__ import annotations

import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from finportal import limits
from finportal.models import (
    ROLES,
    Bank,
    Chamber,
    Enterprise,
    Park,
    User,
)
from finportal.paging import Page, paginate
from finportal.services import accounts
from finportal.services.audit import record_event
from finportal.services.errors import Conflict, InvalidTransition, NotFound, ValidationFailed

#: Field messages are worded in the user's language (Chinese outside a request).
t = limits.in_user_language

CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,39}$")


#: What each row of the list shows besides the user: the enterprise, bank, park or chamber
#: (an enterprise's own links, its park and chamber memberships, are not shown: not loaded).
USER_ROW_OPTIONS = (
    joinedload(User.enterprise).raiseload("*"),
    joinedload(User.bank),
    joinedload(User.park),
    joinedload(User.chamber),
    joinedload(User.sign_in),  # the time of the last sign-in
)


def users_page(
    session: Session,
    *,
    role: str | None = None,
    q: str = "",
    page: int = 1,
    per_page: int = limits.PAGE_SIZE,
) -> Page:
    """Return one page of users (by role, then username), of one role and matching ``q``.

    ``q`` is a fragment of the username or the display name (any case; ``%`` and ``_`` are
    plain characters). The same statements whatever the number of users: the count, the
    page's keys (sorted on the users table alone: joined first, PostgreSQL joined all 20,000
    users to their links before keeping fifty, 110 ms), then those rows with their links.
    """
    stmt = select(User).order_by(User.role, User.username, User.id)
    if role:
        stmt = stmt.where(User.role == role)
    q = (q or "").strip()
    if q:
        stmt = stmt.where(
            User.username.icontains(q, autoescape=True)
            | User.display_name.icontains(q, autoescape=True)
        )
    return paginate(
        session, stmt, page=page, per_page=per_page, options=USER_ROW_OPTIONS, keys_first=True
    )


def get_user(session: Session, user_id: int) -> User:
    """Return one user."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound.of("user")
    return user


_user = get_user


def _role_links(
    session: Session,
    role: str,
    *,
    enterprise_uscc: str | None,
    bank_id: int | None,
    park_id: int | None,
    chamber_id: int | None,
    errors: dict[str, str],
) -> dict[str, int | None]:
    """Check that a user of ``role`` is linked to what the role needs; drop other links."""
    links: dict[str, int | None] = {
        "enterprise_id": None,
        "bank_id": None,
        "park_id": None,
        "chamber_id": None,
    }
    if role == "sme":
        code = limits.collect_text(errors, "enterprise_uscc", enterprise_uscc, "code").upper()
        if not code and "enterprise_uscc" not in errors:
            errors["enterprise_uscc"] = t(
                "企业用户须关联企业：请填写企业的统一社会信用代码",
                "An enterprise user needs an enterprise: enter its unified social credit code",
            )
        elif code:
            enterprise_id = session.scalar(select(Enterprise.id).where(Enterprise.uscc == code))
            if enterprise_id is None:
                errors["enterprise_uscc"] = t(
                    "没有该统一社会信用代码的企业",
                    "No enterprise has this unified social credit code",
                )
            links["enterprise_id"] = enterprise_id
    elif role == "bank":
        if not limits.check_id(bank_id) or session.get(Bank, bank_id) is None:
            errors["bank_id"] = t("银行用户须关联一家合作银行", "A bank user needs a partner bank")
        links["bank_id"] = bank_id
    elif role == "recommender":
        if bool(park_id) == bool(chamber_id):
            errors["park_id"] = t(
                "园区/商会用户须关联一个园区或一个商会（只选其一）",
                "A park or chamber user needs one park or one chamber (not both)",
            )
        elif park_id and (not limits.check_id(park_id) or session.get(Park, park_id) is None):
            errors["park_id"] = t("园区不存在", "No such park")
        elif chamber_id and (
            not limits.check_id(chamber_id) or session.get(Chamber, chamber_id) is None
        ):
            errors["chamber_id"] = t("商会不存在", "No such chamber")
        links["park_id"], links["chamber_id"] = park_id or None, chamber_id or None
    return links


def create_user(
    session: Session,
    *,
    actor_id: int | None,
    username: str,
    password: str,
    role: str,
    display_name: str = "",
    enterprise_uscc: str | None = None,
    bank_id: int | None = None,
    park_id: int | None = None,
    chamber_id: int | None = None,
) -> User:
    """Create a user of a role with the link that role needs (commits)."""
    errors: dict[str, str] = {}
    username = (username or "").strip()
    if not accounts.USERNAME_RE.match(username):
        errors["username"] = t(
            "用户名为3-80位字母、数字或 _ . @ -", "A username is 3-80 letters, digits or _ . @ -"
        )
    problem = accounts.password_problem(password, username=username)
    if problem:
        errors["password"] = problem
    if role not in ROLES:
        errors["role"] = t("请选择角色", "Choose a role")
    display_name = limits.collect_text(errors, "display_name", display_name, "label")
    links = _role_links(
        session,
        role,
        enterprise_uscc=enterprise_uscc,
        bank_id=bank_id,
        park_id=park_id,
        chamber_id=chamber_id,
        errors=errors,
    )
    if errors:
        raise ValidationFailed.marked(errors)
    if session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(
            "该用户名已被使用。",
            "This username is taken.",
            fields={"username": t("已被使用", "Already taken")},
        )
    user = accounts.create_user(
        session,
        username=username,
        password=password,
        role=role,
        display_name=display_name,
        **links,
    )
    session.flush()
    record_event(
        session,
        actor_id=actor_id,
        action="user.created",
        object_type="user",
        object_id=user.id,
        to_state="active",
        data={"username": username, "role": role, **{k: v for k, v in links.items() if v}},
    )
    session.commit()
    return user


def update_user(
    session: Session,
    user_id: int,
    *,
    actor_id: int | None,
    role: str,
    display_name: str = "",
    enterprise_uscc: str | None = None,
    bank_id: int | None = None,
    park_id: int | None = None,
    chamber_id: int | None = None,
) -> User:
    """Change a user's name, role or link (commits); an admin cannot change their own role."""
    user = _user(session, user_id)
    errors: dict[str, str] = {}
    if role not in ROLES:
        errors["role"] = t("请选择角色", "Choose a role")
    elif user.id == actor_id and role != user.role:
        errors["role"] = t("不能修改自己的角色", "You cannot change your own role")
    display_name = limits.collect_text(errors, "display_name", display_name, "label")
    links = _role_links(
        session,
        role,
        enterprise_uscc=enterprise_uscc,
        bank_id=bank_id,
        park_id=park_id,
        chamber_id=chamber_id,
        errors=errors,
    )
    if errors:
        raise ValidationFailed.marked(errors)
    before = {
        "role": user.role,
        "display_name": user.display_name,
        "enterprise_id": user.enterprise_id,
        "bank_id": user.bank_id,
        "park_id": user.park_id,
        "chamber_id": user.chamber_id,
    }
    user.role = role
    user.display_name = display_name or user.username
    for key, value in links.items():
        setattr(user, key, value)
    after = {key: getattr(user, key) for key in before}
    changed = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if changed:
        record_event(
            session,
            actor_id=actor_id,
            action="user.updated",
            object_type="user",
            object_id=user.id,
            from_state=before["role"],
            to_state=role,
            data=changed,
        )
    session.commit()
    return user


def set_user_active(session: Session, user_id: int, active: bool, *, actor_id: int | None) -> User:
    """Deactivate (no more sign-in) or reactivate a user (commits)."""
    user = _user(session, user_id)
    if not active and user.id == actor_id:
        raise InvalidTransition("不能停用自己的账户。", "You cannot deactivate your own account.")
    if user.active == active:
        return user
    user.active = active
    if not active:
        accounts.end_sessions(user)
    record_event(
        session,
        actor_id=actor_id,
        action="user.reactivated" if active else "user.deactivated",
        object_type="user",
        object_id=user.id,
        from_state="inactive" if active else "active",
        to_state="active" if active else "inactive",
    )
    session.commit()
    return user


def reset_password(
    session: Session, user_id: int, *, actor_id: int | None, new_password: str = ""
) -> tuple[User, str]:
    """Set a new password (a random one when none is given); return it to show once (commits)."""
    user = _user(session, user_id)
    password = new_password or secrets.token_urlsafe(9)
    try:
        accounts.set_password(user, password, field="new_password")
    except ValidationFailed as exc:
        raise ValidationFailed.marked(exc.fields) from None
    # Whoever held the old password (or a session made with it) is signed out.
    accounts.end_sessions(user)
    record_event(
        session,
        actor_id=actor_id,
        action="user.password_reset",
        object_type="user",
        object_id=user.id,
    )
    session.commit()
    return user, password


# ---------------------------------------------------------------- banks, parks, chambers
