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
