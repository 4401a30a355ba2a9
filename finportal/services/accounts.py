"""Users: registration of SMEs with their USCC, password hashing and sign-in."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload
from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength

from finportal import limits, rows
from finportal.models import ROLES, Enterprise, Invitation, User, UserSignIn, utcnow
from finportal.services.audit import record_event
from finportal.services.errors import Conflict, InvalidTransition, NotFound, ValidationFailed

_hasher = PasswordHasher()
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{3,80}$")
MIN_PASSWORD_LENGTH = 8
#: Long passphrases are welcome; a megabyte "password" would only burn argon2's CPU and memory.
MAX_PASSWORD_LENGTH = 128
#: Digits and symbols people add around a word ("dragon2024!", "!zhangsan"): at most this many
#: around a common password or the username still count as that password.
_TRIVIAL_AFFIX = 4
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)
_AFFIX_RE = re.compile(
    rf"^[\W\d_]{{0,{_TRIVIAL_AFFIX}}}(?P<core>.*?)[\W\d_]{{0,{_TRIVIAL_AFFIX}}}$"
)


@cache
def common_passwords() -> frozenset[str]:
    """Return the 30,000 most common passwords, lower-case.

    The list ships with the zxcvbn package (MIT licence; its "passwords" frequency list,
    drawn from Mark Burnett's 10 million leaked passwords, as zxcvbn's README says).
    """
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


def _variants(text: str) -> set[str]:
    """Return a password's trivial variants: lower-case, de-leeted, reversed, without affixes."""
    lower = text.lower()
    out = {lower, lower.translate(_LEET), lower[::-1]}
    for value in list(out):
        match = _AFFIX_RE.match(value)
        if match and match.group("core"):
            out.add(match.group("core"))
    return {v for v in out if v}


def _repetitive(text: str) -> bool:
    """Tell whether a password is one short unit repeated or a run of consecutive characters."""
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return True
    steps = {ord(b) - ord(a) for a, b in zip(text, text[1:], strict=False)}
    return len(steps) == 1 and steps <= {1, -1}


def password_problem(password: str, *, username: str = "") -> str | None:
    """Return why a new password is refused (shown beside the field), or None if it may be used.

    The one password policy: registration, an admin creating a user or resetting a
    password, and any change of password all ask it.
    """
    t = limits.in_user_language
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        return t(
            f"密码至少{MIN_PASSWORD_LENGTH}位",
            f"A password has at least {MIN_PASSWORD_LENGTH} characters",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        return t(
            f"密码不超过{MAX_PASSWORD_LENGTH}位",
            f"A password has at most {MAX_PASSWORD_LENGTH} characters",
        )
    variants = _variants(password)
    name = (username or "").strip().lower()
    letters = re.sub(r"[^a-z]", "", name)
    if name and (
        name in variants
        or name.translate(_LEET) in variants
        or (len(letters) >= 3 and letters in {re.sub(r"[^a-z]", "", v) for v in variants})
    ):
        return t(
            "密码不能是用户名或其简单变形", "The password cannot be the username or a variant of it"
        )
    if variants & common_passwords():
        return t(
            "这是最常见的密码之一，很容易被猜中，请换一个",
            "This is one of the most common passwords and easy to guess; choose another",
        )
    if _repetitive(password.lower()):
        return t(
            "密码不能是重复或连续的字符，请换一个",
            "The password cannot be repeated or consecutive characters; choose another",
        )
    return None


def check_password(password: str, *, username: str, field: str = "password") -> None:
    """Raise ``ValidationFailed`` (message beside ``field``) when the password policy refuses it."""
    problem = password_problem(password, username=username)
    if problem:
        raise ValidationFailed(
            f"请换一个密码：{problem}。",
            "Please choose another password: too short or long, the username, "
            "one of the most common passwords, or a trivial pattern.",
            fields={field: problem},
        )


def set_password(user: User, password: str, *, field: str = "password") -> None:
    """Give a user a new password after the policy accepts it (the caller commits)."""
    check_password(password, username=user.username, field=field)
    user.password_hash = hash_password(password)


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Check a password against its argon2 hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_uscc(value: str) -> str:
    """Return the compact USCC, or raise ``ValidationFailed`` saying what is wrong with it."""
    compact = stdnum_uscc.compact(value or "")
    try:
        return str(stdnum_uscc.validate(compact))
    except InvalidChecksum:
        expected = ""
        try:
            expected = stdnum_uscc.calc_check_digit(compact[:-1])
        except Exception:  # noqa: BLE001 - only a hint for the message
            expected = ""
        hint_zh = f"（按前17位计算应为 {expected}）" if expected else ""
        hint_en = f" (the first 17 characters give {expected})" if expected else ""
        raise ValidationFailed(
            f"统一社会信用代码校验位错误：最后一位不正确{hint_zh}，请核对营业执照。",
            f"The unified social credit code has a wrong check character{hint_en}.",
            fields={
                "uscc": limits.in_user_language(
                    f"校验位错误{hint_zh}", f"Wrong check character{hint_en}"
                )
            },
        ) from None
    except InvalidLength:
        raise ValidationFailed(
            "统一社会信用代码应为18位。",
            "The unified social credit code must have 18 characters.",
            fields={"uscc": limits.in_user_language("应为18位", "Must have 18 characters")},
        ) from None
    except (InvalidFormat, InvalidComponent):
        raise ValidationFailed(
            "统一社会信用代码含有不允许的字符（不使用 I、O、Z、S、V）。",
            "The unified social credit code has characters that are not allowed.",
            fields={
                "uscc": limits.in_user_language(
                    "含有不允许的字符", "Has characters that are not allowed"
                )
            },
        ) from None


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str = "",
    enterprise_id: int | None = None,
    bank_id: int | None = None,
    park_id: int | None = None,
    chamber_id: int | None = None,
) -> User:
    """Add a user with a hashed password the policy accepts (the caller commits)."""
    check_password(password, username=username)
    if role not in ROLES:
        raise ValidationFailed(
            f"未知角色：{role}",
            f"Unknown role: {role}",
            fields={"role": limits.in_user_language("未知角色", "Unknown role")},
        )
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        display_name=display_name or username,
        enterprise_id=enterprise_id,
        bank_id=bank_id,
        park_id=park_id,
        chamber_id=chamber_id,
    )
    session.add(user)
    return user


def _account_errors(username: str, password: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not USERNAME_RE.match(username or ""):
        errors["username"] = limits.in_user_language(
            "用户名为3-80位字母、数字或 _ . @ -", "A username is 3-80 letters, digits or _ . @ -"
        )
    problem = password_problem(password, username=username)
    if problem:
        errors["password"] = problem
    return errors


def _check_username_free(session: Session, username: str) -> None:
    if session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(
            "该用户名已被使用。",
            "This username is taken.",
            fields={"username": limits.in_user_language("已被使用", "Already taken")},
        )


def _check_new_account(session: Session, username: str, password: str) -> None:
    """Refuse a bad or taken username or a weak password for a new account."""
    errors = _account_errors(username, password)
    if errors:
        raise ValidationFailed.marked(errors)
    _check_username_free(session, username)


def register_sme(
    session: Session, *, username: str, password: str, uscc: str, enterprise_name: str
) -> User:
    """Register an SME user with its enterprise; refuse a bad USCC or a taken name."""
    errors = _account_errors(username, password)
    name = limits.collect_text(errors, "enterprise_name", enterprise_name, "name")
    if not name and "enterprise_name" not in errors:
        errors["enterprise_name"] = limits.in_user_language(
            "请填写企业名称", "Enter the enterprise's name"
        )
    code = ""
    try:
        code = check_uscc(uscc)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationFailed.marked(errors)
    _check_username_free(session, username)
    enterprise = session.scalar(select(Enterprise).where(Enterprise.uscc == code))
    if enterprise is not None:
        raise Conflict(
            "该统一社会信用代码已有账户：请本企业同事在“同事账户”页邀请您加入；"
            "如认为被他人冒用，请携营业执照联系服务中心。",
            "This enterprise already has an account: ask a colleague to invite you, or contact "
            "the centre with the business licence if you think it was registered by someone else.",
            fields={
                "uscc": limits.in_user_language(
                    "已有账户，请向同事索取邀请链接",
                    "Already has an account; ask a colleague for an invitation link",
                )
            },
        )
    enterprise = Enterprise(uscc=code, name=name, district_code=code[2:8], certifications=[])
    session.add(enterprise)
    session.flush()
    user = create_user(
        session,
        username=username,
        password=password,
        role="sme",
        display_name=name,
        enterprise_id=enterprise.id,
    )
    session.flush()
    record_event(
        session,
        actor_id=user.id,
        action="enterprise.registered",
        object_type="enterprise",
        object_id=enterprise.id,
        to_state="registered",
    )
    session.commit()
    return user


def organisation_active(user: User) -> bool:
    """Tell whether the bank, park or chamber the user acts for (if any) is still active."""
    for org in (user.bank, user.park, user.chamber):
        if org is not None and not org.active:
            return False
    return True


def may_sign_in(user: User | None) -> bool:
    """Tell whether the user may hold a session: active, and so is the organisation."""
    return user is not None and user.active and organisation_active(user)


def parse_session_id(session_id: str | None) -> tuple[int, str] | None:
    """Return the user id and session version a session id ``"<user id>.<session version>"``
    names (``User.get_id``), or None if it names none."""
    user_id, _, version = (session_id or "").partition(".")
    if not (user_id.isdigit() and version.isdigit()) or int(user_id) > limits.MAX_ID:
        return None
    return int(user_id), version


def user_for_session(session: Session, session_id: str) -> User | None:
    """Return the user of a session id ``"<user id>.<session version>"``, if it still stands.

    A session ends when the user's session version moved on (logout, password change or
    reset), when the user is deactivated, or when the user's organisation is.
    """
    parsed = parse_session_id(session_id)
    if parsed is None:
        return None
    user_id, version = parsed
    # Every request asks this; the organisation the user acts for and the sign-in state come
    # in the same statement (populate_existing: also when the session holds the user already,
    # as the tests' long-lived one does, rather than a second read for the sign-in state).
    user = session.get(
        User,
        user_id,
        populate_existing=True,
        options=[
            joinedload(User.bank),
            joinedload(User.park),
            joinedload(User.chamber),
            joinedload(User.sign_in),
        ],
        execution_options=rows.one_user(user_id),
    )
    if not may_sign_in(user) or user is None or str(user.session_version) != version:
        return None
    return user


def sign_in_state(user: User) -> UserSignIn:
    """Return the user's sign-in state (made for a user written without one, by core SQL)."""
    if user.sign_in is None:
        user.sign_in = UserSignIn(session_version=1)
    return user.sign_in


def end_sessions(user: User) -> None:
    """End every session of the user at its next request (the caller commits)."""
    state = sign_in_state(user)
    state.session_version = (state.session_version or 1) + 1


def change_password(session: Session, user: User, *, current: str, new: str, confirm: str) -> User:
    """Change the user's own password; every other session ends (commits)."""
    errors: dict[str, str] = {}
    if not verify_password(user.password_hash, current or ""):
        errors["current_password"] = limits.in_user_language(
            "当前密码不正确", "The current password is not correct"
        )
    problem = password_problem(new, username=user.username)
    if problem:
        errors["new_password"] = problem
    elif new != confirm:
        errors["new_password_confirm"] = limits.in_user_language(
            "两次输入的密码不一致", "The two passwords differ"
        )
    if errors:
        raise ValidationFailed.marked(errors)
    set_password(user, new, field="new_password")
    end_sessions(user)
    record_event(
        session,
        actor_id=user.id,
        action="user.password_changed",
        object_type="user",
        object_id=user.id,
    )
    session.commit()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """Return the user with these credentials who may sign in, or None."""
    try:
        username = limits.check_text(username, "username", strip=False)
    except limits.LimitError:
        username = ""  # no user has it: answered (and timed) as an unknown name
    user = session.scalar(select(User).where(User.username == username)) if username else None
    if user is None or not may_sign_in(user):
        # Spend the same time as a real check so a name's existence does not show.
        verify_password(_DUMMY_HASH, password or "")
        return None
    if not verify_password(user.password_hash, password or ""):
        return None
    sign_in_state(user).last_login_at = utcnow()
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.commit()
    return user


_DUMMY_HASH = _hasher.hash("not-a-password")


# --- colleagues: invitations of a verified enterprise ---------------------------------------

INVITATION_DAYS = 7


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite_colleague(
    session: Session, *, actor_id: int, enterprise_id: int | None, note: str = ""
) -> tuple[Invitation, str]:
    """Create a single-use invitation link for a colleague; return it and its token (commits).

    Only a verified enterprise invites: an unverified account cannot widen itself.
    """
    from finportal.services.verification import require_verified

    enterprise = require_verified(session, enterprise_id)
    text = limits.valid_text(note, "invitation_note", "note")
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        enterprise_id=enterprise.id,
        token_hash=_token_hash(token),
        note=text,
        created_by_id=actor_id,
        expires_at=utcnow() + timedelta(days=INVITATION_DAYS),
    )
    session.add(invitation)
    session.flush()
    record_event(
        session,
        actor_id=actor_id,
        action="invitation.created",
        object_type="invitation",
        object_id=invitation.id,
        reason=text,
        data={"enterprise_id": enterprise.id},
    )
    session.commit()
    return invitation, token


def open_invitation(session: Session, token: str) -> Invitation | None:
    """Return the invitation of a token when it can still be used (not used, revoked, expired)."""
    if not token or len(token) > limits.TEXT["code"] * 2:
        return None
    invitation = session.scalar(
        select(Invitation).where(Invitation.token_hash == _token_hash(token))
    )
    if (
        invitation is None
        or invitation.used_at is not None
        or invitation.revoked_at is not None
        or invitation.expires_at <= utcnow()
    ):
        return None
    return invitation


def accept_invitation(session: Session, *, token: str, username: str, password: str) -> User:
    """Create the colleague's account in the inviting enterprise and use up the link (commits)."""
    invitation = open_invitation(session, token)
    if invitation is None:
        raise NotFound(
            "邀请链接无效或已过期，请向同事索取新的链接。",
            "The invitation link is invalid or expired; ask for a new one.",
        )
    _check_new_account(session, username, password)
    user = create_user(
        session,
        username=username,
        password=password,
        role="sme",
        display_name=username,
        enterprise_id=invitation.enterprise_id,
    )
    session.flush()
    invitation.used_at, invitation.used_by_id = utcnow(), user.id
    record_event(
        session,
        actor_id=user.id,
        action="invitation.accepted",
        object_type="invitation",
        object_id=invitation.id,
        data={"enterprise_id": invitation.enterprise_id, "user_id": user.id},
    )
    session.commit()
    return user


def revoke_invitation(
    session: Session, *, actor_id: int, enterprise_id: int | None, invitation_id: int
) -> Invitation:
    """Revoke an unused invitation of the enterprise (commits)."""
    invitation = (
        session.get(Invitation, invitation_id) if 0 < invitation_id <= limits.MAX_ID else None
    )
    if invitation is None or invitation.enterprise_id != enterprise_id:
        raise NotFound.of("invitation")
    if invitation.used_at is not None or invitation.revoked_at is not None:
        raise InvalidTransition("该邀请已使用或已撤销。", "The invitation was used or revoked.")
    invitation.revoked_at = utcnow()
    record_event(
        session,
        actor_id=actor_id,
        action="invitation.revoked",
        object_type="invitation",
        object_id=invitation.id,
    )
    session.commit()
    return invitation


def colleagues(session: Session, enterprise_id: int | None) -> list[User]:
    """Return the enterprise's user accounts, oldest first."""
    if enterprise_id is None:
        return []
    return list(
        session.scalars(select(User).where(User.enterprise_id == enterprise_id).order_by(User.id))
    )


def invitations(session: Session, enterprise_id: int | None) -> list[Invitation]:
    """Return the enterprise's invitations, newest first."""
    if enterprise_id is None:
        return []
    return list(
        session.scalars(
            select(Invitation)
            .where(Invitation.enterprise_id == enterprise_id)
            .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        )
    )
