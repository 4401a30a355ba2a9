"""Fixtures for the referral-packet tests: sample contexts and PDF inspection helpers.

``sample_context`` is a factory fixture (``sample_context(enterprise_name="...")``)
that other test folders can reuse by importing
:func:`finportal.packets.samples.sample_context` directly.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pypdf import PdfReader

from finportal.packets import PacketContext, render_packet
from finportal.packets import samples as packet_samples
from finportal.packets.environment import ensure_environment


@pytest.fixture
def sample_context() -> Callable[..., PacketContext]:
    """Return a factory of typical packet contexts; keyword arguments override fields."""
    return packet_samples.sample_context


@pytest.fixture(scope="session")
def packet_pdf() -> bytes:
    """The sample packet, rendered once for the tests that only read it."""
    return render_packet(packet_samples.sample_context())


@pytest.fixture
def fresh_environment_check() -> Iterator[None]:
    """Forget the once-per-process environment check before and after the test."""
    ensure_environment.cache_clear()
    yield
    ensure_environment.cache_clear()


def _pdf_text(pdf: bytes) -> str:
    """Extract the text of every page with pypdf."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _squash(text: str) -> str:
    """Drop all whitespace, so text wrapped across lines or cells still compares equal."""
    return re.sub(r"\s+", "", text)


def _embedded_fonts(pdf: bytes) -> dict[str, dict[str, Any]]:
    """Map each embedded font's /BaseFont to what is known of its font file."""
    fonts: dict[str, dict[str, Any]] = {}
    seen: set[int] = set()

    def visit_resources(resources: Any) -> None:
        if resources is None:
            return
        resources = resources.get_object()
        for font in (resources.get("/Font") or {}).values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            targets = [d.get_object() for d in descendants] if descendants else [font]
            for target in targets:
                descriptor = target.get("/FontDescriptor")
                if descriptor is None:
                    continue
                descriptor = descriptor.get_object()
                for key in ("/FontFile", "/FontFile2", "/FontFile3"):
                    if key in descriptor:
                        data = descriptor[key].get_object().get_data()
                        fonts[str(font["/BaseFont"])] = {"file_key": key, "size": len(data)}
        for xobject in (resources.get("/XObject") or {}).values():
            ref = getattr(xobject, "idnum", None)
            xobject = xobject.get_object()
            if ref in seen:
                continue
            if ref is not None:
                seen.add(ref)
            if xobject.get("/Subtype") == "/Form":
                visit_resources(xobject.get("/Resources"))

    for page in PdfReader(io.BytesIO(pdf)).pages:
        visit_resources(page.get("/Resources"))
    return fonts


# The helpers are handed out as fixtures so the tests need no import path to this folder.
@pytest.fixture
def pdf_text() -> Callable[[bytes], str]:
    """Return a function extracting a PDF's text with pypdf."""
    return _pdf_text


@pytest.fixture
def squash() -> Callable[[str], str]:
    """Return a function dropping all whitespace from text."""
    return _squash


@pytest.fixture
def embedded_fonts() -> Callable[[bytes], dict[str, dict[str, Any]]]:
    """Return a function listing a PDF's embedded fonts (/BaseFont -> file key, size)."""
    return _embedded_fonts
