"""Admins list audit events and filter them by actor, action, object and date."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from finportal.models import AuditEvent


def _event(db_session, **values):
    event = AuditEvent(**{"object_type": "application", "object_id": 1, **values})
    db_session.add(event)
    return event


def test_filters_by_actor_action_object_and_dates(client, db_session, create_user, login):
    admin = create_user("admin")
    advisor = create_user("advisor")
    _event(
        db_session,
        actor_id=advisor.id,
        action="application.referred",
        object_id=7,
        at=datetime(2026, 3, 2, 2, 0, tzinfo=UTC),
        reason="推荐给银行A",
    )
    _event(
        db_session,
        actor_id=advisor.id,
        action="application.rejected",
        object_id=8,
        at=datetime(2026, 3, 5, 2, 0, tzinfo=UTC),
    )
    _event(
        db_session,
        actor_id=None,
        action="product.policy_push",
        object_type="product",
        object_id=3,
        at=datetime(2026, 3, 1, 16, 30, tzinfo=UTC),
    )  # 2 March in Shanghai
    db_session.commit()
    login(admin)

    def shown(query):
        response = client.get("/admin/audit" + query)
        assert response.status_code == 200, response.text
        # the actions listed in the table (the filter's suggestions list them all)
        return (
            " ".join(re.findall(r'data-action="([^"]+)"', response.text))
            + ("" if "共 2 条" not in response.text else " 共 2 条")
            + (f" {advisor.username}" if advisor.username in response.text else "")
        )

    everything = shown("")
    assert "application.referred" in everything and "product.policy_push" in everything
    by_actor = shown(f"?actor={advisor.username}")
    assert "application.referred" in by_actor and "product.policy_push" not in by_actor
    assert advisor.username in by_actor
    system = shown("?actor=system")
    assert "product.policy_push" in system and "application.referred" not in system
    by_action = shown("?action=application.")
    assert "application.rejected" in by_action and "product.policy_push" not in by_action
    by_object = shown("?object_type=application&object_id=8")
    assert "application.rejected" in by_object and "application.referred" not in by_object
    # Shanghai calendar days, inclusive
    on_2nd = shown("?date_from=2026-03-02&date_to=2026-03-02")
    assert "application.referred" in on_2nd and "product.policy_push" in on_2nd
    assert "application.rejected" not in on_2nd
    assert "共 2 条" in on_2nd


def test_bad_filters_are_shown_beside_the_fields(client, create_user, login):
    login(create_user("admin"))
    response = client.get("/admin/audit?object_id=abc")
    assert response.status_code == 422
    assert "请填写整数" in response.text
    assert 'value="abc"' in response.text
    backwards = client.get("/admin/audit?date_from=2026-03-05&date_to=2026-03-01")
    assert backwards.status_code == 422
    assert "结束日期不能早于开始日期" in backwards.text


def test_the_list_is_paginated_newest_first(client, db_session, create_user, login):
    login(create_user("admin"))
    for i in range(60):
        _event(
            db_session,
            actor_id=None,
            action=f"test.page{i:02d}",
            at=datetime(2026, 1, 1, 0, i, tzinfo=UTC),
        )
    db_session.commit()
    first = client.get("/admin/audit?action=test.").text
    assert "共 60 条，第 1 / 2 页" in first
    assert 'data-action="test.page59"' in first and 'data-action="test.page05"' not in first
    assert "action=test." in first and "page=2" in first
    second = client.get("/admin/audit?action=test.&page=2").text
    assert 'data-action="test.page05"' in second and 'data-action="test.page59"' not in second


def test_admin_changes_show_up_in_the_audit_list(client, create_user, login):
    admin = create_user("admin")
    login(admin)
    client.post("/admin/holidays", data={"day": "2026-05-01", "name": "劳动节"})
    page = client.get("/admin/audit?action=holiday.").text
    assert 'data-action="holiday.added"' in page and admin.username in page
    assert "新增节假日" in page


def test_events_read_as_words_with_their_data_as_a_table(client, db_session, create_user, login):
    """Labels, not codes: the step, the subject, the states, the user's name and data keys."""
    admin = create_user("admin", display_name="王管理")
    advisor = create_user("advisor", display_name="李顾问")
    _event(
        db_session,
        actor_id=advisor.id,
        action="application.in_review",
        from_state="screened",
        to_state="in_review",
        object_id=7,
        data={
            "amount": "500000",
            "employees": 12,
            "bank_id": 3,
            "due_at": "2026-12-07T09:31:23.292839+00:00",
        },
    )
    _event(
        db_session,
        actor_id=None,
        action="product.policy_push",
        object_type="product_version",
        object_id=4,
        data={"notified": 3},
    )
    db_session.commit()
    login(admin)
    page = client.get("/admin/audit").text
    body = page.split("<h1>", 1)[1]
    # the step by the application machine's own words, both states by their titles
    assert "服务中心受理" in body and "融资申请 #7" in body
    assert "已初筛 → 审核中" in body
    assert "screened" not in body.replace('data-action="', "")
    assert "政策找企业推送" in body and "产品版本 #4" in body
    assert f"李顾问（{advisor.username}）" in body
    # data keys by the one label table and by the profile fields' definition
    assert '<th scope="row">金额</th>' in body
    assert '<th scope="row">从业人员数</th>' in body
    assert '<th scope="row">银行编号</th>' in body


def test_every_event_the_portal_records_has_words():
    """Each action and object type written in the code has a label (no code on the page)."""
    from pathlib import Path

    from finportal.domain.states import MACHINES
    from finportal.services import labels

    root = Path(__file__).resolve().parents[3] / "finportal"
    text = "\n".join(p.read_text("utf-8") for p in root.rglob("*.py"))
    actions = set(re.findall(r'action="([a-z_]+\.[a-z_]+)"', text))
    types = set(re.findall(r'object_type="([a-z_]+)"', text))
    missing = []
    for action in sorted(actions):
        kind, _, target = action.partition(".")
        machine = MACHINES.get(kind)
        if action in labels.ACTION_LABELS:
            continue
        if machine is not None and target in {s.value for s in machine.states}:
            continue
        missing.append(action)
    assert not missing, f"actions without words in services/labels.ACTION_LABELS: {missing}"
    unnamed = sorted(t for t in types if t not in labels.OBJECT_LABELS)
    assert not unnamed, f"object types without words in labels.OBJECT_LABELS: {unnamed}"


def test_the_filter_suggests_every_action_and_object_once_in_order(db_session):
    """The suggestions step through the index value by value (a recursive query) instead of
    reading every event: the same list as ``SELECT DISTINCT``, on either engine."""
    from sqlalchemy import select

    from finportal.services.audit_log import audit_choices

    for n, (action, kind) in enumerate(
        [("b.two", "need"), ("a.one", "product"), ("b.two", "application"), ("c.three", "need")] * 3
    ):
        _event(db_session, action=action, object_type=kind, object_id=n)
    db_session.commit()
    choices = audit_choices(db_session)
    assert choices["actions"] == ["a.one", "b.two", "c.three"]
    assert choices["object_types"] == ["application", "need", "product"]
    distinct = select(AuditEvent.action).distinct().order_by(AuditEvent.action)
    assert choices["actions"] == list(db_session.scalars(distinct))
