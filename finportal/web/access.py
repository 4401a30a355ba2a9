"""Sign-in and role checks: every non-public route needs a user of the right role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, abort, redirect, request, session, url_for
from flask_login import current_user

from finportal.domain import permissions
from finportal.extensions import db, login_manager
from finportal.models import User
from finportal.services import accounts

#: Home page of each role.
ROLE_HOME = {
    "sme": "sme.home",
    "advisor": "advisor.home",
    "recommender": "recommender.home",
    "bank": "bank.home",
    "admin": "admin.home",
}


def init_app(app: Flask) -> None:
    """Configure Flask-Login."""
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录。"
    login_manager.login_message_category = "warning"

    @login_manager.user_loader
    def _load_user(session_id: str) -> User | None:
        return accounts.user_for_session(db.session, session_id)


def restrict_blueprint(bp: Blueprint, *roles: str) -> None:
    """Refuse every route of ``bp`` to anonymous users and to users of other roles.

    Without ``roles``, the role is the one whose area the blueprint's URL prefix is
    (``domain/permissions.AREAS``).
    """
    roles = roles or (permissions.AREAS[bp.url_prefix or ""],)

    @bp.before_request
    def _check_role() -> Any:
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path))
        if current_user.role not in roles:
            abort(403)
        return None


def signed_in_id() -> int | None:
    """Return the signed-in user's id as the session cookie names it, without reading the
    user: for a page served from the page cache, whose key holds the session and which is
    served only while what the request's checks read of its user is unchanged."""
    parsed = accounts.parse_session_id(session.get("_user_id"))
    return parsed[0] if parsed else None


def role_home(user: Any) -> str:
    """Return the URL of the user's home page."""
    return url_for(ROLE_HOME[user.role])


def require_role(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a single view that needs one of the roles (for blueprints shared by roles)."""
    from functools import wraps

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return redirect(url_for("auth.login", next=request.full_path))
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate
