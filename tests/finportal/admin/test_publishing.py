"""Publishing with two people (maker-checker) and the what-if both admins see (issue 13)."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
import yaml
from sqlalchemy import func, select

import products
from finportal.models import Membership, Park, Product, ProductDraft, ProductVersion
from finportal.services import catalog, publishing, what_if
from finportal.services.errors import Conflict, Forbidden, ValidationFailed
from finportal.services.profiles import enterprise_profile


def _yaml(db_session, code="ip_pledge"):
    product = db_session.scalar(select(Product).where(Product.code == code))
    return yaml.safe_dump(product.current_version.content, allow_unicode=True, sort_keys=False)


def _narrower_ip_rule(db_session):
    """ip_pledge asking for 2 invention patents or 3 utility patents (trademarks no longer count)."""
    data = yaml.safe_load(_yaml(db_session))
    holds = next(c for c in data["conditions"] if c["id"] == "holds_ip")
    holds["any_of"] = [
        {"field": "invention_patents", "op": "gte", "value": 2},
        {"field": "utility_patents", "op": "gte", "value": 3},
    ]
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _version_count(db_session):
    return db_session.scalar(
        select(func.count())
        .select_from(ProductVersion)
        .join(Product, ProductVersion.product_id == Product.id)
        .where(Product.code == "ip_pledge")
    )


@pytest.fixture
def district(db_session, create_enterprise):
    """Firms in two parks and none, with IP that the narrower rule keeps, drops or adds."""
    parks = [Park(code="zizhu", name_zh="紫竹高新区"), Park(code="xinzhuang", name_zh="莘庄工业区")]
    db_session.add_all(parks)
    db_session.flush()
    specs = [
        # (invention patents, utility patents, trademarks, park index or None, industry)
        (3, 0, 0, 0, "65"),  # keeps
        (1, 0, 0, 0, "65"),  # loses (one patent)
        (0, 0, 2, 1, "39"),  # loses (trademarks only)
        (0, 4, 0, 1, "39"),  # gains (utility patents)
        (0, 5, 0, None, "51"),  # gains
        (0, 0, 0, None, "65"),  # never
        (2, 0, 0, 0, "39"),  # keeps
    ]
    firms = []
    for inv, util, marks, park, industry in specs:
        firm = create_enterprise(
            invention_patents=inv, utility_patents=util, trademarks=marks, industry_code=industry
        )
        if park is not None:
            db_session.add(Membership(enterprise_id=firm.id, park_id=parks[park].id))
        firms.append(firm)
    db_session.commit()
    for firm in firms:
        db_session.refresh(firm)
    return firms


def test_the_what_if_equals_a_direct_count(db_session, create_user, district, published_catalog):
    drafter = create_user("admin")
    draft = publishing.draft_product(
        db_session, _narrower_ip_rule(db_session), actor_id=drafter.id, expected_code="ip_pledge"
    )
    today = date(2026, 12, 1)
    old = catalog.product_of(published_catalog[1]["ip_pledge"])
    new = publishing.draft_product_of(draft)
    result = what_if.compute(db_session, new, old, today=today, keep_ids=True)
    # the same question asked firm by firm with the one-by-one evaluator
    from finportal.models import Enterprise

    everyone = list(db_session.scalars(select(Enterprise).order_by(Enterprise.id)))
    before = {
        e.id
        for e in everyone
        if products.evaluate(old, enterprise_profile(e), None, today).eligible
    }
    after = {
        e.id
        for e in everyone
        if products.evaluate(new, enterprise_profile(e), None, today).eligible
    }
    assert result.enterprises == len(everyone)
    assert result.eligible_before == len(before)
    assert result.eligible_after == len(after)
    assert sorted(result.gained_ids) == sorted(after - before)
    assert sorted(result.lost_ids) == sorted(before - after)
    assert {district[3].id, district[4].id} <= set(result.gained_ids)
    assert {district[1].id, district[2].id} <= set(result.lost_ids)
    # by park: counted from the memberships directly
    parks = {e.id: [m.park.code for m in e.memberships if m.park] for e in everyone}
    gained_by_park = Counter(p for i in after - before for p in (parks[i] or [""]))
    lost_by_park = Counter(p for i in before - after for p in (parks[i] or [""]))
    assert {g.key: g.gained for g in result.by_park if g.gained} == dict(gained_by_park)
    assert {g.key: g.lost for g in result.by_park if g.lost} == dict(lost_by_park)
    names = {g.key: g.label_zh for g in result.by_park}
    assert names["zizhu"] == "紫竹高新区" and names[""] == "未加入园区"
    # by size: the one-by-one size class
    sizes = {
        e.id: products.derive_fields(enterprise_profile(e), today)["size_class"] for e in everyone
    }
    assert {g.key: g.eligible_after for g in result.by_size} == dict(
        Counter(sizes[i] or "" for i in after)
    )
    assert sum(g.gained for g in result.by_industry) == len(after - before)
    # the outlay: the example loan's first-year subsidy times the eligible firms
    lpr = catalog.current_lpr(db_session, today)
    quote = products.quote(new, new.example_amount.value, new.example_term.value, lpr)
    per_loan = sum((row.subsidy for row in quote.schedule[:12]), Decimal(0))
    assert result.outlay_after.per_loan == per_loan
    assert result.outlay_after.total == per_loan * len(after)
    assert result.outlay_change == per_loan * (len(after) - len(before))


def test_the_drafter_cannot_approve_or_send_back_their_own_draft(
    db_session, create_user, published_catalog
):
    drafter = create_user("admin")
    draft = publishing.draft_product(
        db_session, _narrower_ip_rule(db_session), actor_id=drafter.id, expected_code="ip_pledge"
    )
    with pytest.raises(Forbidden) as refused:
        publishing.approve(db_session, draft.id, actor_id=drafter.id)
    assert "另一位管理员" in refused.value.message_zh
    with pytest.raises(Forbidden):
        publishing.send_back(db_session, draft.id, actor_id=drafter.id, note="自己退回")
    db_session.rollback()
    assert db_session.get(ProductDraft, draft.id).state == "pending"
    assert _version_count(db_session) == 1


def test_a_second_admin_approves_and_the_version_is_published(
    db_session, create_user, published_catalog
):
    drafter, checker = create_user("admin"), create_user("admin")
    draft = publishing.draft_product(
        db_session, _narrower_ip_rule(db_session), actor_id=drafter.id, expected_code="ip_pledge"
    )
    assert _version_count(db_session) == 1  # a draft publishes nothing
    approval = publishing.approve(db_session, draft.id, actor_id=checker.id, note="核对无误")
    assert approval.created and approval.version.number == 2
    assert approval.job.state == "done"
    product = db_session.scalar(select(Product).where(Product.code == "ip_pledge"))
    assert product.current_version_id == approval.version.id
    draft = db_session.get(ProductDraft, draft.id)
    assert draft.state == "approved" and draft.version_id == approval.version.id
    with pytest.raises(Conflict):
        publishing.approve(db_session, draft.id, actor_id=checker.id)


def test_a_draft_made_before_another_publication_cannot_be_approved(
    db_session, create_user, published_catalog
):
    a, b = create_user("admin"), create_user("admin")
    first = publishing.draft_product(
        db_session, _narrower_ip_rule(db_session), actor_id=a.id, expected_code="ip_pledge"
    )
    with pytest.raises(Conflict, match="awaiting approval"):
        publishing.draft_product(
            db_session,
            _yaml(db_session).replace("知识产权质押贷款", "知识产权贷", 1),
            actor_id=b.id,
            expected_code="ip_pledge",
        )
    db_session.rollback()
    # the stale case: the product moves on under a pending draft
    db_session.get(ProductDraft, first.id).base_version_id = None
    db_session.commit()
    with pytest.raises(Conflict, match="redrafted"):
        publishing.approve(db_session, first.id, actor_id=b.id)


def test_sending_back_needs_a_reason_and_only_the_drafter_withdraws(
    db_session, create_user, published_catalog
):
    drafter, checker = create_user("admin"), create_user("admin")
    draft = publishing.draft_product(
        db_session, _narrower_ip_rule(db_session), actor_id=drafter.id, expected_code="ip_pledge"
    )
    with pytest.raises(ValidationFailed):
        publishing.send_back(db_session, draft.id, actor_id=checker.id, note="  ")
    with pytest.raises(Forbidden):
        publishing.withdraw(db_session, draft.id, actor_id=checker.id)
    publishing.send_back(db_session, draft.id, actor_id=checker.id, note="补贴比例的来源不对")
    assert db_session.get(ProductDraft, draft.id).state == "returned"
    again = publishing.draft_product(
        db_session, _narrower_ip_rule(db_session), actor_id=drafter.id, expected_code="ip_pledge"
    )
    publishing.withdraw(db_session, again.id, actor_id=drafter.id)
    assert db_session.get(ProductDraft, again.id).state == "withdrawn"
    assert _version_count(db_session) == 1


def test_changes_tell_terms_from_words(db_session, published_catalog):
    content = published_catalog[1]["ip_pledge"].content
    words = dict(content, description_zh=content["description_zh"] + "（新）")
    assert [c.term for c in publishing.changes(content, words)] == [False]
    terms = yaml.safe_load(yaml.safe_dump(content))
    terms["rate"]["spread_bp"]["value"] = "10"
    assert [(c.path, c.term) for c in publishing.changes(content, terms)] == [
        ("rate.spread_bp.value", True)
    ]


# --- the admin's pages ------------------------------------------------------------------


def test_both_admins_see_the_what_if_and_only_the_other_may_approve(
    client, db_session, create_user, login, district, published_catalog
):
    drafter, checker = create_user("admin"), create_user("admin")
    login(drafter)
    response = client.post(
        "/admin/products/ip_pledge/edit",
        data={"content": _narrower_ip_rule(db_session), "note": "收紧知识产权条件"},
    )
    assert response.status_code == 302
    draft_url = response.location
    page = client.get(draft_url).text
    assert "待复核" in page and "收紧知识产权条件" in page
    assert 'data-what-if="gained">2<' in page
    assert 'data-what-if="lost">2<' in page
    assert "紫竹高新区" in page and "按企业规模" in page
    assert "撤回草稿" in page and "批准并发布" not in page
    refused = client.post(draft_url + "/approve", data={})
    assert refused.status_code == 403
    assert "不能批准自己起草的版本" in refused.text
    assert _version_count(db_session) == 1

    login(checker)
    page = client.get(draft_url).text
    assert 'data-what-if="gained">2<' in page and "批准并发布" in page
    blank = client.post(draft_url + "/return", data={"note": ""})
    assert blank.status_code == 422 and "请写明退回原因" in blank.text
    approved = client.post(draft_url + "/approve", data={"note": "已核对"})
    assert approved.status_code == 302
    assert _version_count(db_session) == 2
    assert "已批准发布" in client.get(draft_url).text
    listing = client.get("/admin/products/drafts").text
    assert "已批准发布" in listing


def test_a_words_only_draft_says_it_pushes_nothing(
    client, db_session, create_user, login, published_catalog
):
    login(create_user("admin"))
    text = _yaml(db_session).replace("description_zh: ", "description_zh: （2026 年修订说明）", 1)
    response = client.post("/admin/products/ip_pledge/edit", data={"content": text})
    assert response.status_code == 302
    page = client.get(response.location).text
    assert 'data-terms-changed="no"' in page
    assert "不会向任何企业推送" in page


def test_the_english_draft_page(client, db_session, create_user, login, published_catalog):
    login(create_user("admin"))
    client.get("/lang/en")
    response = client.post(
        "/admin/products/ip_pledge/edit", data={"content": _narrower_ip_rule(db_session)}
    )
    page = client.get(response.location).text
    assert "Awaiting approval" in page
    assert "What publishing would change" in page and "By size class" in page
