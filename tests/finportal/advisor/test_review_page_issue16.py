"""The advisor's page as the advisor would want it (issue 16): actions at the top, a preview
of the bank's packet, a confirmation before 不予推荐, batch packets that report progress."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from finportal.models import Application, AuditEvent, Job, Packet, Referral
from finportal.services import batch_packets, review_actions

pytestmark = pytest.mark.db


@pytest.fixture
def in_review(db_session, make_loop):
    loop = make_loop(refer=False)
    review_actions.claim(db_session, loop.application.id, actor_id=loop.advisor.id)
    db_session.refresh(loop.application)
    return loop


def _text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_actions_come_before_the_facts(client, login, in_review):
    login(in_review.advisor)
    page = client.get(f"/advisor/applications/{in_review.application.id}").text
    actions = page.index('id="review-actions"')
    assert actions < page.index('<section class="card">')
    bar = page[actions : page.index("</div>", actions)]
    for target in ("#refer-form", "#return-form", "#reject-form"):
        assert f'href="{target}"' in bar
        assert f'id="{target[1:]}"' in page


def test_rejecting_asks_first_and_keeps_what_was_typed(client, login, db_session, in_review):
    app_id = in_review.application.id
    login(in_review.advisor)
    form = {
        "lock_version": in_review.application.lock_version,
        "reason_code": "other",
        "reason_text": "经营期限不足，暂不推荐",
    }
    asked = client.post(f"/advisor/applications/{app_id}/reject", data=form)
    assert asked.status_code == 200
    assert 'id="reject-confirm"' in asked.text and "经营期限不足，暂不推荐" in asked.text
    db_session.expire_all()
    assert db_session.get(Application, app_id).state == "in_review"

    back = client.post(f"/advisor/applications/{app_id}/reject", data={**form, "confirmed": "back"})
    assert back.status_code == 200 and 'id="reject-form"' in back.text
    assert ">经营期限不足，暂不推荐</textarea>" in back.text
    assert db_session.get(Application, app_id).state == "in_review"

    done = client.post(f"/advisor/applications/{app_id}/reject", data={**form, "confirmed": "1"})
    assert done.status_code == 302
    db_session.expire_all()
    assert db_session.get(Application, app_id).state == "rejected"


def test_a_refused_rejection_is_refused_before_the_question(client, login, in_review):
    login(in_review.advisor)
    answer = client.post(
        f"/advisor/applications/{in_review.application.id}/reject",
        data={"lock_version": in_review.application.lock_version, "reason_code": "other"},
    )
    assert answer.status_code == 422
    assert 'id="reject-confirm"' not in answer.text and "请写明原因" in answer.text


def test_the_preview_is_the_banks_packet_marked_and_not_recorded(
    client, login, db_session, in_review
):
    loop = in_review
    login(loop.advisor)
    counts = {
        model: db_session.scalar(select(func.count()).select_from(model))
        for model in (Referral, Packet, AuditEvent)
    }
    answer = client.post(
        f"/advisor/applications/{loop.application.id}/packet-preview",
        data={
            "banks": [str(loop.bank.id)],
            f"product_{loop.bank.id}": str(loop.version_id),
            "opinion": "经营稳定，建议支持",
        },
    )
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    text = _text(answer.data)
    assert "预览" in text and "未发送银行" in text
    assert loop.enterprise.name[:6] in text and loop.bank.name_zh in text
    assert "经营稳定，建议支持" in text
    db_session.expire_all()
    for model, before in counts.items():
        assert db_session.scalar(select(func.count()).select_from(model)) == before, model


def test_previews_are_limited_per_advisor_and_the_refusal_says_so(
    app, client, login, in_review, create_user, monkeypatch
):
    """Each preview renders a PDF in the web worker: one advisor's burst of clicks is cut
    off with a message, and another advisor still gets theirs."""
    monkeypatch.setitem(app.config, "PREVIEW_RATE_LIMIT", "2 per minute")
    loop = in_review
    url = f"/advisor/applications/{loop.application.id}/packet-preview"
    form = {"banks": [str(loop.bank.id)], f"product_{loop.bank.id}": str(loop.version_id)}
    login(loop.advisor)
    answers = [client.post(url, data=form) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0].mimetype == "application/pdf"
    assert "尝试次数过多" in answers[2].text
    client.post("/auth/logout")
    login(create_user("advisor", display_name="李顾问"))
    assert client.post(url, data=form).status_code == 200


def test_a_preview_needs_a_consented_bank_and_a_matched_product(
    client, login, create_bank, in_review
):
    loop = in_review
    login(loop.advisor)
    url = f"/advisor/applications/{loop.application.id}/packet-preview"
    none = client.post(url, data={"opinion": "写了一半的意见"})
    assert none.status_code == 422 and "请先勾选一家银行" in none.text
    assert "写了一半的意见" in none.text
    stranger = create_bank()
    refused = client.post(
        url, data={"banks": [str(stranger.id)], f"product_{stranger.id}": str(loop.version_id)}
    )
    assert refused.status_code == 422 and "未授权" in refused.text


def test_a_batch_packet_reports_its_progress(
    client, login, db_session, batch_world, submitted_batch
):
    login(batch_world.advisor)
    status_url = f"/advisor/batches/{submitted_batch.id}/packet/status"
    assert client.get(status_url).json["state"] is None
    job = Job(
        id="test-running-batch-packet",
        kind=batch_packets.BATCH_PACKET_JOB,
        state="running",
        args={"batch_id": submitted_batch.id, "bank_id": None},
        object_type="batch",
        object_id=submitted_batch.id,
    )
    db_session.add(job)
    db_session.commit()
    page = client.get(f"/advisor/batches/{submitted_batch.id}").text
    assert f'data-status-url="{status_url}"' in page
    status = client.get(status_url).json
    assert status["state"] == "running" and status["done"] is False
    assert status["members"] == 2
    assert "正在生成 2 家企业的材料包" in status["html"]
    assert "data-status-url" in status["html"]
    db_session.delete(job)
    db_session.commit()
    # The eager job of the tests renders at once: the box then offers the download.
    assert client.post(f"/advisor/batches/{submitted_batch.id}/packet").status_code == 302
    done = client.get(status_url).json
    assert done["done"] is True and done["state"] == "done"
    assert 'id="packet-download"' in done["html"] and "data-status-url" not in done["html"]
