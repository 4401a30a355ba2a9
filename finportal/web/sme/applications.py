"""Applications: list, new (with consent), the application page and its actions."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from finportal import limits
from finportal.domain.states import ApplicationState as A
from finportal.extensions import db
from finportal.i18n import name
from finportal.services import (
    application_details,
    application_forms,
    consents,
    profile_form,
    renewals,
    verification,
)
from finportal.services import applications as application_service
from finportal.services import enterprises as enterprise_service
from finportal.services.errors import (
    Conflict,
    Forbidden,
    InvalidTransition,
    ServiceError,
    ValidationFailed,
)
from finportal.services.labels import purpose_choices, scope_label
from finportal.services.workdays import today_local
from finportal.web.forms import flash_refusal, form_errors, load_form, message
from finportal.web.sme import documents as sme_documents
from finportal.web.sme.profile import profile_fields_context
from finportal.web.sme.views import bp, enterprise_id


def _form_dict(form: Any) -> dict[str, Any]:
    data: dict[str, Any] = {k: v for k, v in form.items() if k != "csrf_token"}
    data["consent_bank_ids"] = form.getlist("consent_bank_ids")
    return data


def _consent_context() -> dict[str, Any]:
    today = application_service.today_local()
    return {
        "scope_labels": [(key, scope_label(key)) for key in application_service.DEFAULT_SCOPE],
        "default_valid_until": (today + timedelta(days=consents.DEFAULT_DAYS)).isoformat(),
        "today": today.isoformat(),
    }


@bp.get("/applications")
def applications() -> Any:
    """List the enterprise's applications, a page at a time, newest first."""
    found = application_details.applications_page(
        db.session, enterprise_id(), limits.page_number(request.args.get("page"))
    )
    return render_template("sme/applications.html", items=found.items, page=found)


@bp.route("/applications/new", methods=["GET", "POST"])
def new_application() -> Any:
    """Ask for financing: amount, term, purpose, product or the centre's match, consents."""
    errors: dict[str, str] = {}
    renewal: renewals.Banner | None = None
    if request.method == "POST":
        values = _form_dict(request.form)
        data, errors = load_form(application_forms.ApplicationSchema(), values)
        if "idempotency_key" in errors:
            # A missing or mangled key: the re-rendered form gets a fresh one.
            values["idempotency_key"] = uuid.uuid4().hex
        if data is not None:
            try:
                application, job = application_service.create_application(
                    db.session, actor_id=current_user.id, enterprise_id=enterprise_id(), data=data
                )
            except ValidationFailed as exc:
                db.session.rollback()
                errors = form_errors(exc)
            except Conflict as exc:
                db.session.rollback()
                errors = {"_form": message(exc)}
                values["idempotency_key"] = uuid.uuid4().hex
            except Forbidden as exc:
                # Not verified yet: keep what was typed and say what to do first.
                db.session.rollback()
                errors = {"_form": message(exc)}
            else:
                if application.state == "draft":
                    flash(_("草稿已保存，可稍后提交。"), "success")
                elif job is not None:
                    flash(_("申请已提交，正在自动匹配产品并评分。"), "success")
                return redirect(url_for("sme.application", application_id=application.id))
    else:
        values = {
            "idempotency_key": uuid.uuid4().hex,
            "product_code": request.args.get("product", ""),
            "amount": request.args.get("amount", ""),
            "term_months": request.args.get("term", ""),
            "consent_bank_ids": [],
        }
        if request.args.get("loan"):
            # 续贷 (issue 13): pre-filled from the running loan; a loan not found is a 404.
            prefill = renewals.prefill(
                db.session, enterprise_id(), request.args["loan"], today=today_local()
            )
            values.update(prefill.values)
            renewal = renewals.Banner(prefill.loan, prefill.notes)
    if request.method == "POST":
        renewal = renewals.form_banner(
            db.session, enterprise_id(), values.get("renews") or "", today=today_local()
        )
    return render_template(
        "sme/new_application.html",
        values=values,
        errors=errors,
        renewal=renewal,
        products=application_details.selectable_products(db.session),
        purposes=purpose_choices(),
        verified=verification.is_verified(
            enterprise_service.get_enterprise(db.session, enterprise_id())
        ),
        banks=consents.partner_banks(db.session),
        **_consent_context(),
    ), (422 if errors else 200)


@bp.get("/applications/<int:application_id>")
def application(application_id: int) -> Any:
    """Show an application: progress, result, timeline, return request, consents, banks."""
    details = application_details.application_details(db.session, enterprise_id(), application_id)
    return _render_application(details)


#: The application states whose page holds a form of the firm's values (read by the template): a draft's submission
#: (the banks to consent to) and a returned application's resubmission (the fields asked for).
FORM_STATES = {A.DRAFT: "submit", A.RETURNED: "resubmit"}


def _render_application(details: dict[str, Any], status: int = 200, **extra: Any) -> Any:
    app_row = details["application"]
    form = FORM_STATES.get(app_row.state)
    values = extra.pop("values", None)
    if values is None and form:
        enterprise = enterprise_service.get_enterprise(db.session, enterprise_id())
        values = profile_form.form_values(enterprise)
        values.update(
            amount=profile_form.yuan_to_wan(app_row.amount),
            term_months=str(app_row.term_months),
            purpose=app_row.purpose.partition(":")[0],
        )
    # What only the forms show (the profile's choices, the partner banks) is read for them.
    forms: dict[str, Any] = {}
    if form == "resubmit":
        forms.update(profile_fields_context(), purposes=purpose_choices())
    if form == "submit":
        forms["banks"] = consents.partner_banks(db.session)
    return render_template(
        "sme/application.html",
        **details,
        form=form,
        # 续贷 (issue 13): the bank whose loan this application renews.
        renews_bank=renewals.renewed_bank(db.session, app_row.id),
        values=values if values is not None else {},
        errors=extra.pop("errors", {}),
        **forms,
        **_consent_context(),
        **sme_documents.application_context(app_row),
        **extra,
    ), status


def _rerender(application_id: int, **extra: Any) -> Any:
    """Show the application page again with a refused form (422)."""
    details = application_details.application_details(db.session, enterprise_id(), application_id)
    return _render_application(details, 422, **extra)


def _refused(exc: ServiceError, application_id: int) -> Any:
    flash_refusal(exc)
    return redirect(url_for("sme.application", application_id=application_id))


@bp.post("/applications/<int:application_id>/submit")
def submit_application(application_id: int) -> Any:
    """Submit a draft with the consents ticked on its page."""
    data, errors = load_form(application_forms.ConsentSchema(), _form_dict(request.form))
    if data is None:
        return _rerender(application_id, errors=errors)
    try:
        application_service.submit_draft(
            db.session,
            actor_id=current_user.id,
            enterprise_id=enterprise_id(),
            application_id=application_id,
            bank_ids=data["consent_bank_ids"],
            valid_until=data["consent_valid_until"],
        )
    except ValidationFailed as exc:
        db.session.rollback()
        return _rerender(application_id, errors=form_errors(exc))
    except (InvalidTransition, Conflict) as exc:
        return _refused(exc, application_id)
    flash(_("申请已提交，正在自动匹配产品并评分。"), "success")
    return redirect(url_for("sme.application", application_id=application_id))


@bp.post("/applications/<int:application_id>/resubmit")
def resubmit_application(application_id: int) -> Any:
    """Save the fields the centre asked for and resubmit the returned application."""
    raw: dict[str, Any] = {}
    for key in request.form:
        if key in profile_form.LIST_FIELDS:
            raw[key] = request.form.getlist(key)
        elif key != "csrf_token":
            raw[key] = request.form.get(key)
    try:
        application_service.resubmit_application(
            db.session,
            actor_id=current_user.id,
            enterprise_id=enterprise_id(),
            application_id=application_id,
            raw=raw,
        )
    except ValidationFailed as exc:
        db.session.rollback()
        enterprise = enterprise_service.get_enterprise(db.session, enterprise_id())
        values = {**profile_form.form_values(enterprise), **raw}
        return _rerender(application_id, errors=exc.fields, values=values)
    except (InvalidTransition, Conflict) as exc:
        return _refused(exc, application_id)
    flash(_("已重新提交，正在重新匹配产品并评分。"), "success")
    return redirect(url_for("sme.application", application_id=application_id))


@bp.post("/applications/<int:application_id>/withdraw")
def withdraw_application(application_id: int) -> Any:
    """Withdraw the application (any time before disbursal)."""
    try:
        application_service.withdraw_application(
            db.session,
            actor_id=current_user.id,
            enterprise_id=enterprise_id(),
            application_id=application_id,
            reason=request.form.get("reason", ""),
        )
    except ValidationFailed as exc:
        db.session.rollback()
        return _rerender(
            application_id,
            errors={**exc.fields, "_form": message(exc)},
            withdraw_values={"reason": request.form.get("reason", "")},
        )
    except (InvalidTransition, Conflict) as exc:
        return _refused(exc, application_id)
    flash(_("申请已撤回。"), "success")
    return redirect(url_for("sme.application", application_id=application_id))


@bp.post("/consents/<int:consent_id>/withdraw")
def withdraw_consent(consent_id: int) -> Any:
    """Withdraw one consent given to a bank."""
    try:
        consent = application_service.withdraw_consent(
            db.session,
            actor_id=current_user.id,
            enterprise_id=enterprise_id(),
            consent_id=consent_id,
        )
    except InvalidTransition as exc:
        flash_refusal(exc)
        return redirect(url_for("sme.applications"))
    flash(_("已撤回对%(bank)s的授权。", bank=name(consent.bank)), "success")
    if consent.application_id:
        return redirect(url_for("sme.application", application_id=consent.application_id))
    return redirect(url_for("sme.applications"))


@bp.post("/applications/<int:application_id>/rating")
def rate_application(application_id: int) -> Any:
    """Rate the service of a closed application, once."""
    data, errors = load_form(application_forms.RatingSchema(), request.form)
    if data is None:
        return _rerender(application_id, errors=errors, rating_values=dict(request.form))
    try:
        application_service.rate_application(
            db.session,
            actor_id=current_user.id,
            enterprise_id=enterprise_id(),
            application_id=application_id,
            stars=data["stars"],
            comment=data["comment"],
        )
    except ValidationFailed as exc:
        db.session.rollback()
        return _rerender(application_id, errors=exc.fields, rating_values=dict(request.form))
    except (InvalidTransition, Conflict) as exc:
        return _refused(exc, application_id)
    flash(_("感谢您的评价！"), "success")
    return redirect(url_for("sme.application", application_id=application_id))


@bp.post("/applications/<int:application_id>/referrals/<int:referral_id>/supply")
def supply_information(application_id: int, referral_id: int) -> Any:
    """Answer a bank's request for information (补充材料)."""
    answer = request.form.get("answer", "")
    try:
        application_service.supply_information(
            db.session,
            actor_id=current_user.id,
            enterprise_id=enterprise_id(),
            application_id=application_id,
            referral_id=referral_id,
            answer=answer,
        )
    except ValidationFailed as exc:
        db.session.rollback()
        return _rerender(
            application_id,
            errors={
                f"answer_{referral_id}": exc.fields.get("answer")
                or exc.fields.get("documents")
                or exc.message_zh
            },
            supply_values={referral_id: answer},
        )
    except ServiceError as exc:
        if exc.status == 404:
            raise
        return _refused(exc, application_id)
    flash(_("已回复银行，银行将在两个工作日内继续办理。"), "success")
    return redirect(url_for("sme.application", application_id=application_id))
