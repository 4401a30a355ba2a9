"""Render referral packets (推荐材料包) to PDF with WeasyPrint, from a Jinja2 template.

Nothing here touches the database or Flask: a service builds a
:class:`~finportal.packets.context.PacketContext` and a background job calls
:func:`render_packet`, stores the bytes and their :func:`sha256_hex`. Rendering takes
a noticeable fraction of a second, so it never runs inside a web request.
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import hashlib
import io
import threading
from collections.abc import Sequence
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any

import jinja2
import segno
import weasyprint
from markupsafe import Markup
from pypdf import PdfReader, PdfWriter
from weasyprint.text.fonts import FontConfiguration

from finportal import charts, money
from finportal.packets.context import BatchCoverContext, PacketContext
from finportal.packets.environment import ensure_environment
from finportal.packets.fetcher import ASSETS_DIR, PacketURLFetcher

__all__ = [
    "html_to_pdf",
    "merge_batch_packet",
    "prepare_worker",
    "render_batch_cover",
    "render_html",
    "render_packet",
    "sha256_hex",
]

TEMPLATES_DIR = Path(__file__).parent / "templates"
STYLESHEET = ASSETS_DIR / "packet.css"
# Relative URLs in a packet (e.g. a bank logo file name) resolve inside the assets dir.
BASE_URL = ASSETS_DIR.as_uri() + "/"

_RESULT_ZH = {"passed": "符合", "failed": "不符合", "unknown": "待核实"}


def _money(value: Any) -> str:
    """Format an amount with thousands separators and two decimals."""
    if value is None:
        return "—"
    return f"{Decimal(str(value)):,.2f}"


def _yuan_as_wan(value: Any) -> str:
    """Format a yuan amount in 万元 (two decimals), as pages show amounts."""
    if value is None:
        return "—"
    return money.wan(value)


def _pct(value: Any, digits: int = 2) -> str:
    """Format a fraction as a percentage (0.0345 -> 3.45%)."""
    if value is None:
        return "—"
    return f"{float(value) * 100:.{digits}f}%"


def _score(value: Any) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else f"{number:.1f}"


def _date_zh(value: dt.date | None) -> str:
    if value is None:
        return "—"
    return f"{value.year}年{value.month}月{value.day}日"


def _date_iso(value: dt.date | str) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _datetime_zh(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return f"{_date_zh(value)} {value:%H:%M}"
    return _date_zh(value)


@functools.cache
def _jinja_env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        wan=_money,
        yuan=_money,
        yuan_wan=_yuan_as_wan,
        pct=_pct,
        score=_score,
        date_zh=_date_zh,
        date_iso=_date_iso,
        datetime_zh=_datetime_zh,
        result_zh=lambda r: _RESULT_ZH.get(r, str(r)),
        qr=qr_data_uri,
    )
    return env


def qr_data_uri(text: str) -> str:
    """Return a QR code of ``text`` as an SVG ``data:`` URI (vectors in the PDF, any size)."""
    return str(segno.make(text, error="m", micro=False).svg_data_uri(scale=4, border=2))


@functools.cache
def _stylesheet() -> weasyprint.CSS:
    # Parsed once per process; WeasyPrint reuses the parsed rules for every document.
    return weasyprint.CSS(filename=str(STYLESHEET), url_fetcher=PacketURLFetcher())


_local = threading.local()


def _font_config() -> FontConfiguration:
    """Return this thread's font configuration, created on first use.

    WeasyPrint otherwise builds a new one (a fresh Pango font map) for every document,
    so font lookups and shaping caches start cold each time; reusing it saves about
    18 % of a render. One per thread, because a Pango font map is not thread-safe.
    """
    font_config = getattr(_local, "font_config", None)
    if font_config is None:
        font_config = _local.font_config = FontConfiguration()
    return font_config


def sha256_hex(data: bytes) -> str:
    """Return the SHA-256 of ``data`` as 64 lowercase hex digits."""
    return hashlib.sha256(data).hexdigest()


def _pairs(rows: Sequence[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Group profile rows two by two, for a four-column label/value table."""
    return [list(rows[i : i + 2]) for i in range(0, len(rows), 2)]


def render_html(ctx: PacketContext, *, in_batch: bool = False) -> str:
    """Return the packet's HTML (for previews and tests; the PDF is made from it).

    ``in_batch``: the packet is part of a batch packet, whose pages are numbered over the
    whole file when merged; the packet's own numbering moves to the bottom right.
    """
    reasons_chart = (
        Markup(  # noqa: S704 - charts escape every label themselves
            charts.bar_chart(
                [(r.text_zh, r.contribution) for r in ctx.reasons],
                title="主要影响因素",
                width=680,
                bar_height=13,
                gap=4,
                font_size=10,
                value_format="+.3f",
            )
        )
        if ctx.reasons
        else ""
    )
    counts = {"passed": 0, "failed": 0, "unknown": 0}
    for condition in ctx.conditions:
        counts[condition.result] = counts.get(condition.result, 0) + 1
    schedule = ctx.quote.schedule
    totals = {
        "principal": sum((Decimal(str(r.principal_yuan)) for r in schedule), Decimal(0)),
        "interest": sum((Decimal(str(r.interest_yuan)) for r in schedule), Decimal(0)),
        "fee": sum((Decimal(str(r.fee_yuan)) for r in schedule), Decimal(0)),
    }
    return (
        _jinja_env()
        .get_template("packet.html")
        .render(
            ctx=ctx,
            profile_pairs=_pairs([(str(k), str(v)) for k, v in ctx.enterprise_profile.items()]),
            condition_counts=counts,
            reasons_chart=reasons_chart,
            schedule_totals=totals,
            in_batch=in_batch,
        )
    )


def html_to_pdf(html: str, *, url_fetcher: PacketURLFetcher | None = None) -> bytes:
    """Render packet HTML to PDF bytes with the packet's stylesheet and fetcher.

    Checks the environment first (once per process): a missing CJK font or HarfBuzz
    subset library stops here with a clear error rather than printing boxes slowly.
    """
    ensure_environment()
    fetcher = url_fetcher if url_fetcher is not None else PacketURLFetcher()
    document = weasyprint.HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher)
    # Fonts are embedded and subsetted by default (full_fonts=False), with HarfBuzz.
    return document.write_pdf(stylesheets=[_stylesheet()], font_config=_font_config())


def render_packet(
    ctx: PacketContext, *, url_fetcher: PacketURLFetcher | None = None, in_batch: bool = False
) -> bytes:
    """Render the referral packet for ``ctx`` and return the PDF bytes (see :func:`render_html`)."""
    return html_to_pdf(render_html(ctx, in_batch=in_batch), url_fetcher=url_fetcher)


def prepare_worker() -> None:
    """Get a long-lived rendering process (background worker) ready for steady-state speed.

    Checks the environment, renders one sample packet so fonts, templates and the
    stylesheet are loaded, then freezes the objects alive so far out of the garbage
    collector: WeasyPrint allocates many short-lived objects and full collections would
    otherwise rescan the loaded fonts and modules each time (about 13 % of a render here).
    """
    from finportal.packets.samples import sample_context  # imported only to warm up

    ensure_environment()
    render_packet(sample_context())
    gc.collect()
    gc.freeze()


def render_batch_cover(cover_ctx: BatchCoverContext) -> bytes:
    """Render the batch packet's cover: the batch and a table of its members."""
    total = sum((Decimal(str(m.amount_wan)) for m in cover_ctx.members), Decimal(0))
    approved = [
        Decimal(str(m.approved_wan)) for m in cover_ctx.members if m.approved_wan is not None
    ]
    html = (
        _jinja_env()
        .get_template("batch_cover.html")
        .render(
            ctx=cover_ctx,
            total_wan=total,
            approved_total_wan=sum(approved, Decimal(0)),
            approved_count=len(approved),
        )
    )
    return html_to_pdf(html)


def merge_batch_packet(cover_ctx: BatchCoverContext, member_pdfs: Sequence[bytes]) -> bytes:
    """Return one PDF: the batch cover, then each member's packet in order, bookmarked."""
    if len(member_pdfs) != len(cover_ctx.members):
        raise ValueError(
            f"{len(cover_ctx.members)} members in the cover but {len(member_pdfs)} packets"
        )
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(render_batch_cover(cover_ctx))), outline_item="批次封面")
    for index, (member, pdf) in enumerate(zip(cover_ctx.members, member_pdfs, strict=True), 1):
        writer.append(
            PdfReader(io.BytesIO(pdf)),
            outline_item=f"{index}. {member.enterprise_name}",
        )
    writer.add_metadata({"/Title": f"批次推荐材料 {cover_ctx.batch_number}"})
    number_pages(writer, f"批次 {cover_ctx.batch_number}")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def render_page_numbers(label: str, total: int, width_pt: float, height_pt: float) -> bytes:
    """Render ``total`` transparent pages, each with "第 n 页 / 共 total 页" at the bottom centre."""
    pages = "".join(
        f'<div class="n">{escape(label)} · 第 {n} 页 / 共 {total} 页</div>'
        for n in range(1, total + 1)
    )
    html = f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><style>
@page {{ size: {width_pt:.2f}pt {height_pt:.2f}pt; margin: 0;
  @top-left {{ content: none; }} @bottom-center {{ content: none; }} }}
html {{ font-size: 7.5pt; }}
.n {{ break-after: page; height: {height_pt:.2f}pt; position: relative; }}
.n {{ padding-top: {height_pt - 12 * 2.835:.2f}pt; box-sizing: border-box;
  text-align: center; color: #777; }}
</style></head><body>{pages}</body></html>"""
    return html_to_pdf(html)


def number_pages(writer: PdfWriter, label: str) -> None:
    """Number every page of ``writer`` over the whole file (a batch packet: cover and members)."""
    total = len(writer.pages)
    if not total:
        return
    box = writer.pages[0].mediabox
    overlay = PdfReader(
        io.BytesIO(render_page_numbers(label, total, float(box.width), float(box.height)))
    )
    for page, numbers in zip(writer.pages, overlay.pages, strict=True):
        page.merge_page(numbers, over=True)
        page.compress_content_streams()
