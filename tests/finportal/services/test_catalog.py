"""Publishing products: versions, and 政策找企业 pushes to exactly the eligible enterprises, once."""

from __future__ import annotations

import copy
from datetime import date

import pytest
from sqlalchemy import func, select

import products
from finportal import jobs
from finportal.models import Notification, Product, ProductVersion
from finportal.services import catalog
from finportal.services.errors import ValidationFailed


def test_sync_publishes_every_product_once(db_session):
    import products

    count = len(products.load_catalog())
    new = catalog.sync_catalog(db_session)
    assert len(new) == count
    assert catalog.sync_catalog(db_session) == []
    assert db_session.scalar(select(func.count()).select_from(ProductVersion)) == count


def test_changed_content_makes_a_new_version_and_old_stays(db_session, published_catalog):
    _, versions = published_catalog
    old = versions["ip_pledge"]
    content = copy.deepcopy(old.content)
    content["name_zh"] = "知识产权质押贷款（新版）"
    version, created = catalog.save_version(db_session, content, actor_id=None)
    db_session.commit()
    assert created
    assert version.number == old.number + 1
    assert db_session.get(ProductVersion, old.id).content["name_zh"] == "知识产权质押贷款"
    product = db_session.scalar(select(Product).where(Product.code == "ip_pledge"))
    assert product.current_version_id == version.id


def test_bad_content_is_refused_naming_the_field(db_session, published_catalog):
    _, versions = published_catalog
    content = copy.deepcopy(versions["ip_pledge"].content)
    del content["name_zh"]
    with pytest.raises(ValidationFailed, match="name_zh"):
        catalog.save_version(db_session, content, actor_id=None)


def test_publishing_notifies_exactly_the_eligible_enterprises_once(
    app, db_session, create_enterprise, published_catalog
):
    firms = [
        create_enterprise(invention_patents=2, trademarks=0),
        create_enterprise(invention_patents=0, trademarks=1),
        create_enterprise(invention_patents=0, trademarks=0),
        create_enterprise(invention_patents=3, serious_bad_credit_24m=True),
    ]
    _, versions = published_catalog
    version = versions["ip_pledge"]
    # the answer the pure package gives, one by one
    product = catalog.product_of(version)
    from finportal.services.profiles import enterprise_profile

    expected = {
        f.id
        for f in firms
        if products.evaluate(product, enterprise_profile(f), None, today=date.today()).eligible
    }
    assert firms[0].id in expected
    assert firms[2].id not in expected
    with app.test_request_context():
        first = jobs.enqueue(db_session, "notify_eligible", product_version_id=version.id)
        second = jobs.enqueue(db_session, "notify_eligible", product_version_id=version.id)
    assert first.state == "done", first.message
    notified = set(
        db_session.scalars(
            select(Notification.enterprise_id).where(
                Notification.kind == "policy_push", Notification.link == "/products/ip_pledge"
            )
        )
    )
    assert notified & {f.id for f in firms} == expected
    assert second.result["new"] == 0 and second.result["cheaper"] == 0


def test_lpr_in_force_on_a_day(db_session):
    from decimal import Decimal

    from finportal.models import ReferenceRate

    db_session.add_all(
        [
            ReferenceRate(
                kind="lpr_1y", annual_rate=Decimal("0.031"), effective_on=date(2024, 10, 21)
            ),
            ReferenceRate(
                kind="lpr_1y", annual_rate=Decimal("0.030"), effective_on=date(2025, 5, 20)
            ),
        ]
    )
    db_session.commit()
    assert catalog.current_lpr(db_session, date(2025, 1, 1)) == Decimal("0.031")
    assert catalog.current_lpr(db_session, date(2025, 6, 1)) == Decimal("0.030")
