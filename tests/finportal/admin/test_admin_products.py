"""Admins edit products as YAML checked by the catalogue schema, publish, and see the push."""

from __future__ import annotations

import yaml
from sqlalchemy import func, select

from finportal.models import AuditEvent, Job, Notification, Product, ProductVersion


def _yaml_of(db_session, code):
    product = db_session.scalar(select(Product).where(Product.code == code))
    return yaml.safe_dump(product.current_version.content, allow_unicode=True, sort_keys=False)


def _versions(db_session, code):
    return db_session.scalar(
        select(func.count())
        .select_from(ProductVersion)
        .join(Product, ProductVersion.product_id == Product.id)
        .where(Product.code == code)
    )


def _draft_and_approve(client, login, create_user, url, text):
    """Post YAML as one admin and approve the draft as another; return the approval's response."""
    drafter, checker = create_user("admin"), create_user("admin")
    login(drafter)
    response = client.post(url, data={"content": text})
    assert response.status_code == 302, response.text
    draft_url = response.location
    login(checker)
    return client.post(draft_url + "/approve", data={}), drafter, checker


def test_product_list_shows_every_product_and_its_version(
    client, create_user, login, published_catalog
):
    login(create_user("admin"))
    page = client.get("/admin/products").text
    for name in ("园区批次贷", "知识产权质押贷款", "创业担保贷款"):
        assert name in page
    assert "第 1 版" in page


def test_edit_page_is_prefilled_with_the_current_version(
    client, create_user, login, published_catalog
):
    login(create_user("admin"))
    page = client.get("/admin/products/ip_pledge/edit").text
    assert "<textarea" in page
    assert "code: ip_pledge" in page
    assert "知识产权质押贷款" in page


def test_a_bad_edit_names_the_field_and_keeps_the_typed_text(
    client, db_session, create_user, login, published_catalog
):
    login(create_user("admin"))
    data = yaml.safe_load(_yaml_of(db_session, "ip_pledge"))
    data["terms"]["amount_max"]["value"] = "很多"
    typed = yaml.safe_dump(data, allow_unicode=True, sort_keys=False) + "# 我的备注\n"
    response = client.post("/admin/products/ip_pledge/edit", data={"content": typed})
    assert response.status_code == 422
    assert "terms.amount_max.value" in response.text
    assert "# 我的备注" in response.text
    assert "很多" in response.text
    assert _versions(db_session, "ip_pledge") == 1


def test_broken_yaml_is_refused_with_the_line(client, create_user, login, published_catalog):
    login(create_user("admin"))
    response = client.post(
        "/admin/products/ip_pledge/edit", data={"content": "code: ip_pledge\nname_zh: [unclosed\n"}
    )
    assert response.status_code == 422
    assert "YAML 格式错误" in response.text
    assert "行" in response.text


def test_the_code_of_a_product_cannot_change_in_its_edit_page(
    client, db_session, create_user, login, published_catalog
):
    login(create_user("admin"))
    text = _yaml_of(db_session, "ip_pledge").replace("code: ip_pledge", "code: ip_pledge_2")
    response = client.post("/admin/products/ip_pledge/edit", data={"content": text})
    assert response.status_code == 422
    assert "产品代码不能修改" in response.text


def test_an_approved_change_makes_a_version_and_pushes_to_eligible_firms(
    client, db_session, create_user, create_enterprise, login, published_catalog
):
    holder = create_enterprise(invention_patents=2)
    create_enterprise(invention_patents=0, trademarks=0)
    text = _yaml_of(db_session, "ip_pledge").replace(
        "name_zh: 知识产权质押贷款", "name_zh: 知识产权质押贷款（2026版）"
    )
    response, drafter, checker = _draft_and_approve(
        client, login, create_user, "/admin/products/ip_pledge/edit", text
    )
    assert response.status_code == 302
    assert response.location.endswith("/admin/products/ip_pledge/versions")
    db_session.expire_all()
    assert _versions(db_session, "ip_pledge") == 2
    product = db_session.scalar(select(Product).where(Product.code == "ip_pledge"))
    assert product.name_zh == "知识产权质押贷款（2026版）"
    assert product.current_version.number == 2
    assert product.current_version.published_by_id == checker.id
    job = db_session.scalar(select(Job).where(Job.object_id == product.current_version_id))
    assert job.kind == "notify_eligible"
    assert job.state == "done"
    assert job.created_by_id == checker.id
    # the holder was never told of ip_pledge: it hears that it qualifies (not "新产品发布")
    titles = list(
        db_session.scalars(
            select(Notification.title_zh).where(
                Notification.enterprise_id == holder.id,
                Notification.link == "/products/ip_pledge",
            )
        )
    )
    assert titles == ["贵企业符合「知识产权质押贷款（2026版）」的申请条件"]
    page = client.get(response.location).text
    assert "已批准并发布" in page
    assert 'data-job-state="done"' in page
    assert "第 2 版" in page and "第 1 版" in page
    event = db_session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "product.published", AuditEvent.to_state == "v2"
        )
    )
    assert event.actor_id == checker.id
    approval = db_session.scalar(
        select(AuditEvent).where(AuditEvent.action == "product_draft.approved")
    )
    assert approval.actor_id == checker.id
    assert approval.data["drafted_by"] == drafter.id


def test_the_same_content_makes_no_draft_and_no_push(
    client, db_session, create_user, login, published_catalog
):
    login(create_user("admin"))
    text = _yaml_of(db_session, "ip_pledge")
    response = client.post("/admin/products/ip_pledge/edit", data={"content": text})
    assert response.status_code == 422
    assert "无需复核" in response.text
    assert _versions(db_session, "ip_pledge") == 1
    assert db_session.scalar(select(func.count()).select_from(Job)) == 0


def test_a_new_product_is_added_from_yaml(
    client, db_session, create_user, login, published_catalog
):
    login(create_user("admin"))
    assert "code: new_product" in client.get("/admin/products/new").text
    data = yaml.safe_load(_yaml_of(db_session, "first_loan"))
    data["code"], data["name_zh"] = "first_loan_plus", "首贷（加强版）"
    response, _drafter, _checker = _draft_and_approve(
        client,
        login,
        create_user,
        "/admin/products/new",
        yaml.safe_dump(data, allow_unicode=True),
    )
    assert response.status_code == 302
    assert db_session.scalar(select(Product).where(Product.code == "first_loan_plus")) is not None
    again = client.post(
        "/admin/products/new", data={"content": yaml.safe_dump(data, allow_unicode=True)}
    )
    assert again.status_code == 422
    assert "已存在" in again.text


def test_a_deactivated_product_leaves_the_public_catalogue(
    client, db_session, create_user, login, published_catalog
):
    login(create_user("admin"))
    assert client.get("/products/ip_pledge").status_code == 200
    assert client.post("/admin/products/ip_pledge/active", data={}).status_code == 302
    assert client.get("/products/ip_pledge").status_code == 404
    assert "知识产权质押贷款" not in client.get("/products/").text
    assert "已下架" in client.get("/admin/products").text
    client.post("/admin/products/ip_pledge/active", data={"active": "on"})
    assert client.get("/products/ip_pledge").status_code == 200


def test_job_page_shows_the_state(client, db_session, create_user, login, published_catalog):
    from finportal import jobs

    login(create_user("admin"))
    job = jobs.enqueue(db_session, "selftest", note="hello")
    page = client.get(f"/admin/jobs/{job.id}").text
    assert "已完成" in page and "selftest" in page
    assert client.get("/admin/jobs/nope").status_code == 404


def test_going_back_to_earlier_content_makes_that_version_current_again(
    client, db_session, create_user, login, published_catalog
):
    original = _yaml_of(db_session, "ip_pledge")
    changed = original.replace("name_zh: 知识产权质押贷款", "name_zh: 知识产权质押贷款（试行）")
    _draft_and_approve(client, login, create_user, "/admin/products/ip_pledge/edit", changed)
    response, _d, _c = _draft_and_approve(
        client, login, create_user, "/admin/products/ip_pledge/edit", original
    )
    assert response.status_code == 302
    db_session.expire_all()
    product = db_session.scalar(select(Product).where(Product.code == "ip_pledge"))
    assert product.current_version.number == 1
    assert _versions(db_session, "ip_pledge") == 2
    # a push per approval, and neither tells anybody anything new (words only)
    pushes = list(
        db_session.scalars(
            select(Job).where(Job.kind == "notify_eligible").order_by(Job.created_at)
        )
    )
    assert len(pushes) == 2
    assert all(j.result["new"] == 0 and j.result["cheaper"] == 0 for j in pushes)


def test_a_date_that_does_not_exist_is_refused_with_the_line_and_the_text_kept(
    client, create_user, login, published_catalog, db_session
):
    login(create_user("admin"))
    typed = "code: ip_pledge\nvalid_from: 2024-02-30\n# 我的备注\n"
    response = client.post("/admin/products/ip_pledge/edit", data={"content": typed})
    assert response.status_code == 422
    assert "YAML 格式错误：第 2 行" in response.text
    assert "# 我的备注" in response.text
    assert _versions(db_session, "ip_pledge") == 1
