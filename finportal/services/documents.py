"""Documents an enterprise uploads: checked by content, stored by SHA-256, audited when read."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from sqlalchemy.orm import Session

from finportal import limits
from finportal.models import Document
from finportal.services.audit import record_event
from finportal.services.errors import ValidationFailed
from finportal.storage import FileStore

#: What a document is: kind -> (中文, English).
KINDS = {
    "business_licence": ("营业执照", "Business licence"),
    "authorisation_letter": ("授权委托书", "Letter of authorisation"),
}
#: Largest upload, bytes, and the most pages or pixels a document may have.
MAX_BYTES = limits.DOCUMENT_MAX_BYTES
MAX_PDF_PAGES = limits.DOCUMENT_MAX_PDF_PAGES
MAX_IMAGE_PIXELS = limits.DOCUMENT_MAX_IMAGE_PIXELS
#: Accepted types, found from the first bytes of the content (never from the file name).
_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
ACCEPTED_TYPES = tuple(t for _, t in _SIGNATURES)


@dataclass(frozen=True)
class Upload:
    """A file as the browser sent it."""

    filename: str
    content: bytes


def _refuse(zh: str, en: str) -> ValidationFailed:
    return ValidationFailed(zh, en, fields={"document": zh})


def sniff(content: bytes) -> str | None:
    """Return the accepted content type the bytes start with, or None."""
    for signature, content_type in _SIGNATURES:
        if content.startswith(signature):
            return content_type
    return None


def check(upload: Upload) -> str:
    """Return the upload's content type, or raise ``ValidationFailed`` saying what is wrong."""
    if not upload.content:
        raise _refuse("请选择要上传的文件。", "Choose a file to upload.")
    if len(upload.content) > MAX_BYTES:
        raise _refuse(
            f"文件不能超过 {MAX_BYTES // (1024 * 1024)} MB。",
            f"The file must be at most {MAX_BYTES // (1024 * 1024)} MB.",
        )
    content_type = sniff(upload.content)
    if content_type is None:
        raise _refuse(
            "只接受 PDF、JPEG 或 PNG 文件（按文件内容判断，不看扩展名）。",
            "Only PDF, JPEG or PNG files are accepted (judged by the content).",
        )
    if content_type == "application/pdf":
        _check_pdf(upload.content)
    else:
        _check_image(upload.content)
    return content_type


def _check_pdf(content: bytes) -> None:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        pages = len(PdfReader(io.BytesIO(content)).pages)
    except (PdfReadError, ValueError, KeyError, TypeError, RecursionError):
        raise _refuse("PDF 文件已损坏，无法打开。", "The PDF is damaged.") from None
    if pages > MAX_PDF_PAGES:
        raise _refuse(
            f"PDF 不能超过 {MAX_PDF_PAGES} 页。",
            f"The PDF must have at most {MAX_PDF_PAGES} pages.",
        )


def _check_image(content: bytes) -> None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(content)) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise _refuse(
                    "图片像素过大，请缩小后上传。", "The image has too many pixels; scale it down."
                )
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise _refuse("图片已损坏，无法打开。", "The image is damaged.") from None


def _clean_name(filename: str) -> str:
    # Only shown, never used as a path; keep the last part, printable, bounded.
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable())
    return limits.clip(name, "name") or "upload"


def store(
    session: Session,
    files: FileStore,
    *,
    actor_id: int | None,
    enterprise_id: int,
    kind: str,
    upload: Upload,
) -> Document:
    """Check the upload, store its bytes and record it; the caller commits."""
    if kind not in KINDS:
        raise ValidationFailed(
            "请选择文件类型。", "Choose what the file is.", fields={"kind": "请选择文件类型。"}
        )
    content_type = check(upload)
    key = files.put(upload.content)
    document = Document(
        enterprise_id=enterprise_id,
        kind=kind,
        filename=_clean_name(upload.filename),
        content_type=content_type,
        size_bytes=len(upload.content),
        sha256=key,
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
        data={"enterprise_id": enterprise_id, "kind": kind, "sha256": key},
    )
    return document


def read(session: Session, files: FileStore, document: Document, *, actor_id: int | None) -> bytes:
    """Return the document's bytes, checked against its hash; every read is audited."""
    content = files.get(document.sha256)
    if hashlib.sha256(content).hexdigest() != document.sha256:
        raise RuntimeError(f"document {document.id} does not match its SHA-256")
    record_event(
        session,
        actor_id=actor_id,
        action="document.viewed",
        object_type="document",
        object_id=document.id,
        data={"enterprise_id": document.enterprise_id},
    )
    session.commit()
    return content
