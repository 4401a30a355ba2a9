"""The catalogue's example quotes are computed once per product version and LPR (issue 12)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import products
from finportal.models import ReferenceRate


def _count_quotes(monkeypatch) -> list[int]:
    calls = [0]
    original = products.quote

    def counted(*args, **kwargs):
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(products, "quote", counted)
    return calls


def test_the_index_quotes_each_version_once_until_the_lpr_changes(
    client, db_session, published_catalog, monkeypatch
):
    # An LPR no other test uses, so that no quote of it is kept from before.
    db_session.add(
        ReferenceRate(kind="lpr_1y", annual_rate=Decimal("0.0287"), effective_on=date(2025, 2, 1))
    )
    db_session.commit()
    calls = _count_quotes(monkeypatch)
    first = client.get("/products/").text
    quoted = calls[0]
    assert quoted > 0
    assert client.get("/products/").text == first
    assert client.get("/products/park_batch").status_code == 200
    assert calls[0] == quoted  # the second page view and the product page quote nothing anew

    db_session.add(
        ReferenceRate(kind="lpr_1y", annual_rate=Decimal("0.0271"), effective_on=date(2025, 3, 1))
    )
    db_session.commit()
    changed = client.get("/products/").text
    assert calls[0] == 2 * quoted  # a new LPR: every example quoted again
    assert changed != first


def _count_bodies(app) -> list[str]:
    from flask import template_rendered

    rendered: list[str] = []

    def record(sender, template, context, **extra):
        if template.name == "catalogue/_index_body.html":
            rendered.append(template.name)

    template_rendered.connect(record, app, weak=False)
    return rendered


def _switch(client, code: str) -> None:
    """Switch the language (the tests' app context outlives a request: forget its choice)."""
    from flask_babel import refresh

    assert client.get(f"/lang/{code}").status_code == 302
    refresh()


def test_the_index_body_is_rendered_once_per_catalogue_and_language(
    app, client, db_session, published_catalog
):
    import copy

    from finportal.services import catalog

    # A version no other test publishes, so that no body of it is kept from before.
    _, versions = published_catalog
    content = copy.deepcopy(versions["ip_pledge"].content)
    content["name_zh"] = "知识产权质押贷款（缓存测试）"
    catalog.save_version(db_session, content, actor_id=None)
    db_session.commit()
    rendered = _count_bodies(app)

    first = client.get("/products/").text
    assert "知识产权质押贷款（缓存测试）" in first
    assert client.get("/products/").text == first
    assert len(rendered) == 1  # the second view reused the body

    _switch(client, "en")
    english = client.get("/products/").text
    assert len(rendered) == 2  # English is another body
    assert "Product catalogue" in english and "金融产品目录" not in english

    content["name_zh"] = "知识产权质押贷款（再发布）"
    catalog.save_version(db_session, content, actor_id=None)
    db_session.commit()
    _switch(client, "zh_CN")
    republished = client.get("/products/").text
    assert len(rendered) == 3  # a publish is a new body
    assert "知识产权质押贷款（再发布）" in republished
    assert "知识产权质押贷款（缓存测试）" not in republished
