"""The renderer fetches nothing from outside the packet's own assets."""

from __future__ import annotations

import base64
import io
import socket
import urllib.request

import pytest
from PIL import Image
from pypdf import PdfReader

from finportal.packets import PacketURLFetcher, RefusedURLError, render_packet
from finportal.packets.fetcher import ASSETS_DIR
from finportal.packets.render import html_to_pdf


def _png_data_uri() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (31, 78, 121)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture
def no_network(monkeypatch):
    """Fail the test if anything opens a socket or a urllib request."""
    attempts: list[object] = []

    def refuse_connect(self, address):
        attempts.append(address)
        raise AssertionError(f"network access attempted: {address}")

    def refuse_open(*args, **kwargs):
        attempts.append(args)
        raise AssertionError("urllib opener used")

    monkeypatch.setattr(socket.socket, "connect", refuse_connect)
    monkeypatch.setattr(urllib.request.OpenerDirector, "open", refuse_open)
    return attempts


def _image_count(pdf: bytes) -> int:
    """Count the distinct images in the PDF (WeasyPrint shares one resource dict)."""
    images = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        xobjects = (page.get("/Resources") or {}).get("/XObject") or {}
        for ref in xobjects.values():
            if ref.get_object().get("/Subtype") == "/Image":
                images.add(getattr(ref, "idnum", id(ref)))
    return len(images)


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/x.png",
        "https://example.com/x.png",
        "file:///etc/passwd",
        "../../../../../../etc/passwd",
        "ftp://example.com/x.png",
    ],
)
def test_bank_logo_outside_assets_is_not_fetched(sample_context, no_network, url):
    fetcher = PacketURLFetcher()
    pdf = render_packet(sample_context(bank_logo=url), url_fetcher=fetcher)
    assert len(fetcher.refused) == 1
    assert _image_count(pdf) == 0
    assert not no_network


def test_img_and_css_urls_in_html_are_refused(no_network, pdf_text):
    fetcher = PacketURLFetcher()
    html = """<html><head><style>
      @import url("http://example.com/evil.css");
      body { background: url("https://example.com/bg.png"); }
    </style></head><body>
      <p>正文</p>
      <img src="http://example.com/x.png">
      <img src="file:///etc/passwd">
      <object data="file:///etc/hostname"></object>
    </body></html>"""
    pdf = html_to_pdf(html, url_fetcher=fetcher)
    assert "正文" in pdf_text(pdf)
    assert "root:" not in pdf_text(pdf)
    refused = set(fetcher.refused)
    assert "http://example.com/x.png" in refused
    assert "file:///etc/passwd" in refused
    assert "http://example.com/evil.css" in refused
    assert "https://example.com/bg.png" in refused
    assert not no_network


def test_data_uri_logo_is_drawn(sample_context):
    fetcher = PacketURLFetcher()
    pdf = render_packet(sample_context(bank_logo=_png_data_uri()), url_fetcher=fetcher)
    assert fetcher.refused == []
    assert _image_count(pdf) == 1


def test_fetcher_serves_bundled_assets_only(tmp_path):
    fetcher = PacketURLFetcher()
    css = fetcher.fetch((ASSETS_DIR / "packet.css").as_uri())
    assert b"WenQuanYi Micro Hei" in css.read()
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    with pytest.raises(RefusedURLError):
        fetcher.fetch(outside.as_uri())
    # A path that climbs out of the assets folder is refused too.
    with pytest.raises(RefusedURLError):
        fetcher.fetch(ASSETS_DIR.as_uri() + "/../render.py")
    with pytest.raises(RefusedURLError):
        fetcher.fetch("file://evil.example/etc/passwd")
    with pytest.raises(RefusedURLError):
        fetcher.fetch("gopher://example.com/")


def test_markup_in_context_text_is_printed_not_fetched(sample_context, no_network, pdf_text):
    fetcher = PacketURLFetcher()
    name = '上海<img src="http://example.com/x.png"><img src="file:///etc/passwd">公司'
    pdf = render_packet(sample_context(enterprise_name=name), url_fetcher=fetcher)
    # Escaped by the template: never an element, so nothing even reaches the fetcher.
    assert fetcher.refused == []
    assert _image_count(pdf) == 0
    assert 'src="http://example.com/x.png"' in pdf_text(pdf)
    assert not no_network
