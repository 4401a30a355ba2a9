"""Flask extensions and the database handle, created once and bound in ``create_app``."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask, current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, scoped_session

from finportal.models.base import Base


class Database:
    """Hold each app's engine and a thread-scoped session bound to the current app's engine."""

    def __init__(self) -> None:
        self.metadata = Base.metadata
        #: Tests bind every new session of the test's thread to one connection and roll it
        #: back afterwards.
        self.test_bind: Any = None
        self.test_join_mode: Any = "conditional_savepoint"
        #: The thread of the test that bound ``test_bind`` (None: every thread).
        self.test_thread: int | None = None
        self.session: scoped_session[Session] = scoped_session(self._new_session)

    def _new_session(self) -> Session:
        # Only the test's own thread: a portal served from a thread (the browser tests') or
        # a job thread still running after its test keeps its own database and connections
        # instead of working on the connection of whichever test runs meanwhile.
        if self.test_bind is not None and self.test_thread in (None, threading.get_ident()):
            return Session(
                bind=self.test_bind,
                expire_on_commit=False,
                join_transaction_mode=self.test_join_mode,
            )
        return Session(bind=self.get_engine(), expire_on_commit=False)

    def init_app(self, app: Flask) -> None:
        """Create the app's engine from ``DATABASE_URL`` and remove the session after each request."""
        url = app.config["DATABASE_URL"]
        kwargs: dict[str, Any] = {}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
        engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
        app.extensions["finportal_db"] = self
        app.extensions["finportal_engine"] = engine

        @app.teardown_appcontext
        def _remove_session(exc: BaseException | None) -> None:
            self.session.remove()

    def get_engine(self) -> Engine:
        """Return the current app's engine (Flask-Migrate's env.py asks for it)."""
        engine: Engine = current_app.extensions["finportal_engine"]
        return engine

    @property
    def engine(self) -> Engine:
        """The current app's engine."""
        return self.get_engine()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, open transactions, so SAVEPOINT works
    # (the documented pysqlite recipe); see _sqlite_begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # IMMEDIATE: take the write lock up front, so a request that reads and then writes
    # waits for a background job's write (busy timeout) instead of failing "database is locked".
    connection.exec_driver_sql("BEGIN IMMEDIATE")


db = Database()
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
