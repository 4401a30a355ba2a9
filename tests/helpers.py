"""Small helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

from pypdf import PdfReader

PASSWORD = "test-password-123"


def shared_dir() -> Path:
    """Return the folder with the public data and the policy text (``../shared``).

    It lives beside the project, never inside it. A clone elsewhere (CI clones into a
    temporary folder) finds it through ``FINPORTAL_SHARED_DIR`` or at ``/work/shared``.
    """
    candidates = [
        os.environ.get("FINPORTAL_SHARED_DIR", ""),
        str(Path(__file__).resolve().parents[1].parent / "shared"),
        "/work/shared",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return Path(candidates[1])


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
