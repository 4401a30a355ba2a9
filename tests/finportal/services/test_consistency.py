"""Consistency flags: each rule, the edits before applying, duplicates and shared contacts.

A flag never rejects; the advisor's review page and the bank's packet say why it was raised.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event

from finportal.extensions import db
from finportal.models import Application, Batch, BatchMember, Need, Park, Product, utcnow
from finportal.services import consistency, profile_form
from finportal.services import packets as packet_service
from finportal.services.consistency import figure_flags, flags_of
from finportal.services.profiles import submitted_profile
from tests.helpers import pdf_text, squash

pytestmark = pytest.mark.db


def with_phone(user: Any, phone: str) -> Any:
    user.phone = phone
    db.session.commit()
    return user


def rules(flags: list[consistency.Flag]) -> list[str]:
    return [f.rule for f in flags]


def profile(**values: Any) -> dict[str, Any]:
    base = {
        "revenue_last_year": Decimal("30000000"),
        "tax_paid_last_year": Decimal("900000"),
        "employees": 60,
        "social_insured_employees": 55,
        "total_liabilities": Decimal("8000000"),
        "existing_loan_balance": Decimal("0"),
        "has_bank_loan_history": False,
    }
    base.update(values)
    return base


def test_a_healthy_profile_raises_nothing() -> None:
    assert figure_flags(profile()) == []


@pytest.mark.parametrize(
    ("values", "flagged"),
    [
        # 0.5 % of revenue is the floor above 1.2 M yuan of revenue
        ({"tax_paid_last_year": Decimal("149999")}, True),
        ({"tax_paid_last_year": Decimal("150000")}, False),
        # below 1.2 M yuan a small-scale taxpayer may owe no VAT at all
        ({"revenue_last_year": Decimal("1199999"), "tax_paid_last_year": Decimal("0")}, False),
        ({"revenue_last_year": Decimal("1200000"), "tax_paid_last_year": Decimal("0")}, True),
        # more than 30 % of revenue: yuan and 万元 mixed up
        ({"tax_paid_last_year": Decimal("9000001")}, True),
        ({"tax_paid_last_year": Decimal("9000000")}, False),
        ({"revenue_last_year": Decimal("0"), "tax_paid_last_year": Decimal("1000")}, True),
    ],
)
def test_tax_against_revenue(values: dict[str, Any], flagged: bool) -> None:
    assert ("tax_vs_revenue" in rules(figure_flags(profile(**values)))) is flagged


@pytest.mark.parametrize(
    ("staff", "insured", "flagged"),
    [
        (60, 61, True),
        (60, 30, False),
        (60, 29, True),
        (9, 1, False),
        (10, 4, True),
        (60, 60, False),
    ],
)
def test_insured_staff_against_headcount(staff: int, insured: int, flagged: bool) -> None:
    found = figure_flags(profile(employees=staff, social_insured_employees=insured))
    assert ("insured_vs_staff" in rules(found)) is flagged


def test_loans_against_liabilities_and_history() -> None:
    found = figure_flags(
        profile(
            existing_loan_balance=Decimal("9000000"),
            total_liabilities=Decimal("8000000"),
            has_bank_loan_history=True,
        )
    )
    (flag,) = found
    assert flag.rule == "loans_vs_liabilities"
    assert "现有贷款余额 900.00 万元，负债总额只有 800.00 万元" in flag.why_zh
    # within 1 % (万元 rounding) it passes
    assert not figure_flags(
        profile(existing_loan_balance=Decimal("8080000"), has_bank_loan_history=True)
    )
    # "never borrowed" with a loan balance
    found = figure_flags(profile(existing_loan_balance=Decimal("100000")))
    assert [f.title_zh for f in found] == ["填写无贷款记录，却有贷款余额"]


def test_an_edit_just_before_applying_shows_before_and_after(
    db_session, create_enterprise, create_user, screened_application
) -> None:
    enterprise = create_enterprise()
    user = create_user("sme", enterprise_id=enterprise.id)
    values = profile_form.form_values(enterprise)
    values.pop("uscc")
    values.update(tax_paid_last_year="95", employees="80")
    data = profile_form.ProfileSchema().load(values)
    profile_form.update_profile(
        db_session, actor_id=user.id, enterprise_id=enterprise.id, data=data
    )
    application = screened_application(enterprise)
    (flag,) = [f for f in consistency.application_flags(db_session, application)]
    assert flag.rule == "recent_edits"
    rows = {r.label_zh: (r.before_zh, r.after_zh) for r in flag.rows}
    assert rows == {
        "从业人员数": ("60 人", "80 人"),
        "上年纳税总额": ("90.00 万元", "95.00 万元"),
    }
    assert "提交申请前 7 天内修改了" in flag.why_zh
    # Never a rejection: the application waits for the advisor as any other.
    assert application.state == "screened"

    # A week and a day later the same edit is ordinary upkeep.
    later = utcnow() + timedelta(days=8)
    application.profile_snapshot = {**application.profile_snapshot, "taken_at": later.isoformat()}
    db_session.commit()
    assert "recent_edits" not in rules(consistency.application_flags(db_session, application))


def test_requests_through_other_channels_are_found(
    db_session, create_enterprise, create_bank, create_user, screened_application
) -> None:
    enterprise = create_enterprise()
    first = screened_application(enterprise)
    second = screened_application(enterprise)
    alone = screened_application(create_enterprise())
    park = Park(code="cs_park", name_zh="核查园区")
    bank = create_bank()
    db_session.add(park)
    db_session.flush()
    product = db_session.query(Product).filter_by(code="park_batch").one()
    batch = Batch(
        code="PB-CS-1",
        name="核查批次",
        park_id=park.id,
        bank_id=bank.id,
        product_id=product.id,
        quota_total=Decimal("10000000"),
        per_firm_cap=Decimal("1000000"),
    )
    db_session.add(batch)
    db_session.flush()
    db_session.add(BatchMember(batch_id=batch.id, enterprise_id=enterprise.id))
    db_session.commit()
    found = flags_of(db_session, [first, second, alone])
    (flag,) = [f for f in found[first.id] if f.rule == "parallel_requests"]
    assert [(r.label_zh, r.before_zh) for r in flag.rows] == [
        (f"另一份融资申请 #{second.id}", "已初筛"),
        ("批次贷 PB-CS-1（园区/商会推荐）", "已推荐"),
    ]
    assert "parallel_requests" in rules(found[second.id])
    assert found[alone.id] == []
    # A withdrawn application is no longer a parallel request.
    second.state = "withdrawn"
    db_session.commit()
    (flag,) = [f for f in flags_of(db_session, [first])[first.id] if f.rule == "parallel_requests"]
    assert [r.label_zh for r in flag.rows] == ["批次贷 PB-CS-1（园区/商会推荐）"]


def test_an_open_need_on_the_board_is_a_parallel_request(
    db_session, create_enterprise, screened_application
) -> None:
    enterprise = create_enterprise()
    application = screened_application(enterprise)
    now = utcnow()
    db_session.add(
        Need(
            number="XQ-TEST-1",
            enterprise_id=enterprise.id,
            amount=Decimal("500000"),
            term_months=12,
            purpose="working_capital",
            collateral="none",
            urgency="normal",
            profile_snapshot={},
            claim_due_at=now + timedelta(days=2),
            state="claimed",
        )
    )
    db_session.commit()
    (flag,) = consistency.application_flags(db_session, application)
    assert [r.label_zh for r in flag.rows] == ["需求发布 XQ-TEST-1（银行直接认领）"]


def test_the_same_director_or_phone_on_other_firms(
    db_session, create_enterprise, create_user, screened_application
) -> None:
    firm = create_enterprise(legal_representative="张三")
    twin = create_enterprise(name="上海关联甲有限公司", legal_representative="张三")
    create_enterprise(name="上海无关乙有限公司", legal_representative="李四")
    with_phone(create_user("sme", enterprise_id=firm.id), "13800001234")
    with_phone(create_user("sme", enterprise_id=twin.id), "13900005678")
    agent_client = create_enterprise(name="上海代办丙有限公司")
    with_phone(create_user("sme", enterprise_id=agent_client.id), "13800001234")
    application = screened_application(firm)
    flags = [f for f in consistency.application_flags(db_session, application)]
    assert [f.title_zh for f in flags] == [
        "法定代表人同时是其他企业的法定代表人",
        "联系手机号也用于其他企业",
    ]
    director, phone = flags
    assert [r.label_zh for r in director.rows] == ["上海关联甲有限公司"]
    assert "张三" in director.why_zh
    assert [r.label_zh for r in phone.rows] == ["上海代办丙有限公司"]
    assert "138****1234" in phone.why_zh and "13800001234" not in phone.why_zh


@contextmanager
def counting() -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_flags_of_many_applications_take_three_statements(
    db_session, create_enterprise, create_user, screened_application
) -> None:
    apps = []
    for i in range(6):
        firm = create_enterprise(legal_representative="王五")
        with_phone(create_user("sme", enterprise_id=firm.id), f"1370000{i:04d}")
        apps.append(screened_application(firm))
    for application in apps:
        submitted_profile(application)  # the snapshot is loaded with the row
    with counting() as one:
        flags_of(db_session, apps[:1])
    with counting() as six:
        found = flags_of(db_session, apps)
    assert len(one) == len(six) == 3
    assert all("shared_contacts" in rules(found[a.id]) for a in apps)


def _insured_above_staff(db_session: Any, loop: Any) -> None:
    loop.application.profile_snapshot = {
        **loop.application.profile_snapshot,
        "profile": {
            **loop.application.profile_snapshot["profile"],
            "social_insured_employees": 200,
        },
    }
    db_session.commit()


def test_review_page_in_english(db_session, client, login, make_loop) -> None:
    loop = make_loop(refer=False)
    _insured_above_staff(db_session, loop)
    login(loop.advisor)
    client.get("/lang/en")
    page = client.get(f"/advisor/applications/{loop.application.id}")
    assert "More insured staff than employees" in page.text
    assert "200 insured employees but only 60 employees" in page.text
    assert "参保人数多于从业人员数" not in page.text


def test_review_page_and_packet_show_the_flags(db_session, client, login, make_loop) -> None:
    loop = make_loop(refer=False)
    _insured_above_staff(db_session, loop)
    login(loop.advisor)
    page = client.get(f"/advisor/applications/{loop.application.id}")
    assert page.status_code == 200
    assert 'id="consistency-flags"' in page.text
    assert "参保人数多于从业人员数" in page.text
    queue = client.get("/advisor/")
    assert f'#{loop.application.id}</a> <span class="badge consistency-flag"' in queue.text

    from finportal.services import review_actions

    review_actions.claim(db_session, loop.application.id, actor_id=loop.advisor.id)
    (referral,) = review_actions.refer_to_banks(
        db_session,
        loop.application.id,
        actor_id=loop.advisor.id,
        referrals=[(loop.bank.id, loop.version_id)],
        opinion="同意推荐。",
    )
    # Flagged, and still referred: a flag never rejects.
    ctx = packet_service.build_context(db_session, referral)
    assert [f.rule for f in ctx.consistency_flags] == ["insured_vs_staff"]
    from finportal.packets import render_packet

    text = squash(pdf_text(render_packet(ctx)))
    assert "核查提示" in text
    assert squash("参保人数多于从业人员数") in text


def test_a_name_shared_by_many_firms_names_the_first_five_and_counts_the_rest(
    db_session, create_enterprise, screened_application
) -> None:
    firms = [create_enterprise(legal_representative="赵六") for _ in range(8)]
    application = screened_application(firms[0])
    (flag,) = [
        f
        for f in flags_of(db_session, [application])[application.id]
        if f.rule == "shared_contacts"
    ]
    others = sorted(f.name for f in firms[1:])
    assert [row.label_zh for row in flag.rows] == others[:5]  # the first five, by name
    assert "等 7 家" in flag.why_zh and "7 other firm(s)" in flag.why_en


def test_a_firm_with_many_open_requests_gets_them_counted_and_the_first_listed(
    db_session, create_enterprise, screened_application
) -> None:
    """A firm that has applied for years: the flag counts every open request but lists the
    first ``max_listed`` (the queue reads fifty applications' flags in one statement)."""
    enterprise = create_enterprise()
    first = screened_application(enterprise)
    others = [
        Application(
            enterprise_id=enterprise.id, amount=Decimal(100000), term_months=12, state="screened"
        )
        for _ in range(12)
    ]
    db_session.add_all(others)
    db_session.commit()
    (flag,) = [f for f in flags_of(db_session, [first])[first.id] if f.rule == "parallel_requests"]
    listed = [f"另一份融资申请 #{a.id}" for a in sorted(others, key=lambda a: a.id)][:10]
    assert [r.label_zh for r in flag.rows] == listed
    assert "还有 12 项在办的融资请求（下表列出前 10 项）" in flag.why_zh
    assert "12 other requests running (the first 10 below)" in flag.why_en
