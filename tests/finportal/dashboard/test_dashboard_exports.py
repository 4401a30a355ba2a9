"""The dashboard's Excel files read like the page: shares in percent, times in Beijing time."""

from __future__ import annotations

import io
from datetime import timedelta

from openpyxl import load_workbook

from tests.finportal.dashboard.test_dashboard import T0, hand_counted  # noqa: F401 - fixture


def _sheet(client, key):
    response = client.get(f"/advisor/dashboard/{key}.xlsx")
    assert response.status_code == 200, key
    return load_workbook(io.BytesIO(response.data)).active


def test_shares_are_percent_and_times_are_beijing_time(client, create_user, login, hand_counted):  # noqa: F811
    login(create_user("advisor"))
    page = client.get("/advisor/dashboard").text
    # The funnel's share column: 75.0% on the page, 0.75 shown as 75.0% in the file.
    assert "75.0%" in page
    funnel = _sheet(client, "funnel")
    screened = next(row for row in funnel.iter_rows(min_row=2) if row[0].value == "已初筛")
    assert screened[2].value == 0.75 and screened[2].number_format == "0.0%"
    banks = _sheet(client, "approval_by_bank")
    assert {
        row[5].number_format for row in banks.iter_rows(min_row=2) if row[5].value is not None
    } == {"0.0%"}
    # a3's first response was due 24 h after screening at T0 (01:00 UTC = 09:00 in Beijing).
    breaches = _sheet(client, "breaches")
    advisor = next(row for row in breaches.iter_rows(min_row=2) if row[0].value == "顾问首次响应")
    due_utc = T0 + timedelta(hours=24)
    assert advisor[3].value == due_utc.replace(tzinfo=None) + timedelta(hours=8)
    assert advisor[3].number_format == "yyyy-mm-dd hh:mm"
