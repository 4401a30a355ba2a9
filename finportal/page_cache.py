"""Whole pages kept for the reader who asked, until anything in the database changes.

A page a user opens again with nothing changed in between is answered from Redis without
running its view: no database statement, no template. The rule that keeps this correct is
a counter per table, its *generation*, in one Redis hash per database:

- every statement that writes (an INSERT, UPDATE, DELETE, DDL, SQL text that is not a
  read, a SELECT with a writing CTE) and did not report zero rows changed, from any process
  that uses the portal's engine — web workers, job workers, the scheduler, ``flask``
  commands — moves the generation of the table it writes on when it runs, and again right
  after its transaction commits or otherwise ends (:func:`_after_execute`, :func:`_ended`).
  An UPDATE or DELETE (or an upsert) also moves the tables whose foreign keys the database
  cascades from it (:func:`written_tables`); a write whose table is not named plainly (DDL, a writing
  CTE, psycopg's COPY reported with :func:`wrote`) moves :data:`ANY`, on which every page
  depends. What a transaction wrote is noted on its connection, not its thread (a job's
  work and its progress report are two transactions of one thread);
- a request takes the generations as they are when it begins (before any of its
  statements), and notes the tables its statements read (every known table the SQL names:
  :func:`read_tables`). Its page is kept with the generations of those tables, and served
  only while each is still the current one. A write committed after a request began moves
  its table past it, so a page rendered from data older than a commit is never served
  after that commit (the second move, after the commit, closes the race with a reader that
  began between the statement and its commit); a write to a table the page did not read
  leaves it kept.

A big table that only grows is followed in parts (:mod:`finportal.rows`: the audit trail, by
record): a statement that reads only some records' rows says which (an execution option),
and its page depends on those parts' generations and on the table's :data:`EVERY_PART`, not
on the table's own; a row the ORM writes moves its own parts, any other write every part.

A transaction that wrote a table also leaves a pending mark on it until that second move
(:meth:`PageCache.move_on`): no page that read a table with a mark is kept, so a process
killed between the database's commit and its move leaves no stale page behind.

A view that records every view of its page (:func:`recorded`: the bank's referral page) is
never answered before it runs; once its record is committed it asks for its page
(:func:`kept_or`). One whose record can be made without it (``when_kept``: the event of a
view that changes nothing, queued in Redis) is answered with its kept page as other pages
are, once ``when_kept`` made the record from what the page noted when it was rendered
(:data:`RECORD_HEADER`); if it cannot, the view runs.

A kept page belongs to exactly one reader and one way of asking (a page shared by every
reader of a scope, :func:`shared`, is the exception: its reader's values are slots filled as
it is served, and each reader's session keeps a record of what its checks found, which leads
its later views of the scope's pages to them before the checks run): the key holds the release
(the code and its configuration), the full path with its query, the session's whole content
(the signed-in user and the session version a logout moves on, the CSRF token, the chosen
language), the other cookies, the request headers a page may depend on (languages,
``Accept``, the bearer token, the user agent, the host) and the client's address.

A kept page lives as long as what it shows of the clock holds, :data:`TTL_SECONDS` at most
whatever happens (writes made outside the portal's engine, e.g. by hand in ``psql``, are
seen within that time). Every reading of the clock goes through
:func:`finportal.models.base.utcnow` or :func:`finportal.services.workdays.today_local`,
which tell the cache (:data:`finportal.models.base.CLOCK_READERS`): a page whose request
read the time (a deadline's clock, "overdue") lives until its reader's minute turns
(:func:`window`: minutes shifted per reader, so that many readers' pages do not all turn
stale at one instant), one that read only today's date until the next midnight in
Shanghai. The instant it is kept until is kept with it and checked as it is looked up
(:data:`UNTIL`).

A kept page keeps the headers its view set (its type, ``X-Pagination``); the app's own
after-request handlers set theirs again on every answer. A page is kept only when it is a
plain ``GET`` answered 200 with HTML or JSON, its request
wrote nothing and changed no session (a flashed message shown, a sign-in), it sets no other
cookie and is not a download; never for the sign-in pages, health and metrics, or a view
marked :func:`never`, or a page whose view called :func:`live` (it shows a running clock). A
request whose session holds a flashed message is always rendered.

With Redis unreachable pages are rendered as before: the cache is skipped for a few seconds
after an error, and a generation move that could not be made is made before this process
serves from the cache again. Generations Redis lost (evicted, deleted, a new Redis) serve
and keep nothing until they start again under a new epoch (the clock in nanoseconds, which
every kept page names), so they never come back to numbers pages were kept under.

What kept pages hold in Redis is bounded, whatever clients ask for (every distinct URL is a
page of its own, so a client varying a query argument no page reads would otherwise fill
Redis): a page is kept only while what Redis takes for the pages kept in its minute stays
within ``PAGE_CACHE_MAX_BYTES`` / :data:`MINUTES_ALIVE` and the reader's own within
:data:`READER_SHARE` of that (:data:`_KEEP_SCRIPT`): pages live :data:`TTL_SECONDS` at most,
so at most that many minutes' pages are alive. Beyond the budget pages are rendered as
without the cache. On by default when the portal has Redis (``FINPORTAL_REDIS_URL``);
``FINPORTAL_PAGE_CACHE_URL`` names another Redis for it, ``FINPORTAL_PAGE_CACHE_URL=off``
turns it off (docs/OPERATIONS.md, "Page cache").
"""

from __future__ import annotations

import atexit
import functools
import gzip
import hashlib
import json
import re
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from flask import (
    Flask,
    Response,
    current_app,
    g,
    has_app_context,
    request,
    request_started,
    session,
)
from markupsafe import Markup, escape
from prometheus_client import Counter
from sqlalchemy import Connection, Engine, TextualSelect, event, inspect
from sqlalchemy.orm import Session

from finportal import rows

#: How long a kept page lives at most, in seconds: writes made outside the portal's engine
#: (by hand in ``psql``) show within it.
TTL_SECONDS = 300
#: A page whose request read the time (:func:`finportal.models.base.utcnow`: a deadline's
#: clock, "overdue") lives until its reader's minute turns (:func:`window`), this long at most.
CLOCK_SECONDS = 60
#: The minutes whose kept pages may be alive at once (a page lives TTL_SECONDS at most, so
#: the pages of that many minutes and of the one before): each minute may hold this share of
#: ``PAGE_CACHE_MAX_BYTES``.
MINUTES_ALIVE = TTL_SECONDS // 60 + 1
#: How long a transaction's pending mark stands at most (a process killed between its commit
#: and its move after the commit): pages that read its tables are not kept meanwhile.
MARK_SECONDS = 60
#: Pages larger than this are not kept (bytes).
MAX_BYTES = 512 * 1024
#: Kept pages are stored compressed at this gzip level (once per page kept; a 100 KB page
#: becomes about 15 KB, sent as it is to every client that accepts gzip).
GZIP_LEVEL = 6
#: After a Redis error the cache is left alone for this many seconds.
PAUSE_SECONDS = 5.0
#: Redis timeouts: a page must never wait long for its cache.
SOCKET_TIMEOUT_SECONDS = 0.1
#: A shared page that is not kept (gone stale: a write, its minute turned) is rendered by one
#: request at a time: the scope's other readers who ask meanwhile wait for its page, asking
#: again every RENDER_POLL_SECONDS, until it is kept, its rendering ends without a page (they
#: then render it themselves), or RENDER_WAIT_SECONDS pass. Else every reader of a busy page
#: (an advisors' queue polled by fifty advisors) renders it at once each time it turns stale.
RENDER_WAIT_SECONDS = 2.0
RENDER_POLL_SECONDS = 0.02
#: How long a claim to render a page holds at most (a process killed while it renders).
RENDER_CLAIM_MS = 10_000
#: Blueprints whose pages are never kept: sign-in and registration (their forms and
#: throttles), health and metrics (they report this moment), static files (already cheap).
NEVER_BLUEPRINTS = frozenset({"auth", "health"})
#: The header that tells a kept page from a rendered one (``hit``), for tests and load tests.
HEADER = "X-Page-Cache"
#: One reader (a signed-in user, an API token, else a client address) may fill at most this
#: share of a minute's budget: a client cannot crowd every other reader out of the cache.
READER_SHARE = 8
#: Bytes counted for each new key (a page's expiry, a counter) besides what Redis reports for it.
KEY_OVERHEAD_BYTES = 128
#: What a mimetype must be for a page to be kept.
KEPT_MIMETYPES = frozenset({"text/html", "application/json"})
#: First words of SQL text that only read (anything else counts as a write).
_READ_WORDS = frozenset(
    {"SELECT", "SHOW", "EXPLAIN", "PRAGMA", "SET", "BEGIN", "ROLLBACK", "SAVEPOINT", "RELEASE"}
)

#: The generation every page depends on: moved by a write whose table is not known.
ANY = "*"
#: Between a table and one of its parts in a generation's name (``audit_events#referral:42``):
#: a page that read only some rows of a table depends on those parts' generations and on the
#: table's :data:`EVERY_PART`, not on the table's own (:mod:`finportal.rows`).
PART = "#"
#: After a table's name: the generation that any write to it not told in parts moves.
EVERY_PART = "!"
#: The field of the generations' hash that names when it started (a lost hash starts anew).
EPOCH = "@epoch"
#: Among what a page is kept with: the instant (``time.time()`` of the process that kept
#: it) from which it is no longer served, whatever Redis's own clock says.
UNTIL = "@until"

F = TypeVar("F", bound=Callable[..., Any])

REFUSED = Counter(
    "finportal_page_cache_refused_total",
    "Pages not kept because the minute's budget (budget) or the reader's share (reader) was spent.",
    ("reason",),
)

RENDER_WAITS = Counter(
    "finportal_page_cache_render_waits_total",
    "Requests that waited for another request's rendering of a shared page, by how the wait"
    " ended: its page served (kept), rendered itself after a rendering that kept nothing"
    " (unkept), or after RENDER_WAIT_SECONDS (timeout).",
    ("outcome",),
)
RENDER_WAIT_SECONDS_SPENT = Counter(
    "finportal_page_cache_render_wait_seconds_total",
    "Seconds requests spent waiting for another request's rendering of a shared page (a sync"
    " worker waiting serves nothing else).",
)

#: Look a page up in one round trip (KEYS: the generations, the page, the reader's record;
#: ARGV: the epoch's field, a new epoch, the prefix of the generations of tables' parts, the
#: time now: a page kept until then, :data:`UNTIL`, is not served; the key of the page's path
#: among a scope's shared pages, "" for a page that is not shared). Answers {1, page} when the
#: page is kept and every generation it was kept with is current; {3, page, slots} when the
#: page is shared, the reader's record is current (what its checks found on an earlier view:
#: the scope's shared pages' key before the path, and the reader's slots) and the scope's page
#: for the path is kept and current; else {0, every generation} (to keep the page being
#: rendered with), or {2} when there was no epoch (one is started: nothing is served or kept).
#: A record names its pages' keys itself (Redis not clustered).
_LOOKUP_SCRIPT = """
local function current(kept)
  local split = string.find(kept, '\\n', 1, true)
  if not split then return nil end
  for table, generation in pairs(cjson.decode(string.sub(kept, 1, split - 1))) do
    local now
    if table == '@until' then
      if tonumber(generation) <= tonumber(ARGV[4]) then return nil end
      now = generation
    elseif string.find(table, '#', 1, true) then
      now = redis.call('GET', ARGV[3] .. table)
    else
      now = redis.call('HGET', KEYS[1], table)
    end
    if (now or '0') ~= generation then return nil end
  end
  return string.sub(kept, split + 1)
end
local kept = redis.call('GET', KEYS[2])
local page = kept and current(kept)
if page then
  return {1, page}
end
if ARGV[5] ~= '' then
  local record = redis.call('GET', KEYS[3])
  local found = record and current(record)
  if found then
    found = cjson.decode(found)
    local shared = redis.call('GET', found.shared .. ARGV[5])
    local shared_page = shared and current(shared)
    if shared_page then
      return {3, shared_page, cjson.encode(found.slots)}
    end
  end
end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
  return {2}
end
return {0, redis.call('HGETALL', KEYS[1])}
"""

#: Keep a page if no transaction that wrote a table it read is pending and the budget allows
#: (KEYS: the page, the minute's total, the reader's total, then the pending marks of its
#: tables; ARGV: the value, its lifetime in milliseconds, the minute's budget, the reader's budget, the
#: overhead, the time now).
#: What counts is what Redis takes for it (``MEMORY USAGE``: its allocator rounds a value up
#: by as much as a quarter, and the key's name and record count too), and the overhead for each
#: new key (its expiry) and counter; where ``MEMORY`` is refused, the length plus a quarter.
#: A page kept again under its key (a new generation) counts only what it grew by. Beyond the
#: budget the page is not kept (nor the value it replaced: that one was stale).
_KEEP_SCRIPT = """
for i = 4, #KEYS do
  if redis.call('ZCOUNT', KEYS[i], ARGV[6], '+inf') > 0 then
    return 'pending'
  end
end
local overhead = tonumber(ARGV[5])
local function held(key)
  local ok, used = pcall(redis.call, 'MEMORY', 'USAGE', key)
  if ok then return tonumber(used) or 0 end
  local length = redis.call('STRLEN', key)
  if length == 0 then return 0 end
  return length + math.ceil(length / 4) + overhead
end
local old = held(KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local grow = held(KEYS[1]) - old
if old == 0 then grow = grow + overhead end
if grow > 0 then
  for i = 2, 3 do
    if redis.call('EXISTS', KEYS[i]) == 0 then grow = grow + overhead end
  end
  if tonumber(redis.call('GET', KEYS[2]) or '0') + grow > tonumber(ARGV[3]) then
    redis.call('DEL', KEYS[1])
    return 'budget'
  end
  if tonumber(redis.call('GET', KEYS[3]) or '0') + grow > tonumber(ARGV[4]) then
    redis.call('DEL', KEYS[1])
    return 'reader'
  end
  local counted = 180  -- seconds: a minute's counters are read in that minute only
  redis.call('INCRBY', KEYS[2], grow)
  redis.call('EXPIRE', KEYS[2], counted)
  redis.call('INCRBY', KEYS[3], grow)
  redis.call('EXPIRE', KEYS[3], counted)
end
return 'kept'
"""


#: Delete a lock or claim only if its holder still holds it (KEYS: the key; ARGV: the holder's
#: token): a render's claim here, the audit queue's drain lock (finportal/audit_queue.py).
RELEASE_IF_HELD_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def never(view: F) -> F:
    """Mark a view whose page must always be rendered (it shows something besides the database)."""
    view.page_cache_never = True  # type: ignore[attr-defined]
    return view


#: The header in which a :func:`recorded` view's page notes what its record needs (the
#: referral's state): kept with the page, never sent.
RECORD_HEADER = "X-Page-Record"


def recorded(view: F | None = None, *, when_kept: Callable[[str], bool] | None = None) -> Any:
    """Mark a view that records every view of its page before showing it (a bank opening a
    referral is written to the audit trail). The view makes its record, commits it, then
    answers with :func:`kept_or`.

    Without ``when_kept`` its page is never served before the view runs. With it, a kept
    page is served as other pages are, after ``when_kept(note)`` made the record — ``note``
    is what the view put in :data:`RECORD_HEADER` when it rendered the page, still true while
    the page is kept (every table it read is as it was) — and told so; when it cannot (it
    returns False: no note, or the record must change a record), the view runs."""

    def mark(func: F) -> F:
        func.page_cache_recorded = True  # type: ignore[attr-defined]
        func.page_cache_when_kept = when_kept  # type: ignore[attr-defined]
        return func

    return mark if view is None else mark(view)


def kept_or(render: Callable[[bool], Any]) -> Any:
    """Answer a :func:`recorded` view once its record is committed: the page kept for this
    reader (or its scope, with :func:`shared`), else ``render(again)``, kept for the next view.

    What the view read and wrote before is behind it: the page is looked up with the
    generations as they are now (its own record moved some), and what it shows is read again
    — the session's records are expired and ``again`` is true: the view reads its records
    anew, as a view of its own does — so it depends on what it reads from here. Rendered as
    usual (``again`` false) without the cache, while a change is not yet committed, or when
    the request began with records in its session (an application context kept around several
    requests, as in tests and commands: expiring them would change the caller's records too).
    """
    from finportal.extensions import db

    cache = cache_of(current_app)
    key = _state.own_key
    if cache is None or key is None or not _state.recorded or not _state.own:
        return render(False)
    if _writing(db.session()):
        return render(False)
    try:
        generations, kept, slots = cache.lookup(
            key, serve=not _fresh_asked(), shared=_shared_lookup()
        )
    except Exception:  # noqa: BLE001 - Redis away: render the page as usual
        cache._pause()
        return render(False)
    if generations is None:
        return render(False)
    if kept is not None:
        return _kept_response(kept, fill=slots)

    checked = _checked_before()

    def render_anew() -> Any:
        # Only when it renders: a shared page kept for the scope is served with the reader's
        # values (its name...) from the user as the request's checks read it, not read again.
        db.session.expire_all()
        return render(True)

    _state.generations, _state.read, _state.parts = generations, set(), {}
    _state.wrote, _state.own, _state.clock = False, True, None
    scope = getattr(current_app.view_functions[request.endpoint], "page_cache_shared", None)
    if scope is None:
        _state.key = key
        return render_anew()
    _state.shared = True
    return _shared_page(render_anew, scope, (), {}, checked_before=checked)


def _writing(session: Session) -> bool:
    """Tell whether the session holds changes not yet written, or its transaction has written
    and not ended (expiring its records would lose them, or show them before their commit)."""
    if session.new or session.dirty or session.deleted:
        return True
    return session.in_transaction() and _OWED in session.connection().info


def live() -> None:
    """Tell that the page being rendered shows a running clock (seconds a job has waited, say):
    it is not kept, though no write happens while the clock runs."""
    g.page_cache_live = True


#: The flask-login attributes a shared page may read of its reader besides its scope.
_SIGN_IN_FLAGS = frozenset({"is_authenticated", "is_active", "is_anonymous"})
#: What fills a slot of a shared page for the reader who asks: slot name -> its value's text
#: (escaped when put in). ``csrf`` (the form token) and ``who`` (the signed-in user's label,
#: registered by ``web/nav.py``).
SLOTS: dict[str, Callable[[], str]] = {}


class SharedPageError(RuntimeError):
    """A shared page's view or template read something of its reader outside its scope.

    Not an ``AttributeError``: a template would print that as nothing.
    """


#: What every page's layout reads of its reader: the menu is the role's, and a duty's
#: (supervising advisors have more entries).
_LAYOUT_SCOPE = ("role", "duty")


def shared(*scope: str) -> Callable[[F], F]:
    """Mark a view whose page is the same for every reader of one role (and duty) and these
    attributes of the user (a bank user's ``bank_id``, say): it is kept once for all of them.

    The view runs after the request's checks (sign-in, role, rate limits), for every reader,
    kept page or not. Rendered, it sees the signed-in user only through its role and
    ``scope`` (anything else raises :class:`SharedPageError`); what a page shows of its
    reader goes in a slot (:func:`reader_slot`: the form token, the user's label), kept as a
    placeholder and filled for each reader as the page is served. The key holds the path
    with its query, the role and scope, the session without its sign-in and form token (the
    chosen language), the other cookies and the request headers a page may depend on.
    """
    names = (*_LAYOUT_SCOPE, *scope)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if _state.recorded_from is not None and _state.read is not None:
                # A recorded view served before it runs (``when_kept``) whose reader has no
                # record yet: the page kept for the scope, once its record is made.
                kept = _shared_page(
                    view,
                    names,
                    args,
                    kwargs,
                    checked_before=_checked_before(),
                    only_if=getattr(view, "page_cache_when_kept", None),
                )
                if kept is not None:
                    return kept
            if _state.generations is None or not _state.shared:
                return view(*args, **kwargs)
            return _shared_page(view, names, args, kwargs)

        wrapped.page_cache_shared = names  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorate


class _ScopeOnly:
    """The signed-in user as a shared page sees it: its role and scope, nothing else."""

    def __init__(self, user: Any, names: tuple[str, ...]) -> None:
        self._user, self._names = user, frozenset(names) | _SIGN_IN_FLAGS

    def __getattr__(self, name: str) -> Any:
        if name not in self._names:
            raise SharedPageError(f"a shared page read its reader's {name!r}")
        value = getattr(self._user, name)
        table = getattr(value, "__table__", None)
        if table is not None and _state.read is not None:
            # A record of the scope (a bank user's bank): what the page shows of it is the
            # page's (loaded with the user before the view, its read was not noted).
            _state.read.add(table.name)
        return value

    def _compared(self, *_: object) -> Any:
        # Telling the reader's own records apart (``note.author == current_user``, the
        # reader in a set) shows something of the reader: Python's default (identity) would
        # silently tell every reader, the author too, that nothing is theirs.
        raise SharedPageError("a shared page compared its reader with a record")

    __eq__ = __ne__ = __hash__ = _compared  # type: ignore[assignment]


def _checked_before() -> dict[str, str]:
    """Return what a recorded view's request read so far (its checks, its record) with the
    generations as it began (``when_kept``; else nothing): served before it runs next time,
    its reader's record depends on them."""
    began, noted = _state.recorded_from, _state.read
    if not began or noted is None:
        return {}
    return {table: began.get(table, "0") for table in (*noted, ANY, EPOCH)}


def _scope_value(value: Any) -> Any:
    """Return what stands for one attribute of a scope in a key (a record: its identity)."""
    table = getattr(value, "__table__", None)
    if table is None:
        return value

    return [table.name, *inspect(value).identity]


def placeholder(name: str) -> str:
    """Return what stands for slot ``name`` in a kept shared page (drawn from the secret key:
    no reader can type it into what a page shows)."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    digest = hashlib.blake2b(name.encode(), key=secret[-64:], digest_size=12).hexdigest()
    return f"fpslot{digest}"


def reader_slot(name: str) -> Markup:
    """Return the reader's value of slot ``name`` for a template, escaped (a placeholder
    while a shared page is rendered to be kept)."""
    if g.get("page_cache_sharing"):
        return escape(placeholder(name))
    return escape(SLOTS[name]())


#: Slots filled anew for every request (the form token is signed with the time); the others
#: are kept with the reader's record (:meth:`PageCache.record`).
_REQUEST_SLOTS = frozenset({"csrf"})


def _filled(body: bytes, known: dict[str, str]) -> bytes:
    """Put the reader's values in a shared page's slots (``known``: kept with its record)."""
    for name, value in SLOTS.items():
        mark = placeholder(name).encode()
        if mark in body:
            text = known[name] if name in known else value()
            body = body.replace(mark, str(escape(text)).encode())
    return body


#: What a shared page kept in pieces starts with (a page kept whole is gzip: ``\x1f\x8b``).
_PIECES = b"pieces:"
#: A gzip member's header (no name, no time) and the last block of a deflate stream.
_GZIP_HEAD = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
_LAST_BLOCK = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS).flush()


def _deflated(data: bytes, level: int = GZIP_LEVEL) -> bytes:
    """Return ``data`` as deflate blocks that stand on their own (no reference to what comes
    before, ending on a byte, not the last block): pieces compressed apart join into one
    stream."""
    squeezer = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    return squeezer.compress(data) + squeezer.flush(zlib.Z_FULL_FLUSH)


def _pieces(body: bytes) -> bytes:
    """Return a shared page as kept: the text between its slots, each piece as it is and
    compressed, and the slots' names. Served, the pieces are joined around the reader's own
    values without opening or compressing the page again (:func:`_joined`)."""
    marks = {placeholder(name).encode(): name for name in SLOTS}
    index: list[Any] = []
    data = bytearray()

    def add(piece: bytes) -> None:
        squeezed = _deflated(piece)
        index.append([len(piece), len(squeezed)])
        data.extend(piece + squeezed)

    start = 0
    for match in re.finditer(b"|".join(map(re.escape, marks)), body) if marks else ():
        add(body[start : match.start()])
        index.append(marks[match.group()])
        start = match.end()
    add(body[start:])
    return _PIECES + json.dumps(index, ensure_ascii=True).encode() + b"\n" + bytes(data)


def _joined(kept: bytes, known: dict[str, str], *, gzipped: bool) -> bytes:
    """Return a shared page kept in pieces with the reader's values in its slots (``known``:
    those kept with its record, else asked of :data:`SLOTS`): plain, or as one gzip member
    made of the pieces' own deflate blocks, the values' and a checksum of the whole."""
    line, _, data = kept[len(_PIECES) :].partition(b"\n")
    plain: list[bytes] = []
    squeezed: list[bytes] = []
    values: dict[str, tuple[bytes, bytes]] = {}  # a slot's value, plain and compressed
    at = 0
    for entry in json.loads(line):
        if isinstance(entry, str):  # a slot (a form token may stand in every row's form)
            if entry not in values:
                value = str(escape(known[entry] if entry in known else SLOTS[entry]())).encode()
                values[entry] = (value, _deflated(value, 1) if gzipped else b"")
            plain.append(values[entry][0])
            squeezed.append(values[entry][1])
            continue
        size, packed = entry
        plain.append(data[at : at + size])
        squeezed.append(data[at + size : at + size + packed])
        at += size + packed
    if not gzipped:
        return b"".join(plain)
    check = 0
    for piece in plain:
        check = zlib.crc32(piece, check)
    length = sum(map(len, plain))
    return b"".join(
        (
            _GZIP_HEAD,
            *squeezed,
            _LAST_BLOCK,
            check.to_bytes(4, "little"),
            (length & 0xFFFFFFFF).to_bytes(4, "little"),
        )
    )


def _shared_page(
    view: Callable[..., Any],
    names: tuple[str, ...],
    args: Any,
    kwargs: dict[str, Any],
    *,
    checked_before: dict[str, str] | None = None,
    only_if: Callable[[str], bool] | None = None,
) -> Any:
    """Answer a :func:`shared` view: the kept page with the reader's slots filled, else the
    view rendered for the scope, kept, then filled. Either way the reader's session gets a
    record of what its checks found (:meth:`PageCache.record`), so that its next views of the
    scope's pages are served before its checks run again, as a page kept for it alone is
    (``checked_before``: tables its checks read before the request's generations were taken,
    with theirs).

    With ``only_if`` (a recorded view's ``when_kept``) the kept page only, once
    ``only_if(note)`` made the view's record; else None, and nothing is rendered."""
    from flask_login import current_user

    cache = cache_of(current_app)
    assert cache is not None  # the request began with the cache (``_state.generations``)
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    scope = {name: _scope_value(getattr(user, name, None)) for name in names}
    scope_key = _scope_key(cache, scope)
    key = scope_key + _path_key()
    # What the reader's record is kept with: the generations as the request began, of what
    # its checks read (the signed-in user).
    generations, checked = _state.generations or {}, set(_state.read or ())
    minute = _state.minute
    reader_key = _reader_key(names)
    kept, claim = None, None
    if not _fresh_asked():
        try:
            kept = cache.lookup(key)[1]
            if kept is None and only_if is None:
                kept, claim = _render_or_wait(cache, key)
        except Exception:  # noqa: BLE001 - Redis away: render the page as usual
            cache._pause()
    if kept is not None and only_if is not None and not only_if(_record_note(kept)):
        return None
    if kept is not None:
        _end()
        response = _kept_response(kept, fill={})
    elif only_if is not None:
        return None
    else:
        if _state.own:
            # What the request read to find its reader (its sign-in) is in the key, as scope.
            _state.read = set()
        # The page's life is what the view reads of the clock (the scope's page, not the
        # reader's checks), its minute the path's.
        _state.clock, _state.phase = None, f"path:{request.full_path}"
        try:
            g._login_user, g.page_cache_sharing = _ScopeOnly(user, names), True
            try:
                response = current_app.make_response(view(*args, **kwargs))
            finally:
                g._login_user, g.page_cache_sharing = user, False
            # Counted against the share of the reader whose view rendered it, like a page of
            # its own: a reader varying an argument no page reads spends its own share, not
            # the scope's (every other reader of the scope would lose the cache with it).
            _state.key = key
            _keep(response, slotted=True)
        finally:
            if claim is not None:  # kept or not: the readers waiting for it go on
                _release_render(cache, key, claim)
        kept_now = _state.stored
        if response.is_streamed or response.direct_passthrough:
            return response
        # Whatever the answer (a refusal shown on the page too): the reader's own values.
        response.set_data(_filled(response.get_data(), {}))
        if not kept_now:
            return response
    if reader_key is not None and not _state.wrote:
        slots = {name: value() for name, value in SLOTS.items() if name not in _REQUEST_SLOTS}
        depends = {table: generations.get(table, "0") for table in (*checked, ANY, EPOCH)}
        depends.update(checked_before or {})
        try:
            cache.record(reader_key, depends, scope_key, slots, minute=minute, reader=_reader())
        except Exception:  # noqa: BLE001 - Redis away: the page was served, nothing is lost
            cache._pause()
    return response


def _render_or_wait(cache: PageCache, key: str) -> tuple[bytes | None, str | None]:
    """For a shared page not kept under ``key``: claim its rendering and return (None, the
    claim's token); or, while another request renders it, wait for its page and return (the
    page, None) — (None, None) when that rendering ended without a page or took longer than
    :data:`RENDER_WAIT_SECONDS`: the request renders it, unclaimed."""
    claim = cache.claim_render(key)
    if claim is not None:
        return None, claim
    started = time.monotonic()
    deadline = started + RENDER_WAIT_SECONDS
    outcome = "timeout"
    try:
        while time.monotonic() < deadline:
            time.sleep(RENDER_POLL_SECONDS)
            generations, kept, _ = cache.lookup(key)
            if kept is not None or generations is None:
                outcome = "kept" if kept is not None else "unkept"
                return kept, None
            if not cache.rendering(key):
                outcome = "unkept"
                break
        return None, None
    finally:
        RENDER_WAITS.labels(outcome).inc()
        RENDER_WAIT_SECONDS_SPENT.inc(time.monotonic() - started)


def _release_render(cache: PageCache, key: str, claim: str) -> None:
    try:
        cache.release_render(key, claim)
    except Exception:  # noqa: BLE001 - Redis away: the claim lapses by itself
        cache._pause()


def _scope_key(cache: PageCache, scope: dict[str, Any]) -> str:
    """Return the key of the shared pages for a reader of ``scope`` before their path
    (:func:`_path_key`): the release, the scope, the session without its sign-in, the host,
    the other cookies and the headers a page may depend on."""
    fields = {k: v for k, v in session.items() if k not in _SIGN_IN_KEYS}
    return (
        f"{cache.release}:shared:"
        + _key(any_path=True, scope=scope, session=fields, headers=_headers(_SHARED_KEY_HEADERS))
        + ":"
    )


def _path_key() -> str:
    """Return the key of the request's path with its query among a scope's shared pages."""
    return hashlib.blake2b(request.full_path.encode(), digest_size=16).hexdigest()


#: Session entries that tell who signed in (flask-login's) and the form token: not in a
#: shared page's key (its reader is its scope; its form token a slot).
_SIGN_IN_KEYS = frozenset({"_user_id", "_fresh", "_id", "csrf_token", "_permanent"})


class _State(threading.local):
    """Per thread: what the current request wrote, read and found kept, and its key."""

    #: The current request wrote (its page is not kept).
    wrote = False
    #: The generations when the request began (None: its page is not kept).
    generations: dict[str, str] | None = None
    key: str | None = None
    #: The page kept under the request's key, still current (served by :func:`_serve_kept`).
    kept: bytes | None = None
    #: The tables the request's statements read (None: not noted).
    read: set[str] | None = None
    #: The parts of tables it read (:mod:`finportal.rows`), each with its generation as it was
    #: before the first statement that read it.
    parts: dict[str, str] | None = None
    #: The request's view is :func:`recorded` (its page is looked up by :func:`kept_or`).
    recorded = False
    #: The minute the request began in (for the budget).
    minute = 0
    #: Until when what the page shows of the clock holds (an instant of ``time.time()``;
    #: :data:`NOW` for no longer than the reader's minute; None: the page read no clock).
    clock: float | None = None
    #: What the page's minute window is drawn from (:func:`window`).
    phase = ""
    #: What told the reader as the request began (:func:`_own_reader`; its checks may add to
    #: the session after).
    reader: dict[str, Any] | None = None
    #: The request's view is :func:`shared` (looked up and kept by it, under its own key).
    shared = False
    #: The request began with a database session of its own (:func:`_fresh`).
    own = False
    #: The key of a page kept for this session alone.
    own_key: str | None = None
    #: The reader's own values of a shared page found through its record.
    kept_slots: dict[str, str] | None = None
    #: The page of this request was kept (:func:`_keep`).
    stored = False
    #: A recorded view served before it runs (``when_kept``): the generations as its request
    #: began, before its checks read its user; a record kept for its reader depends on what
    #: they read, as then, since the record serves pages before the checks run again.
    recorded_from: dict[str, str] | None = None


_state = _State()

#: What :attr:`_State.clock` holds for a page that read the time itself.
NOW = float("-inf")


def _clock_read(holds_until: datetime | None) -> None:
    """Note, for the page being rendered, that it read the clock and until when what it read
    holds (:data:`finportal.models.base.CLOCK_READERS`)."""
    until = NOW if holds_until is None else holds_until.timestamp()
    if _state.clock is None or until < _state.clock:
        _state.clock = until


def lifetime(now: float) -> float:
    """Return how long the page being rendered may be kept from ``now``, in seconds (0: not
    at all): :data:`TTL_SECONDS`, or less when it read the clock — until its reader's minute
    turns if it read the time (:data:`CLOCK_SECONDS` at most), until the next midnight in
    Shanghai if it read today's date."""
    until = _state.clock
    if until is None:
        return float(TTL_SECONDS)
    if until == NOW:
        return window(_state.phase, now)[1]
    return max(0.0, min(float(TTL_SECONDS), until - now))


class PageCache:
    """One Redis of kept pages and the generation of one database."""

    def __init__(self, url: str, database_url: str, release: str, max_bytes: int) -> None:
        from redis import Redis

        self.redis = Redis.from_url(
            url,
            socket_timeout=SOCKET_TIMEOUT_SECONDS,
            socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
        )
        self.prefix = f"finportal:pages:{database_space(database_url)}:"
        #: A hash: table name (or :data:`ANY`) -> generation, and :data:`EPOCH`.
        self.generations_key = self.prefix + "generations"
        #: The generation of a table's part (:func:`part`) is a key of its own, which lapses.
        self.parts_prefix = self.prefix + "gen:"
        self.release = release
        #: What the pages of one minute may hold, and one reader's share of it (bytes).
        self.minute_budget = max_bytes // MINUTES_ALIVE
        self.reader_budget = self.minute_budget // READER_SHARE
        self._keep_script = self.redis.register_script(_KEEP_SCRIPT)
        self._lookup_script = self.redis.register_script(_LOOKUP_SCRIPT)
        self._release_script = self.redis.register_script(RELEASE_IF_HELD_SCRIPT)
        self._paused_until = 0.0
        self._owed = False  # a generation move that Redis did not take
        self._repay_at_exit = False
        self._lock = threading.Lock()

    # Generation -------------------------------------------------------------------------

    def move_on(
        self,
        tables: Iterable[str] = (ANY,),
        *,
        pending: str | None = None,
        settled: str | None = None,
    ) -> None:
        """Move the generations of ``tables`` on: every kept page that read one of them (with
        :data:`ANY`: every kept page of this database) is stale from now.

        ``pending`` names a transaction that has written them and not yet ended: until the
        move that ``settled`` names it (after its commit), or :data:`MARK_SECONDS` at most (a
        process killed in between), no page that read them is kept — one rendered meanwhile
        may show what the commit changes, under the generation moved before it.
        """
        try:
            with self.redis.pipeline(transaction=False) as pipe:
                for table in tables:
                    if PART in table:
                        # A new value never used before (parts come and go: a part's
                        # generation lapses after two lifetimes of a page with no write).
                        pipe.set(self.parts_prefix + table, uuid.uuid4().hex, ex=2 * TTL_SECONDS)
                    else:
                        pipe.hincrby(self.generations_key, table, 1)
                    marks = self.prefix + "pending:" + table
                    if pending is not None:
                        now = time.time()
                        pipe.zremrangebyscore(marks, "-inf", now)
                        pipe.zadd(marks, {pending: now + MARK_SECONDS})
                        pipe.expire(marks, 2 * MARK_SECONDS)
                    elif settled is not None:
                        pipe.zrem(marks, settled)
                pipe.execute()
        except Exception:  # noqa: BLE001 - Redis away: owed, and the cache is not read meanwhile
            if not self._owed and not self._repay_at_exit:
                # A process that ends before its next request or write (a job's work horse)
                # still repays what it owes on the way out.
                atexit.register(self._repay)
                self._repay_at_exit = True
            self._owed = True
            self._pause()

    def _repay(self) -> None:
        if self._owed:
            self._owed = False
            self.move_on()

    def parts(self, names: list[str]) -> dict[str, str]:
        """Return the current generations of tables' parts, starting a new one for a part
        that has none (none moved lately): a page is never kept with the ``0`` that a part's
        generation lost later (lapsed, evicted) reads as."""
        keys = [self.parts_prefix + name for name in names]
        with self.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.set(key, uuid.uuid4().hex, ex=2 * TTL_SECONDS, nx=True)
            pipe.mget(keys)
            found = pipe.execute()[-1]
        return {
            name: value.decode() if value else "0" for name, value in zip(names, found, strict=True)
        }

    def _settle(self) -> bool:
        """Make an owed generation move; tell whether the cache may be used now."""
        if time.monotonic() < self._paused_until:
            return False
        if self._owed:
            with self._lock:
                self._owed = False
            self.move_on()
            return not self._owed
        return True

    def _pause(self) -> None:
        self._paused_until = time.monotonic() + PAUSE_SECONDS

    # Pages ------------------------------------------------------------------------------

    def lookup(
        self, key: str, *, serve: bool = True, shared: tuple[str, str] | None = None
    ) -> tuple[dict[str, str] | None, bytes | None, dict[str, str] | None]:
        """Return the current generations and the page kept under ``key``, if every
        generation it was kept with is still current (else None), and where it was found
        through the reader's record (``shared``: the record's key and the page's path among
        its scope's shared pages, :meth:`record`), the reader's slots (else None).

        Without an epoch (the hash lost, or never made) there is neither: a new epoch is
        started from the clock in nanoseconds — never a number the hash held before, under
        which pages may still be kept — and this page is neither served nor kept. With
        ``serve`` false the kept page is not looked at (a reload the reader forced).
        """
        # Not to be served: looked up under a key no page has, for the generations only.
        page_key = self.prefix + (key if serve else "none")
        record, path = shared if shared is not None and serve else ("none", "")
        found = self._lookup_script(
            keys=[self.generations_key, page_key, self.prefix + record],
            args=[EPOCH, time.time_ns(), self.parts_prefix, repr(time.time()), path],
        )
        if found[0] == 1:  # kept and current: the generations are not needed
            return {}, found[1], None
        if found[0] == 3:  # a shared page, through the reader's record
            return {}, found[1], json.loads(found[2])
        if found[0] == 2:  # no epoch: one was started
            return None, None, None
        flat = found[1]
        return {flat[i].decode(): flat[i + 1].decode() for i in range(0, len(flat), 2)}, None, None

    def keep(
        self,
        key: str,
        generations: dict[str, str],
        headers: list[tuple[str, str]],
        body: bytes,
        *,
        minute: int,
        reader: str,
        seconds: float = TTL_SECONDS,
    ) -> bool:
        """Keep a page (its headers and body) under ``key`` with the ``generations`` it
        depends on, for ``seconds``, if the budget of its ``minute`` and its ``reader``'s
        share allow; tell whether it was kept."""
        # One line each: JSON written in ASCII holds no raw line break.
        head = json.dumps(headers, ensure_ascii=True).encode()
        value = head + b"\n" + body
        return self._keep_value(key, generations, value, minute, reader, seconds)

    def claim_render(self, key: str) -> str | None:
        """Claim the rendering of the page kept under ``key``; return the claim's token, or
        None when another request holds it (:data:`RENDER_WAIT_SECONDS`)."""
        token = uuid.uuid4().hex
        claimed = self.redis.set(self._claim(key), token, nx=True, px=RENDER_CLAIM_MS)
        return token if claimed else None

    def rendering(self, key: str) -> bool:
        """Tell whether a request holds the claim to render the page kept under ``key``."""
        return bool(self.redis.exists(self._claim(key)))

    def release_render(self, key: str, token: str) -> None:
        """Release the claim ``token`` to render the page kept under ``key``."""
        self._release_script(keys=[self._claim(key)], args=[token])

    def _claim(self, key: str) -> str:
        return self.prefix + key + ":rendering"

    def record(
        self,
        key: str,
        generations: dict[str, str],
        scope_key: str,
        slots: dict[str, str],
        *,
        minute: int,
        reader: str,
    ) -> bool:
        """Keep under ``key`` a reader's record for the shared pages of one scope: the key
        its pages are kept under before their path (``scope_key``), the reader's own
        ``slots``, and the ``generations`` of what its checks read; tell whether it was kept.

        Looked up with the reader's page (:meth:`lookup`), it serves the scope's page for the
        path asked while the record and the page are both current, before the reader's checks
        run again. It lives as long as a page may; the page as long as what it shows holds."""
        found = {"shared": self.prefix + scope_key, "slots": slots}
        value = json.dumps(found, ensure_ascii=True, sort_keys=True).encode()
        return self._keep_value(key, generations, value, minute, reader, TTL_SECONDS)

    def _keep_value(
        self,
        key: str,
        generations: dict[str, str],
        value: bytes,
        minute: int,
        reader: str,
        seconds: float,
    ) -> bool:
        until = {UNTIL: repr(time.time() + seconds)}
        kept_with = json.dumps({**generations, **until}, ensure_ascii=True, sort_keys=True)
        value = kept_with.encode() + b"\n" + value
        spent = f"{self.prefix}spent:{minute}"
        reader_key = hashlib.blake2b(reader.encode(), digest_size=12).hexdigest()
        # A transaction that wrote one of its tables and has not ended: not kept.
        pending = [f"{self.prefix}pending:{table}" for table in generations if table != EPOCH]
        outcome = self._keep_script(
            keys=[self.prefix + key, spent, f"{spent}:{reader_key}", *pending],
            args=[
                value,
                max(1, int(seconds * 1000)),  # its lifetime, in milliseconds
                self.minute_budget,
                self.reader_budget,
                KEY_OVERHEAD_BYTES,
                time.time(),
            ],
        )
        if outcome != b"kept":
            REFUSED.labels(outcome.decode()).inc()
            return False
        return True


def init_app(app: Flask) -> None:
    """Look a page up as its request starts, serve it before the views, keep pages after
    them, follow the engine's reads and writes."""
    from flask_wtf.csrf import generate_csrf

    SLOTS["csrf"] = generate_csrf
    form_token = functools.partial(reader_slot, "csrf")
    app.jinja_env.globals["reader_slot"] = reader_slot
    # Forms' tokens are a slot: CSRFProtect, set up before, made its own the global and a
    # context value (this context processor runs after its).
    app.jinja_env.globals["csrf_token"] = form_token
    app.context_processor(lambda: {"csrf_token": form_token})
    from finportal.models.base import CLOCK_READERS

    if _clock_read not in CLOCK_READERS:
        CLOCK_READERS.append(_clock_read)
    request_started.connect(_begin, app)
    app.before_request(_serve_kept)
    app.after_request(_keep)
    app.teardown_request(_end)
    engine: Engine = app.extensions["finportal_engine"]
    event.listen(engine, "before_cursor_execute", _before_execute(app))
    event.listen(engine, "after_cursor_execute", _after_execute(app))
    _follow_parts()
    event.listen(engine, "rollback_savepoint", _savepoint_undone)
    event.listen(engine, "checkin", _checked_in(app))
    _follow_commits(engine)


def cache_of(app: Flask) -> PageCache | None:
    """Return the app's page cache, or None when it is off (no Redis, or turned off)."""
    url = app.config.get("PAGE_CACHE_URL")
    if not url:
        return None
    settings = (url, int(app.config["PAGE_CACHE_MAX_BYTES"]))
    kept = app.extensions.get("finportal_page_cache")
    if kept is None or kept[0] != settings:
        made = PageCache(url, str(app.config["DATABASE_URL"]), release(app), settings[1])
        kept = (settings, made)
        app.extensions["finportal_page_cache"] = kept
    cache: PageCache = kept[1]
    return cache


def release(app: Flask) -> str:
    """Return a digest of the code and the configuration: a new release keeps no old page.

    The code is read by content (``finportal``, ``products`` and ``scoring``: templates,
    translations and data files too), so every machine of one release names it alike.
    """
    h = hashlib.blake2b(digest_size=16)
    root = Path(__file__).parent.parent
    for package in ("finportal", "products", "scoring"):
        for path in sorted((root / package).rglob("*")):
            if path.suffix in (".py", ".html", ".mo", ".yaml", ".json", ".csv") and path.is_file():
                h.update(f"{path.relative_to(root)}:".encode())
                h.update(hashlib.blake2b(path.read_bytes(), digest_size=16).digest())
    for name in sorted(app.config):
        h.update(f"{name}={_stable(app.config[name])}".encode())
    return h.hexdigest()


def database_name(url: str) -> str:
    """Return the database a URL names, however it is spelt (driver, password, options)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    backend = parsed.get_backend_name()
    # Host names are not case-sensitive; a port left out is the server's default; the
    # loopback interface has several names.
    host = (parsed.host or "").lower()
    host = "loopback" if host in _LOOPBACK_NAMES else host
    port = parsed.port or (_DEFAULT_PORTS.get(backend) if host else None) or ""
    return f"{backend}://{host}:{port}/{parsed.database or ''}"


def database_space(url: str) -> str:
    """Return the short name of a database that Redis keys of its own carry (the kept pages,
    the audit queue), so that portals on other databases sharing one Redis keep apart."""
    return hashlib.blake2b(database_name(url).encode(), digest_size=8).hexdigest()


#: Names of this machine's loopback interface (a web worker on ``127.0.0.1`` and a job worker
#: on ``localhost`` write to one database).
_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
#: The port a database URL means when it names a host but no port.
_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306}


def _stable(value: Any) -> str:
    """Return a setting as text that is the same in every process (a set's order follows the
    process's string hash seed)."""

    def other(item: Any) -> Any:
        if isinstance(item, (set, frozenset)):
            return sorted(_stable(member) for member in item)
        return repr(item)

    try:
        return json.dumps(value, sort_keys=True, default=other, ensure_ascii=False)
    except TypeError:  # keys that do not sort
        return repr(value)


# Serving and keeping ----------------------------------------------------------------------


def _cacheable_request() -> bool:
    if request.method != "GET" or not request.endpoint:
        return False
    if request.blueprint in NEVER_BLUEPRINTS or request.endpoint.endswith("static"):
        return False
    view = current_app.view_functions.get(request.endpoint)
    if view is None or getattr(view, "page_cache_never", False):
        return False
    return "_flashes" not in session


def _reader() -> str:
    """Return who asks, for the budget: the signed-in user, else the API token the request
    proved (the API's check notes it on ``g``), else the client's address.

    Asked as the page is kept, of what the portal checked: a header anyone may send (a
    bearer token on a page that reads none) or a new sign-in of one user makes no new reader.
    """
    user = session.get("_user_id")  # "<user id>.<session version>", signed
    if user is not None:
        return f"user:{str(user).partition('.')[0]}"
    token = g.get("api_token_id")
    return f"token:{token}" if token is not None else f"addr:{request.remote_addr}"


def window(source: str, now: float) -> tuple[int, float]:
    """Return the minute window a reader's pages that read the time are kept in at ``now``,
    and the seconds left in it.

    Windows are minutes shifted by a phase of 0–59 s drawn from ``source`` (the signed-in
    session, else the bearer token, else the client's address; a shared page's path): such
    a page is never more than a minute old, and the pages of many readers — banks' systems
    polling the API, say — do not all turn stale at the same instant and come back to be
    rendered at once.
    """
    phase = int.from_bytes(hashlib.blake2b(source.encode(), digest_size=2).digest()) % 60
    shifted = now + phase
    return int(shifted // 60), 60 - shifted % 60


def _phase_source() -> str:
    """Return what a reader's window is drawn from (any value keeps pages correct)."""
    user = session.get("_user_id")
    if user is not None:
        return f"user:{user}"
    token = request.headers.get("Authorization")
    return f"token:{token}" if token else f"addr:{request.remote_addr}"


#: The request headers a page may depend on; a shared page's key leaves out those that tell
#: who asks (the bearer token, the user agent).
_KEY_HEADERS = ("Accept-Language", "Accept", "Authorization", "User-Agent", "X-Requested-With")
_SHARED_KEY_HEADERS = ("Accept-Language", "Accept", "X-Requested-With")


def _headers(names: tuple[str, ...]) -> list[str]:
    return [request.headers.get(name, "") for name in names]


def _key(*, any_path: bool = False, **reader: Any) -> str:
    """Return the key of the request's page: its path with the query (not with
    ``any_path``), host and other cookies, and what tells its ``reader`` (session, headers...)."""
    cookie = current_app.config.get("SESSION_COOKIE_NAME", "session")
    parts = {
        "path": None if any_path else request.full_path,
        "host": request.host,
        "cookies": sorted((k, v) for k, v in request.cookies.items() if k != cookie),
        **reader,
    }
    raw = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.blake2b(raw.encode(), digest_size=20).hexdigest()


def _own_reader() -> dict[str, Any]:
    """Return what tells the reader of a page kept for it alone (in its key, :func:`_key`):
    the client's address, the session's whole content and the request headers."""
    return {
        "addr": request.remote_addr,
        "session": dict(session),
        "headers": _headers(_KEY_HEADERS),
    }


def _reader_key(names: tuple[str, ...]) -> str | None:
    """Return the key of the reader's record for the shared pages of scope ``names``: what
    its checks found (:meth:`PageCache.record`), kept under the key of its own pages without
    the path — as the request began (its checks may add to the session after); None when the
    request was not looked up."""
    cache = cache_of(current_app)
    if _state.reader is None or cache is None:
        return None
    return f"{cache.release}:reader:" + _key(any_path=True, scope=list(names), **_state.reader)


def _shared_lookup() -> tuple[str, str] | None:
    """Return what looks the request's page up through its reader's record when its view is
    :func:`shared`: the record's key and the path's (:meth:`PageCache.lookup`); else None."""
    view = current_app.view_functions.get(request.endpoint or "")
    names = getattr(view, "page_cache_shared", None)
    reader_key = _reader_key(names) if names is not None else None
    return None if reader_key is None else (reader_key, _path_key())


def _begin(sender: Flask, **extra: Any) -> None:
    """As a request starts, before any of its statements: take the generations, look its
    page up, and start noting the tables it reads."""
    _end()
    # ``g`` lives as long as its application context, which may hold several requests (a
    # context pushed around them, as tests and commands do): what a request noted is its own.
    g.pop("page_cache_hit", None)
    g.pop("page_cache_live", None)
    cache = cache_of(sender)
    if cache is None or not _cacheable_request() or not cache._settle():
        return
    now = time.time()
    minute = int(now // 60)  # the budget's (pages kept in it live a minute at most)
    view = current_app.view_functions.get(request.endpoint)
    # A shared page is looked up by its view, once the request's checks have found who asks.
    shared = getattr(view, "page_cache_shared", None) is not None
    recorded = getattr(view, "page_cache_recorded", False)
    _state.phase, _state.reader = _phase_source(), _own_reader()
    key = cache.release + ":" + _key(**_state.reader)
    if recorded:
        # Looked up by its view, once the view's record is committed (kept_or); with
        # ``when_kept`` also here, to be served if kept (:func:`_serve_kept`).
        _state.own_key, _state.minute, _state.recorded = key, minute, True
        _state.own = _fresh()
        if view.page_cache_when_kept is not None and _state.own and not _fresh_asked():
            try:
                _state.recorded_from, _state.kept, _state.kept_slots = cache.lookup(
                    key, shared=_shared_lookup()
                )
            except Exception:  # noqa: BLE001 - Redis away: the view runs as without the cache
                cache._pause()
                return
            _state.read = set()  # what its checks read, for its record (kept_or)
        return
    try:
        # A reload the reader forced (Ctrl+Shift+R sends ``Cache-Control: no-cache``) is
        # rendered afresh, and the new rendering kept in place of the old.
        generations, kept, slots = cache.lookup(
            key, serve=not _fresh_asked(), shared=_shared_lookup()
        )
    except Exception:  # noqa: BLE001 - Redis away: render the page as usual
        cache._pause()
        return
    if generations is None:
        return
    _state.generations, _state.kept, _state.kept_slots = generations, kept, slots
    _state.key = None if shared else key
    _state.own_key = key
    _state.minute, _state.shared = minute, shared
    # A request whose session already holds objects (an application context kept around
    # several requests, as in tests and commands) may show them without reading them again:
    # its page depends on every table. A request of its own starts with an empty session.
    _state.own = _fresh()
    _state.read = set() if _state.own else set(_schema().tables)
    _state.parts = {}


def _fresh_asked() -> bool:
    """Tell whether the client asked for a page rendered afresh (a forced reload)."""
    control = request.headers.get("Cache-Control", "").lower()
    return "no-cache" in control or "no-cache" in request.headers.get("Pragma", "").lower()


def _fresh() -> bool:
    """Tell whether the request's database session and signed-in user are its own: nothing
    it shows can come from an earlier request without a statement."""
    from finportal.extensions import db

    if "_login_user" in g:
        return False
    return not db.session.registry.has() or len(db.session().identity_map) == 0


def _end(*_: Any) -> None:
    """Forget what the request noted (also as it is torn down, whatever happened)."""
    _state.generations = _state.key = _state.kept = _state.read = None
    _state.own_key = _state.kept_slots = _state.parts = None
    _state.wrote = _state.shared = _state.own = _state.stored = _state.recorded = False
    _state.recorded_from = _state.clock = _state.reader = None


def _serve_kept() -> Any:
    """Serve the page found kept (after the request's checks and rate limits have run); a
    :func:`recorded` view's once its ``when_kept`` made the record."""
    kept = _state.kept
    if kept is None:
        return None
    if _state.recorded:
        when_kept = current_app.view_functions[request.endpoint].page_cache_when_kept
        if not when_kept(_record_note(kept)):
            _state.kept = None  # the view runs, records, and looks its page up (kept_or)
            return None
    return _kept_response(kept, fill=_state.kept_slots)


def _record_note(kept: bytes) -> str:
    """Return what a recorded view's kept page noted for its record ("" if nothing)."""
    head = kept.partition(b"\n")[0]
    for name, value in json.loads(head):
        if name == RECORD_HEADER:
            return str(value)
    return ""


def _kept_response(kept: bytes, *, fill: dict[str, str] | None = None) -> Response:
    """Answer with a kept page (its headers, then its compressed body); with ``fill``, the
    reader's own values put in its slots (a :func:`shared` page; ``fill`` holds those kept
    with the reader's record)."""
    head, _, body = kept.partition(b"\n")
    g.page_cache_hit = True
    headers = [tuple(pair) for pair in json.loads(head) if pair[0] != RECORD_HEADER]
    # Kept compressed: sent so to a client that accepts it, else opened here.
    gzipped = request.accept_encodings["gzip"] > 0  # its quality (``gzip;q=0`` refuses it)
    if body.startswith(_PIECES):  # a shared page: its pieces, and the reader's own values
        body = _joined(body, fill or {}, gzipped=gzipped)
    elif not gzipped:
        body = gzip.decompress(body)
    if gzipped:
        headers.append(("Content-Encoding", "gzip"))
    response = Response(body, status=200, headers=headers)
    response.vary.add("Accept-Encoding")
    response.headers[HEADER] = "hit"
    return response


def _keep(response: Response, *, slotted: bool = False) -> Response:
    """Keep the request's page (after its view; ``slotted``: a shared page, kept in pieces
    around its slots, :func:`_pieces`); its :data:`RECORD_HEADER` is kept, not sent."""
    try:
        return _keep_page(response, slotted=slotted)
    finally:
        response.headers.pop(RECORD_HEADER, None)


def _keep_page(response: Response, *, slotted: bool) -> Response:
    generations, key, read, parts = _state.generations, _state.key, _state.read, _state.parts
    _state.generations = _state.key = _state.kept = _state.read = _state.parts = None
    _state.shared = False
    if generations is None or key is None or read is None or g.get("page_cache_hit"):
        return response
    cache = cache_of(current_app)
    if cache is None or not _keepable(response):
        return response
    depends = {table: generations.get(table, "0") for table in (*read, ANY, EPOCH)}
    depends.update(parts or {})
    life = lifetime(time.time())
    if life <= 0:  # what it shows of the clock holds no longer (midnight came as it rendered)
        return response
    try:
        _state.stored = cache.keep(
            key,
            depends,
            _own_headers(response),
            _pieces(response.get_data())
            if slotted
            else gzip.compress(response.get_data(), compresslevel=GZIP_LEVEL, mtime=0),
            minute=_state.minute,
            reader=_reader(),
            seconds=life,
        )
    except Exception:  # noqa: BLE001 - Redis away: the page was served, nothing is lost
        cache._pause()
    return response


#: Headers a kept page does not keep: its length (counted again) and cookies (never kept).
_UNKEPT_HEADERS = frozenset({"content-length", "set-cookie"})


def _own_headers(response: Response) -> list[tuple[str, str]]:
    """Return the headers the view set (its type, flask-smorest's ``X-Pagination``...).

    The app's own after-request handlers (security headers, ``Cache-Control``, the request
    id, the session cookie) run after :func:`_keep` and set theirs on a kept page again.
    """
    return [(k, v) for k, v in response.headers.items() if k.lower() not in _UNKEPT_HEADERS]


def _keepable(response: Response) -> bool:
    if _state.wrote or session.modified or response.status_code != 200:
        return False
    if g.get("page_cache_live"):
        return False
    if response.mimetype not in KEPT_MIMETYPES or response.is_streamed:
        return False
    if response.direct_passthrough or "Content-Disposition" in response.headers:
        return False
    if "Content-Encoding" in response.headers:
        return False
    cookie = current_app.config.get("SESSION_COOKIE_NAME", "session")
    if any(not value.startswith(cookie + "=") for value in response.headers.getlist("Set-Cookie")):
        return False
    length = response.calculate_content_length()
    return length is not None and length <= MAX_BYTES


# Following the writes ---------------------------------------------------------------------


def is_write(statement: str, context: Any) -> bool:
    """Tell whether a statement the engine ran may have changed what a page shows."""
    if context is not None and (
        context.isinsert or context.isupdate or context.isdelete or context.isddl
    ):
        return True
    if _SEVERAL.search(statement):
        return True  # several statements in one text: any of them may write
    compiled = getattr(context, "compiled", None)
    statement_object = getattr(compiled, "statement", None)
    # A SELECT reads, unless one of its CTEs is an INSERT, UPDATE or DELETE. Text declared
    # to return columns is no SELECT for that (``UPDATE ... RETURNING``): its SQL tells.
    if (
        compiled is not None
        and getattr(statement_object, "is_select", False)
        and not isinstance(statement_object, TextualSelect)
    ):
        return any(getattr(cte.element, "is_dml", False) for cte in compiled.ctes or ())
    words = statement.lstrip().split(None, 1)
    return bool(words) and words[0].upper() not in _READ_WORDS


#: Where a pooled connection notes that its transaction wrote: its end owes a generation
#: move (the app to move it for). Kept per connection, not per thread: a thread may hold
#: several transactions at once (a job's work and its progress, committed apart).
_OWED = "finportal.page_cache.owed"


def _after_execute(app: Flask) -> Callable[..., None]:
    def listener(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        if not app.config.get("PAGE_CACHE_URL"):
            return
        if not is_write(statement, context):
            if _state.read is not None:
                tables = read_tables(statement)
                told = _told(context)
                if told:  # what it read of these tables is in parts (noted before it ran)
                    tables = (tables - told.keys()) | {table + EVERY_PART for table in told}
                _state.read.update(tables)
            return
        if cursor.rowcount == 0 and (
            cursor.description is None
            or (conn.dialect.name != "sqlite" and _WRITTEN.match(statement) is not None)
        ):
            # An UPDATE or DELETE that found nothing changed nothing. Not so a statement that
            # returns rows where the count is of rows returned (a writing CTE's SELECT) or
            # stays 0 until they are read (RETURNING on SQLite, as the ORM's flush of
            # several rows): it may have written.
            return
        ahead = _ahead_of(context)
        if ahead:  # it wrote what it announced (moved before it ran): nothing more to tell
            wrote(conn, app, _written_ahead(ahead))
            return
        wrote(conn, app, _with_parts(conn, statement, written_tables(statement)))

    return listener


def _before_execute(app: Flask) -> Callable[..., None]:
    def listener(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        ahead = _ahead_of(context)
        if ahead and app.config.get("PAGE_CACHE_URL"):
            wrote(conn, app, _written_ahead(ahead))
        known = _state.parts
        if known is None or _state.read is None:
            return
        told = _told(context)
        if not told:
            return
        # Before the statement: a write committed after this moves them past what is noted.
        names = [name for name in _part_names(told) if name not in known]
        cache = cache_of(app)
        if not names or cache is None:
            return
        try:
            known.update(cache.parts(names))
        except Exception:  # noqa: BLE001 - Redis away: the page is rendered, not kept
            cache._pause()
            _state.read = None

    return listener


def _ahead_of(context: Any) -> dict[str, Any] | None:
    """Return what a statement announces it and its transaction write (:data:`rows.AHEAD`)."""
    return getattr(context, "execution_options", {}).get(rows.AHEAD) if context else None


def _written_ahead(ahead: dict[str, Any]) -> set[str]:
    """Return the generations the writes a statement announces (:data:`rows.AHEAD`) move, as
    the writes themselves will name them (:func:`written_tables`, :func:`_with_parts`)."""
    names = set(ahead).union(*(_schema().cascades.get(table, ()) for table in ahead))
    return names.union(_part_names(ahead))


def _told(context: Any) -> dict[str, tuple[str, ...]]:
    """Return the parts of tables a statement says it reads (:data:`rows.OPTION`)."""
    told = getattr(context, "execution_options", {}).get(rows.OPTION) if context else None
    if not told:
        return {}
    return {table: tuple(parts) for table, parts in told.items() if table in rows.PARTS_OF_ROW}


def _part_names(told: dict[str, tuple[str, ...]]) -> list[str]:
    return [f"{table}{PART}{part}" for table, parts in told.items() for part in parts]


#: Where a connection notes the parts of tables the ORM's flush is writing (rows the session
#: holds, :data:`rows.PARTS_OF_ROW`), until the flush ends.
_DECLARED = "finportal.page_cache.parts"


def _with_parts(conn: Any, statement: str, tables: frozenset[str]) -> frozenset[str]:
    """Return the generations a write moves: its tables, and of a table read in parts, the
    parts of the rows the ORM writes with it, or every part for any other write."""
    parted = tables & rows.PARTS_OF_ROW.keys()
    if not parted:
        return tables
    declared = conn.info.get(_DECLARED, {})
    match = _WRITTEN.match(statement)
    own = match.group(1) if match is not None else None
    more: set[str] = set()
    for table in parted:
        names = declared.get(table) if table == own else None
        more.update(names or {table + EVERY_PART})
    return tables | more


def _declare(
    table: str, parts_of: Callable[[dict[str, Any]], tuple[str, ...]], *, new: bool
) -> Any:
    """Return a mapper listener that notes the parts of ``table`` a row being flushed is in
    (as it will be, and for a row already there, as it was)."""

    def listener(mapper: Any, connection: Any, target: Any) -> None:
        state = inspect(target)
        rows_values = [state.dict]
        if not new and state.committed_state:
            rows_values.append({**state.dict, **state.committed_state})
        names: set[str] = set()
        for values in rows_values:
            try:
                names.update(f"{table}{PART}{part}" for part in parts_of(values))
            except (KeyError, TypeError):  # not loaded, or not plain: any part may change
                names.add(table + EVERY_PART)
        connection.info.setdefault(_DECLARED, {}).setdefault(table, set()).update(names)

    return listener


@functools.cache
def _follow_parts() -> None:
    """Listen, once, to the flush of the rows of every table read in parts."""
    from finportal.models.base import Base

    for mapper in Base.registry.mappers:
        table = mapper.local_table.name
        if table in rows.PARTS_OF_ROW:
            for name in ("before_insert", "before_update", "before_delete"):
                listener = _declare(table, rows.PARTS_OF_ROW[table], new=name == "before_insert")
                event.listen(mapper, name, listener)


def _flushed(session: Session, flush_context: Any) -> None:
    """Forget the parts a flush declared: what the connection writes next is not its rows."""
    try:
        conn = session.connection()
    except Exception:  # noqa: BLE001 - no connection to forget anything of
        return
    conn.info.pop(_DECLARED, None)


def _savepoint_undone(conn: Any, name: Any, context: Any) -> None:
    """Forget the parts of a flush that failed in a savepoint (its ``after_flush`` never came):
    what the connection writes next is not its rows."""
    conn.info.pop(_DECLARED, None)


def wrote(conn: Any, app: Flask | None = None, tables: Iterable[str] = (ANY,)) -> None:
    """Note a write made on ``conn`` (a SQLAlchemy Connection) to ``tables`` (unnamed: any
    table), as the engine's events report it or as the writer does where they do not see a
    statement (psycopg's COPY): their generations move now and once its transaction ends."""
    if app is None:
        if not has_app_context():
            return
        app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("PAGE_CACHE_URL"):
        return
    _state.wrote = True
    if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        _move_on(app, tables)  # committed as it ran: this is the move after its commit
        return
    info = conn.info
    # The app to move them for, the tables, and a name for the transaction (its pending mark).
    owed = info.setdefault(_OWED, (app, set(), uuid.uuid4().hex))[1]
    new = set(tables) - owed
    if new:  # the first write of a table in a transaction moves its generation at once
        owed.update(new)
        _move_on(app, new, pending=info[_OWED][2])


def _move_on(app: Flask, tables: Iterable[str], **marks: str) -> None:
    cache = cache_of(app)
    if cache is not None:
        cache.move_on(tables, **marks)


def _ended(info: dict[Any, Any]) -> None:
    """A transaction of the connection whose ``info`` this is has ended (committed, rolled
    back, or handed its connection back): move the generations of the tables it wrote."""
    info.pop(_DECLARED, None)
    owed = info.pop(_OWED, None)
    if owed is not None:
        app, tables, transaction = owed
        _move_on(app, tables, settled=transaction)


#: Where a written table's name stands in an INSERT, UPDATE or DELETE.
_WRITTEN = re.compile(
    r'^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE
)
#: An INSERT that may update or delete rows already there (PostgreSQL's and SQLite's upsert,
#: SQLite's ``INSERT OR REPLACE``, which deletes the conflicting row): a write like UPDATE's.
_UPSERT = re.compile(r"^\s*INSERT\s+OR\s+REPLACE\b|\bON\s+CONFLICT\b.*\bDO\s+UPDATE\b", re.I | re.S)
#: SQL text holding more than one statement (a semicolon with more after it).
_SEVERAL = re.compile(r";\s*[^\s;]")


@functools.lru_cache(maxsize=4096)
def written_tables(statement: str) -> frozenset[str]:
    """Return the tables whose pages a write may change: the table an INSERT, UPDATE or
    DELETE names, with (for an UPDATE or DELETE) the tables the database cascades it to
    through foreign keys; :data:`ANY` for any other write (DDL, a writing CTE, text)."""
    match = _WRITTEN.match(statement)
    if match is None or match.group(1) not in _schema().tables or _SEVERAL.search(statement):
        return frozenset({ANY})
    table = match.group(1)
    if statement.lstrip()[:6].upper() == "INSERT" and not _UPSERT.search(statement):
        return frozenset({table})
    return frozenset({table}) | _schema().cascades.get(table, frozenset())


@functools.lru_cache(maxsize=4096)
def read_tables(statement: str) -> frozenset[str]:
    """Return the portal's tables a statement's SQL names (its FROM, JOIN and subqueries: every
    table the database reads for it). A name that also stands for a column only adds a table,
    so a page depends on more than it read, never on less."""
    schema = _schema()
    return frozenset(
        schema.tables_by_folded[name.lower()] for name in schema.named.findall(statement)
    )


class _Schema:
    """The portal's tables, and where the database cascades a change of one to others."""

    def __init__(self) -> None:
        import finportal.models  # noqa: F401 - every model's table in the metadata
        from finportal.models.base import Base

        tables = Base.metadata.tables
        self.tables = frozenset(tables)
        names = "|".join(sorted(map(re.escape, self.tables), key=len, reverse=True))
        # SQL folds unquoted names: ``FROM ENTERPRISES`` reads enterprises.
        self.named = re.compile(rf"\b({names})\b", re.IGNORECASE)
        self.tables_by_folded = {name.lower(): name for name in self.tables}
        # A row deleted or updated in a table can change rows of the tables whose foreign
        # keys name it with ON DELETE / ON UPDATE actions, and theirs in turn.
        direct: dict[str, set[str]] = {}
        for child in tables.values():
            for key in child.foreign_keys:
                if key.ondelete or key.onupdate:
                    direct.setdefault(key.column.table.name, set()).add(child.name)
        self.cascades: dict[str, frozenset[str]] = {}
        for table in direct:
            seen: set[str] = set()
            todo = [table]
            while todo:
                for name in direct.get(todo.pop(), ()):
                    if name not in seen:
                        seen.add(name)
                        todo.append(name)
            self.cascades[table] = frozenset(seen)


@functools.cache
def _schema() -> _Schema:
    return _Schema()


def _follow_commits(engine: Engine) -> None:
    """Move the generation right after every commit of a transaction that wrote, and settle
    its pending marks as soon as it ends, committed or rolled back.

    SQLAlchemy's ``commit`` event comes before the database commits (a reader starting in
    between would keep the old page under the new generation), so the dialect's commit is
    wrapped instead, as the engine's own hook, for this engine only. Its rollback too: a
    connection kept open after a rollback (a job that gave up, a command's loop) is not
    handed back to the pool, and its marks would otherwise stop pages that read its tables
    from being kept until they lapse (and its next transaction would count as the same one).
    """
    dialect = engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def ended(dbapi_connection: Any) -> None:
        try:
            info = getattr(dbapi_connection, "info", None)
        except NotImplementedError:  # the dialect's first connection, before the pool's
            return
        if info is not None:
            _ended(info)

    def do_commit(dbapi_connection: Any) -> None:
        try:
            commit(dbapi_connection)
        finally:
            # Also when the commit raised: the database may have committed and only its
            # answer been lost (a connection dropped); an extra move costs one rendering.
            ended(dbapi_connection)

    def do_rollback(dbapi_connection: Any) -> None:
        try:
            rollback(dbapi_connection)
        finally:
            ended(dbapi_connection)

    dialect.do_commit = do_commit  # type: ignore[method-assign]
    dialect.do_rollback = do_rollback  # type: ignore[method-assign]


def _checked_in(app: Flask) -> Callable[..., None]:
    def listener(dbapi_connection: Any, record: Any) -> None:
        if record is not None:  # None: a detached connection (no pool record, no info)
            _ended(record.info)

    return listener


def _session_committed(session: Session) -> None:
    # A session joined to a connection's outer transaction (the tests' rolled-back one)
    # commits without a database commit: its commit is the end of its work.
    bind = session.bind
    if isinstance(bind, Connection) and not bind.closed:
        _ended(bind.info)


def _read_by_row(orm_execute_state: Any) -> None:
    """Give an ORM read of one row by its primary key the options of a read of that row
    (:data:`rows.ONE_ROW`), as the statements that pick it themselves say: the reload of an
    expired object (a commit in a request expires the signed-in user, whose next attribute
    reads the row again), ``session.get`` and a lazy load by key (the user's sign-in state).
    Without them such a read depends on every row of its table."""
    if not orm_execute_state.is_select or rows.OPTION in orm_execute_state.local_execution_options:
        return
    mapper = orm_execute_state.bind_mapper
    one_row = rows.ONE_ROW.get(mapper.local_table.name) if mapper is not None else None
    if one_row is None:
        return
    # The ORM's read by key has the mapper's own key clause (memoized) as its only WHERE.
    clause, keys = mapper._get_clause
    where = getattr(orm_execute_state.statement, "_where_criteria", ())
    if len(keys) != 1 or len(where) != 1 or where[0] is not clause:
        return
    value = (orm_execute_state.parameters or {}).get(next(iter(keys.values())).key)
    if isinstance(value, int):
        orm_execute_state.update_execution_options(**one_row(value))


event.listen(Session, "after_commit", _session_committed)
event.listen(Session, "after_flush", _flushed)
event.listen(Session, "do_orm_execute", _read_by_row)
