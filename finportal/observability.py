"""Request ids, structured (JSON) logs, Prometheus metrics, and the health endpoints.

- Every request carries an id: the client's ``X-Request-ID`` when it is a sane token, else a
  new one; it is sent back in ``X-Request-ID`` and printed in every log line of the request.
- With ``FINPORTAL_LOG_FORMAT=json`` every log line is one JSON object (python-json-logger)
  and each request writes one access line (``finportal.access``) with its latency.
- Metrics use ``prometheus_client``. Under gunicorn (several processes) set
  ``PROMETHEUS_MULTIPROC_DIR`` to an empty folder shared by the web workers and the job
  workers: each process writes its samples there and ``/metrics`` adds them up (the client's
  multiprocess mode). Queue depth and job states are read from Redis and the database when
  ``/metrics`` is scraped.
- ``/metrics`` answers only a client on the loopback interface that came without a proxy's
  forwarding header, or one that sends ``Authorization: Bearer $FINPORTAL_METRICS_TOKEN``;
  everyone else gets 404.
- ``/health/live`` says the process serves requests (nothing else is touched: it is also the
  load test's bare route); ``/health/ready`` checks the database, Redis (when configured) and
  that the database schema is at the migrations' head, and answers 503 naming what failed.
"""

from __future__ import annotations

import contextvars
import hmac
import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, current_app, g, has_request_context, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import text

access_log = logging.getLogger("finportal.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
_LOOPBACK = ("127.", "::1", "::ffff:127.")

#: Latency buckets (seconds): the pages' goal is p99 <= 100 ms.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUEST_LATENCY = Histogram(
    "finportal_http_request_duration_seconds",
    "Time to answer an HTTP request, by endpoint.",
    ("method", "endpoint", "status"),
    buckets=BUCKETS,
)
JOB_RUNS = Counter(
    "finportal_job_runs_total",
    "Background job attempts by kind and outcome (done, failed, retry).",
    ("kind", "outcome"),
)
JOB_LATENCY = Histogram(
    "finportal_job_duration_seconds",
    "Time a background job attempt took, by kind.",
    ("kind",),
    buckets=(0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800),
)

bp = Blueprint("health", __name__)

#: The id of the background job running in this context (``finportal.jobs`` sets it).
current_job: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "finportal_job", default=None
)


# --- request ids and logs ----------------------------------------------------------------


def request_id() -> str | None:
    """Return the current request's id (None outside a request)."""
    if has_request_context():
        return g.get("request_id")
    return None


class ContextFilter(logging.Filter):
    """Add ``request_id`` (and the running job's id) to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id()
        if not hasattr(record, "job_id"):
            record.job_id = current_job.get()
        return True


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Write to whatever ``sys.stderr`` is when a line is written (gunicorn and tests swap it)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(fmt: str, level: str = "INFO") -> None:
    """Send the root logger's lines to stderr, as JSON objects when ``fmt`` is ``json``."""
    handler = StderrHandler()
    if fmt == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(job_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                json_ensure_ascii=False,
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_finportal", False)]:
        root.removeHandler(old)
    handler._finportal = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # WeasyPrint tells every rendering step at INFO: noise in a server's log.
    for noisy in ("weasyprint", "fontTools"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _start_request() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish_request(response: Any) -> Any:
    rid = g.get("request_id")
    if rid:
        response.headers["X-Request-ID"] = rid
    started = g.get("request_started")
    if started is None:
        return response
    elapsed = time.perf_counter() - started
    endpoint = request.endpoint or "<unmatched>"
    if endpoint != "health.metrics":
        REQUEST_LATENCY.labels(request.method, endpoint, str(response.status_code)).observe(elapsed)
    if current_app.config.get("ACCESS_LOG"):
        user = g.get("_login_user")  # never load the user just to log it
        access_log.info(
            "%s %s %s %.1fms",
            request.method,
            request.path,
            response.status_code,
            elapsed * 1000,
            extra={
                "method": request.method,
                "path": request.path,
                "endpoint": endpoint,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 2),
                "bytes": response.calculate_content_length(),
                "user_id": getattr(user, "id", None),
                "remote_addr": request.remote_addr,
            },
        )
    return response


# --- metrics -----------------------------------------------------------------------------


class QueueCollector:
    """Read job states from the database and queue depths from Redis when scraped."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from finportal import audit_queue, jobs

        states = GaugeMetricFamily(
            "finportal_jobs", "Background jobs in the database by state.", labels=["state"]
        )
        depth = GaugeMetricFamily(
            "finportal_queue_depth",
            "Jobs waiting in the RQ queue, scheduled for a retry, or failed (dead letters); "
            "audit events waiting for the trail (queue audit, finportal/audit_queue.py).",
            labels=["queue", "registry"],
        )
        with self.app.app_context():
            try:
                for state, count in jobs.state_counts().items():
                    states.add_metric([state], count)
            except Exception:  # noqa: BLE001 - a scrape must not fail with the database
                logging.getLogger(__name__).warning("metrics: job states unavailable")
            try:
                for registry, count in jobs.queue_depths().items():
                    depth.add_metric([jobs.QUEUE, registry], count)
                views = audit_queue.of(self.app)
                if views is not None:
                    depth.add_metric(["audit", "waiting"], views.waiting())
            except Exception:  # noqa: BLE001 - nor with Redis
                logging.getLogger(__name__).warning("metrics: queue depth unavailable")
        yield states
        yield depth


def _metrics_allowed() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header[7:].strip(), token)
    forwarded = request.headers.get("X-Forwarded-For") or request.headers.get("Forwarded")
    return (request.remote_addr or "").startswith(_LOOPBACK) and not forwarded


@bp.get("/metrics")
def metrics() -> Any:
    """Return the Prometheus metrics of every process of this server (loopback or token only)."""
    if not _metrics_allowed():
        from flask import abort

        abort(404)
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        registry = REGISTRY
    body = generate_latest(registry) + generate_latest(_queue_registry(current_app))
    return body, 200, {"Content-Type": CONTENT_TYPE_LATEST}


def _queue_registry(app: Flask) -> CollectorRegistry:
    registry = app.extensions.get("finportal_queue_registry")
    if registry is None:
        registry = CollectorRegistry()
        registry.register(QueueCollector(app))  # type: ignore[arg-type]
        app.extensions["finportal_queue_registry"] = registry
    return registry


# --- health ------------------------------------------------------------------------------


@bp.get("/health/live")
def live() -> Any:
    """Answer that the process serves requests (touches nothing else)."""
    return {"status": "ok"}


def readiness(app: Flask) -> tuple[bool, dict[str, Any]]:
    """Check the database, Redis and the schema's migration head; return (ready, checks)."""
    from finportal.extensions import db

    checks: dict[str, Any] = {}
    try:
        session = db.session
        session.execute(text("SELECT 1"))
        current = set(session.execute(text("SELECT version_num FROM alembic_version")).scalars())
        session.rollback()  # end the read at once
        heads = migration_heads(app)
        checks["database"] = "ok"
        checks["migrations"] = (
            "ok" if current == heads else f"at {sorted(current)}, head is {sorted(heads)}"
        )
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        db.session.rollback()
        checks["database"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        checks.setdefault("migrations", "unknown")
    if app.config.get("REDIS_URL"):
        try:
            from finportal.jobs import redis_connection

            redis_connection(app).ping()
            checks["redis"] = "ok"
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            checks["redis"] = f"{type(exc).__name__}: {exc}"[:200]
    return all(v == "ok" for v in checks.values()), checks


def migration_heads(app: Flask) -> set[str]:
    """Return the revision ids at the head of the migrations folder (read once per process)."""
    heads = app.extensions.get("finportal_migration_heads")
    if heads is None:
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        directory = app.extensions["migrate"].directory
        heads = set(ScriptDirectory.from_config(_alembic_config(Config, directory)).get_heads())
        app.extensions["finportal_migration_heads"] = heads
    return set(heads)


def _alembic_config(config_class: Any, directory: str) -> Any:
    config = config_class()
    config.set_main_option("script_location", directory)
    return config


@bp.get("/health/ready")
@bp.get("/healthz")
def ready() -> Any:
    """Answer 200 when the database, Redis and the schema are ready, else 503 with what failed."""
    ok, checks = readiness(current_app)
    return {"status": "ok" if ok else "unavailable", "checks": checks}, (200 if ok else 503)


def init_app(app: Flask) -> None:
    """Register request ids, access logs, metrics and the health endpoints."""
    if app.config.get("LOG_FORMAT") in ("json", "text") and not app.testing:
        configure_logging(app.config["LOG_FORMAT"], app.config.get("LOG_LEVEL", "INFO"))
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.register_blueprint(bp)
