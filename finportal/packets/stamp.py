"""Stamp each download of a stored packet with who took it and when.

The packet is rendered once and stored (its SHA-256 is what ``/verify`` checks); each
download only overlays a small stamp on every page. The stamp is rendered once per
download with WeasyPrint, so its Chinese text is embedded and extractable like the
packet's, then merged onto each page with pypdf. The packet itself is not re-rendered.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from html import escape

from pypdf import PageObject, PdfReader, PdfWriter

from finportal.packets.render import html_to_pdf

__all__ = ["render_stamp", "stamp_pdf"]


def render_stamp(lines: Sequence[str], width_pt: float, height_pt: float) -> bytes:
    """Render a one-page transparent PDF of the given size with ``lines`` at the top right."""
    body = "".join(f"<div>{escape(line)}</div>" for line in lines)
    html = f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><style>
@page {{ size: {width_pt:.2f}pt {height_pt:.2f}pt; margin: 0;
  @top-left {{ content: none; }} @bottom-center {{ content: none; }} }}
html {{ font-size: 7pt; line-height: 1.25; }}
.stamp {{ position: absolute; top: 3.5mm; right: 14mm; max-width: 45%;
  text-align: right; color: #b03a2e; }}
</style></head><body><div class="stamp">{body}</div></body></html>"""
    return html_to_pdf(html)


def stamp_pdf(pdf_bytes: bytes, lines: Sequence[str]) -> bytes:
    """Return ``pdf_bytes`` with ``lines`` (bank, user, time...) stamped on every page."""
    lines = [str(line) for line in lines if str(line).strip()]
    if not lines:
        raise ValueError("a stamp needs at least one non-empty line")
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes)))
    stamps: dict[tuple[float, float], PageObject] = {}
    for page in writer.pages:
        box = page.mediabox
        size = (round(float(box.width), 2), round(float(box.height), 2))
        if size not in stamps:
            stamps[size] = PdfReader(io.BytesIO(render_stamp(lines, *size))).pages[0]
        stamp = stamps[size]
        # Stamps are drawn in the page's own coordinates: shift to its lower-left corner.
        if box.left or box.bottom:
            page.merge_translated_page(stamp, float(box.left), float(box.bottom), over=True)
        else:
            page.merge_page(stamp, over=True)
        # merge_page leaves the combined content stream uncompressed (3x the file size).
        page.compress_content_streams()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
