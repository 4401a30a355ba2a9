"""gunicorn settings of the production stack (scripts/prod.sh); each one can be overridden.

Sync workers (one request at a time each): the portal's work is CPU and database bound, and
a sync worker killed mid-request loses only that request. Every value comes from the
environment so the load test and the faults script run the same configuration.
"""

import os

bind = os.environ.get("FINPORTAL_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("FINPORTAL_WEB_WORKERS", "4"))
worker_class = "sync"
timeout = int(os.environ.get("FINPORTAL_WEB_TIMEOUT", "60"))
graceful_timeout = 20
keepalive = 5
# The app writes its own access line (JSON, with the request id and latency): see
# finportal/observability.py. gunicorn's own lines go to stderr (the log folder).
accesslog = None
errorlog = "-"
loglevel = "info"
proc_name = "finportal-web"


def child_exit(server, worker):  # noqa: ARG001 - gunicorn's hook signature
    """Drop a dead worker's live gauges from the shared Prometheus folder."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker):  # noqa: ARG001 - gunicorn's hook signature
    """Move everything loaded at start (the app, its modules, the model) out of the collector's way.

    The garbage collector's full passes would otherwise walk those few hundred thousand
    long-lived objects again and again while serving requests (docs/BENCHMARKS.md, issue 12).
    """
    import gc

    gc.collect()
    gc.freeze()
