"""Paging: every row once, in the statement's order, with or without sorting the keys first."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from finportal.models import Enterprise
from finportal.paging import paginate

pytestmark = pytest.mark.db


@pytest.mark.parametrize("keys_first", [False, True])
def test_pages_hold_every_row_once_in_order(db_session, create_enterprise, keys_first):
    # Ties on the first sort key: the second key decides, on every page.
    for n in range(23):
        create_enterprise(employees=n % 4 + 1)
    db_session.commit()
    stmt = select(Enterprise).order_by(Enterprise.employees.desc(), Enterprise.id)
    expected = [e.id for e in db_session.scalars(stmt)]
    seen = []
    for number in range(1, 6):
        page = paginate(db_session, stmt, page=number, per_page=5, keys_first=keys_first)
        assert page.total == 23 and page.pages == 5
        seen.extend(e.id for e in page.items)
    assert seen == expected
    # A page past the last is the last (the one rule of every paged list).
    beyond = paginate(db_session, stmt, page=9, per_page=5, keys_first=keys_first)
    assert [e.id for e in beyond.items] == expected[20:] and beyond.page == 5
    assert beyond.total == 23
