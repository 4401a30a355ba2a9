"""The push commands: run, deadline reminders and the what-if benchmark (issue 13)."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from finportal.models import Chamber, Enterprise, Notification, Park


def test_push_run_tells_qualifying_firms_once(
    app, db_session, create_enterprise, published_catalog
):
    firm = create_enterprise(invention_patents=2)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["push", "run"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["new"] >= 1
    told = db_session.scalar(
        select(func.count()).select_from(Notification).where(Notification.enterprise_id == firm.id)
    )
    assert told >= 1
    again = runner.invoke(args=["push", "run"])
    assert json.loads(again.output)["new"] == 0


def test_push_deadlines_on_a_day_of_the_window(
    app, db_session, create_enterprise, published_catalog
):
    from datetime import timedelta

    from finportal.services import catalog

    create_enterprise(certifications=["tech_sme"])
    window = catalog.product_of(published_catalog[1]["tech_performance"]).application_window
    day = (window.closes_on - timedelta(days=1)).isoformat()
    result = app.test_cli_runner().invoke(args=["push", "deadlines", "--today", day])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["products"] == ["tech_performance"] and data["reminded"] >= 1


def test_push_bench_fills_and_times_the_what_if(app, db_session, published_catalog):
    db_session.add_all(
        [Park(code="bench_park", name_zh="园区"), Chamber(code="bench_ch", name_zh="商会")]
    )
    db_session.commit()
    result = app.test_cli_runner().invoke(
        args=["push", "bench", "--enterprises", "30", "--fill", "--repeat", "1", "--json"]
    )
    assert result.exit_code == 0, result.output
    numbers = json.loads(result.output)
    assert numbers["enterprises"] == 30 and numbers["loaded_rows"] == 30
    assert numbers["what_if_s_median"] > 0
    assert numbers["eligible_after"] <= numbers["eligible_before"]  # the draft asks more
    assert numbers["push_again_notices"] == 0
    assert db_session.scalar(select(func.count()).select_from(Enterprise)) == 30
