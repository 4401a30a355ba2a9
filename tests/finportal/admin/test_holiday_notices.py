"""The State Council's holiday notices, loaded into the table that deadlines count with."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import delete, select

from finportal.models import AuditEvent, Holiday
from finportal.services import reference_data, workdays


def _empty_table(db_session):
    db_session.execute(delete(Holiday))
    db_session.commit()


def test_loading_the_2026_notice_moves_deadlines_around_the_spring_festival(db_session):
    _empty_table(db_session)
    # Without the notice, Friday 13 Feb 2026 10:00 + 2 working days is Tuesday the 17th.
    friday = datetime(2026, 2, 13, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    assert workdays.deadline(db_session, friday, 2).date() == date(2026, 2, 17)

    assert reference_data.load_official_holidays(db_session, actor_id=None) == {
        "added": len(reference_data.official_days()),
        "kept": 0,
    }
    # Saturday the 14th is worked (调休上班); 15–23 Feb are off (春节).
    assert workdays.deadline(db_session, friday, 1).date() == date(2026, 2, 14)
    assert workdays.deadline(db_session, friday, 2).date() == date(2026, 2, 24)
    table = workdays.holiday_table(db_session)
    assert [d for d in table if d.year == 2026 and d.month == 10 and not table[d]] == [
        date(2026, 10, d) for d in range(1, 8)
    ]
    assert table[date(2026, 10, 10)] is True and table[date(2026, 1, 4)] is True

    # Loading again adds nothing and keeps what an admin changed.
    spring = db_session.scalar(select(Holiday).where(Holiday.day == date(2026, 2, 23)))
    spring.name = "春节（本中心）"
    db_session.commit()
    again = reference_data.load_official_holidays(db_session, actor_id=None)
    assert again["added"] == 0 and again["kept"] == len(reference_data.official_days())
    assert db_session.get(Holiday, spring.id).name == "春节（本中心）"


def test_the_admin_page_loads_the_notices_and_says_which_year_is_missing(
    client, db_session, create_user, login
):
    _empty_table(db_session)
    admin = create_user("admin")
    login(admin)
    this_year = workdays.today_local().year
    page = client.get("/admin/holidays")
    assert f"{this_year} 年的节假日还未录入" in page.text
    assert "国务院办公厅关于2026年部分节假日安排的通知" in page.text

    answer = client.post("/admin/holidays/load", follow_redirects=True)
    assert answer.status_code == 200
    assert "已载入国务院通知中的" in answer.text
    year_2026 = client.get("/admin/holidays?year=2026").text
    assert "2026-02-15" in year_2026 and "春节调休上班" in year_2026
    assert "2026 年的节假日还未录入" not in year_2026
    event = db_session.scalar(
        select(AuditEvent)
        .where(AuditEvent.action == "holiday.loaded")
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    assert event is not None and event.actor_id == admin.id and 2026 in event.data["years"]


def test_at_new_year_in_shanghai_the_page_opens_on_the_new_year(
    client, db_session, create_user, login, time_machine
):
    # 31 Dec 16:30 UTC is 1 Jan 00:30 in Shanghai: the district's new year has begun, so the
    # page shows the new year and warns about it and the next (not the UTC year that ends).
    time_machine.move_to(datetime(2026, 12, 31, 16, 30, tzinfo=UTC), tick=False)
    _empty_table(db_session)
    login(create_user("admin"))
    page = client.get("/admin/holidays").text
    assert "节假日与调休（2027 年）" in page
    assert "2027 年的节假日还未录入" in page and "2028 年的节假日还未录入" in page
    assert "2026 年的节假日还未录入" not in page


def test_the_cli_loads_one_year(app, db_session):
    _empty_table(db_session)
    result = app.test_cli_runner().invoke(args=["reference", "holidays", "--year", "2026"])
    assert result.exit_code == 0, result.output
    assert "added" in result.output
    years = {d.year for d in db_session.scalars(select(Holiday.day))}
    assert years == {2026}
