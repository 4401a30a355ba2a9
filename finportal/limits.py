"""The limits of every input the portal accepts, in one place.

Forms, API schemas, services and the Excel import read their lengths, ranges and sizes
from here, and use the fields and checks below, so one rule answers the same way on
every page and every endpoint: a 4xx with a message in the user's language, never a 500
and never a half-saved record.

- **Ids** are positive 32-bit integers (PostgreSQL's ``integer``): a larger id in a URL,
  a form or a body is simply not found.
- **Text** is measured in characters, per kind (:data:`TEXT`); each limit fits its
  column. Control characters (other than tab and line breaks) and lone surrogates are
  refused: PostgreSQL cannot store NUL, and the others would break every Excel export.
- **Amounts** are yuan (``Decimal``, to the fen) within a range per kind
  (:data:`AMOUNTS`); a number is range-checked before any arithmetic, so no input can
  overflow the ``Decimal`` context.
- **Dates** lie between :data:`MIN_DATE` and :data:`MAX_DATE`, so converting them to UTC
  or adding a day cannot overflow.
- **Uploads and bodies** have byte, row, cell and nesting limits (``IMPORT_*``,
  :data:`REQUEST_MAX_BYTES`, :data:`JSON_MAX_DEPTH`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import LazyString
from marshmallow import ValidationError, fields, validate

from finportal import money
from finportal.domain.states import current_locale
from finportal.services.errors import ValidationFailed

# --- ids ------------------------------------------------------------------------------------

#: Largest id of any table: PostgreSQL's ``integer`` is the narrowest key the portal uses.
MAX_ID = 2**31 - 1

# --- text -----------------------------------------------------------------------------------

#: Longest text of each kind, in characters. Where a column has a length, the limit is it.
TEXT = {
    "code": 40,  # product, bank, park and chamber codes; reason codes (String(40))
    "username": 80,  # users.username (String(80))
    "password": 256,  # hashed, never stored as typed; the cap keeps hashing cheap
    "label": 120,  # a user's display name, an API token's label (String(120))
    "name": 200,  # names of enterprises, banks, parks, chambers, batches (String(200))
    "short_name": 80,  # a holiday's name (String(80))
    "source": 500,  # where an organisation or a number comes from (String(500))
    "purpose_note": 500,  # the SME's words on the loan's purpose
    "comment": 1000,  # the SME's satisfaction comment
    "reason": 2000,  # reasons, requests and opinions a bank, an SME or an advisor reads
    "note": 5000,  # an advisor's internal note
    "search": 200,  # what is typed into a filter or search box
    "title": 200,  # a notification's title, built from names (String(200))
    "invitation_note": 200,  # whom a colleague's invitation is for (String(200))
    "token": 200,  # an API bearer token as sent (issued ones are far shorter)
    "email": 254,  # a user's e-mail address (users.email, String(254); RFC 5321's limit)
    "phone": 20,  # a user's mobile number for SMS (users.phone, String(20))
    "document": 100_000,  # a product's content as YAML
}
#: Characters no input may contain: C0 controls except tab, LF and CR, DEL, lone
#: surrogates and the two non-characters XML forbids. PostgreSQL cannot store NUL;
#: spreadsheets (XML) cannot hold the others.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")

# --- numbers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AmountRange:
    """The yuan an amount of one kind may take: above (or at) ``low``, at most ``high``."""

    low: Decimal
    high: Decimal
    #: Whether ``low`` itself is allowed (a balance of 0) or not (a loan of 0).
    low_inclusive: bool


#: Ranges of amounts in yuan, by kind. None is policy: they keep typing errors (yuan for
#: 万元, an extra zero) and overflows out; the catalogue's own limits apply on top.
AMOUNTS = {
    # One loan: an application, a bank's approval, a disbursal, a batch member (10 亿元).
    "loan": AmountRange(Decimal(0), Decimal("1000000000"), low_inclusive=False),
    # An amount repaid or overdue on a loan (0 allowed).
    "repayment": AmountRange(Decimal(0), Decimal("1000000000"), low_inclusive=True),
    # A batch's total quota (100 亿元).
    "quota": AmountRange(Decimal(0), Decimal("10000000000"), low_inclusive=False),
    # A figure of the enterprise profile: revenue, assets, tax paid... (1 万亿元).
    "profile": AmountRange(Decimal(0), Decimal("1000000000000"), low_inclusive=True),
    # A figure that may be negative: net profit (a loss).
    "profile_signed": AmountRange(
        Decimal("-1000000000000"), Decimal("1000000000000"), low_inclusive=True
    ),
}
#: Decimals accepted when typing 万元 (6 = to the fen) and yuan (2).
WAN_PLACES = 6
YUAN_PLACES = 2
WAN = money.WAN
#: Largest count of the profile (staff, patents, days, records).
MAX_COUNT = 10_000_000
#: Longest loan term, months (30 years).
MAX_TERM_MONTHS = 360
#: Highest annual rate a bank may record: a bound for typing errors (3.5 typed as a
#: fraction), not policy. 36 % was the ceiling of the 2015 rules on private lending; bank
#: loans to SMEs lie far below it.
MAX_ANNUAL_RATE = Decimal("0.36")
#: Decimals of a stored rate (``Numeric(9, 6)``: 0.035000 is 3.5 % per year).
RATE_PLACES = 6
#: Highest reference rate (LPR) an admin may enter, percent per year.
MAX_REFERENCE_RATE_PERCENT = Decimal("20")
#: Digits of any number typed anywhere: more is not a number anyone means.
MAX_NUMBER_CHARS = 40
#: Rows on one page of a long list (the advisor's queue, a bank's inbox, a firm's
#: applications): a page reads this many rows whatever the size of the tables.
PAGE_SIZE = 50
#: Largest page number of a paged list.
MAX_PAGE = 100_000

# --- dates ----------------------------------------------------------------------------------

#: Earliest and latest date any input may hold: converting to UTC or adding a day never
#: overflows (Python's dates end with the year 9999), and no enterprise, loan or rate
#: lies before 1900.
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(9998, 12, 31)

# --- requests and uploads -------------------------------------------------------------------

#: Largest request body (Flask's ``MAX_CONTENT_LENGTH``).
REQUEST_MAX_BYTES = 5 * 1024 * 1024
#: Deepest nesting of a JSON body (the API's bodies are flat objects).
JSON_MAX_DEPTH = 32
#: The Excel import: largest file as uploaded (compressed) and unpacked, and its rows and cells.
IMPORT_MAX_BYTES = 1024 * 1024
IMPORT_MAX_UNCOMPRESSED_BYTES = 4 * 1024 * 1024
IMPORT_MAX_ZIP_MEMBERS = 64
IMPORT_MAX_ROWS = 500
IMPORT_MAX_CELLS = 5000
#: A public-data exchange file (CSV or XLSX, issue 14): bytes as uploaded, unpacked (XLSX),
#: and data rows. A district extract of every authorised firm fits (about 60 bytes a row).
PUBLIC_DATA_MAX_BYTES = 4 * 1024 * 1024
PUBLIC_DATA_MAX_UNCOMPRESSED_BYTES = 64 * 1024 * 1024
PUBLIC_DATA_MAX_ROWS = 100_000
#: Row problems a rejected exchange file lists (the first ones; the count says how many more).
PUBLIC_DATA_MAX_ERRORS = 200
#: Seconds the exchange API may take to answer one request.
PUBLIC_DATA_HTTP_TIMEOUT = 10
#: A document an enterprise uploads (licence, statements): bytes, PDF pages, image pixels.
DOCUMENT_MAX_BYTES = 4 * 1024 * 1024
DOCUMENT_MAX_PDF_PAGES = 50
DOCUMENT_MAX_IMAGE_PIXELS = 40_000_000
#: What a document may unpack to: a PDF's compressed streams together, an XLSX's members
#: together (bytes), the most an XLSX member may expand over its compressed size, and the
#: most members an XLSX may hold. Beyond these a file is a "bomb" and refused unstored.
DOCUMENT_MAX_UNPACKED_BYTES = 64 * 1024 * 1024
DOCUMENT_MAX_UNPACK_RATIO = 200
DOCUMENT_MAX_ZIP_MEMBERS = 2000


def in_user_language(zh: str, en: str) -> str:
    """Return ``zh`` or ``en`` by the current user's language (Chinese outside a request)."""
    return en if current_locale().split("_")[0] == "en" else zh


def words(table: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Return a table of ``code -> (中文, English)`` as ``code -> words`` in the user's language."""
    return {code: in_user_language(zh, en) for code, (zh, en) in table.items()}


def pair(text: str | None) -> str:
    """Read a message stored as ``English / 中文`` (``products`` errors) in the user's language."""
    en, sep, zh = (text or "").partition(" / ")
    if not sep:
        return en
    return in_user_language(zh, en)


def bilingual(zh: str, en: str) -> LazyString:
    """Return a message read in the user's language when it is shown, not when it is made.

    For tables made once at import (marshmallow's ``error_messages``): the text is chosen
    when a page or an API answer turns it into a string.
    """
    return LazyString(in_user_language, zh, en)


#: The messages forms share (marshmallow ``error_messages`` keys and plain refusals), in
#: both languages: a form's own wording of a field is the exception, not the rule.
MESSAGES = {
    "required": bilingual("此项必填。", "Required."),
    "invalid": bilingual("格式不正确。", "Not in the expected format."),
    "integer": bilingual("请填写整数。", "Enter a whole number."),
    "decimal": bilingual("请填写数字，例如 3.10。", "Enter a number, e.g. 3.10."),
    "number": bilingual("请填写数字。", "Enter a number."),
    "date": bilingual(
        "请填写日期（年-月-日），如 2025-10-01、2025/10/1 或 2025年10月1日。",
        "Enter a date, e.g. 2025-10-01 or 2025/10/1.",
    ),
    "choice": bilingual("请从列表中选择。", "Choose from the list."),
    "checkbox": bilingual("请勾选或不勾选。", "Tick the box or leave it empty."),
    "months": bilingual("期限请填整月数。", "Give the term in whole months."),
    "stale_form": bilingual("表单已失效，请刷新页面。", "The form expired; reload the page."),
}


def joined(messages: list[Any]) -> str:
    """Join several messages of one field in the user's language."""
    return in_user_language("；", "; ").join(str(m) for m in messages)


class LimitError(ValueError):
    """An input outside its limit; carries the message in Chinese and in English.

    ``reason`` names which limit: ``invalid``, ``control``, ``length``, ``places``,
    ``negative``, ``zero``, ``small``, ``large``, ``date``.
    """

    def __init__(self, message_zh: str, message_en: str, reason: str = "invalid") -> None:
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en
        self.reason = reason

    def message(self) -> str:
        """Return the message in the current user's language."""
        return in_user_language(self.message_zh, self.message_en)


# --- checks (plain functions, for services and views) ---------------------------------------


def has_control_characters(text: str) -> bool:
    """Tell whether ``text`` holds a character no input may contain."""
    return CONTROL_CHARACTERS.search(text) is not None


def check_text(value: Any, kind: str, *, strip: bool = True) -> str:
    """Return ``value`` as text within the limit of ``kind``; raise ``LimitError``."""
    text = "" if value is None else str(value)
    if strip:
        text = text.strip()
    if has_control_characters(text):
        raise LimitError("不能包含控制字符。", "Control characters are not allowed.", "control")
    if len(text) > TEXT[kind]:
        raise LimitError(
            f"不超过 {TEXT[kind]} 个字（现有 {len(text)} 个）。",
            f"At most {TEXT[kind]} characters ({len(text)} given).",
            "length",
        )
    return text


class BadPage(ValidationFailed):
    """A paged list was asked for a page number that is not one (422).

    Every paged list answers it alike: ``web/errors.py`` shows the message in the user's
    language with a link to the list's first page (the same address without ``page``).
    """

    code = "bad_page"


def page_number(value: Any) -> int:
    """Return the page a list's ``?page`` asks for: the one rule of every paged list.

    No page (absent or empty) is the first page; a whole number from 1 to
    :data:`MAX_PAGE` (ASCII digits, spaces around allowed) is that page — a page past the
    last shows the last (``finportal.paging.shown_page``); anything else raises
    :class:`BadPage`.
    """
    text = "" if value is None else str(value).strip()
    if not text:
        return 1
    if text.isascii() and text.isdigit() and len(text) <= len(str(MAX_PAGE)):
        number = int(text)
        if 1 <= number <= MAX_PAGE:
            return number
    raise BadPage(
        f"页码无效：页码应为 1 至 {MAX_PAGE} 之间的整数。",
        f"The page number is not valid: it must be a whole number from 1 to {MAX_PAGE}.",
    )


class PageNumber(fields.Field):
    """The ``page`` of a list's query string in a schema, read by :func:`page_number`.

    A bad page is not one of the form's errors: :class:`BadPage` leaves the schema (it is
    no ``ValidationError``) and the request is answered by the one refusal of a bad page.
    """

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        return page_number(value)


def page_field() -> PageNumber:
    """The ``page`` of a paged list's query string, for a schema: see :func:`page_number`."""
    return PageNumber(load_default=1, metadata={"minimum": 1, "maximum": MAX_PAGE})


def check_id(value: Any) -> int | None:
    """Return ``value`` as an id (1..:data:`MAX_ID`), or None when it cannot be one."""
    if isinstance(value, bool):
        return None
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


_UNIT_ZH = {"yuan": "元", "wan": "万元"}
_UNIT_EN = {"yuan": "yuan", "wan": "10k yuan"}


def parse_number(value: Any, *, places: int, unit: str = "") -> Decimal:
    """Read a number (text or number) with at most ``places`` decimals; raise ``LimitError``.

    The size is checked before anything computes with it, so ``1e999999999`` is refused
    rather than overflowing the ``Decimal`` context.
    """
    unit_zh = f"（单位：{_UNIT_ZH[unit]}）" if unit else ""
    unit_en = f" (in {_UNIT_EN[unit]})" if unit else ""
    invalid = LimitError(f"请输入数字{unit_zh}。", f"Enter a number{unit_en}.", "invalid")
    if isinstance(value, bool) or value is None:
        raise invalid
    if isinstance(value, float):
        value = repr(value)
    text = str(value).strip().replace(",", "").replace("，", "")
    if not text or len(text) > MAX_NUMBER_CHARS:
        raise invalid
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise invalid from None
    if not number.is_finite():
        raise invalid
    if number and number.adjusted() >= 18:
        raise LimitError(
            f"数值过大{unit_zh}，请核对。", f"The number is too large{unit_en}.", "large"
        )
    if (number and number.adjusted() < -places) or number != number.quantize(
        Decimal(1).scaleb(-places)
    ):
        note_zh = "（万元，精确到分）" if unit == "wan" else ""
        raise LimitError(
            f"最多保留{places}位小数{note_zh}。", f"At most {places} decimals{unit_en}.", "places"
        )
    return number


def check_amount(value: Any, kind: str, *, unit: str = "yuan") -> Decimal:
    """Read an amount typed in ``unit`` (``yuan`` or ``wan``) and return yuan within ``kind``."""
    places = WAN_PLACES if unit == "wan" else YUAN_PLACES
    number = parse_number(value, places=places, unit=unit)
    yuan = (number * WAN if unit == "wan" else number).quantize(Decimal("0.01"))
    bounds = AMOUNTS[kind]
    word_zh, word_en = _UNIT_ZH[unit], _UNIT_EN[unit]
    if yuan > bounds.high:
        high = _in_unit(bounds.high, unit)
        raise LimitError(
            f"数值过大（超过 {high} {word_zh}），请核对单位是否为{word_zh}。",
            f"Too large (above {high} {word_en}); check the unit.",
            "large",
        )
    if yuan < 0 <= bounds.low:
        raise LimitError("不能为负数。", "Cannot be negative.", "negative")
    if yuan == bounds.low == 0 and not bounds.low_inclusive:
        raise LimitError("金额须大于 0。", "The amount must be above 0.", "zero")
    if yuan < bounds.low:
        low = _in_unit(-bounds.low, unit)
        raise LimitError(
            f"数值过小（低于 -{low} {word_zh}），请核对单位是否为{word_zh}。",
            f"Too small (below -{low} {word_en}); check the unit.",
            "small",
        )
    return yuan


def _in_unit(yuan: Decimal, unit: str) -> str:
    return money.wan(yuan, 0) if unit == "wan" else f"{yuan:,.0f}"


def check_date(value: date) -> date:
    """Return ``value`` when it lies between :data:`MIN_DATE` and :data:`MAX_DATE`."""
    day = value.date() if isinstance(value, datetime) else value
    if not MIN_DATE <= day <= MAX_DATE:
        raise LimitError(
            f"日期须在 {MIN_DATE.year} 年至 {MAX_DATE.year} 年之间。",
            f"The date must lie between {MIN_DATE.year} and {MAX_DATE.year}.",
            "date",
        )
    return value


def clip(text: str, kind: str) -> str:
    """Shorten text the portal composes (from names within their limits) to fit ``kind``."""
    limit = TEXT[kind]
    return text if len(text) <= limit else text[: limit - 1] + "…"


def valid_text(value: Any, kind: str, field: str, *, strip: bool = True) -> str:
    """:func:`check_text` for a service: refuse with ``ValidationFailed`` naming ``field``."""
    try:
        return check_text(value, kind, strip=strip)
    except LimitError as exc:
        raise _failed(exc, field) from None


def collect_text(
    errors: dict[str, str], field: str, value: Any, kind: str, *, strip: bool = True
) -> str:
    """:func:`check_text` for a service that gathers errors: note the message under ``field``."""
    try:
        return check_text(value, kind, strip=strip)
    except LimitError as exc:
        errors[field] = exc.message()
        return ""


def valid_amount(value: Any, kind: str, field: str, *, unit: str = "yuan") -> Decimal:
    """:func:`check_amount` for a service: refuse with ``ValidationFailed`` naming ``field``."""
    try:
        return check_amount(value, kind, unit=unit)
    except LimitError as exc:
        raise _failed(exc, field) from None


def _failed(exc: LimitError, field: str) -> ValidationFailed:
    return ValidationFailed(exc.message_zh, exc.message_en, fields={field: exc.message()})


# --- marshmallow fields that apply the limits -----------------------------------------------


def _invalid(exc: LimitError, field: fields.Field | None = None) -> ValidationError:
    # A form may word "not a number" its own way (error_messages={"invalid": ...}).
    if exc.reason == "invalid" and field is not None and "invalid" in field.error_messages:
        return field.make_error("invalid")
    return ValidationError(exc.message())


class Text(fields.String):
    """A text field within the limit of its kind, without control characters (stripped)."""

    def __init__(self, kind: str, *, strip: bool = True, **kwargs: Any) -> None:
        if kind not in TEXT:
            raise KeyError(kind)
        metadata = {"maxLength": TEXT[kind], **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)
        self.kind = kind
        self.strip = strip

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return check_text(text, self.kind, strip=self.strip)
        except LimitError as exc:
            raise _invalid(exc) from None


class Id(fields.Integer):
    """A record's id (1..:data:`MAX_ID`): anything else is a choice that does not exist."""

    def __init__(self, *, message: tuple[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(strict=False, **kwargs)
        self.message = message or ("请从列表中选择。", "Choose from the list.")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        number = check_id(value)
        if number is None:
            raise ValidationError(in_user_language(*self.message))
        return number


class Amount(fields.Field):
    """An amount typed in yuan or 万元 (``unit``), loaded as yuan within the range of ``kind``."""

    def __init__(self, kind: str, *, unit: str = "yuan", **kwargs: Any) -> None:
        if kind not in AMOUNTS or unit not in _UNIT_ZH:
            raise KeyError((kind, unit))
        bounds = AMOUNTS[kind]
        factor = WAN if unit == "wan" else Decimal(1)
        metadata = {
            "type": "number",
            "description": f"{_UNIT_EN[unit]}, at most {_in_unit(bounds.high, unit)}",
            "maximum": int(bounds.high / factor),
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)
        self.kind = kind
        self.unit = unit

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        try:
            return check_amount(value, self.kind, unit=self.unit)
        except LimitError as exc:
            raise _invalid(exc, self) from None

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else str(value)


class Number(fields.Field):
    """A decimal number (a rate, a percentage) with at most ``places`` decimals, within
    [low, high] when given (a ``validate`` of the schema may say it in its own words)."""

    def __init__(
        self,
        *,
        places: int,
        low: Decimal | None = None,
        high: Decimal | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.places, self.low, self.high = places, low, high

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        try:
            number = parse_number(value, places=self.places)
        except LimitError as exc:
            raise _invalid(exc, self) from None
        if (self.low is not None and number < self.low) or (
            self.high is not None and number > self.high
        ):
            raise ValidationError(
                in_user_language(
                    f"须在 {self.low} 至 {self.high} 之间。",
                    f"Must lie between {self.low} and {self.high}.",
                )
            )
        return number


#: The ways people write a day: 2018-05-20, 2018/5/20, 2018.5.20, 2018年5月20日, 20180520.
_DAY = re.compile(
    r"(?P<y>\d{4})\s*(?:[-/.]|年)\s*(?P<m>\d{1,2})\s*(?:[-/.]|月)\s*(?P<d>\d{1,2})\s*日?"
    r"|(?P<y8>\d{4})(?P<m8>\d{2})(?P<d8>\d{2})"
)


def parse_day(text: Any) -> date | None:
    """Return the day a text names in one of the usual forms (``_DAY``); None if it names none."""
    if isinstance(text, datetime):
        return text.date()
    if isinstance(text, date):
        return text
    match = _DAY.fullmatch(str(text or "").strip().replace("－", "-").replace("／", "/"))
    if match is None:
        return None
    parts = match.group("y", "m", "d") if match.group("y") else match.group("y8", "m8", "d8")
    try:
        return date(*(int(p) for p in parts))
    except ValueError:
        return None


class Date(fields.Date):
    """A date between :data:`MIN_DATE` and :data:`MAX_DATE`, typed in any form of ``_DAY``."""

    default_error_messages = {"invalid": MESSAGES["date"]}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if value is None or value == "":
            day = super()._deserialize(value, attr, data, **kwargs)
        else:
            day = parse_day(value)
            if day is None:
                raise self.make_error("invalid")
        try:
            return check_date(day)
        except LimitError as exc:
            raise _invalid(exc) from None


class AwareDateTime(fields.AwareDateTime):
    """A moment with its offset, its date between :data:`MIN_DATE` and :data:`MAX_DATE`."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return check_date(moment)
        except LimitError as exc:
            raise _invalid(exc) from None


def choice_list(options: list[str], **kwargs: Any) -> fields.List:
    """A list field of choices: each one of ``options``, and no more items than there are."""
    return fields.List(
        fields.String(validate=validate.OneOf(options)),
        validate=validate.Length(max=len(options)),
        **kwargs,
    )
