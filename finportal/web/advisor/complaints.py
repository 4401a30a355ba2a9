"""The centre's side of complaints (受理, 交办, 办理), the supervisor's assignment board (交办, 预警)
and the public report's approval (评价晾晒).

Who may do what is ``domain/permissions.py``: any advisor handles the complaints assigned
to them; supervisors and the head see and assign all work; only the head approves figures
for the public.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import EXCLUDE, Schema, fields, validate

from finportal import limits
from finportal.domain import clocks
from finportal.domain.permissions import (
    Actor,
    approves_publication,
    handles_complaint,
    supervises,
)
from finportal.domain.states import current_locale
from finportal.extensions import db
from finportal.services import assignment, complaint_analysis, complaints
from finportal.services.errors import ServiceError
from finportal.services.labels import action_label
from finportal.web.advisor.views import bp
from finportal.web.forms import REQUIRED, form_errors, load_form, message


class ListSchema(Schema):
    """The centre's complaint list: tab, whose, page (query string)."""

    class Meta:
        unknown = EXCLUDE

    tab = fields.String(load_default="open", validate=validate.OneOf(list(complaints.TABS)))
    mine = fields.Boolean(load_default=False)
    page = limits.page_field()


class BoardSchema(Schema):
    """The assignment board's tab and page (query string)."""

    class Meta:
        unknown = EXCLUDE

    tab = fields.String(
        load_default="overdue", validate=validate.OneOf(list(assignment.BOARD_TABS))
    )
    page = limits.page_field()


class AssignSchema(Schema):
    """An assignment: to whom, why, and the version of the record the supervisor saw."""

    class Meta:
        unknown = EXCLUDE

    advisor_id = limits.Id(required=True, error_messages=REQUIRED)
    reason = limits.Text("reason", load_default="")
    lock_version = fields.Integer(load_default=None, allow_none=True, strict=False)
    next = fields.String(load_default="")


class AnswerSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    answer = limits.Text("reason", required=True, error_messages=REQUIRED)
    lock_version = fields.Integer(load_default=None, allow_none=True, strict=False)


class VersionSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    lock_version = fields.Integer(load_default=None, allow_none=True, strict=False)


class ReportSchema(Schema):
    """A period of the public report (dates inclusive)."""

    class Meta:
        unknown = EXCLUDE

    start = limits.Date(
        required=True, error_messages={**REQUIRED, "invalid": limits.MESSAGES["date"]}
    )
    end = limits.Date(
        required=True, error_messages={**REQUIRED, "invalid": limits.MESSAGES["date"]}
    )


def _actor() -> Actor:
    return Actor.of(current_user)


def _supervisor_only() -> Actor:
    actor = _actor()
    if not supervises(actor):
        abort(403)
    return actor


# --- complaints -------------------------------------------------------------------------


@bp.get("/complaints")
def complaints_list() -> Any:
    """List the complaints the advisor handles (supervisors: all), by tab."""
    data, errors = load_form(ListSchema(), request.args)
    data = data or {}
    actor = _actor()
    tab = data.get("tab", "open")
    mine = bool(data.get("mine")) or not supervises(actor)
    found = complaints.complaints_page(
        db.session,
        actor=actor,
        tab=tab,
        assigned_to=actor.user_id if mine and supervises(actor) else None,
        page=data.get("page", 1),
    )
    return render_template(
        "advisor/complaints.html",
        tab=tab,
        tabs=limits.words(complaints.TABS),
        counts=complaints.tab_counts(db.session, actor=actor),
        page=found,
        page_args={"tab": tab, **({"mine": "1"} if data.get("mine") else {})},
        errors=errors,
        kinds=limits.words(complaints.KINDS),
        about=limits.words(complaints.ABOUT),
        clock=complaints.clock,
        names=complaints.names_of(db.session, {c.assigned_to_id for c in found.items}),
        supervising=supervises(actor),
    )


def _render_complaint(complaint_id: int, status: int = 200, **extra: Any) -> Any:
    actor = _actor()
    complaint = complaints.get_complaint(db.session, complaint_id, actor=actor)
    if not handles_complaint(actor, complaint):
        # Their own complaint: the complainant's page.
        return redirect(url_for("complaints.detail", complaint_id=complaint.id))
    extra.setdefault("errors", {})
    extra.setdefault("values", {})
    extra.setdefault("error", None)
    return render_template(
        "advisor/complaint.html",
        c=complaint,
        kinds=limits.words(complaints.KINDS),
        about=limits.words(complaints.ABOUT),
        themes=limits.words(complaints.THEMES),
        clock=complaints.clock(complaint),
        history=complaints.history(db.session, complaint.id, centre=True),
        action_label=action_label,
        names=complaints.names_of(db.session, {complaint.assigned_to_id, complaint.raised_by_id}),
        supervising=supervises(actor),
        advisors=assignment.advisors(db.session) if supervises(actor) else [],
        assignable=complaint.state in assignment.ASSIGNABLE_COMPLAINTS,
        answerable=complaint.state in complaints.ANSWERABLE,
        **extra,
    ), status


@bp.get("/complaints/<int:complaint_id>")
def complaint(complaint_id: int) -> Any:
    """Show a complaint with the steps the advisor may take: acknowledge, assign, answer."""
    return _render_complaint(complaint_id)


def _refused(complaint_id: int, exc: ServiceError, values: dict[str, Any], form: str) -> Any:
    db.session.rollback()
    if exc.status == 404:
        raise exc
    return _render_complaint(
        complaint_id,
        exc.status,
        error=message(exc),
        errors=form_errors(exc),
        values=values,
        active_form=form,
    )


def _values() -> dict[str, Any]:
    return {k: v for k, v in request.form.items() if k != "csrf_token"}


@bp.post("/complaints/<int:complaint_id>/acknowledge")
def acknowledge_complaint(complaint_id: int) -> Any:
    """Acknowledge (受理) a complaint."""
    data, _errors = load_form(VersionSchema(), request.form)
    try:
        complaints.acknowledge(
            db.session,
            complaint_id,
            actor=_actor(),
            lock_version=(data or {}).get("lock_version"),
        )
    except ServiceError as exc:
        return _refused(complaint_id, exc, _values(), "acknowledge")
    flash(_("已受理，并已告知提出人。"), "success")
    return redirect(url_for("advisor.complaint", complaint_id=complaint_id))


@bp.post("/complaints/<int:complaint_id>/answer")
def answer_complaint(complaint_id: int) -> Any:
    """Answer a complaint; the complainant is asked to rate the answer."""
    values = _values()
    data, errors = load_form(AnswerSchema(), values)
    if data is None:
        return _render_complaint(
            complaint_id, 422, error=_("请填写答复内容。"), errors=errors, values=values
        )
    try:
        complaints.answer(
            db.session,
            complaint_id,
            actor=_actor(),
            text=data["answer"],
            lock_version=data["lock_version"],
        )
    except ServiceError as exc:
        return _refused(complaint_id, exc, values, "answer")
    flash(_("已答复，等待提出人评价。"), "success")
    return redirect(url_for("advisor.complaint", complaint_id=complaint_id))


@bp.post("/complaints/<int:complaint_id>/assign")
def assign_complaint(complaint_id: int) -> Any:
    """Give a complaint to an advisor (交办)."""
    actor = _supervisor_only()
    values = _values()
    data, errors = load_form(AssignSchema(), values)
    if data is None:
        return _render_complaint(
            complaint_id, 422, error=_("请选择承办顾问。"), errors=errors, values=values
        )
    try:
        assignment.assign_complaint(
            db.session,
            complaint_id,
            actor=actor,
            advisor_id=data["advisor_id"],
            reason=data["reason"],
            lock_version=data["lock_version"],
        )
    except ServiceError as exc:
        return _refused(complaint_id, exc, values, "assign")
    flash(_("已交办。"), "success")
    if data["next"] == "board":
        return redirect(url_for("advisor.assignment_board", tab="complaints"))
    return redirect(url_for("advisor.complaint", complaint_id=complaint_id))


# --- the assignment board -------------------------------------------------------------------


def _render_board(status: int = 200, **extra: Any) -> Any:
    actor = _supervisor_only()
    data, errors = load_form(BoardSchema(), request.args)
    data = data or {}
    tab = data.get("tab", "overdue")
    page = data.get("page", 1)
    if tab == "complaints":
        found = assignment.complaints_page(db.session, page=page)
        names = complaints.names_of(db.session, {c.assigned_to_id for c, _level in found.items})
    elif tab == "needs":
        found = assignment.needs_page(db.session, page=page)
        names = complaints.names_of(
            db.session, {n.assigned_advisor_id for n, _level, _late in found.items}
        )
    else:
        found = assignment.applications_page(db.session, tab=tab, page=page)
        names = complaints.names_of(
            db.session, {a.assigned_advisor_id for a, _level in found.items}
        )
    extra.setdefault("error", None)
    extra.setdefault("errors", {})
    return render_template(
        "advisor/assignment.html",
        tab=tab,
        tabs=limits.words(assignment.BOARD_TABS),
        counts=assignment.unassigned_counts(db.session),
        loads=assignment.workload(db.session),
        advisors=assignment.advisors(db.session),
        page=found,
        names=names,
        filter_errors=errors,
        clock=complaints.clock,
        ladder=clocks.LADDER,
        head=approves_publication(actor),
        **extra,
    ), status


@bp.get("/assignment")
def assignment_board() -> Any:
    """Show each advisor's load and overdue work, and the work to assign (supervisors only)."""
    return _render_board()


def _assign_from_board(assign: Any, object_id: int, done: str, tab: str) -> Any:
    """Run one of ``services/assignment``'s assign functions from the board's form.

    Bad input or a refusal shows the board again with the reason (an unknown record: 404);
    success goes back to the board's ``tab`` with ``done``.
    """
    actor = _supervisor_only()
    data, errors = load_form(AssignSchema(), _values())
    if data is None:
        return _render_board(422, error=_("请选择承办顾问。"), errors=errors)
    try:
        assign(
            db.session,
            object_id,
            actor=actor,
            advisor_id=data["advisor_id"],
            reason=data["reason"],
            lock_version=data["lock_version"],
        )
    except ServiceError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        return _render_board(exc.status, error=message(exc), errors=form_errors(exc))
    flash(done, "success")
    return redirect(url_for("advisor.assignment_board", tab=tab))


@bp.post("/applications/<int:application_id>/assign")
def assign_application(application_id: int) -> Any:
    """Give an application to an advisor (交办); back to the board."""
    return _assign_from_board(
        assignment.assign_application,
        application_id,
        _("申请 #%(id)s 已交办。", id=application_id),
        request.args.get("tab", "overdue"),
    )


@bp.post("/needs/<int:need_id>/assign")
def assign_need(need_id: int) -> Any:
    """Give an escalated need to an advisor to follow up (交办); back to the board."""
    return _assign_from_board(assignment.assign_need, need_id, _("融资需求已交办。"), "needs")


# --- the public report (评价晾晒) ----------------------------------------------------------


def _render_reports(status: int = 200, **extra: Any) -> Any:
    actor = _supervisor_only()
    extra.setdefault("errors", {})
    extra.setdefault("values", {})
    listed = complaint_analysis.reports(db.session, approved_only=False)
    return render_template(
        "advisor/reports.html",
        reports=listed,
        report_states=limits.words(complaint_analysis.REPORT_STATES),
        head=approves_publication(actor),
        names=complaints.names_of(
            db.session,
            {i for r in listed for i in (r.prepared_by_id, r.approved_by_id)},
        ),
        english=current_locale().startswith("en"),
        **extra,
    ), status


@bp.get("/reports")
def reports() -> Any:
    """List the public reports: prepare one (supervisors), approve or withdraw (the head)."""
    return _render_reports()


@bp.post("/reports")
def prepare_report() -> Any:
    """Freeze a period's per-bank figures as a draft for the head's approval."""
    actor = _supervisor_only()
    values = _values()
    data, errors = load_form(ReportSchema(), values)
    if data is None:
        return _render_reports(422, errors=errors, values=values)
    try:
        complaint_analysis.prepare_report(
            db.session, actor=actor, start=data["start"], end=data["end"]
        )
    except ServiceError as exc:
        db.session.rollback()
        return _render_reports(
            exc.status, errors={"_form": message(exc), **form_errors(exc)}, values=values
        )
    flash(_("报告草稿已生成，待中心负责人批准后公开。"), "success")
    return redirect(url_for("advisor.reports"))


def _report_step(report_id: int, step: Any, done: str) -> Any:
    actor = _supervisor_only()
    try:
        step(db.session, report_id, actor=actor)
    except ServiceError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        return _render_reports(exc.status, errors={"_form": message(exc)})
    flash(done, "success")
    return redirect(url_for("advisor.reports"))


@bp.post("/reports/<int:report_id>/approve")
def approve_report(report_id: int) -> Any:
    """Approve a draft report for the public page (the head only)."""
    return _report_step(report_id, complaint_analysis.approve_report, _("已批准公开。"))


@bp.post("/reports/<int:report_id>/withdraw")
def withdraw_report(report_id: int) -> Any:
    """Take a report off the public page (the head only)."""
    return _report_step(report_id, complaint_analysis.withdraw_report, _("已撤下。"))
