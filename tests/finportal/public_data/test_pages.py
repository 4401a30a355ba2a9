"""The SME's authorisation page, the admin's import pages, and the verified marks on pages."""

from __future__ import annotations

import html
import io
from datetime import timedelta

import pytest

from finportal.models import DataAuthorisation, DataImport, Enterprise, VerifiedFact
from finportal.services.workdays import today_local
from tests.finportal.public_data.conftest import csv_bytes

pytestmark = pytest.mark.db


def _tax_file(uscc, grade="A", tax="1200000", as_of="2026-10-31"):
    return csv_bytes(
        [
            ["统一社会信用代码", "数据截至日期", "纳税信用等级", "上年纳税总额（元）"],
            [uscc, as_of, grade, tax],
        ]
    )


def test_the_sme_authorises_a_source_with_scope_and_last_day_and_withdraws_it(
    client, login, db_session, create_user
):
    user = create_user("sme")
    login(user)
    page = client.get("/sme/data-authorisations")
    assert page.status_code == 200
    assert "纳税信息" in page.text and "社会保险" in page.text and "信用修复" in page.text

    until = today_local() + timedelta(days=90)
    response = client.post(
        "/sme/data-authorisations",
        data={"source": "tax", "scope": ["tax_credit_grade"], "valid_until": until.isoformat()},
    )
    assert response.status_code == 302
    grant = db_session.query(DataAuthorisation).filter_by(enterprise_id=user.enterprise_id).one()
    assert (grant.source, grant.scope, grant.valid_until) == ("tax", ["tax_credit_grade"], until)
    page = client.get("/sme/data-authorisations")
    assert f"已授权，有效期至 {until.isoformat()}" in page.text

    client.post(f"/sme/data-authorisations/{grant.id}/withdraw")
    db_session.refresh(grant)
    assert grant.withdrawn_at is not None
    assert "已撤回" in client.get("/sme/data-authorisations").text


@pytest.mark.parametrize(
    ("data", "field_text"),
    [
        ({"source": "tax", "valid_until": "2027-13-45", "scope": ["tax_paid_yuan"]}, "有效日期"),
        ({"source": "tax", "valid_until": ""}, "请至少选择一项"),
        ({"source": "tax", "scope": ["tax_paid_yuan"], "valid_until": "2001-01-01"}, "晚于今天"),
        ({"source": "nonsense", "scope": ["x"]}, "没有这个数据来源"),
    ],
)
def test_a_bad_authorisation_is_refused_in_chinese_and_nothing_is_saved(
    client, login, db_session, create_user, data, field_text
):
    user = create_user("sme")
    login(user)
    response = client.post("/sme/data-authorisations", data=data)
    assert response.status_code == 422
    assert field_text in response.text
    assert db_session.query(DataAuthorisation).count() == 0


def test_an_unverified_enterprise_cannot_authorise(
    client, login, db_session, create_user, create_enterprise
):
    firm = create_enterprise(verification_state="unverified")
    login(create_user("sme", enterprise_id=firm.id))
    response = client.post(
        "/sme/data-authorisations", data={"source": "tax", "scope": ["tax_paid_yuan"]}
    )
    assert response.status_code == 403
    assert db_session.query(DataAuthorisation).count() == 0


def test_the_admin_imports_a_file_and_the_profile_and_review_pages_mark_the_verified_values(
    client, login, db_session, create_user, make_loop, authorise
):
    loop = make_loop(refer=False)
    firm = loop.enterprise
    firm.tax_credit_grade = "C"
    db_session.commit()
    authorise(firm, "tax")
    admin = create_user("admin")
    login(admin)
    assert client.get("/admin/public-data").status_code == 200
    response = client.post(
        "/admin/public-data",
        data={"source": "tax", "file": (io.BytesIO(_tax_file(firm.uscc)), "tax.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    record = db_session.query(DataImport).one()
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and "已完成" in page.text
    assert client.get(f"/admin/public-data/{record.id}/status").json["done"] is True

    login(loop.sme_user)
    profile = client.get("/sme/profile").text
    mark = profile.split('id="verified-tax_credit_grade"', 1)[1].split("</small>", 1)[0]
    assert "✔ 已核验" in mark and "A级" in mark and "2026-10-31" in mark and "税务部门" in mark
    # The firm's own C stays in its form, flagged beside the verified A.
    assert "C级" in mark and "不一致" in mark

    # Submitted now, the advisor's review shows the verified facts as submitted.
    from tests.helpers import screened

    application = screened(db_session, firm)
    login(loop.advisor)
    review = client.get(f"/advisor/applications/{application.id}").text
    facts = review.split('id="verified-facts"', 1)[1]
    assert "✔ 已核验" in facts and "2026-10-31" in facts and "C级" in facts


def test_a_file_with_bad_rows_is_rejected_with_row_numbers_and_stores_nothing(
    client, login, db_session, create_user, create_enterprise, authorise
):
    good = create_enterprise()
    authorise(good, "tax")
    content = csv_bytes(
        [
            ["统一社会信用代码", "数据截至日期", "纳税信用等级", "上年纳税总额（元）"],
            [good.uscc, "2026-10-31", "A", "1200000"],
            ["91310112XXXXXXXXXX", "2026-10-31", "B", "100"],
            [good.uscc, "2099-01-01", "E", "-5"],
        ]
    )
    login(create_user("admin"))
    response = client.post(
        "/admin/public-data",
        data={"source": "tax", "file": (io.BytesIO(content), "tax.csv")},
        content_type="multipart/form-data",
    )
    page = client.get(response.headers["Location"]).text
    assert "文件有误，未导入任何数据" in page
    assert "第 3 行" in page and "统一社会信用代码" in page
    assert "第 4 行" in page and "A/B/M/C/D" in page and "晚于今天" in page and "负数" in page
    assert db_session.query(DataImport).one().state == "rejected"
    assert db_session.query(VerifiedFact).count() == 0
    assert db_session.get(Enterprise, good.id).tax_credit_grade == "A"


def test_the_row_problems_read_in_english(client, login, db_session, create_user):
    login(create_user("admin"))
    client.get("/lang/en")
    content = csv_bytes(
        [["uscc", "as_of", "tax_credit_grade"], ["91310112XXXXXXXXXX", "2026-10-31", "E"]]
    )
    response = client.post(
        "/admin/public-data",
        data={"source": "tax", "file": (io.BytesIO(content), "tax.csv")},
        content_type="multipart/form-data",
    )
    page = client.get(response.headers["Location"]).text
    problems = html.unescape(page.split('id="problems"', 1)[1])
    assert "Row 2, 'uscc'" in problems and "One of A/B/M/C/D is expected" in problems
    assert "第 2 行" not in problems


@pytest.mark.parametrize(
    ("content", "filename", "expected"),
    [
        (b"", "empty.csv", "文件是空的"),
        (b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200, "data.csv", "只接受 CSV"),
        (b"PK\x03\x04not really a zip", "data.xlsx", "不是有效的 Excel"),
    ],
)
def test_a_file_that_is_no_exchange_file_is_refused_at_once(
    client, login, db_session, create_user, content, filename, expected
):
    login(create_user("admin"))
    response = client.post(
        "/admin/public-data",
        data={"source": "tax", "file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert expected in response.text
    assert db_session.query(DataImport).count() == 0


def test_the_pages_refuse_other_roles(client, login, create_user):
    login(create_user("sme"))
    assert client.get("/admin/public-data").status_code in (403, 404)
    login(create_user("bank"))
    assert client.get("/sme/data-authorisations").status_code in (403, 404)


def test_a_long_file_name_is_kept_shortened(client, login, db_session, create_user):
    login(create_user("admin"))
    name = "纳税" + "很长" * 200 + ".csv"
    response = client.post(
        "/admin/public-data",
        data={"source": "tax", "file": (io.BytesIO(b"uscc,as_of,tax_credit_grade\n"), name)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    stored = db_session.query(DataImport).one().filename
    assert stored.startswith("纳税很长") and len(stored) <= 200
