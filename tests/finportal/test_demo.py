"""The demo data loads idempotently and every demo user reaches a Chinese home page."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from stdnum.cn import uscc

from finportal.demo import DEFAULT_PASSWORD, load_demo
from finportal.models import Bank, Enterprise, Park, User


@pytest.mark.slow
@pytest.mark.both_engines  # README command 1 loads the demo on SQLite
@pytest.mark.demo  # loaded once from empty (conftest.demo_app); here the second time
def test_demo_loads_twice_without_duplicates(client, db_session):
    counts = [
        db_session.scalar(select(func.count()).select_from(m))
        for m in (Enterprise, User, Park, Bank)
    ]
    load_demo(db_session)
    again = [
        db_session.scalar(select(func.count()).select_from(m))
        for m in (Enterprise, User, Park, Bank)
    ]
    assert counts == again
    assert counts[0] >= 200

    enterprises = db_session.scalars(select(Enterprise).where(Enterprise.demo.is_(True))).all()
    assert all(uscc.is_valid(e.uscc) for e in enterprises)
    assert len({e.industry_code for e in enterprises}) >= 10
    assert any(e.serious_bad_credit_24m for e in enterprises) and any(
        (e.overdue_count_24m or 0) > 0 for e in enterprises
    )
    assert all(e.total_liabilities <= e.total_assets for e in enterprises)
    assert all((e.social_insured_employees or 0) <= (e.employees or 0) for e in enterprises)
    assert db_session.scalar(select(Park).where(Park.name_zh == "莘庄工业区"))
    assert all("演示" in b.name_zh for b in db_session.scalars(select(Bank)))

    for role in ("sme", "advisor", "recommender", "bank", "admin"):
        client.post("/auth/logout")
        response = client.post(
            "/auth/login", data={"username": f"demo-{role}", "password": DEFAULT_PASSWORD}
        )
        assert response.status_code == 302, role
        page = client.get(response.location)
        assert page.status_code == 200
        assert '<html lang="zh-CN">' in page.text


@pytest.mark.slow
@pytest.mark.demo
def test_demo_password_can_be_set(client, db_session):
    load_demo(db_session, password="another-secret-1")
    response = client.post(
        "/auth/login", data={"username": "demo-admin", "password": "another-secret-1"}
    )
    assert response.status_code == 302
