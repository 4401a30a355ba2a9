"""Connectors: where a source's records come from, behind one interface.

A connector yields :class:`Record` s (one enterprise's items as of a date) for one
source, checked by the same rules whatever the channel (:func:`check_row`); a bad input
raises :class:`Rejected` with every problem, numbered by row, so nothing is stored.

- :class:`FileConnector`: an exchange file (CSV in UTF-8 or GB18030, or XLSX) keyed by
  统一社会信用代码, as the district big-data centre's extract comes (docs/PUBLIC_DATA.md).
- :class:`HttpConnector`: the exchange API's JSON contract, one request per enterprise
  (docs/PUBLIC_DATA.md); tested against a real HTTP server the tests start.
"""

from __future__ import annotations

import csv
import io
import json
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from stdnum.cn import uscc as uscc_rule

from finportal import limits
from finportal.services.public_data import sources, values

#: Called with (done, total) as a connector works through its input.
Progress = Callable[[int, int], None]
#: Columns an extract may carry besides the source's own (ignored).
IGNORED_COLUMNS = {"企业名称", "name", "序号", "no"}
#: A CSV that is not UTF-8 is read as GB18030 (what Chinese Excel saves as "CSV").
CSV_ENCODINGS = ("utf-8-sig", "gb18030")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: its row (None: the whole file) and column."""

    row: int | None
    column: str | None
    zh: str
    en: str
    #: The column's documented English name (``column`` is its heading as the file has it).
    column_en: str | None = None

    def plain(self) -> dict[str, Any]:
        """Return it as JSON can hold it."""
        return {
            "row": self.row,
            "column": self.column,
            "column_en": self.column_en or self.column,
            "zh": self.zh,
            "en": self.en,
        }


class Rejected(Exception):  # noqa: N818 - a refusal, as the domain says
    """The input breaks the exchange format: nothing of it is stored."""

    def __init__(self, problems: Sequence[Problem], more: int = 0) -> None:
        super().__init__(problems[0].en if problems else "rejected")
        self.problems = list(problems)
        self.more = more


@dataclass
class Record:
    """One enterprise's items from a source, as of a date (``row``: where it came from)."""

    uscc: str
    as_of: date
    values: dict[str, str]
    row: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Connector(Protocol):
    """A source's records, checked (raise :class:`Rejected` on bad input)."""

    source: str

    def records(self, progress: Progress) -> list[Record]:
        """Return every record, reporting progress as it goes."""
        ...


# --- one row's rules ------------------------------------------------------------------------


def check_uscc(raw: Any) -> tuple[str, str] | None:
    """Return the problem (zh, en) with a 统一社会信用代码, or None when it is valid."""
    text = str(raw or "").strip().upper()
    if not text:
        return ("统一社会信用代码缺失。", "The unified social credit code is missing.")
    if not uscc_rule.is_valid(text):
        return (
            f"统一社会信用代码「{limits.clip(text, 'code')}」无效（18位，校验位须正确）。",
            f"The unified social credit code '{limits.clip(text, 'code')}' is invalid "
            "(18 characters with a correct check character).",
        )
    return None


def check_row(
    source: sources.Source,
    cells: dict[str, Any],
    *,
    row: int | None,
    today: date,
    headings: dict[str, str] | None = None,
) -> tuple[Record | None, list[Problem]]:
    """Check one row (``cells``: uscc, as_of and item codes to raw values) of a source."""
    problems: list[Problem] = []
    headings = headings or {}

    def problem(key: str, zh: str, en: str) -> None:
        # The column as the file heads it; in English its documented English name.
        column = headings.get(key, key)
        problems.append(Problem(row, column, f"「{column}」：{zh}", f"'{key}': {en}", key))

    uscc_problem = check_uscc(cells.get("uscc"))
    if uscc_problem is not None:
        problem("uscc", *uscc_problem)
    as_of = None
    try:
        as_of = values.parse_as_of(cells.get("as_of"), today)
    except limits.LimitError as exc:
        problem("as_of", exc.message_zh, exc.message_en)
    found: dict[str, str] = {}
    for item in source.items:
        if item.code not in cells:
            continue
        try:
            text = values.parse(item, cells[item.code])
        except limits.LimitError as exc:
            problem(item.code, exc.message_zh, exc.message_en)
            continue
        if text is not None:
            found[item.code] = text
    if problems or as_of is None:
        return None, problems
    uscc = str(cells["uscc"]).strip().upper()
    return Record(uscc=uscc, as_of=as_of, values=found, row=row), problems


class _Collector:
    """Gather problems up to the limit, counting the rest."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.more = 0

    def add(self, found: Iterable[Problem]) -> None:
        for p in found:
            if len(self.problems) < limits.PUBLIC_DATA_MAX_ERRORS:
                self.problems.append(p)
            else:
                self.more += 1

    def check(self) -> None:
        if self.problems:
            raise Rejected(self.problems, self.more)


def _file_problem(zh: str, en: str, row: int | None = None) -> Rejected:
    return Rejected([Problem(row, None, zh, en)])


# --- files ----------------------------------------------------------------------------------


def _heading_map(source: sources.Source) -> dict[str, str]:
    """Return {heading as written, lower-cased: key} for the source's columns."""
    out = {h.lower(): "uscc" for h in sources.USCC_COLUMNS}
    out.update({h.lower(): "as_of" for h in sources.AS_OF_COLUMNS})
    for item in source.items:
        for heading in item.columns:
            out[heading.lower()] = item.code
    return out


def _normalise(heading: Any) -> str:
    return str(heading or "").strip().replace("(", "（").replace(")", "）").lower()


def is_xlsx(content: bytes) -> bool:
    """Tell whether the bytes are a zip archive (an XLSX), by content rather than by name."""
    return content[:4] == b"PK\x03\x04"


def check_file(content: bytes) -> str:
    """Return ``xlsx`` or ``csv`` for an exchange file; raise :class:`Rejected` otherwise."""
    mb = limits.PUBLIC_DATA_MAX_BYTES // (1024 * 1024)
    if not content:
        raise _file_problem("文件是空的。", "The file is empty.")
    if len(content) > limits.PUBLIC_DATA_MAX_BYTES:
        raise _file_problem(
            f"文件太大（上限 {mb} MB）。", f"The file is too large (at most {mb} MB)."
        )
    if is_xlsx(content):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                unpacked = sum(m.file_size for m in archive.infolist())
        except (zipfile.BadZipFile, ValueError, OSError, EOFError):
            raise _file_problem(
                "文件不是有效的 Excel（.xlsx）文件。", "The file is not a valid Excel (.xlsx) file."
            ) from None
        if unpacked > limits.PUBLIC_DATA_MAX_UNCOMPRESSED_BYTES:
            big = limits.PUBLIC_DATA_MAX_UNCOMPRESSED_BYTES // (1024 * 1024)
            raise _file_problem(
                f"文件解压后过大（上限 {big} MB）。",
                f"The file is too large unpacked (at most {big} MB).",
            )
        return "xlsx"
    if b"\x00" in content[:4096]:
        raise _file_problem(
            "只接受 CSV 或 Excel（.xlsx）文件。", "Only CSV or Excel (.xlsx) files are accepted."
        )
    return "csv"


def _csv_rows(content: bytes) -> Iterator[list[Any]]:
    for encoding in CSV_ENCODINGS:
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        yield from csv.reader(io.StringIO(text, newline=""))
        return
    raise _file_problem(
        "CSV 文件编码无法识别（请用 UTF-8 或 GB18030）。",
        "The CSV file's encoding is not UTF-8 or GB18030.",
    )


def _xlsx_rows(content: bytes) -> Iterator[list[Any]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - any unreadable workbook is the same answer
        raise _file_problem(
            "文件无法作为 Excel（.xlsx）读取。", "The file cannot be read as Excel (.xlsx)."
        ) from None
    try:
        sheet = book.worksheets[0]
        try:
            for row in sheet.iter_rows(values_only=True):
                yield list(row)
        except Rejected:
            raise
        except Exception:  # noqa: BLE001 - a broken sheet (bad XML, a lying zip)
            raise _file_problem(
                "文件无法作为 Excel（.xlsx）读取。", "The file cannot be read as Excel (.xlsx)."
            ) from None
    finally:
        book.close()


class FileConnector:
    """Records of one source from an exchange file (CSV or XLSX)."""

    def __init__(self, source: str, content: bytes, *, today: date) -> None:
        self.source = source
        self.content = content
        self.today = today

    def _table(self) -> tuple[list[str | None], list[tuple[int, list[Any]]], list[Any]]:
        """Return the columns' keys (None: ignored), the numbered data rows and the headings."""
        spec = sources.source(self.source)
        kind = check_file(self.content)
        reader = _xlsx_rows(self.content) if kind == "xlsx" else _csv_rows(self.content)
        known = _heading_map(spec)
        keys: list[str | None] = []
        written: list[Any] = []
        rows: list[tuple[int, list[Any]]] = []
        for number, cells in enumerate(reader, start=1):
            if number == 1:
                written = list(cells)
                unknown = []
                for heading in cells:
                    name = _normalise(heading)
                    if not name or name in IGNORED_COLUMNS:
                        keys.append(None)
                    elif name in known:
                        keys.append(known[name])
                    else:
                        keys.append(None)
                        unknown.append(str(heading).strip())
                self._check_header(spec, keys, unknown)
                continue
            if len(rows) >= limits.PUBLIC_DATA_MAX_ROWS:
                raise _file_problem(
                    f"数据行过多（上限 {limits.PUBLIC_DATA_MAX_ROWS} 行），请分文件导入。",
                    f"Too many rows (at most {limits.PUBLIC_DATA_MAX_ROWS}); split the file.",
                    number,
                )
            if all(c is None or str(c).strip() == "" for c in cells):
                continue
            rows.append((number, list(cells)))
        if not keys:
            raise _file_problem("文件是空的。", "The file is empty.")
        return keys, rows, written

    def _check_header(
        self, spec: sources.Source, keys: list[str | None], unknown: list[str]
    ) -> None:
        problems = [
            Problem(
                1,
                name,
                f"第 1 行：不认识的列「{limits.clip(name, 'code')}」（{spec.zh}文件的列见 docs/PUBLIC_DATA.md）。",
                f"Row 1: unknown column '{limits.clip(name, 'code')}' "
                f"(the {spec.en} file's columns: docs/PUBLIC_DATA.md).",
            )
            for name in unknown
        ]
        for key, zh, en in (
            ("uscc", "统一社会信用代码", "uscc"),
            ("as_of", "数据截至日期", "as_of"),
        ):
            if key not in keys:
                problems.append(
                    Problem(
                        1,
                        zh,
                        f"第 1 行：缺少「{zh}」列。",
                        f"Row 1: the column '{en}' is missing.",
                        en,
                    )
                )
        if not any(k not in (None, "uscc", "as_of") for k in keys):
            problems.append(
                Problem(
                    1,
                    None,
                    f"第 1 行：没有{spec.zh}的数据列。",
                    f"Row 1: no data column of the {spec.en} source.",
                )
            )
        if len([k for k in keys if k]) != len({k for k in keys if k}):
            problems.append(
                Problem(1, None, "第 1 行：有重复的列。", "Row 1: a column appears twice.")
            )
        if problems:
            raise Rejected(problems)

    def records(self, progress: Progress) -> list[Record]:
        """Return the file's records; raise :class:`Rejected` with every bad row."""
        spec = sources.source(self.source)
        keys, rows, written = self._table()
        headings = {k: str(h).strip() for k, h in zip(keys, written, strict=False) if k}
        collector = _Collector()
        out: list[Record] = []
        seen: dict[str, int] = {}
        total = len(rows)
        for done, (number, cells) in enumerate(rows, start=1):
            named = {k: v for k, v in zip(keys, cells, strict=False) if k is not None}
            record, problems = check_row(
                spec, named, row=number, today=self.today, headings=headings
            )
            collector.add(
                Problem(
                    p.row, p.column, f"第 {number} 行，{p.zh}", f"Row {number}, {p.en}", p.column_en
                )
                for p in problems
            )
            if record is not None:
                if record.uscc in seen:
                    collector.add(
                        [
                            Problem(
                                number,
                                headings.get("uscc", "uscc"),
                                f"第 {number} 行：统一社会信用代码与第 {seen[record.uscc]} 行重复。",
                                f"Row {number}: the same unified social credit code as "
                                f"row {seen[record.uscc]}.",
                                "uscc",
                            )
                        ]
                    )
                seen.setdefault(record.uscc, number)
                out.append(record)
            if done % 500 == 0 or done == total:
                progress(done, total)
        collector.check()
        return out


# --- the exchange API -----------------------------------------------------------------------


class Unavailable(Exception):  # noqa: N818 - a passing failure: the job tries again
    """The exchange API could not be reached or answered with a server error."""


class HttpConnector:
    """Records of one source from the exchange API, one GET per enterprise.

    ``GET {base_url}/v1/{source}/{uscc}`` with ``Authorization: Bearer {token}``: 200 with
    ``{"uscc", "source", "as_of", "data": {item: value}}``, or 404 when the source holds
    nothing on the firm (docs/PUBLIC_DATA.md).
    """

    def __init__(
        self,
        source: str,
        usccs: Sequence[str],
        *,
        base_url: str,
        token: str | None,
        today: date,
        timeout: float = limits.PUBLIC_DATA_HTTP_TIMEOUT,
    ) -> None:
        self.source = source
        self.usccs = list(usccs)
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.today = today
        self.timeout = timeout
        self.not_found = 0

    def _get(self, uscc: str) -> dict[str, Any] | None:
        url = f"{self.base_url}/v1/{urllib.parse.quote(self.source)}/{urllib.parse.quote(uscc)}"
        if not url.startswith(("http://", "https://")):
            raise ValueError("the exchange API's address must be http(s)")
        request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - scheme checked above
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = response.read(limits.PUBLIC_DATA_MAX_BYTES + 1)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            if exc.code >= 500 or exc.code == 429:
                raise Unavailable(f"exchange API answered {exc.code}") from None
            raise Rejected(
                [
                    Problem(
                        None,
                        None,
                        f"数据交换接口拒绝了请求（HTTP {exc.code}），请检查接口地址和令牌。",
                        f"The exchange API refused the request (HTTP {exc.code}); "
                        "check its address and token.",
                    )
                ]
            ) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise Unavailable(f"exchange API unreachable: {exc}") from None
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise Rejected(
                [
                    Problem(
                        None,
                        uscc,
                        f"企业 {uscc}：接口返回的不是约定的 JSON 对象。",
                        f"Enterprise {uscc}: the API did not answer the agreed JSON object.",
                    )
                ]
            )
        return answer

    def records(self, progress: Progress) -> list[Record]:
        """Fetch every enterprise's record; raise :class:`Rejected` on a broken answer."""
        spec = sources.source(self.source)
        collector = _Collector()
        out: list[Record] = []
        total = len(self.usccs)
        for done, uscc in enumerate(self.usccs, start=1):
            answer = self._get(uscc)
            if answer is None:
                self.not_found += 1
            else:
                data = answer.get("data")
                problems: list[Problem] = []
                if str(answer.get("uscc", "")).strip().upper() != uscc or not isinstance(
                    data, dict
                ):
                    problems.append(
                        Problem(
                            None,
                            uscc,
                            "回答的企业或格式与请求不符",
                            "the answer's enterprise or shape differs from the request",
                        )
                    )
                    record = None
                else:
                    cells = {"uscc": uscc, "as_of": answer.get("as_of"), **data}
                    record, problems = check_row(spec, cells, row=None, today=self.today)
                collector.add(
                    Problem(
                        None,
                        p.column,
                        f"企业 {uscc}：{p.zh}",
                        f"Enterprise {uscc}: {p.en}",
                        p.column_en,
                    )
                    for p in problems
                )
                if record is not None:
                    out.append(record)
            progress(done, total)
        collector.check()
        return out
