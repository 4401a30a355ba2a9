"""Documents an enterprise uploads: checked by content, scanned, stored by SHA-256, audited.

- **Kinds** (:data:`KINDS`): the profile's (营业执照, 财务报表, 纳税申报表…) and an
  application's (合同, 发票…). An advisor's return and a bank's request for information name
  kinds; :func:`asks` says what an application is asked for and what is still missing.
- **Checks** (:func:`check`), by content, never by the file name: PDF, PNG, JPEG or XLSX only;
  a renamed program, a pixel bomb, a PDF bomb (too many pages, streams unpacking too far) and
  a zip bomb are refused with a message in the user's language, and nothing is stored.
- **Virus scan** (:func:`scan`): ClamAV's ``clamdscan`` or ``clamscan`` when installed (or
  the configured command); without one the file is kept and marked 未扫描.
- **Who sees a document** (:func:`may_view`): the owning firm, the centre's advisors, and a
  bank the firm referred to while its consent is in force (``services/consents.py``); every
  read is audited (:func:`read`).
- **Packets**: a referral's documents (:func:`for_referral`) are listed in its packet with
  their SHA-256, and the bank takes them in one ZIP with the packet and a manifest
  (:func:`bundle`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shlex
import shutil
import subprocess  # noqa: S404 - the virus scanner is a program
import warnings
import zipfile
import zlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from finportal import limits
from finportal.domain.permissions import Actor
from finportal.domain.states import current_locale
from finportal.memo import read_once
from finportal.models import Application, BankDecision, Document, Referral, utcnow
from finportal.services import consents
from finportal.services.audit import record_event
from finportal.services.errors import Forbidden, NotFound, ServiceError, ValidationFailed
from finportal.services.exports import safe_text
from finportal.storage import Store

#: What a document is: kind -> (中文, English). The profile's kinds first, then an
#: application's; requests for information name kinds from this one table.
KINDS = {
    "business_licence": ("营业执照", "Business licence"),
    "financial_statement": ("财务报表", "Financial statements"),
    "tax_return": ("纳税申报表", "Tax returns"),
    "bank_statement": ("银行流水", "Bank statements"),
    "authorisation_letter": ("授权委托书", "Letter of authorisation"),
    "contract": ("合同", "Contract"),
    "invoice": ("发票", "Invoice"),
    "other": ("其他材料", "Other document"),
}
#: The profile fields a kind of profile document evidences (issue 14): a field without a
#: verified value, declared by the firm, is "document-backed" (有材料佐证) while the newest
#: profile document of such a kind is attached (``services/public_data/facts.backed``).
#: A document never changes a value; it backs what the firm declared.
EVIDENCES: dict[str, tuple[str, ...]] = {
    "business_licence": ("name", "uscc", "legal_representative", "registered_on", "district_code"),
    "financial_statement": (
        "revenue_last_year",
        "revenue_prev_year",
        "total_assets",
        "total_liabilities",
        "net_profit_last_year",
    ),
    "tax_return": ("tax_paid_last_year",),
}
#: Kinds a firm keeps on its profile, and kinds it attaches to one application.
PROFILE_KINDS = (
    "business_licence",
    "financial_statement",
    "tax_return",
    "bank_statement",
    "other",
)
APPLICATION_KINDS = tuple(KINDS)
#: Kinds that prove who acts for the firm (企业认证, services/verification.py).
VERIFICATION_KINDS = {k: KINDS[k] for k in ("business_licence", "authorisation_letter")}
#: Kinds that travel to a bank with a referral's packet (the authorisation letter only proves
#: who acts for the firm's account: it stays with the centre).
PACKET_KINDS = frozenset(KINDS) - {"authorisation_letter"}

#: Largest upload, bytes, and the most pages, pixels and unpacked bytes a document may have.
MAX_BYTES = limits.DOCUMENT_MAX_BYTES
MAX_PDF_PAGES = limits.DOCUMENT_MAX_PDF_PAGES
MAX_IMAGE_PIXELS = limits.DOCUMENT_MAX_IMAGE_PIXELS
MAX_UNPACKED_BYTES = limits.DOCUMENT_MAX_UNPACKED_BYTES
MAX_UNPACK_RATIO = limits.DOCUMENT_MAX_UNPACK_RATIO
MAX_ZIP_MEMBERS = limits.DOCUMENT_MAX_ZIP_MEMBERS

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Accepted types, found from the first bytes of the content (never from the file name).
_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"PK\x03\x04", XLSX),  # a zip: an XLSX only if its content types say so (_check_xlsx)
)
ACCEPTED_TYPES = tuple(t for _, t in _SIGNATURES)
#: The file name ending each accepted type is given on download.
EXTENSIONS = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg", XLSX: ".xlsx"}
#: The first bytes of programs: Windows (MZ), Linux (ELF), macOS (Mach-O), Java classes
#: and universal binaries (CAFEBABE), scripts (#!).
_PROGRAMS = (
    b"MZ",
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
    b"#!",
)
#: The main part of a workbook in ``[Content_Types].xml`` (ECMA-376); a macro workbook
#: (.xlsm), a Word or PowerPoint file or any other zip lacks it.
_XLSX_MAIN = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"

#: Virus scan results kept on the document: (中文, English).
SCAN_STATUSES = {
    "clean": ("已扫描，未发现病毒", "Scanned: clean"),
    "not_scanned": ("未扫描", "Not scanned"),
}


@dataclass(frozen=True)
class Upload:
    """A file as the browser sent it."""

    filename: str
    content: bytes


def kind_title(kind: str, locale: str | None = None) -> str:
    """Return a kind's name in the reader's language (the code itself if unknown)."""
    zh, en = KINDS.get(kind, (kind, kind))
    return en if (locale or current_locale()).startswith("en") else zh


def _refuse(zh: str, en: str) -> ValidationFailed:
    return ValidationFailed(zh, en, fields={"document": limits.in_user_language(zh, en)})


def _mb(n: int) -> int:
    return n // (1024 * 1024)


# --- checks ----------------------------------------------------------------------------------


def sniff(content: bytes) -> str | None:
    """Return the accepted content type the bytes start with, or None."""
    for signature, content_type in _SIGNATURES:
        if content.startswith(signature):
            return content_type
    return None


def check(upload: Upload) -> str:
    """Return the upload's content type, or raise ``ValidationFailed`` saying what is wrong."""
    content = upload.content
    if not content:
        raise _refuse("请选择要上传的文件。", "Choose a file to upload.")
    if len(content) > MAX_BYTES:
        raise _refuse(
            f"文件不能超过 {_mb(MAX_BYTES)} MB。",
            f"The file must be at most {_mb(MAX_BYTES)} MB.",
        )
    if content.startswith(_PROGRAMS):
        raise _refuse(
            "这是一个可执行程序（无论文件名如何），不能上传。请上传 PDF、JPEG、PNG 或 XLSX 文件。",
            "This is an executable program, whatever its name says; it cannot be uploaded."
            " Upload a PDF, JPEG, PNG or XLSX file.",
        )
    content_type = sniff(content)
    if content_type is None:
        raise _refuse(
            "只接受 PDF、JPEG、PNG 或 XLSX 文件（按文件内容判断，不看扩展名）。",
            "Only PDF, JPEG, PNG or XLSX files are accepted (judged by the content).",
        )
    if content_type == "application/pdf":
        _check_pdf(content)
    elif content_type == XLSX:
        _check_xlsx(content)
    else:
        _check_image(content)
    return content_type


_STREAM = re.compile(rb"stream\r?\n")


def _pdf_unpacked_bytes(content: bytes, budget: int) -> int:
    """Return what the PDF's Flate streams unpack to together, stopping past ``budget``."""
    total = 0
    position = 0
    while True:
        found = _STREAM.search(content, position)
        if found is None:
            return total
        start = found.end()
        end = content.find(b"endstream", start)
        if end < 0:
            end = len(content)
        position = end
        inflater = zlib.decompressobj()
        data = content[start:end]
        try:
            # A megabyte at a time, counted and dropped: memory stays small whatever the bomb.
            while data and total <= budget:
                out = inflater.decompress(data, 1024 * 1024)
                total += len(out)
                data = inflater.unconsumed_tail
                if not out:
                    break
        except zlib.error:
            continue  # not Flate (a JPEG image, plain text): its size is its own
        if total > budget:
            return total


def _check_pdf(content: bytes) -> None:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError, PdfStreamError

    if _pdf_unpacked_bytes(content, MAX_UNPACKED_BYTES) > MAX_UNPACKED_BYTES:
        raise _refuse(
            f"PDF 内部压缩的内容解压后超过 {_mb(MAX_UNPACKED_BYTES)} MB（疑似“压缩炸弹”），不能上传。",
            f"The PDF's compressed content unpacks to more than {_mb(MAX_UNPACKED_BYTES)} MB"
            " (a decompression bomb); it cannot be uploaded.",
        )
    try:
        pages = len(PdfReader(io.BytesIO(content)).pages)
    except (PdfReadError, PdfStreamError, ValueError, KeyError, TypeError, RecursionError):
        raise _refuse("PDF 文件已损坏，无法打开。", "The PDF is damaged.") from None
    if pages > MAX_PDF_PAGES:
        raise _refuse(
            f"PDF 不能超过 {MAX_PDF_PAGES} 页（该文件有 {pages} 页）。",
            f"The PDF must have at most {MAX_PDF_PAGES} pages (this one has {pages}).",
        )


def _check_image(content: bytes) -> None:
    from PIL import Image, UnidentifiedImageError

    too_big = _refuse(
        f"图片像素过多（超过 {MAX_IMAGE_PIXELS // 1_000_000} 百万像素），请缩小后上传。",
        f"The image has too many pixels (over {MAX_IMAGE_PIXELS // 1_000_000} megapixels);"
        " scale it down.",
    )
    try:
        with warnings.catch_warnings():
            # Pillow warns, then refuses, on its own (larger) limit; ours is checked below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise too_big
                image.verify()
    except Image.DecompressionBombError:
        raise too_big from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _refuse("图片已损坏，无法打开。", "The image is damaged.") from None


def _check_xlsx(content: bytes) -> None:
    not_xlsx = _refuse(
        "压缩文件只接受 Excel 工作簿（XLSX）；其他压缩包、Word 文档或含宏的工作簿不能上传。",
        "The only zip files accepted are Excel workbooks (XLSX); other archives, Word files"
        " or workbooks with macros cannot be uploaded.",
    )
    bomb = _refuse(
        f"该 XLSX 解压后过大（超过 {_mb(MAX_UNPACKED_BYTES)} MB 或压缩比异常，疑似“压缩炸弹”），"
        "不能上传。",
        f"The XLSX unpacks to too much (over {_mb(MAX_UNPACKED_BYTES)} MB, or an absurd"
        " compression ratio: a zip bomb); it cannot be uploaded.",
    )
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
            if len(members) > MAX_ZIP_MEMBERS:
                raise bomb
            # The sizes the archive declares: zipfile never unpacks past them (a member that
            # does fails its check), so they bound what reading can cost.
            if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
                raise bomb
            if any(
                m.file_size > MAX_UNPACK_RATIO * max(m.compress_size, 1) and m.file_size > 1024
                for m in members
            ):
                raise bomb
            names = {m.filename for m in members}
            if "[Content_Types].xml" not in names or any(
                n.lower().endswith("vbaproject.bin") for n in names
            ):
                raise not_xlsx
            if _XLSX_MAIN not in archive.read("[Content_Types].xml"):
                raise not_xlsx
            for member in members:  # every member whole and matching its CRC
                with archive.open(member) as stream:
                    while stream.read(1024 * 1024):
                        pass
    except ValidationFailed:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, KeyError):
        raise _refuse("XLSX 文件已损坏，无法打开。", "The XLSX file is damaged.") from None
    except NotImplementedError:  # an unsupported compression method
        raise not_xlsx from None


# --- virus scan ------------------------------------------------------------------------------


class ScannerUnavailable(ServiceError):
    """The virus scanner is installed but did not answer: try again later."""

    status = 503


def scanner_command(configured: str | None = None) -> list[str] | None:
    """Return the virus scanner's command (reads the file on stdin), or None when none is installed.

    ``configured`` (``VIRUS_SCAN_COMMAND``) wins; else ClamAV's daemon client ``clamdscan``,
    else the stand-alone ``clamscan``.
    """
    if configured:
        return shlex.split(configured)
    if shutil.which("clamdscan"):
        return ["clamdscan", "--no-summary", "-"]
    if shutil.which("clamscan"):
        return ["clamscan", "--no-summary", "-"]
    return None


def scan(content: bytes, command: Sequence[str] | None) -> str:
    """Scan the bytes: return "clean" or "not_scanned" (no scanner); refuse an infected file."""
    if not command:
        return "not_scanned"
    try:
        done = subprocess.run(  # noqa: S603 - the configured scanner, no shell
            list(command), input=content, capture_output=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        done = None
    if done is not None and done.returncode == 0:
        return "clean"
    if done is not None and done.returncode == 1:
        raise _refuse(
            "病毒扫描发现该文件含有恶意代码，已拒收。",
            "The virus scan found malicious code in this file; it was refused.",
        )
    raise ScannerUnavailable(
        "病毒扫描暂时不可用，文件未保存，请稍后再试。",
        "The virus scanner is not answering; the file was not stored. Try again later.",
    )


# --- storing and reading ---------------------------------------------------------------------


def _clean_name(filename: str) -> str:
    # Only shown, never used as a path; keep the last part, printable, bounded.
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable())
    return limits.clip(name, "name") or "upload"


def store(
    session: Session,
    files: Store,
    *,
    actor_id: int | None,
    enterprise_id: int,
    kind: str,
    upload: Upload,
    application_id: int | None = None,
    scanner: Sequence[str] | None = None,
    allowed: Collection[str] = tuple(KINDS),
) -> Document:
    """Check and scan the upload, store its bytes and record it; the caller commits.

    A refused upload leaves nothing behind: the checks and the scan come before the store.
    ``allowed`` narrows the kinds a form offers (the verification page's two).
    """
    if kind not in KINDS or kind not in allowed:
        raise ValidationFailed(
            "请选择文件类型。",
            "Choose what the file is.",
            fields={
                "kind": limits.in_user_language("请选择文件类型。", "Choose what the file is.")
            },
        )
    content_type = check(upload)
    scan_status = scan(upload.content, scanner)
    key = files.put(upload.content)
    document = Document(
        enterprise_id=enterprise_id,
        application_id=application_id,
        kind=kind,
        filename=_clean_name(upload.filename),
        content_type=content_type,
        size_bytes=len(upload.content),
        sha256=key,
        scan_status=scan_status,
        uploaded_by_id=actor_id,
    )
    session.add(document)
    session.flush()
    record_event(
        session,
        actor_id=actor_id,
        action="document.uploaded",
        object_type="document",
        object_id=document.id,
        data={
            "enterprise_id": enterprise_id,
            "application_id": application_id,
            "kind": kind,
            "sha256": key,
            "scan": scan_status,
        },
    )
    return document


def content_of(files: Store, document: Document) -> bytes:
    """Return the document's bytes, checked against its SHA-256."""
    content = files.get(document.sha256)
    if hashlib.sha256(content).hexdigest() != document.sha256:
        raise RuntimeError(f"document {document.id} does not match its SHA-256")
    return content


def read(
    session: Session,
    files: Store,
    document: Document,
    *,
    actor_id: int | None,
    data: dict[str, Any] | None = None,
) -> bytes:
    """Return the document's bytes, checked against its hash; every read is audited (commits)."""
    content = content_of(files, document)
    record_event(
        session,
        actor_id=actor_id,
        action="document.viewed",
        object_type="document",
        object_id=document.id,
        data={"enterprise_id": document.enterprise_id, "sha256": document.sha256, **(data or {})},
    )
    session.commit()
    return content


def download_name(document: Document) -> str:
    """Return the name a document is saved under: its kind, id and hash, with its type's ending."""
    return f"{document.kind}-{document.id}-{document.sha256[:12]}" + EXTENSIONS.get(
        document.content_type, ""
    )


#: Headers of every document download: saved, never shown in the portal's origin.
DOWNLOAD_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'",
}


# --- who sees what ---------------------------------------------------------------------------


def may_view(session: Session, document: Document, actor: Actor) -> bool:
    """Tell whether ``actor`` may see the document: its firm, an advisor, or a consented bank."""
    if actor.role == "sme":
        return actor.enterprise_id is not None and actor.enterprise_id == document.enterprise_id
    if actor.role == "advisor":
        return True
    if actor.role == "bank" and actor.bank_id is not None:
        if document.kind not in PACKET_KINDS:
            return False
        stmt = (
            select(Referral)
            .join(Application, Application.id == Referral.application_id)
            .where(
                Referral.bank_id == actor.bank_id,
                Application.enterprise_id == document.enterprise_id,
            )
            .order_by(Referral.id)
        )
        if document.application_id is not None:
            stmt = stmt.where(Referral.application_id == document.application_id)
        return any(
            consents.packet_refusal(session, referral) is None for referral in session.scalars(stmt)
        )
    return False


def get_for(session: Session, document_id: int, actor: Actor) -> Document:
    """Return a document the actor may see; 404 when it does not exist, 403 when not theirs."""
    document = session.get(Document, document_id) if limits.check_id(document_id) else None
    if document is None:
        raise NotFound.of("document")
    if not may_view(session, document, actor):
        raise Forbidden("您无权查看该文件。", "You may not see this document.")
    return document


def of_enterprise(session: Session, enterprise_id: int) -> list[Document]:
    """Return the firm's profile documents (not attached to an application), newest first."""
    return list(
        session.scalars(
            select(Document)
            .where(Document.enterprise_id == enterprise_id, Document.application_id.is_(None))
            .order_by(Document.uploaded_at.desc(), Document.id.desc())
        )
    )


def of_application(session: Session, application: Application) -> list[Document]:
    """Return the documents attached to an application, oldest first.

    Read once per request (the page lists them, and :func:`asks` checks what was supplied).
    """
    stmt = (
        select(Document)
        .where(Document.application_id == application.id)
        .order_by(Document.uploaded_at, Document.id)
    )
    return list(
        read_once(
            session,
            ("documents.of_application", application.id),
            lambda: list(session.scalars(stmt)),
        )
    )


def for_referral(session: Session, referral: Referral) -> list[Document]:
    """Return what goes to the referral's bank: the firm's profile and the application's documents."""
    application = referral.application
    return list(
        session.scalars(
            select(Document)
            .where(
                Document.enterprise_id == application.enterprise_id,
                or_(
                    Document.application_id == application.id,
                    Document.application_id.is_(None),
                ),
                Document.kind.in_(sorted(PACKET_KINDS)),
            )
            .order_by(Document.uploaded_at, Document.id)
        )
    )


def attach(
    session: Session,
    files: Store,
    *,
    actor_id: int | None,
    enterprise_id: int | None,
    application_id: int | None,
    kind: str,
    upload: Upload,
    scanner: Sequence[str] | None = None,
) -> Document:
    """Upload a document to the firm's profile (no application) or to one of its applications.

    Commits. An application must be the firm's own and not ended.
    """
    if enterprise_id is None:
        raise Forbidden("请先登录企业账号。", "Sign in with an enterprise account.")
    if application_id is not None:
        application = (
            session.get(Application, application_id) if limits.check_id(application_id) else None
        )
        if application is None or application.enterprise_id != enterprise_id:
            raise NotFound.of("application")
        if application.state in ("withdrawn", "rejected", "closed"):
            raise ValidationFailed(
                "该申请已结束，不能再上传材料。",
                "The application has ended; no more documents can be added.",
            )
    document = store(
        session,
        files,
        actor_id=actor_id,
        enterprise_id=enterprise_id,
        kind=kind,
        upload=upload,
        application_id=application_id,
        scanner=scanner,
    )
    session.commit()
    return document


# --- what an application is asked for ----------------------------------------------------------


@dataclass
class Ask:
    """A request for documents: by the centre (a return) or by a bank (补充材料)."""

    who_zh: str
    who_en: str
    asked_at: datetime
    message: str
    kinds: list[str]
    #: Per kind asked, the newest document of that kind attached since the request.
    supplied: dict[str, Document] = field(default_factory=dict)
    #: The referral the bank's request is on (None for the centre's return).
    referral_id: int | None = None
    open: bool = True

    @property
    def missing(self) -> list[str]:
        """Return the kinds asked for and not yet uploaded."""
        return [k for k in self.kinds if k not in self.supplied]


def _supplied(
    docs: Sequence[Document], kinds: Sequence[str], since: datetime
) -> dict[str, Document]:
    found: dict[str, Document] = {}
    for document in docs:
        if document.kind in kinds and document.uploaded_at >= since:
            found[document.kind] = document
    return found


def asks(session: Session, application: Application) -> list[Ask]:
    """Return what the application is asked for: the centre's open return, the banks' requests."""
    docs = of_application(session, application)
    found: list[Ask] = []
    request = application.return_request or {}
    if application.state == "returned" and request.get("documents"):
        since = application.clock_paused_at or application.updated_at or utcnow()
        kinds = [k for k in request["documents"] if k in KINDS]
        found.append(
            Ask(
                "服务中心",
                "The centre",
                since,
                str(request.get("message", "")),
                kinds,
                _supplied(docs, kinds, since),
            )
        )
    rows = session.execute(
        select(BankDecision, Referral)
        .join(Referral, Referral.id == BankDecision.referral_id)
        .options(joinedload(Referral.bank))
        .where(
            Referral.application_id == application.id,
            BankDecision.decision == "info_requested",
        )
        .order_by(BankDecision.decided_at, BankDecision.id)
    ).all()
    latest: dict[int, tuple[BankDecision, Referral]] = {}
    for decision, referral in rows:
        latest[referral.id] = (decision, referral)
    for decision, referral in latest.values():
        kinds = [k for k in (decision.document_kinds or []) if k in KINDS]
        if not kinds:
            continue
        found.append(
            Ask(
                referral.bank.name_zh,
                referral.bank.name_en or referral.bank.name_zh,
                decision.decided_at,
                decision.reason_text,
                kinds,
                _supplied(docs, kinds, decision.decided_at),
                referral_id=referral.id,
                open=referral.state == "info_requested",
            )
        )
    return found


def require_supplied(session: Session, application: Application, referral_id: int | None) -> None:
    """Refuse (422) an answer while a document the centre (None) or the bank asked for is missing."""
    for ask in asks(session, application):
        if ask.referral_id != referral_id or not ask.missing:
            continue
        zh = "、".join(kind_title(k, "zh_CN") for k in ask.missing)
        en = ", ".join(kind_title(k, "en") for k in ask.missing)
        message = limits.in_user_language(f"请先上传：{zh}。", f"Upload first: {en}.")
        raise ValidationFailed(
            f"请先上传要求补充的材料：{zh}。",
            f"Upload the documents asked for first: {en}.",
            fields={"documents": message, "_form": message},
        )


def valid_kinds(kinds: Sequence[str], field_name: str = "documents") -> list[str]:
    """Return the asked kinds without repeats; refuse an unknown one (422)."""
    wanted = [k for k in dict.fromkeys(kinds) if k]
    unknown = [k[:40] for k in wanted if k not in KINDS]
    if unknown:
        raise ValidationFailed(
            "未知的材料类型：" + "、".join(unknown[:10]),
            "Unknown document kinds: " + ", ".join(unknown[:10]),
            fields={
                field_name: limits.in_user_language(
                    "未知的材料类型：" + "、".join(unknown[:10]),
                    "Unknown document kinds: " + ", ".join(unknown[:10]),
                )
            },
        )
    return wanted


# --- the bank's bundle -----------------------------------------------------------------------

MANIFEST_COLUMNS = (
    "file",
    "kind",
    "kind_zh",
    "original_name",
    "content_type",
    "size_bytes",
    "sha256",
    "uploaded_at",
    "virus_scan",
)


def manifest_rows(docs: Sequence[Document]) -> list[dict[str, Any]]:
    """Return the manifest's row of each document (the name it has inside the ZIP)."""
    return [
        {
            "file": f"documents/{download_name(d)}",
            "kind": d.kind,
            "kind_zh": KINDS.get(d.kind, (d.kind, d.kind))[0],
            "original_name": d.filename,
            "content_type": d.content_type,
            "size_bytes": d.size_bytes,
            "sha256": d.sha256,
            "uploaded_at": d.uploaded_at.isoformat(),
            "virus_scan": SCAN_STATUSES.get(d.scan_status, (d.scan_status,))[0],
        }
        for d in docs
    ]


def bundle(
    session: Session,
    files: Store,
    referral_id: int,
    *,
    bank_id: int,
    actor_id: int | None,
) -> tuple[str, bytes]:
    """Return (file name, ZIP) of a referral for its bank: the stamped packet, the documents, a manifest.

    The packet download is refused and audited as a packet download is (consent, rendering);
    each document read is audited as a view. Commits.
    """
    from finportal.services import bank_actions, referrals

    pdf = bank_actions.download_packet(session, referral_id, bank_id=bank_id, actor_id=actor_id)
    referral = referrals.get_referral(session, referral_id, bank_id=bank_id)
    packet_name = bank_actions.packet_filename(referral)
    docs = for_referral(session, referral)
    rows = manifest_rows(docs)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(packet_name, pdf)
        for document, row in zip(docs, rows, strict=True):
            content = read(
                session,
                files,
                document,
                actor_id=actor_id,
                data={"referral_id": referral.id, "bank_id": bank_id, "via": "bundle"},
            )
            archive.writestr(row["file"], content)
        manifest = {
            "packet": {
                "file": packet_name,
                "packet_number": referral.packet_number,
                "sha256": hashlib.sha256(pdf).hexdigest(),
                "size_bytes": len(pdf),
            },
            "documents": rows,
        }
        archive.writestr(
            "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
        )
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        # Names the firm typed are text, never formulas, when Excel opens the file.
        writer.writerows(
            {k: safe_text(v) if isinstance(v, str) else v for k, v in row.items()} for row in rows
        )
        # UTF-8 with a byte-order mark, so Excel opens the Chinese names right.
        archive.writestr("manifest.csv", ("\ufeff" + text.getvalue()).encode("utf-8"))
    return packet_name.rsplit(".", 1)[0] + ".zip", out.getvalue()


def packet_list(session: Session, referral: Referral) -> list[Any]:
    """Return the referral's documents as the packet lists them (plain data for the renderer)."""
    from finportal.packets import AttachedDocument

    return [
        AttachedDocument(
            kind_zh=KINDS.get(d.kind, (d.kind, d.kind))[0],
            filename=d.filename,
            content_type=d.content_type,
            size_bytes=d.size_bytes,
            sha256=d.sha256,
            uploaded_at=d.uploaded_at,
            scan_zh=SCAN_STATUSES.get(d.scan_status, (d.scan_status,))[0],
        )
        for d in for_referral(session, referral)
    ]
