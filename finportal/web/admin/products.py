"""Products: draft a product's content as YAML, approve it as a second admin, follow the push."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from finportal import limits
from finportal.domain.states import PRODUCT_DRAFT, DraftState
from finportal.extensions import db
from finportal.models import Job
from finportal.services import admin_products, product_form, publishing
from finportal.services.errors import NotFound, ServiceError
from finportal.web.admin.views import FormSchema, attempt, bp, checkbox, text
from finportal.web.forms import form_errors, load_form, message

NEW_PRODUCT_HINT = """# 新产品：按 products/catalog/*.yaml 的格式填写，每个数字都要写明来源（source），
# 未经确认的数字标 demo: true。保存时用与产品目录相同的规则校验。
# 可先打开一个现有产品的编辑页，复制其内容后修改 code 与各项。
code: new_product
name_zh: 新产品
name_en: New product
"""


class ProductForm(FormSchema):
    """What the product edit form posts: the product's content as YAML, and a note."""

    content = text("document", required=True, strip=False)
    note = text("reason")


class DecisionForm(FormSchema):
    """What an approval, a sending back or a withdrawal posts: an optional note."""

    note = text("reason")


class ActiveForm(FormSchema):
    """A switch on or off."""

    active = checkbox()


@bp.get("/products")
def products() -> Any:
    """List every product with its current version and the state of its latest push."""
    rows = admin_products.list_products(db.session)
    newest = admin_products.push_jobs(db.session, [p.current_version_id for p in rows])
    jobs = {p.id: newest.get(p.current_version_id) for p in rows if p.current_version_id}
    return render_template(
        "admin/products.html",
        products=rows,
        jobs=jobs,
        pending=publishing.pending_counts(db.session),
    )


def _draft_page(code: str | None) -> Any:
    """The edit page: YAML checked by the catalogue's rules becomes a draft for a second admin."""
    product = admin_products.get_product(db.session, code) if code else None
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {
            "content": request.form.get("content", ""),
            "note": request.form.get("note", ""),
        }
        data, errors = load_form(ProductForm(), request.form)
        if data is not None:
            draft, errors = attempt(
                lambda: publishing.draft_product(
                    db.session,
                    data["content"],
                    actor_id=current_user.id,
                    expected_code=code,
                    note=data["note"],
                )
            )
            if draft is not None:
                flash(_("草稿已提交，须由另一位管理员复核后发布。"), "success")
                return redirect(url_for("admin.product_draft", draft_id=draft.id))
    elif product is not None and product.current_version is not None:
        values = {"content": admin_products.product_yaml(product.current_version.content)}
    else:
        values = {"content": NEW_PRODUCT_HINT}
    status = 422 if errors else 200
    return render_template(
        "admin/product_edit.html", product=product, values=values, errors=errors
    ), status


@bp.route("/products/new", methods=["GET", "POST"])
def product_new() -> Any:
    """Draft a new product from YAML checked by the catalogue schema."""
    return _draft_page(None)


@bp.route("/products/<code>/edit", methods=["GET", "POST"])
def product_edit(code: str) -> Any:
    """Draft a new version of a product as YAML, for a second admin to approve."""
    return _draft_page(code)


def _form_page(code: str | None) -> Any:
    """The form editor: fields made from the catalogue's schema; a saved form is a draft."""
    product = admin_products.get_product(db.session, code) if code else None
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = {k: v for k, v in request.form.items() if k not in ("csrf_token", "_action")}
        if code is not None:
            values["code"] = code  # the code of a product never changes
        action = request.form.get("_action", "save")
        if action.startswith("add:"):
            values = product_form.add_row(values, action[4:])
        elif action.startswith("remove:"):
            path, _sep, index = action[7:].rpartition(":")
            values = product_form.remove_row(values, path, int(index) if index.isdigit() else -1)
        else:
            note = values.pop("note", "")
            content = product_form.parse_form(values)
            values["note"] = note
            try:
                draft = publishing.draft_content(
                    db.session, content, actor_id=current_user.id, expected_code=code, note=note
                )
            except ServiceError as exc:
                db.session.rollback()
                if isinstance(exc, NotFound):
                    raise
                errors, status = form_errors(exc), exc.status
            else:
                flash(_("草稿已提交，须由另一位管理员复核后发布。"), "success")
                return redirect(url_for("admin.product_draft", draft_id=draft.id))
    elif product is not None and product.current_version is not None:
        values = product_form.form_values(product.current_version.content)
    else:
        values = product_form.form_values(None)
    widgets, leftovers = product_form.build_form(values, errors)
    return render_template(
        "admin/product_form.html",
        product=product,
        widgets=widgets,
        leftovers=leftovers,
        values=values,
        errors=errors,
        choice_label=product_form.choice_label,
        unit_words={
            unit: _("万元") if unit == "yuan" else limits.in_user_language(zh, en)
            for unit, (zh, en) in product_form.CHOICE_WORDS["unit"].items()
        },
    ), status


@bp.route("/products/new/form", methods=["GET", "POST"])
def product_form_new() -> Any:
    """Draft a new product in the form made from the catalogue's schema."""
    return _form_page(None)


@bp.route("/products/<code>/form", methods=["GET", "POST"])
def product_form_edit(code: str) -> Any:
    """Draft a new version of a product in the form made from the catalogue's schema."""
    return _form_page(code)


@bp.get("/products/drafts")
def product_drafts() -> Any:
    """List drafts awaiting approval, then the latest decided ones."""
    return render_template(
        "admin/product_drafts.html", drafts=publishing.list_drafts(db.session), me=current_user.id
    )


def _draft_view(draft_id: int, errors: dict[str, str] | None = None, status: int = 200) -> Any:
    draft = publishing.get_draft(db.session, draft_id)
    version, _old = publishing.current_product_of(db.session, draft.code)
    pending = draft.state == DraftState.PENDING.value
    return render_template(
        "admin/product_draft.html",
        draft=draft,
        current=version,
        changes=publishing.changes(version.content if version is not None else None, draft.content),
        what_if=publishing.what_if_of(db.session, draft) if pending else None,
        state_title=PRODUCT_DRAFT.title(draft.state),
        pending=pending,
        mine=draft.drafted_by_id == current_user.id,
        errors=errors or {},
        values={"note": request.form.get("note", "")} if request.method == "POST" else {},
        as_yaml=admin_products.product_yaml,
    ), status


@bp.get("/products/drafts/<int:draft_id>")
def product_draft(draft_id: int) -> Any:
    """Show a draft, what it changes, and the what-if over every enterprise."""
    return _draft_view(draft_id)


def _decide(draft_id: int, call: Any, done: str) -> Any:
    data, errors = load_form(DecisionForm(), request.form)
    if data is None:
        return _draft_view(draft_id, errors, 422)
    try:
        result = call(data["note"])
    except ServiceError as exc:
        db.session.rollback()
        if isinstance(exc, NotFound):
            raise
        return _draft_view(draft_id, {"_form": message(exc), **exc.fields}, exc.status)
    flash(done, "success")
    if isinstance(result, publishing.Approval):
        return redirect(url_for("admin.product_versions", code=result.version.product.code))
    return redirect(url_for("admin.product_draft", draft_id=draft_id))


@bp.post("/products/drafts/<int:draft_id>/approve")
def product_draft_approve(draft_id: int) -> Any:
    """Approve another admin's draft: it is published and pushed (政策找企业)."""
    return _decide(
        draft_id,
        lambda note: publishing.approve(db.session, draft_id, actor_id=current_user.id, note=note),
        _("已批准并发布；政策找企业推送任务已启动（只通知新符合条件或成本降低的企业）。"),
    )


@bp.post("/products/drafts/<int:draft_id>/return")
def product_draft_return(draft_id: int) -> Any:
    """Send another admin's draft back with the reason."""
    return _decide(
        draft_id,
        lambda note: publishing.send_back(
            db.session, draft_id, actor_id=current_user.id, note=note
        ),
        _("草稿已退回起草人。"),
    )


@bp.post("/products/drafts/<int:draft_id>/withdraw")
def product_draft_withdraw(draft_id: int) -> Any:
    """Withdraw one's own draft."""
    return _decide(
        draft_id,
        lambda _note: publishing.withdraw(db.session, draft_id, actor_id=current_user.id),
        _("草稿已撤回。"),
    )


@bp.get("/products/<code>/versions")
def product_versions(code: str) -> Any:
    """List a product's versions, each with its content and its push job."""
    product = admin_products.get_product(db.session, code)
    number = limits.page_number(request.args.get("page"))
    page = admin_products.product_versions(db.session, product.id, page=number)
    return render_template(
        "admin/product_versions.html",
        product=product,
        versions=page.items,
        page=page,
        # The current version's push is shown above the list, whichever page is open.
        jobs=admin_products.push_jobs(
            db.session, [v.id for v in page.items] + [product.current_version_id or 0]
        ),
        as_yaml=admin_products.product_yaml,
    )


@bp.post("/products/<code>/active")
def product_active(code: str) -> Any:
    """Take a product off the catalogue, or put it back."""
    data, _errors = load_form(ActiveForm(), request.form)
    active = bool(data and data["active"])
    admin_products.set_product_active(db.session, code, active, actor_id=current_user.id)
    flash(
        _("产品已上架。") if active else _("产品已下架：不再公开展示，也不参与匹配。"),
        "success",
    )
    return redirect(url_for("admin.products"))


@bp.get("/jobs/<job_id>")
def job(job_id: str) -> Any:
    """Show a background job's state, message and result."""
    row = db.session.get(Job, job_id)
    if row is None:
        abort(404)
    return render_template("admin/job.html", job=row)
