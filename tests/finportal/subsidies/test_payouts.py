"""Issue 13, done when: a loan from disbursement through repayments to a paid entitlement and
a payout export; a second payout run pays nothing twice; caps across products hold."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from finportal.models import AuditEvent, SubsidyEntitlement, SubsidyPayoutLine
from finportal.services import bank_actions, entitlements, payouts
from finportal.services.errors import Conflict, InvalidTransition
from finportal.services.workdays import today_local
from products.subsidy_rules import load_rules


def _rows(db_session, enterprise_id):
    return list(
        db_session.scalars(
            select(SubsidyEntitlement)
            .where(SubsidyEntitlement.enterprise_id == enterprise_id)
            .order_by(SubsidyEntitlement.id)
        )
    )


def test_a_loan_from_disbursal_to_a_paid_subsidy_and_its_export(db_session, lend, repay):
    referral, world = lend("ip_pledge")
    repay(referral, world, principal="80000", interest="2916.67")
    repay(referral, world, principal="920000", interest="2683.33", event="repaid")

    result = entitlements.compute_entitlements(db_session, actor_id=world.advisor.id)
    # ip_pledge subsidises a share of the interest paid (the catalogue's 30 %, demo).
    share = Decimal(result.created[0].inputs["rule"]["share"])
    assert [r.amount for r in result.created] == [
        (Decimal("2916.67") * share).quantize(Decimal("0.01")),
        (Decimal("2683.33") * share).quantize(Decimal("0.01")),
    ]
    first = result.created[0]
    # Traceable: the events, the product version and the rule with its source.
    assert first.inputs["events"][0]["interest_paid"] == "2916.67"
    assert first.inputs["product"]["version_id"] == referral.product_version_id
    assert first.inputs["rule"]["source"]
    assert [c["key"] for c in first.inputs["caps"]][:1] == ["product_year"]
    # Computing again adds nothing.
    assert entitlements.compute_entitlements(db_session).created == []

    period = entitlements.period_of(today_local())
    publication = entitlements.publish_list(db_session, period, actor_id=world.advisor.id)
    rows = _rows(db_session, world.enterprise.id)
    assert {r.state for r in rows} == {"listed"}
    assert all(r.publication_id == publication.id and r.due_at is not None for r in rows)
    entitlements.confirm(
        db_session, rows[0].id, enterprise_id=world.enterprise.id, actor_id=world.sme_user.id
    )
    # The other one says nothing; after its deadline silence confirms (免申即享).
    payout = payouts.create_payout(
        db_session, period, actor_id=world.advisor.id, now=rows[1].due_at + timedelta(minutes=1)
    )
    assert payout.count == 2
    assert payout.total == rows[0].amount + rows[1].amount
    assert {r.state for r in _rows(db_session, world.enterprise.id)} == {"paid"}

    workbook = load_workbook(io.BytesIO(payouts.export_xlsx(db_session, payout.id)))
    sheet = workbook.active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    header, lines = values[0], values[1:3]
    total_row = values[3]
    assert header[-1] == "补贴金额（元）"
    assert [line[1] for line in lines] == [rows[0].id, rows[1].id]
    assert total_row[0] == "合计"
    assert Decimal(str(total_row[-1])).quantize(Decimal("0.01")) == payout.total
    assert sum(Decimal(str(line[-1])) for line in lines) == payout.total
    checksum_row = next(r for r in values if r and r[0] == "SHA-256")
    assert checksum_row[1] == payout.checksum

    # The checksum is the SHA-256 of the rows above it written as CSV (money with two
    # decimals, as the sheet's note says): recompute it from what the workbook shows.
    money_columns = (len(header) - 2, len(header) - 1)

    def text(column, value):
        if value is None:
            return ""
        if column in money_columns and isinstance(value, int | float):
            return f"{value:.2f}"
        return str(value)

    shown = [[text(i, v) for i, v in enumerate(r)] for r in values[:4]]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(shown)
    assert hashlib.sha256(out.getvalue().encode("utf-8")).hexdigest() == payout.checksum

    exported = payouts.export_csv(db_session, payout.id).decode("utf-8-sig")
    assert exported.startswith(out.getvalue())
    assert exported.rstrip("\n").endswith(f"SHA-256,{payout.checksum}")

    # A second run pays nothing twice: refused, and the database refuses a second line too.
    with pytest.raises(Conflict):
        payouts.create_payout(db_session, period, actor_id=world.advisor.id)
    nested = db_session.begin_nested()
    db_session.add(
        SubsidyPayoutLine(payout_id=payout.id, entitlement_id=rows[0].id, amount=Decimal(1))
    )
    with pytest.raises(IntegrityError):
        db_session.flush()
    nested.rollback()

    # A clawback reverses one payment, audited with its reason; it is never paid again.
    payouts.reverse_payment(
        db_session, rows[1].id, actor_id=world.advisor.id, by="advisor", reason="银行更正利息"
    )
    db_session.refresh(rows[1])
    assert rows[1].state == "reversed"
    audit = db_session.scalar(
        select(AuditEvent)
        .where(
            AuditEvent.object_type == "subsidy_entitlement",
            AuditEvent.object_id == rows[1].id,
            AuditEvent.to_state == "reversed",
        )
        .order_by(AuditEvent.id)
    )
    assert audit.reason == "银行更正利息"
    with pytest.raises(InvalidTransition):
        payouts.reverse_payment(
            db_session, rows[1].id, actor_id=world.advisor.id, by="advisor", reason="again"
        )


def test_caps_across_products_hold_for_a_firm_and_year(db_session, lend, repay):
    """Three products, each within its own cap, meet the firm's cap for the year."""
    rules = load_rules()
    a, world = lend("ip_pledge")
    b, _ = lend("first_loan", world=world)
    c, _ = lend("tech_performance", world=world)
    repay(a, world, principal="0", interest="400000")
    repay(a, world, principal="0", interest="400000")
    repay(b, world, principal="0", interest="300000")
    # Tech-performance pays its premium subsidy only after repayment (事后拨付).
    repay(c, world, principal="0", interest="1000", fee="150000")
    assert not [r for r in entitlements.compute_entitlements(db_session).created if r.kind == "fee"]
    repay(c, world, principal="1000000", interest="1000", fee="150000", event="repaid")
    entitlements.compute_entitlements(db_session)

    rows = [r for r in _rows(db_session, world.enterprise.id) if r.state != "excluded"]
    total = sum((r.amount for r in rows), Decimal(0))
    assert total == rules.firm_cap_per_year.value
    by_key = {}
    for r in rows:
        for cap in r.inputs["caps"]:
            by_key.setdefault(cap["key"], []).append(r)
    # Each product's own cap held too (ip_pledge per year, first_loan per loan).
    ip_rows = [r for r in rows if r.referral_id == a.id]
    assert sum(r.amount for r in ip_rows) <= Decimal(ip_rows[0].inputs["caps"][0]["limit"])
    first_loan = [r for r in rows if r.referral_id == b.id]
    assert first_loan[0].amount <= Decimal(first_loan[0].inputs["caps"][0]["limit"])
    fee = next(r for r in rows if r.referral_id == c.id and r.kind == "fee")
    assert fee.base == Decimal("300000.00")  # every premium the loan paid
    # The firm's cap was what stopped the last one: its room was below what was wanted.
    firm_cap = next(cap for cap in fee.inputs["caps"] if cap["key"] == "firm_year")
    assert Decimal(firm_cap["room"]) == fee.amount < Decimal(fee.inputs["wanted"])
    # Anything more that year is excluded with the cap as the reason.
    repay(a, world, principal="0", interest="1000")
    (extra,) = entitlements.compute_entitlements(db_session).created
    assert (extra.state, extra.exclusion, extra.amount) == ("excluded", "cap_reached", 0)


def test_overdue_loans_and_seriously_dishonest_firms_get_nothing(db_session, lend, repay):
    referral, world = lend("tech_performance")
    repay(referral, world, principal="0", interest="3000", fee="12000")
    bank_actions.record_outcome(
        db_session,
        referral.id,
        bank_id=world.bank.id,
        actor_id=world.bank_user.id,
        event="overdue_90",
        occurred_on=today_local(),
    )
    repay(referral, world, principal="1000000", interest="3000", fee="0", event="repaid")
    (row,) = entitlements.compute_entitlements(db_session).created
    assert (row.kind, row.state, row.exclusion, row.amount) == ("fee", "excluded", "overdue", 0)

    other, world2 = lend("ip_pledge")
    world2.enterprise.serious_bad_credit_24m = True
    db_session.commit()
    repay(other, world2, principal="0", interest="3000")
    (row,) = entitlements.compute_entitlements(db_session).created
    assert (row.state, row.exclusion) == ("excluded", "serious_bad_credit")
    assert row.inputs["profile"]["serious_bad_credit_24m"] is True


def test_the_export_runs_no_formula_a_firm_typed(db_session, lend, repay):
    referral, world = lend("ip_pledge")
    world.enterprise.name = '=HYPERLINK("http://evil.example","点我")'
    db_session.commit()
    repay(referral, world, principal="0", interest="1000")
    entitlements.compute_entitlements(db_session)
    period = entitlements.period_of(today_local())
    entitlements.publish_list(db_session, period, actor_id=None)
    (row,) = _rows(db_session, world.enterprise.id)
    entitlements.confirm(db_session, row.id, enterprise_id=world.enterprise.id, actor_id=None)
    payout = payouts.create_payout(db_session, period, actor_id=None)
    sheet = load_workbook(io.BytesIO(payouts.export_xlsx(db_session, payout.id))).active
    name = sheet.cell(row=2, column=3)
    assert name.data_type == "s" and name.value.startswith("'=HYPERLINK")
    exported = payouts.export_csv(db_session, payout.id).decode("utf-8-sig")
    assert "'=HYPERLINK" in exported
    assert "\n=HYPERLINK" not in exported and ",=HYPERLINK" not in exported
