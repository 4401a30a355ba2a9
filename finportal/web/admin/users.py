"""Users: list and filter, create with a role and its link, deactivate, reset a password."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import fields, validate

from finportal import limits
from finportal.extensions import db
from finportal.i18n import name
from finportal.models import ROLES
from finportal.services import admin_organisations, admin_users
from finportal.web.admin.views import CHOICE, FormSchema, attempt, bp, checkbox, text
from finportal.web.forms import load_form
from finportal.web.nav import ROLE_LABELS


class UserFilter(FormSchema):
    """Filters of the user list and its page (query string)."""

    role = fields.String(load_default=None, validate=validate.OneOf(ROLES, error=CHOICE))
    q = text("search")
    page = limits.page_field()


class UserEditForm(FormSchema):
    """Changes to a user: name, role and the link the role needs."""

    display_name = text("label")
    role = fields.String(
        required=True,
        error_messages={"required": CHOICE},
        validate=validate.OneOf(ROLES, error=CHOICE),
    )
    enterprise_uscc = text("code")
    bank_id = limits.Id(load_default=None)
    park_id = limits.Id(load_default=None)
    chamber_id = limits.Id(load_default=None)


class UserForm(UserEditForm):
    """A new user: name, role, first password and the link the role needs."""

    username = text("username", required=True)
    password = text("password", required=True, strip=False)


class ActiveForm(FormSchema):
    """A switch on or off."""

    active = checkbox()


class PasswordForm(FormSchema):
    """A new password; empty means: generate one."""

    new_password = text("password", strip=False)


def _links() -> dict[str, Any]:
    return {
        kind: [
            (o.id, _("%(name)s（%(code)s）", name=name(o), code=o.code))
            for o in admin_organisations.list_organisations(db.session, kind)
            if o.active
        ]
        for kind in admin_organisations.ORGANISATION_KINDS
    }


@bp.get("/users")
def users() -> Any:
    """List users page by page, filtered by role and by a username or name fragment."""
    query, errors = load_form(UserFilter(), request.args)
    query = query or {"role": None, "q": "", "page": 1}
    page = admin_users.users_page(db.session, role=query["role"], q=query["q"], page=query["page"])
    return render_template(
        "admin/users.html",
        page=page,
        users=page.items,
        values=dict(request.args),
        # The pager keeps the filters; a refused filter is dropped, as the list drops it.
        args={k: query[k] for k in ("role", "q") if query[k]},
        errors=errors,
        role_labels=ROLE_LABELS,
    ), (422 if errors else 200)


@bp.route("/users/new", methods=["GET", "POST"])
def user_new() -> Any:
    """Create a user of a role, linked to its enterprise, bank, park or chamber."""
    values: dict[str, Any] = {"role": request.args.get("role", "")}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {k: v for k, v in request.form.items() if k not in ("csrf_token", "password")}
        data, errors = load_form(UserForm(), request.form)
        if data is not None:
            user, errors = attempt(
                lambda: admin_users.create_user(db.session, actor_id=current_user.id, **data)
            )
            if user is not None:
                flash(
                    _(
                        "已创建用户 %(user)s（%(role)s）。",
                        user=user.username,
                        role=ROLE_LABELS[user.role],
                    ),
                    "success",
                )
                return redirect(url_for("admin.users", role=user.role))
    return render_template(
        "admin/user_new.html",
        user=None,
        values=values,
        errors=errors,
        role_labels=ROLE_LABELS,
        links=_links(),
    ), (422 if errors else 200)


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
def user_edit(user_id: int) -> Any:
    """Change a user's name, role or link."""
    user = admin_users.get_user(db.session, user_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {k: v for k, v in request.form.items() if k != "csrf_token"}
        data, errors = load_form(UserEditForm(), request.form)
        if data is not None:
            saved, errors = attempt(
                lambda: admin_users.update_user(
                    db.session, user_id, actor_id=current_user.id, **data
                )
            )
            if saved is not None:
                flash(_("已保存用户 %(user)s。", user=saved.username), "success")
                return redirect(url_for("admin.users", role=saved.role))
    else:
        values = {
            "display_name": user.display_name,
            "role": user.role,
            "enterprise_uscc": user.enterprise.uscc if user.enterprise else "",
            "bank_id": user.bank_id,
            "park_id": user.park_id,
            "chamber_id": user.chamber_id,
        }
    return render_template(
        "admin/user_new.html",
        user=user,
        values=values,
        errors=errors,
        role_labels=ROLE_LABELS,
        links=_links(),
    ), (422 if errors else 200)


@bp.post("/users/<int:user_id>/active")
def user_active(user_id: int) -> Any:
    """Deactivate a user (no more sign-in) or reactivate them."""
    data, _errors = load_form(ActiveForm(), request.form)
    active = bool(data and data["active"])
    user, errors = attempt(
        lambda: admin_users.set_user_active(db.session, user_id, active, actor_id=current_user.id)
    )
    if errors:
        flash(errors["_form"], "danger")
    else:
        if active:
            flash(_("已启用用户 %(user)s。", user=user.username), "success")
        else:
            flash(_("已停用用户 %(user)s。", user=user.username), "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/password")
def user_password(user_id: int) -> Any:
    """Reset a user's password and show the new one once."""
    data, errors = load_form(PasswordForm(), request.form)
    result, errors = attempt(
        lambda: admin_users.reset_password(
            db.session,
            user_id,
            actor_id=current_user.id,
            new_password=(data or {}).get("new_password", ""),
        )
    )
    if errors:
        flash(errors.get("new_password") or errors["_form"], "danger")
        return redirect(url_for("admin.users"))
    user, password = result
    # Shown in this answer only, never put in the (signed, not encrypted) session cookie.
    return render_template("admin/password_reset.html", user=user, password=password)
