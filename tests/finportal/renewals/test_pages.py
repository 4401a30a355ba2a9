"""The renewal pages: the SME's loans and 申请续贷, the advisor's maturity list and review page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from finportal.models import Application, Renewal
from finportal.services import maturities, reminders
from finportal.services.workdays import today_local
from tests.helpers import bank_reports

pytestmark = pytest.mark.db


def _loan(db_session, loop):
    (loan,) = maturities.loans_of(db_session, loop.enterprise.id, today=today_local())
    return loan


def _value(html: str, name: str) -> str | None:
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html)
    return found.group(1) if found else None


def test_the_sme_sees_its_running_loan_with_maturity_days_and_precheck(
    client, login, db_session, lent_short
):
    loop = lent_short
    loan = _loan(db_session, loop)
    login(loop.sme_user)
    page = client.get("/sme/loans")
    assert page.status_code == 200
    text = page.text
    assert loop.bank.name_zh in text
    assert loan.maturity.isoformat() in text
    assert f"{loan.days_left(today_local())} 天" in text
    assert "银行放款记录" in text
    assert 'data-fits="yes"' in text and "续贷 / 无还本续贷" in text
    assert "信用评分" in text
    assert f'href="/sme/applications/new?loan=bank-{loop.referral.id}"' in text
    # The home page points at it: the loan matures within 90 days.
    home = client.get("/sme/").text
    assert "即将到期的贷款" in home and loan.maturity.isoformat() in home


def test_the_loans_page_in_english(client, login, db_session, lent_short):
    client.get("/lang/en")  # first: the test client keeps the locale of its first request
    login(lent_short.sme_user)
    english = client.get("/sme/loans").text
    assert "My loans" in english and "Apply for renewal" in english
    assert "Renewal without repaying principal" in english
    assert "the bank&#39;s disbursement record" in english


def test_the_precheck_on_the_page_says_why_not(client, login, db_session, lent_short):
    loop = lent_short
    loop.enterprise.overdue_count_24m = 3
    db_session.commit()
    login(loop.sme_user)
    text = client.get("/sme/loans").text
    assert 'data-fits="no"' in text
    assert "近 24 个月有逾期还款" in text


def test_a_firm_without_loans_is_told_where_loans_come_from(client, login, loop):
    login(loop.sme_user)
    page = client.get("/sme/loans")
    assert page.status_code == 200
    assert "没有在贷贷款" in page.text
    assert "即将到期的贷款" not in client.get("/sme/").text


def test_apply_for_renewal_opens_the_form_prefilled_and_submits_it(
    client, login, db_session, lent_short
):
    loop = lent_short
    login(loop.sme_user)
    key = f"bank-{loop.referral.id}"
    form = client.get(f"/sme/applications/new?loan={key}")
    assert form.status_code == 200
    html = form.text
    assert 'id="renewal-banner"' in html
    assert _value(html, "renews") == key
    assert _value(html, "amount") == "100"
    assert _value(html, "term_months") == "12"
    assert re.search(r'<option value="renewal"\s+selected', html)
    assert re.search(r'<option value="renewal" selected>', html)  # the product
    assert re.search(rf'name="consent_bank_ids" value="{loop.bank.id}"\s+checked', html)
    assert re.search(rf'name="consent_bank_ids" value="{loop.other_bank.id}"\s+>', html)
    assert "原贷款期限 2 个月不在" in html

    posted = client.post(
        "/sme/applications/new",
        data={
            "idempotency_key": _value(html, "idempotency_key"),
            "renews": key,
            "amount": "100",
            "term_months": "12",
            "purpose": "renewal",
            "product_code": "renewal",
            "consent_bank_ids": [str(loop.bank.id)],
            "action": "submit",
        },
    )
    assert posted.status_code == 302, posted.text
    application = db_session.scalar(
        select(Application)
        .where(Application.enterprise_id == loop.enterprise.id, Application.purpose == "renewal")
        .order_by(Application.id.desc())
    )
    assert posted.headers["Location"].endswith(f"/sme/applications/{application.id}")
    assert db_session.get(Renewal, application.id).referral_id == loop.referral.id
    shown = client.get(f"/sme/applications/{application.id}").text
    assert f"续借{loop.bank.name_zh}的贷款，优先推荐给该行" in shown
    # The loans page now points at that application instead of offering a second one.
    loans = client.get("/sme/loans").text
    assert "已有续贷申请" in loans and f"/sme/applications/{application.id}" in loans
    assert f'id="renew-{key}"' not in loans


def test_renewal_form_of_a_loan_repaid_meanwhile_says_so_and_keeps_the_input(
    client, login, db_session, lent_short
):
    loop = lent_short
    login(loop.sme_user)
    key = f"bank-{loop.referral.id}"
    html = client.get(f"/sme/applications/new?loan={key}").text
    bank_reports(db_session, loop, "repaid")
    posted = client.post(
        "/sme/applications/new",
        data={
            "idempotency_key": _value(html, "idempotency_key"),
            "renews": key,
            "amount": "88",
            "term_months": "12",
            "purpose": "renewal",
            "consent_bank_ids": [str(loop.bank.id)],
        },
    )
    assert posted.status_code == 422
    assert "要续贷的贷款不存在或已结清" in posted.text
    assert _value(posted.text, "amount") == "88"
    assert db_session.scalar(select(Renewal)) is None


def test_another_firms_loan_cannot_be_renewed_or_read(client, login, create_user, lent_short):
    loop = lent_short
    stranger = create_user("sme")
    login(stranger)
    assert client.get(f"/sme/applications/new?loan=bank-{loop.referral.id}").status_code == 404
    assert loop.bank.name_zh not in client.get("/sme/loans").text
    assert client.get("/sme/applications/new?loan=nonsense").status_code == 404


def test_the_advisor_lists_maturing_loans_with_the_precheck_and_my_reminders(
    client, login, db_session, lent_short
):
    loop = lent_short
    loan = _loan(db_session, loop)
    login(loop.advisor)
    page = client.get("/advisor/maturities")
    assert page.status_code == 200
    text = page.text
    assert f'data-loan="bank-{loop.referral.id}"' in text
    assert loop.enterprise.name in text and loan.maturity.isoformat() in text
    assert 'data-fits="yes"' in text
    assert "还没有到期提醒" in text
    # 61 or so days left: not within 7, within 90, and mine.
    assert "data-loan=" not in client.get("/advisor/maturities?within=7").text
    assert f"bank-{loop.referral.id}" in client.get("/advisor/maturities?within=90&mine=1").text
    # Nonsense filters are ignored, said so, never a crash.
    bad = client.get("/advisor/maturities?within=zzz")
    assert bad.status_code == 200 and "筛选条件有误，已忽略" in bad.text
    assert client.get("/advisor/maturities?within=zzz&page=-1").status_code == 422
    # The reminder the job sent shows on the page.
    reminders.run_reminders(db_session, today=loan.maturity - timedelta(days=30))
    text = client.get("/advisor/maturities").text
    assert "A loan matures in 30 days" not in text
    assert f"贷款将于 30 天后到期（{loan.maturity.isoformat()}）" in text


def test_another_advisors_mine_filter_leaves_the_loan_out(client, login, create_user, lent_short):
    colleague = create_user("advisor")
    login(colleague)
    assert "data-loan=" not in client.get("/advisor/maturities?mine=1").text
    assert "data-loan=" in client.get("/advisor/maturities").text


def test_the_review_page_of_a_renewal_preselects_the_lending_bank(
    client, login, db_session, lent_short
):
    from finportal.services import review_actions

    loop = lent_short
    login(loop.sme_user)
    key = f"bank-{loop.referral.id}"
    html = client.get(f"/sme/applications/new?loan={key}").text
    client.post(
        "/sme/applications/new",
        data={
            "idempotency_key": _value(html, "idempotency_key"),
            "renews": key,
            "amount": "100",
            "term_months": "12",
            "purpose": "renewal",
            "product_code": "renewal",
            "consent_bank_ids": [str(loop.bank.id), str(loop.other_bank.id)],
        },
    )
    application = db_session.scalar(
        select(Application).where(Application.purpose == "renewal").order_by(Application.id)
    )
    review_actions.claim(db_session, application.id, actor_id=loop.advisor.id)
    client.get("/auth/logout")
    login(loop.advisor)
    page = client.get(f"/advisor/applications/{application.id}").text
    assert 'id="renewal-plan"' in page
    assert f"续贷申请先推荐给原贷款银行{loop.bank.name_zh}" in page
    assert re.search(rf'value="{loop.bank.id}" id="bank-{loop.bank.id}"\s+checked', page)
    assert not re.search(
        rf'value="{loop.other_bank.id}" id="bank-{loop.other_bank.id}"\s+checked', page
    )
