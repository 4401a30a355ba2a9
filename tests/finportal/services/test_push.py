"""政策找企业 that is true: firms hear only what is new or cheaper for them, once (issue 13)."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from finportal import jobs
from finportal.models import Enterprise, Notification, Product, PushRecord
from finportal.services import catalog, profile_form, push, reference_data

TODAY = date(2026, 12, 1)


def _told(db_session, code):
    """Return {enterprise id: [titles]} of the 政策找企业 notices about a product, by id."""
    rows = db_session.execute(
        select(Notification.enterprise_id, Notification.title_zh)
        .where(Notification.kind == "policy_push", Notification.link == f"/products/{code}")
        .order_by(Notification.id)
    ).all()
    out: dict[int, list[str]] = {}
    for enterprise_id, title in rows:
        out.setdefault(enterprise_id, []).append(title)
    return out


def _publish(db_session, code, change):
    """Store a changed version of a product (as an approval does) and run its push job."""
    product = db_session.scalar(select(Product).where(Product.code == code))
    content = copy.deepcopy(product.current_version.content)
    change(content)
    version, created = catalog.save_version(db_session, content, actor_id=None)
    assert created
    db_session.commit()
    job = jobs.enqueue(db_session, "notify_eligible", product_version_id=version.id)
    assert job.state == "done", job.message
    return job.result


def _spread(bp):
    def change(content):
        content["rate"]["spread_bp"]["value"] = str(bp)

    return change


@pytest.fixture
def firms(create_enterprise, published_catalog, db_session):
    """Two IP holders told of ip_pledge at v1, a firm without IP, and the v1 push's result."""
    a = create_enterprise(invention_patents=2)
    b = create_enterprise(trademarks=3, invention_patents=0)
    c = create_enterprise(invention_patents=0, trademarks=0)
    _, versions = published_catalog
    job = jobs.enqueue(db_session, "notify_eligible", product_version_id=versions["ip_pledge"].id)
    assert job.state == "done", job.message
    return a, b, c


def test_the_first_push_tells_each_qualifying_firm_once_and_a_rerun_nothing(
    db_session, firms, published_catalog
):
    a, b, c = firms
    told = _told(db_session, "ip_pledge")
    assert set(told) >= {a.id, b.id}
    assert c.id not in told
    assert told[a.id] == ["新产品发布：知识产权质押贷款，贵企业符合申请条件"]
    _, versions = published_catalog
    again = jobs.enqueue(db_session, "notify_eligible", product_version_id=versions["ip_pledge"].id)
    assert again.result["new"] == 0 and again.result["cheaper"] == 0
    assert _told(db_session, "ip_pledge") == told


def test_an_edit_that_changes_no_term_pushes_nothing(db_session, firms):
    before = db_session.scalar(select(Notification.id).order_by(Notification.id.desc()).limit(1))

    def describe(content):
        content["description_zh"] += "（2026 年版说明）"
        content["description_en"] += " (2026 text)"

    result = _publish(db_session, "ip_pledge", describe)
    assert result["eligible"] >= 2
    assert result["new"] == 0 and result["cheaper"] == 0
    after = db_session.scalars(select(Notification.title_zh).where(Notification.id > before))
    assert list(after) == []


def test_a_cheaper_version_pushes_to_exactly_the_firms_for_which_it_is_cheaper(db_session, firms):
    a, b, c = firms
    # v2 is dearer than v1: nobody is told.
    dearer = _publish(db_session, "ip_pledge", _spread(150))
    assert dearer["new"] == 0 and dearer["cheaper"] == 0
    # c files its trademarks under v2 and is told v2's (dearer) cost.
    profile_form.update_profile(
        db_session, actor_id=None, enterprise_id=c.id, data={"trademarks": 1}
    )
    assert [t for t in _told(db_session, "ip_pledge")[c.id]] == [
        "贵企业符合「知识产权质押贷款」的申请条件"
    ]
    # v3 lies between: cheaper than what c was told, dearer than what a and b were told.
    before = _told(db_session, "ip_pledge")
    _publish(db_session, "ip_pledge", _spread(100))
    after = _told(db_session, "ip_pledge")
    gained = {e for e in after if len(after[e]) > len(before.get(e, []))}
    assert gained == {c.id}
    assert after[c.id][-1].startswith("「知识产权质押贷款」对贵企业更优惠了")
    assert "降至" in after[c.id][-1]
    # v4 is cheaper than anything told: every told firm hears it, once.
    _publish(db_session, "ip_pledge", _spread(0))
    final = _told(db_session, "ip_pledge")
    told_before = {e for e in after if e in (a.id, b.id, c.id)}
    assert {e for e in told_before if len(final[e]) == len(after[e]) + 1} == {a.id, b.id, c.id}
    assert not any("新产品发布" in t for e in (a.id, b.id, c.id) for t in final[e][1:])


def test_the_record_keeps_what_each_firm_was_last_told(db_session, firms):
    a, _b, _c = firms
    _publish(db_session, "ip_pledge", _spread(0))
    record = db_session.scalar(
        select(PushRecord)
        .join(Product, PushRecord.product_id == Product.id)
        .where(PushRecord.enterprise_id == a.id, Product.code == "ip_pledge")
    )
    product = db_session.scalar(select(Product).where(Product.code == "ip_pledge"))
    assert record.version_id == product.current_version_id
    offer = push.offers(db_session, ["ip_pledge"])[0]
    assert record.effective_rate == offer.rate


def test_a_profile_change_rematches_the_firm(db_session, create_enterprise, published_catalog):
    firm = create_enterprise(invention_patents=0, trademarks=0)
    assert firm.id not in _told(db_session, "ip_pledge")
    profile_form.update_profile(
        db_session, actor_id=None, enterprise_id=firm.id, data={"invention_patents": 1}
    )
    assert _told(db_session, "ip_pledge")[firm.id] == ["贵企业符合「知识产权质押贷款」的申请条件"]
    # the same profile saved again changes nothing and tells nothing
    notices = db_session.scalar(select(Notification.id).order_by(Notification.id.desc()).limit(1))
    profile_form.update_profile(
        db_session, actor_id=None, enterprise_id=firm.id, data={"invention_patents": 1}
    )
    push.rematch_enterprise(db_session, enterprise_id=firm.id)
    db_session.commit()
    assert (
        db_session.scalar(select(Notification.id).order_by(Notification.id.desc()).limit(1))
        == notices
    )


def test_a_lower_lpr_tells_firms_of_lpr_priced_products_that_they_got_cheaper(
    db_session, firms, create_user
):
    a, _b, c = firms
    admin = create_user("admin")
    before = _told(db_session, "ip_pledge")
    reference_data.add_rate(
        db_session,
        actor_id=admin.id,
        kind="lpr_1y",
        annual_rate=Decimal("0.0250"),
        effective_on=date(2020, 1, 1),
    )
    # the only LPR row is in force (below the default 3.00 %): ip_pledge is priced over it
    after = _told(db_session, "ip_pledge")
    assert len(after[a.id]) == len(before[a.id]) + 1
    assert "更优惠" in after[a.id][-1]
    assert c.id not in after


def test_deadline_reminders_go_once_to_qualifying_firms(
    db_session, create_enterprise, published_catalog
):
    tech = create_enterprise(certifications=["tech_sme"])
    other = create_enterprise(certifications=[])
    window = catalog.product_of(published_catalog[1]["tech_performance"]).application_window
    assert window is not None
    day = window.closes_on.fromordinal(window.closes_on.toordinal() - 5)
    first = push.send_deadline_reminders(db_session, today=day)
    db_session.commit()
    assert "tech_performance" in first["products"]
    reminded = set(
        db_session.scalars(
            select(Notification.enterprise_id).where(Notification.kind == "deadline")
        )
    )
    assert tech.id in reminded
    assert other.id not in reminded
    title = db_session.scalar(
        select(Notification.title_zh).where(
            Notification.kind == "deadline", Notification.enterprise_id == tech.id
        )
    )
    assert "还剩 5 天" in title and window.closes_on.isoformat() in title
    second = push.send_deadline_reminders(db_session, today=day)
    assert second["reminded"] == 0
    outside = window.opens_on.fromordinal(window.opens_on.toordinal() - 1)
    assert push.send_deadline_reminders(db_session, today=outside)["products"] == []


def test_the_loader_reads_the_same_profiles_as_the_orm(
    db_session, create_enterprise, published_catalog
):
    import products
    from finportal.services.profile_table import iter_tables
    from finportal.services.profiles import enterprise_profile

    create_enterprise(certifications=[], registered_on=None, tax_credit_grade=None)
    create_enterprise(has_bank_loan_history=True, serious_bad_credit_24m=None)
    tables = list(iter_tables(db_session, chunk=1))
    firms = list(db_session.scalars(select(Enterprise).order_by(Enterprise.id)))
    assert [t.ids[0] for t in tables] == [f.id for f in firms]
    cat, _ = published_catalog
    for table, firm in zip(tables, firms, strict=True):
        direct = products.match_many(
            cat, products.profiles_to_table([enterprise_profile(firm)]), today=TODAY
        )
        loaded = products.match_many(cat, table, today=TODAY)
        assert (direct.eligible == loaded.eligible).all(), firm.id
