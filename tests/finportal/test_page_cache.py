"""Pages kept for the reader who asked, until anything in the database changes (issue 12).

Each test runs the portal with the page cache on a real Redis (the test command's) and
checks what a reader would notice: a page opened again is the same page, answered without
touching the database; a change anyone makes — another user, a job, a command — shows on the
next view; nobody ever sees another reader's page; a signed-out session sees nothing; a
flashed message is shown once; with Redis gone the pages are rendered as before.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Integer, delete, event, func, insert, select, text, update

from finportal import page_cache
from finportal.models import AuditEvent, Bank, Enterprise
from tests.helpers import PASSWORD, token_times_left_out


@pytest.fixture
def cached(app: Any, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The portal with its page cache on the test Redis, with no pending mark left by an
    earlier test's transaction on this database (one a test killed or left open would stop
    pages of its tables from being kept until it lapses, a minute later)."""
    monkeypatch.setitem(app.config, "PAGE_CACHE_URL", redis_url)
    cache = page_cache.cache_of(app)
    assert cache is not None
    for mark in cache.redis.scan_iter(match=cache.prefix + "pending:*"):
        cache.redis.delete(mark)
    # Readers' minute windows stand still for the test, a whole minute left in each: a page
    # that shows the time is kept until its window turns (checked against the clock as it is
    # looked up), and a test whose requests straddled a turn would see a miss it does not test
    # (test_a_kept_page_lives_a_minute_at_most_and_readers_turn_at_different_instants does).
    start = time.time()
    monkeypatch.setattr(page_cache, "window", lambda source, now: (_WINDOW(source, start)[0], 60.0))
    return redis_url


#: Readers' minute windows as they turn.
_WINDOW = page_cache.window


@pytest.fixture
def statements(app: Any) -> Iterator[list[str]]:
    """Every statement the engine runs meanwhile."""
    seen: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    engine = app.extensions["finportal_engine"]
    event.listen(engine, "before_cursor_execute", note)
    yield seen
    event.remove(engine, "before_cursor_execute", note)


def _hit(response: Any) -> bool:
    return response.headers.get(page_cache.HEADER) == "hit"


def _rendered(client: Any, url: str, **kwargs: Any) -> Any:
    """Open a page until it is rendered with the session as it stays (the first view after a
    sign-in settles the session, so its page is not kept); return that rendering."""
    client.get(url, **kwargs)
    response = client.get(url, **kwargs)
    assert response.status_code == 200 and not _hit(response)
    return response


def test_a_page_opened_again_is_the_same_page_without_a_statement(
    cached, client, login, create_user, statements
):
    sme = create_user("sme")
    login(sme)
    first = _rendered(client, "/sme/")
    statements.clear()
    again = client.get("/sme/")
    assert _hit(again)
    assert again.get_data() == first.get_data()
    assert statements == []


def test_a_change_by_anyone_shows_on_the_next_view(cached, client, login, create_user, db_session):
    sme = create_user("sme")
    login(sme)
    _rendered(client, "/sme/profile")
    assert _hit(client.get("/sme/profile"))
    # Another user's (here: the test's own) write, committed.
    db_session.execute(
        update(Enterprise)
        .where(Enterprise.id == sme.enterprise_id)
        .values(name="缓存更名科技有限公司")
    )
    db_session.commit()
    after = client.get("/sme/profile")
    assert not _hit(after)
    assert "缓存更名科技有限公司" in after.text


def test_a_write_through_the_engine_outside_any_session_moves_the_generation(cached, app):
    cache = page_cache.cache_of(app)
    assert cache is not None
    before = int(cache.redis.hget(cache.generations_key, page_cache.ANY) or 0)
    # A command or job writing with Core in another thread, as a worker process would.
    engine = app.extensions["finportal_engine"]

    def write(sql: str) -> None:
        with engine.begin() as conn:
            conn.execute(text(sql))

    def in_a_thread(sql: str) -> int:
        worker = threading.Thread(target=write, args=(sql,))
        worker.start()
        worker.join()
        return int(cache.redis.hget(cache.generations_key, page_cache.ANY) or 0)

    # Once when the statement ran, once when its transaction ended (a table the portal does
    # not model: every page's generation).
    assert in_a_thread("UPDATE alembic_version SET version_num = version_num") == before + 2
    # A statement that changed no row moves nothing (periodic tasks that find nothing to do).
    assert in_a_thread("DELETE FROM alembic_version WHERE version_num = 'none'") == before + 2


def test_nobody_sees_another_readers_page(cached, app, create_user):
    one, two = create_user("sme"), create_user("sme")
    firms = {}
    for user in (one, two):
        firms[user.id] = user.enterprise.name
    pages = {}
    for user in (one, two, one, two):
        client = app.test_client()
        client.post("/auth/login", data={"username": user.username, "password": PASSWORD})
        pages.setdefault(user.id, []).append(client.get("/sme/profile"))
    for user in (one, two):
        other = two if user is one else one
        for page in pages[user.id]:
            assert firms[user.id] in page.text
            assert firms[other.id] not in page.text


def test_a_signed_out_session_is_not_answered_from_the_cache(cached, client, login, create_user):
    sme = create_user("sme")
    login(sme)
    _rendered(client, "/sme/")
    assert _hit(client.get("/sme/"))
    client.post("/auth/logout")
    response = client.get("/sme/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_a_stolen_cookie_is_not_answered_after_the_user_signed_out_elsewhere(
    cached, app, create_user, db_session
):
    from finportal.services import accounts

    sme = create_user("sme")
    browser = app.test_client()
    browser.post("/auth/login", data={"username": sme.username, "password": PASSWORD})
    _rendered(browser, "/sme/")
    assert _hit(browser.get("/sme/"))
    accounts.end_sessions(sme)  # "sign out everywhere" / a password change
    db_session.commit()
    assert _own_request(browser, "/sme/").status_code == 302


def test_a_flashed_message_is_shown_once(cached, client, login, create_user):
    sme = create_user("sme")
    login(sme)
    _rendered(client, "/sme/")
    with client.session_transaction() as session:
        session.setdefault("_flashes", []).append(("success", "缓存测试消息"))
    shown = client.get("/sme/")
    assert "缓存测试消息" in shown.text and not _hit(shown)
    after = client.get("/sme/")
    assert "缓存测试消息" not in after.text


def test_a_page_whose_view_writes_is_not_kept(cached, app, client, login, create_user):
    sme = create_user("sme")
    login(sme)

    # The view writes (a notification marked read, a referral opened...): simulated by a
    # statement the engine runs during the request.
    engine = app.extensions["finportal_engine"]

    done: list[bool] = []

    def write_during(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("SELECT") and not done:
            done.append(True)
            conn.exec_driver_sql(
                f"UPDATE enterprises SET name = name WHERE id = {sme.enterprise_id}"
            )

    client.get("/sme/")  # the session settles
    event.listen(engine, "after_cursor_execute", write_during)
    try:
        client.get("/sme/")
    finally:
        event.remove(engine, "after_cursor_execute", write_during)
    assert done
    assert not _hit(client.get("/sme/"))
    assert _hit(client.get("/sme/"))


def test_languages_are_kept_apart(cached, client, login, create_user):
    sme = create_user("sme")
    login(sme)
    zh = _rendered(client, "/sme/", headers={"Accept-Language": "zh-CN"})
    en = client.get("/sme/?lang=en")
    assert '<html lang="zh' in zh.text
    assert '<html lang="en"' in en.text
    again = client.get("/sme/", headers={"Accept-Language": "zh-CN"})
    assert _hit(again) and again.get_data() == zh.get_data()


def test_with_redis_gone_pages_are_rendered(app, client, login, create_user, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_CACHE_URL", "redis://127.0.0.1:9/0")
    sme = create_user("sme")
    login(sme)
    for _ in range(3):
        response = client.get("/sme/")
        assert response.status_code == 200 and not _hit(response)


def test_an_api_token_revoked_is_refused_at_once(cached, client, create_bank, db_session):
    from finportal.services import api_tokens

    bank = create_bank()
    record, plain = api_tokens.create_token(
        db_session, bank_id=bank.id, actor_id=None, label="cache"
    )
    headers = {"Authorization": f"Bearer {plain}"}
    _rendered(client, "/api/v1/referrals/", headers=headers)
    assert _hit(client.get("/api/v1/referrals/", headers=headers))
    api_tokens.revoke_token(db_session, record.id, actor_id=None)
    assert client.get("/api/v1/referrals/", headers=headers).status_code == 401


def test_a_kept_answer_keeps_the_views_own_headers(cached, client, create_bank, db_session):
    """The bank API's list tells its total and pages in ``X-Pagination`` (flask-smorest): a
    client reading it from a kept answer must still find it."""
    from finportal.services import api_tokens

    bank = create_bank()
    _record, plain = api_tokens.create_token(
        db_session, bank_id=bank.id, actor_id=None, label="cache"
    )
    headers = {"Authorization": f"Bearer {plain}"}
    rendered = _rendered(client, "/api/v1/referrals/?page_size=5", headers=headers)
    kept = client.get("/api/v1/referrals/?page_size=5", headers=headers)
    assert _hit(kept)
    assert rendered.headers["X-Pagination"]
    assert kept.headers.get("X-Pagination") == rendered.headers["X-Pagination"]
    assert kept.headers["Content-Type"] == rendered.headers["Content-Type"]
    assert kept.get_json() == rendered.get_json()


@pytest.mark.parametrize(
    ("statement", "writes"),
    [
        (select(Enterprise.id), False),
        (select(Enterprise.id).cte().select(), False),
        (insert(Enterprise).values(name="x"), True),
        (update(Enterprise).values(name="x"), True),
        (text("SELECT 1"), False),
        (text("  update enterprises set name = name"), True),
        (text("WITH x AS (DELETE FROM enterprises RETURNING id) SELECT * FROM x"), True),
        (select(update(Enterprise).values(name="x").returning(Enterprise.id).cte().c.id), True),
    ],
)
def test_what_counts_as_a_write(app, db_session, statement, writes):
    seen: list[bool] = []
    engine = app.extensions["finportal_engine"]

    def judge(conn, cursor, sql, parameters, context, executemany):
        seen.append(page_cache.is_write(sql, context))

    event.listen(engine, "before_cursor_execute", judge)
    nested = db_session.begin_nested()
    try:
        db_session.execute(statement)
    except Exception:  # noqa: BLE001, S110 - only the judgement matters (a row may be refused)
        pass
    finally:
        nested.rollback()
        event.remove(engine, "before_cursor_execute", judge)
    assert any(seen) is writes


def test_the_admins_jobs_page_is_always_rendered(cached, client, login, create_user):
    """Its queue depths come from Redis, which no write through the engine reports."""
    login(create_user("admin"))
    client.get("/admin/jobs")
    for _ in range(2):
        assert not _hit(client.get("/admin/jobs"))


def _clear_of_a_minute_turn(time_machine: Any) -> None:
    """Move the clock on to just after the turn of a minute (the budget's), ticking from
    there: the test has most of a minute before the budget's next turn, with no wait."""
    start = (time.time() // 60 + 1) * 60 + 0.2
    time_machine.move_to(datetime.fromtimestamp(start, tz=UTC), tick=True)


def test_a_waiting_batch_packet_counts_its_seconds(
    cached, client, login, db_session, batch_world, submitted_batch, time_machine
):
    """The batch packet's box counts the seconds its job has waited (static/progress.js asks
    every 1.5 s): no write happens while the job waits, yet each answer is a new count."""
    from datetime import timedelta

    from finportal.models import Job, utcnow
    from finportal.services import batch_packets

    db_session.add(
        Job(
            id="test-queued-batch-packet",
            kind=batch_packets.BATCH_PACKET_JOB,
            state="queued",
            args={"batch_id": submitted_batch.id, "bank_id": None},
            object_type="batch",
            object_id=submitted_batch.id,
            created_at=utcnow() - timedelta(seconds=20),
        )
    )
    db_session.commit()
    login(batch_world.advisor)
    status_url = f"/advisor/batches/{submitted_batch.id}/packet/status"
    page_url = f"/advisor/batches/{submitted_batch.id}"
    client.get(status_url)  # the session settles
    # The clock stands still while the status and the page are asked (each counts the
    # seconds itself: a second turning between them would show two counts), then moves on.
    now = datetime.now(UTC)
    time_machine.move_to(now, tick=False)
    first, page = client.get(status_url).json, client.get(page_url).text
    time_machine.move_to(now + timedelta(seconds=2), tick=False)
    again, page_again = client.get(status_url).json, client.get(page_url).text
    assert first["state"] == "queued" and not first["done"]
    assert again["elapsed_seconds"] > first["elapsed_seconds"]
    assert f"已等待 {again['elapsed_seconds']} 秒" in again["html"]
    assert f"已等待 {first['elapsed_seconds']} 秒" in page
    assert f"已等待 {first['elapsed_seconds']} 秒" not in page_again


class _Worker:
    """Another thread of the portal (a job worker's, say): runs what it is given, in order,
    with its own connections, and commits for real (outside the test's transaction)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.jobs: queue.Queue[Any] = queue.Queue()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        with self.app.app_context():
            while True:
                job, answer = self.jobs.get()
                if job is None:
                    return
                try:
                    answer.put((job(), None))
                except BaseException as exc:  # noqa: BLE001 - handed to the test
                    answer.put((None, exc))

    def do(self, job: Callable[[], Any]) -> Any:
        answer: queue.Queue[Any] = queue.Queue()
        self.jobs.put((job, answer))
        value, exc = answer.get(timeout=30)
        if exc is not None:
            raise exc
        return value

    def stop(self) -> None:
        self.jobs.put((None, None))
        self.thread.join(timeout=30)


@pytest.fixture
def committed_bank(app: Any, database_url: str) -> Iterator[tuple[_Worker, int]]:
    """A bank committed by another thread (so that a page can show what that thread commits
    later), removed afterwards."""
    from finportal.models import Bank

    if not database_url.startswith("postgresql"):
        pytest.skip(
            "a second writer beside the test's open transaction needs PostgreSQL (SQLite "
            "holds its write lock): set FINPORTAL_TEST_DATABASE_URL"
        )
    worker = _Worker(app)
    engine = app.extensions["finportal_engine"]

    def add() -> int:
        with engine.begin() as conn:
            return int(
                conn.execute(
                    insert(Bank)
                    .values(code="cache-bank", name_zh="缓存前银行", name_en="Before Bank")
                    .returning(Bank.id)
                ).scalar_one()
            )

    bank_id = worker.do(add)
    yield worker, bank_id

    def remove() -> None:
        with engine.begin() as conn:
            conn.execute(delete(Bank).where(Bank.id == bank_id))

    worker.do(remove)
    worker.stop()


def test_a_commit_after_another_transaction_of_its_thread_ended_shows(
    cached, app, client, login, create_user, committed_bank
):
    """A job writes, reports its progress (another session of the same thread, committed at
    once), then commits its work: the work shows on the next view."""
    from sqlalchemy.orm import Session

    from finportal import jobs
    from finportal.models import Bank

    worker, bank_id = committed_bank
    engine = app.extensions["finportal_engine"]
    login(create_user("admin"))
    assert "缓存前银行" in _rendered(client, "/admin/organisations").text
    job_session = Session(engine)

    def work() -> None:
        job_session.execute(update(Bank).where(Bank.id == bank_id).values(name_zh="缓存后银行"))
        jobs.report_progress("no-such-job", {"percent": 50})

    worker.do(work)
    # A reader in between sees the job's work not yet committed.
    assert "缓存前银行" in client.get("/admin/organisations").text
    worker.do(job_session.commit)
    worker.do(job_session.close)
    assert "缓存后银行" in client.get("/admin/organisations").text


def _bank_renamed_uncommitted(
    app: Any, client: Any, login: Any, create_user: Any, committed_bank: Any
) -> tuple[Any, Any]:
    """An admin has seen the organisations page; a worker thread renames the bank on a
    connection it keeps open, not yet committed. Return the worker and its connection."""
    from finportal.models import Bank

    worker, bank_id = committed_bank
    engine = app.extensions["finportal_engine"]
    login(create_user("admin"))
    assert "缓存前银行" in _rendered(client, "/admin/organisations").text
    conn = worker.do(engine.connect)
    worker.do(
        lambda: conn.execute(update(Bank).where(Bank.id == bank_id).values(name_zh="缓存后银行"))
    )
    return worker, conn


def test_a_commit_on_a_connection_kept_open_shows(
    cached, app, client, login, create_user, committed_bank
):
    """A command that commits on its connection and keeps it (Alembic's migrations, a loop of
    commits): each commit shows on the next view, not only when the connection is closed."""
    worker, conn = _bank_renamed_uncommitted(app, client, login, create_user, committed_bank)
    try:
        assert "缓存前银行" in client.get("/admin/organisations").text
        worker.do(conn.commit)
        assert "缓存后银行" in client.get("/admin/organisations").text
    finally:
        worker.do(conn.close)


def test_each_write_of_an_autocommit_connection_shows(
    cached, app, client, login, create_user, committed_bank
):
    """On a connection in autocommit mode every statement commits as it runs."""
    from finportal.models import Bank

    worker, bank_id = committed_bank
    engine = app.extensions["finportal_engine"]
    login(create_user("admin"))
    _rendered(client, "/admin/organisations")
    conn = worker.do(lambda: engine.connect().execution_options(isolation_level="AUTOCOMMIT"))
    try:
        for name in ("缓存中银行", "缓存后银行"):
            worker.do(
                lambda name=name: conn.execute(
                    update(Bank).where(Bank.id == bank_id).values(name_zh=name)
                )
            )
            assert name in client.get("/admin/organisations").text
    finally:
        worker.do(conn.close)


def test_notices_written_by_copy_show(cached, client, login, create_user, db_session):
    """政策找企业 writes its notices with PostgreSQL's COPY (services/push.py, scale.py), which
    SQLAlchemy's statement events never see: the firm still finds them on its next view."""
    from finportal.models import Notification
    from finportal.services import push

    sme = create_user("sme")
    firm = sme.enterprise_id
    login(sme)
    # Requests of their own, as served: the page depends on the tables it read.
    _own_request(client, "/sme/notifications")
    _own_request(client, "/sme/notifications")
    assert _hit(_own_request(client, "/sme/notifications"))
    push._insert(
        db_session,
        Notification.__table__,
        [
            {
                "enterprise_id": firm,
                "kind": "policy_push",
                "title_zh": "缓存里看不到的新产品",
                "body_zh": "正文",
            }
        ],
    )
    db_session.commit()
    assert "缓存里看不到的新产品" in _own_request(client, "/sme/notifications").text


def test_a_kept_pages_forms_post_with_csrf_on(cached, app, client, login, create_user, monkeypatch):
    """Production checks CSRF tokens: the token in a kept page is still the session's."""
    import re

    login(create_user("sme"))
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    _rendered(client, "/sme/")
    kept = client.get("/sme/")
    assert _hit(kept)
    token = re.search(r'name="csrf_token" value="([^"]+)"', kept.text)
    assert token is not None
    assert client.post("/auth/logout", data={"csrf_token": "forged"}).status_code == 400
    signed_out = client.post("/auth/logout", data={"csrf_token": token.group(1)})
    assert signed_out.status_code == 302
    assert client.get("/sme/").status_code == 302


def test_lost_generations_bring_no_old_page_back(
    cached, app, client, login, create_user, db_session
):
    """Redis lost the generation (evicted under memory pressure, deleted by hand, a new Redis)
    while pages kept before a change still live: they are not served again."""
    cache = page_cache.cache_of(app)
    assert cache is not None
    sme = create_user("sme")
    login(sme)
    for attempt in range(2):
        cache.redis.delete(cache.generations_key)  # lost (before the page, then after it)
        _rendered(client, "/sme/profile")
        client.get("/sme/profile")  # kept now, if ever
        name = f"代际丢失科技公司{attempt}"
        db_session.execute(
            update(Enterprise).where(Enterprise.id == sme.enterprise_id).values(name=name)
        )
        db_session.commit()
        cache.redis.delete(cache.generations_key)
        assert name in client.get("/sme/profile").text


def test_every_process_of_one_release_shares_the_kept_pages(tmp_path):
    """gunicorn workers started apart (another machine, a restart) have other string hash
    seeds: the release that names their kept pages must not depend on it (a set in the
    configuration printed in another order gave each process pages of its own)."""
    import os
    import subprocess
    import sys

    program = (
        "from finportal import create_app, page_cache\n"
        f"app = create_app({{'DATABASE_URL': 'sqlite:///{tmp_path}/r.db', 'TESTING': True, "
        "'CHECK_PACKET_ENVIRONMENT': False})\n"
        "print(page_cache.release(app))\n"
    )
    releases = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "FINPORTAL_INSTANCE_PATH": str(tmp_path)}
        done = subprocess.run(
            [sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True
        )
        releases.add(done.stdout.strip().splitlines()[-1])
    assert len(releases) == 1


def test_a_change_made_while_redis_was_away_shows_when_it_is_back(
    cached, app, client, login, create_user, db_session, monkeypatch
):
    """Redis went away mid-work: the change's generation moves failed. Once Redis is back this
    process makes the move it owes before it serves a kept page again."""
    from redis import Redis

    cache = page_cache.cache_of(app)
    assert cache is not None
    sme = create_user("sme")
    login(sme)
    _rendered(client, "/sme/profile")
    assert _hit(client.get("/sme/profile"))
    live = cache.redis
    monkeypatch.setattr(cache, "redis", Redis.from_url("redis://127.0.0.1:9/0"))
    db_session.execute(
        update(Enterprise).where(Enterprise.id == sme.enterprise_id).values(name="断线时改名公司")
    )
    db_session.commit()
    assert "断线时改名公司" in client.get("/sme/profile").text  # Redis away: rendered
    monkeypatch.setattr(cache, "redis", live)
    assert "断线时改名公司" in client.get("/sme/profile").text  # paused: rendered
    cache._paused_until = 0.0  # the pause is over, for the tests after this one too
    again = client.get("/sme/profile")
    assert "断线时改名公司" in again.text and not _hit(again)


def test_a_process_that_ends_owing_a_move_makes_it_on_its_way_out(redis_url, tmp_path):
    """A job's work horse whose write found Redis away exits without another request or write:
    it still moves the generation as it ends, so the web's kept pages go stale."""
    import subprocess
    import sys

    from redis import Redis

    script = f"""
from redis import Redis
from finportal.page_cache import PageCache
cache = PageCache({redis_url!r}, "sqlite:///{tmp_path}/x.db", "r", 1 << 20)
live = cache.redis
cache.redis = Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.1)
cache.move_on()  # Redis away: owed
cache.redis = live  # back before the process ends
print(cache.generations_key)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    key = done.stdout.strip()
    assert Redis.from_url(redis_url).hget(key, "*") is not None


def _kept_bytes(cache: page_cache.PageCache) -> int:
    """What the kept pages of this database hold in Redis (their values)."""
    return sum(
        cache.redis.strlen(key)
        for key in cache.redis.scan_iter(match=cache.prefix + cache.release + ":*", count=1000)
    )


def _no_page_kept(app: Any, time_machine: Any) -> page_cache.PageCache:
    """Start clear of a minute's turn with none of this database's pages kept by earlier
    tests; return the cache."""
    _clear_of_a_minute_turn(time_machine)
    cache = page_cache.cache_of(app)
    assert cache is not None
    for kept_page in cache.redis.scan_iter(match=cache.prefix + cache.release + ":*"):
        cache.redis.delete(kept_page)
    return cache


def _three_pages_a_reader(app: Any, monkeypatch: Any, size: int) -> page_cache.PageCache:
    """Give a minute a budget of 24 pages of ``size`` bytes (one reader's share: three), with
    nothing spent yet; return the cache."""
    budget = size * page_cache.READER_SHARE * 3
    monkeypatch.setitem(app.config, "PAGE_CACHE_MAX_BYTES", budget * page_cache.MINUTES_ALIVE)
    cache = page_cache.cache_of(app)
    assert cache is not None and cache.reader_budget < 4 * size
    cache.redis.delete(*cache.redis.keys(cache.prefix + "spent:*") or ["none"])
    return cache


def test_a_client_varying_an_unread_argument_cannot_fill_redis(
    cached, app, client, monkeypatch, time_machine
):
    """Every distinct URL is a page of its own: a client asking for ``/products/?x=1``,
    ``?x=2``, … gets its pages kept only up to its share of the minute's budget, and another
    reader's pages are still kept."""
    cache = _no_page_kept(app, time_machine)
    # Twice: on a new database's first request the generations only start (nothing is kept).
    client.get("/products/?x=0")
    client.get("/products/?x=0")
    size = _kept_bytes(cache)  # one catalogue page as kept (compressed, with its generations)
    assert size > 0
    cache = _three_pages_a_reader(app, monkeypatch, size)
    for x in range(1, 21):
        client.get(f"/products/?x={x}")
    kept = [x for x in range(1, 21) if _hit(client.get(f"/products/?x={x}"))]
    assert 1 <= len(kept) <= 3
    assert _kept_bytes(cache) <= cache.reader_budget
    # Another reader still has its share.
    other = app.test_client()
    other.get("/products/?x=1", environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert _hit(other.get("/products/?x=1", environ_base={"REMOTE_ADDR": "10.0.0.2"}))


def test_a_page_kept_again_after_a_change_spends_no_more_of_the_budget(
    cached, app, client, login, create_user, db_session, monkeypatch, time_machine
):
    """A reader who reopens one page while others write keeps it each time under its new
    generation: the same key, replaced, is not counted again."""
    _clear_of_a_minute_turn(time_machine)
    sme = create_user("sme")
    login(sme)
    size = len(_rendered(client, "/sme/profile").get_data())
    budget = size * page_cache.READER_SHARE * 2
    monkeypatch.setitem(app.config, "PAGE_CACHE_MAX_BYTES", budget * page_cache.MINUTES_ALIVE)
    cache = page_cache.cache_of(app)
    assert cache is not None
    cache.redis.delete(*cache.redis.keys(cache.prefix + "spent:*") or ["none"])
    for n in range(6):
        db_session.execute(
            update(Enterprise)
            .where(Enterprise.id == sme.enterprise_id)
            .values(name=f"缓存预算{n}科技有限公司")
        )
        db_session.commit()
        assert f"缓存预算{n}" in client.get("/sme/profile").text
        again = client.get("/sme/profile")
        assert _hit(again) and f"缓存预算{n}" in again.text


def test_the_page_caches_memory_is_a_whole_number_of_megabytes(monkeypatch, tmp_path):
    from finportal.config import ConfigError, load_config

    monkeypatch.setenv("FINPORTAL_PAGE_CACHE_MAX_MB", "64")
    assert load_config(str(tmp_path))["PAGE_CACHE_MAX_BYTES"] == 64 * 1024 * 1024
    for bad in ("lots", "0", "-5", "1.5"):
        monkeypatch.setenv("FINPORTAL_PAGE_CACHE_MAX_MB", bad)
        with pytest.raises(ConfigError, match="FINPORTAL_PAGE_CACHE_MAX_MB 应为正整数") as raised:
            load_config(str(tmp_path))
        assert "must be a whole number of megabytes" in str(raised.value)


def _own_request(client: Any, url: str) -> Any:
    """Open a page as a deployed portal does: with a database session and a signed-in user of
    its own (the tests' application context otherwise keeps both from one request to the
    next, and a page may then show objects it did not read; such a page depends on every
    table)."""
    from flask import g

    from finportal.extensions import db

    db.session.remove()
    g.pop("_login_user", None)
    return client.get(url)


def test_a_write_to_a_table_the_page_did_not_read_leaves_it_kept(
    cached, client, login, create_user, db_session, statements
):
    """Generations are kept per table: an audit row (written by sign-ins, referral views, every
    decision) does not stale the SME's profile, which reads no audit row; a change of the
    firm it shows does."""
    from finportal.services.audit import record_event

    sme = create_user("sme")
    firm = sme.enterprise_id
    login(sme)
    _own_request(client, "/sme/profile")  # the first view after a sign-in settles the session
    statements.clear()
    assert not _hit(_own_request(client, "/sme/profile"))
    read = set().union(*map(page_cache.read_tables, statements))
    assert "enterprises" in read and "audit_events" not in read
    assert _hit(_own_request(client, "/sme/profile"))
    record_event(db_session, actor_id=None, action="cache.test", object_type="x", object_id=1)
    db_session.commit()
    assert _hit(_own_request(client, "/sme/profile"))
    db_session.execute(
        update(Enterprise).where(Enterprise.id == firm).values(name="按表缓存科技公司")
    )
    db_session.commit()
    after = _own_request(client, "/sme/profile")
    assert not _hit(after) and "按表缓存科技公司" in after.text
    assert _hit(_own_request(client, "/sme/profile"))


def test_a_page_read_with_objects_already_in_its_session_depends_on_every_table(
    cached, client, login, create_user, db_session
):
    """In a session that outlives its request the profile shows the firm from the identity
    map without reading it: then any write stales the page."""
    from finportal.services.audit import record_event

    login(create_user("sme"))
    _rendered(client, "/sme/profile")
    assert _hit(client.get("/sme/profile"))
    record_event(db_session, actor_id=None, action="cache.test", object_type="x", object_id=1)
    db_session.commit()
    assert not _hit(client.get("/sme/profile"))


def test_a_delete_stales_the_tables_the_database_cascades_it_to(app):
    """ON DELETE / ON UPDATE actions change rows of other tables without a statement of theirs:
    a write to the parent moves the children's generations too (and theirs in turn)."""
    from finportal.models.base import Base

    actions = 0
    for child in Base.metadata.tables.values():
        for key in child.foreign_keys:
            parent = key.column.table.name
            if key.ondelete:
                actions += 1
                assert child.name in page_cache.written_tables(f"DELETE FROM {parent} WHERE id = 1")
            if key.onupdate:
                actions += 1
                assert child.name in page_cache.written_tables(f"UPDATE {parent} SET id = 2")
            assert page_cache.written_tables(f"INSERT INTO {parent} (id) VALUES (1)") == {parent}
    assert actions > 0
    # Unknown targets and writing CTEs move every page's generation.
    assert page_cache.written_tables("WITH gone AS (DELETE FROM users) SELECT 1") == {
        page_cache.ANY
    }
    assert page_cache.written_tables("UPDATE alembic_version SET x = 1") == {page_cache.ANY}


def test_the_tables_a_page_read_include_eager_loads_and_subqueries(app, db_session):
    """A page depends on every table its SQL names: joined eager loads (added as the ORM
    compiles), subqueries in EXISTS, quoted names."""
    from sqlalchemy import exists
    from sqlalchemy.orm import joinedload

    from finportal.models import Application, Referral

    statement = (
        select(Application)
        .options(joinedload(Application.enterprise))
        .where(exists().where(Referral.application_id == Application.id))
    )
    sql = str(statement.compile(bind=db_session.get_bind()))
    assert {"applications", "enterprises", "referrals"} <= page_cache.read_tables(sql)
    assert page_cache.read_tables('SELECT 1 FROM "users" JOIN banks ON true') == {"users", "banks"}


def _kept_profile(client: Any) -> None:
    """Open the SME's profile until it is kept (as a deployed portal opens it)."""
    _own_request(client, "/sme/profile")  # the first view after a sign-in settles the session
    _own_request(client, "/sme/profile")
    assert _hit(_own_request(client, "/sme/profile"))


@pytest.mark.both_engines  # SQLite reports rows changed only once RETURNING's rows are read
def test_a_write_that_returns_rows_shows_on_the_next_view(
    cached, client, login, create_user, db_session, database_url
):
    """A statement that writes and returns rows (the ORM's flush of several rows on SQLite, a
    writing CTE on PostgreSQL) may report no row changed when it has run: the change still
    shows on the next view."""
    from finportal.models import Notification

    sme = create_user("sme")
    firm = sme.enterprise_id
    login(sme)
    _kept_profile(client)
    # An UPDATE ... RETURNING that found nothing changed nothing (PostgreSQL counts it).
    db_session.execute(
        update(Enterprise).where(Enterprise.id == -1).values(name="x").returning(Enterprise.id)
    ).all()
    db_session.commit()
    if database_url.startswith("postgresql"):
        assert _hit(_own_request(client, "/sme/profile"))
        # The CTE changes the firm; its SELECT returns no row.
        db_session.execute(
            text(
                "WITH changed AS (UPDATE enterprises SET name = :name WHERE id = :id RETURNING id)"
                " SELECT id FROM changed WHERE false"
            ),
            {"name": "返回行改名科技公司", "id": firm},
        )
    else:
        db_session.execute(
            update(Enterprise)
            .where(Enterprise.id == firm)
            .values(name="返回行改名科技公司")
            .returning(Enterprise.id)
        ).all()
    db_session.commit()
    assert "返回行改名科技公司" in _own_request(client, "/sme/profile").text
    # Two notices of one flush: one INSERT ... RETURNING on SQLite.
    _own_request(client, "/sme/notifications")
    assert _hit(_own_request(client, "/sme/notifications"))
    db_session.add_all(
        Notification(enterprise_id=firm, kind="policy_push", title_zh=title, body_zh="正文")
        for title in ("一次写入的第一条", "一次写入的第二条")
    )
    db_session.commit()
    page = _own_request(client, "/sme/notifications").text
    assert "一次写入的第一条" in page and "一次写入的第二条" in page


def test_a_client_varying_its_authorization_header_spends_one_share(
    cached, app, client, monkeypatch, time_machine
):
    """A header anyone may send and no page checked (``Authorization`` on the public
    catalogue) does not make its sender a new reader with a share of its own: the sender is
    still one client address, whose pages are kept up to one share, and another reader's
    pages are still kept."""
    cache = _no_page_kept(app, time_machine)
    client.get("/products/")
    client.get("/products/")  # kept now (a new database's first request only starts it)
    size = _kept_bytes(cache)  # one catalogue page as kept
    assert size > 0
    cache = _three_pages_a_reader(app, monkeypatch, size)

    def forged(x: int) -> dict[str, str]:
        return {"Authorization": f"Bearer forged-{x}"}

    for x in range(1, 21):
        client.get("/products/", headers=forged(x))
    kept = [x for x in range(1, 21) if _hit(client.get("/products/", headers=forged(x)))]
    assert 1 <= len(kept) <= 3
    other = app.test_client()
    other.get("/products/", environ_base={"REMOTE_ADDR": "10.0.0.3"})
    assert _hit(other.get("/products/", environ_base={"REMOTE_ADDR": "10.0.0.3"}))


@pytest.mark.parametrize(
    ("statement", "writes"),
    [
        # Declared as returning columns, yet an UPDATE (a job claimed with RETURNING, say).
        (
            text("UPDATE enterprises SET name = name WHERE id = -1 RETURNING id").columns(
                id=Integer
            ),
            True,
        ),
        # Several statements in one text (psycopg runs them): any of them may write.
        (text("SELECT 1; UPDATE enterprises SET name = name WHERE id = -1"), True),
        (text("SELECT 1;"), False),
    ],
)
def test_sql_text_that_reads_first_and_writes_counts_as_a_write(app, db_session, statement, writes):
    seen: list[bool] = []
    engine = app.extensions["finportal_engine"]

    def judge(conn, cursor, sql, parameters, context, executemany):
        if not sql.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):  # the statement's own
            seen.append(page_cache.is_write(sql, context))

    event.listen(engine, "before_cursor_execute", judge)
    nested = db_session.begin_nested()
    try:
        db_session.execute(statement)
    except Exception:  # noqa: BLE001, S110 - only the judgement matters (SQLite runs one statement)
        pass
    finally:
        nested.rollback()
        event.remove(engine, "before_cursor_execute", judge)
    assert seen and any(seen) is writes


def test_the_tables_a_write_changes_however_its_sql_is_spelt(app):
    """What a write may change is never less than what the database changes for it: every
    statement of a text holding several, the rows an upsert updates and SQLite's
    ``INSERT OR REPLACE`` deletes (and what the database cascades from them)."""
    children = page_cache._schema().cascades["applications"]
    assert "matches" in children
    several = page_cache.written_tables(
        "UPDATE enterprises SET name = 'x' WHERE id = 1; DELETE FROM applications WHERE id = 1"
    )
    assert several == {page_cache.ANY} or {"applications"} | children <= several
    for upsert in (
        "INSERT OR REPLACE INTO applications (id) VALUES (1)",
        "INSERT INTO applications (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET id = 2",
    ):
        assert {"applications"} | children <= page_cache.written_tables(upsert)
    # A plain insert, or one that leaves a conflicting row alone, changes its table only.
    for insert_only in (
        "INSERT INTO applications (id) VALUES (1)",
        "INSERT INTO applications (id) VALUES (1) ON CONFLICT DO NOTHING",
        "INSERT OR IGNORE INTO applications (id) VALUES (1)",
    ):
        assert page_cache.written_tables(insert_only) == {"applications"}
    # Names the pattern cannot place move every page's generation.
    for unplaced in (
        "UPDATE public.enterprises SET name = 'x'",
        "/* fix */ UPDATE enterprises SET name = 'x'",
        "UPDATE ONLY enterprises SET name = 'x'",
        "REPLACE INTO enterprises (id) VALUES (1)",
    ):
        assert page_cache.written_tables(unplaced) == {page_cache.ANY}


def test_the_tables_a_read_names_in_any_case(app):
    """SQL folds unquoted names: a statement written in capitals reads the same tables."""
    assert page_cache.read_tables("SELECT name FROM ENTERPRISES WHERE id = 1") == {"enterprises"}
    assert page_cache.read_tables("select 1 from Public.Banks join users on true") == {
        "banks",
        "users",
    }


def test_what_kept_pages_take_in_redis_stays_within_the_budget(redis_url, tmp_path):
    """The budget bounds what Redis holds, not the pages' lengths: its allocator keeps a
    32,769-byte value in 40 KB, and every page and counter is a key with a name of its own.
    Readers each keeping a page of that size until the minute's budget is spent leave Redis
    holding no more than that budget."""
    max_bytes = page_cache.MINUTES_ALIVE << 20  # a minute's budget: 1 MB
    cache = page_cache.PageCache(redis_url, f"sqlite:///{tmp_path}/budget.db", "r", max_bytes)
    assert not list(cache.redis.scan_iter(match=cache.prefix + "*"))
    minute = int(time.time() // 60)
    body = b"x" * 32_769
    kept = [
        n
        for n in range(80)
        if cache.keep(f"r:{n}", {"*": "1"}, [], body, minute=minute, reader=f"addr:10.1.{n}.1")
    ]
    assert 10 < len(kept) < 80
    held = sum(
        cache.redis.memory_usage(key) or 0
        for key in cache.redis.scan_iter(match=cache.prefix + "*")
    )
    assert held <= cache.minute_budget


def _one_database(spellings: list[str]) -> bool:
    return len({page_cache.database_name(url) for url in spellings}) == 1


def test_every_spelling_of_one_database_shares_one_generation():
    """A job's write must stale the web's pages however the worker's URL names the web's
    database: another driver or password, options, the default port left out, the host in
    capitals, another name of the loopback interface."""
    assert _one_database(
        [
            "postgresql+psycopg://postgres:one@db.example:5432/finportal",
            "postgresql://postgres@db.example:5432/finportal?sslmode=require",
        ]
    )
    assert not _one_database(
        [
            "postgresql+psycopg://postgres:one@db.example:5432/finportal",
            "postgresql+psycopg://postgres@db.example:5432/finportal_test",
        ]
    )
    assert _one_database(
        [
            "postgresql+psycopg://postgres@db.example:5432/finportal",
            "postgresql://postgres@DB.example/finportal",
        ]
    )
    assert not _one_database(
        [
            "postgresql+psycopg://postgres@db.example:5432/finportal",
            "postgresql://postgres@db.example:5433/finportal",
        ]
    )
    assert _one_database(
        [
            "postgresql+psycopg://postgres@127.0.0.1:5432/finportal",
            "postgresql://postgres@localhost/finportal",
            "postgresql://postgres@[::1]:5432/finportal",
        ]
    )


def test_a_commit_whose_answer_was_lost_still_shows(
    cached, app, client, login, create_user, committed_bank
):
    """The database committed but its answer never came back (the network dropped it): the
    writer gets an error, yet the change is there and shows on the next view."""
    import psycopg
    from sqlalchemy.exc import OperationalError

    worker, conn = _bank_renamed_uncommitted(app, client, login, create_user, committed_bank)
    try:
        # A reader in between keeps the page as it was.
        assert "缓存前银行" in client.get("/admin/organisations").text
        driver = conn.connection.driver_connection
        commit = driver.commit

        def commit_then_lose_the_answer() -> None:
            commit()
            raise psycopg.OperationalError("server closed the connection unexpectedly")

        driver.commit = commit_then_lose_the_answer
        try:
            with pytest.raises(OperationalError):
                worker.do(conn.commit)
        finally:
            # The connection goes back to the pool (a disconnect is not always detected):
            # the next test's connection must commit for real.
            driver.commit = commit
        assert "缓存后银行" in client.get("/admin/organisations").text
    finally:
        worker.do(conn.close)


def test_a_kept_page_is_sent_compressed_to_a_client_that_accepts_it(
    cached, client, login, create_user
):
    """Kept pages are stored compressed: a browser (Accept-Encoding: gzip) gets the stored
    bytes as they are, a client that does not accept gzip the same page opened."""
    import gzip

    login(create_user("sme"))
    first = _rendered(client, "/sme/profile")
    plain = client.get("/sme/profile")
    assert _hit(plain) and "Content-Encoding" not in plain.headers
    assert plain.get_data() == first.get_data()
    packed = client.get("/sme/profile", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert _hit(packed) and packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert len(packed.get_data()) < len(first.get_data()) / 2
    assert gzip.decompress(packed.get_data()) == first.get_data()


@pytest.mark.parametrize("refusing", ["gzip;q=0", "*;q=0, br", "br"])
def test_a_client_that_refuses_gzip_gets_the_kept_page_opened(
    cached, client, login, create_user, refusing
):
    """``gzip;q=0`` says gzip is *not* acceptable (RFC 9110): such a client gets the page as
    rendered, never bytes it cannot read."""
    login(create_user("sme"))
    first = _rendered(client, "/sme/profile")
    kept = client.get("/sme/profile", headers={"Accept-Encoding": refusing})
    assert _hit(kept) and "Content-Encoding" not in kept.headers
    assert kept.get_data() == first.get_data()


def test_a_reload_the_reader_forces_is_rendered_and_kept_anew(
    cached, client, login, create_user, statements
):
    """Ctrl+Shift+R sends ``Cache-Control: no-cache``: the page is rendered afresh (its
    statements run), and what it rendered is kept for the next ordinary view."""
    from tests.helpers import RELOAD

    login(create_user("sme"))
    _rendered(client, "/sme/profile")
    assert _hit(client.get("/sme/profile"))
    statements.clear()
    forced = client.get("/sme/profile", headers=RELOAD)
    assert not _hit(forced) and statements
    assert not _hit(client.get("/sme/profile", headers={"Pragma": "no-cache"}))
    statements.clear()
    assert _hit(client.get("/sme/profile")) and statements == []


def test_a_page_that_shows_the_time_lives_until_its_minute_turns_and_minutes_turn_apart(
    cached, app, create_user, monkeypatch, request
):
    """A page whose view read the time (the advisor's queue: its deadline clocks) is never
    served once its minute window has turned. Windows are minutes shifted per reader (a
    shared page's per path), so that many readers' pages (banks' systems polling the API) do
    not all go stale, and come back to be rendered, at once."""
    import time_machine

    monkeypatch.setattr(page_cache, "window", _WINDOW)
    advisor = _browser(app, create_user("advisor"))
    # The clock stands still from here (the path's window would turn between the views if
    # they fell across its turn); each step below moves it.
    now = time.time()
    clock = time_machine.travel(now, tick=False)
    clock.start()
    request.addfinalizer(clock.stop)
    assert not _hit(advisor.get("/advisor/"))  # rendered for every advisor, and kept
    assert _hit(advisor.get("/advisor/"))
    _, left = page_cache.window("path:/advisor/?", now)
    assert 0 < left <= page_cache.CLOCK_SECONDS
    with time_machine.travel(now + left - 1, tick=False):
        assert _hit(advisor.get("/advisor/"))
    with time_machine.travel(now + left + 0.5, tick=False):
        assert not _hit(advisor.get("/advisor/"))
    # Each window is one minute, and readers' windows turn at many instants.
    for source in ("user:1.0", "token:abc", "addr:10.0.0.7"):
        first, left = page_cache.window(source, 1_000_000.0)
        assert page_cache.window(source, 1_000_000.0 + left - 0.01)[0] == first
        assert page_cache.window(source, 1_000_000.0 + left)[0] == first + 1
        assert page_cache.window(source, 1_000_000.0 + left + 59.99)[0] == first + 1
    turns = {round(page_cache.window(f"user:{n}.0", 0.0)[1]) for n in range(200)}
    assert len(turns) > 40


def test_a_page_that_shows_only_the_date_is_kept_until_midnight_in_shanghai(
    cached, app, client, login, create_user
):
    """A page that read today's date and not the time (the firm's home: what stands today)
    is served for minutes, exactly as it would be rendered then, and rendered anew once the
    date has changed in Shanghai; no page is served beyond TTL_SECONDS."""
    import time_machine

    from finportal.services.workdays import SHANGHAI
    from tests.helpers import RELOAD

    # Clear of midnight in Shanghai, so that four minutes on it is the same day.
    noon = datetime.now(SHANGHAI).replace(hour=12, minute=0, second=0, microsecond=0)
    with time_machine.travel(noon, tick=False):
        login(create_user("sme"))
        first = _rendered(client, "/sme/")
    for later in (90, page_cache.TTL_SECONDS - 10):
        with time_machine.travel(noon + timedelta(seconds=later), tick=False):
            kept = client.get("/sme/")
            assert _hit(kept)
            assert _token_time_left_out(kept.get_data()) == _token_time_left_out(first.get_data())
            fresh = client.get("/sme/", headers=RELOAD)  # as rendered then, and kept anew
            assert not _hit(fresh)
            assert _token_time_left_out(fresh.get_data()) == _token_time_left_out(kept.get_data())
    with time_machine.travel(noon + timedelta(seconds=2 * page_cache.TTL_SECONDS), tick=False):
        assert not _hit(client.get("/sme/"))
    # Kept a minute before midnight, rendered anew at midnight.
    evening = noon.replace(hour=23, minute=59)
    with time_machine.travel(evening, tick=False):
        assert not _hit(client.get("/sme/"))
        assert _hit(client.get("/sme/"))
    with time_machine.travel(evening + timedelta(seconds=61), tick=False):
        assert not _hit(client.get("/sme/"))


# --- pages shared by every reader of a scope (the advisors' review page) -----------------


def _browser(app: Any, user: Any) -> Any:
    """A browser of its own, signed in as ``user``."""
    browser = app.test_client()
    answer = browser.post("/auth/login", data={"username": user.username, "password": PASSWORD})
    assert answer.status_code == 302
    return browser


def _token(page: Any) -> str:
    import re

    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def _token_payload(page: Any) -> str:
    """The form token's payload, the session's own token, without the signature's time."""
    return _token(page).split(".")[0]


def _token_time_left_out(page: bytes) -> bytes:
    """Return the page with each form token cut to its payload (the session's own token)."""
    text = page.decode()
    assert "csrf_token" in text, "the page has no form token"
    return token_times_left_out(text).encode()


@pytest.fixture
def review_url(db_session, create_enterprise, screened_application) -> str:
    application = screened_application(create_enterprise(name="共享审核页科技有限公司"))
    return f"/advisor/applications/{application.id}"


def test_one_review_page_is_rendered_for_every_advisor_with_each_ones_name_and_token(
    cached, app, client, create_user, review_url, statements, monkeypatch
):
    """Advisors see the same review page: the second advisor's first view is the page the
    first advisor's view rendered, with the second's own name in the top bar and form tokens
    that are valid for the second's session only. A note one adds shows to the other."""
    wang = _browser(app, create_user("advisor", display_name="王共享顾问"))
    li = _browser(app, create_user("advisor", display_name="李共享顾问"))
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    first = wang.get(review_url)
    assert not _hit(first)
    assert "王共享顾问" in first.text and "共享审核页科技有限公司" in first.text
    statements.clear()
    seen = li.get(review_url)
    assert _hit(seen)
    assert "李共享顾问" in seen.text and "王共享顾问" not in seen.text
    assert "共享审核页科技有限公司" in seen.text
    assert "fpslot" not in seen.text and "fpslot" not in first.text
    # Only the request's sign-in check ran (the user and its sign-in state): nothing of the
    # application was read.
    signed_in = {"users", "user_sign_ins"}
    assert statements and all(page_cache.read_tables(s) & signed_in for s in statements)
    assert not any("applications" in page_cache.read_tables(s) for s in statements)
    # Its session now holds its form token: the next view keeps it a record of what its
    # checks found, and the one after is served through it without a statement, as a page of
    # its own.
    li.get(review_url)
    statements.clear()
    pointed = li.get(review_url)
    assert _hit(pointed) and statements == []
    assert "李共享顾问" in pointed.text and "王共享顾问" not in pointed.text
    # The same session's token (a token's signature holds the second it was made in, so two
    # views a second apart differ there).
    assert _token_payload(pointed) == _token_payload(seen)
    # Each reader's token is its own session's.
    assert _token_payload(seen) != _token_payload(first)
    refused = li.post(f"{review_url}/notes", data={"csrf_token": _token(first), "body": "x"})
    assert refused.status_code == 400
    added = li.post(
        f"{review_url}/notes", data={"csrf_token": _token(seen), "body": "共享页面上写的备注"}
    )
    assert added.status_code == 302
    again = wang.get(review_url)
    assert not _hit(again) and "共享页面上写的备注" in again.text


def _stale_shared_page(app: Any, time_machine: Any, user: Any) -> tuple[Any, Any, str]:
    """Keep the advisors' queue for ``user``'s scope, then make it stale (a write anywhere);
    return the cache, the user's browser and the page's key in Redis."""
    cache = _no_page_kept(app, time_machine)
    browser = _browser(app, user)
    assert not _hit(browser.get("/advisor/"))
    assert _hit(browser.get("/advisor/"))
    shared = cache.prefix + cache.release + ":shared:*"
    (key,) = [k.decode() for k in cache.redis.scan_iter(match=shared)]
    cache.move_on()
    return cache, browser, key


def _kept_again(cache: Any, key: str, stale: bytes) -> None:
    """Keep ``stale`` (a page as kept) again under ``key`` with the generations now, as the
    request that renders it anew would."""
    head, _, rest = stale.partition(b"\n")
    kept_with = json.loads(head)
    kept_with[page_cache.ANY] = cache.redis.hget(cache.generations_key, page_cache.ANY).decode()
    cache.redis.set(key, json.dumps(kept_with).encode() + b"\n" + rest, px=60_000)


def _render_waits(app: Any) -> dict[str, float]:
    """The page cache's render waits as ``/metrics`` tells an operator: by outcome, and the
    seconds spent (``seconds``)."""
    import re

    text = app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).text
    found = {
        outcome: float(value)
        for outcome, value in re.findall(
            r'^finportal_page_cache_render_waits_total\{outcome="(\w+)"\} (\S+)$', text, re.M
        )
    }
    spent = re.search(r"^finportal_page_cache_render_wait_seconds_total (\S+)$", text, re.M)
    found["seconds"] = float(spent.group(1)) if spent else 0.0
    return found


def _waits_added(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: round(after.get(k, 0.0) - before.get(k, 0.0), 2) for k in after}


def test_a_stale_shared_page_is_rendered_once_while_its_other_readers_wait(
    cached, app, create_user, time_machine
):
    """While one request renders a stale shared page (its claim held), another reader of the
    scope waits and gets the page it keeps, rendering nothing itself."""
    other = _browser(app, create_user("advisor"))  # signed in before: a sign-in is a write
    cache, _, key = _stale_shared_page(app, time_machine, create_user("advisor"))
    stale = cache.redis.get(key)
    claim = key + ":rendering"
    cache.redis.set(claim, "another worker", px=10_000)

    def other_worker_keeps_it() -> None:
        time.sleep(0.4)
        _kept_again(cache, key, stale)
        cache.redis.delete(claim)

    worker = threading.Thread(target=other_worker_keeps_it)
    before = _render_waits(app)
    started = time.monotonic()  # before the worker's 0.4 s begin
    worker.start()
    answer = other.get("/advisor/")
    waited = time.monotonic() - started
    worker.join()
    assert answer.status_code == 200 and _hit(answer)
    assert waited >= 0.35
    # The wait is told in the metrics: one, ended with the page kept, about as long.
    added = _waits_added(before, _render_waits(app))
    assert added.get("kept") == 1 and not added.get("unkept") and not added.get("timeout")
    assert 0.3 <= added["seconds"] <= waited


def test_a_reader_waiting_for_a_rendering_that_keeps_nothing_renders_the_page_itself(
    cached, app, create_user, time_machine, monkeypatch
):
    """When the rendering it waits for ends without a page (not kept), the reader renders the
    page at once; a claim never released (its process killed) holds it RENDER_WAIT_SECONDS at
    most."""
    cache, browser, key = _stale_shared_page(app, time_machine, create_user("advisor"))
    claim = key + ":rendering"
    cache.redis.set(claim, "another worker", px=10_000)
    # A wait far longer than the claim's: the reader stops waiting when the claim goes, not
    # at its end (however slow the machine renders).
    monkeypatch.setattr(page_cache, "RENDER_WAIT_SECONDS", 9.0)
    before = _render_waits(app)
    threading.Timer(0.3, lambda: cache.redis.delete(claim)).start()
    started = time.monotonic()
    answer = browser.get("/advisor/")
    assert answer.status_code == 200 and not _hit(answer) and "fpslot" not in answer.text
    assert 0.25 <= time.monotonic() - started < 9.0
    assert cache.redis.get(claim) is None  # its own claim released
    cache.move_on()
    monkeypatch.setattr(page_cache, "RENDER_WAIT_SECONDS", 1.0)
    cache.redis.set(claim, "a worker killed as it rendered", px=10_000)
    started = time.monotonic()
    answer = browser.get("/advisor/")
    assert answer.status_code == 200
    assert time.monotonic() - started >= 0.9
    added = _waits_added(before, _render_waits(app))
    assert added.get("unkept") == 1 and added.get("timeout") == 1 and not added.get("kept")


def test_a_shared_page_is_served_only_after_the_readers_checks(
    cached, app, client, create_user, review_url
):
    """A kept review page is no answer to a bank, an SME or a signed-out visitor."""
    advisor = _browser(app, create_user("advisor"))
    assert not _hit(advisor.get(review_url))
    assert _hit(advisor.get(review_url))
    for role in ("bank", "sme"):
        assert _browser(app, create_user(role)).get(review_url).status_code == 403
    anonymous = app.test_client().get(review_url)
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.headers["Location"]


def test_a_supervisor_does_not_get_the_plain_advisors_page(
    cached, app, client, create_user, review_url, db_session
):
    """An advisor's duty changes the menu (the supervisors' board): it is part of the scope."""
    plain = _browser(app, create_user("advisor"))
    supervisor_user = create_user("advisor", display_name="督导甲")
    supervisor_user.duty = "supervisor"
    db_session.commit()
    supervisor = _browser(app, supervisor_user)
    page = plain.get(review_url)
    assert not _hit(page) and "交办与预警" not in page.text
    seen = supervisor.get(review_url)
    assert not _hit(seen) and "交办与预警" in seen.text and "督导甲" in seen.text


def test_a_shared_page_that_reads_its_reader_fails_loudly(app, create_user):
    """A shared page sees its reader only through its role and scope: a template that prints
    something else of the reader fails instead of keeping it for every other reader."""
    from flask import g, render_template_string

    user = create_user("advisor", display_name="不应出现")
    with app.test_request_context("/advisor/"):
        g._login_user = page_cache._ScopeOnly(user, ("role", "duty"))
        g.page_cache_sharing = True
        assert render_template_string("{{ current_user.role }}") == "advisor"
        assert render_template_string("{{ reader_slot('who') }}").startswith("fpslot")
        with pytest.raises(page_cache.SharedPageError, match="display_name"):
            render_template_string("{{ current_user.display_name }}")
        with pytest.raises(page_cache.SharedPageError, match="'id'"):
            render_template_string("{{ current_user.id }}")


def test_a_shared_page_that_compares_its_reader_with_a_record_fails_loudly(app, create_user):
    """A template that tells the reader's own records apart (``note.author == current_user``,
    ``current_user in watchers``) shows something of its reader: on a shared page it fails,
    instead of telling every reader, the author too, that nothing is theirs."""
    from flask import g, render_template_string

    user = create_user("advisor", display_name="比较顾问")
    with app.test_request_context("/advisor/"):
        g._login_user = page_cache._ScopeOnly(user, ("role", "duty"))
        g.page_cache_sharing = True
        for template in (
            "{{ 'mine' if author == current_user else 'theirs' }}",
            "{{ 'mine' if current_user == author else 'theirs' }}",
            "{{ 'mine' if author != current_user else 'theirs' }}",
            "{{ 'mine' if current_user in [author] else 'theirs' }}",
            "{{ 'mine' if current_user in authors else 'theirs' }}",
        ):
            with pytest.raises(page_cache.SharedPageError):
                render_template_string(template, author=user, authors={user})


def test_a_readers_record_of_a_shared_page_follows_changes_to_the_reader(
    cached, app, client, create_user, review_url, db_session
):
    """A change to the reader (its name, its role) shows on its next view of a shared page."""
    user = create_user("advisor", display_name="旧名顾问")
    browser = _browser(app, user)
    for _ in range(3):
        browser.get(review_url)
    assert _hit(browser.get(review_url))
    user.display_name = "新名顾问"
    db_session.commit()
    renamed = browser.get(review_url)
    assert "新名顾问" in renamed.text and "旧名顾问" not in renamed.text
    user.role = "bank"
    db_session.commit()
    assert browser.get(review_url).status_code == 403


def test_a_readers_first_view_of_another_shared_page_skips_its_checks_until_it_changes(
    cached,
    app,
    client,
    create_user,
    create_enterprise,
    screened_application,
    db_session,
    statements,
):
    """What a reader's checks found on one shared page (its scope, its name) is kept: its
    first view of another page of the same scope that another reader's view rendered is then
    served without a statement, with its own name. Once the reader changes (deactivated), it is
    sent to sign in instead."""
    firm = create_enterprise(name="首看审核页科技有限公司")
    urls = [f"/advisor/applications/{screened_application(firm).id}" for _ in range(3)]
    wang = _browser(app, create_user("advisor", display_name="王首看顾问"))
    user = create_user("advisor", display_name="李首看顾问")
    li = _browser(app, user)
    for url in urls:
        assert not _hit(wang.get(url))  # each kept for every advisor
    li.get(urls[0])  # its session settles (the first view after a sign-in stores its token)
    assert _hit(li.get(urls[0]))  # its checks ran, and what they found is kept
    statements.clear()
    first = li.get(urls[1])
    assert _hit(first) and statements == []
    assert "李首看顾问" in first.text and "王首看顾问" not in first.text
    assert "首看审核页科技有限公司" in first.text
    db_session.get(type(user), user.id).active = False
    db_session.commit()
    gone = li.get(urls[2])  # kept for the scope, never opened by this reader
    assert gone.status_code == 302 and "/auth/login" in gone.headers["Location"]


def test_a_banks_inbox_is_kept_once_for_its_users_and_never_shown_to_another_bank(
    cached, app, client, create_user, create_bank, db_session
):
    """The inbox is shared by the users of one bank (its scope is the bank): another bank's
    users never get it, and a change to the bank's record shows on its next view."""
    bank = create_bank(name_zh="共享收件箱银行")
    one = _browser(app, create_user("bank", bank_id=bank.id, display_name="甲经办"))
    two = _browser(app, create_user("bank", bank_id=bank.id, display_name="乙经办"))
    other = _browser(app, create_user("bank"))
    # Each request with a database session of its own, as served (its page then depends on
    # the tables it read, not on every table).
    first = _own_request(one, "/bank/")
    assert not _hit(first) and "共享收件箱银行" in first.text
    seen = _own_request(two, "/bank/")
    assert _hit(seen) and "乙经办" in seen.text and "甲经办" not in seen.text
    elsewhere = _own_request(other, "/bank/")
    assert not _hit(elsewhere) and "共享收件箱银行" not in elsewhere.text
    db_session.execute(update(Bank).where(Bank.id == bank.id).values(name_zh="改名后的共享银行"))
    db_session.commit()
    renamed = _own_request(two, "/bank/")
    assert "改名后的共享银行" in renamed.text


def test_a_commit_whose_process_died_before_telling_redis_shows(
    cached, app, client, login, create_user, committed_bank
):
    """A worker renames the bank and is killed right after the database committed, before its
    move after the commit: a page rendered while its transaction ran (from the data before)
    was not kept, so the rename shows on the next view, not a minute later."""
    worker, conn = _bank_renamed_uncommitted(app, client, login, create_user, committed_bank)
    lost: list[Any] = []
    try:
        meanwhile = client.get("/admin/organisations")
        assert "缓存前银行" in meanwhile.text and not _hit(meanwhile)

        def commit_and_die() -> None:
            lost.append(conn.info.pop(page_cache._OWED))  # what it would have told Redis
            conn.connection.dbapi_connection.commit()  # the database's commit, and no more

        worker.do(commit_and_die)
        assert "缓存后银行" in client.get("/admin/organisations").text
    finally:
        worker.do(conn.close)
        # Its pending marks would lapse within a minute: the tests after this one need not wait.
        cache = page_cache.cache_of(app)
        assert cache is not None
        for _app, tables, transaction in lost:
            cache.move_on(tables, settled=transaction)


def test_a_transaction_rolled_back_on_a_connection_kept_open_leaves_no_pending_mark(
    cached, app, client, login, create_user, committed_bank
):
    """A worker renames the bank, then rolls back and keeps its connection (a job that gave
    up, a command's loop): nothing is pending any more, so the organisations page is kept
    again at once, not a minute later."""
    worker, conn = _bank_renamed_uncommitted(app, client, login, create_user, committed_bank)
    try:
        assert not _hit(client.get("/admin/organisations"))  # pending: not kept
        worker.do(conn.rollback)
        shown = client.get("/admin/organisations")
        assert "缓存前银行" in shown.text and not _hit(shown)
        assert _hit(client.get("/admin/organisations"))
    finally:
        worker.do(conn.close)


def test_an_advisor_varying_an_unread_argument_cannot_crowd_out_the_other_advisors(
    cached, app, client, create_user, monkeypatch, time_machine
):
    """A shared page is counted against the share of the reader whose view rendered it: an
    advisor asking for ``/advisor/?x=1``, ``?x=2``, … spends only that advisor's share of the
    minute's budget, and the pages other advisors of the same duty open are still kept."""
    cache = _no_page_kept(app, time_machine)
    wang = _browser(app, create_user("advisor", display_name="王挤占顾问"))
    li = _browser(app, create_user("advisor", display_name="李挤占顾问"))
    # Twice: on a new database's first request the generations only start (nothing is kept).
    wang.get("/advisor/?x=0")
    wang.get("/advisor/?x=0")
    size = _kept_bytes(cache)  # one queue page as kept, and the reader's record
    assert size > 0
    cache = _three_pages_a_reader(app, monkeypatch, size)
    for x in range(1, 21):
        wang.get(f"/advisor/?x={x}")
    # Another advisor of the same duty still has a share: a queue page it opens is kept.
    assert not _hit(li.get("/advisor/?tab=queue"))
    assert _hit(li.get("/advisor/?tab=queue"))


def test_junk_on_a_shared_page_is_refused_or_ignored_and_no_slot_shows(
    cached, app, client, create_user, review_url
):
    """Junk arguments and ids on the shared pages, in both languages, rendered and then kept:
    never a 500, never a placeholder in what the reader gets; the label is in the reader's
    language."""
    advisor = _browser(app, create_user("advisor", display_name="乱输顾问"))
    banker = _browser(app, create_user("bank", display_name="乱输经办"))
    junk = ("?page=abc", "?page=-3", "?tab=%00zz", "?q=" + "长" * 500, "?deadline=<b>", "?x=1&x=2")
    pages = [(advisor, path + arg) for path in ("/advisor/", "/advisor/dashboard") for arg in junk]
    pages += [(advisor, review_url + arg) for arg in junk]
    pages += [(advisor, "/advisor/applications/99999999999999999999"), (banker, "/bank/")]
    pages += [(banker, "/bank/" + arg) for arg in junk]
    for language in ("zh_CN", "en"):
        for browser in (advisor, banker):
            browser.get(f"/lang/{language}")  # the reader's choice, kept in its session
        for browser, url in pages:
            for _ in range(2):  # rendered, then kept
                answer = browser.get(url)
                assert answer.status_code < 500, url
                assert "fpslot" not in answer.text, url
    assert advisor.get("/advisor/applications/99999999999999999999").status_code == 404
    page = advisor.get(review_url)
    assert "乱输顾问 (" in page.text and "乱输顾问（" not in page.text


# --- parts of the audit trail: a record's history, and the referral page ------------------


def _event(db_session: Any, object_type: str, object_id: int, action: str) -> None:
    from finportal.services.audit import record_event

    record_event(
        db_session, actor_id=None, action=action, object_type=object_type, object_id=object_id
    )
    db_session.commit()


def test_a_records_history_stays_kept_while_other_records_events_are_written(
    cached, app, client, create_user, review_url, db_session
):
    """The review page shows its application's history: events of another application (a
    bank opening a referral elsewhere, say) leave it kept; an event of its own shows at once,
    and so does one written without the ORM, whatever record it names."""
    advisor = _browser(app, create_user("advisor"))
    application_id = int(review_url.rsplit("/", 1)[1])
    assert not _hit(_own_request(advisor, review_url))
    assert _hit(_own_request(advisor, review_url))
    _event(db_session, "application", application_id + 1000, "application.noted")
    _event(db_session, "referral", 987654, "referral.opened")
    assert _hit(_own_request(advisor, review_url))
    _event(db_session, "application", application_id, "application.claimed")
    again = _own_request(advisor, review_url)
    assert not _hit(again)
    assert _hit(_own_request(advisor, review_url))
    # Core SQL names no record the page cache can see: every record's history is stale.
    db_session.execute(
        insert(AuditEvent).values(
            action="application.noted", object_type="application", object_id=999999, reason=""
        )
    )
    db_session.commit()
    assert not _hit(_own_request(advisor, review_url))


def test_a_part_of_the_trail_is_moved_by_the_rows_the_orm_writes_and_all_by_any_other_write(
    cached, app, db_session
):
    cache = page_cache.cache_of(app)
    assert cache is not None
    names = [
        "audit_events#referral:424242",
        "audit_events#referral:424242/referral.info_supplied",
        "audit_events#referral:424243",
        "audit_events#referral:424242/referral.opened",
    ]
    every = lambda: cache.redis.hget(cache.generations_key, "audit_events!")  # noqa: E731
    before, every_before = cache.parts(names), every()
    _event(db_session, "referral", 424242, "referral.info_supplied")
    after = cache.parts(names)
    assert after[names[0]] != before[names[0]] and after[names[1]] != before[names[1]]
    assert after[names[2]] == before[names[2]] and after[names[3]] == before[names[3]]
    assert every() == every_before
    # A view (rows.VIEW_ACTIONS) is in its own part only: the record's history stays as it was.
    _event(db_session, "referral", 424242, "referral.opened")
    viewed = cache.parts(names)
    assert viewed[names[3]] != after[names[3]]
    assert {n: viewed[n] for n in names[:3]} == {n: after[n] for n in names[:3]}
    assert every() == every_before
    db_session.execute(update(AuditEvent).where(AuditEvent.object_id == -1).values(reason=""))
    db_session.execute(
        insert(AuditEvent).values(action="x.y", object_type="referral", object_id=424243, reason="")
    )
    db_session.commit()
    assert every() != every_before
    assert cache.parts(names)[names[2]] == after[names[2]]  # the table's "every part" moved


def _opened(db_session: Any, referral_id: int) -> int:
    """How many views of the referral the audit trail holds (the first moved it to viewed)."""
    return int(
        db_session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.object_type == "referral",
                AuditEvent.object_id == referral_id,
                AuditEvent.action.in_(("referral.opened", "referral.viewed")),
            )
        )
    )


def _ask_for_tax_proof(db_session: Any, referral_id: int, bank_id: int, banker: int) -> None:
    """The bank asks the firm for information (the referral moves to info_requested)."""
    from finportal.models import Referral
    from finportal.services import bank_actions

    bank_actions.record_decision(
        db_session,
        referral_id,
        bank_id=bank_id,
        actor_id=banker,
        decision="info_requested",
        reason_text="请补充近三个月的纳税证明",
        lock_version=db_session.get(Referral, referral_id).lock_version,
    )


def test_the_referral_page_is_kept_for_the_bank_and_every_view_is_still_recorded(
    cached, app, client, db_session, loop, create_user
):
    """Each view of a referral by a bank user is in the audit trail, kept page or not; the
    page is rendered once for the bank's users (each with its own name in the top bar), never
    shown to another bank, and a decision shows on the next view."""

    referral_id, bank_id, banker = loop.referral.id, loop.bank.id, loop.bank_user.id
    firm = loop.enterprise.name
    url = f"/bank/referrals/{referral_id}"
    jia = _browser(app, loop.bank_user)
    other = _browser(app, loop.other_bank_user)
    colleague = _browser(app, create_user("bank", bank_id=bank_id, display_name="甲行第二位经理"))
    seen = [_own_request(jia, url) for _ in range(3)]
    assert all(page.status_code == 200 for page in seen)
    assert not _hit(seen[0]) and _hit(seen[2])
    assert firm in seen[2].text and "甲行客户经理" in seen[2].text
    assert _opened(db_session, referral_id) == 3
    theirs = _own_request(colleague, url)
    assert _hit(theirs) and "甲行第二位经理" in theirs.text and "甲行客户经理" not in theirs.text
    assert "fpslot" not in theirs.text and "fpslot" not in seen[2].text
    assert _opened(db_session, referral_id) == 4
    # Another bank: no page, and no record of a view.
    assert _own_request(other, url).status_code == 404
    assert _opened(db_session, referral_id) == 4
    # The bank asks for information: the next view shows the request.
    _ask_for_tax_proof(db_session, referral_id, bank_id, banker)
    after = _own_request(jia, url)
    assert not _hit(after) and "请补充近三个月的纳税证明" in after.text
    assert _opened(db_session, referral_id) == 5


def test_a_page_stays_kept_while_other_users_sign_in(cached, app, create_user, db_session):
    """Every page reads its signed-in user, and every sign-in writes that user's row (the
    time of the sign-in): another user signing in leaves the page kept; a change to its own
    user shows at once, and so does a write to the users that names no row."""
    from finportal.models import User

    sme = create_user("sme", display_name="张会计")
    others = [create_user("advisor"), create_user("sme")]
    mine = _browser(app, sme)
    _own_request(mine, "/sme/profile")  # the first view after a sign-in settles the session
    assert not _hit(_own_request(mine, "/sme/profile"))
    assert _hit(_own_request(mine, "/sme/profile"))
    for other in others:
        _browser(app, other)
        assert db_session.get(User, other.id).last_login_at is not None
    assert _hit(_own_request(mine, "/sme/profile"))
    db_session.get(User, sme.id).display_name = "李会计"
    db_session.commit()
    renamed = _own_request(mine, "/sme/profile")
    assert not _hit(renamed) and "李会计" in renamed.text
    assert _hit(_own_request(mine, "/sme/profile"))
    db_session.execute(update(User).where(User.id == others[0].id).values(display_name="王顾问"))
    db_session.commit()
    assert not _hit(_own_request(mine, "/sme/profile"))


def test_every_key_page_stays_kept_while_others_sign_in_and_out(cached, app, loop, create_user):
    """A sign-in writes the time of it, a sign-out the session version: the user's sign-in
    state, a table no page shows. The key pages of one referral loop stay kept while other
    users sign in and out, whatever each page reads of the users (names in a timeline, the
    advisors of a queue, the signed-in user reloaded after a commit in the request)."""
    aid, rid = loop.application.id, loop.referral.id
    # The bank's page first: each view of it records an opening, in the application's history.
    pages = [
        (loop.bank_user, f"/bank/referrals/{rid}"),
        (loop.sme_user, "/sme/"),
        (loop.sme_user, "/sme/matches"),
        (loop.sme_user, f"/sme/applications/{aid}"),
        (loop.advisor, "/advisor/"),
        (loop.advisor, f"/advisor/applications/{aid}"),
        (loop.advisor, "/advisor/dashboard"),
        (loop.bank_user, "/bank/"),
    ]
    browsers = {user.id: _browser(app, user) for user in {user for user, _ in pages}}
    others = [create_user(role) for role in ("sme", "advisor", "bank")]
    for user, url in pages:
        _own_request(browsers[user.id], url)
        assert _own_request(browsers[user.id], url).status_code == 200
        assert _hit(_own_request(browsers[user.id], url)), url
    for other in others:
        _browser(app, other).post("/auth/logout")
    stale = [
        url for user, url in pages[1:] + pages[:1] if not _hit(_own_request(browsers[user.id], url))
    ]
    assert stale == []


def test_the_firms_application_page_stays_kept_while_the_bank_opens_the_referral_again(
    cached, app, loop
):
    """Each view of a referral after the first is recorded (银行再次查看) and changes nothing:
    the firm's page of the application, whose timeline does not list such views, stays kept;
    the advisor's review page, which counts them beside the referral, shows the new count at
    once."""
    aid, rid = loop.application.id, loop.referral.id
    bank, firm = _browser(app, loop.bank_user), _browser(app, loop.sme_user)
    advisor = _browser(app, loop.advisor)
    mine, review, referral = (
        f"/sme/applications/{aid}",
        f"/advisor/applications/{aid}",
        (f"/bank/referrals/{rid}"),
    )
    for _ in range(3):  # viewed, then opened again
        assert _own_request(bank, referral).status_code == 200
    for _ in range(2):  # the first view after a sign-in settles the session, the next keeps
        _own_request(firm, mine), _own_request(advisor, review)
    assert _hit(_own_request(firm, mine)) and _hit(_own_request(advisor, review))
    assert "银行再次查看 2 次" in _own_request(advisor, review).text
    _own_request(bank, referral)
    assert _hit(_own_request(firm, mine))
    again = _own_request(advisor, review)
    assert not _hit(again) and "银行再次查看 3 次" in again.text


def test_a_referral_page_stays_kept_while_other_referrals_are_opened_and_decided(
    cached, app, db_session, make_loop
):
    """A bank opening another referral for the first time moves that one to viewed: the page
    of this referral stays kept (it read only its own row of the referrals), the bank's inbox
    (every row of its referrals) is rendered anew. A change to this referral shows at once, and
    so does a write to the referrals that names no row the page cache can see."""
    from finportal.models import Referral

    ours, theirs = make_loop(), make_loop(enterprise_name="上海另一家精密机械有限公司")
    ours_id, theirs_id, firm = ours.referral.id, theirs.referral.id, ours.enterprise.name
    bank_id, banker = ours.bank.id, ours.bank_user.id
    url = f"/bank/referrals/{ours_id}"
    jia, yi = _browser(app, ours.bank_user), _browser(app, theirs.bank_user)
    assert not _hit(_own_request(jia, url))
    assert _hit(_own_request(jia, url))
    assert not _hit(_own_request(jia, "/bank/"))
    assert _hit(_own_request(jia, "/bank/"))
    first_view = _own_request(yi, f"/bank/referrals/{theirs_id}")
    assert first_view.status_code == 200
    assert db_session.get(Referral, theirs_id).state == "viewed"
    kept = _own_request(jia, url)
    assert _hit(kept) and firm in kept.text
    assert not _hit(_own_request(jia, "/bank/"))
    # This referral changes: its next view shows it.
    _ask_for_tax_proof(db_session, ours_id, bank_id, banker)
    after = _own_request(jia, url)
    assert not _hit(after) and "请补充近三个月的纳税证明" in after.text
    assert _hit(_own_request(jia, url))
    # Core SQL names no row: every referral's page is stale.
    db_session.execute(
        update(Referral).where(Referral.id == theirs_id).values(advisor_opinion="补充意见")
    )
    db_session.commit()
    assert not _hit(_own_request(jia, url))


def test_with_the_audit_queue_a_kept_referral_page_is_served_and_its_view_queued(
    cached, app, db_session, loop, statements, monkeypatch, create_user
):
    """With the audit queue (finportal/audit_queue.py) a view after the first is answered from
    the kept page with no statement, its event queued with the state the page shows; a
    decision makes the next view rendered, and the views after it are queued in the new
    state; another bank still gets 404 and queues nothing; the page's note for its record
    never reaches a browser."""
    from finportal import audit_queue
    from finportal.models import User

    monkeypatch.setitem(app.config, "AUDIT_QUEUE_URL", cached)
    queue = audit_queue.of(app)
    assert queue is not None
    queue.redis.delete(queue.key)
    referral_id, bank_id, banker = loop.referral.id, loop.bank.id, loop.bank_user.id
    url = f"/bank/referrals/{referral_id}"
    jia = _browser(app, loop.bank_user)
    other = _browser(app, loop.other_bank_user)
    colleague = create_user("bank", bank_id=bank_id, display_name="甲行第二位经理")
    theirs = _browser(app, colleague)
    try:
        first, second = _own_request(jia, url), _own_request(jia, url)
        assert first.status_code == second.status_code == 200
        statements.clear()
        third = _own_request(jia, url)
        assert _hit(third) and loop.enterprise.name in third.text
        # (The test's own session, removed by _own_request, rolls back to its savepoint.)
        assert [s for s in statements if "SAVEPOINT" not in s] == []
        # A colleague's first view: the bank's kept page, found once the checks read the
        # user (the only statement), the view queued.
        statements.clear()
        page = _own_request(theirs, url)
        assert _hit(page) and "甲行第二位经理" in page.text and "甲行客户经理" not in page.text
        assert len([s for s in statements if "SAVEPOINT" not in s]) == 1
        assert _own_request(other, url).status_code == 404
        assert queue.waiting() == 3
        _ask_for_tax_proof(db_session, referral_id, bank_id, banker)
        after = _own_request(jia, url)
        assert not _hit(after) and "请补充近三个月的纳税证明" in after.text
        assert _hit(_own_request(jia, url))
        pages = (first, second, third, after)
        assert all(page_cache.RECORD_HEADER not in page.headers for page in pages)
        assert queue.drain(db_session) == 5
        views = db_session.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == "referral", AuditEvent.object_id == referral_id)
            .where(AuditEvent.action.in_(("referral.opened", "referral.viewed")))
            .order_by(AuditEvent.at)
        ).all()
        assert [(e.action, e.from_state, e.actor_id) for e in views] == [
            ("referral.viewed", "sent", banker),
            *[("referral.opened", "viewed", banker)] * 2,
            ("referral.opened", "viewed", colleague.id),
            *[("referral.opened", "info_requested", banker)] * 2,
        ]
        # The user deactivated since: the kept page is no longer served to its session (the
        # record depends on what the checks read), it is sent to sign in, and nothing is
        # recorded.
        assert _hit(_own_request(jia, url))
        queue.drain(db_session)
        db_session.get(User, banker).active = False
        db_session.commit()
        gone = _own_request(jia, url)
        assert gone.status_code == 302 and "/auth/login" in gone.headers["Location"]
        assert queue.waiting() == 0
    finally:
        queue.redis.delete(queue.key)


def test_a_recorded_view_is_looked_up_only_once_its_record_is_committed(cached, app, db_session):
    """``kept_or`` expires the session's records before rendering: with a change not yet
    written, or written and not committed, it renders the page as usual instead (the change
    would be lost, or shown before its commit)."""
    from finportal.services.audit import record_event

    assert not page_cache._writing(db_session())
    record_event(db_session, actor_id=None, action="x.y", object_type="x", object_id=1)
    assert page_cache._writing(db_session())  # added, not written
    db_session.flush()
    assert page_cache._writing(db_session())  # written, not committed
    db_session.commit()
    assert not page_cache._writing(db_session())


def test_a_shared_page_is_sent_compressed_with_each_readers_own_values(
    cached, app, client, create_user, review_url, monkeypatch
):
    """A shared page is kept in pieces around its slots: a browser gets one gzip stream made
    of them and the reader's own name and form token, which gzip and the HTTP clients' own
    decoders read as the page the reader gets uncompressed; nothing of the other reader."""
    import gzip
    import zlib

    wang = _browser(app, create_user("advisor", display_name="王压缩顾问"))
    li = _browser(app, create_user("advisor", display_name="李<压缩>顾问"))
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    assert not _hit(_own_request(wang, review_url))
    gzip_asked = {"Accept-Encoding": "gzip, deflate"}
    for _ in range(2):  # the page another reader rendered, then through the reader's record
        with_gzip = li.get(review_url, headers=gzip_asked)
        plain = li.get(review_url)
        assert _hit(with_gzip) and _hit(plain)
        assert with_gzip.headers["Content-Encoding"] == "gzip"
        assert "Content-Encoding" not in plain.headers
        opened = gzip.decompress(with_gzip.get_data())
        reader = zlib.decompressobj(16 + zlib.MAX_WBITS)  # as urllib3 and requests read it
        assert reader.decompress(with_gzip.get_data()) + reader.flush() == opened
        assert reader.eof and not reader.unused_data
        # The same page and the same session's form token in both. A token is signed with the
        # second it is made in (``payload.time.signature``): two requests a tick apart differ
        # there and nowhere else.
        assert _token_time_left_out(opened) == _token_time_left_out(plain.get_data())
        text = opened.decode()
        assert "李&lt;压缩&gt;顾问" in text and "王压缩顾问" not in text and "fpslot" not in text
        assert 'name="csrf_token"' in text
        assert len(with_gzip.get_data()) < len(opened) / 2


@pytest.mark.parametrize(
    "layout",
    ["{csrf}", "a{csrf}b{who}c", "{who}{csrf}{csrf}", "text only", "", "x{who}" * 50],
)
def test_a_page_kept_in_pieces_is_joined_to_the_page_with_the_readers_values(
    app, layout, monkeypatch
):
    """Slots anywhere (first, last, side by side, many, none) and values that need escaping:
    the joined answer, plain or gzip, is the page with the values in place."""
    import gzip
    import zlib

    monkeypatch.setitem(page_cache.SLOTS, "csrf", lambda: "tok&1")
    monkeypatch.setitem(page_cache.SLOTS, "who", lambda: "王<b>")
    with app.test_request_context("/"):
        marks = {n: page_cache.placeholder(n) for n in ("csrf", "who")}
        page = ("<p>开头</p>" + layout.format(**marks) + "<p>结尾 " * 300).encode()
        want = page.replace(marks["csrf"].encode(), b"tok&amp;1").replace(
            marks["who"].encode(), "王&lt;b&gt;".encode()
        )
        kept = page_cache._pieces(page)
        assert page_cache._joined(kept, {}, gzipped=False) == want
        packed = page_cache._joined(kept, {}, gzipped=True)
        assert gzip.decompress(packed) == want
        reader = zlib.decompressobj(16 + zlib.MAX_WBITS)
        assert reader.decompress(packed) + reader.flush() == want and reader.eof
        # A value kept with the reader's record stands for the slot's own.
        assert b"kept-name" in page_cache._joined(kept, {"who": "kept-name"}, gzipped=False) or (
            "{who}" not in layout
        )


def test_a_flush_undone_with_its_savepoint_leaves_no_declared_part_behind(cached, app, db_session):
    """A flush of audit events that fails in a savepoint (a reminder that another run sent
    first) declares their parts and never ends: a core write to the trail after it, of any
    record, still moves every part (else each record's history page stays stale)."""
    from sqlalchemy.exc import IntegrityError

    from finportal.services.audit import record_event

    cache = page_cache.cache_of(app)
    assert cache is not None
    every = lambda: cache.redis.hget(cache.generations_key, "audit_events!")  # noqa: E731
    before = every()
    savepoint = db_session.begin_nested()
    # No such user: the INSERT fails and the savepoint is rolled back.
    record_event(db_session, actor_id=987654321, action="x.y", object_type="referral", object_id=1)
    with pytest.raises(IntegrityError):
        db_session.flush()
    savepoint.rollback()  # as ``with session.begin_nested()`` does on the error
    db_session.execute(
        insert(AuditEvent).values(action="x.y", object_type="referral", object_id=424244, reason="")
    )
    db_session.commit()
    assert every() != before


def test_a_records_history_is_not_served_stale_when_its_parts_generation_is_lost(
    cached, app, client, create_user, review_url, db_session
):
    """A part's generation lapses (two minutes without an event of its record) and Redis may
    lose it sooner (evicted when short of memory, a failover): a page kept before an event of
    its record is not served once that event's generation is gone."""
    advisor = _browser(app, create_user("advisor"))
    application_id = int(review_url.rsplit("/", 1)[1])
    cache = page_cache.cache_of(app)
    assert cache is not None
    part = f"{cache.parts_prefix}audit_events#application:{application_id}"

    def lost() -> None:
        for key in cache.redis.scan_iter(match=part + "*"):
            cache.redis.delete(key)

    lost()  # no event of the application lately: its part has lapsed
    assert not _hit(_own_request(advisor, review_url))
    assert _hit(_own_request(advisor, review_url))
    _event(db_session, "application", application_id, "application.claimed")
    lost()
    assert not _hit(_own_request(advisor, review_url))


def test_junk_on_the_kept_referral_page_in_both_languages(cached, app, client, db_session, loop):
    """The referral page, now kept for its bank: junk ids and arguments never give a 500 and
    record no view; a kept page is never shown in the other language; another bank's id is
    404 whatever was kept."""
    referral_id, firm = loop.referral.id, loop.enterprise.name
    url = f"/bank/referrals/{referral_id}"
    jia = _browser(app, loop.bank_user)
    other = _browser(app, loop.other_bank_user)
    junk = ("/bank/referrals/99999999999999999999", "/bank/referrals/0", "/bank/referrals/-1")
    for address in junk:
        assert _own_request(jia, address).status_code == 404
    recorded = _opened(db_session, referral_id)
    for language, word in (("en", '<html lang="en"'), ("zh_CN", '<html lang="zh-CN"')):
        jia.get(f"/lang/{language}")
        for argument in ("", "?x=<b>", "?page=abc", "?q=" + "长" * 500):
            for _ in range(2):  # rendered, then kept
                page = _own_request(jia, url + argument)
                assert page.status_code == 200 and firm in page.text
                assert word in page.text and "fpslot" not in page.text
        assert _hit(_own_request(jia, url))
        assert _own_request(other, url).status_code == 404
    assert _opened(db_session, referral_id) == recorded + 2 * (4 * 2 + 1)
