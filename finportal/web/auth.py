"""Sign-in, sign-out and SME registration."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from marshmallow import Schema, fields, validate

from finportal import limits, security
from finportal.extensions import db, limiter
from finportal.models import Enterprise, User
from finportal.services import accounts
from finportal.services.errors import ServiceError
from finportal.web.access import role_home
from finportal.web.forms import form_errors, load_form
from finportal.web.inputs import same_site_path

bp = Blueprint("auth", __name__, url_prefix="/auth")

REQUIRED = {"required": limits.MESSAGES["required"]}
NOT_EMPTY = validate.Length(min=1, error=limits.MESSAGES["required"])


class RegisterSchema(Schema):
    """What the registration form posts."""

    uscc = fields.String(required=True, error_messages=REQUIRED, validate=NOT_EMPTY)
    enterprise_name = fields.String(required=True, error_messages=REQUIRED, validate=NOT_EMPTY)
    username = fields.String(required=True, error_messages=REQUIRED, validate=NOT_EMPTY)
    password = fields.String(
        required=True, error_messages=REQUIRED, validate=validate.Length(min=1)
    )
    password_confirm = fields.String(required=True, error_messages=REQUIRED, validate=NOT_EMPTY)


def _login_key() -> str:
    # Throttle per address and per name, so one attacker cannot lock out a whole office.
    return f"{request.remote_addr}|{request.form.get('username', '')}"


def start_session(user: Any) -> None:
    """Sign the user in on a fresh session: nothing (CSRF token included) survives from before.

    Rotating the session at sign-in stops session fixation; only the language choice is kept.
    """
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    login_user(user)


_register_limit = security.configured_limit("REGISTER_RATE_LIMIT")


def _safe_next(target: str | None) -> str | None:
    return same_site_path(target)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(security.login_limit, key_func=_login_key, methods=["POST"])
@limiter.limit(
    security.login_ip_limit,
    key_func=security.client_address,
    methods=["POST"],
    deduct_when=security.failed_sign_in,
)
def login() -> Any:
    """Sign a user in with username and password."""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(role_home(current_user))
    error = None
    username = request.form.get("username", "")
    if request.method == "POST":
        user = accounts.authenticate(db.session, username, request.form.get("password", ""))
        if user is not None:
            start_session(user)
            return redirect(_safe_next(request.args.get("next")) or role_home(user))
        error = _("用户名或密码错误。")
    return render_template("auth/login.html", error=error, username=username), (
        401 if error else 200
    )


@bp.post("/logout")
def logout() -> Any:
    """Sign the user out, and end every other session of the user too."""
    if current_user.is_authenticated:
        user = db.session.get(User, current_user.id)
        if user is not None:
            accounts.end_sessions(user)
            db.session.commit()
    logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("您已退出登录。"), "info")
    return redirect(url_for("public.index"))


class PasswordSchema(Schema):
    """What the password change form posts."""

    current_password = fields.String(required=True, error_messages=REQUIRED, validate=NOT_EMPTY)
    new_password = fields.String(required=True, error_messages=REQUIRED, validate=NOT_EMPTY)
    new_password_confirm = fields.String(required=True, error_messages=REQUIRED, validate=NOT_EMPTY)


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password() -> Any:
    """Change one's own password; every other session of the user ends."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        data, errors = load_form(PasswordSchema(), request.form)
        if data is not None and not errors:
            user = db.session.get(User, current_user.id)
            try:
                accounts.change_password(
                    db.session,
                    user,
                    current=data["current_password"],
                    new=data["new_password"],
                    confirm=data["new_password_confirm"],
                )
            except ServiceError as exc:
                db.session.rollback()
                errors = form_errors(exc)
            else:
                start_session(user)
                flash(_("密码已修改，其他设备上的登录已退出。"), "success")
                return redirect(role_home(user))
    return render_template("auth/password.html", errors=errors), (422 if errors else 200)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_register_limit, methods=["POST"])
def register() -> Any:
    """Register an enterprise and its first user."""
    values = {
        k: v
        for k, v in request.form.items()
        if k not in ("csrf_token", "password", "password_confirm")
    }
    errors: dict[str, str] = {}
    if request.method == "POST":
        data, errors = load_form(RegisterSchema(), request.form)
        if data is not None and data["password"] != data["password_confirm"]:
            errors["password_confirm"] = _("两次输入的密码不一致。")
        if data is not None and not errors:
            try:
                user = accounts.register_sme(
                    db.session,
                    username=data["username"].strip(),
                    password=data["password"],
                    uscc=data["uscc"],
                    enterprise_name=data["enterprise_name"],
                )
            except ServiceError as exc:
                db.session.rollback()
                errors = form_errors(exc)
            else:
                start_session(user)
                flash(
                    _(
                        "注册成功。请上传营业执照或授权委托书完成企业认证，认证通过前可先完善企业信息。"
                    ),
                    "success",
                )
                return redirect(url_for("sme.verification"))
    status = 422 if errors else 200
    return render_template("auth/register.html", values=values, errors=errors), status


class InvitationSchema(Schema):
    """What the invitation form posts."""

    username = fields.String(required=True, error_messages=REQUIRED, validate=NOT_EMPTY)
    password = fields.String(required=True, error_messages=REQUIRED, validate=NOT_EMPTY)
    password_confirm = fields.String(required=True, error_messages=REQUIRED, validate=NOT_EMPTY)


@bp.route("/invite/<token>", methods=["GET", "POST"])
@limiter.limit(_register_limit, methods=["POST"])
def accept_invitation(token: str) -> Any:
    """Create a colleague's account from an invitation link of a verified enterprise."""
    invitation = accounts.open_invitation(db.session, token)
    headers = {"Cache-Control": "no-store"}
    if invitation is None:
        page = render_template("auth/invitation.html", invitation=None, errors={}, values={})
        return page, 404, headers
    values = {k: v for k, v in request.form.items() if k in ("username",)}
    errors: dict[str, str] = {}
    if request.method == "POST":
        data, errors = load_form(InvitationSchema(), request.form)
        if data is not None and data["password"] != data["password_confirm"]:
            errors["password_confirm"] = _("两次输入的密码不一致。")
        if data is not None and not errors:
            try:
                user = accounts.accept_invitation(
                    db.session,
                    token=token,
                    username=data["username"].strip(),
                    password=data["password"],
                )
            except ServiceError as exc:
                db.session.rollback()
                errors = form_errors(exc)
            else:
                start_session(user)
                flash(_("账户已创建，欢迎加入。"), "success")
                return redirect(url_for("sme.home"))
    enterprise = db.session.get(Enterprise, invitation.enterprise_id)
    return (
        render_template(
            "auth/invitation.html",
            invitation=invitation,
            enterprise=enterprise,
            errors=errors,
            values=values,
        ),
        422 if errors else 200,
        headers,
    )
