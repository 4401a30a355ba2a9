"""Export any table to Excel (.xlsx) with openpyxl; :func:`cell_value` makes any value safe.

Every workbook the portal writes (the dashboard's tables, a batch's members, the SME's own
profile template) puts each value through :func:`cell_value`, so text that a user typed
can neither run as a formula when the file is opened nor break the file: text starting
with ``= + - @``, a tab or a carriage return gets a leading apostrophe (plain numbers like
``-12.5`` excepted), and characters XML cannot hold are removed.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from finportal.limits import CONTROL_CHARACTERS
from finportal.services.workdays import SHANGHAI

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: A cell starting with one of these would run as a formula in a spreadsheet (CSV/formula
#: injection), so text starting with them is written with a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: A plain number written as text ("-12.5" in the template) runs as nothing: it stays as is.
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def safe_text(value: Any) -> str:
    """Return text that a spreadsheet shows as typed: no formula, no illegal characters."""
    text = CONTROL_CHARACTERS.sub("", str(value))
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def cell_value(value: Any) -> Any:
    """Return what a cell of an exported workbook holds for ``value`` (see the module)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        # Excel has no time zones: write Beijing time, as the pages show it, without the offset.
        local = value.astimezone(SHANGHAI) if value.tzinfo is not None else value
        return local.replace(tzinfo=None)
    if isinstance(value, (int, float, date)):
        return value
    return safe_text(value)


def _sheet_title(title: str) -> str:
    title = CONTROL_CHARACTERS.sub("", title)
    for char in "[]:*?/\\'":
        title = title.replace(char, " ")
    return title.strip()[:31] or "Sheet"


#: How cells show their values: shares as percent, times to the minute (Beijing time).
PERCENT_FORMAT = "0.0%"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"


def table_to_xlsx(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    note: str = "",
    percent_columns: Sequence[int] = (),
) -> bytes:
    """Return an .xlsx workbook of one sheet: a bold header row, then the rows.

    Values in ``percent_columns`` (0-based) are shares shown as percent; times and dates
    get a date format, so the file reads like the page.
    """
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = _sheet_title(title)
    sheet.append([cell_value(c) for c in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([cell_value(v) for v in row])
        for index, cell in enumerate(sheet[sheet.max_row]):
            if index in percent_columns and isinstance(cell.value, (int, float)):
                cell.number_format = PERCENT_FORMAT
            elif isinstance(cell.value, datetime):
                cell.number_format = DATETIME_FORMAT
            elif isinstance(cell.value, date):
                cell.number_format = DATE_FORMAT
    if note:
        sheet.append([])
        sheet.append([cell_value(note)])
    for index, column in enumerate(columns, 1):
        width = max(
            [len(str(column))] + [len(str(r[index - 1])) for r in rows if index - 1 < len(r)]
        )
        sheet.column_dimensions[get_column_letter(index)].width = min(max(width * 1.6, 8), 60)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
