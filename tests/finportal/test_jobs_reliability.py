"""Jobs survive faults: passing failures are retried with backoff, a job runs once however
often it is delivered, a dead worker's job is queued again, a dead Redis does not stop jobs,
and failed jobs wait in the admin's dead-letter list with a retry button."""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from finportal import jobs
from finportal.models import AuditEvent, CreditScore, Job, utcnow
from tests.helpers import own_redis_database


def _enqueue(app, session, **kwargs):
    with app.test_request_context():
        return jobs.enqueue(session, "selftest", **kwargs)


def test_a_passing_fault_is_retried_until_the_job_succeeds(app, db_session):
    record = _enqueue(app, db_session, note="flaky", fail_attempts=2)
    db_session.expire_all()
    record = db_session.get(Job, record.id)
    assert record.state == "done"
    assert record.attempts == 3
    # Only the successful attempt's writes stay: the failed attempts rolled back.
    events = db_session.scalars(select(AuditEvent).where(AuditEvent.reason == "flaky")).all()
    assert len(events) == 1


def test_retries_wait_longer_each_time(app, db_session, monkeypatch):
    delays = []
    monkeypatch.setitem(app.config, "JOBS_MODE", "thread")
    monkeypatch.setattr(jobs, "_in_thread", lambda _app, job_id, delay: delays.append(delay))
    record = _enqueue(app, db_session, fail_attempts=5)
    with app.test_request_context():
        jobs.run_job(record.id)
        jobs.run_job(record.id)
    assert delays == [0, jobs.BACKOFF[0], jobs.BACKOFF[1]]
    db_session.expire_all()
    job = db_session.get(Job, record.id)
    assert job.state == "queued" and "attempt 2 of 3 failed" in job.message


def test_a_job_that_keeps_failing_ends_failed_and_a_refusal_is_not_retried(app, db_session):
    flaky = _enqueue(app, db_session, fail_attempts=99)
    refused = _enqueue(app, db_session, fail=True)
    db_session.expire_all()
    flaky, refused = db_session.get(Job, flaky.id), db_session.get(Job, refused.id)
    assert (flaky.state, flaky.attempts) == ("failed", jobs.kind_of("selftest").attempts)
    assert "ConnectionError" in flaky.message
    assert (refused.state, refused.attempts) == ("failed", 1)


def test_a_job_delivered_twice_runs_once(app, db_session):
    record = _enqueue(app, db_session, note="once")
    with app.test_request_context():
        again = jobs.run_job(record.id)
    assert again.state == "done" and again.attempts == 1
    assert len(db_session.scalars(select(AuditEvent).where(AuditEvent.reason == "once")).all()) == 1


def test_the_sweep_requeues_a_job_whose_worker_died_and_leaves_a_live_one(app, db_session):
    dead = _enqueue(app, db_session, note="dead-runner")
    live = _enqueue(app, db_session, note="live-runner")
    # A worker that was killed mid-job: its job stays running with its runner's pid.
    gone = os.fork()
    if gone == 0:
        os._exit(0)
    os.waitpid(gone, 0)
    for job_id, runner in (
        (dead.id, f"{os.uname().nodename}:{gone}"),
        (live.id, jobs.runner_name()),
    ):
        db_session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(state="running", runner=runner, started_at=utcnow(), attempts=1)
        )
    db_session.commit()
    with app.test_request_context():
        result = jobs.sweep(db_session)
    assert result["requeued"] == 1
    db_session.expire_all()
    assert db_session.get(Job, dead.id).state == "done"
    assert db_session.get(Job, dead.id).attempts == 2
    assert db_session.get(Job, live.id).state == "running"


def test_the_sweep_hands_out_a_queued_job_nobody_holds(app, db_session):
    record = Job(id="lost-job-0001", kind="selftest", state="queued", args={"note": "lost"})
    record.created_at = utcnow() - timedelta(minutes=10)
    db_session.add(record)
    db_session.commit()
    with app.test_request_context():
        assert jobs.sweep(db_session)["redispatched"] == 1
    db_session.expire_all()
    assert db_session.get(Job, "lost-job-0001").state == "done"


def test_jobs_run_in_process_when_redis_is_down(tmp_path, monkeypatch):
    import flask_migrate

    from finportal import create_app
    from finportal.extensions import db

    monkeypatch.setenv("FINPORTAL_INSTANCE_PATH", str(tmp_path))
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'jobs.db'}",
            "JOBS_MODE": "rq",
            "REDIS_URL": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    )
    with app.app_context():
        flask_migrate.upgrade()
        with app.test_request_context():
            record = jobs.enqueue(db.session, "selftest", note="no-redis")
        deadline = time.monotonic() + 20
        state = "queued"
        while time.monotonic() < deadline and state not in ("done", "failed"):
            time.sleep(0.05)
            with db.get_engine().connect() as conn:
                state = conn.execute(select(Job.state).where(Job.id == record.id)).scalar_one()
        assert state == "done"
        db.get_engine().dispose()


def test_dead_letters_are_listed_for_the_admin_and_can_be_retried(
    app, client, db_session, create_user, login
):
    failed = _enqueue(app, db_session, note="dead-letter", fail_attempts=99)
    login(create_user("admin"))
    page = client.get("/admin/jobs")
    assert page.status_code == 200
    assert f'data-job-id="{failed.id}"' in page.text
    assert "重新排队" in page.text and "ConnectionError" in page.text
    # The cause is fixed (here: the job would no longer fail), then the admin retries.
    db_session.execute(update(Job).where(Job.id == failed.id).values(args={"note": "dead-letter"}))
    db_session.commit()
    answer = client.post(f"/admin/jobs/{failed.id}/retry", data={"next": "//evil.example"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/admin/jobs")
    db_session.expire_all()
    assert db_session.get(Job, failed.id).state == "done"
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.action == "job.retried"))
    assert f'data-job-id="{failed.id}"' not in client.get("/admin/jobs").text
    again = client.post(f"/admin/jobs/{failed.id}/retry")
    assert again.status_code == 302  # refused with a message: only a failed job is retried
    assert "只有失败的任务可以重试" in client.get("/admin/jobs").text


def test_bad_filters_on_the_job_list_are_refused_politely(client, create_user, login):
    login(create_user("admin"))
    assert client.get("/admin/jobs?state=bogus").status_code == 422
    assert client.get("/admin/jobs?page=0").status_code == 422


def test_a_packet_rendered_twice_at_once_is_stored_once(db_session, loop, monkeypatch):
    from finportal import packets
    from finportal.models import Packet
    from finportal.services.packets import add_packet, render_referral_packet
    from finportal.storage import packet_store

    referral_id = loop.referral.id
    db_session.execute(delete(Packet).where(Packet.referral_id == referral_id))
    db_session.commit()
    real_render = packets.render_packet
    first = {}

    def racing_render(ctx):
        # While this run renders, another run of the same job stores its packet first.
        row = add_packet(
            db_session,
            packet_store(),
            kind="referral",
            pdf=b"%PDF-first",
            packet_number="FIRST",
            verification_code="FIRSTCODE1",
            referral_id=referral_id,
        )
        db_session.flush()
        first["id"] = row.id
        return real_render(ctx)

    monkeypatch.setattr(packets, "render_packet", racing_render)
    before = len(
        db_session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "referral.packet_rendered", AuditEvent.object_id == referral_id
            )
        ).all()
    )
    result = render_referral_packet(db_session, referral_id=referral_id)
    db_session.commit()
    assert result["skipped"] == "already rendered"
    stored = db_session.scalars(select(Packet.id).where(Packet.referral_id == referral_id)).all()
    assert stored == [first["id"]]
    after = db_session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "referral.packet_rendered", AuditEvent.object_id == referral_id
        )
    ).all()
    assert len(after) == before


def test_rescoring_twice_adds_each_score_once(db_session, loop, champion_model):
    from finportal.services.credit import rescore_open_applications

    def scores():
        return len(
            db_session.scalars(
                select(CreditScore).where(
                    CreditScore.application_id == loop.application.id,
                    CreditScore.model_version_id == champion_model.id,
                )
            ).all()
        )

    first = rescore_open_applications(db_session, model_version_id=champion_model.id)
    db_session.commit()
    count = scores()
    second = rescore_open_applications(db_session, model_version_id=champion_model.id)
    db_session.commit()
    assert scores() == count == 1
    assert second["rescored"] == 0 and first["rescored"] >= 0


@pytest.mark.skipif(
    not os.environ.get("FINPORTAL_TEST_REDIS_URL"), reason="needs FINPORTAL_TEST_REDIS_URL"
)
def test_the_sweep_takes_back_a_job_a_dead_worker_popped_from_redis(tmp_path, monkeypatch):
    import flask_migrate
    from redis import Redis
    from rq import Queue

    from finportal import create_app
    from finportal.extensions import db

    redis_url = own_redis_database(
        os.environ["FINPORTAL_TEST_REDIS_URL"], "sweep_takes_back_a_popped_job"
    )
    monkeypatch.setenv("FINPORTAL_INSTANCE_PATH", str(tmp_path))
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'popped.db'}",
            "JOBS_MODE": "rq",
            "REDIS_URL": redis_url,
        }
    )
    queue = Queue(jobs.QUEUE, connection=Redis.from_url(redis_url))
    queue.empty()
    with app.app_context():
        flask_migrate.upgrade()
        with app.test_request_context():
            record = jobs.enqueue(db.session, "selftest", note="popped")
        # A worker took it off the queue and died before claiming it: RQ's own record
        # of the job still says "queued", but no list holds it any more.
        assert queue.connection.lrem(queue.key, 0, record.id) == 1
        db.session.execute(
            update(Job)
            .where(Job.id == record.id)
            .values(created_at=utcnow() - timedelta(minutes=5))
        )
        db.session.commit()
        with app.test_request_context():
            assert jobs.sweep(db.session)["redispatched"] == 1
        assert record.id in queue.get_job_ids()
        # Swept again at once: RQ holds it now, nothing is handed out twice.
        with app.test_request_context():
            assert jobs.sweep(db.session, lost_after=0)["redispatched"] == 0
        queue.empty()
        db.get_engine().dispose()
