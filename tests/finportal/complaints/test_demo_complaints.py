"""The demo has a supervisor, the head, complaints in every state and a published report."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from finportal.demo import DEFAULT_PASSWORD, load_demo
from finportal.domain.states import COMPLAINT
from finportal.models import Complaint, Escalation, PublishedReport, User


@pytest.mark.slow
@pytest.mark.demo
def test_the_demo_shows_the_service_loop_and_loads_twice(client, db_session):
    count = db_session.scalar(select(func.count()).select_from(Complaint))
    load_demo(db_session)
    assert db_session.scalar(select(func.count()).select_from(Complaint)) == count
    states = set(db_session.scalars(select(Complaint.state).distinct()))
    assert states == {s.value for s in COMPLAINT.states}
    duties = dict(
        db_session.execute(
            select(User.username, User.duty).where(
                User.username.in_(["demo-supervisor", "demo-head"])
            )
        ).all()
    )
    assert duties == {"demo-supervisor": "supervisor", "demo-head": "head"}
    assert db_session.scalar(select(func.count()).select_from(Escalation)) >= 2
    assert (
        db_session.scalar(
            select(func.count())
            .select_from(PublishedReport)
            .where(PublishedReport.state == "approved")
        )
        == 1
    )
    assert "示范银行甲" in client.get("/ratings").text
    response = client.post(
        "/auth/login", data={"username": "demo-head", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302
    board = client.get("/advisor/assignment")
    assert board.status_code == 200 and "王顾问（演示）" in board.text
