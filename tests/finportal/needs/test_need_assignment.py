"""Escalated needs on the assignment board (issue 15): assigned, counted, escalated, listed.

A fixed clock (December 2026, Shanghai; 1 December is a Tuesday) drives the ladder: the
need's handling deadline is set to a fixed time and the ladder runs at fixed times.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from finportal.domain.permissions import Actor
from finportal.models import AuditEvent, Escalation, Notification
from finportal.services import assignment, escalation, needs
from finportal.services.errors import Conflict, Forbidden, InvalidTransition
from finportal.services.workdays import SHANGHAI


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def staff(db_session, create_user):
    """A supervisor (督导顾问), the head (中心负责人) and a second advisor."""
    supervisor = create_user("advisor", display_name="督导")
    head = create_user("advisor", display_name="负责人")
    other = create_user("advisor", display_name="顾问乙")
    supervisor.duty, head.duty = "supervisor", "head"
    db_session.commit()
    return supervisor, head, other


def _escalated(db_session, board):
    need = board.post(db_session)
    needs.escalate_unclaimed(db_session, need.claim_due_at + timedelta(minutes=1))
    db_session.refresh(need)
    assert need.state == "escalated" and need.handle_due_at is not None
    return need


def _titles(session, user):
    return session.scalars(
        select(Notification.title_zh)
        .where(Notification.user_id == user.id)
        .order_by(Notification.id)
    ).all()


def _assignments(session, need):
    return session.scalars(
        select(AuditEvent.data)
        .where(AuditEvent.action == "need.assigned", AuditEvent.object_id == need.id)
        .order_by(AuditEvent.id)
    ).all()


def test_a_supervisor_assigns_and_reassigns_a_need_audited_and_told(db_session, board, staff):
    supervisor, head, other = staff
    need = _escalated(db_session, board)
    assignment.assign_need(
        db_session,
        need.id,
        actor=Actor.of(supervisor),
        advisor_id=board.advisor.id,
        reason="请联系企业",
        lock_version=need.lock_version,
    )
    assert need.assigned_advisor_id == board.advisor.id
    assert _titles(db_session, board.advisor)[-1] == f"交办给您的融资需求 {need.number}"
    # The head reassigns it; the same advisor again changes nothing.
    assignment.assign_need(db_session, need.id, actor=Actor.of(head), advisor_id=other.id)
    assignment.assign_need(db_session, need.id, actor=Actor.of(head), advisor_id=other.id)
    assert need.assigned_advisor_id == other.id
    assert _assignments(db_session, need) == [
        {"from": None, "to": board.advisor.id},
        {"from": board.advisor.id, "to": other.id},
    ]
    assert _titles(db_session, other) == [f"交办给您的融资需求 {need.number}"]


def test_only_a_supervisor_assigns_and_only_escalated_needs(db_session, board, staff):
    supervisor, _head, _other = staff
    need = _escalated(db_session, board)
    with pytest.raises(Forbidden):
        assignment.assign_need(
            db_session, need.id, actor=Actor.of(board.advisor), advisor_id=board.advisor.id
        )
    with pytest.raises(Conflict):
        assignment.assign_need(
            db_session,
            need.id,
            actor=Actor.of(supervisor),
            advisor_id=board.advisor.id,
            lock_version=need.lock_version - 1,
        )
    open_need = board.post(db_session, amount=Decimal("3000000"))
    with pytest.raises(InvalidTransition):
        assignment.assign_need(
            db_session, open_need.id, actor=Actor.of(supervisor), advisor_id=board.advisor.id
        )
    assert need.assigned_advisor_id is None and _assignments(db_session, need) == []


def test_the_load_counts_assigned_needs_and_their_overdue(db_session, board, staff):
    supervisor, _head, other = staff
    need = _escalated(db_session, board)
    assignment.assign_need(
        db_session, need.id, actor=Actor.of(supervisor), advisor_id=board.advisor.id
    )
    before = need.handle_due_at - timedelta(minutes=1)
    after = need.handle_due_at + timedelta(minutes=1)
    loads = {load.advisor.id: load for load in assignment.workload(db_session, now=before)}
    assert (loads[board.advisor.id].needs, loads[board.advisor.id].needs_overdue) == (1, 0)
    assert loads[board.advisor.id].total == 1 and loads[other.id].total == 0
    loads = {load.advisor.id: load for load in assignment.workload(db_session, now=after)}
    assert loads[board.advisor.id].overdue == 1
    assert assignment.unassigned_counts(db_session, now=before)["needs"] == 1
    assert assignment.unassigned_counts(db_session, now=before)["needs_unassigned"] == 0
    assert assignment.unassigned_counts(db_session, now=after)["overdue"] == 1


def test_an_overdue_need_climbs_the_ladder_once_and_stands_down_when_closed(
    db_session, board, staff
):
    supervisor, head, _other = staff
    need = _escalated(db_session, board)
    need.handle_due_at = at(7, 10)  # Monday
    db_session.commit()
    assert escalation.escalate_overdue(db_session, at(7, 9))["escalated"] == 0
    first = escalation.escalate_overdue(db_session, at(7, 10, 30))
    assert first == {"overdue": 1, "escalated": 1, "resolved": 0}
    assert _titles(db_session, supervisor)[-1] == "超时预警：1 项工作已升级给您"
    told = _titles(db_session, supervisor)
    assert escalation.escalate_overdue(db_session, at(7, 10, 30))["escalated"] == 0  # idempotent
    assert _titles(db_session, supervisor) == told
    assert escalation.escalate_overdue(db_session, at(9, 9))["escalated"] == 0
    assert escalation.escalate_overdue(db_session, at(9, 10, 30))["escalated"] == 1  # the head
    assert _titles(db_session, head) == ["超时预警：1 项工作已升级给您"]
    rows = db_session.scalars(
        select(Escalation.level)
        .where(Escalation.object_type == "need", Escalation.object_id == need.id)
        .order_by(Escalation.level)
    ).all()
    assert rows == [1, 2]
    page = assignment.needs_page(db_session, now=at(9, 11))
    assert [(n.id, level, late) for n, level, late in page.items] == [(need.id, 2, True)]
    needs.close_need(db_session, actor_id=board.advisor.id, need_id=need.id, reason="企业已自筹")
    assert escalation.escalate_overdue(db_session, at(9, 12))["resolved"] == 2


def test_the_boards_needs_tab_assigns_and_the_advisor_sees_their_own_first(
    client, db_session, board, staff, login
):
    supervisor, _head, other = staff
    first = _escalated(db_session, board)
    second = board.post(db_session, amount=Decimal("2500000"))
    needs.escalate_unclaimed(db_session, second.claim_due_at + timedelta(minutes=1))
    login(supervisor)
    page = client.get("/advisor/assignment?tab=needs")
    assert page.status_code == 200
    assert f'data-need="{first.id}"' in page.text and first.number in page.text
    assert 'id="count-needs">2<' in page.text
    refused = client.post(f"/advisor/needs/{second.id}/assign", data={"advisor_id": ""})
    assert refused.status_code == 422 and "请选择承办顾问" in refused.text
    done = client.post(
        f"/advisor/needs/{second.id}/assign",
        data={"advisor_id": board.advisor.id, "lock_version": second.lock_version},
    )
    assert done.status_code == 302 and done.headers["Location"].endswith("tab=needs")
    db_session.refresh(second)
    assert second.assigned_advisor_id == board.advisor.id
    row = client.get("/advisor/assignment?tab=needs").text
    assert (
        row.split(f'data-need="{second.id}"')[1]
        .split("</tr>")[0]
        .count(board.advisor.display_name or board.advisor.username)
    )
    detail = client.get(f"/advisor/needs/{second.id}").text
    assert (board.advisor.display_name or board.advisor.username) in detail.split(
        'id="need-assignee"'
    )[1].split("</td>")[0]
    # A plain advisor may not assign, and sees their own need first in their list.
    login(board.advisor)
    assert (
        client.post(f"/advisor/needs/{first.id}/assign", data={"advisor_id": other.id}).status_code
        == 403
    )
    listing = client.get("/advisor/needs").text
    assert listing.index(f'data-need="{second.id}"') < listing.index(f'data-need="{first.id}"')
    assert "我的" in listing.split(f'data-need="{second.id}"')[1].split("</tr>")[0]
