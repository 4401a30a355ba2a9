"""Dashboard numbers against a small set of hand-counted cases, the page, and the Excel exports."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=10)
H = timedelta(hours=1)


#: The dashboard's time aggregates are SQL per dialect (``dashboard.hours_between``).
pytestmark = pytest.mark.both_engines


@pytest.fixture
def hand_counted(db_session, published_catalog, create_enterprise, create_bank):
    """Five applications, three referrals, two ratings, four scores and one batch.

    a1 200万: screened, answered after 2h; to bank A (approved 100万 after 10h, disbursed
        100万) and bank B (declined after 30h, due after 20h: a bank breach); rated 5.
    a2 100万: screened, answered after 6h; to bank A for ip_pledge (info requested after
        4h, approved 50万 after 50h); rated 3.
    a3 50万: screened, never answered, due long ago: an advisor breach.
    a4 80万: submitted, not screened.   a5: a draft (not counted).
    """
    from finportal.models import (
        Application,
        BankDecision,
        Batch,
        CreditScore,
        LoanOutcome,
        ModelVersion,
        Park,
        Rating,
        Referral,
    )

    _, versions = published_catalog
    bank_a, bank_b = create_bank(name_zh="甲银行"), create_bank(name_zh="乙银行")
    enterprise = create_enterprise()
    apps = {}
    for key, amount, state, screened, response in [
        ("a1", "2000000", "referred", True, 2),
        ("a2", "1000000", "referred", True, 6),
        ("a3", "500000", "screened", True, None),
        ("a4", "800000", "submitted", False, None),
        ("a5", "900000", "draft", False, None),
    ]:
        app = Application(
            enterprise_id=enterprise.id,
            amount=Decimal(amount),
            term_months=12,
            state=state,
            submitted_at=None if state == "draft" else T0 - H,
            screened_at=T0 if screened else None,
            first_response_due_at=T0 + 24 * H if screened else None,
            first_response_at=T0 + response * H if response else None,
        )
        db_session.add(app)
        apps[key] = app
    db_session.flush()

    def referral(app, bank, code, due_hours=48):
        row = Referral(
            application_id=app.id,
            bank_id=bank.id,
            product_version_id=versions[code].id,
            state="sent",
            sent_at=T0,
            due_at=T0 + due_hours * H,
        )
        db_session.add(row)
        db_session.flush()
        return row

    r1 = referral(apps["a1"], bank_a, "policy_guarantee")
    r2 = referral(apps["a1"], bank_b, "policy_guarantee", due_hours=20)
    r3 = referral(apps["a2"], bank_a, "ip_pledge")
    r1.state, r2.state, r3.state = "disbursed", "declined", "approved"
    db_session.add_all(
        [
            BankDecision(
                referral_id=r1.id,
                decision="approved",
                approved_amount=Decimal("1000000"),
                decided_at=T0 + 10 * H,
            ),
            BankDecision(
                referral_id=r2.id, decision="declined", reason_code="other", decided_at=T0 + 30 * H
            ),
            BankDecision(referral_id=r3.id, decision="info_requested", decided_at=T0 + 4 * H),
            BankDecision(
                referral_id=r3.id,
                decision="approved",
                approved_amount=Decimal("500000"),
                decided_at=T0 + 50 * H,
            ),
            LoanOutcome(
                referral_id=r1.id,
                event="disbursed",
                occurred_on=T0.date(),
                amount=Decimal("1000000"),
            ),
            Rating(application_id=apps["a1"].id, enterprise_id=enterprise.id, stars=5),
            Rating(application_id=apps["a2"].id, enterprise_id=enterprise.id, stars=3),
        ]
    )
    model = ModelVersion(version="dash-test", name="测试模型", files={}, card={})
    db_session.add(model)
    db_session.flush()
    for app, score, grade, hours in [
        (apps["a1"], 610, "B", 0),
        (apps["a1"], 640, "A", 1),  # the later score counts
        (apps["a2"], 580, "B", 0),
        (apps["a3"], 655, "A", 0),
    ]:
        db_session.add(
            CreditScore(
                application_id=app.id,
                model_version_id=model.id,
                pd=0.02,
                score=score,
                grade=grade,
                reasons=[],
                feature_snapshot={},
                scored_at=T0 + hours * H,
            )
        )
    park = Park(code="dash_park", name_zh="看板园区")
    db_session.add(park)
    db_session.flush()
    db_session.add(
        Batch(
            code="BT-DASH",
            name="看板批次",
            park_id=park.id,
            bank_id=bank_a.id,
            product_id=versions["park_batch"].product_id,
            product_version_id=versions["park_batch"].id,
            quota_total=Decimal("5000000"),
            per_firm_cap=Decimal("3000000"),
            quota_used=Decimal("3000000"),
            state="submitted",
        )
    )
    db_session.commit()
    return {"bank_a": bank_a, "bank_b": bank_b}


def _rows(board, key):
    return board.tables[key].rows


def test_funnel_and_amounts(db_session, hand_counted):
    from finportal.services.dashboard import build_dashboard

    board = build_dashboard(db_session, now=NOW)
    assert board.funnel == [
        ("已提交", 4),
        ("已初筛", 3),
        ("已推荐银行", 2),
        ("银行同意", 2),
        ("已放款", 1),
    ]
    assert [r[2] for r in _rows(board, "funnel")] == [1.0, 0.75, 0.5, 0.5, 0.25]
    amounts = {r[0]: (r[1], r[2]) for r in _rows(board, "amounts")}
    assert amounts["申请金额"] == (Decimal("430"), 4)  # 万元: 200 + 100 + 50 + 80
    assert amounts["银行批准金额"] == (Decimal("150"), 2)  # each referral's latest approval
    assert amounts["放款金额"] == (Decimal("100"), 1)


def test_approval_rates(db_session, hand_counted):
    from finportal.services.dashboard import build_dashboard

    board = build_dashboard(db_session, now=NOW)
    by_bank = {r[0]: r[1:] for r in _rows(board, "approval_by_bank")}
    assert by_bank["甲银行"] == [2, 2, 2, 0, 1.0]
    assert by_bank["乙银行"] == [1, 1, 0, 1, 0.0]
    by_product = {r[0]: r[1:] for r in _rows(board, "approval_by_product")}
    assert by_product["政策性融资担保贷款"] == [2, 2, 1, 1, 0.5]
    assert by_product["知识产权质押贷款"] == [1, 1, 1, 0, 1.0]
    assert board.headline["approval_rate"] == pytest.approx(2 / 3)


def test_times_breaches_ratings_scores_and_quota(db_session, hand_counted):
    from finportal.services.dashboard import build_dashboard

    board = build_dashboard(db_session, now=NOW)
    times = {r[0]: (r[1], r[2]) for r in _rows(board, "response_times")}
    assert times["初筛至顾问首次响应"] == (2, 4.0)  # median of 2 h and 6 h
    assert times["推荐至银行首次决定"] == (3, 10.0)  # median of 10, 30 and 4 h
    breaches = _rows(board, "breaches")
    assert sorted(r[0] for r in breaches) == ["银行反馈", "顾问首次响应"]
    bank_breach = next(r for r in breaches if r[0] == "银行反馈")
    assert bank_breach[5] == 10.0  # decided 30 h after sending, due after 20 h
    assert (board.headline["advisor_breaches"], board.headline["bank_breaches"]) == (1, 1)
    satisfaction = {r[0]: r[1] for r in _rows(board, "satisfaction")}
    assert satisfaction["平均分"] == 4.0 and satisfaction["评价总数"] == 2
    assert satisfaction["5 星"] == 1 and satisfaction["3 星"] == 1 and satisfaction["1 星"] == 0
    assert board.score_bins == [("550–599", 1), ("600–649", 1), ("650–699", 1)]
    assert dict(map(tuple, _rows(board, "grades"))) == {"A": 2, "B": 1}
    (quota,) = _rows(board, "batch_quota")
    assert quota[0] == "BT-DASH" and quota[5:9] == [
        Decimal("500"),
        Decimal("300"),
        Decimal("200"),
        0.6,
    ]


def test_an_empty_database_gives_zeros_not_errors(db_session):
    from finportal.services.dashboard import build_dashboard

    board = build_dashboard(db_session)
    assert [c for _, c in board.funnel] == [0, 0, 0, 0, 0]
    assert board.headline["approval_rate"] is None and board.score_bins == []


def test_dashboard_page_and_every_excel_export(
    client, db_session, hand_counted, create_user, login
):
    from finportal.services.dashboard import build_dashboard

    login(create_user("advisor"))
    page = client.get("/advisor/dashboard")
    assert page.status_code == 200
    assert page.text.count("<svg") >= 3  # funnel, bank approval rates, scores, batch quota
    assert "办理漏斗" in page.text and "超时预警" in page.text
    board = build_dashboard(db_session)
    for key, table in board.tables.items():
        assert f"/advisor/dashboard/{key}.xlsx" in page.text, key
        response = client.get(f"/advisor/dashboard/{key}.xlsx")
        assert response.status_code == 200, key
        assert response.mimetype.endswith("spreadsheetml.sheet")
        sheet = load_workbook(io.BytesIO(response.data)).active
        rows = list(sheet.iter_rows(values_only=True))
        assert list(rows[0]) == table.columns
        assert len([r for r in rows[1:] if any(v is not None for v in r)]) >= len(table.rows)
    sheet = load_workbook(io.BytesIO(client.get("/advisor/dashboard/funnel.xlsx").data)).active
    assert [r[:2] for r in sheet.iter_rows(min_row=2, max_row=6, values_only=True)] == [
        ("已提交", 4),
        ("已初筛", 3),
        ("已推荐银行", 2),
        ("银行同意", 2),
        ("已放款", 1),
    ]
    assert client.get("/advisor/dashboard/nothing.xlsx").status_code == 404


def test_excel_cells_never_run_as_formulas():
    from finportal.services.exports import table_to_xlsx

    data = table_to_xlsx(
        "t", ["名称", "金额"], [['=HYPERLINK("http://x")', Decimal("1.5")], ["@SUM(A1)", None]]
    )
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet["A2"].value == '\'=HYPERLINK("http://x")' and sheet["A2"].data_type == "s"
    assert sheet["B2"].value == 1.5 and sheet["A3"].value == "'@SUM(A1)"


def test_scores_from_a_synthetic_model_carry_the_note(
    client, db_session, hand_counted, create_user, login
):
    from sqlalchemy import select

    from finportal.models import ModelVersion
    from finportal.services.dashboard import SYNTHETIC_NOTE, build_dashboard

    login(create_user("advisor"))
    assert "合成的参考数据" not in client.get("/advisor/dashboard").text
    assert SYNTHETIC_NOTE not in build_dashboard(db_session).tables["grades"].note
    model = db_session.scalar(select(ModelVersion).where(ModelVersion.version == "dash-test"))
    model.synthetic = True
    db_session.commit()
    board = build_dashboard(db_session)
    assert SYNTHETIC_NOTE in board.tables["score_distribution"].note
    assert SYNTHETIC_NOTE in board.tables["grades"].note
    page = client.get("/advisor/dashboard").text
    assert page.count(SYNTHETIC_NOTE) == 2


def test_the_page_lists_open_batches_first_and_a_bounded_number_the_export_all(
    client, db_session, hand_counted, create_user, login, monkeypatch
):
    """A district that runs batches for years: the page lists the batches still open or
    with the bank, then the newest closed ones, ``BATCH_ROWS`` in all, and says how many
    there are; the Excel file lists every one."""
    from finportal.models import Batch
    from finportal.services import dashboard

    (template,) = db_session.query(Batch).all()
    for n, state in enumerate(["closed", "open", "closed", "closed", "submitted"]):
        db_session.add(
            Batch(
                code=f"BT-{n}",
                name=f"批次{n}",
                park_id=template.park_id,
                bank_id=template.bank_id,
                product_id=template.product_id,
                product_version_id=template.product_version_id,
                quota_total=Decimal("5000000"),
                per_firm_cap=Decimal("3000000"),
                state=state,
            )
        )
    db_session.commit()
    monkeypatch.setattr(dashboard, "BATCH_ROWS", 4)

    board = dashboard.build_dashboard(db_session, now=NOW)
    listed = [row[0] for row in _rows(board, "batch_quota")]
    assert listed == ["BT-4", "BT-1", "BT-DASH", "BT-3"]  # not closed (newest first), then closed
    assert "共 6 个批次" in board.tables["batch_quota"].note
    whole = dashboard.build_dashboard(db_session, now=NOW, complete=True)
    assert len(_rows(whole, "batch_quota")) == 6

    login(create_user("advisor"))
    page = client.get("/advisor/dashboard").text
    assert "BT-3" in page and "BT-2" not in page and "BT-0" not in page
    sheet = client.get("/advisor/dashboard/batch_quota.xlsx")
    codes = {
        row[0] for row in load_workbook(io.BytesIO(sheet.data)).active.iter_rows(values_only=True)
    }
    assert {"BT-0", "BT-2", "BT-DASH"} <= codes
