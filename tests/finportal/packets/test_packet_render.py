"""The referral packet PDF: its text, its fonts, its size."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
from decimal import Decimal

import pdfplumber
from pypdf import PdfReader

from finportal.packets import (
    EligibilityCondition,
    render_html,
    render_packet,
    sha256_hex,
)
from finportal.packets.samples import sample_schedule

SUBSET_PREFIX = re.compile(r"^/[A-Z]{6}\+")


def test_packet_text_holds_enterprise_product_and_reasons_in_chinese(
    packet_pdf, sample_context, pdf_text, squash
):
    ctx = sample_context()
    text = squash(pdf_text(packet_pdf))
    for expected in [
        ctx.enterprise_name,
        ctx.product_name,
        ctx.bank_name,
        ctx.packet_number,
        ctx.verification_code,
        ctx.consent.scope,
        *(reason.text_zh for reason in ctx.reasons),
        *(condition.message_zh for condition in ctx.conditions),
    ]:
        assert squash(expected) in text, expected
    for heading in [
        "企业概况",
        "融资需求",
        "准入条件核验",
        "信用评分",
        "融资报价",
        "顾问意见",
        "授权记录",
    ]:
        assert heading in text


def test_cover_page_shows_packet_number_bank_product_date_and_code(
    packet_pdf, sample_context, squash
):
    ctx = sample_context()
    cover = squash(PdfReader(io.BytesIO(packet_pdf)).pages[0].extract_text())
    for expected in [ctx.packet_number, ctx.bank_name, ctx.product_name, "2026年11月27日"]:
        assert expected in cover
    assert ctx.verification_code in cover


def test_typical_packet_is_three_small_pages(packet_pdf):
    assert len(PdfReader(io.BytesIO(packet_pdf)).pages) == 3
    # Common characters only: WenQuanYi Micro Hei subset, far under the 200 KB target.
    assert len(packet_pdf) < 200 * 1024


def test_a_cjk_font_is_embedded_and_subsetted(packet_pdf, embedded_fonts):
    fonts = embedded_fonts(packet_pdf)
    cjk = {name: info for name, info in fonts.items() if "WenQuanYi" in name or "Noto" in name}
    assert cjk, f"no CJK font embedded: {sorted(fonts)}"
    for name, info in cjk.items():
        assert info["file_key"] in ("/FontFile2", "/FontFile3")
        assert SUBSET_PREFIX.match(name), f"{name} is not a subset"
        # The full fonts are about 5 MB (WenQuanYi) and 16 MB (Noto); a subset keeping
        # glyph ids still decompresses to a few hundred KB (the PDF stream is far smaller).
        assert info["size"] < 1536 * 1024


def test_common_characters_use_wenquanyi_only(packet_pdf, embedded_fonts):
    # Noto Sans CJK is only a fallback: pulling it in for common text would bloat packets.
    names = list(embedded_fonts(packet_pdf))
    assert any("WenQuanYi" in name for name in names)
    assert not any("Noto" in name for name in names)


def test_extension_a_name_comes_out_whole(sample_context, pdf_text, squash, embedded_fonts):
    name = "上海㐀源生物医药有限公司"
    pdf = render_packet(sample_context(enterprise_name=name))
    assert name in squash(pdf_text(pdf))
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        chars = [c for c in doc.pages[0].chars if c["text"] == "㐀"]
    assert chars, "㐀 missing from the cover"
    # Drawn with the Noto fallback, not as WenQuanYi's empty box.
    assert all("Noto" in c["fontname"] for c in chars)
    assert any("Noto" in font for font in embedded_fonts(pdf))


def test_failed_and_unknown_conditions_are_labelled(sample_context, pdf_text):
    ctx = sample_context(
        conditions=[
            EligibilityCondition("注册地", "failed", "注册地不在闵行区"),
            EligibilityCondition("批次额度", "unknown", "以银行审批时为准"),
        ]
    )
    text = pdf_text(render_packet(ctx))
    assert "不符合" in text
    assert "待核实" in text
    assert "注册地不在闵行区" in text


def test_user_text_is_escaped_not_interpreted(sample_context):
    html = render_html(sample_context(advisor_opinion="<b>加急</b> & <script>x()</script>"))
    assert "&lt;b&gt;加急&lt;/b&gt; &amp; &lt;script&gt;" in html
    assert "<script>" not in html


def test_reasons_chart_is_inline_svg(sample_context):
    html = render_html(sample_context())
    assert html.count("<svg") == 1
    assert "纳税信用等级为 A 级" in html[html.index("<svg") : html.index("</svg>")]


def test_synthetic_model_note_only_when_so(sample_context):
    note = "合成的参考数据"
    assert note in render_html(sample_context(model_trained_on_synthetic=True))
    assert note not in render_html(sample_context(model_trained_on_synthetic=False))


def test_sha256_hex():
    assert sha256_hex(b"abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_rendering_logs_no_warning(sample_context, caplog):
    # WeasyPrint only logs its silent fallbacks: fontTools instead of HarfBuzz subsetting,
    # a missing glyph, a resource it could not load.
    with caplog.at_level("WARNING"):
        render_packet(sample_context(enterprise_name="上海㐀源生物医药有限公司"))
    assert [r.getMessage() for r in caplog.records if r.levelname != "DEBUG"] == []


def test_sparse_and_long_contexts_render(sample_context, pdf_text):
    base = sample_context()
    sparse = sample_context(
        enterprise_profile={},
        conditions=[],
        reasons=[],
        quote=dataclasses.replace(base.quote, subsidies=[], schedule=(), net_annual_rate=None),
        consent=dataclasses.replace(base.consent, valid_until=None),
        model_version="",
    )
    text = pdf_text(render_packet(sparse))
    assert base.enterprise_name in text
    assert "撤回前有效" in text

    schedule = sample_schedule(
        Decimal("3000000"), 36, Decimal("0.0345"), Decimal("0.01"), dt.date(2026, 12, 20)
    )
    long = sample_context(
        quote=dataclasses.replace(base.quote, schedule=schedule),
        advisor_opinion="\n".join(["企业经营稳定，建议支持。"] * 12),
    )
    pdf = render_packet(long)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) > 3
    assert "2029-12-20" in pdf_text(pdf)  # the 36th instalment
