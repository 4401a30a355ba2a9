"""Admins keep the LPR table and the holiday table; every change is audited."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from finportal.models import AuditEvent, Holiday, ReferenceRate
from finportal.services import catalog
from finportal.services.workdays import SHANGHAI, deadline


def test_an_lpr_typed_in_percent_is_stored_as_a_fraction_and_quoted(
    client, db_session, create_user, login, published_catalog
):
    admin = create_user("admin")
    login(admin)
    response = client.post(
        "/admin/rates",
        data={
            "kind": "lpr_1y",
            "rate_percent": "2.85",
            "effective_on": "2026-01-20",
            "source": "全国银行间同业拆借中心",
        },
    )
    assert response.status_code == 302
    rate = db_session.scalar(select(ReferenceRate))
    assert rate.annual_rate == Decimal("0.0285")
    assert catalog.current_lpr(db_session, date(2026, 2, 1)) == Decimal("0.0285")
    page = client.get("/admin/rates").text
    assert "2.85%" in page and "2026-01-20" in page
    assert "2.85%" in client.get("/products/ip_pledge").text
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "rate.added"))
    assert event.actor_id == admin.id and event.data["annual_rate"] == "0.0285"


def test_a_bad_rate_is_refused_beside_the_field_keeping_what_was_typed(client, create_user, login):
    login(create_user("admin"))
    response = client.post(
        "/admin/rates",
        data={
            "kind": "lpr_1y",
            "rate_percent": "三点一",
            "effective_on": "2026-13-01",
            "source": "我的来源",
        },
    )
    assert response.status_code == 422
    assert "请填写数字" in response.text
    assert "请填写日期" in response.text
    assert 'value="三点一"' in response.text and 'value="我的来源"' in response.text
    too_high = client.post(
        "/admin/rates", data={"kind": "lpr_1y", "rate_percent": "31", "effective_on": "2026-01-20"}
    )
    assert too_high.status_code == 422
    assert "应在 0 到 20 之间" in too_high.text


def test_two_rates_of_a_kind_on_one_day_are_refused_and_one_can_be_deleted(
    client, db_session, create_user, login
):
    login(create_user("admin"))
    form = {"kind": "lpr_1y", "rate_percent": "3.0", "effective_on": "2026-02-20"}
    assert client.post("/admin/rates", data=form).status_code == 302
    again = client.post("/admin/rates", data=form)
    assert again.status_code == 422
    assert "该日期已有记录" in again.text
    rate = db_session.scalar(select(ReferenceRate))
    assert client.post(f"/admin/rates/{rate.id}/delete").status_code == 302
    db_session.expire_all()
    assert db_session.scalar(select(ReferenceRate)) is None
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.action == "rate.deleted"))
    assert client.post(f"/admin/rates/{rate.id}/delete").status_code == 404


def test_a_holiday_added_by_an_admin_moves_deadlines(client, db_session, create_user, login):
    login(create_user("admin"))
    thursday = datetime(2026, 10, 1, 10, 0, tzinfo=SHANGHAI)
    assert deadline(db_session, thursday, 1).date() == date(2026, 10, 2)
    response = client.post("/admin/holidays", data={"day": "2026-10-02", "name": "国庆节"})
    assert response.status_code == 302
    assert response.location.endswith("year=2026")
    assert deadline(db_session, thursday, 1).date() == date(2026, 10, 5)
    client.post("/admin/holidays", data={"day": "2026-10-03", "name": "调休", "is_workday": "on"})
    assert deadline(db_session, thursday, 1).date() == date(2026, 10, 3)
    page = client.get("/admin/holidays?year=2026").text
    assert "国庆节" in page and "调休上班" in page
    assert "2026-10-02" not in client.get("/admin/holidays?year=2025").text


def test_holiday_form_errors_and_deletion(client, db_session, create_user, login):
    login(create_user("admin"))
    response = client.post("/admin/holidays", data={"day": "", "name": "春节"})
    assert response.status_code == 422
    assert "此项必填" in response.text and 'value="春节"' in response.text
    client.post("/admin/holidays", data={"day": "2026-02-17", "name": "春节"})
    dup = client.post("/admin/holidays", data={"day": "2026-02-17", "name": "春节"})
    assert dup.status_code == 422 and "已存在" in dup.text
    holiday = db_session.scalar(select(Holiday))
    assert (
        client.post(f"/admin/holidays/{holiday.id}/delete", data={"year": "2026"}).status_code
        == 302
    )
    db_session.expire_all()
    assert db_session.scalar(select(Holiday)) is None
    actions = set(db_session.scalars(select(AuditEvent.action)))
    assert {"holiday.added", "holiday.deleted"} <= actions


def test_only_a_weekend_day_can_be_a_worked_day(client, create_user, login):
    login(create_user("admin"))
    response = client.post(
        "/admin/holidays", data={"day": "2026-10-08", "name": "调休", "is_workday": "on"}
    )
    assert response.status_code == 422
    assert "调休上班只适用于周六、周日" in response.text
