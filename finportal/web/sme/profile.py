"""The enterprise profile, its Excel template and import, and the matched products."""

from __future__ import annotations

import io
from typing import Any

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from marshmallow import Schema, ValidationError, fields, validate

from finportal import limits
from finportal.domain import fields as profile_fields
from finportal.extensions import db
from finportal.services import coaching, profile_excel, profile_form
from finportal.services import enterprises as enterprise_service
from finportal.services import matches as match_service
from finportal.services.application_forms import AmountWan
from finportal.services.errors import ValidationFailed
from finportal.services.profiles import declared_profile
from finportal.services.public_data import facts as verified_facts
from finportal.web.forms import form_errors, message
from finportal.web.sme.views import bp, enterprise_id


def _raw_profile(form: Any) -> dict[str, Any]:
    """Read the posted profile, keeping the multi-choice fields as lists."""
    raw: dict[str, Any] = {}
    for name in profile_form.EDITABLE_FIELDS:
        if name in profile_form.LIST_FIELDS:
            raw[name] = form.getlist(name)
        elif name in form:
            raw[name] = form.get(name)
    return raw


def profile_fields_context() -> dict[str, Any]:
    """Return what the profile's form fields need: kinds, units, hints and choices."""
    return {
        "profile_fields": profile_fields.fields(),
        "orgs": enterprise_service.organisations(db.session),
    }


def _render_profile(
    values: dict[str, Any], errors: dict[str, str], status: int = 200, **extra: Any
) -> Any:
    enterprise = enterprise_service.get_enterprise(db.session, enterprise_id())
    verified = verified_facts.by_field(verified_facts.live_rows(db.session, enterprise))
    return (
        render_template(
            "sme/profile.html",
            enterprise=enterprise,
            values=values,
            errors=errors,
            groups=profile_fields.groups(),
            **profile_fields_context(),
            size=enterprise_service.size_class_of(enterprise),
            completeness=profile_form.completeness(db.session, enterprise),
            import_limit_kb=profile_excel.IMPORT_MAX_BYTES // 1024,
            # issue 14: each verified value beside its field (✔ 已核验, source, as-of date).
            verified_fields=verified,
            # issue 14: a declared value a profile document backs (有材料佐证, file, hash).
            backed_fields=verified_facts.backed(
                db.session, enterprise.id, declared_profile(enterprise), verified
            ),
            **extra,
        ),
        status,
    )


@bp.route("/profile", methods=["GET", "POST"])
def profile() -> Any:
    """Show and save the enterprise profile, grouped as a finance officer reads it."""
    enterprise = enterprise_service.get_enterprise(db.session, enterprise_id())
    if request.method == "GET":
        return _render_profile(profile_form.form_values(enterprise), {})
    raw = _raw_profile(request.form)
    values = {**raw, "uscc": enterprise.uscc}
    try:
        data = profile_form.validate_profile(raw)
        changed = profile_form.update_profile(
            db.session, actor_id=current_user.id, enterprise_id=enterprise.id, data=data
        )
    except ValidationFailed as exc:
        db.session.rollback()
        return _render_profile(values, form_errors(exc), 422)
    flash(
        _("企业信息已保存（更新 %(n)s 项）。", n=len(changed))
        if changed
        else _("企业信息没有变化。"),
        "success",
    )
    return redirect(url_for("sme.profile"))


@bp.get("/profile/template.xlsx")
def profile_template() -> Any:
    """Download the Excel template, filled with the profile as it stands."""
    content = profile_excel.excel_template(db.session, enterprise_id())
    return send_file(
        io.BytesIO(content),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name="enterprise-profile-template.xlsx",
    )


@bp.post("/profile/import")
def profile_import() -> Any:
    """Import the profile from an uploaded template; report every bad row and cell."""
    upload = request.files.get("file")
    enterprise = enterprise_service.get_enterprise(db.session, enterprise_id())
    values = profile_form.form_values(enterprise)
    if upload is None or not upload.filename:
        return _render_profile(
            values,
            {},
            422,
            import_problems=[
                profile_excel.ImportProblem(None, None, None, _("请选择要上传的 .xlsx 文件。"))
            ],
        )
    content = upload.stream.read(profile_excel.IMPORT_MAX_BYTES + 1)
    notes: list[profile_excel.ImportProblem] = []
    try:
        changed = profile_excel.import_profile(
            db.session,
            actor_id=current_user.id,
            enterprise_id=enterprise.id,
            filename=upload.filename,
            content=content,
            notes=notes,
        )
    except profile_excel.ImportFailed as exc:
        db.session.rollback()
        return _render_profile(
            values, {}, 422, import_problems=[*exc.problems, *notes], import_message=message(exc)
        )
    flash(_("Excel 导入成功，更新 %(n)s 项。", n=len(changed)), "success")
    for note in notes:
        flash(_("第 %(row)s 行 %(message)s", row=note.row, message=note.message), "info")
    return redirect(url_for("sme.profile"))


class MatchQuery(Schema):
    """The amount (万元) and term the SME types in to compare net costs."""

    amount = AmountWan(allow_none=True, load_default=None)
    term = fields.Integer(
        allow_none=True,
        load_default=None,
        strict=False,
        validate=validate.Range(
            min=1,
            max=limits.MAX_TERM_MONTHS,
            error=lazy_gettext("期限须为 1 至 %(n)s 个月。", n=limits.MAX_TERM_MONTHS),
        ),
        error_messages={"invalid": limits.MESSAGES["months"]},
    )


@bp.get("/matches")
def matches() -> Any:
    """Show every product: eligible ones ranked by net cost with quotes, the others with reasons.

    One ranking (effective annual cost, then net cost: :func:`match_service.by_cost`) orders
    both the comparison table and the cards, as on every other page.
    """
    raw = {k: v.strip() for k, v in request.args.items() if k in ("amount", "term") and v.strip()}
    errors: dict[str, str] = {}
    query: dict[str, Any] = {}
    try:
        query = MatchQuery().load(raw)
    except ValidationError as exc:
        errors = profile_form.flatten_messages(exc.messages)
    amount, term = query.get("amount"), query.get("term")
    # Held from here on: the session keeps loaded records only while they are referenced, so
    # the matcher's look-up of the same firm finds this one instead of reading it again.
    enterprise = enterprise_service.get_enterprise(db.session, enterprise_id())
    results = match_service.match_products(
        db.session, enterprise_id(), amount=amount, term_months=term
    )
    eligible = sorted((r for r in results if r.eligible), key=match_service.by_cost)
    compare = bool(amount is not None and term is not None)
    ranked = [r for r in eligible if r.quote is not None]
    near_misses = coaching.near_misses(
        db.session,
        enterprise_id(),
        amount=amount,
        term_months=term,
        baseline=ranked[0].quote if ranked else None,
    )
    return render_template(
        "sme/matches.html",
        results=results,
        eligible=eligible,
        others=[r for r in results if not r.eligible],
        ranked=ranked,
        near_misses=near_misses,
        compare=compare,
        values=raw,
        errors=errors,
        size=enterprise_service.size_class_of(enterprise),
        completeness=profile_form.completeness(db.session, enterprise),
    ), (422 if errors else 200)
