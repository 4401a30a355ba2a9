"""An official-looking packet: table headers on every page, the centre's seal, 万元."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from decimal import Decimal

import segno
from pypdf import PdfReader

from finportal.packets import render_packet
from finportal.packets.samples import sample_schedule
from finportal.services import packet_context


def _pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def test_a_schedule_over_several_pages_repeats_its_header(sample_context, squash):
    """A 60-month schedule runs over pages; each of its pages starts with the column names."""
    base = sample_context()
    schedule = sample_schedule(
        Decimal("3000000"), 60, Decimal("0.0345"), Decimal("0.01"), dt.date(2026, 12, 20)
    )
    ctx = dataclasses.replace(base, quote=dataclasses.replace(base.quote, schedule=schedule))
    pages = [squash(t) for t in _pages(render_packet(ctx))]
    # pages holding schedule rows: a due date of the schedule's years
    with_rows = [
        i
        for i, text in enumerate(pages)
        if any(row.due_date.isoformat() in text for row in schedule)
    ]
    assert len(with_rows) >= 2, "the schedule should run over at least two pages"
    for i in with_rows:
        assert "期次" in pages[i] and "剩余本金" in pages[i], f"page {i + 1} has no header"
    # the second page of the schedule starts with rows the first page did not hold
    second = pages[with_rows[1]]
    assert "2031-12-20" in "".join(pages[i] for i in with_rows[1:])
    assert second.index("期次") < second.index("-20")


def test_amounts_outside_the_schedule_read_in_wan(sample_context, squash):
    ctx = sample_context()
    text = squash("".join(_pages(render_packet(ctx))))
    interest = Decimal(str(ctx.quote.annual_interest_yuan)) / Decimal(10000)
    assert squash(f"年利息{interest:,.2f}万元") in text
    assert (
        "年净融资成本" in text
        and squash(f"{Decimal(str(ctx.quote.net_annual_cost_yuan)) / 10000:,.2f}万元") in text
    )
    assert "年担保费" in text and "元/年" not in text.replace("万元/年", "")


def test_the_shipped_seal_is_a_marked_placeholder(app, sample_context, squash):
    with app.app_context():
        seal = packet_context.seal_image()
    assert seal.startswith("data:image/svg+xml;base64,")
    text = squash("".join(_pages(render_packet(sample_context(seal_image=seal)))))
    # the placeholder says what it is, so nobody takes it for the centre's seal
    assert "样章" in text or "SPECIMEN" in text
    assert "闵行区融资服务中心" in text


def test_a_configured_seal_is_printed(app, tmp_path, sample_context):
    seal_file = tmp_path / "seal.png"
    segno.make("seal", micro=False).save(str(seal_file), kind="png", scale=8)
    app.config["PACKET_SEAL"] = str(seal_file)
    try:
        with app.app_context():
            seal = packet_context.seal_image()
    finally:
        app.config["PACKET_SEAL"] = ""
    assert seal.startswith("data:image/png;base64,")
    reader = PdfReader(io.BytesIO(render_packet(sample_context(seal_image=seal))))
    images = [img for page in reader.pages for img in page.images]
    assert images, "the configured PNG seal should be embedded as an image"
    # without a seal nothing is embedded (the QR code is a vector drawing)
    plain = PdfReader(io.BytesIO(render_packet(sample_context(seal_image=""))))
    assert not [img for page in plain.pages for img in page.images]


def test_a_seal_that_is_no_image_is_refused_at_start(tmp_path, monkeypatch):
    import pytest

    from finportal.config import ConfigError, load_config

    monkeypatch.setenv("FINPORTAL_PACKET_SEAL", str(tmp_path / "missing.svg"))
    with pytest.raises(ConfigError, match="FINPORTAL_PACKET_SEAL"):
        load_config(str(tmp_path))
