"""The subsidy pages: the firm's 已享受 / 待兑付 / 已兑付, its objection, the centre's pages."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from finportal.models import Notification, SubsidyEntitlement
from finportal.services import entitlements, payouts
from finportal.services.workdays import today_local


def _listed(db_session, lend, repay):
    referral, world = lend("ip_pledge")
    repay(referral, world, principal="80000", interest="2916.67")
    repay(referral, world, principal="0", interest="2000.00")
    entitlements.compute_entitlements(db_session)
    entitlements.publish_list(
        db_session, entitlements.period_of(today_local()), actor_id=world.advisor.id
    )
    rows = list(
        db_session.scalars(
            select(SubsidyEntitlement)
            .where(SubsidyEntitlement.referral_id == referral.id)
            .order_by(SubsidyEntitlement.id)
        )
    )
    return referral, world, rows


def _card(html: str, css: str) -> str:
    found = re.search(rf'class="{css}">([^<]+)<', html)
    assert found, css
    return found.group(1)


def test_the_firm_sees_its_subsidies_per_loan_and_confirms_one(
    client, login, db_session, lend, repay
):
    referral, world, rows = _listed(db_session, lend, repay)
    login(world.sme_user)
    # The application's page leads to the loan's subsidies.
    application_page = client.get(f"/sme/applications/{referral.application_id}").text
    assert f"/sme/subsidies#loan-{referral.id}" in application_page
    page = client.get("/sme/subsidies")
    assert page.status_code == 200
    html = page.text
    total = rows[0].amount + rows[1].amount
    assert _card(html, "subsidy-enjoyed") == f"{total:,.2f}"
    assert _card(html, "subsidy-owed") == f"{total:,.2f}"
    assert _card(html, "subsidy-paid") == "0.00"
    assert "公示中" in html and "知识产权质押贷款" in html

    answer = client.post(f"/sme/subsidies/{rows[0].id}/confirm")
    assert answer.status_code == 302
    db_session.refresh(rows[0])
    assert rows[0].state == "confirmed"

    payouts.create_payout(
        db_session,
        rows[0].period,
        actor_id=world.advisor.id,
        now=rows[1].due_at + timedelta(minutes=1),
    )
    html = client.get("/sme/subsidies").text
    assert _card(html, "subsidy-paid") == f"{total:,.2f}"
    assert _card(html, "subsidy-owed") == "0.00"
    assert "已兑付" in html


def test_an_objection_goes_to_the_advisor_who_resolves_it(client, login, db_session, lend, repay):
    referral, world, rows = _listed(db_session, lend, repay)
    login(world.sme_user)
    # Without a reason: refused in the user's language, nothing saved.
    refused = client.post(f"/sme/subsidies/{rows[1].id}/object", data={"objection": "  "})
    assert refused.status_code == 422
    assert "请写明" in refused.text
    db_session.refresh(rows[1])
    assert rows[1].state == "listed"

    said = "银行少报了一期利息，应为 3000 元。"
    answer = client.post(f"/sme/subsidies/{rows[1].id}/object", data={"objection": said})
    assert answer.status_code == 302
    db_session.refresh(rows[1])
    assert (rows[1].state, rows[1].objection) == ("objected", said)
    told = db_session.scalar(
        select(Notification)
        .where(Notification.user_id == world.advisor.id, Notification.link.like("%/subsidies/%"))
        .order_by(Notification.id.desc())
    )
    assert told is not None and said in told.body_zh

    client.post("/auth/logout")
    login(world.advisor)
    listing = client.get("/advisor/subsidies")
    assert listing.status_code == 200 and said in listing.text
    detail = client.get(f"/advisor/subsidies/{rows[1].id}")
    assert detail.status_code == 200
    assert "2000.00" in detail.text  # the interest paid it was worked out of
    # A corrected amount above what the caps and the payment allow is refused, and kept.
    too_much = client.post(
        f"/advisor/subsidies/{rows[1].id}/resolve",
        data={"decision": "uphold", "amount": "999999", "resolution": "核实后更正"},
    )
    assert too_much.status_code == 422
    assert "核实后更正" in too_much.text
    corrected = client.post(
        f"/advisor/subsidies/{rows[1].id}/resolve",
        data={
            "decision": "uphold",
            "amount": "500.00",
            "resolution": "已核实，按银行更正数据计算。",
        },
    )
    assert corrected.status_code == 302
    db_session.refresh(rows[1])
    assert (rows[1].state, rows[1].amount) == ("confirmed", Decimal("500.00"))
    assert rows[1].inputs["corrections"][0]["to"] == "500.00"

    client.post("/auth/logout")
    login(world.sme_user)
    assert "已核实，按银行更正数据计算。" in client.get("/sme/subsidies").text


def test_the_centre_pays_a_batch_downloads_it_and_claws_one_back(
    client, login, db_session, lend, repay
):
    referral, world, rows = _listed(db_session, lend, repay)
    for row in rows:
        entitlements.confirm(
            db_session, row.id, enterprise_id=world.enterprise.id, actor_id=world.sme_user.id
        )
    login(world.advisor)
    bad = client.post("/advisor/subsidies/payouts", data={"period": "2026-13"})
    assert bad.status_code == 422 and "2026-13" in bad.text
    made = client.post("/advisor/subsidies/payouts", data={"period": rows[0].period})
    assert made.status_code == 302
    again = client.post("/advisor/subsidies/payouts", data={"period": rows[0].period})
    assert again.status_code == 409 and "没有待兑付" in again.text
    (payout,) = payouts.list_payouts(db_session)
    page = client.get(f"/advisor/subsidies/payouts/{payout.id}")
    assert page.status_code == 200 and payout.checksum in page.text
    xlsx = client.get(f"/advisor/subsidies/payouts/{payout.id}.xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[3][0] == "合计"
    assert Decimal(str(values[3][-1])).quantize(Decimal("0.01")) == payout.total
    csv_file = client.get(f"/advisor/subsidies/payouts/{payout.id}.csv")
    assert csv_file.data.decode("utf-8-sig").rstrip().endswith(payout.checksum)

    no_reason = client.post(f"/advisor/subsidies/{rows[0].id}/reverse", data={"reason": ""})
    assert no_reason.status_code == 422
    back = client.post(f"/advisor/subsidies/{rows[0].id}/reverse", data={"reason": "重复贷款"})
    assert back.status_code == 302
    db_session.refresh(rows[0])
    assert rows[0].state == "reversed"


@pytest.mark.both_engines  # targets group by month in SQL per dialect
def test_the_dashboard_shows_outlay_budget_and_targets(client, login, db_session, lend, repay):
    referral, world, rows = _listed(db_session, lend, repay)
    for row in rows:
        entitlements.confirm(
            db_session, row.id, enterprise_id=world.enterprise.id, actor_id=world.sme_user.id
        )
    payout = payouts.create_payout(db_session, rows[0].period, actor_id=world.advisor.id)
    login(world.advisor)
    html = client.get("/advisor/dashboard").text
    outlay = html[html.index('id="table-outlay_by_product"') :]
    outlay = outlay[: outlay.index("</section>")]
    assert "知识产权质押贷款" in outlay
    assert f"{payout.total / 10000:.2f}" in outlay
    budget = html[html.index('id="table-subsidy_budget"') :]
    assert "演示值" in budget[: budget.index("</section>")]
    targets = html[html.index('id="table-targets"') :]
    targets = targets[: targets.index("</section>")]
    # The numbers and their sources come from the catalogue's facts.
    assert "政策性融资担保贷款规模力争突破百亿元" in targets
    assert "1000000.00" in targets  # 100 亿元 in 万元
    assert "5000000.00" in targets  # 500 亿元 in 万元
    assert "行动方案未设户数目标" in targets
    monthly = html[html.index('id="table-targets_monthly"') :]
    assert today_local().strftime("%Y-%m") in monthly[: monthly.index("</section>")]
