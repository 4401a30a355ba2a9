"""The complaint pages: raising with bad input, who sees what, the centre's steps, the board."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from finportal.models import AuditEvent, Complaint
from finportal.services import complaints
from tests.helpers import PASSWORD


def _raise(client, **overrides):
    form = {
        "kind": "complaint",
        "about": "centre",
        "theme": "attitude",
        "title": "窗口排队太久",
        "body": "周一上午在窗口排队两小时。",
        **overrides,
    }
    return client.post("/complaints/new", data=form)


def _signed_in(app, user):
    browser = app.test_client()
    answer = browser.post("/auth/login", data={"username": user.username, "password": PASSWORD})
    assert answer.status_code == 302
    return browser


@pytest.mark.parametrize("role", ["sme", "bank", "recommender", "advisor"])
def test_every_role_raises_a_complaint_and_gets_a_number(
    db_session, client, login, create_user, role
):
    user = create_user(role)
    login(user)
    answer = _raise(client)
    assert answer.status_code == 302
    complaint = db_session.scalar(select(Complaint).where(Complaint.raised_by_id == user.id))
    assert answer.headers["Location"].endswith(f"/complaints/{complaint.id}")
    page = client.get(f"/complaints/{complaint.id}")
    assert complaint.number in page.text
    assert "待受理" in page.text
    listing = client.get("/complaints/")
    assert complaint.number in listing.text


def test_bad_input_is_refused_in_the_users_language_and_the_form_kept(
    db_session, client, login, centre
):
    login(centre.sme)
    before = db_session.scalar(select(func.count()).select_from(Complaint))
    answer = _raise(client, about="bank", bank_id="", title="", body="银行一直不回电话。")
    assert answer.status_code == 422
    assert "请修改标出的内容" in answer.text
    assert "银行一直不回电话。" in answer.text  # what was typed is kept
    junk = _raise(client, kind="x", about="bank", bank_id="999999999999", stars="x")
    assert junk.status_code == 422
    assert db_session.scalar(select(func.count()).select_from(Complaint)) == before


def test_a_refusal_reads_in_english(db_session, client, login, centre):
    client.get("/lang/en")
    login(centre.sme)
    english = _raise(client, about="product", product_id="", title="Fees")
    assert english.status_code == 422
    assert "Choose the product." in english.text
    assert 'value="Fees"' in english.text


def test_only_the_raiser_the_assignee_and_supervisors_see_a_complaint(
    app, db_session, centre, create_user
):
    c = centre
    raised = complaints.raise_complaint(
        db_session,
        actor=c.actor(c.sme),
        kind="complaint",
        about="bank",
        theme="fees",
        title="收费不透明",
        body="银行额外收取了咨询费。",
        bank_id=c.bank.id,
    )
    other_sme = create_user("sme")
    url_raiser = f"/complaints/{raised.id}"
    url_centre = f"/advisor/complaints/{raised.id}"
    # Another firm, the bank complained about, and an advisor it was not given to: 404.
    for outsider in (other_sme, c.bank_user):
        assert _signed_in(app, outsider).get(url_raiser).status_code == 404
    advisor = _signed_in(app, c.advisor)
    assert advisor.get(url_centre).status_code == 404
    assert raised.number not in advisor.get("/advisor/complaints").text
    # A supervisor sees and assigns it; then the assignee sees it, the other advisor not.
    supervisor = _signed_in(app, c.supervisor)
    assert supervisor.get(url_centre).status_code == 200
    assert raised.number in supervisor.get("/advisor/complaints").text
    assigned = supervisor.post(
        f"{url_centre}/assign",
        data={"advisor_id": c.advisor.id, "lock_version": raised.lock_version},
    )
    assert assigned.status_code == 302
    assert advisor.get(url_centre).status_code == 200
    assert raised.number in advisor.get("/advisor/complaints").text
    assert _signed_in(app, c.other_advisor).get(url_centre).status_code == 404
    # A plain advisor cannot assign, nor open the board or the reports.
    refused = advisor.post(f"{url_centre}/assign", data={"advisor_id": c.other_advisor.id})
    assert refused.status_code == 403
    assert advisor.get("/advisor/assignment").status_code == 403
    assert advisor.get("/advisor/reports").status_code == 403
    assert "交办与预警" not in advisor.get("/advisor/").text
    assert "交办与预警" in supervisor.get("/advisor/").text
    # Every assignment is audited: who gave it to whom.
    event = db_session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "complaint.assigned", AuditEvent.object_id == raised.id
        )
    )
    assert event.actor_id == c.supervisor.id and event.data == {"from": None, "to": c.advisor.id}


def test_the_centre_acknowledges_and_answers_and_the_raiser_rates(app, db_session, centre):
    c = centre
    raised = complaints.raise_complaint(
        db_session,
        actor=c.actor(c.sme),
        kind="suggestion",
        about="portal",
        theme="portal_use",
        title="增加短信提醒",
        body="希望状态变化时发短信。",
    )
    supervisor = _signed_in(app, c.supervisor)
    url = f"/advisor/complaints/{raised.id}"
    seen = raised.lock_version
    assert supervisor.post(f"{url}/acknowledge", data={"lock_version": seen}).status_code == 302
    empty = supervisor.post(f"{url}/answer", data={"answer": "  "})
    assert empty.status_code == 422 and "请填写答复内容" in empty.text
    stale = supervisor.post(f"{url}/answer", data={"answer": "好的", "lock_version": seen})
    assert stale.status_code == 409  # the page was older than the complaint
    assert "好的" in stale.text  # what was typed is kept
    db_session.refresh(raised)
    done = supervisor.post(
        f"{url}/answer", data={"answer": "下个版本上线。", "lock_version": raised.lock_version}
    )
    assert done.status_code == 302
    sme = _signed_in(app, c.sme)
    page = sme.get(f"/complaints/{raised.id}")
    assert "下个版本上线。" in page.text and 'id="rate-form"' in page.text
    no_stars = sme.post(f"/complaints/{raised.id}/rate", data={"comment": "一般"})
    assert no_stars.status_code == 422 and "一般" in no_stars.text
    happy_reopen = sme.post(
        f"/complaints/{raised.id}/rate", data={"stars": "5", "action": "reopen", "comment": "x"}
    )
    assert happy_reopen.status_code == 422 and "不满意" in happy_reopen.text
    rated = sme.post(f"/complaints/{raised.id}/rate", data={"stars": "5", "comment": "很好"})
    assert rated.status_code == 302
    assert db_session.get(Complaint, raised.id).state == "closed"
    # The supervisor cannot rate someone else's complaint (not the raiser).
    assert supervisor.post(f"/complaints/{raised.id}/rate", data={"stars": "1"}).status_code in (
        403,
        409,
    )


def test_the_board_shows_each_advisors_load_and_assigns_an_application(
    app, db_session, centre, create_enterprise, screened_application
):
    from datetime import timedelta

    from finportal.models import utcnow

    late = screened_application(create_enterprise())
    late.first_response_due_at = utcnow() - timedelta(hours=2)
    db_session.commit()
    supervisor = _signed_in(app, centre.supervisor)
    board = supervisor.get("/advisor/assignment?tab=overdue")
    assert board.status_code == 200
    assert f'data-application="{late.id}"' in board.text
    answer = supervisor.post(
        f"/advisor/applications/{late.id}/assign?tab=overdue",
        data={"advisor_id": centre.advisor.id, "lock_version": late.lock_version},
    )
    assert answer.status_code == 302
    db_session.refresh(late)
    assert late.assigned_advisor_id == centre.advisor.id
    board = supervisor.get("/advisor/assignment")
    row = board.text.split(f'data-advisor="{centre.advisor.id}"')[1].split("</tr>")[0]
    assert [cell.split("<")[0].strip() for cell in row.split('class="num">')[1:]] == [
        "1",
        "1",
        "0",
        "0",
        "0",
        "0",
        "1",
    ]
    junk = supervisor.post(f"/advisor/applications/{late.id}/assign", data={"advisor_id": "x"})
    assert junk.status_code == 422
    not_advisor = supervisor.post(
        f"/advisor/applications/{late.id}/assign", data={"advisor_id": centre.sme.id}
    )
    assert not_advisor.status_code == 422
    event = db_session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "application.assigned", AuditEvent.object_id == late.id
        )
    )
    assert event.actor_id == centre.supervisor.id


def test_the_public_report_shows_only_after_the_head_approves(app, db_session, centre):
    from tests.finportal.complaints.conftest import at

    c = centre
    raised = complaints.raise_complaint(
        db_session,
        actor=c.actor(c.sme),
        kind="complaint",
        about="bank",
        theme="response_time",
        title="反馈慢",
        body="三天没有反馈。",
        bank_id=c.bank.id,
        now=at(1, 10),
    )
    complaints.acknowledge(db_session, raised.id, actor=c.actor(c.supervisor), now=at(1, 14))
    public = app.test_client()
    assert "暂无已公开的报告" in public.get("/ratings").text
    supervisor = _signed_in(app, c.supervisor)
    bad = supervisor.post("/advisor/reports", data={"start": "2026-12-31", "end": "2026-12-01"})
    assert bad.status_code == 422 and "结束日期不能早于开始日期" in bad.text
    made = supervisor.post("/advisor/reports", data={"start": "2026-12-01", "end": "2026-12-31"})
    assert made.status_code == 302
    assert c.bank.name_zh not in public.get("/ratings").text  # a draft is not public
    from finportal.models import PublishedReport

    report = db_session.scalar(select(PublishedReport).order_by(PublishedReport.id.desc()))
    assert report.data["rows"][0]["median_ack_hours"] == pytest.approx(4.0)
    assert supervisor.post(f"/advisor/reports/{report.id}/approve").status_code == 403
    head = _signed_in(app, c.head)
    assert head.post(f"/advisor/reports/{report.id}/approve").status_code == 302
    shown = public.get("/ratings").text
    assert c.bank.name_zh in shown and "4.0" in shown
    assert head.post(f"/advisor/reports/{report.id}/withdraw").status_code == 302
    assert c.bank.name_zh not in public.get("/ratings").text


def test_the_visibility_rule_and_its_sql_twin_agree(db_session, centre, create_user):
    from finportal.domain.permissions import Actor, complaints_seen, sees_complaint
    from finportal.services import assignment

    c = centre
    raisers = [c.sme, c.bank_user, c.advisor]
    made = []
    for n, raiser in enumerate(raisers):
        made.append(
            complaints.raise_complaint(
                db_session,
                actor=Actor.of(raiser),
                kind="suggestion",
                about="portal",
                theme="other",
                title=f"建议 {n}",
                body="内容",
            )
        )
    assignment.assign_complaint(
        db_session, made[0].id, actor=Actor.of(c.head), advisor_id=c.other_advisor.id
    )
    people = [*raisers, c.other_advisor, c.supervisor, c.head, create_user("admin")]
    for person in people:
        actor = Actor.of(person)
        by_rule = {m.id for m in made if sees_complaint(actor, m)}
        ids = [m.id for m in made]
        by_sql = set(
            db_session.scalars(
                select(Complaint.id).where(Complaint.id.in_(ids), complaints_seen(actor))
            )
        )
        assert by_rule == by_sql, person.username
    # The supervisors and the head see all three; the admin none; each raiser their own.
    assert {m.id for m in made if sees_complaint(Actor.of(c.head), m)} == {m.id for m in made}
    assert not any(sees_complaint(Actor.of(people[-1]), m) for m in made)
    assert [sees_complaint(Actor.of(c.other_advisor), m) for m in made] == [True, False, False]


def test_only_open_work_can_be_assigned(db_session, centre):
    from finportal.services import assignment
    from finportal.services.errors import InvalidTransition

    c = centre
    raised = complaints.raise_complaint(
        db_session,
        actor=c.actor(c.sme),
        kind="suggestion",
        about="centre",
        theme="other",
        title="建议",
        body="内容",
    )
    complaints.acknowledge(db_session, raised.id, actor=c.actor(c.supervisor))
    complaints.answer(db_session, raised.id, actor=c.actor(c.supervisor), text="好。")
    with pytest.raises(InvalidTransition, match="only open complaints"):
        assignment.assign_complaint(
            db_session, raised.id, actor=c.actor(c.supervisor), advisor_id=c.advisor.id
        )
