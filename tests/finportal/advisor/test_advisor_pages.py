"""Advisor pages: the queue with its warning, the review page and its actions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from finportal.models import Application, Match, Referral, utcnow

pytestmark = pytest.mark.db


@pytest.fixture
def setup(create_enterprise, create_bank, create_user, screened_application):
    enterprise = create_enterprise(name="上海队列测试<b>科技</b>有限公司")
    application = screened_application(enterprise)
    bank = create_bank()
    return {
        "application": application,
        "enterprise": enterprise,
        "bank": bank,
        "advisor": create_user("advisor", display_name="王顾问"),
        "colleague": create_user("advisor", display_name="李顾问"),
    }


def test_queue_shows_the_warning_and_filters(client, login, db_session, setup):
    application = setup["application"]
    application.first_response_due_at = utcnow() - timedelta(hours=1)
    db_session.commit()
    login(setup["advisor"])
    page = client.get("/advisor/")
    assert page.status_code == 200
    assert "预警" in page.text
    # Names are escaped.
    assert "&lt;b&gt;科技&lt;/b&gt;" in page.text and "<b>科技</b>" not in page.text
    assert f"#{application.id}" in client.get("/advisor/?deadline=overdue").text
    assert f"#{application.id}" not in client.get("/advisor/?deadline=ok").text
    assert f"#{application.id}" not in client.get("/advisor/?status=in_review").text
    # Nonsense filters are ignored, not a crash.
    assert client.get("/advisor/?park=abc&status=zzz").status_code == 200


def test_review_page_shows_everything(client, login, db_session, setup):
    login(setup["advisor"])
    page = client.get(f"/advisor/applications/{setup['application'].id}")
    assert page.status_code == 200
    text = page.text
    for expected in (
        "融资需求",
        "信用评分",
        "违约概率",
        "企业信息",
        "产品匹配结果",
        "办理记录",
        "备注",
    ):
        assert expected in text, expected
    assert "合成的参考数据" in text  # the cold-start model says so
    assert "自动初筛" in text  # the history names each step in Chinese
    assert "<svg" in text or "主要影响因素" not in text
    assert client.get("/advisor/applications/999999").status_code == 404


def test_claim_refer_and_see_the_packet_state(
    client, login, db_session, setup, eligible_version, grant_consent
):
    application, bank = setup["application"], setup["bank"]
    grant_consent(application, bank)
    login(setup["advisor"])
    response = client.post(
        f"/advisor/applications/{application.id}/claim",
        data={"lock_version": application.lock_version},
    )
    assert response.status_code == 302
    db_session.expire_all()
    application = db_session.get(Application, application.id)
    assert application.state == "in_review"

    version = eligible_version(application)
    missing_opinion = client.post(
        f"/advisor/applications/{application.id}/refer",
        data={
            "lock_version": application.lock_version,
            "banks": [str(bank.id)],
            f"product_{bank.id}": str(version),
        },
    )
    assert missing_opinion.status_code == 422
    assert "请填写顾问意见" in missing_opinion.text

    response = client.post(
        f"/advisor/applications/{application.id}/refer",
        data={
            "lock_version": application.lock_version,
            "banks": [str(bank.id)],
            f"product_{bank.id}": str(version),
            "opinion": "经营稳定，建议支持",
        },
    )
    assert response.status_code == 302
    referral = db_session.scalar(select(Referral).where(Referral.application_id == application.id))
    assert referral is not None and referral.bank_id == bank.id
    page = client.get(f"/advisor/applications/{application.id}")
    assert referral.packet_number in page.text
    assert "已推荐银行" in page.text
    assert "预警" not in page.text
    # The bank's 2-working-day clock: once breached, the advisor sees the warning too.
    referral.due_at = utcnow() - timedelta(minutes=5)
    db_session.commit()
    assert "预警" in client.get(f"/advisor/applications/{application.id}").text


def test_second_advisor_with_a_stale_page_gets_a_clear_message(
    app, client, login, db_session, setup
):
    application = setup["application"]
    seen = application.lock_version
    login(setup["advisor"])
    assert (
        client.post(
            f"/advisor/applications/{application.id}/claim", data={"lock_version": seen}
        ).status_code
        == 302
    )

    other = app.test_client()
    other.post(
        "/auth/login",
        data={"username": setup["colleague"].username, "password": "test-password-123"},
    )
    response = other.post(
        f"/advisor/applications/{application.id}/claim", data={"lock_version": seen}
    )
    assert response.status_code == 409
    assert "请刷新页面" in response.text
    response = other.post(
        f"/advisor/applications/{application.id}/reject",
        data={"lock_version": seen, "reason_code": "other", "reason_text": "抢先操作"},
    )
    assert response.status_code == 409
    db_session.expire_all()
    assert db_session.get(Application, application.id).state == "in_review"


def test_return_reject_override_and_note_forms(client, login, db_session, setup):
    application = setup["application"]
    login(setup["advisor"])
    client.post(
        f"/advisor/applications/{application.id}/claim",
        data={"lock_version": application.lock_version},
    )
    db_session.expire_all()
    application = db_session.get(Application, application.id)

    bad = client.post(
        f"/advisor/applications/{application.id}/reject",
        data={
            "lock_version": application.lock_version,
            "reason_code": "",
            "reason_text": "这段文字要保留",
        },
    )
    assert bad.status_code == 422
    assert "请选择不予推荐的原因" in bad.text and "这段文字要保留" in bad.text

    match = db_session.scalar(select(Match).where(Match.application_id == application.id).limit(1))
    response = client.post(
        f"/advisor/applications/{application.id}/matches/{match.id}/override",
        data={
            "lock_version": application.lock_version,
            "eligible": "false",
            "reason": "企业主动放弃该产品",
        },
    )
    assert response.status_code == 302
    db_session.expire_all()
    assert db_session.get(Match, match.id).overridden

    assert (
        client.post(
            f"/advisor/applications/{application.id}/notes", data={"body": "已电话沟通"}
        ).status_code
        == 302
    )
    application = db_session.get(Application, application.id)
    response = client.post(
        f"/advisor/applications/{application.id}/return",
        data={
            "lock_version": application.lock_version,
            "message": "请补充纳税信息",
            "fields": ["tax_paid_last_year", "tax_credit_grade"],
        },
    )
    assert response.status_code == 302
    db_session.expire_all()
    application = db_session.get(Application, application.id)
    assert application.state == "returned"
    assert application.return_request["fields"] == ["tax_paid_last_year", "tax_credit_grade"]
    page = client.get(f"/advisor/applications/{application.id}")
    assert "已电话沟通" in page.text and "企业主动放弃该产品" in page.text


def test_review_page_names_the_assigned_advisor_the_actors_and_the_note_authors(
    client, login, db_session, make_loop, create_user
):
    """Who did what, by name: events and notes with their users, the advisor given the work.

    The advisor a supervisor assigned has done nothing yet (no event, no note names them):
    the page still names them as the one handling it (stop 26 reads the others' names with
    the events and notes, and theirs only then).
    """
    from finportal.domain.permissions import Actor
    from finportal.services import assignment, review_actions

    loop = make_loop(refer=False)
    supervisor = create_user("advisor", display_name="周督导")
    supervisor.duty = "supervisor"
    given = create_user("advisor", display_name="")  # no display name: the user name shows
    db_session.commit()
    assignment.assign_application(
        db_session, loop.application.id, actor=Actor.of(supervisor), advisor_id=given.id
    )
    review_actions.add_note(
        db_session, loop.application.id, actor_id=supervisor.id, body="请尽快联系企业。"
    )
    login(loop.advisor)
    page = client.get(f"/advisor/applications/{loop.application.id}").text
    assert f"经办顾问：{given.username}" in page
    history = page[page.index('id="history"') : page.index("</ul>", page.index('id="history"'))]
    assert "周督导 ·" in history and "系统 ·" in history
    notes = page[page.index('id="notes"') : page.index("</ul>", page.index('id="notes"'))]
    assert "周督导" in notes and "请尽快联系企业。" in notes


def test_review_page_counts_a_banks_reopenings_beside_the_referral_not_in_the_history(
    client, login, loop
):
    """A bank opens a referral once (银行查看), then three times more: the review page's
    history shows the first opening as a step and none of the others; the referral's row says
    how many times the bank opened it again. (Thousands of re-openings made the history, and
    the page, grow without end.)"""
    rid = loop.referral.id
    login(loop.bank_user)
    for _ in range(4):
        assert client.get(f"/bank/referrals/{rid}").status_code == 200
    login(loop.advisor)
    page = client.get(f"/advisor/applications/{loop.application.id}").text
    history = page[page.index('id="history"') : page.index("</ul>", page.index('id="history"'))]
    assert history.count("· 银行查看") == 1
    assert "银行再次查看" not in history
    row = page[
        page.index(f'data-referral="{rid}"') : page.index(
            "</tr>", page.index(f'data-referral="{rid}"')
        )
    ]
    assert "银行再次查看 3 次" in row
    client.get("/lang/en")  # and in English
    page = client.get(f"/advisor/applications/{loop.application.id}").text
    assert "opened again by the bank 3 times" in page
