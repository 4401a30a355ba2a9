"""The profile: validation in Chinese, 万元 to yuan, size class, completeness, matches, Excel."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from finportal.domain import fields as profile_fields
from finportal.models import AuditEvent, Park
from finportal.services import enterprises, matches, profile_excel, profile_form
from finportal.services.errors import NotFound, ValidationFailed

pytestmark = pytest.mark.db


def _full(**overrides):
    data = {"name": "上海测试有限公司", "revenue_last_year": "3000", "employees": "60"}
    data.update(overrides)
    return data


def test_money_is_typed_in_wan_and_stored_in_yuan():
    data = profile_form.validate_profile(
        _full(revenue_last_year="1,234.5678", net_profit_last_year="-12.5", total_assets="0")
    )
    assert data["revenue_last_year"] == Decimal("12345678.00")
    assert data["net_profit_last_year"] == Decimal("-125000.00")
    assert data["total_assets"] == Decimal("0.00")
    assert data["revenue_prev_year"] is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("revenue_last_year", "-1", "不能为负数"),
        ("revenue_last_year", "1000000000000000", "数值过大"),
        ("revenue_last_year", "三千万", "请输入数字"),
        ("revenue_last_year", "NaN", "请输入数字"),
        ("revenue_last_year", "1.0000001", "最多保留6位小数"),
        ("employees", "六十", "请输入整数"),
        ("employees", "12.5", "请输入整数"),
        ("employees", "-1", "0 至"),
        ("employees", "1000000000000000", "0 至"),
        ("registered_on", "2020/13/45", "年-月-日"),
        ("registered_on", "2020年2月30日", "2025年10月1日"),
        ("registered_on", "1850-01-01", "日期须在"),
        ("registered_on", "2999-01-01", "不能晚于今天"),
        ("district_code", "31011", "6位数字"),
        ("industry_code", "C39", "请从列表中选择"),
        ("industry_code", "99", "请从列表中选择"),
        ("tax_credit_grade", "E", "A、B、M、C 或 D"),
        ("has_bank_loan_history", "也许", "是"),
        ("certifications", ["tech_sme", "nobel"], "未知的资质"),
        ("name", "", "企业名称"),
        ("name", "名" * 201, "不超过 200 个字"),
    ],
)
def test_bad_input_gets_a_chinese_message_beside_the_field(field, value, message):
    with pytest.raises(ValidationFailed) as info:
        profile_form.validate_profile(_full(**{field: value}))
    assert message in info.value.fields[field], info.value.fields


def test_cross_field_checks():
    with pytest.raises(ValidationFailed) as info:
        profile_form.validate_profile(
            _full(
                employees="10",
                social_insured_employees="11",
                overdue_count_24m="0",
                max_overdue_days_24m="30",
            )
        )
    assert set(info.value.fields) == {"social_insured_employees", "max_overdue_days_24m"}


def test_update_profile_audits_what_changed(db_session, sme):
    park = db_session.scalar(select(Park)) or Park(code="p-test", name_zh="测试园区")
    db_session.add(park)
    db_session.commit()
    enterprise = sme.enterprise
    values = profile_form.form_values(enterprise)
    values.update(revenue_last_year="4000", park_codes=[park.code], name="<b>新名称</b>")
    data = profile_form.validate_profile({k: v for k, v in values.items() if k != "uscc"})
    changed = profile_form.update_profile(
        db_session, actor_id=sme.id, enterprise_id=enterprise.id, data=data
    )
    # Memberships are not the SME's to declare: the posted park is ignored.
    assert set(changed) == {"revenue_last_year", "name"}
    assert enterprise.revenue_last_year == Decimal("40000000.00")
    assert enterprise.name == "<b>新名称</b>"
    assert list(enterprise.memberships) == []
    event = db_session.scalar(
        select(AuditEvent).where(AuditEvent.action == "enterprise.profile_updated")
    )
    assert (event.object_id, event.actor_id) == (enterprise.id, sme.id)
    assert set(event.data["fields"]) == set(changed)
    # Saving the same values again changes nothing and records nothing.
    assert (
        profile_form.update_profile(
            db_session, actor_id=sme.id, enterprise_id=enterprise.id, data=data
        )
        == []
    )


def test_memberships_are_set_by_the_centre_not_the_profile(db_session, sme):
    park = db_session.scalar(select(Park)) or Park(code="p-test", name_zh="测试园区")
    db_session.add(park)
    db_session.commit()
    assert "park_codes" not in profile_form.validate_profile(_full(park_codes=[park.code]))
    changed = enterprises.set_memberships(
        db_session,
        actor_id=None,
        enterprise_id=sme.enterprise_id,
        park_codes=[park.code],
        chamber_codes=[],
    )
    assert changed == ["park_codes"]
    assert [m.park_id for m in sme.enterprise.memberships] == [park.id]
    assert db_session.scalar(
        select(AuditEvent).where(AuditEvent.action == "enterprise.memberships_confirmed")
    )


def test_unknown_park_is_refused(db_session, sme):
    with pytest.raises(ValidationFailed) as info:
        enterprises.set_memberships(
            db_session,
            actor_id=None,
            enterprise_id=sme.enterprise_id,
            park_codes=["no-such-park"],
            chamber_codes=[],
        )
    assert "no-such-park" in info.value.fields["park_codes"]


def test_no_enterprise_is_not_found(db_session):
    with pytest.raises(NotFound):
        enterprises.get_enterprise(db_session, None)
    with pytest.raises(NotFound):
        enterprises.get_enterprise(db_session, 987654)


def test_size_class_with_its_rule(create_enterprise):
    # 软件和信息技术服务业: small >= 10 staff and >= 50 万元, medium >= 100 staff and >= 1000 万元.
    small = enterprises.size_class_of(create_enterprise(industry_code="65", employees=60))
    assert small["code"] == "small"
    assert small["label"] == "小型企业"
    assert "软件和信息技术服务业" in small["rule"]
    unknown = enterprises.size_class_of(create_enterprise(industry_code=None))
    assert unknown["code"] is None
    assert "行业" in unknown["rule"]


def test_completeness_names_the_products_a_missing_field_blocks(
    db_session, create_enterprise, published_catalog
):
    full = profile_form.completeness(db_session, create_enterprise())
    assert full.percent == 100
    assert full.missing == []
    partial = profile_form.completeness(
        db_session, create_enterprise(tax_credit_grade=None, registered_on=None)
    )
    assert partial.percent < 100
    assert {"tax_credit_grade", "registered_on"} <= set(partial.missing)
    assert "信易贷" in partial.blocking["tax_credit_grade"]
    # The start-up loan asks for the new hires (财金〔2020〕21号), not the firm's age.
    assert "创业担保贷款" not in partial.blocking.get("registered_on", [])
    assert "创业担保贷款" in partial.blocking["qualifying_new_hires"]
    assert "qualifying_new_hires" not in full.missing  # optional in the meter


def test_new_hires_are_a_count_no_larger_than_the_staff(
    db_session, create_enterprise, published_catalog
):
    with pytest.raises(ValidationFailed) as info:
        profile_form.validate_profile(_full(employees="10", qualifying_new_hires="11"))
    assert info.value.fields == {"qualifying_new_hires": "新招用人数不能多于从业人员数。"}
    data = profile_form.validate_profile(_full(employees="60", qualifying_new_hires="9"))
    assert data["qualifying_new_hires"] == 9
    assert profile_fields.field("qualifying_new_hires").unit_label("zh_CN") == "人"
    assert (
        profile_fields.label("qualifying_new_hires") == "当年新招用符合创业担保贷款申请条件的人员数"
    )
    # 9 of 60 staff is 15 %: the start-up guarantee loan's new-hire test passes.
    hired = create_enterprise(qualifying_new_hires=9, employees=60)
    few = create_enterprise(qualifying_new_hires=8, employees=60)

    def startup(enterprise):
        found = matches.match_products(db_session, enterprise.id)
        return next(m for m in found if m.code == "startup_guarantee")

    assert startup(hired).eligible
    assert not startup(few).eligible
    assert any("15%" in text for text in startup(few).failed)


def test_matches_rank_eligible_by_net_cost_and_explain_the_rest(
    db_session, create_enterprise, published_catalog
):
    enterprise = create_enterprise()
    results = matches.match_products(db_session, enterprise.id)
    eligible = [r for r in results if r.eligible]
    others = [r for r in results if not r.eligible]
    assert eligible and others
    assert results[: len(eligible)] == eligible, "eligible first"
    rates = [r.quote.net_annual_cost_rate for r in eligible if r.quote]
    assert rates == sorted(rates)
    assert all(r.failed or r.unknown or r.by_others for r in others)
    typed = matches.match_products(
        db_session, enterprise.id, amount=Decimal("2000000.00"), term_months=12
    )
    quoted = [r for r in typed if r.eligible and r.quote]
    assert quoted
    assert all(r.quote.amount == Decimal("2000000.00") for r in quoted)
    assert all(r.quote.term_months == 12 for r in quoted)


# --- Excel ----------------------------------------------------------------------------------


def _sheet_rows(content):
    sheet = load_workbook(io.BytesIO(content))[profile_excel.IMPORT_SHEET]
    return sheet


def _edited(content, changes):
    book = load_workbook(io.BytesIO(content))
    sheet = book[profile_excel.IMPORT_SHEET]
    rows = {sheet.cell(row=r, column=1).value: r for r in range(2, sheet.max_row + 1)}
    for key, value in changes.items():
        if key.startswith("+"):
            sheet.append([key[1:], "", "", value])
        else:
            sheet.cell(row=rows[key], column=4).value = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), rows


def test_template_holds_every_editable_field_with_current_values(db_session, sme):
    content = profile_excel.excel_template(db_session, sme.enterprise_id)
    sheet = _sheet_rows(content)
    assert tuple(c.value for c in sheet[1]) == profile_excel.HEADER
    keys = [sheet.cell(row=r, column=1).value for r in range(2, sheet.max_row + 1)]
    assert keys == list(profile_form.EDITABLE_FIELDS)
    values = {
        sheet.cell(row=r, column=1).value: sheet.cell(row=r, column=4).value
        for r in range(2, sheet.max_row + 1)
    }
    assert values["revenue_last_year"] == "3000"  # 30,000,000 yuan in 万元
    assert values["certifications"] == "科技型中小企业，高新技术企业"
    assert values["serious_bad_credit_24m"] == "否"


def test_import_saves_a_valid_file(db_session, sme):
    content = profile_excel.excel_template(db_session, sme.enterprise_id)
    edited, _rows = _edited(
        content,
        {
            "revenue_last_year": 4500.5,
            "employees": 80,
            "tax_credit_grade": "B",
            "certifications": "专精特新企业",
            "has_bank_loan_history": "是",
            "trademarks": None,
        },
    )
    changed = profile_excel.import_profile(
        db_session,
        actor_id=sme.id,
        enterprise_id=sme.enterprise_id,
        filename="资料.xlsx",
        content=edited,
    )
    enterprise = sme.enterprise
    assert enterprise.revenue_last_year == Decimal("45005000.00")
    assert enterprise.employees == 80
    assert enterprise.tax_credit_grade == "B"
    assert enterprise.certifications == ["specialized"]
    assert enterprise.has_bank_loan_history is True
    assert enterprise.trademarks == 2, "a blank cell keeps what was there"
    assert {"revenue_last_year", "employees", "tax_credit_grade", "certifications"} <= set(changed)
    assert db_session.scalar(
        select(AuditEvent).where(AuditEvent.action == "enterprise.profile_imported")
    )


def test_broken_rows_are_reported_by_row_and_cell_and_nothing_is_saved(db_session, sme):
    content = profile_excel.excel_template(db_session, sme.enterprise_id)
    edited, rows = _edited(
        content,
        {
            "revenue_last_year": "很多",
            "employees": -5,
            "registered_on": "昨天",
            "tax_credit_grade": "Z",
            "total_assets": 9000,
            "+no_such_field": "1",
        },
    )
    # A duplicate of a field already in the file.
    book = load_workbook(io.BytesIO(edited))
    book[profile_excel.IMPORT_SHEET].append(["employees", "", "", 10])
    out = io.BytesIO()
    book.save(out)
    before = (sme.enterprise.total_assets, sme.enterprise.employees)
    with pytest.raises(profile_excel.ImportFailed) as info:
        profile_excel.import_profile(
            db_session,
            actor_id=sme.id,
            enterprise_id=sme.enterprise_id,
            filename="profile.xlsx",
            content=out.getvalue(),
        )
    problems = {(p.row, p.column): p for p in info.value.problems}
    assert "请输入数字" in problems[(rows["revenue_last_year"], "D")].message
    assert "上年营业收入" in problems[(rows["revenue_last_year"], "D")].message
    assert (rows["employees"], "D") in problems
    assert (rows["registered_on"], "D") in problems
    assert (rows["tax_credit_grade"], "D") in problems
    assert any(p.column == "A" and "no_such_field" in p.message for p in info.value.problems)
    assert any(p.column == "A" and "重复" in p.message for p in info.value.problems)
    assert "未保存" in info.value.message_zh
    db_session.rollback()
    db_session.refresh(sme.enterprise)
    assert (sme.enterprise.total_assets, sme.enterprise.employees) == before
    assert not db_session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.object_type == "enterprise", AuditEvent.action.like("enterprise.profile_%")
        )
    )


def _workbook_bytes(rows, title=profile_excel.IMPORT_SHEET):
    book = Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("profile.csv", b"name,revenue\nx,1\n", ".xlsx"),
        ("profile.xls", b"\xd0\xcf\x11\xe0" + b"0" * 100, ".xlsx"),
        ("profile.xlsx", b"this is not a spreadsheet", "不是有效的 Excel"),
        ("profile.xlsx", b"PK\x03\x04broken zip", "不是有效的 Excel"),
        ("profile.xlsx", b"PK" + b"0" * (profile_excel.IMPORT_MAX_BYTES + 10), "太大"),
        ("profile.xlsx", b"", "不是有效的 Excel"),
    ],
)
def test_files_that_are_not_the_template_are_refused(db_session, sme, filename, content, message):
    with pytest.raises(profile_excel.ImportFailed) as info:
        profile_excel.import_profile(
            db_session,
            actor_id=sme.id,
            enterprise_id=sme.enterprise_id,
            filename=filename,
            content=content,
        )
    assert message in info.value.problems[0].message


def test_a_workbook_without_the_template_layout_is_refused(db_session, sme):
    cases = [
        (_workbook_bytes([["a", "b"]], title="Sheet"), "找不到工作表"),
        (_workbook_bytes([["名称", "金额"], ["x", 1]]), "表头"),
        (_workbook_bytes([list(profile_excel.HEADER)]), "没有填写任何内容"),
    ]
    for content, message in cases:
        with pytest.raises(profile_excel.ImportFailed) as info:
            profile_excel.import_profile(
                db_session,
                actor_id=sme.id,
                enterprise_id=sme.enterprise_id,
                filename="x.xlsx",
                content=content,
            )
        assert message in info.value.problems[0].message


def test_import_ignores_memberships_and_says_so(db_session, sme):
    from finportal.models import Chamber

    db_session.add_all(
        [
            Park(code="imp-park", name_zh="导入测试园区"),
            Chamber(code="imp-ch", name_zh="导入测试商会"),
        ]
    )
    db_session.commit()
    content = profile_excel.excel_template(db_session, sme.enterprise_id)
    assert "park_codes" not in _edited(content, {})[1]  # the template has no such rows
    # An older template still has them: filled in, they are ignored with a note.
    edited, _rows = _edited(
        content,
        {"+park_codes": "导入测试园区", "+chamber_codes": "imp-ch", "revenue_last_year": "4000"},
    )
    notes = []
    changed = profile_excel.import_profile(
        db_session,
        actor_id=sme.id,
        enterprise_id=sme.enterprise_id,
        filename="a.xlsx",
        content=edited,
        notes=notes,
    )
    assert changed == ["revenue_last_year"]
    assert list(sme.enterprise.memberships) == []
    assert {n.field for n in notes} == {"park_codes", "chamber_codes"}
    assert all("由园区/商会或服务中心确认" in n.message for n in notes)


def test_completeness_follows_the_profile_and_the_language_when_kept(
    db_session, create_enterprise, published_catalog
):
    """The products each empty field blocks are kept per (versions, day, language, profile):
    a firm that fills the field, or a reader in English, gets its own answer."""
    from finportal.domain.states import language

    firm = create_enterprise(tax_credit_grade=None)
    before = profile_form.completeness(db_session, firm)
    assert "信易贷" in before.blocking["tax_credit_grade"]
    assert profile_form.completeness(db_session, firm).blocking == before.blocking  # kept
    # What a caller does with its answer does not change the next one.
    before.blocking["registered_on"] = ["x"]
    assert "registered_on" not in profile_form.completeness(db_session, firm).blocking
    with language("en"):
        english = profile_form.completeness(db_session, firm)
    assert "信易贷" not in english.blocking["tax_credit_grade"]
    assert "Credit-easy loan (信易贷)" in english.blocking["tax_credit_grade"]
    firm.tax_credit_grade = "A"
    db_session.commit()
    assert "tax_credit_grade" not in profile_form.completeness(db_session, firm).blocking
