"""Issue 15's Done-when: a complaint goes through every step of 反映—受理—交办—办理—预警—评价—分析.

A fixed clock (December 2026, Shanghai; no holidays in the table) drives the deadlines and
the escalation ladder: the acknowledgement deadline is missed, the complaint goes to the
supervisor, then two working days later to the head; it is acknowledged, assigned,
answered, rated unsatisfied and reopened, misses its new answer deadline (the supervisor
is told again), is answered again, rated and closed, and the dashboard counts it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from finportal.models import AuditEvent, Complaint, Escalation, Notification
from finportal.services import assignment, complaints, escalation
from finportal.services.complaint_analysis import complaint_tables
from finportal.services.errors import InvalidTransition, ValidationFailed
from tests.finportal.complaints.conftest import at


def _escalations(session, complaint_id):
    rows = session.scalars(
        select(Escalation)
        .where(Escalation.object_type == "complaint", Escalation.object_id == complaint_id)
        .order_by(Escalation.level)
    ).all()
    return [(row.level, row.resolved_at is None) for row in rows]


def _notes(session, user):
    return session.scalars(
        select(Notification.title_zh)
        .where(Notification.user_id == user.id)
        .order_by(Notification.id)
    ).all()


def test_a_complaint_goes_through_every_step_with_escalation(db_session, centre, client, login):
    c = centre
    raised = complaints.raise_complaint(
        db_session,
        actor=c.actor(c.sme),
        kind="complaint",
        about="bank",
        theme="response_time",
        title="银行迟迟不反馈",
        body="推荐已经一周，银行没有任何答复。",
        bank_id=c.bank.id,
        now=at(7, 10),  # Monday
    )
    assert raised.number == f"TS-20261207-{raised.id:06d}"
    assert raised.ack_due_at == at(8, 10)  # 1 working day
    assert raised.answer_due_at == at(14, 10)  # 5 working days: over the weekend
    assert "新投诉待受理" in _notes(db_session, c.supervisor)[-1]

    # 预警: the acknowledgement deadline passes; the supervisor is told, once.
    assert escalation.escalate_overdue(db_session, at(8, 9)) == {
        "overdue": 0,
        "escalated": 0,
        "resolved": 0,
    }
    first = escalation.escalate_overdue(db_session, at(8, 10, 30))
    assert first["escalated"] == 1
    assert _escalations(db_session, raised.id) == [(1, True)]
    told = _notes(db_session, c.supervisor)
    assert told[-1] == "超时预警：1 项工作已升级给您"
    assert escalation.escalate_overdue(db_session, at(8, 10, 30))["escalated"] == 0
    assert _notes(db_session, c.supervisor) == told  # idempotent: nobody is told twice
    # Two working days after the deadline the head is told (not before).
    assert escalation.escalate_overdue(db_session, at(10, 9))["escalated"] == 0
    assert _notes(db_session, c.head) == []
    assert escalation.escalate_overdue(db_session, at(10, 10, 30))["escalated"] == 1
    assert _escalations(db_session, raised.id) == [(1, True), (2, True)]
    assert _notes(db_session, c.head) == ["超时预警：1 项工作已升级给您"]

    # 受理 and 交办: the supervisor acknowledges and assigns; the ladder stands down.
    complaints.acknowledge(db_session, raised.id, actor=c.actor(c.supervisor), now=at(10, 11))
    assert escalation.escalate_overdue(db_session, at(10, 11, 30))["resolved"] == 2
    assert _escalations(db_session, raised.id) == [(1, False), (2, False)]
    assignment.assign_complaint(
        db_session, raised.id, actor=c.actor(c.supervisor), advisor_id=c.advisor.id
    )
    assert _notes(db_session, c.advisor)[-1] == f"交办给您的诉求 {raised.number}"

    # 办理: the advisor answers; 评价: the SME is unhappy and reopens it, once.
    complaints.answer(
        db_session, raised.id, actor=c.actor(c.advisor), text="已督促银行。", now=at(11, 15)
    )
    with pytest.raises(ValidationFailed):  # reopening needs an unsatisfied rating
        complaints.rate(db_session, raised.id, actor=c.actor(c.sme), stars=4, reopen=True)
    db_session.rollback()
    complaints.rate(
        db_session,
        raised.id,
        actor=c.actor(c.sme),
        stars=1,
        comment="银行仍未联系我。",
        reopen=True,
        now=at(14, 9),
    )
    reopened = db_session.get(Complaint, raised.id)
    assert reopened.state == "reopened"
    assert reopened.first_answer == "已督促银行。" and reopened.first_stars == 1
    assert reopened.answer_due_at == at(21, 9)

    # The new answer deadline is missed: the supervisor is told again, for this deadline.
    again = escalation.escalate_overdue(db_session, at(21, 10))
    assert again["escalated"] == 1
    assert _escalations(db_session, raised.id) == [(1, True), (2, False)]
    assert _notes(db_session, c.supervisor)[-1] == "超时预警：1 项工作已升级给您"

    complaints.answer(
        db_session,
        raised.id,
        actor=c.actor(c.advisor),
        text="银行已联系企业并约定面谈。",
        now=at(22, 10),
    )
    assert db_session.get(Complaint, raised.id).state == "reanswered"
    with pytest.raises(InvalidTransition):  # reopened once only
        complaints.rate(
            db_session, raised.id, actor=c.actor(c.sme), stars=1, comment="还是不行", reopen=True
        )
    db_session.rollback()
    complaints.rate(
        db_session, raised.id, actor=c.actor(c.sme), stars=4, comment="谢谢。", now=at(22, 12)
    )
    closed = db_session.get(Complaint, raised.id)
    assert (closed.state, closed.stars, closed.closed_at) == ("closed", 4, at(22, 12))
    assert escalation.escalate_overdue(db_session, at(23, 10))["resolved"] == 1

    steps = db_session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.object_type == "complaint", AuditEvent.object_id == raised.id)
        .order_by(AuditEvent.id)
    ).all()
    assert steps == [
        "complaint.raised",
        "complaint.escalated",
        "complaint.escalated",
        "complaint.acknowledged",
        "complaint.assigned",
        "complaint.answered",
        "complaint.reopened",
        "complaint.escalated",
        "complaint.reanswered",
        "complaint.closed",
    ]

    # 分析: the bank's row counts it, with its times and its rating.
    rows = {row[0]: row for row in complaint_tables(db_session)["complaints_by_bank"].rows}
    row = rows[c.bank.name_zh]
    assert row[1:5] == [1, 1, 0, 0]  # raised, complaints, suggestions, open
    assert row[5] == pytest.approx(73.0)  # Mon 10:00 -> Thu 11:00
    assert row[6] == pytest.approx(360.0)  # to the answer that stood, Tue 22 10:00
    assert row[7:11] == [1, 4.0, 0, 1]  # rated, average stars, unsatisfied, reopened
    assert row[11] == "办理时效"
    login(c.supervisor)
    page = client.get("/advisor/dashboard")
    assert page.status_code == 200
    assert "诉求：按银行" in page.text and c.bank.name_zh in page.text


def test_an_unrated_answer_is_closed_after_ten_working_days_once(db_session, centre):
    c = centre
    raised = complaints.raise_complaint(
        db_session,
        actor=c.actor(c.bank_user),
        kind="suggestion",
        about="portal",
        theme="portal_use",
        title="希望增加批量导出",
        body="希望收件箱可以批量导出。",
        now=at(1, 9),
    )
    assert raised.number.startswith("JY-20261201-")
    complaints.acknowledge(db_session, raised.id, actor=c.actor(c.supervisor), now=at(1, 10))
    complaints.answer(
        db_session, raised.id, actor=c.actor(c.supervisor), text="已列入计划。", now=at(1, 11)
    )
    assert complaints.close_unrated(db_session, at(14, 11)) == {"closed": 0}  # 9 working days
    assert complaints.close_unrated(db_session, at(15, 11)) == {"closed": 1}
    assert complaints.close_unrated(db_session, at(16, 11)) == {"closed": 0}
    closed = db_session.get(Complaint, raised.id)
    assert (closed.state, closed.stars) == ("closed", None)  # not rated, not "satisfied"


def test_the_escalation_command_acts_at_the_time_it_is_given(app, db_session, centre):
    complaints.raise_complaint(
        db_session,
        actor=centre.actor(centre.sme),
        kind="complaint",
        about="centre",
        theme="attitude",
        title="电话无人接听",
        body="工作时间打了三次电话都无人接听。",
        now=at(7, 10),
    )
    runner = app.test_cli_runner()
    early = runner.invoke(args=["escalations", "run", "--now", "2026-12-08T09:00+08:00"])
    assert early.exit_code == 0, early.output
    assert "escalated=0" in early.output
    late = runner.invoke(args=["escalations", "run", "--now", "2026-12-10T10:30+08:00"])
    assert late.exit_code == 0, late.output
    assert "escalated=2" in late.output  # both rungs at once: two working days late
    again = runner.invoke(args=["escalations", "run", "--now", "2026-12-10T10:30+08:00"])
    assert "escalated=0" in again.output
    bad = runner.invoke(args=["escalations", "run", "--now", "2026-12-10 10:30"])
    assert bad.exit_code != 0 and "zone" in bad.output


def test_the_hourly_task_is_registered():
    from finportal import jobs

    task, interval = jobs.PERIODIC["escalations"]
    assert interval == 3600


def test_a_duty_is_given_by_the_command_and_audited(app, db_session, centre):
    runner = app.test_cli_runner()
    given = runner.invoke(args=["escalations", "duty", centre.advisor.username, "supervisor"])
    assert given.exit_code == 0, given.output
    db_session.refresh(centre.advisor)
    assert centre.advisor.duty == "supervisor"
    refused = runner.invoke(args=["escalations", "duty", centre.sme.username, "head"])
    assert refused.exit_code != 0 and "Only advisors" in refused.output
    taken = runner.invoke(args=["escalations", "duty", centre.advisor.username, "none"])
    assert taken.exit_code == 0
    db_session.refresh(centre.advisor)
    assert centre.advisor.duty is None
    changes = db_session.scalars(
        select(AuditEvent.data)
        .where(AuditEvent.action == "user.duty_changed", AuditEvent.object_id == centre.advisor.id)
        .order_by(AuditEvent.id)
    ).all()
    assert changes == [{"from": None, "to": "supervisor"}, {"from": "supervisor", "to": None}]
