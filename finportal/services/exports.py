"""Export any table to Excel (.xlsx) with openpyxl."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: A cell starting with one of these would run as a formula in a spreadsheet (CSV/formula
#: injection), so text starting with them is written with a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        # Excel has no time zones: write the wall-clock time without the offset.
        return value.replace(tzinfo=None)
    if isinstance(value, (int, float, date)):
        return value
    text = str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _sheet_title(title: str) -> str:
    for char in "[]:*?/\\":
        title = title.replace(char, " ")
    return title[:31] or "Sheet"


def table_to_xlsx(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, note: str = ""
) -> bytes:
    """Return an .xlsx workbook of one sheet: a bold header row, then the rows."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = _sheet_title(title)
    sheet.append([_cell(c) for c in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_cell(v) for v in row])
    if note:
        sheet.append([])
        sheet.append([_cell(note)])
    for index, column in enumerate(columns, 1):
        width = max(
            [len(str(column))] + [len(str(r[index - 1])) for r in rows if index - 1 < len(r)]
        )
        sheet.column_dimensions[get_column_letter(index)].width = min(max(width * 1.6, 8), 60)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
