"""Demo data of the service loop (issue 15): a supervisor and the centre's head, complaints and
suggestions in every state, escalated overdue work and an approved public report.

Users are found by username and complaints by their title and raiser, so a second run adds
nothing. Times are placed in the past with the services' ``now`` so deadlines, escalations
and the dashboard's medians read as they would after a few weeks of use.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from finportal.domain.permissions import Actor
from finportal.models import Bank, Complaint, Product, PublishedReport, User, utcnow
from finportal.services import assignment, complaint_analysis, complaints, escalation
from finportal.services.accounts import hash_password, verify_password
from finportal.services.workdays import today_local

#: username -> (display name, duty)
DUTY_USERS = {
    "demo-supervisor": ("李督导（演示）", "supervisor"),
    "demo-head": ("赵主任（演示）", "head"),
}

#: (raiser, kind, about, theme, title, body, days ago, path) — the path is the steps taken:
#: "ack", "assign", "answer", "reopen", "reanswer", "close" (with stars), in order.
DEMO_COMPLAINTS: list[tuple[str, str, str, str, str, str, int, list[Any]]] = [
    (
        "demo-sme",
        "complaint",
        "bank",
        "response_time",
        "银行三个工作日未反馈（演示）",
        "推荐材料已发给银行，三个工作日没有任何联系。",
        6,
        [],
    ),
    (
        "demo-sme",
        "complaint",
        "bank",
        "fees",
        "贷款附加了咨询费（演示）",
        "客户经理要求另付一笔咨询费才能放款。",
        5,
        ["ack", "assign"],
    ),
    (
        "demo-bank",
        "suggestion",
        "portal",
        "portal_use",
        "希望收件箱可以批量下载材料包（演示）",
        "一次推荐多家企业时，逐个下载材料包很费时间。",
        9,
        ["ack", "assign", "answer"],
    ),
    (
        "demo-sme",
        "complaint",
        "product",
        "documents",
        "要求提供的材料过多（演示）",
        "首贷产品要求提供三年审计报告，小微企业难以提供。",
        12,
        ["ack", "assign", "answer", ("reopen", 2)],
    ),
    (
        "demo-bank",
        "complaint",
        "centre",
        "response_time",
        "批次名单迟迟未确认（演示）",
        "批次提交后一周仍未收到中心的确认。",
        15,
        ["ack", "assign", "answer", ("reopen", 2), "reanswer"],
    ),
    (
        "demo-recommender",
        "suggestion",
        "centre",
        "information",
        "希望举办批次贷政策说明会（演示）",
        "园区企业对批次贷的条件不清楚，希望中心来园区讲解。",
        20,
        ["ack", "assign", "answer", ("close", 5)],
    ),
    (
        "demo-sme",
        "complaint",
        "bank",
        "attitude",
        "客户经理态度不耐烦（演示）",
        "电话咨询时客户经理多次打断。",
        25,
        ["ack", "assign", "answer", ("reopen", 1), "reanswer", ("close", 4)],
    ),
]


def _duty_users(session: Session, password: str) -> dict[str, User]:
    users = {}
    for username, (display_name, duty) in DUTY_USERS.items():
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            user = User(
                username=username,
                password_hash=hash_password(password),
                role="advisor",
                display_name=display_name,
            )
            session.add(user)
        elif not verify_password(user.password_hash, password):
            user.password_hash = hash_password(password)
        user.display_name, user.duty, user.active = display_name, duty, True
        users[username] = user
    session.commit()
    return users


def seed(session: Session, context: dict[str, Any]) -> None:
    """Add the supervisor, the head, complaints in every state and a public report."""
    password = str(context["password"])
    duty = _duty_users(session, password)
    users: dict[str, User] = {**context["users"], **duty}  # type: ignore[dict-item]
    supervisor = Actor.of(duty["demo-supervisor"])
    advisor = users["demo-advisor"]
    bank = session.scalar(select(Bank).where(Bank.code == "demo_bank_a"))
    product = session.scalar(select(Product).where(Product.code == "first_loan"))
    now = utcnow()
    for raiser, kind, about, theme, title, body, days_ago, path in DEMO_COMPLAINTS:
        user = users[raiser]
        if session.scalar(
            select(Complaint.id).where(Complaint.raised_by_id == user.id, Complaint.title == title)
        ):
            continue
        at = now - timedelta(days=days_ago)
        raised = complaints.raise_complaint(
            session,
            actor=Actor.of(user),
            kind=kind,
            about=about,
            theme=theme,
            title=title,
            body=body,
            bank_id=bank.id if about == "bank" and bank else None,
            product_id=product.id if about == "product" and product else None,
            now=at,
        )
        for step in path:
            name, stars = step if isinstance(step, tuple) else (step, None)
            at += timedelta(hours=20)
            if name == "ack":
                complaints.acknowledge(session, raised.id, actor=supervisor, now=at)
            elif name == "assign":
                assignment.assign_complaint(
                    session, raised.id, actor=supervisor, advisor_id=advisor.id
                )
            elif name in ("answer", "reanswer"):
                complaints.answer(
                    session,
                    raised.id,
                    actor=Actor.of(advisor),
                    text="已联系相关方核实，处理意见如下：……（演示）",
                    now=at,
                )
            else:
                complaints.rate(
                    session,
                    raised.id,
                    actor=Actor.of(user),
                    stars=int(stars or 3),
                    comment="仍未解决。" if name == "reopen" else "问题已解决，谢谢。",
                    reopen=name == "reopen",
                    now=at,
                )
    escalation.escalate_overdue(session)
    if not session.scalar(select(PublishedReport.id).limit(1)):
        today = today_local()
        report = complaint_analysis.prepare_report(
            session, actor=supervisor, start=today - timedelta(days=30), end=today
        )
        complaint_analysis.approve_report(session, report.id, actor=Actor.of(duty["demo-head"]))
