"""``flask --app wsgi push ...``: run the 政策找企业 push and deadline reminders, and time them.

- ``push run`` matches every firm with the catalogue and tells each what is new or cheaper
  for it (idempotent; the scheduler queues it hourly as the ``policy_push`` periodic task);
- ``push deadlines`` sends the 申报提醒 of application windows that close soon (idempotent);
- ``push bench`` times the publishing what-if (and the push) over the configured database,
  adding synthetic enterprises first with ``--fill`` (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import copy
import json
import os
import random
import statistics
import time
from typing import Any

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from finportal.extensions import db

push_cli = AppGroup("push", help="政策找企业: push what is new or cheaper, deadline reminders.")


@push_cli.command("run")
@with_appcontext
def run_command() -> None:
    """Match every firm with the catalogue now and push what is new or cheaper for each."""
    from finportal.services import push

    result = push.push_catalog(db.session, trigger="scheduled")
    db.session.commit()
    click.echo(json.dumps(result, ensure_ascii=False))


@push_cli.command("deadlines")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None, help="The day (tests).")
@with_appcontext
def deadlines_command(today: Any) -> None:
    """Remind qualifying firms of application windows that close soon (once per reminder)."""
    from finportal.services import push

    result = push.send_deadline_reminders(db.session, today=today.date() if today else None)
    db.session.commit()
    click.echo(json.dumps(result, ensure_ascii=False))


def fill_enterprises(session: Any, wanted: int, seed: int, echo: Any) -> int:
    """Add synthetic enterprises (the scale data's profiles and memberships) up to ``wanted``."""
    from finportal.models import Chamber, Enterprise, Park
    from finportal.scale import BulkWriter, Plan, _enterprise_rows, _membership_rows, _uscc
    from finportal.services.workdays import today_local

    have = int(session.scalar(select(func.count()).select_from(Enterprise)) or 0)
    missing = wanted - have
    if missing <= 0:
        return 0
    parks = list(session.scalars(select(Park).order_by(Park.id)))
    chambers = list(session.scalars(select(Chamber).order_by(Chamber.id)))
    if not parks or not chambers:
        raise click.ClickException(
            "请先载入演示数据（flask --app wsgi demo）：需要园区与商会。"
            " / Load the demo data first (parks and chambers)."
        )
    rng = random.Random(seed)
    today = today_local()
    writer = BulkWriter(session.connection())
    first = writer.next_id(Enterprise.__table__, missing)
    plan = Plan(missing, 0, 0, 0, 0)
    rows, _ = _enterprise_rows(plan, rng, first, today)
    offset = first + 1_000_000  # clear of the scale data's numbers
    for n, row in enumerate(rows):
        row["uscc"] = _uscc(offset + n, str(row["district_code"]))
        row["name"] = f"基准测试企业{offset + n}（演示）"
    echo(f"writing {missing} enterprises")
    writer.insert(Enterprise.__table__, rows)
    _membership_rows(writer, rows, parks, chambers, rng)
    writer.finish()
    session.commit()
    return missing


@push_cli.command("bench")
@click.option("--enterprises", default=100_000, show_default=True, help="Firms wanted.")
@click.option("--fill/--no-fill", default=False, help="Add synthetic firms up to --enterprises.")
@click.option("--repeat", default=3, show_default=True, help="Runs of the what-if.")
@click.option("--code", default="ip_pledge", show_default=True, help="The product to redraft.")
@click.option("--with-push/--no-push", default=True, help="Also time the push (rolled back).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def bench_command(
    enterprises: int, fill: bool, repeat: int, code: str, with_push: bool, as_json: bool
) -> None:
    """Time the publishing what-if over every enterprise (goal: under 2 s for 100,000)."""
    import products
    from finportal.models import Enterprise
    from finportal.services import catalog, push, what_if
    from finportal.services.profile_table import iter_tables

    session = db.session
    echo = click.echo if not as_json else (lambda _m: None)
    added = fill_enterprises(session, enterprises, 20261130, echo) if fill else 0
    n = int(session.scalar(select(func.count()).select_from(Enterprise)) or 0)
    _cat, versions = catalog.current_catalog(session)
    if code not in versions:
        raise click.ClickException(f"no published product {code}")
    old = catalog.product_of(versions[code])
    # The draft: the same product asking one more of its first numeric threshold.
    content = copy.deepcopy(old.to_dict())
    leaves = [
        leaf
        for condition in content["conditions"]
        for leaf in condition.get("any_of", [condition])
        if leaf.get("op") in ("gte", "gt") and leaf.get("value") is not None
    ]
    if not leaves:
        raise click.ClickException(f"{code} has no numeric threshold to change")
    leaves[0]["value"] = str(int(float(leaves[0]["value"])) + 1)
    new = products.Product.from_dict(content, "bench draft")

    loads, runs, cpus = [], [], []
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        rows = sum(t.n for t in iter_tables(session))
        loads.append(time.perf_counter() - started)
        started, cpu = time.perf_counter(), time.process_time()
        result = what_if.compute(session, new, old)
        runs.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
        session.rollback()
    assert result is not None
    out: dict[str, Any] = {
        "database": session.get_bind().dialect.name,
        "enterprises": n,
        "added": added,
        "loaded_rows": rows,
        # every profile column (the what-if reads only the columns its products need)
        "load_all_columns_s_median": round(statistics.median(loads), 3),
        "what_if_s": [round(r, 3) for r in runs],
        "what_if_s_median": round(statistics.median(runs), 3),
        # This process's CPU seconds (the database's work is not in it), and how busy the
        # machine was: on shared cores the wall time is mostly waiting for a core.
        "what_if_cpu_s_median": round(statistics.median(cpus), 3),
        "load_average_1m": round(os.getloadavg()[0], 1),
        "cores": os.cpu_count(),
        "eligible_before": result.eligible_before,
        "eligible_after": result.eligible_after,
        "gained": result.gained,
        "lost": result.lost,
    }
    if with_push:
        started = time.perf_counter()
        pushed = push.push_catalog(session, trigger="scheduled")
        session.flush()
        out["push_all_products_s"] = round(time.perf_counter() - started, 3)
        out["push_notices"] = pushed["new"] + pushed["cheaper"]
        # The same push again (the hourly run with nothing new): every firm matched and
        # compared with what it was told, nothing written.
        started = time.perf_counter()
        again = push.push_catalog(session, trigger="scheduled")
        session.flush()
        out["push_again_s"] = round(time.perf_counter() - started, 3)
        out["push_again_notices"] = again["new"] + again["cheaper"]
        session.rollback()  # a benchmark tells nobody anything
    if as_json:
        click.echo(json.dumps(out))
    else:
        for key, value in out.items():
            click.echo(f"{key}: {value}")
