"""Sign-in throttling per address across usernames, counted in Redis when Redis is configured.

Each "worker" below is an app created on its own, as a gunicorn worker creates its own: the
rate limiter then opens its own storage. In memory that storage is the worker's alone; in
Redis every worker counts in the same place.
"""

from __future__ import annotations

import os
import uuid

import pytest

SPRAYER = "203.0.113.7"  # an address of the documentation range (RFC 5737)


@pytest.fixture
def restore_limiter(app):
    """Give the test's own apps the rate limiter, then hand it back to the session's app."""
    from finportal.extensions import limiter

    saved = (limiter._storage, limiter._limiter, limiter._key_prefix)
    yield limiter
    limiter._storage, limiter._limiter, limiter._key_prefix = saved


def worker(database_url, tmp_path, storage_uri, prefix, **config):
    """Create one app (one worker) counting sign-ins in ``storage_uri``."""
    from finportal import create_app
    from finportal.extensions import limiter

    os.environ["FINPORTAL_INSTANCE_PATH"] = str(tmp_path)
    limiter._key_prefix = None  # the limiter keeps the first app's prefix otherwise
    return create_app(
        {
            "TESTING": True,
            "CHECK_PACKET_ENVIRONMENT": False,
            "DATABASE_URL": database_url,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_STORAGE_URI": storage_uri,
            "RATELIMIT_KEY_PREFIX": prefix,
            "LOGIN_RATE_LIMIT": "1000 per minute",
            "LOGIN_IP_RATE_LIMIT": "5 per hour",
            **config,
        }
    ).test_client()


def spray(client, usernames, address=SPRAYER):
    """Try one password on each username from one address; return the status codes."""
    return [
        client.post(
            "/auth/login",
            data={"username": name, "password": "Spring2026!"},
            environ_base={"REMOTE_ADDR": address},
        ).status_code
        for name in usernames
    ]


def test_one_address_is_stopped_across_usernames(
    app, database_url, tmp_path, monkeypatch, restore_limiter
):
    monkeypatch.setenv("FINPORTAL_INSTANCE_PATH", str(tmp_path))
    client = worker(database_url, tmp_path, "memory://", f"t{uuid.uuid4().hex[:8]}")
    codes = spray(client, [f"user{i}" for i in range(7)])
    assert codes == [401] * 5 + [429] * 2
    page = client.post(
        "/auth/login",
        data={"username": "someone-else", "password": "x"},
        environ_base={"REMOTE_ADDR": SPRAYER},
    )
    assert page.status_code == 429 and "尝试次数过多" in page.text
    # Another address is not punished for the sprayer.
    assert spray(client, ["user1"], address="198.51.100.20") == [401]


def test_only_failed_sign_ins_count(
    app, database_url, tmp_path, monkeypatch, restore_limiter, db_session, create_user
):
    """An office behind one address signs in all day; only wrong passwords count."""
    from tests.helpers import PASSWORD

    monkeypatch.setenv("FINPORTAL_INSTANCE_PATH", str(tmp_path))
    client = worker(database_url, tmp_path, "memory://", f"t{uuid.uuid4().hex[:8]}")
    user = create_user("advisor")
    for _ in range(8):
        ok = client.post(
            "/auth/login",
            data={"username": user.username, "password": PASSWORD},
            environ_base={"REMOTE_ADDR": SPRAYER},
        )
        assert ok.status_code == 302
        client.post("/auth/logout", environ_base={"REMOTE_ADDR": SPRAYER})
    assert spray(client, [f"user{i}" for i in range(6)]) == [401] * 5 + [429]


def test_workers_share_the_count_in_redis_not_in_memory(
    app, database_url, tmp_path, monkeypatch, restore_limiter, redis_url
):
    import redis

    monkeypatch.setenv("FINPORTAL_INSTANCE_PATH", str(tmp_path))
    names = [f"staff{i}" for i in range(6)]

    # In memory, each worker counts alone: 3 + 3 failures never reach the limit of 5.
    prefix = f"t{uuid.uuid4().hex[:8]}"
    first = worker(database_url, tmp_path, "memory://", prefix)
    assert spray(first, names[:3]) == [401] * 3
    second = worker(database_url, tmp_path, "memory://", prefix)
    assert spray(second, names[3:]) == [401] * 3

    # In Redis, the second worker sees the first one's failures.
    prefix = f"t{uuid.uuid4().hex[:8]}"
    first = worker(database_url, tmp_path, redis_url, prefix)
    assert spray(first, names[:3]) == [401] * 3
    second = worker(database_url, tmp_path, redis_url, prefix)
    assert spray(second, names[3:]) == [401, 401, 429]
    # Five failures counted in one place: three from the first worker, two from the second.
    count = redis.Redis.from_url(redis_url).get(
        f"LIMITS:LIMITER/{prefix}/{SPRAYER}/auth.login/5/1/hour"
    )
    assert count == b"5"


def test_the_default_storage_is_redis_when_redis_is_configured(monkeypatch, tmp_path):
    from finportal.config import load_config

    monkeypatch.delenv("FINPORTAL_RATELIMIT_STORAGE_URI", raising=False)
    monkeypatch.setenv("FINPORTAL_REDIS_URL", "redis://127.0.0.1:6379/3")
    assert load_config(str(tmp_path))["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/3"
    monkeypatch.delenv("FINPORTAL_REDIS_URL")
    assert load_config(str(tmp_path))["RATELIMIT_STORAGE_URI"] == "memory://"


def test_behind_a_proxy_the_client_address_counts(
    app, database_url, tmp_path, monkeypatch, restore_limiter
):
    """With FINPORTAL_PROXY_COUNT=1 the throttle keys on X-Forwarded-For, not the proxy."""
    monkeypatch.setenv("FINPORTAL_INSTANCE_PATH", str(tmp_path))
    client = worker(database_url, tmp_path, "memory://", f"t{uuid.uuid4().hex[:8]}", PROXY_COUNT=1)

    def via_proxy(client_address, name):
        return client.post(
            "/auth/login",
            data={"username": name, "password": "x"},
            environ_base={"REMOTE_ADDR": "10.0.0.2"},
            headers={"X-Forwarded-For": client_address},
        ).status_code

    assert [via_proxy(SPRAYER, f"u{i}") for i in range(6)] == [401] * 5 + [429]
    # Everyone else behind the same proxy still signs in.
    assert via_proxy("198.51.100.20", "u1") == 401
