"""The packet's cover carries a QR code a bank officer scans to check the packet."""

from __future__ import annotations

import pypdfium2
import zxingcpp

from tests.helpers import pdf_text, squash


def _codes_on_first_page(pdf: bytes) -> list[str]:
    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[0].render(scale=200 / 72).to_pil()
    finally:
        document.close()
    return [code.text for code in zxingcpp.read_barcodes(image)]


def test_the_cover_qr_code_scans_as_the_verification_address(packet_pdf, sample_context):
    ctx = sample_context()
    assert ctx.verify_url, "the sample packet has a verification address"
    assert _codes_on_first_page(packet_pdf) == [ctx.verify_url]
    text = squash(pdf_text(packet_pdf))
    assert squash("扫码核验本材料包的真伪") in text
    # The product reads by its name only: no catalogue code such as "(ip_pledge)".
    assert f"（{ctx.product_code}）" not in text and f"({ctx.product_code})" not in text
