"""The generated-request test's harness: each request is undone and leaves nothing behind,
and each example starts from the same state.

Every request of ``test_fuzz_inputs`` runs in a savepoint that is rolled back, so each
example meets the same world. A rolled-back savepoint that is not also released stays
open, and the next one nests inside it: on PostgreSQL every write then holds one more
transaction-id lock until the test ends, and a long run (60 examples, ~20,000 requests)
ended in "out of shared memory" at whatever request came next, reported by Hypothesis as
a flaky strategy or as an error of an innocent route. Likewise the clients' cookies
carried one example's end (a language switch, say) into the next one's start.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event, text

from tests.finportal.test_fuzz_inputs import World, _new_browsers, _open, _send
from tests.helpers import PASSWORD

REQUESTS = 120
_SAVEPOINT = re.compile(r"\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\s+(\S+)", re.I)


def _follow_savepoints(connection: Any) -> list[str]:
    """Return a list kept equal to the savepoints the database holds open on ``connection``.

    Read from the statements sent, as SQL defines them: a release ends the named savepoint
    and every one inside it; a rollback to a savepoint ends those inside it, and the named
    one stays open.
    """
    live: list[str] = []

    def sent(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        match = _SAVEPOINT.match(statement)
        if match is None:
            return
        command, name = match.groups()
        if command == "SAVEPOINT":
            live.append(name)
        elif name in live:
            keep = command.startswith("ROLLBACK")
            del live[live.index(name) + keep :]

    event.listen(connection, "before_cursor_execute", sent)
    return live


def _transaction_id_locks(connection: Any) -> int:
    return int(
        connection.execute(
            text(
                "SELECT count(*) FROM pg_locks"
                " WHERE pid = pg_backend_pid() AND locktype = 'transactionid'"
            )
        ).scalar_one()
    )


def test_undone_requests_leave_no_savepoint_and_no_lock_behind(app, db_session, create_user):
    """A signed-in firm switches the language back and forth (each switch to English writes
    the user's language): afterwards nothing was written, no savepoint is left open, and on
    PostgreSQL the test's transaction holds no more locks than before."""
    from finportal.extensions import db
    from finportal.models import User

    user = create_user("sme")
    client = app.test_client()
    signed_in = _open(
        app, client, "/auth/login", data={"username": user.username, "password": PASSWORD}
    )
    assert signed_in.status_code == 302
    world = World(ids={}, clients={"sme": client}, token="")
    connection = db.test_bind
    postgres = connection.dialect.name == "postgresql"
    db.session.remove()
    live = _follow_savepoints(connection)
    locks_before = _transaction_id_locks(connection) if postgres else 0

    for n in range(REQUESTS):
        code = "en" if n % 2 == 0 else "zh_CN"
        response = _send(app, world, "sme", "GET", f"/lang/{code}", "form", {})
        assert response.status_code == 302, response.status_code

    if postgres:
        # Before the fix: one lock more per request (the switches to English wrote).
        assert _transaction_id_locks(connection) - locks_before <= 2
    assert live == []
    db.session.remove()
    assert db.session.get(User, user.id).language is None


def test_each_example_starts_with_new_browsers_that_keep_their_sign_in(
    app, db_session, create_user
):
    """What a visitor and a signed-in firm did before (switch to English) is gone from the
    new browsers: the pages are in Chinese again, and the firm is still signed in."""
    user = create_user("sme")
    firm = app.test_client()
    signed_in = _open(
        app, firm, "/auth/login", data={"username": user.username, "password": PASSWORD}
    )
    assert signed_in.status_code == 302
    session = firm.get_cookie(app.config["SESSION_COOKIE_NAME"]).decoded_value
    world = World(
        ids={},
        clients={"anonymous": app.test_client(), "sme": firm},
        token="",
        sessions={"sme": session},
    )
    for role in ("anonymous", "sme"):
        assert _send(app, world, role, "GET", "/lang/en", "form", {}).status_code == 302
        page = _send(app, world, role, "GET", "/products/", "form", {})
        assert '<html lang="en">' in page.text

    _new_browsers(app, world)

    for role in ("anonymous", "sme"):
        page = _send(app, world, role, "GET", "/products/", "form", {})
        assert '<html lang="zh-CN">' in page.text, role
    assert _send(app, world, "anonymous", "GET", "/", "form", {}).status_code == 200
    home = _send(app, world, "sme", "GET", "/", "form", {})
    assert home.status_code == 302 and home.location.startswith("/sme"), home.location
