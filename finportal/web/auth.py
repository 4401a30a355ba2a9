"""Sign-in, sign-out and SME registration."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from marshmallow import Schema, fields, validate

from finportal import security
from finportal.extensions import db, limiter
from finportal.services import accounts
from finportal.services.errors import ServiceError
from finportal.web.access import role_home
from finportal.web.forms import load_form

bp = Blueprint("auth", __name__, url_prefix="/auth")

REQUIRED = {"required": "此项必填。"}
NOT_EMPTY = validate.Length(min=1, error="此项必填。")


class RegisterSchema(Schema):
    """What the registration form posts."""

    uscc = fields.String(required=True, error_messages=REQUIRED, validate=NOT_EMPTY)
    enterprise_name = fields.String(required=True, error_messages=REQUIRED, validate=NOT_EMPTY)
    username = fields.String(required=True, error_messages=REQUIRED, validate=NOT_EMPTY)
    password = fields.String(
        required=True, error_messages=REQUIRED, validate=validate.Length(min=1)
    )
    password_confirm = fields.String(required=True, error_messages=REQUIRED, validate=NOT_EMPTY)


def _login_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def _login_key() -> str:
    # Throttle per address and per name, so one attacker cannot lock out a whole office.
    return f"{request.remote_addr}|{request.form.get('username', '')}"


def _safe_next(target: str | None) -> str | None:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, key_func=_login_key, methods=["POST"])
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
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or role_home(user))
        error = "用户名或密码错误。"
    return render_template("auth/login.html", error=error, username=username), (
        401 if error else 200
    )


@bp.post("/logout")
def logout() -> Any:
    """Sign the user out."""
    logout_user()
    flash("您已退出登录。", "info")
    return redirect(url_for("public.index"))


@bp.route("/register", methods=["GET", "POST"])
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
            errors["password_confirm"] = "两次输入的密码不一致。"  # noqa: S105
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
                errors = dict(exc.fields) or {"_form": exc.message_zh}
            else:
                login_user(user)
                flash("注册成功，请完善企业信息。", "success")
                return redirect(url_for("sme.home"))
    status = 422 if errors else 200
    return render_template("auth/register.html", values=values, errors=errors), status
