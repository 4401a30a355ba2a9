"""Banks, parks and chambers of commerce."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from finportal import limits
from finportal.extensions import db
from finportal.i18n import name
from finportal.limits import in_user_language
from finportal.services import admin_organisations
from finportal.web.admin.views import FormSchema, attempt, bp, checkbox, text
from finportal.web.forms import load_form


class OrganisationForm(FormSchema):
    """A bank, park or chamber."""

    code = text("code", required=True)
    name_zh = text("name", required=True)
    name_en = text("name")
    source = text("source")
    active = checkbox()
    demo = checkbox()


def _kind_labels() -> dict[str, str]:
    """Name each kind of organisation in the user's language."""
    return {
        kind: in_user_language(zh, admin_organisations.ORGANISATION_LABELS_EN[kind])
        for kind, zh in admin_organisations.ORGANISATION_LABELS.items()
    }


def _kind_or_404(kind: str) -> str:
    if kind not in admin_organisations.ORGANISATION_KINDS:
        abort(404)
    return kind


@bp.get("/organisations")
def organisations() -> Any:
    """List banks, parks and chambers, one kind per tab."""
    kind = _kind_or_404(request.args.get("kind", "bank"))
    number = limits.page_number(request.args.get("page"))
    page = admin_organisations.organisations_page(db.session, kind, page=number)
    return render_template(
        "admin/organisations.html",
        kind=kind,
        labels=_kind_labels(),
        rows=page.items,
        page=page,
    )


def _form_page(kind: str, org_id: int | None) -> Any:
    row = admin_organisations.get_organisation(db.session, kind, org_id) if org_id else None
    errors: dict[str, str] = {}
    if request.method == "POST":
        values: dict[str, Any] = {k: v for k, v in request.form.items() if k != "csrf_token"}
        data, errors = load_form(OrganisationForm(), request.form)
        if data is not None:
            saved, errors = attempt(
                lambda: admin_organisations.save_organisation(
                    db.session, kind, actor_id=current_user.id, org_id=org_id, **data
                )
            )
            if saved is not None:
                flash(
                    _("已保存%(kind)s %(name)s。", kind=_kind_labels()[kind], name=name(saved)),
                    "success",
                )
                return redirect(url_for("admin.organisations", kind=kind))
    elif row is not None:
        values = {
            "code": row.code,
            "name_zh": row.name_zh,
            "name_en": row.name_en,
            "source": getattr(row, "source", ""),
            "active": row.active,
            "demo": getattr(row, "demo", False),
        }
    else:
        values = {"active": True}
    return render_template(
        "admin/organisation_form.html",
        kind=kind,
        label=_kind_labels()[kind],
        row=row,
        values=values,
        errors=errors,
    ), (422 if errors else 200)


@bp.route("/organisations/<kind>/new", methods=["GET", "POST"])
def organisation_new(kind: str) -> Any:
    """Add a bank, park or chamber."""
    return _form_page(_kind_or_404(kind), None)


@bp.route("/organisations/<kind>/<int:org_id>/edit", methods=["GET", "POST"])
def organisation_edit(kind: str, org_id: int) -> Any:
    """Edit a bank, park or chamber (deactivate by unticking 启用)."""
    return _form_page(_kind_or_404(kind), org_id)


@bp.post("/organisations/<kind>/<int:org_id>/delete")
def organisation_delete(kind: str, org_id: int) -> Any:
    """Delete a bank, park or chamber that nothing refers to yet."""
    kind = _kind_or_404(kind)
    _result, errors = attempt(
        lambda: admin_organisations.delete_organisation(
            db.session, kind, org_id, actor_id=current_user.id
        )
    )
    if errors:
        flash(errors["_form"], "danger")
        return redirect(url_for("admin.organisation_edit", kind=kind, org_id=org_id))
    flash(_("已删除。"), "success")
    return redirect(url_for("admin.organisations", kind=kind))
