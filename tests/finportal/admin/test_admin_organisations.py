"""Admins manage banks, parks and chambers."""

from __future__ import annotations

from sqlalchemy import select

from finportal.models import AuditEvent, Bank, Park


def test_admin_adds_and_edits_a_bank(client, db_session, create_user, login):
    admin = create_user("admin")
    login(admin)
    response = client.post(
        "/admin/organisations/bank/new",
        data={
            "code": "demo-bank-9",
            "name_zh": "演示银行九",
            "name_en": "Demo Bank 9",
            "active": "on",
            "demo": "on",
        },
    )
    assert response.status_code == 302
    assert response.location.endswith("kind=bank")
    bank = db_session.scalar(select(Bank).where(Bank.code == "demo-bank-9"))
    assert bank.demo and bank.active
    page = client.get("/admin/organisations?kind=bank").text
    assert "演示银行九" in page and "演示银行（虚构）" in page
    edit = client.get(f"/admin/organisations/bank/{bank.id}/edit").text
    assert 'value="演示银行九"' in edit
    client.post(
        f"/admin/organisations/bank/{bank.id}/edit",
        data={"code": "demo-bank-9", "name_zh": "演示银行九（更名）"},
    )
    db_session.expire_all()
    bank = db_session.get(Bank, bank.id)
    assert bank.name_zh == "演示银行九（更名）"
    assert bank.active is False
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "bank.updated"))
    assert event.actor_id == admin.id and event.to_state == "inactive"


def test_a_park_with_a_bad_or_taken_code_is_refused(client, db_session, create_user, login):
    login(create_user("admin"))
    db_session.add(Park(code="dalinghao", name_zh="大零号湾"))
    db_session.commit()
    bad = client.post("/admin/organisations/park/new", data={"code": "大零号湾", "name_zh": "大"})
    assert bad.status_code == 422
    assert "代码为2-40位小写字母" in bad.text and "请填写中文名称" in bad.text
    assert 'value="大零号湾"' in bad.text
    taken = client.post(
        "/admin/organisations/park/new",
        data={
            "code": "dalinghao",
            "name_zh": "大零号湾科技创新策源功能区",
            "source": "https://www.shmh.gov.cn",
        },
    )
    assert taken.status_code == 422 and "已被使用" in taken.text
    assert "大零号湾" in client.get("/admin/organisations?kind=park").text


def test_unknown_kinds_and_ids_are_not_found(client, create_user, login):
    login(create_user("admin"))
    assert client.get("/admin/organisations?kind=school").status_code == 404
    assert client.get("/admin/organisations/school/new").status_code == 404
    assert client.get("/admin/organisations/chamber/99999/edit").status_code == 404
    assert client.get("/admin/organisations?kind=chamber").status_code == 200


def test_an_unused_organisation_can_be_deleted_a_used_one_only_deactivated(
    client, db_session, create_user, create_bank, login
):
    login(create_user("admin"))
    unused = create_bank()
    used = create_bank()
    create_user("bank", bank_id=used.id)
    refused = client.post(f"/admin/organisations/bank/{used.id}/delete")
    assert refused.status_code == 302
    page = client.get(refused.location).text
    assert "已被使用（用户 1 条）" in page and "请改为停用" in page
    assert client.post(f"/admin/organisations/bank/{unused.id}/delete").status_code == 302
    db_session.expire_all()
    assert db_session.get(Bank, unused.id) is None
    assert db_session.get(Bank, used.id) is not None
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "bank.deleted"))
    assert event.object_id == unused.id
    assert client.post(f"/admin/organisations/bank/{unused.id}/delete").status_code == 404
