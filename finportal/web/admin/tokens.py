"""Banks' API tokens: create (the token is shown once), list, revoke."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user

from finportal import limits
from finportal.extensions import db
from finportal.i18n import name
from finportal.services import admin_organisations
from finportal.services import api_tokens as token_service
from finportal.web.admin.views import FormSchema, attempt, bp, text
from finportal.web.forms import load_form


class TokenForm(FormSchema):
    """A new token for one bank."""

    bank_id = limits.Id(
        required=True,
        message=("请选择银行。", "Choose a bank."),
        error_messages={"required": lazy_gettext("请选择银行。")},
    )
    label = text("label")


def _page(
    values: dict[str, Any], errors: dict[str, str], plain: str | None = None, token: Any = None
) -> Any:
    banks = [b for b in admin_organisations.list_organisations(db.session, "bank") if b.active]
    number = limits.page_number(request.args.get("page"))
    page = token_service.tokens_page(db.session, page=number)
    return render_template(
        "admin/api_tokens.html",
        tokens=page.items,
        page=page,
        banks=[(b.id, _("%(name)s（%(code)s）", name=name(b), code=b.code)) for b in banks],
        values=values,
        errors=errors,
        plain=plain,
        new_token=token,
    ), (422 if errors else 200)


@bp.get("/api-tokens")
def api_tokens() -> Any:
    """List every bank's API tokens."""
    return _page({}, {})


@bp.post("/api-tokens")
def api_token_create() -> Any:
    """Create a token for a bank and show it this once."""
    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    data, errors = load_form(TokenForm(), request.form)
    if data is None:
        return _page(values, errors)
    result, errors = attempt(
        lambda: token_service.create_token(
            db.session, bank_id=data["bank_id"], actor_id=current_user.id, label=data["label"]
        )
    )
    if errors:
        return _page(values, errors)
    token, plain = result
    # Rendered in this answer only: the database keeps the hash, the cookie never sees it.
    return _page({}, {}, plain=plain, token=token)


@bp.post("/api-tokens/<int:token_id>/revoke")
def api_token_revoke(token_id: int) -> Any:
    """Revoke a token; it stops working at once."""
    _result, errors = attempt(
        lambda: token_service.revoke_token(db.session, token_id, actor_id=current_user.id)
    )
    flash(
        errors["_form"] if errors else _("令牌已撤销，立即失效。"),
        "danger" if errors else "success",
    )
    return redirect(url_for("admin.api_tokens"))
