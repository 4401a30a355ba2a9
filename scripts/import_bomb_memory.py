"""Measure the memory the Excel import spends on a zip bomb: prints JSON numbers.

    .venv/bin/python scripts/import_bomb_memory.py [--megabytes 100]

Builds a workbook shaped like the profile template whose value cell holds ``--megabytes``
MB of text (about 100 KB zipped), hands it to the import's reader and reports the
process's peak resident memory before and after, and how the file was answered.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import time
import zipfile


def bomb(megabytes: int) -> bytes:
    """Return the workbook: the template's header and one cell of ``megabytes`` MB of text."""
    from openpyxl import Workbook

    from finportal.services.enterprises import HEADER, IMPORT_SHEET

    book = Workbook()
    book.active.title = IMPORT_SHEET
    base = io.BytesIO()
    book.save(base)
    parts = zipfile.ZipFile(io.BytesIO(base.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in parts.namelist():
            if name != "xl/worksheets/sheet1.xml":
                archive.writestr(name, parts.read(name))
                continue
            with archive.open(name, "w") as member:
                member.write(
                    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                    b'<sheetData><row r="1">'
                )
                for column, text in zip("ABCD", HEADER[:4], strict=True):
                    member.write(
                        f'<c r="{column}1" t="inlineStr"><is><t>{text}</t></is></c>'.encode()
                    )
                member.write(b'</row><row r="2"><c r="D2" t="inlineStr"><is><t>')
                chunk = b"A" * (1024 * 1024)
                for _ in range(megabytes):
                    member.write(chunk)
                member.write(b"</t></is></c></row></sheetData></worksheet>")
    return out.getvalue()


def main() -> None:
    """Build the bomb, read it as the import does, print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=100)
    args = parser.parse_args()
    from finportal.services import enterprises

    content = bomb(args.megabytes)
    unpacked = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(content)).infolist())
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    try:
        enterprises._read_rows(content, "profile.xlsx")  # noqa: SLF001 - the step measured
        answer = "read"
    except enterprises.ImportFailed as exc:
        answer = exc.problems[0].message
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "uploaded_kb": round(len(content) / 1024, 1),
                "unpacked_mb": round(unpacked / 1024 / 1024, 1),
                "peak_rss_before_mb": round(before / 1024, 1),
                "peak_rss_after_mb": round(after / 1024, 1),
                "peak_rss_growth_mb": round((after - before) / 1024, 1),
                "seconds": round(seconds, 3),
                "answer": answer,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
