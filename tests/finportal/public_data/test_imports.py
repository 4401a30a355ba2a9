"""What an import stores: only authorised firms, only the scope, never half a file."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from finportal.models import DataImport, Enterprise, VerifiedFact
from finportal.services import consents, profiles
from finportal.services.public_data import authorisations, connectors, imports
from finportal.services.workdays import today_local
from tests.finportal.public_data.conftest import csv_bytes, xlsx_bytes

pytestmark = pytest.mark.db

HEADER = [
    "统一社会信用代码",
    "数据截至日期",
    "纳税信用等级",
    "上年纳税总额（元）",
    "上年开票收入（元）",
]


def _facts(session, firm):
    return {
        f.item: (f.value, f.as_of)
        for f in session.scalars(
            select(VerifiedFact)
            .where(VerifiedFact.enterprise_id == firm.id)
            .order_by(VerifiedFact.item)
        )
    }


def test_only_authorised_firms_and_items_in_scope_are_stored(
    db_session, create_enterprise, authorise, import_file
):
    scoped = create_enterprise()
    unasked = create_enterprise()
    authorise(scoped, "tax", scope=["tax_credit_grade"])
    record = import_file(
        "tax",
        csv_bytes(
            [
                HEADER,
                [scoped.uscc, "2026-10-31", "B", "300000", "9000000"],
                [unasked.uscc, "2026-10-31", "A", "300000", "9000000"],
                ["91350100M000100Y43", "2026-10-31", "A", "1", "1"],  # valid, not on the portal
            ]
        ),
    )
    assert record.state == "done"
    assert (
        record.counts["stored"],
        record.counts["no_authorisation"],
        record.counts["unknown_firm"],
    ) == (1, 1, 1)
    assert _facts(db_session, scoped) == {"tax_credit_grade": ("B", date(2026, 10, 31))}
    assert _facts(db_session, unasked) == {}


def test_a_second_run_changes_nothing_and_older_data_never_replaces_newer(
    db_session, create_enterprise, authorise, import_file
):
    firm = create_enterprise()
    authorise(firm, "tax")
    first = import_file("tax", csv_bytes([HEADER, [firm.uscc, "2026-10-31", "A", "500000", ""]]))
    assert _facts(db_session, firm)["tax_paid_yuan"] == ("500000.00", date(2026, 10, 31))

    imports.run_import(db_session, import_id=first.id)  # a retry after it finished
    assert db_session.query(VerifiedFact).filter_by(enterprise_id=firm.id).count() == 2

    same = import_file("tax", csv_bytes([HEADER, [firm.uscc, "2026-10-31", "A", "500000", ""]]))
    assert same.counts["unchanged"] == 1
    older = import_file("tax", csv_bytes([HEADER, [firm.uscc, "2026-06-30", "D", "1", ""]]))
    assert older.counts["older"] == 1
    assert _facts(db_session, firm)["tax_credit_grade"] == ("A", date(2026, 10, 31))
    newer = import_file("tax", csv_bytes([HEADER, [firm.uscc, "2026-11-15", "B", "600000", ""]]))
    assert newer.counts["stored"] == 1
    assert _facts(db_session, firm)["tax_credit_grade"] == ("B", date(2026, 11, 15))


def test_a_bad_row_anywhere_stores_nothing_of_the_file(
    db_session, create_enterprise, authorise, import_file
):
    firms = [create_enterprise() for _ in range(3)]
    for firm in firms:
        authorise(firm, "tax")
    rows = [[f.uscc, "2026-10-31", "A", "100", "200"] for f in firms]
    rows.append([firms[0].uscc, "2026-10-31", "A", "100", "200"])  # the same firm twice
    rows.append([firms[1].uscc, "31/10/2026", "A", "1.234", "x"])
    record = import_file("tax", csv_bytes([HEADER, *rows]))

    assert record.state == "rejected"
    texts = [e["zh"] for e in record.errors]
    assert texts[0] == "第 5 行：统一社会信用代码与第 2 行重复。"
    assert any(t.startswith("第 6 行，「数据截至日期」") for t in texts)
    assert any(t.startswith("第 6 行，「上年纳税总额（元）」") and "2位小数" in t for t in texts)
    assert any(t.startswith("第 6 行，「上年开票收入（元）」") for t in texts)
    assert all(e["row"] in (5, 6) for e in record.errors)
    assert db_session.query(VerifiedFact).count() == 0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (["uscc", "纳税信用等级"], "缺少「数据截至日期」列"),
        (["uscc", "as_of", "纳税等级"], "不认识的列「纳税等级」"),
        (["uscc", "as_of"], "没有纳税信息的数据列"),
        (["uscc", "as_of", "tax_credit_grade", "纳税信用等级"], "重复的列"),
    ],
)
def test_a_wrong_header_is_named_on_row_1(db_session, import_file, header, expected):
    record = import_file("tax", csv_bytes([header, ["91350100M000100Y43", "2026-10-31", "A"]]))
    assert record.state == "rejected"
    assert any(e["row"] == 1 and expected in e["zh"] for e in record.errors), record.errors


def test_a_gb18030_csv_and_an_xlsx_with_excel_dates_are_read(
    db_session, create_enterprise, authorise, import_file
):
    firm = create_enterprise()
    authorise(firm, "tax")
    gbk = import_file(
        "tax",
        csv_bytes([HEADER[:3], [firm.uscc, "2026年9月30日", "m"]], encoding="gb18030"),
    )
    assert gbk.state == "done", gbk.errors
    assert _facts(db_session, firm)["tax_credit_grade"] == ("M", date(2026, 9, 30))
    book = import_file(
        "tax",
        xlsx_bytes([["uscc", "as_of", "tax_paid_yuan"], [firm.uscc, date(2026, 10, 31), 1234.5]]),
        "tax.xlsx",
    )
    assert book.state == "done", book.errors
    assert _facts(db_session, firm)["tax_paid_yuan"] == ("1234.50", date(2026, 10, 31))


def test_an_xlsx_that_unpacks_too_large_is_refused_before_reading(monkeypatch, db_session):
    from finportal import limits

    content = xlsx_bytes([["uscc", "as_of", "tax_paid_yuan"]] + [["x" * 50, "y", 1]] * 2000)
    monkeypatch.setattr(limits, "PUBLIC_DATA_MAX_UNCOMPRESSED_BYTES", len(content))
    with pytest.raises(connectors.Rejected) as caught:
        connectors.check_file(content)
    assert "解压后过大" in caught.value.problems[0].zh
    with pytest.raises(imports.ValidationFailed):
        imports.upload(db_session, actor_id=None, source="tax", filename="a.xlsx", content=content)
    assert db_session.query(DataImport).count() == 0


def test_an_authorisation_counts_to_its_last_day_inclusive_as_a_consent_does(
    db_session, create_enterprise, authorise
):
    grant = authorise(create_enterprise(), "tax", days=10)
    last = grant.valid_until
    for day in (last - timedelta(days=1), last, last + timedelta(days=1)):
        assert authorisations.in_force(grant, day) == consents.standing(grant, day)
    assert authorisations.in_force(grant, last) is True
    assert authorisations.in_force(grant, last + timedelta(days=1)) is False
    # The SQL twin agrees on the same days.
    for day, expected in ((last, [grant.source]), (last + timedelta(days=1), [])):
        found = db_session.scalars(
            select(type(grant).source).where(authorisations.in_force_clause(day))
        ).all()
        assert found == expected


def test_a_lapsed_authorisation_stops_the_verified_value_counting(
    db_session, create_enterprise, authorise, import_file
):
    firm = create_enterprise(tax_credit_grade="C")
    grant = authorise(firm, "tax")
    import_file("tax", csv_bytes([HEADER[:3], [firm.uscc, "2026-10-31", "A"]]))
    assert profiles.enterprise_profile(firm)["tax_credit_grade"] == "A"
    grant.valid_until = today_local() - timedelta(days=1)
    db_session.commit()
    assert profiles.enterprise_profile(firm)["tax_credit_grade"] == "C"


def test_granting_again_replaces_the_authorisation_in_force_and_keeps_its_facts(
    db_session, create_enterprise, authorise, import_file
):
    firm = create_enterprise(tax_credit_grade="C", tax_paid_last_year=Decimal("1000"))
    first = authorise(firm, "tax")
    import_file("tax", csv_bytes([HEADER, [firm.uscc, "2026-10-31", "A", "500000", ""]]))
    second = authorise(firm, "tax", scope=["tax_paid_yuan", "tax_credit_grade"], days=30)
    db_session.refresh(first)
    assert first.withdrawn_at is not None
    assert second.scope == ["tax_credit_grade", "tax_paid_yuan"]  # in the source's order
    assert authorisations.current(db_session, firm.id, "tax").id == second.id
    # The update keeps what was verified for the items still in scope.
    profile = profiles.enterprise_profile(firm)
    assert (profile["tax_credit_grade"], profile["tax_paid_last_year"]) == (
        "A",
        Decimal("500000.00"),
    )
    third = authorise(firm, "tax", scope=["tax_paid_yuan"])
    profile = profiles.enterprise_profile(firm)
    assert (profile["tax_credit_grade"], profile["tax_paid_last_year"]) == (
        "C",
        Decimal("500000.00"),
    )
    assert third.scope == ["tax_paid_yuan"]


def test_the_district_table_reads_the_verified_values_too(
    db_session, create_enterprise, authorise, import_file, published_catalog
):
    import products
    from finportal.services.profile_table import iter_tables

    firm = create_enterprise(tax_credit_grade="C", tax_paid_last_year=Decimal("1000"))
    create_enterprise()
    authorise(firm, "tax")
    import_file("tax", csv_bytes([HEADER, [firm.uscc, "2026-10-31", "A", "1500000", ""]]))
    catalog, _ = published_catalog
    firms = list(db_session.scalars(select(Enterprise).order_by(Enterprise.id)))
    tables = list(iter_tables(db_session, chunk=1))
    for table, each in zip(tables, firms, strict=True):
        direct = products.match_many(
            catalog, products.profiles_to_table([profiles.enterprise_profile(each)])
        )
        loaded = products.match_many(catalog, table)
        assert (direct.eligible == loaded.eligible).all(), each.id
    mine = next(t for t in tables if t.ids[0] == firm.id)
    codes = [p.code for p in catalog]
    assert bool(products.match_many(catalog, mine).eligible[0][codes.index("credit_easy")])
