"""The enterprise profile in Excel: a template filled with what is known, and its import.

Nothing is saved unless the whole file is valid; the file's size, unpacked size, rows and
cells are limited (``finportal/limits.py``); every cell written is neutralised
(``services/exports.cell_value``).
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from marshmallow import ValidationError
from sqlalchemy.orm import Session

from finportal import limits
from finportal.domain import fields as profile_fields
from finportal.models import Enterprise, utcnow
from finportal.services.audit import record_event
from finportal.services.enterprises import MEMBERSHIP_NOTE, get_enterprise
from finportal.services.errors import ValidationFailed
from finportal.services.exports import cell_value
from finportal.services.profile_form import (
    BOOL_FIELDS,
    EDITABLE_FIELDS,
    MEMBERSHIP_FIELDS,
    READ_ONLY_FIELDS,
    ProfileSchema,
    apply_profile,
    before_after,
    either,
    flatten_messages,
    form_values,
    plain_values,
)

#: Largest Excel file accepted for an import (as uploaded).
IMPORT_MAX_BYTES = limits.IMPORT_MAX_BYTES
IMPORT_SHEET = "企业信息"


@dataclass
class ImportProblem:
    """One problem of an uploaded file: where (row, column) and what."""

    row: int | None
    column: str | None
    field: str | None
    message: str


class ImportFailed(ValidationFailed):
    """The uploaded file was refused; ``problems`` lists every row and cell at fault."""

    def __init__(self, problems: list[ImportProblem]) -> None:
        super().__init__(
            f"文件未导入：发现 {len(problems)} 处问题，请修改后重新上传（未保存任何内容）。",
            f"The file was not imported: {len(problems)} problems (nothing was saved).",
        )
        self.problems = problems


HEADER = ("字段代码", "项目", "单位", "填写值", "说明")
VALUE_COLUMN = "D"


def _cell_text(name: str, enterprise: Enterprise, values: dict[str, Any]) -> Any:
    """Return what the template's value cell shows for a field (names, not codes)."""
    value = values.get(name)
    spec = profile_fields.field(name)
    if spec.input == "list" and spec.values:
        return "，".join(spec.choice_label(c, "zh_CN") for c in value or []) or None
    if spec.input == "choice" and spec.choices and value:
        return spec.choice_label(value, "zh_CN")
    if name in MEMBERSHIP_FIELDS:
        orgs = [m.park if name == "park_codes" else m.chamber for m in enterprise.memberships]
        return "，".join(o.name_zh for o in orgs if o is not None) or None
    if name in BOOL_FIELDS:
        return {"true": "是", "false": "否"}.get(value or "")
    return value or None


def _note(spec: profile_fields.ProfileField) -> str:
    """Return the template's note for a field: its hint, or how to write its kind."""
    if spec.input == "bool":
        return "填“是”或“否”"
    if spec.input == "choice" and spec.values and len(spec.values) > profile_fields.SHORT_LIST:
        return f"{spec.hint_zh}；填代码或名称均可"
    if spec.input == "choice" and spec.values:
        return either(tuple(spec.choice_label(v, "zh_CN") for v in spec.values))
    if spec.input == "list" and spec.values:
        return "可填多项，用逗号分隔：" + "，".join(zh for _c, zh, _en in spec.choices)
    return spec.hint_zh


def excel_template(session: Session, enterprise_id: int | None) -> bytes:
    """Return the profile template (.xlsx), filled with what the enterprise has entered so far."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    enterprise = get_enterprise(session, enterprise_id)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = IMPORT_SHEET
    sheet.append([cell_value(v) for v in HEADER])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE7F5")
    bool_rows = []
    current = form_values(enterprise)
    for group in profile_fields.groups():
        for spec in group.fields:
            name = spec.name
            if name in READ_ONLY_FIELDS:
                continue
            value = _cell_text(name, enterprise, current)
            note = _note(spec)
            if name in BOOL_FIELDS:
                bool_rows.append(sheet.max_row + 1)
            row = [
                name,
                f"{group.label_zh}｜{spec.label_zh}",
                spec.unit_label("zh_CN"),
                value,
                note,
            ]
            # What the SME typed goes back into a spreadsheet: never as a formula.
            sheet.append([cell_value(v) for v in row])
            # Codes must stay text ("01" is not 1).
            if spec.pattern:
                sheet.cell(row=sheet.max_row, column=4).number_format = "@"
    if bool_rows:
        check = DataValidation(type="list", formula1='"是,否"', allow_blank=True)
        for row in bool_rows:
            check.add(f"D{row}")
        sheet.add_data_validation(check)
    sheet.column_dimensions["A"].hidden = False
    for column, width in zip("ABCDE", (26, 34, 8, 24, 60), strict=True):
        sheet.column_dimensions[column].width = width
    help_sheet = book.create_sheet("填写说明")
    for line in (
        "1. 只在“填写值”一列（D列）填写；不要修改A列字段代码。",
        "2. 金额单位为万元，可保留最多6位小数；亏损的净利润填负数。",
        "3. 留空的项目保持平台上原有内容不变。",
        "4. 整个文件检查无误才会保存；有任何错误时会列出行号和单元格，且不保存任何内容。",
        f"5. 只接受 .xlsx 文件，大小不超过 {IMPORT_MAX_BYTES // 1024} KB。",
    ):
        help_sheet.append([cell_value(line)])
    help_sheet.column_dimensions["A"].width = 90
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _excel_value(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        # Excel stores numbers as doubles: the shortest repr is what the user typed.
        return repr(value) if not value.is_integer() else str(int(value))
    text = str(value)
    if text.startswith("'") and cell_value(text[1:]) == text:
        # The template wrote it with an apostrophe so that it would not run as a formula.
        return text[1:]
    return text


def _refused(zh: str, en: str, row: int | None = None) -> ImportFailed:
    return ImportFailed([ImportProblem(row, None, None, limits.in_user_language(zh, en))])


NOT_XLSX = ("文件不是有效的 Excel（.xlsx）文件。", "The file is not a valid Excel (.xlsx) file.")
UNREADABLE = (
    "文件无法作为 Excel（.xlsx）读取，请使用平台提供的模板。",
    "The file cannot be read as Excel (.xlsx); use the platform's template.",
)


def _check_archive(content: bytes) -> None:
    """Refuse a file that is no zip, or that unpacks beyond the import's limits.

    The sizes are the ones the archive declares; Python's ``zipfile`` never unpacks a
    member beyond its declared size (it stops and fails the CRC check), so a file that
    lies about them is refused when read rather than filling the memory.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise _refused(*NOT_XLSX) from None
    unpacked = sum(m.file_size for m in members)
    if len(members) > limits.IMPORT_MAX_ZIP_MEMBERS or unpacked > (
        limits.IMPORT_MAX_UNCOMPRESSED_BYTES
    ):
        mb = limits.IMPORT_MAX_UNCOMPRESSED_BYTES // (1024 * 1024)
        raise _refused(
            f"文件解压后过大（上限 {mb} MB），请使用平台提供的模板。",
            f"The file is too large unpacked (at most {mb} MB); use the platform's template.",
        )


def _read_rows(content: bytes, filename: str) -> list[tuple[int, Any, Any]]:
    """Return (row number, field code, value) of the data rows, or raise ``ImportFailed``.

    The workbook is checked before it is opened (size as uploaded and unpacked, see
    :mod:`finportal.limits`), then streamed in openpyxl's read-only mode: rows and cells
    beyond the limits stop the reading.
    """
    if not filename.lower().endswith(".xlsx"):
        raise _refused(
            "只接受 .xlsx 格式的 Excel 文件，请使用平台提供的模板。",
            "Only .xlsx Excel files are accepted; use the platform's template.",
        )
    if len(content) > IMPORT_MAX_BYTES:
        raise _refused(
            f"文件太大（上限 {IMPORT_MAX_BYTES // 1024} KB）。",
            f"The file is too large (at most {IMPORT_MAX_BYTES // 1024} KB).",
        )
    if not content or not zipfile.is_zipfile(io.BytesIO(content)):
        raise _refused(*NOT_XLSX)
    _check_archive(content)
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - any unreadable workbook is the same answer to the user
        raise _refused(*UNREADABLE) from None
    try:
        if IMPORT_SHEET not in book.sheetnames:
            raise _refused(
                f"找不到工作表“{IMPORT_SHEET}”，请使用平台提供的模板。",
                f"The sheet “{IMPORT_SHEET}” is missing; use the platform's template.",
            )
        sheet = book[IMPORT_SHEET]
        too_many = (
            f"表格过大（最多 {limits.IMPORT_MAX_ROWS} 行），请使用平台提供的模板。",
            f"The sheet is too large (at most {limits.IMPORT_MAX_ROWS} rows); use the template.",
        )
        declared = (sheet.max_row or 0) * (sheet.max_column or 0)
        if (sheet.max_row or 0) > limits.IMPORT_MAX_ROWS or declared > limits.IMPORT_MAX_CELLS:
            raise _refused(*too_many)
        rows = []
        try:
            for number, row in enumerate(sheet.iter_rows(values_only=True, max_col=5), start=1):
                if number > limits.IMPORT_MAX_ROWS:
                    raise _refused(*too_many)
                cells = list(row) + [None] * (5 - len(row))
                if number == 1:
                    if tuple(str(c or "").strip() for c in cells[:4]) != HEADER[:4]:
                        raise _refused(
                            "表头与模板不一致，请使用平台提供的模板。",
                            "The header row differs from the template's; use the template.",
                            1,
                        )
                    continue
                if cells[0] is None and cells[3] is None:
                    continue
                rows.append((number, cells[0], cells[3]))
        except ImportFailed:
            raise
        except Exception:  # noqa: BLE001 - a broken sheet (bad XML, a lying zip) is unreadable
            raise _refused(*UNREADABLE) from None
        return rows
    finally:
        book.close()


def _label_to_code(name: str, value: Any) -> Any:
    if value is None:
        return None
    spec = profile_fields.field(name)
    if spec.input == "choice" and spec.choices:
        # A label as the template writes it, or (industries: "39 名称") its name or code alone.
        by_label = {zh: code for code, zh, _en in spec.choices}
        by_label.update({zh.split(" ", 1)[-1]: code for code, zh, _en in spec.choices})
        text = str(value).strip()
        return by_label.get(text, by_label.get(text.split(" ", 1)[0], value))
    if spec.input == "list" and spec.values:
        by_label = {zh: code for code, zh, _en in spec.choices}
        items = [v for v in re.split(r"[,，;；、\s]+", str(value)) if v]
        return [by_label.get(v, v) for v in items]
    if name in MEMBERSHIP_FIELDS:
        return [v for v in re.split(r"[,，;；、]+", str(value)) if v.strip()]
    return value


def import_profile(
    session: Session,
    *,
    actor_id: int | None,
    enterprise_id: int | None,
    filename: str,
    content: bytes,
    notes: list[ImportProblem] | None = None,
) -> list[str]:
    """Import the profile from the Excel template; save nothing unless every row is valid.

    Rows that are ignored (memberships) are reported in ``notes`` when given.
    """
    enterprise = get_enterprise(session, enterprise_id)
    rows = _read_rows(content, filename)
    problems: list[ImportProblem] = []
    raw: dict[str, Any] = {}
    where: dict[str, int] = {}
    for number, code, value in rows:
        key = str(code or "").strip()
        if key in MEMBERSHIP_FIELDS:
            # Older templates had these rows: ignore them, and say so when filled.
            text = _excel_value(value)
            if text is not None and str(text).strip() and notes is not None:
                notes.append(
                    ImportProblem(
                        number,
                        VALUE_COLUMN,
                        key,
                        limits.in_user_language(
                            f"{profile_fields.label(key)}：已忽略（{MEMBERSHIP_NOTE}，企业不能自行填写）。",
                            f"{profile_fields.label(key)}: ignored (confirmed by a park, a chamber"
                            " or the centre; an enterprise cannot fill it in).",
                        ),
                    )
                )
            continue
        if key not in EDITABLE_FIELDS:
            problems.append(
                ImportProblem(
                    number,
                    "A",
                    None,
                    limits.in_user_language(
                        f"未知的字段代码“{key[:40]}”，请不要修改A列。",
                        f"Unknown field code “{key[:40]}”; do not change column A.",
                    ),
                )
            )
            continue
        if key in where:
            problems.append(
                ImportProblem(
                    number,
                    "A",
                    key,
                    limits.in_user_language(
                        f"字段重复（已在第 {where[key]} 行填写）。",
                        f"The field is repeated (already filled in on row {where[key]}).",
                    ),
                )
            )
            continue
        where[key] = number
        text = _excel_value(value)
        if text is None or (isinstance(text, str) and not text.strip()):
            continue
        raw[key] = _label_to_code(key, text)
    if raw:
        # A partial load still checks the name when given; keep the stored one otherwise.
        raw_full = raw if "name" in raw else {"name": enterprise.name, **raw}
        try:
            data = ProfileSchema(partial=True).load(raw_full)
        except ValidationError as exc:
            for key, message in flatten_messages(exc.messages).items():
                problems.append(
                    ImportProblem(
                        where.get(key),
                        VALUE_COLUMN,
                        key,
                        limits.in_user_language(
                            f"{profile_fields.label(key)}：{message}",
                            f"{profile_fields.label(key)}: {message}",
                        ),
                    )
                )
            data = {}
        data = {k: v for k, v in data.items() if k in raw}
    else:
        data = {}
        if not problems:
            problems.append(
                ImportProblem(
                    None,
                    None,
                    None,
                    limits.in_user_language(
                        "文件中没有填写任何内容。", "Nothing is filled in in the file."
                    ),
                )
            )
    if not problems:
        before = plain_values(enterprise)
        try:
            changed = apply_profile(session, enterprise, data)
        except ValidationFailed as exc:
            session.rollback()
            problems.extend(
                ImportProblem(
                    where.get(k),
                    VALUE_COLUMN,
                    k,
                    limits.in_user_language(
                        f"{profile_fields.label(k)}：{m}", f"{profile_fields.label(k)}: {m}"
                    ),
                )
                for k, m in exc.fields.items()
            )
        else:
            record_event(
                session,
                actor_id=actor_id,
                action="enterprise.profile_imported",
                object_type="enterprise",
                object_id=enterprise.id,
                reason=limits.clip(f"Excel 导入：{filename}", "name"),
                data={
                    "fields": changed,
                    "via": "excel",
                    "at": utcnow().isoformat(),
                    **before_after(before, plain_values(enterprise), changed),
                },
            )
            session.commit()
            if changed:  # wip-13p: 政策找企业 — match the firm again
                from finportal.services import push

                push.rematch_later(session, enterprise.id, actor_id=actor_id)
            return changed
    problems.sort(key=lambda p: (p.row or 0, p.column or ""))
    raise ImportFailed(problems)
