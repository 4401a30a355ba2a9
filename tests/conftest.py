"""Shared fixtures: the app on SQLite or PostgreSQL, a rolled-back session per test, factories.

Set ``FINPORTAL_TEST_DATABASE_URL`` to run the database tests on PostgreSQL (the README's
test command starts a throwaway server and does so); without it they run on SQLite.
"""

from __future__ import annotations

import gc
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.helpers import PASSWORD, healthy_firm

# Property tests run beside other workers on a 2-core machine: slow generation there says
# nothing about the code, and time is never a property (a test's own @settings keep the
# rest of this profile).
settings.register_profile("finportal", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("finportal")

TEST_DB_URL = os.environ.get("FINPORTAL_TEST_DATABASE_URL")


#: The garbage collector's thresholds in the test processes (Python's are 700, 10, 10). A
#: test process holds the app, SQLAlchemy's mappers, WeasyPrint's fonts and the test's records,
#: and its many short-lived objects set off a collection that rescans them every few hundred
#: allocations: 15 % of the time of tests/finportal/{renewals,sme,batches} (21 of 142 s).
#: Collected less often it took 121 s, with 4 % more memory (docs/BENCHMARKS.md, 2 December
#: 2026, evening). Reference counting still frees what no cycle holds at once.
GC_THRESHOLDS = (50_000, 50, 100)


def pytest_configure(config: pytest.Config) -> None:
    """Collect garbage less often (:data:`GC_THRESHOLDS`); run the tests at
    ``FINPORTAL_TEST_NOW`` (an ISO instant, UTC unless it names a zone).

    The clock of this process (and of each pytest-xdist worker) starts there and runs on, so
    that a test depending on the hour, the Shanghai day, a weekend or a year's end can be
    caught at any time: ``FINPORTAL_TEST_NOW=2026-12-01T16:00:30Z`` is local midnight
    (docs/DEVELOPING.md, "Tests that do not depend on the hour"). time-machine moves Python's
    wall clock only (not ``time.monotonic``, nor subprocesses or the database server).
    """
    gc.set_threshold(*GC_THRESHOLDS)
    instant = os.environ.get("FINPORTAL_TEST_NOW")
    if not instant:
        return
    import datetime as dt

    import time_machine

    moment = dt.datetime.fromisoformat(instant)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    traveller = time_machine.travel(moment, tick=True)
    traveller.start()
    config.add_cleanup(traveller.stop)


def pytest_report_header() -> str | None:
    """Say at which instant the tests run when ``FINPORTAL_TEST_NOW`` moves the clock."""
    import datetime as dt

    instant = os.environ.get("FINPORTAL_TEST_NOW")
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return f"clock moved to FINPORTAL_TEST_NOW={instant}: now {now}" if instant else None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that reaches a database (through the ``app`` fixture) with ``db``.

    The test command runs each test once: the tests that never touch a database, the
    browser tests (their portal runs on the embedded default, SQLite) and the database
    tests marked ``both_engines`` on SQLite; every database test on PostgreSQL, the
    production engine. Without ``FINPORTAL_TEST_DATABASE_URL`` everything runs on SQLite.
    """
    for item in items:
        if "app" in getattr(item, "fixturenames", ()) or "database_url" in getattr(
            item, "fixturenames", ()
        ):
            item.add_marker(pytest.mark.db)
    # Modules with a slow test go first: scripts/test.sh hands whole files to the workers in
    # this order (--dist loadfile), so the long tests start at once on different workers
    # instead of leaving one worker alone with a long test at the end (the sort is stable,
    # keeps each module together and is the same on every worker).
    slow = {item.nodeid.split("::")[0] for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in slow)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of the test database: PostgreSQL when configured, else a SQLite file.

    Under pytest-xdist each worker gets a database of its own on the same server.
    """
    if TEST_DB_URL:
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        return _worker_database(TEST_DB_URL, worker) if worker else TEST_DB_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def _worker_database(url: str, worker: str) -> str:
    """Create (anew) the worker's own database next to ``url`` and return its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _server_like_client() -> type:
    """The tests' client class: each request loads the signed-in user anew, as a server does."""
    from flask.testing import FlaskClient

    class Client(FlaskClient):
        """Load the signed-in user anew on every request, as a server does.

        The test keeps one app context open across requests (for the shared session), so
        Flask-Login's per-request cache of the user (``g._login_user``), Flask-WTF's of the
        form token (``g.csrf_token``) and Flask-Babel's of the language (with the portal's
        memo of it) would survive.
        """

        def open(self, *args: Any, **kwargs: Any) -> Any:
            from flask import g, has_app_context

            from finportal import i18n

            if has_app_context():
                for per_request in ("_login_user", "csrf_token", "_flask_babel", i18n._MEMO):
                    g.pop(per_request, None)
            try:
                return super().open(*args, **kwargs)
            finally:
                # A server's request hands its connection back to the pool: what it wrote is
                # done with (the test's connection stays open, in the test's transaction).
                from finportal import page_cache
                from finportal.extensions import db

                if getattr(db, "test_bind", None) is not None:
                    page_cache._ended(db.test_bind.info)

    return Client


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The application, with the schema built once by the Alembic migrations."""
    import flask_migrate

    from finportal import create_app

    instance = tmp_path_factory.mktemp("instance")
    os.environ.setdefault("FINPORTAL_INSTANCE_PATH", str(instance))
    application = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "WTF_CSRF_ENABLED": False,
            "JOBS_MODE": "eager",
            "LOGIN_RATE_LIMIT": "10000 per minute",
            "LOGIN_IP_RATE_LIMIT": "10000 per minute",
            "MODEL_DIR": str(instance / "models"),
            "PACKET_DIR": str(instance / "packets"),
            "DOCUMENT_DIR": str(instance / "documents"),
            "REGISTER_RATE_LIMIT": "10000 per minute",
            "PREVIEW_RATE_LIMIT": "10000 per minute",
            "SERVER_NAME": "localhost",
            "MONITOR_MAX_AGE_SECONDS": 0,  # the fairness monitor too, like the dashboard below
            # Pages compute the dashboard at once (tests change data and read it straight away).
            "DASHBOARD_MAX_AGE_SECONDS": 0,
            # Off, except in tests/finportal/test_page_cache.py; FINPORTAL_TEST_PAGE_CACHE=1 runs
            # every test with it (on the test command's Redis) to look for a stale page.
            "PAGE_CACHE_URL": os.environ.get("FINPORTAL_TEST_REDIS_URL")
            if os.environ.get("FINPORTAL_TEST_PAGE_CACHE") == "1"
            else None,
        }
    )
    with application.app_context():
        if database_url.startswith("postgresql"):
            _reset_postgres(application)
        flask_migrate.upgrade()
    _release_rolled_back_savepoints(application.extensions["finportal_engine"])
    # Every test client, not only the ``client`` fixture's: a test that opens browsers of its
    # own would otherwise pass or fail with the order the tests run in.
    application.test_client_class = _server_like_client()
    return application


def _release_rolled_back_savepoints(engine: Any) -> None:
    """Make every ``ROLLBACK TO SAVEPOINT`` of the tests' engine also release the savepoint.

    A test's sessions each work in a savepoint of the test's transaction (``db_session``);
    ``ROLLBACK TO SAVEPOINT`` keeps the savepoint open (SQL's rule), so every rollback (a
    refused form, a session closed without commit) nested all later work one level deeper.
    On PostgreSQL each write then gave every level a transaction id, locked until the test
    ends: a test of many requests held thousands of locks, slowed every visibility check
    past 64 levels, and a long one ran out of shared memory (``max_locks_per_transaction``).
    SQLAlchemy never uses a savepoint again once it was rolled back to, so releasing it
    right away changes nothing else.
    """
    dialect = engine.dialect
    rollback_to = dialect.do_rollback_to_savepoint

    def rollback_and_release(connection: Any, name: str) -> None:
        rollback_to(connection, name)
        dialect.do_release_savepoint(connection, name)

    dialect.do_rollback_to_savepoint = rollback_and_release


def _reset_postgres(application: Any) -> None:
    from sqlalchemy import text

    from finportal.extensions import db

    with db.get_engine().begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def demo_app(app: Any, database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The app on a database of its own with the demo loaded, once per test process.

    ``finportal.demo.load_demo`` runs once per pytest-xdist worker (not once per test) into
    a new database of the test database's kind (PostgreSQL next to the worker's database,
    or a SQLite file), migrated and loaded from empty as README command 1 does. The tests
    marked ``demo`` get their ``db_session`` (and so their client) on it, rolled back after
    each test like any other; nothing writes to it afterwards.
    """
    import flask_migrate

    from finportal import create_app
    from finportal.demo import load_demo
    from finportal.extensions import db

    if database_url.startswith("postgresql"):
        url = _worker_database(database_url, "demo")
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    # The test app's configuration (instance, model, packet and document folders), its URL.
    application = create_app({**app.config, "DATABASE_URL": url})
    with application.app_context():
        flask_migrate.upgrade()
        load_demo(db.session)
        db.session.remove()
    yield application
    application.extensions["finportal_engine"].dispose()


@pytest.fixture
def demo_context(request: pytest.FixtureRequest, db_session: Any) -> dict[str, Any]:
    """What ``load_demo`` returns (users, enterprises, password), read from the loaded demo."""
    from sqlalchemy import select

    from finportal.demo import DEFAULT_PASSWORD
    from finportal.models import Enterprise, User

    assert request.node.get_closest_marker("demo"), "demo_context is for tests marked demo"
    users = db_session.scalars(
        select(User).where(User.username.like("demo-%")).order_by(User.id)
    ).all()
    enterprises = db_session.scalars(
        select(Enterprise).where(Enterprise.demo.is_(True)).order_by(Enterprise.id)
    ).all()
    return {
        "users": {user.username: user for user in users},
        "enterprises": list(enterprises),
        "password": DEFAULT_PASSWORD,
    }


@pytest.fixture
def db_session(app: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A session whose every commit is rolled back after the test (savepoints).

    On the demo's database (``demo_app``) for a test marked ``demo``.
    """
    from finportal.extensions import db

    demo = request.node.get_closest_marker("demo") and request.getfixturevalue("demo_app")
    with app.app_context():
        connection = (demo.extensions["finportal_engine"] if demo else db.get_engine()).connect()
        transaction = connection.begin()
        db.session.remove()
        db.test_bind, db.test_join_mode = connection, "create_savepoint"
        db.test_thread = threading.get_ident()
        try:
            yield db.session
        finally:
            db.session.remove()
            db.test_bind, db.test_thread = None, None
            transaction.rollback()
            connection.close()


@pytest.fixture(scope="session")
def reference_model_dir() -> str:
    """The cold-start model trained once per test process on the synthetic reference data.

    The same folder the demo registers its model from (``credit.reference_model_dir``).
    """
    from finportal.services import credit

    return credit.reference_model_dir()


@pytest.fixture
def published_catalog(db_session: Any) -> Any:
    """The catalogue of products/catalog published in the test database."""
    from finportal.services import catalog

    catalog.sync_catalog(db_session)
    return catalog.current_catalog(db_session)


@pytest.fixture
def champion_model(db_session: Any, reference_model_dir: str) -> Any:
    """The reference model registered and promoted as the active model."""
    from finportal.services import credit

    row = credit.register_model(
        db_session, reference_model_dir, actor_id=None, name="参考模型", status="champion"
    )
    db_session.commit()
    return row


@pytest.fixture
def client(app: Any, db_session: Any) -> Any:
    """A test client that shares the rolled-back session (every test client of the app is a
    :func:`_server_like_client`)."""
    return app.test_client()


_counter = {"n": 0}


def _next() -> int:
    _counter["n"] += 1
    return _counter["n"]


@pytest.fixture
def create_enterprise(db_session: Any) -> Callable[..., Any]:
    """Factory: an enterprise with a complete, healthy profile; override any field."""
    from finportal.models import Enterprise

    def make(**overrides: Any) -> Any:
        enterprise = Enterprise(**healthy_firm(_next(), **overrides))
        db_session.add(enterprise)
        db_session.commit()
        return enterprise

    return make


@pytest.fixture
def create_bank(db_session: Any) -> Callable[..., Any]:
    """Factory: a partner bank."""
    from finportal.models import Bank

    def make(**overrides: Any) -> Any:
        n = _next()
        bank = Bank(
            **{
                "code": f"bank{n}",
                "name_zh": f"测试银行{n}",
                "name_en": f"Test Bank {n}",
                **overrides,
            }
        )
        db_session.add(bank)
        db_session.commit()
        return bank

    return make


@pytest.fixture
def create_user(db_session: Any, create_enterprise: Any, create_bank: Any) -> Callable[..., Any]:
    """Factory: a user of a role, linked to a new enterprise, bank or park as the role needs."""
    from finportal.models import Park
    from finportal.services.accounts import create_user as add_user

    def make(role: str = "sme", **overrides: Any) -> Any:
        n = _next()
        links: dict[str, Any] = {}
        if role == "sme" and "enterprise_id" not in overrides:
            links["enterprise_id"] = create_enterprise().id
        if role == "bank" and "bank_id" not in overrides:
            links["bank_id"] = create_bank().id
        if role == "recommender" and "park_id" not in overrides and "chamber_id" not in overrides:
            park = Park(code=f"park{n}", name_zh=f"测试园区{n}")
            db_session.add(park)
            db_session.flush()
            links["park_id"] = park.id
        user = add_user(
            db_session,
            username=overrides.pop("username", f"{role}{n}"),
            password=overrides.pop("password", PASSWORD),
            role=role,
            **links,
            **overrides,
        )
        db_session.commit()
        return user

    return make


@pytest.fixture
def login(client: Any) -> Callable[[Any], Any]:
    """Sign a user in on the test client."""

    def do(user: Any, password: str = PASSWORD) -> Any:
        response = client.post(
            "/auth/login", data={"username": user.username, "password": password}
        )
        assert response.status_code == 302, response.text
        return client

    return do


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashes() -> Iterator[None]:
    """Hash the tests' passwords with argon2id at argon2-cffi's cheapest parameters.

    The portal hashes with argon2-cffi's defaults (64 MiB, 3 passes, 4 lanes): 0.1-0.6 s a
    hash or check on the 2-core test machine, paid by every user a test makes and every
    sign-in — 40 % of the time of tests/finportal/sme. The tests keep the algorithm, the
    library and every code path (a hash carries its parameters; the check reads them).
    """
    import argon2

    from finportal.services import accounts

    production = accounts._hasher
    accounts._hasher = argon2.PasswordHasher.from_parameters(argon2.profiles.CHEAPEST)
    yield
    accounts._hasher = production


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A real Redis: the test command's (FINPORTAL_TEST_REDIS_URL), else one started here."""
    configured = os.environ.get("FINPORTAL_TEST_REDIS_URL")
    if configured:
        yield configured
        return
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("needs redis-server or FINPORTAL_TEST_REDIS_URL (scripts/test.sh sets it)")
    port = 63811
    pidfile = tmp_path / "redis.pid"
    subprocess.run(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "yes",
            "--pidfile",
            str(pidfile),
            "--logfile",
            str(tmp_path / "redis.log"),
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        for _ in range(50):
            if pidfile.exists():
                os.kill(int(pidfile.read_text()), 15)
                break
            time.sleep(0.05)
