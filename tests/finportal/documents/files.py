"""Files for the document tests: real PDFs, images and workbooks, and the bombs to refuse."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, NameObject

XLSX_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    b'officedocument.spreadsheetml.sheet.main+xml"/></Types>'
)


def pdf(pages: int = 1, text: str = "") -> bytes:
    """Return a real PDF of blank pages (with ``text`` as a comment, to vary its hash)."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if text:
        writer.add_metadata({"/Title": text})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_bomb(unpacked_mb: int = 80) -> bytes:
    """Return a one-page PDF whose content stream unpacks to ``unpacked_mb`` MB of zeros."""
    writer = PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    stream = DecodedStreamObject()
    stream.set_data(b"0 " * (unpacked_mb * 512 * 1024))
    page[NameObject("/Contents")] = writer._add_object(stream.flate_encode(level=9))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png(width: int = 40, height: int = 30) -> bytes:
    """Return a real PNG (1-bit, so even a large one is a small file)."""
    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, "PNG")
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """Return a PNG that claims ``width`` × ``height`` pixels in a few bytes (a pixel bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def jpeg() -> bytes:
    """Return a real JPEG."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def xlsx() -> bytes:
    """Return a real workbook written by openpyxl."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["月份", "销售额（元）"])
    book.active.append(["2026-10", 1_234_567])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def zip_of(members: dict[str, bytes]) -> bytes:
    """Return a zip of the members (deflated)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def xlsx_bomb(unpacked_mb: int = 8) -> bytes:
    """Return an "XLSX" whose sheet unpacks from a few KB to ``unpacked_mb`` MB (a zip bomb)."""
    return zip_of(
        {
            "[Content_Types].xml": XLSX_TYPES,
            "xl/workbook.xml": b"<workbook/>",
            "xl/worksheets/sheet1.xml": b"\0" * (unpacked_mb * 1024 * 1024),
        }
    )


def windows_program() -> bytes:
    """Return the start of a Windows program (MZ header and the DOS stub's message)."""
    return (
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00"
        + b"\0" * 50
        + b"This program cannot be run in DOS mode.\r\n"
        + b"\0" * 400
    )
