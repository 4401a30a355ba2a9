"""Background jobs: state is stored; a failed job leaves nothing half-written."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from sqlalchemy import select

from finportal import jobs
from finportal.models import AuditEvent, Job
from tests.helpers import own_redis_database


def test_eager_job_runs_and_records_done(app, db_session):
    with app.test_request_context():
        record = jobs.enqueue(db_session, "selftest", note="hello")
    assert record.state == "done"
    assert record.result == {"note": "hello"}
    assert record.started_at and record.finished_at
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.reason == "hello"))


def test_failed_job_keeps_its_message_and_rolls_back_its_writes(app, db_session):
    with app.test_request_context():
        record = jobs.enqueue(db_session, "selftest", fail=True, note="half-written")
    assert record.state == "failed"
    assert "失败" in record.message
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.reason == "half-written")) is None


def test_thread_mode_runs_in_background(tmp_path, monkeypatch):
    import flask_migrate

    from finportal import create_app
    from finportal.extensions import db

    monkeypatch.setenv("FINPORTAL_INSTANCE_PATH", str(tmp_path))
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'jobs.db'}",
            "JOBS_MODE": "thread",
        }
    )
    with app.app_context():
        flask_migrate.upgrade()
        with app.test_request_context():
            record = jobs.enqueue(db.session, "selftest", note="threaded")
        job_id = record.id
        deadline = time.monotonic() + 20
        state = "queued"
        while time.monotonic() < deadline:
            with db.get_engine().connect() as conn:
                state = conn.execute(select(Job.state).where(Job.id == job_id)).scalar_one()
            if state in ("done", "failed"):
                break
            time.sleep(0.05)
        assert state == "done"
        db.get_engine().dispose()


@pytest.mark.skipif(
    not os.environ.get("FINPORTAL_TEST_REDIS_URL"), reason="needs FINPORTAL_TEST_REDIS_URL"
)
def test_rq_mode_enqueues_on_redis_and_a_worker_runs_it(tmp_path, monkeypatch):
    import flask_migrate

    from finportal import create_app
    from finportal.extensions import db

    redis_url = own_redis_database(os.environ["FINPORTAL_TEST_REDIS_URL"], "rq_worker_runs_a_job")
    db_url = f"sqlite:///{tmp_path / 'rq.db'}"
    env = {
        "FINPORTAL_DATABASE_URL": db_url,
        "FINPORTAL_REDIS_URL": redis_url,
        "FINPORTAL_INSTANCE_PATH": str(tmp_path),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    app = create_app({"TESTING": True})
    assert app.config["JOBS_MODE"] == "rq"
    with app.app_context():
        flask_migrate.upgrade()
        from redis import Redis

        Redis.from_url(redis_url).delete("rq:queue:finportal")
        with app.test_request_context():
            record = jobs.enqueue(db.session, "selftest", note="via-redis")
        assert db.session.get(Job, record.id).state == "queued"
        # A real worker process, as in production.
        subprocess.run(
            [
                os.path.join(os.path.dirname(os.sys.executable), "rq"),
                "worker",
                "--burst",
                "--url",
                redis_url,
                "--worker-class",
                "rq.worker.SimpleWorker",
                "finportal",
            ],
            check=True,
            env={**os.environ, **env},
            capture_output=True,
            timeout=120,
        )
        db.session.expire_all()
        done = db.session.get(Job, record.id)
        assert done.state == "done", done.message
        assert done.result == {"note": "via-redis"}
        db.get_engine().dispose()
