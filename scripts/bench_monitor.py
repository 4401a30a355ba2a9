"""Time the fairness monitor's computation and its snapshot (docs/BENCHMARKS.md, issue 12).

    FINPORTAL_DATABASE_URL=... .venv/bin/python scripts/bench_monitor.py --read-only --repeat 3

Prints, as one JSON object: the scored applications read, the median seconds of
``credit.fairness_monitor`` per language (what the page computed on every view before its
snapshot), of the refresh's computation (``monitor_cache``: the database read once, the
report worded in both languages), and the size of the stored report. ``--read-only`` makes
every transaction of the process read-only (a database someone else benchmarks on: any
write fails instead of happening). ``--save DIR`` writes each language's report to
``DIR/monitor-<locale>.json`` and ``--load DIR`` stores such files as the newest snapshots
(on a database of your own, to time the page that reads them with ``scripts/page_time.py``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

from finportal import create_app
from finportal.domain.states import language
from finportal.extensions import db
from finportal.i18n import LOCALES


def _median(seconds: list[float]) -> float:
    return round(statistics.median(seconds), 3)


def main() -> None:
    """Time the computation, or store saved reports as snapshots."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each")
    parser.add_argument("--read-only", action="store_true", help="refuse every write")
    parser.add_argument("--save", type=Path, help="write each language's report here")
    parser.add_argument("--load", type=Path, help="store the reports saved here as snapshots")
    args = parser.parse_args()
    app = create_app()
    with app.app_context():
        if args.read_only:

            @event.listens_for(db.engine, "begin")
            def read_only(conn: Any) -> None:
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")

        if args.load:
            _load(args.load)
            return
        _bench(args.repeat, args.save)


def _bench(repeat: int, save: Path | None) -> None:
    from finportal.services import credit, monitor_cache

    out: dict[str, Any] = {}
    per_language: dict[str, list[float]] = {locale: [] for locale in LOCALES}
    reports: dict[str, Any] = {}
    for _ in range(max(1, repeat)):
        for locale in LOCALES:
            with language(locale):
                started = time.perf_counter()
                reports[locale] = credit.fairness_monitor(db.session)
                per_language[locale].append(time.perf_counter() - started)
            db.session.rollback()
    out["scored_applications"] = reports[LOCALES[0]]["rows"]
    out["fairness_monitor_seconds"] = {k: _median(v) for k, v in per_language.items()}
    reads, refreshes = [], []
    for _ in range(max(1, repeat)):
        started = time.perf_counter()
        rows = credit.fairness_rows(db.session)
        reads.append(time.perf_counter() - started)
        db.session.rollback()
        started = time.perf_counter()
        computed = monitor_cache._reports(db.session, LOCALES)
        refreshes.append(time.perf_counter() - started)
        db.session.rollback()
    out["rows_read_seconds"] = _median(reads)
    out["refresh_compute_seconds"] = _median(refreshes)
    assert all(computed[locale][0] == reports[locale] for locale in LOCALES)
    out["same_report"] = True
    out["report_kb"] = {
        locale: round(len(json.dumps(report, ensure_ascii=False).encode()) / 1024, 1)
        for locale, report in reports.items()
    }
    out["rows"] = len(rows)
    if save:
        save.mkdir(parents=True, exist_ok=True)
        for locale, report in reports.items():
            (save / f"monitor-{locale}.json").write_text(
                json.dumps(report, ensure_ascii=False), encoding="utf-8"
            )
    print(json.dumps(out, ensure_ascii=False))


def _load(folder: Path) -> None:
    from finportal.models import MonitorSnapshot, utcnow
    from finportal.services import snapshots

    reports = {
        locale: (json.loads((folder / f"monitor-{locale}.json").read_text("utf-8")), 0.0)
        for locale in LOCALES
    }
    snapshots.store(db.session, MonitorSnapshot, reports, as_of=utcnow())
    db.session.commit()
    print(json.dumps({"stored": sorted(reports)}))


if __name__ == "__main__":
    main()
