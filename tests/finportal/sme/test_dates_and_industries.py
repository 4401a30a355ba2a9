"""Dates typed as people write them, and industries shown by name (GB/T 4754-2017)."""

from __future__ import annotations

import io
from datetime import date

import pytest
import yaml

from finportal import limits
from finportal.services import profile_excel, profile_form
from products import industries
from tests.helpers import pdf_text, squash


@pytest.mark.parametrize(
    "typed",
    [
        "2018-05-20",
        "2018-5-20",
        "2018/5/20",
        "2018/05/20",
        "2018.5.20",
        "2018年5月20日",
        "2018 年 5 月 20 日",
        "2018年05月20",
        "20180520",
        " 2018－05－20 ",
    ],
)
def test_the_usual_ways_of_writing_a_day_read_as_that_day(typed):
    assert limits.parse_day(typed) == date(2018, 5, 20)


@pytest.mark.parametrize("typed", ["2018/2/30", "5/20/2018", "明天", "2018年5月", "201805201", ""])
def test_what_is_not_a_day_reads_as_none(typed):
    assert limits.parse_day(typed) is None


def test_the_profile_form_takes_a_chinese_date_and_refuses_a_wrong_one_by_name():
    from tests.finportal.sme.test_enterprises_service import _full

    values = profile_form.validate_profile(_full(registered_on="2019年6月18日"))
    assert values["registered_on"] == date(2019, 6, 18)
    with pytest.raises(profile_form.ValidationFailed) as info:
        profile_form.validate_profile(_full(registered_on="2019年13月1日"))
    assert "2025年10月1日" in info.value.fields["registered_on"]


def test_the_table_holds_every_division_of_the_classification_once():
    table = industries.divisions()
    assert list(table) == [f"{n:02d}" for n in range(1, 98)]
    assert table["39"].name() == "39 计算机、通信和其他电子设备制造业"
    assert table["65"].section == "I" and table["65"].name(english=True).startswith("65 Software")
    assert all(d.name_zh and d.name_en for d in table.values())
    assert "GB/T 4754-2017" in industries.source()
    # Every division the size-class rules map exists in the table.
    from importlib import resources

    sizes = yaml.safe_load(
        resources.files("products").joinpath("data/size_classes.yaml").read_text("utf-8")
    )
    for row in sizes["rows"]:
        assert set(row.get("divisions", [])) <= set(table), row["key"]


def test_the_profile_page_offers_industries_by_name_and_keeps_the_choice(client, login, sme):
    login(sme)
    page = client.get("/sme/profile")
    assert '<select id="f-industry_code"' in page.text
    assert ">65 软件和信息技术服务业</option>" in page.text
    assert ">39 计算机、通信和其他电子设备制造业</option>" in page.text


def test_an_excel_import_takes_an_industry_by_name(client, login, sme, db_session):
    from openpyxl import load_workbook

    login(sme)
    book = load_workbook(io.BytesIO(client.get("/sme/profile/template.xlsx").data))
    sheet = book[profile_excel.IMPORT_SHEET]
    rows = {sheet.cell(row=r, column=1).value: r for r in range(2, sheet.max_row + 1)}
    assert sheet.cell(row=rows["industry_code"], column=4).value == "65 软件和信息技术服务业"
    sheet.cell(row=rows["industry_code"], column=4).value = "计算机、通信和其他电子设备制造业"
    sheet.cell(row=rows["registered_on"], column=4).value = "2016年3月8日"
    out = io.BytesIO()
    book.save(out)
    answer = client.post(
        "/sme/profile/import",
        data={"file": (io.BytesIO(out.getvalue()), "profile.xlsx")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 302, answer.text
    db_session.refresh(sme.enterprise)
    assert sme.enterprise.industry_code == "39"
    assert sme.enterprise.registered_on == date(2016, 3, 8)


@pytest.mark.db
def test_the_packet_names_the_industry(db_session, make_loop):
    from finportal.packets import render_packet
    from finportal.services import packets as packet_service

    loop = make_loop()
    text = squash(pdf_text(render_packet(packet_service.build_context(db_session, loop.referral))))
    assert squash("65 软件和信息技术服务业") in text
