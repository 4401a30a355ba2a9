"""The advisor's queue: search by firm name, USCC or number, and the history tabs."""

from __future__ import annotations

import pytest

from finportal.services import applications, queue, review_actions


@pytest.fixture
def history(db_session, create_enterprise, screened_application, create_user):
    """Applications waiting, rejected, withdrawn and closed, of firms with telling names."""
    advisor = create_user("advisor")
    firms = {
        "waiting": create_enterprise(name="上海青松精密机械有限公司"),
        "rejected": create_enterprise(name="上海白桦贸易有限公司"),
        "withdrawn": create_enterprise(name="上海红枫软件有限公司"),
        "closed": create_enterprise(name="上海青松物流有限公司"),
    }
    apps = {key: screened_application(firm) for key, firm in firms.items()}
    review_actions.claim(db_session, apps["rejected"].id, actor_id=advisor.id)
    review_actions.reject(
        db_session,
        apps["rejected"].id,
        actor_id=advisor.id,
        reason_code="high_risk",
        reason_text="风险过高",
    )
    applications.withdraw_application(
        db_session,
        actor_id=None,
        enterprise_id=firms["withdrawn"].id,
        application_id=apps["withdrawn"].id,
    )
    review_actions.claim(db_session, apps["closed"].id, actor_id=advisor.id)
    review_actions.reject(
        db_session, apps["closed"].id, actor_id=advisor.id, reason_code="other", reason_text="其他"
    )
    applications.close_application(
        db_session, actor_id=advisor.id, application_id=apps["closed"].id
    )
    return advisor, firms, apps


def _ids(page):
    return [item.application.id for item in page.items]


def test_each_history_tab_holds_its_ended_applications(db_session, history):
    _advisor, _firms, apps = history
    assert queue.QUEUE_TABS == ("queue", "rejected", "withdrawn", "closed")
    for tab in ("rejected", "withdrawn", "closed"):
        assert apps[tab].id in _ids(queue.queue_page(db_session, tab=tab))
        assert apps["waiting"].id not in _ids(queue.queue_page(db_session, tab=tab))
    waiting = _ids(queue.queue_page(db_session))
    assert apps["waiting"].id in waiting
    assert not {apps[t].id for t in ("rejected", "withdrawn", "closed")} & set(waiting)


def test_search_finds_by_name_uscc_and_number(db_session, history):
    _advisor, firms, apps = history
    by_name = _ids(queue.queue_page(db_session, tab="closed", search="青松"))
    assert by_name == [apps["closed"].id]
    assert _ids(queue.queue_page(db_session, search="青松")) == [apps["waiting"].id]
    uscc = firms["rejected"].uscc
    assert _ids(queue.queue_page(db_session, tab="rejected", search=uscc.lower())) == [
        apps["rejected"].id
    ]
    number = f"#{apps['withdrawn'].id}"
    assert apps["withdrawn"].id in _ids(
        queue.queue_page(db_session, tab="withdrawn", search=number)
    )
    assert _ids(queue.queue_page(db_session, search="不存在的企业名称")) == []
    # LIKE's wildcards are text, not patterns.
    assert _ids(queue.queue_page(db_session, tab="closed", search="%")) == []
    counts = queue.tab_counts(db_session, search="青松")
    assert counts == {"queue": 1, "rejected": 0, "withdrawn": 0, "closed": 1}


def test_the_tab_counts_sum_both_waiting_states_and_count_each_ended_state(
    db_session, client, login, history, create_enterprise, screened_application
):
    """The queue's tab counts screened and in-review applications, each history tab its own
    state; a returned application is in no tab."""
    advisor, _firms, apps = history
    claimed = screened_application(create_enterprise(name="上海青松电子有限公司"))
    review_actions.claim(db_session, claimed.id, actor_id=advisor.id)  # in review
    returned = screened_application(create_enterprise(name="上海白桦食品有限公司"))
    review_actions.claim(db_session, returned.id, actor_id=advisor.id)
    review_actions.return_for_information(
        db_session, returned.id, actor_id=advisor.id, message="请补充财务报表。"
    )
    assert queue.tab_counts(db_session) == {
        "queue": 2,
        "rejected": 1,
        "withdrawn": 1,
        "closed": 1,
    }
    assert queue.tab_counts(db_session, search="青松") == {
        "queue": 2,
        "rejected": 0,
        "withdrawn": 0,
        "closed": 1,
    }
    login(advisor)
    text = client.get("/advisor/").text
    assert "待办（2）" in text and "已办结（1）" in text


def test_the_queue_page_searches_and_shows_the_history(db_session, client, login, history):
    advisor, _firms, apps = history
    login(advisor)
    page = client.get("/advisor/?tab=closed&q=青松")
    assert page.status_code == 200
    assert f'data-application="{apps["closed"].id}"' in page.text
    assert f'data-application="{apps["waiting"].id}"' not in page.text
    assert 'value="青松"' in page.text  # the search box keeps what was typed
    assert "已办结（1）" in page.text
    junk = client.get("/advisor/?tab=nonsense&q=" + "x" * 300)
    assert junk.status_code == 200 and "筛选条件有误，已忽略。" in junk.text
