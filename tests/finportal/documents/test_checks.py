"""Uploads are judged by their content: four types only, and the bombs refused."""

from __future__ import annotations

import pytest

from finportal.services import documents
from finportal.services.errors import ValidationFailed
from tests.finportal.documents import files


def _refusal(content: bytes, name: str) -> str:
    with pytest.raises(ValidationFailed) as caught:
        documents.check(documents.Upload(name, content))
    return caught.value.message_zh + " / " + caught.value.message_en


def test_the_four_types_are_accepted_by_content_whatever_their_name():
    assert documents.check(documents.Upload("合同.pdf", files.pdf())) == "application/pdf"
    assert documents.check(documents.Upload("scan.bin", files.png())) == "image/png"
    assert documents.check(documents.Upload("photo", files.jpeg())) == "image/jpeg"
    assert documents.check(documents.Upload("流水.xlsx", files.xlsx())) == documents.XLSX


def test_a_renamed_program_is_refused_as_a_program():
    message = _refusal(files.windows_program(), "合同.pdf")
    assert "可执行程序" in message and "executable program" in message
    assert "可执行程序" in _refusal(b"\x7fELF\x02\x01\x01" + b"\0" * 100, "invoice.png")
    assert "可执行程序" in _refusal(b"#!/bin/sh\nrm -rf /\n", "statement.xlsx")


def test_an_image_with_too_many_pixels_is_refused():
    # 8000 × 6000 = 48 megapixels, over the 40 allowed; a small file all the same.
    big = files.png(8000, 6000)
    assert len(big) < documents.MAX_BYTES
    assert "像素过多" in _refusal(big, "licence.png")
    # Far beyond Pillow's own limit: still our message, not "damaged".
    assert "像素过多" in _refusal(files.png_header_only(40_000, 40_000), "licence.png")


def test_a_pdf_bomb_is_refused_by_pages_and_by_unpacked_size():
    assert f"不能超过 {documents.MAX_PDF_PAGES} 页" in _refusal(
        files.pdf(documents.MAX_PDF_PAGES + 1), "report.pdf"
    )
    bomb = files.pdf_bomb(80)
    assert len(bomb) < documents.MAX_BYTES
    message = _refusal(bomb, "report.pdf")
    assert "压缩炸弹" in message and "decompression bomb" in message


def test_a_zip_bomb_dressed_as_a_workbook_is_refused():
    bomb = files.xlsx_bomb(8)
    assert len(bomb) < 100_000
    message = _refusal(bomb, "流水.xlsx")
    assert "压缩炸弹" in message and "zip bomb" in message


def test_other_zips_are_not_workbooks():
    word = files.zip_of(
        {
            "[Content_Types].xml": b'<Types><Override ContentType="application/vnd.openxmlformats-'
            b'officedocument.wordprocessingml.document.main+xml"/></Types>',
            "word/document.xml": b"<w:document/>",
        }
    )
    assert "只接受 Excel 工作簿" in _refusal(word, "合同.xlsx")
    assert "只接受 Excel 工作簿" in _refusal(files.zip_of({"a.txt": b"hello"}), "a.xlsx")
    macros = files.zip_of(
        {
            "[Content_Types].xml": files.XLSX_TYPES,
            "xl/workbook.xml": b"<workbook/>",
            "xl/vbaProject.bin": b"\0" * 10,
        }
    )
    assert "含宏" in _refusal(macros, "book.xlsx")


def test_damaged_and_unknown_files_say_so():
    assert "已损坏" in _refusal(b"%PDF-1.7\n garbage", "a.pdf")
    assert "只接受 PDF、JPEG、PNG 或 XLSX" in _refusal(b"GIF89a....", "a.gif")
    assert "不能超过" in _refusal(b"%PDF-" + b"0" * documents.MAX_BYTES, "big.pdf")


def test_the_virus_scan_hook(tmp_path):
    scanner = tmp_path / "scanner.py"
    # A scanner that speaks ClamAV's exit codes: 0 clean, 1 found, 2 error.
    scanner.write_text(
        "import sys\ndata = sys.stdin.buffer.read()\n"
        "sys.exit(1 if b'EICAR-STANDARD-ANTIVIRUS-TEST-FILE' in data else 0)\n"
    )
    command = ["python3", str(scanner)]
    assert documents.scan(files.pdf(), command) == "clean"
    with pytest.raises(ValidationFailed, match="malicious"):
        documents.scan(
            b"%PDF-1.4 X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!", command
        )
    with pytest.raises(documents.ScannerUnavailable):
        documents.scan(files.pdf(), ["python3", "-c", "import sys; sys.exit(2)"])
    assert documents.scan(files.pdf(), None) == "not_scanned"
    assert documents.scanner_command("clamdscan --fdpass -") == ["clamdscan", "--fdpass", "-"]
