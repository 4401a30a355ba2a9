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
            " ".join(re.findall(r"<td><code>([^<]+)</code></td>", response.text))
            + ("" if "共 2 条" not in response.text else " 共 2 条")
            + (f" {advisor.username}" if f"<td>{advisor.username}</td>" in response.text else "")
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
    assert "<code>test.page59</code>" in first and "<code>test.page05</code>" not in first
    assert "action=test." in first and "page=2" in first
    second = client.get("/admin/audit?action=test.&page=2").text
    assert "<code>test.page05</code>" in second and "<code>test.page59</code>" not in second


def test_admin_changes_show_up_in_the_audit_list(client, create_user, login):
    admin = create_user("admin")
    login(admin)
    client.post("/admin/holidays", data={"day": "2026-05-01", "name": "劳动节"})
    page = client.get("/admin/audit?action=holiday.").text
    assert "holiday.added" in page and admin.username in page
