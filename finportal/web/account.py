"""A user's own account by e-mail: notification settings, address check, password reset, unsubscribe.

The settings page is for every signed-in user, whatever the role. The reset, check and
unsubscribe links work without signing in: the secret in the link is the credential.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from finportal import limits, security
from finportal.extensions import csrf, db, limiter
from finportal.models import User
from finportal.services import account_links, notifications, outbox
from finportal.services.channels import CHANNELS
from finportal.services.errors import NotFound, ServiceError
from finportal.web.forms import form_errors

bp = Blueprint("account", __name__, url_prefix="/account")

NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _clock(minutes: int | None) -> str:
    return "" if minutes is None else f"{minutes // 60:02d}:{minutes % 60:02d}"


def _settings_values(user: User) -> dict[str, Any]:
    return {
        "quiet_start": _clock(user.quiet_start),
        "quiet_end": _clock(user.quiet_end),
        "language": user.language or "zh_CN",
        "phone": user.phone or "",
        "email": user.email or "",
    }


def _render_settings(
    user: User,
    values: dict[str, Any],
    modes: dict[tuple[str, str], str],
    errors: dict[str, str],
    status: int = 200,
) -> Any:
    return (
        render_template(
            "account/notifications.html",
            user=user,
            values=values,
            modes=modes,
            errors=errors,
            kinds=notifications.KINDS,
            channels=CHANNELS,
            mode_names=notifications.MODES,
        ),
        status,
    )


@bp.route("/notifications", methods=["GET", "POST"])
@login_required
def notification_settings() -> Any:
    """Choose per kind and channel: at once, daily digest or off; quiet hours; language."""
    user = db.session.get(User, current_user.id)
    assert user is not None
    if request.method == "GET":
        return _render_settings(
            user, _settings_values(user), notifications.preferences(db.session, user.id), {}
        )
    form = request.form
    # A mode the form did not post stays as it is.
    modes = {
        (kind, name): form[f"mode-{kind}-{name}"]
        for kind in notifications.KINDS
        for name in CHANNELS
        if f"mode-{kind}-{name}" in form
    }
    values = {k: form.get(k, "") for k in ("quiet_start", "quiet_end", "language", "phone")}
    values["email"] = user.email or ""
    try:
        notifications.save_preferences(
            db.session,
            user,
            modes=modes,
            quiet_start=values["quiet_start"],
            quiet_end=values["quiet_end"],
            language=values["language"] or None,
            phone=values["phone"],
        )
    except ServiceError as exc:
        db.session.rollback()
        shown = {**notifications.preferences(db.session, user.id), **modes}
        return _render_settings(user, values, shown, form_errors(exc), 422)
    flash(_("消息设置已保存。"), "success")
    return redirect(url_for("account.notification_settings"))


@bp.post("/email")
@login_required
def change_email() -> Any:
    """Set (or remove) one's e-mail address; a new one is used once its link is opened."""
    user = db.session.get(User, current_user.id)
    assert user is not None
    typed = request.form.get("email", "")
    try:
        row = account_links.change_email(db.session, user, typed)
    except ServiceError as exc:
        db.session.rollback()
        values = {**_settings_values(user), "email": typed}
        modes = notifications.preferences(db.session, user.id)
        return _render_settings(user, values, modes, form_errors(exc), 422)
    if row is not None:
        outbox.send_soon(db.session, [row.id])
        flash(
            _("确认邮件已发送到 %(email)s，请打开邮件中的链接完成验证。", email=row.address), "info"
        )
    else:
        flash(_("电子邮件地址已保存。"), "success")
    return redirect(url_for("account.notification_settings"))


@bp.get("/email/<token>")
def verify_email(token: str) -> Any:
    """Confirm an address from the link mailed to it."""
    try:
        user = account_links.verify_email(db.session, token)
    except NotFound:
        db.session.rollback()
        return render_template("account/link_gone.html"), 404, NO_STORE
    return render_template("account/email_verified.html", email=user.email), 200, NO_STORE


def _forgot_key() -> str:
    # As the sign-in: per address and per name asked for.
    return f"forgot|{security.client_address()}|{request.form.get('identifier', '')}"


def _forgot_ip_key() -> str:
    return f"forgot|{security.client_address()}"


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit(security.login_limit, key_func=_forgot_key, methods=["POST"])
@limiter.limit(security.login_ip_limit, key_func=_forgot_ip_key, methods=["POST"])
def forgot_password() -> Any:
    """Ask for a reset link; the answer is the same whether the account exists or not."""
    identifier = request.form.get("identifier", "")
    if request.method == "POST":
        try:
            typed = limits.check_text(identifier, "email")
        except limits.LimitError as exc:
            error = exc.message()
        else:
            error = "" if typed else _("请填写用户名或电子邮件地址。")
        if error:
            page = render_template("account/forgot.html", identifier=identifier, error=error)
            return page, 422, NO_STORE
        row = account_links.request_password_reset(db.session, typed)
        if row is not None:
            outbox.send_soon(db.session, [row.id])
        return render_template("account/forgot.html", sent=True, identifier=""), 200, NO_STORE
    return render_template("account/forgot.html", identifier=""), 200, NO_STORE


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(security.login_limit, key_func=security.client_address, methods=["POST"])
def reset_password(token: str) -> Any:
    """Choose a new password through a reset link; every session of the account ends."""
    try:
        link = account_links.open_token(db.session, token, "password_reset")
    except NotFound:
        return render_template("account/link_gone.html"), 404, NO_STORE
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            account_links.reset_password(
                db.session,
                token,
                new=request.form.get("new_password", ""),
                confirm=request.form.get("new_password_confirm", ""),
            )
        except NotFound:
            db.session.rollback()
            return render_template("account/link_gone.html"), 404, NO_STORE
        except ServiceError as exc:
            db.session.rollback()
            errors = form_errors(exc)
        else:
            flash(_("密码已重设，所有设备上的登录都已退出。请用新密码登录。"), "success")
            return redirect(url_for("auth.login"))
    user = db.session.get(User, link.user_id)
    page = render_template(
        "account/reset.html", username=user.username if user else "", errors=errors
    )
    return page, (422 if errors else 200), NO_STORE


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token is the credential; mail clients post here (RFC 8058)
def unsubscribe(token: str) -> Any:
    """Show what the link turns off (GET), and turn it off (POST, also one-click)."""
    secret = str(current_app.config["SECRET_KEY"])
    try:
        user_id, kind, name = notifications.read_unsubscribe_token(secret, token)
        user = db.session.get(User, user_id)
        if user is None:
            raise NotFound("退订链接无效。", "This unsubscribe link is not valid.")
        if request.method == "POST":
            notifications.unsubscribe(db.session, secret, token)
    except NotFound:
        db.session.rollback()
        return render_template("account/link_gone.html"), 404, NO_STORE
    return (
        render_template(
            "account/unsubscribe.html",
            done=request.method == "POST",
            kind=kind,
            kind_name=notifications.KINDS.get(kind),
            channel=CHANNELS[name],
        ),
        200,
        NO_STORE,
    )
