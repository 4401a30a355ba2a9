"""Operations: request ids, JSON logs, Prometheus metrics (loopback or token only), health."""

from __future__ import annotations

import json
import logging

import pytest

from finportal import jobs, observability


def test_a_request_keeps_the_callers_request_id_or_gets_one(client):
    mine = client.get("/health/live", headers={"X-Request-ID": "lb-7f3a9c01-req"})
    assert mine.headers["X-Request-ID"] == "lb-7f3a9c01-req"
    made = client.get("/health/live", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert made.headers["X-Request-ID"] != "<script>alert(1)</script>"
    assert len(made.headers["X-Request-ID"]) == 32
    assert client.get("/auth/login").headers["X-Request-ID"]


def test_liveness_and_readiness(client):
    assert client.get("/health/live").json == {"status": "ok"}
    ready = client.get("/health/ready")
    assert ready.status_code == 200, ready.json
    assert ready.json["checks"] == {"database": "ok", "migrations": "ok"}
    assert client.get("/healthz").json == ready.json


def test_health_and_readiness_are_never_answered_from_the_page_cache(
    app, client, redis_url, monkeypatch
):
    """A probe asks about this moment: with the page cache on, every answer is checked anew
    (a readiness kept from before the database went away would keep traffic coming)."""
    from finportal import page_cache

    monkeypatch.setitem(app.config, "PAGE_CACHE_URL", redis_url)
    for url in ("/health/live", "/health/ready", "/healthz", "/health/live"):
        answer = client.get(url)
        assert answer.status_code == 200
        assert page_cache.HEADER not in answer.headers
    assert set(app.blueprints) >= page_cache.NEVER_BLUEPRINTS


def test_not_ready_without_a_migrated_schema_or_without_redis(tmp_path, monkeypatch):
    from finportal import create_app

    monkeypatch.setenv("FINPORTAL_INSTANCE_PATH", str(tmp_path))
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}",
            "JOBS_MODE": "eager",
            "REDIS_URL": "redis://127.0.0.1:1/0",
        }
    )
    answer = app.test_client().get("/health/ready")
    assert answer.status_code == 503
    checks = answer.json["checks"]
    assert "alembic_version" in checks["database"]
    assert "Connection" in checks["redis"]
    # Liveness does not depend on either.
    assert app.test_client().get("/health/live").status_code == 200


def test_metrics_are_served_to_loopback_only_or_with_the_token(app, client, monkeypatch):
    client.get("/health/live")
    local = client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert local.status_code == 200
    assert 'finportal_http_request_duration_seconds_bucket{endpoint="health.live"' in local.text
    assert "finportal_jobs" in local.text
    remote = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.8.0.5"})
    assert remote.status_code == 404
    proxied = client.get(
        "/metrics",
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
        headers={"X-Forwarded-For": "8.8.8.8"},
    )
    assert proxied.status_code == 404
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "s3cret-scraper-token-0123456789")
    wrong = client.get(
        "/metrics",
        environ_base={"REMOTE_ADDR": "10.8.0.5"},
        headers={"Authorization": "Bearer nope"},
    )
    assert wrong.status_code == 404
    right = client.get(
        "/metrics",
        environ_base={"REMOTE_ADDR": "10.8.0.5"},
        headers={"Authorization": "Bearer s3cret-scraper-token-0123456789"},
    )
    assert right.status_code == 200


def test_metrics_count_failed_jobs(app, client, db_session):
    with app.test_request_context():
        jobs.enqueue(db_session, "selftest", fail=True)
    text = client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).text
    assert 'finportal_job_runs_total{kind="selftest",outcome="failed"}' in text
    assert 'finportal_jobs{state="failed"}' in text


@pytest.fixture
def json_logs(app, capsys, monkeypatch):
    monkeypatch.setitem(app.config, "ACCESS_LOG", True)
    observability.configure_logging("json")
    yield capsys
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_finportal", False)]:
        root.removeHandler(handler)


def test_logs_are_json_lines_with_the_request_id(client, json_logs):
    client.get("/health/live", headers={"X-Request-ID": "trace-0001-abcdef"})
    err = json_logs.readouterr().err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "finportal.access"]
    assert access, err
    assert access[-1]["request_id"] == "trace-0001-abcdef"
    assert access[-1]["endpoint"] == "health.live"
    assert access[-1]["status"] == 200
    assert access[-1]["duration_ms"] >= 0
