"""Small helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader

PASSWORD = "test-password-123"


def make_uscc(seed: int, district: str = "310112") -> str:
    """Return a valid USCC for tests."""
    from stdnum.cn import uscc

    body = f"91{district}TD{seed:07d}"
    return body + uscc.calc_check_digit(body)


def pdf_text(pdf: bytes) -> str:
    """Extract the text of every page with pypdf."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def squash(text: str) -> str:
    """Drop whitespace so text wrapped across lines compares equal."""
    return re.sub(r"\s+", "", text)


def embedded_font_names(pdf: bytes) -> set[str]:
    """Return the /BaseFont names of fonts embedded (with a font file) on any page."""
    names: set[str] = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        resources = page.get("/Resources")
        fonts = resources.get_object().get("/Font") if resources is not None else None
        for font in (fonts or {}).values():
            font = font.get_object()
            for target in [d.get_object() for d in font.get("/DescendantFonts") or []] or [font]:
                descriptor = target.get("/FontDescriptor")
                if descriptor is not None and any(
                    k in descriptor.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3")
                ):
                    names.add(str(font["/BaseFont"]))
    return names
