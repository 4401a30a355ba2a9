"""Products: edit a product's content as YAML, publish versions, follow the 政策找企业 job."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from finportal.extensions import db
from finportal.models import Job
from finportal.services import admin_products
from finportal.web.admin.views import FormSchema, attempt, bp, checkbox, text
from finportal.web.forms import load_form

NEW_PRODUCT_HINT = """# 新产品：按 products/catalog/*.yaml 的格式填写，每个数字都要写明来源（source），
# 未经确认的数字标 demo: true。保存时用与产品目录相同的规则校验。
# 可先打开一个现有产品的编辑页，复制其内容后修改 code 与各项。
code: new_product
name_zh: 新产品
name_en: New product
"""


class ProductForm(FormSchema):
    """What the product edit form posts: the product's content as YAML."""

    content = text("document", required=True, strip=False)


class ActiveForm(FormSchema):
    """A switch on or off."""

    active = checkbox()


@bp.get("/products")
def products() -> Any:
    """List every product with its current version and the state of its latest push."""
    rows = admin_products.list_products(db.session)
    jobs = {
        p.id: admin_products.push_job(db.session, p.current_version_id)
        for p in rows
        if p.current_version_id
    }
    return render_template("admin/products.html", products=rows, jobs=jobs)


def _publish_page(code: str | None) -> Any:
    product = admin_products.get_product(db.session, code) if code else None
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {"content": request.form.get("content", "")}
        data, errors = load_form(ProductForm(), request.form)
        if data is not None:
            result, errors = attempt(
                lambda: admin_products.publish_product_yaml(
                    db.session, data["content"], actor_id=current_user.id, expected_code=code
                )
            )
            if result is not None:
                v = result.version
                if result.created:
                    flash(_("已发布第 %(n)s 版；政策找企业推送任务已启动。", n=v.number), "success")
                elif result.reverted:
                    flash(
                        _(
                            "内容与第 %(n)s 版相同：已恢复为第 %(n)s 版，未生成新版本。",
                            n=v.number,
                        ),
                        "info",
                    )
                else:
                    flash(_("内容与第 %(n)s 版相同，未生成新版本。", n=v.number), "info")
                return redirect(url_for("admin.product_versions", code=v.product.code))
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
    """Add a product from YAML checked by the catalogue schema."""
    return _publish_page(None)


@bp.route("/products/<code>/edit", methods=["GET", "POST"])
def product_edit(code: str) -> Any:
    """Edit a product's content as YAML and publish it as a new version when it changed."""
    return _publish_page(code)


@bp.get("/products/<code>/versions")
def product_versions(code: str) -> Any:
    """List a product's versions, each with its content and its push job."""
    product = admin_products.get_product(db.session, code)
    versions = admin_products.product_versions(db.session, product.id)
    return render_template(
        "admin/product_versions.html",
        product=product,
        versions=versions,
        jobs={v.id: admin_products.push_job(db.session, v.id) for v in versions},
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
