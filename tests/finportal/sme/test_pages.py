"""The SME pages with the Flask test client: forms keep what was typed, messages in Chinese."""

from __future__ import annotations

import io
import re
import uuid

import pytest
from sqlalchemy import func, select

from finportal.models import Application, Consent, Enterprise, Notification
from finportal.services import profile_excel, profile_form
from tests.helpers import PASSWORD, make_uscc

pytestmark = pytest.mark.db


def _count(db_session, model, *where):
    return db_session.scalar(select(func.count()).select_from(model).where(*where))


def _profile_form(enterprise, **changes):
    values = profile_form.form_values(enterprise)
    values.pop("uscc")
    values.update(changes)
    return values


def _new_form(banks, **changes):
    form = {
        "amount": "100",
        "term_months": "12",
        "purpose": "working_capital",
        "product_code": "",
        "idempotency_key": uuid.uuid4().hex,
        "consent_bank_ids": [str(banks[0].id)],
        "consent_valid_until": "",
        "action": "submit",
    }
    form.update(changes)
    return form


def test_home_shows_size_completeness_and_unread(client, login, sme, published_catalog):
    login(sme)
    page = client.get("/sme/")
    assert page.status_code == 200
    assert "小型企业" in page.text
    assert "资料完整度" in page.text


def test_profile_page_groups_fields_with_units_and_the_size_rule(
    client, login, sme, published_catalog
):
    login(sme)
    page = client.get("/sme/profile")
    assert page.status_code == 200
    for group in (
        "基本信息",
        "经营与财务",
        "纳税与社保",
        "知识产权与资质",
        "园区与商会",
        "融资与信用记录",
    ):
        assert f"<legend>{group}</legend>" in page.text
    assert "上年营业收入（万元）" in page.text
    assert 'value="3000"' in page.text  # 30,000,000 yuan shown as 3000 万元
    assert "软件和信息技术服务业" in page.text
    assert "工信部联企业〔2011〕300号" in page.text


def test_rejected_profile_keeps_everything_typed(client, login, sme, db_session, published_catalog):
    login(sme)
    form = _profile_form(
        sme.enterprise,
        name="上海新名字有限公司",
        revenue_last_year="三千万",
        employees="-1",
        total_assets="1000000000000000",
        trademarks="7",
    )
    page = client.post("/sme/profile", data=form)
    assert page.status_code == 422
    assert "请输入数字（单位：万元）" in page.text
    assert "0 至" in page.text
    assert "数值过大" in page.text
    assert 'value="上海新名字有限公司"' in page.text
    assert 'value="三千万"' in page.text
    assert 'value="7"' in page.text
    db_session.refresh(sme.enterprise)
    assert sme.enterprise.name.startswith("上海测试科技有限公司")
    assert sme.enterprise.trademarks == 2


def test_profile_saves_and_redirects(client, login, sme, db_session, published_catalog):
    login(sme)
    response = client.post(
        "/sme/profile",
        data=_profile_form(
            sme.enterprise, revenue_last_year="12.34", employees="9", social_insured_employees="9"
        ),
    )
    assert response.status_code == 302
    db_session.refresh(sme.enterprise)
    assert str(sme.enterprise.revenue_last_year) == "123400.00"
    page = client.get("/sme/profile")
    assert "企业信息已保存" in page.text
    assert "微型企业" in page.text


def test_html_in_the_enterprise_name_is_shown_escaped_everywhere(
    client, login, sme, db_session, banks, ready
):
    login(sme)
    name = '<script>alert("x")</script><b>恶意</b>有限公司'
    assert (
        client.post("/sme/profile", data=_profile_form(sme.enterprise, name=name)).status_code
        == 302
    )
    client.post("/sme/applications/new", data=_new_form(banks))
    application = db_session.scalar(select(Application))
    for url in ("/sme/", "/sme/profile", f"/sme/applications/{application.id}", "/sme/matches"):
        text = client.get(url).text
        assert "<script>alert" not in text, url
        assert "<b>恶意</b>" not in text, url
    assert "&lt;script&gt;alert(" in client.get("/sme/profile").text
    assert "&lt;script&gt;alert(" in client.get(f"/sme/applications/{application.id}").text


def test_registration_refuses_a_wrong_check_character(client):
    good = make_uscc(660001)
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    page = client.post(
        "/auth/register",
        data={
            "uscc": wrong,
            "enterprise_name": "上海校验位测试有限公司",
            "username": "check-char",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        },
    )
    assert page.status_code == 422
    assert "校验位错误" in page.text
    assert 'value="上海校验位测试有限公司"' in page.text


def test_matches_page_ranks_and_compares(client, login, sme, published_catalog):
    login(sme)
    page = client.get("/sme/matches")
    assert page.status_code == 200
    assert "符合条件的产品" in page.text
    assert "暂不符合条件的产品" in page.text
    assert "未满足的条件" in page.text
    compare = client.get("/sme/matches?amount=200&term=12")
    assert compare.status_code == 200
    table = compare.text.split('id="compare-table"')[1].split("</table>")[0]
    costs = [
        float(v) for v in re.findall(r'<strong class="effective-cost">([\d.]+)%</strong>', table)
    ]
    assert costs == sorted(costs) and costs, "ranked by effective annual cost"
    bad = client.get("/sme/matches?amount=abc&term=999")
    assert bad.status_code == 422
    assert "请输入数字" in bad.text
    assert "期限须为 1 至 360 个月" in bad.text
    assert 'value="abc"' in bad.text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"amount": "-1"}, "不能为负数"),
        ({"amount": "0"}, "申请金额须大于 0"),
        ({"amount": "1000000000000000"}, "数值过大"),
        ({"amount": "一百万"}, "请输入数字"),
        ({"term_months": "十二"}, "期限请填整月数"),
        ({"term_months": "0"}, "期限须为 1 至 360 个月"),
        ({"product_code": "ip_pledge", "term_months": "48"}, "期限须在 6 至 36 个月之间"),
        ({"purpose": ""}, "请选择贷款用途"),
        ({"consent_bank_ids": []}, "请至少选择一家银行"),
        ({"idempotency_key": ""}, "表单已失效"),
    ],
)
def test_bad_application_input_is_refused_and_kept(
    client, login, sme, db_session, banks, ready, changes, message
):
    login(sme)
    form = _new_form(banks, purpose_note="采购原材料", **changes)
    page = client.post("/sme/applications/new", data=form)
    assert page.status_code == 422
    assert message in page.text
    assert 'value="采购原材料"' in page.text
    if changes.get("amount"):
        assert f'value="{changes["amount"]}"' in page.text
    assert _count(db_session, Application) == 0


def test_submit_screens_and_shows_the_result(client, login, sme, db_session, banks, ready):
    login(sme)
    form = _new_form(banks, consent_bank_ids=[str(b.id) for b in banks])
    response = client.post("/sme/applications/new", data=form)
    assert response.status_code == 302
    application = db_session.scalar(select(Application))
    assert response.location.endswith(f"/sme/applications/{application.id}")
    page = client.get(response.location)
    assert "已初筛" in page.text
    assert 'id="score"' in page.text and 'id="grade"' in page.text
    assert "合成" in page.text  # the reference model is trained on synthetic data
    assert "主要影响因素" in page.text or "reasons" not in page.text
    assert "自动初筛完成" in page.text  # timeline
    assert page.text.count("撤回授权</button>") == 2
    # The same form posted again (double click, back button, retry): the same application.
    again = client.post("/sme/applications/new", data=form)
    assert again.status_code == 302
    assert again.location == response.location
    assert _count(db_session, Application) == 1
    assert _count(db_session, Consent) == 2
    listing = client.get("/sme/applications")
    assert f"#{application.id}" in listing.text


def test_new_form_carries_a_fresh_idempotency_key(client, login, sme, ready, banks):
    login(sme)
    first = client.get("/sme/applications/new").text
    second = client.get("/sme/applications/new").text
    key = re.compile(r'name="idempotency_key" value="([0-9a-f]{32})"')
    assert key.search(first).group(1) != key.search(second).group(1)
    assert "让服务中心匹配" in first
    assert "营业收入" in first  # the consent scope in plain words
    assert banks[0].name_zh in first


def test_draft_is_submitted_from_its_page(client, login, sme, db_session, banks, ready):
    login(sme)
    client.post("/sme/applications/new", data=_new_form(banks, action="draft", consent_bank_ids=[]))
    application = db_session.scalar(select(Application))
    assert application.state == "draft"
    page = client.get(f"/sme/applications/{application.id}")
    assert "提交草稿" in page.text
    refused = client.post(f"/sme/applications/{application.id}/submit", data={})
    assert refused.status_code == 422
    assert "请至少选择一家银行" in refused.text
    done = client.post(
        f"/sme/applications/{application.id}/submit", data={"consent_bank_ids": [str(banks[1].id)]}
    )
    assert done.status_code == 302
    db_session.refresh(application)
    assert application.state == "screened"


def test_return_is_answered_on_the_application_page(client, login, sme, db_session, returned):
    application = returned(sme)
    login(sme)
    page = client.get(f"/sme/applications/{application.id}")
    assert "请补充上年纳税总额和纳税信用等级" in page.text
    assert 'name="tax_paid_last_year"' in page.text
    assert 'name="employees"' not in page.text
    bad = client.post(
        f"/sme/applications/{application.id}/resubmit",
        data={"tax_paid_last_year": "九十", "tax_credit_grade": "A"},
    )
    assert bad.status_code == 422
    assert "请输入数字" in bad.text
    assert 'value="九十"' in bad.text
    db_session.refresh(application)
    assert application.state == "returned"
    ok = client.post(
        f"/sme/applications/{application.id}/resubmit",
        data={"tax_paid_last_year": "95", "tax_credit_grade": "A"},
    )
    assert ok.status_code == 302
    db_session.refresh(application)
    assert application.state == "screened"
    assert str(application.enterprise.tax_paid_last_year) == "950000.00"
    again = client.post(f"/sme/applications/{application.id}/resubmit", data={})
    assert again.status_code == 302
    assert "无需补充材料" in client.get(again.location).text


def test_withdraw_consent_then_application_then_rate_when_closed(
    client, login, sme, db_session, submit, ready
):
    from finportal.services.applications import close_application

    application = submit(sme)
    consent = db_session.scalar(select(Consent))
    login(sme)
    assert client.post(f"/sme/consents/{consent.id}/withdraw").status_code == 302
    db_session.refresh(consent)
    assert consent.withdrawn_at is not None
    assert "已撤回" in client.get(f"/sme/applications/{application.id}").text
    response = client.post(
        f"/sme/applications/{application.id}/withdraw", data={"reason": "暂不需要"}
    )
    assert response.status_code == 302
    page = client.get(response.location).text
    assert "已撤回" in page and "暂不需要" in page
    assert 'id="withdraw-form"' not in page
    close_application(db_session, actor_id=None, application_id=application.id)
    page = client.get(f"/sme/applications/{application.id}").text
    assert "提交评价" in page
    bad = client.post(
        f"/sme/applications/{application.id}/rating", data={"stars": "9", "comment": "好"}
    )
    assert bad.status_code == 422
    assert "请选择 1 至 5 星" in bad.text
    ok = client.post(
        f"/sme/applications/{application.id}/rating", data={"stars": "5", "comment": "快"}
    )
    assert ok.status_code == 302
    page = client.get(f"/sme/applications/{application.id}").text
    assert "5 星" in page and "提交评价" not in page
    twice = client.post(f"/sme/applications/{application.id}/rating", data={"stars": "1"})
    assert "已评价过" in client.get(twice.location).text


def test_notifications_read_and_unread(client, login, sme, db_session, submit, ready):
    submit(sme)
    db_session.add(
        Notification(
            enterprise_id=sme.enterprise_id,
            kind="policy_push",
            title_zh="新产品发布：知识产权质押贷款，贵企业符合申请条件",
            link="/products/ip_pledge",
        )
    )
    db_session.commit()
    login(sme)
    page = client.get("/sme/notifications")
    assert "政策找企业" in page.text and "状态更新" in page.text
    unread = _count(db_session, Notification, Notification.read_at.is_(None))
    assert f"未读 {unread}" in page.text
    note = db_session.scalar(select(Notification).where(Notification.kind == "policy_push"))
    follow = client.post(f"/sme/notifications/{note.id}/read", data={"follow": "1"})
    assert follow.location == "/products/ip_pledge"
    db_session.refresh(note)
    assert note.read_at is not None
    client.post(f"/sme/notifications/{note.id}/read", data={"read": "0"})
    db_session.refresh(note)
    assert note.read_at is None
    only_unread = client.get("/sme/notifications?show=unread")
    assert "新产品发布" in only_unread.text
    client.post("/sme/notifications/read-all")
    assert _count(db_session, Notification, Notification.read_at.is_(None)) == 0
    assert "暂无消息" in client.get("/sme/notifications?show=unread").text


def test_job_status_answers_only_the_owner(
    client, login, sme, other_sme, db_session, submit, ready
):
    from finportal.services.application_details import latest_job

    application = submit(sme)
    job = latest_job(db_session, application.id)
    login(sme)
    answer = client.get(f"/sme/jobs/{job.id}")
    assert answer.status_code == 200
    assert answer.json["done"] is True
    assert answer.json["application_state"] == "screened"
    client.post("/auth/logout")
    login(other_sme)
    refused = client.get(f"/sme/jobs/{job.id}")
    assert refused.status_code == 404
    assert "state" not in refused.json
    assert client.get("/sme/jobs/no-such-job").status_code == 404


def test_excel_upload_reports_problems_and_saves_nothing(
    client, login, sme, db_session, published_catalog
):
    login(sme)
    template = client.get("/sme/profile/template.xlsx")
    assert template.status_code == 200
    assert template.mimetype.endswith("spreadsheetml.sheet")
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(template.data))
    sheet = book[profile_excel.IMPORT_SHEET]
    row = next(
        r for r in range(2, sheet.max_row + 1) if sheet.cell(row=r, column=1).value == "employees"
    )
    sheet.cell(row=row, column=4).value = "很多人"
    out = io.BytesIO()
    book.save(out)
    page = client.post(
        "/sme/profile/import",
        data={"file": (io.BytesIO(out.getvalue()), "profile.xlsx")},
        content_type="multipart/form-data",
    )
    assert page.status_code == 422
    assert "未保存任何内容" in page.text
    assert f"<td>D{row}</td>" in page.text
    assert "请输入整数" in page.text
    db_session.refresh(sme.enterprise)
    assert sme.enterprise.employees == 60
    not_excel = client.post(
        "/sme/profile/import",
        data={"file": (io.BytesIO(b"a,b\n1,2\n"), "profile.csv")},
        content_type="multipart/form-data",
    )
    assert not_excel.status_code == 422
    assert "只接受 .xlsx" in not_excel.text
    nothing = client.post("/sme/profile/import", data={}, content_type="multipart/form-data")
    assert nothing.status_code == 422
    sheet.cell(row=row, column=4).value = 75
    out = io.BytesIO()
    book.save(out)
    ok = client.post(
        "/sme/profile/import",
        data={"file": (io.BytesIO(out.getvalue()), "profile.xlsx")},
        content_type="multipart/form-data",
    )
    assert ok.status_code == 302
    db_session.refresh(sme.enterprise)
    assert sme.enterprise.employees == 75


def test_an_sme_without_an_enterprise_gets_not_found(client, login, create_user, db_session):
    user = create_user("sme", enterprise_id=None)
    login(user)
    assert client.get("/sme/").status_code == 404
    assert client.get("/sme/profile").status_code == 404
    assert _count(db_session, Enterprise) == 0 or True


def test_bank_decisions_appear_on_the_application_page(
    client, login, sme, db_session, submit, banks, ready, published_catalog
):
    from datetime import date
    from decimal import Decimal

    from finportal.models import BankDecision, LoanOutcome, Referral
    from finportal.services.lifecycle import transition

    application = submit(sme)
    transition(db_session, application, "in_review", by="advisor", actor_id=None)
    transition(db_session, application, "referred", by="advisor", actor_id=None)
    _catalog, versions = published_catalog
    approved = Referral(
        application_id=application.id,
        bank_id=banks[0].id,
        product_version_id=versions["policy_guarantee"].id,
        state="disbursed",
    )
    waiting = Referral(
        application_id=application.id,
        bank_id=banks[1].id,
        product_version_id=versions["ip_pledge"].id,
        state="sent",
    )
    db_session.add_all([approved, waiting])
    db_session.flush()
    db_session.add(
        BankDecision(
            referral_id=approved.id,
            decision="approved",
            approved_amount=Decimal("900000.00"),
            annual_rate=Decimal("0.0345"),
            term_months=12,
            reason_text="经营稳健",
        )
    )
    db_session.add(
        LoanOutcome(
            referral_id=approved.id,
            event="disbursed",
            occurred_on=date(2026, 11, 20),
            amount=Decimal("900000.00"),
        )
    )
    db_session.commit()
    login(sme)
    page = client.get(f"/sme/applications/{application.id}").text
    section = page.split('id="bank-decisions"')[1].split("</section>")[0]
    assert banks[0].name_zh in section and banks[1].name_zh in section
    assert "同意，90 万元，年利率 3.45%，12 个月：经营稳健" in section
    assert "放款 90 万元" in section
    assert "等待银行反馈" in section
    # Disbursed: the application can no longer be withdrawn.
    assert 'id="withdraw-form"' not in page
    refused = client.post(f"/sme/applications/{application.id}/withdraw")
    assert "银行已放款" in client.get(refused.location).text
    db_session.refresh(application)
    assert application.state == "referred"


def test_notification_links_stay_on_the_site(client, login, sme, db_session):
    note = Notification(
        enterprise_id=sme.enterprise_id, kind="status", title_zh="测试", link="//evil.example/"
    )
    db_session.add(note)
    db_session.commit()
    login(sme)
    response = client.post(f"/sme/notifications/{note.id}/read", data={"follow": "1"})
    assert response.location.endswith("/sme/notifications")
