"""Recommender pages: own members only, eligibility for the batch product, recommend, withdraw."""

from __future__ import annotations

from sqlalchemy import select

from finportal.models import BatchMember


def test_home_lists_own_members_with_eligibility(client, batch_world, open_batch, login):
    w = batch_world
    login(w.recommender)
    page = client.get("/recommender/")
    assert page.status_code == 200
    for enterprise in w.members:
        assert enterprise.name in page.text
    assert w.outsider.name not in page.text
    assert "园区批次贷" in page.text and "符合" in page.text
    assert open_batch.code in page.text


def test_chamber_recommender_sees_only_the_chamber(client, batch_world, open_batch, login):
    w = batch_world
    login(w.chamber_recommender)
    page = client.get("/recommender/")
    assert w.outsider.name in page.text and "商会批次贷" in page.text
    assert all(e.name not in page.text for e in w.members)
    assert open_batch.code not in page.text


def test_recommend_and_withdraw(client, db_session, batch_world, open_batch, login):
    w = batch_world
    login(w.recommender)
    response = client.post(
        "/recommender/recommendations",
        data={
            "batch_id": open_batch.id,
            "enterprise_id": w.members[0].id,
            "note": "订单充足",
            "requested_amount_wan": "200",
        },
    )
    assert response.status_code == 302
    member = db_session.scalar(select(BatchMember).where(BatchMember.batch_id == open_batch.id))
    assert member.note == "订单充足" and member.requested_amount == 2000000
    assert member.recommended_by_id == w.recommender.id
    page = client.get("/recommender/")
    assert "已推荐" in page.text
    response = client.post(f"/recommender/batches/{open_batch.id}/members/{member.id}/withdraw")
    assert response.status_code == 302
    db_session.refresh(member)
    assert member.state == "withdrawn"


def test_recommending_outside_the_organisation_is_not_found(
    client, db_session, batch_world, open_batch, login
):
    w = batch_world
    login(w.recommender)
    response = client.post(
        "/recommender/recommendations",
        data={"batch_id": open_batch.id, "enterprise_id": w.outsider.id},
    )
    assert response.status_code == 404
    login(w.chamber_recommender)
    response = client.post(
        "/recommender/recommendations",
        data={"batch_id": open_batch.id, "enterprise_id": w.members[0].id},
    )
    assert response.status_code == 404
    assert db_session.scalar(select(BatchMember.id)) is None


def test_a_bad_form_changes_nothing(client, db_session, batch_world, open_batch, login):
    login(batch_world.recommender)
    for data in (
        {"batch_id": open_batch.id, "enterprise_id": "abc"},
        {
            "batch_id": open_batch.id,
            "enterprise_id": batch_world.members[0].id,
            "requested_amount_wan": "-1",
        },
        {
            "batch_id": open_batch.id,
            "enterprise_id": batch_world.members[0].id,
            "requested_amount_wan": "301",
        },
    ):
        response = client.post("/recommender/recommendations", data=data, follow_redirects=True)
        assert response.status_code == 200
        assert "flash-danger" in response.text
    assert db_session.scalar(select(BatchMember.id)) is None
