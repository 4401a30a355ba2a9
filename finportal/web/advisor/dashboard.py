"""Advisor pages: the centre's dashboard (数据看板), with an Excel export of every table."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, render_template
from flask_babel import gettext as _
from markupsafe import Markup

from finportal import charts, page_cache
from finportal.extensions import db
from finportal.limits import in_user_language
from finportal.memo import Memo
from finportal.services import dashboard_cache
from finportal.services.dashboard import build_dashboard
from finportal.services.exports import XLSX_MIMETYPE, table_to_xlsx
from finportal.web.advisor.views import bp


def _charts(board: Any) -> dict[str, Markup]:
    out: dict[str, Markup] = {}
    # charts.* escape every label themselves.
    out["funnel"] = Markup(  # noqa: S704
        charts.funnel(
            board.funnel,
            title=_("办理漏斗"),
            width=560,
            value_format=in_user_language("{count}（{share}）", "{count} ({share})"),
        )
    )
    if board.score_bins:
        out["scores"] = Markup(  # noqa: S704
            charts.histogram(board.score_bins, title=_("信用评分分布"), width=560, height=200)
        )
    rates = [
        (row[0], row[5] * 100)
        for row in board.tables["approval_by_bank"].rows
        if row[5] is not None
    ]
    if rates:
        out["bank_rates"] = Markup(  # noqa: S704
            charts.bar_chart(
                rates,
                title=_("各银行同意率（%）"),
                width=560,
                value_format=".1f",
                positive_color=charts.NEUTRAL,
            )
        )
    quota = [(row[0], row[8] * 100) for row in board.tables["batch_quota"].rows]
    if quota:
        out["batch_quota"] = Markup(  # noqa: S704
            charts.bar_chart(
                quota,
                title=_("批次额度使用率（%）"),
                width=560,
                value_format=".1f",
                positive_color=charts.NEUTRAL,
            )
        )
    return out


@bp.get("/dashboard")
@page_cache.shared()
def dashboard() -> Any:
    """Show the dashboard: funnel, amounts, approval rates, times, breaches, ratings, scores, quotas."""
    max_age = current_app.config["DASHBOARD_MAX_AGE_SECONDS"]
    max_age_minutes = f"{max_age / 60:g}" if max_age > 0 else None
    snapshot = (
        dashboard_cache.fresh_snapshot(db.session, max_age_seconds=max_age) if max_age > 0 else None
    )
    if snapshot is None:  # none fresh (or always computed): compute it, stored for the next reader
        board, as_of = dashboard_cache.current(db.session, max_age_seconds=max_age)
        body = _body(board, as_of, max_age_minutes)
    else:
        body = _BODIES.get(
            (snapshot.id, snapshot.as_of, snapshot.locale, max_age_minutes),
            lambda: _body(dashboard_cache.load(snapshot.data), snapshot.as_of, max_age_minutes),
        )
    return render_template("advisor/dashboard.html", body=body)


#: The dashboard's content as rendered from a snapshot, per (snapshot id, time, language, maximum
#: age): the same for every advisor who reads that snapshot, and a new snapshot is a new key.
#: Rendering its tables cost most of the page (docs/BENCHMARKS.md, issue 12).
_BODIES: Memo[Markup] = Memo(8)


def _body(board: Any, as_of: Any, max_age_minutes: str | None) -> Markup:
    """Render the dashboard's content (it holds nothing of the reader but their language)."""
    return Markup(  # noqa: S704 - a rendered template, escaped by Jinja
        render_template(
            "advisor/_dashboard_body.html",
            board=board,
            charts=_charts(board),
            as_of=as_of,
            max_age_minutes=max_age_minutes,
        )
    )


@bp.get("/dashboard/<key>.xlsx")
def dashboard_export(key: str) -> Any:
    """Download one dashboard table as an Excel workbook (every deadline breach, not the first few)."""
    board = build_dashboard(db.session, complete=True)
    table = board.tables.get(key)
    if table is None:
        abort(404)
    data = table_to_xlsx(
        table.title,
        table.columns,
        table.rows,
        note=table.note,
        percent_columns=table.percent_columns,
    )
    return Response(
        data,
        mimetype=XLSX_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="dashboard-{key}.xlsx"'},
    )
