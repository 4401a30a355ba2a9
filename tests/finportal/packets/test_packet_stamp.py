"""Each download is stamped on every page of the stored packet."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader, PdfWriter

from finportal.packets import stamp_pdf


def _pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def test_stamp_is_on_every_page_in_chinese(packet_pdf, pdf_text, squash):
    lines = ["上海农商银行闵行支行", "下载用户 张㐀明", "2026-11-27 21:40:05"]
    stamped = stamp_pdf(packet_pdf, lines)
    before, after = _pages_text(packet_pdf), _pages_text(stamped)
    assert len(after) == len(before) == 3
    for original, page in zip(before, after, strict=True):
        for line in lines:
            assert squash(line) in squash(page)
        # The packet's own text is untouched: the stamp is overlaid, not re-rendered.
        assert squash(original)[:200] in squash(page)
    # Still small: only a tiny stamp font subset is added.
    assert len(stamped) < len(packet_pdf) + 60 * 1024


def test_two_downloads_carry_different_stamps(packet_pdf, pdf_text):
    first = stamp_pdf(packet_pdf, ["招商银行上海闵行支行", "用户 li.lei", "2026-11-27 09:00:00"])
    second = stamp_pdf(packet_pdf, ["招商银行上海闵行支行", "用户 han.mei", "2026-11-27 09:05:00"])
    assert first != second
    first_text, second_text = pdf_text(first), pdf_text(second)
    assert "li.lei" in first_text
    assert "li.lei" not in second_text
    assert "han.mei" in second_text
    assert "09:05:00" in second_text


def test_stamp_needs_a_line(packet_pdf):
    with pytest.raises(ValueError, match="line"):
        stamp_pdf(packet_pdf, ["", "  "])


def test_stamp_fits_other_page_sizes_and_offsets(pdf_text):
    writer = PdfWriter()
    writer.add_blank_page(612, 792)  # US Letter
    page = writer.add_blank_page(400, 300)
    page.mediabox.lower_left = (50, 50)
    page.mediabox.upper_right = (450, 350)
    source = io.BytesIO()
    writer.write(source)
    stamped = stamp_pdf(source.getvalue(), ["银行 A", "user-x"])
    texts = _pages_text(stamped)
    assert all("银行" in text and "user-x" in text for text in texts)
