"""Publishing with two people (maker-checker): one admin drafts a product version, another
approves it (and it is published) or sends it back.

A draft is checked by the catalogue's own rules when it is made; approving publishes it with
``catalog.save_version`` and starts the 政策找企业 push (``services/push.py``), which tells
each firm only what is new or cheaper for it. The drafter cannot approve or send back their
own draft; they may withdraw it. Both admins see the what-if (``services/what_if.py``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import products
from finportal import jobs, limits
from finportal.domain.states import PRODUCT_DRAFT, DraftState
from finportal.models import Job, Product, ProductDraft, ProductVersion, utcnow
from finportal.services import admin_products, what_if
from finportal.services import catalog as catalog_service
from finportal.services.audit import record_event
from finportal.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from finportal.services.workflow import move

t = limits.in_user_language

#: Keys whose values are words, not terms: changing only these changes no firm's eligibility
#: or cost (the push then tells nobody anything).
WORD_KEYS = frozenset(
    {
        "name_zh",
        "name_en",
        "description_zh",
        "description_en",
        "message_zh",
        "message_en",
        "failed_zh",
        "failed_en",
        "note",
        "note_zh",
        "note_en",
        "source",
        "label_zh",
        "label_en",
    }
)


@dataclass(frozen=True)
class Change:
    """One changed place of the content: its path, the old and new value, and whether it is a term."""

    path: str
    before: Any
    after: Any
    term: bool


def _flatten(node: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _flatten(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(node, list) and any(isinstance(v, (Mapping, list)) for v in node):
        for index, value in enumerate(node):
            key = value.get("id") or value.get("key") if isinstance(value, Mapping) else None
            yield from _flatten(value, f"{prefix}[{key or index}]")
    else:
        yield prefix, node


def changes(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> list[Change]:
    """Return what differs between two contents, path by path (terms and words told apart)."""
    old = dict(_flatten(before or {}))
    new = dict(_flatten(after))
    out = []
    for path in sorted(set(old) | set(new)):
        if old.get(path) != new.get(path):
            leaf = path.rsplit(".", 1)[-1].split("[", 1)[0]
            out.append(Change(path, old.get(path), new.get(path), leaf not in WORD_KEYS))
    return out


def get_draft(session: Session, draft_id: int) -> ProductDraft:
    """Return a draft by id."""
    draft = session.get(ProductDraft, draft_id)
    if draft is None:
        raise NotFound.of("draft")
    return draft


def list_drafts(
    session: Session, *, code: str | None = None, limit: int = 50
) -> list[ProductDraft]:
    """Return drafts awaiting approval first, then the latest decided ones (newest first)."""
    stmt = select(ProductDraft)
    if code is not None:
        stmt = stmt.where(ProductDraft.code == code)
    pending = (ProductDraft.state == DraftState.PENDING.value).desc()
    return list(
        session.scalars(
            stmt.order_by(pending, ProductDraft.drafted_at.desc(), ProductDraft.id.desc()).limit(
                limit
            )
        )
    )


def pending_counts(session: Session) -> dict[str, int]:
    """Return {product code: drafts awaiting approval}."""
    counts: dict[str, int] = {}
    for code in session.scalars(
        select(ProductDraft.code).where(ProductDraft.state == DraftState.PENDING.value)
    ):
        counts[code] = counts.get(code, 0) + 1
    return counts


def draft_product(
    session: Session,
    text: str,
    *,
    actor_id: int,
    expected_code: str | None = None,
    note: str = "",
) -> ProductDraft:
    """Check product YAML by the catalogue's rules and keep it as a draft for a second admin.

    The expert view of :func:`draft_content`: every refusal names the YAML
    (``fields["content"]``). Commits.
    """
    data = admin_products.parse_product_yaml(session, text, expected_code=expected_code)
    try:
        return draft_content(
            session, data, actor_id=actor_id, expected_code=expected_code, note=note
        )
    except (ValidationFailed, Conflict) as exc:
        if "note" in exc.fields:
            raise
        text = exc.fields.get("_form") or t(exc.message_zh, exc.message_en)
        raise type(exc)(exc.message_zh, exc.message_en, fields={"content": text}) from exc


def draft_content(
    session: Session,
    data: dict[str, Any],
    *,
    actor_id: int,
    expected_code: str | None = None,
    note: str = "",
) -> ProductDraft:
    """Check product content by the catalogue's rules and keep it as a draft for a second admin.

    Refusals name the field (``fields`` by path: ``terms.amount_min.value``): content equal
    to the current version (nothing to approve), and a second draft of a product that
    already has one awaiting approval. Commits.
    """
    admin_products.check_code(session, data, expected_code=expected_code)
    product = catalog_service.validate_content(data)
    note = limits.valid_text(note, "reason", "note")
    row = session.scalar(select(Product).where(Product.code == product.code))
    current = None if row is None else row.current_version
    if current is not None and current.content_hash == product.version_hash:
        raise ValidationFailed(
            f"内容与当前第 {current.number} 版相同，无需复核。",
            f"The content equals the current version {current.number}: nothing to approve.",
            fields={
                "_form": t(
                    f"内容与当前第 {current.number} 版相同",
                    f"Same as the current version {current.number}",
                )
            },
        )
    waiting = session.scalar(
        select(ProductDraft.id).where(
            ProductDraft.code == product.code, ProductDraft.state == DraftState.PENDING.value
        )
    )
    if waiting is not None:
        raise Conflict(
            f"该产品已有待复核的草稿（#{waiting}），请先处理。",
            f"This product already has a draft awaiting approval (#{waiting}).",
            fields={"_form": t(f"已有待复核的草稿 #{waiting}", f"Draft #{waiting} is waiting")},
        )
    draft = ProductDraft(
        code=product.code,
        content=product.to_dict(),
        content_hash=product.version_hash,
        base_version_id=None if current is None else current.id,
        state=DraftState.PENDING.value,
        drafted_by_id=actor_id,
        note=note,
    )
    session.add(draft)
    session.flush()
    record_event(
        session,
        actor_id=actor_id,
        action="product_draft.pending",
        object_type="product_draft",
        object_id=draft.id,
        to_state=DraftState.PENDING.value,
        reason=note,
        data={"code": product.code, "content_hash": product.version_hash},
    )
    session.commit()
    return draft


def _pending(session: Session, draft_id: int) -> ProductDraft:
    draft = get_draft(session, draft_id)
    if draft.state != DraftState.PENDING.value:
        raise Conflict(
            f"该草稿已{PRODUCT_DRAFT.title(draft.state, 'zh_CN')}，不能再操作。",
            f"This draft is {PRODUCT_DRAFT.title(draft.state, 'en').lower()} already.",
        )
    return draft


def _second_admin(draft: ProductDraft, actor_id: int, what_zh: str, what_en: str) -> None:
    """Refuse the drafter: the four-eyes rule (四眼原则)."""
    if draft.drafted_by_id == actor_id:
        raise Forbidden(
            f"不能{what_zh}自己起草的版本：须由另一位管理员复核（双人复核）。",
            f"You cannot {what_en} your own draft: another admin must review it.",
        )


def draft_product_of(draft: ProductDraft) -> products.Product:
    """Return the pure product of a draft."""
    return products.Product.from_dict(draft.content, f"draft #{draft.id}")


def current_product_of(
    session: Session, code: str
) -> tuple[ProductVersion | None, products.Product | None]:
    """Return the current version of a product code and its pure product (None when new)."""
    row = session.scalar(select(Product).where(Product.code == code))
    if row is None or row.current_version is None:
        return None, None
    return row.current_version, catalog_service.product_of(row.current_version)


def what_if_of(session: Session, draft: ProductDraft) -> what_if.WhatIf:
    """Return the what-if of a draft against the product's current version."""
    _version, old = current_product_of(session, draft.code)
    return what_if.compute(session, draft_product_of(draft), old)


@dataclass
class Approval:
    """What approving did: the published (or restored) version and the push job."""

    version: ProductVersion
    created: bool
    job: Job


def approve(session: Session, draft_id: int, *, actor_id: int, note: str = "") -> Approval:
    """Publish a draft as the product's current version and start the push (a second admin only).

    Refused when the product changed since the draft was made. Commits, then queues the push.
    """
    draft = _pending(session, draft_id)
    _second_admin(draft, actor_id, "批准", "approve")
    note = limits.valid_text(note, "reason", "note")
    version, old = current_product_of(session, draft.code)
    if (None if version is None else version.id) != draft.base_version_id:
        raise Conflict(
            "起草之后该产品已发布了其他版本，请退回，由起草人按当前版本重新起草。",
            "The product changed since this draft was made; send it back to be redrafted.",
        )
    summary = what_if.compute(session, draft_product_of(draft), old).summary()
    published, created = catalog_service.save_version(
        session, dict(draft.content), actor_id=actor_id, source_name=f"draft #{draft.id}"
    )
    draft.version_id = published.id
    draft.decided_by_id = actor_id
    draft.decided_at = utcnow()
    draft.decision_note = note
    move(
        session,
        PRODUCT_DRAFT,
        draft,
        DraftState.APPROVED.value,
        by="admin",
        actor_id=actor_id,
        reason=note,
        data={
            "code": draft.code,
            "version": published.number,
            "drafted_by": draft.drafted_by_id,
            "what_if": summary,
        },
    )
    session.commit()
    job = jobs.enqueue(
        session,
        "notify_eligible",
        actor_id=actor_id,
        object_type="product_version",
        object_id=published.id,
        product_version_id=published.id,
    )
    session.refresh(published)
    return Approval(published, created, job)


def send_back(session: Session, draft_id: int, *, actor_id: int, note: str) -> ProductDraft:
    """Send a draft back to its drafter with the reason (a second admin only; commits)."""
    draft = _pending(session, draft_id)
    _second_admin(draft, actor_id, "退回", "send back")
    note = limits.valid_text(note, "reason", "note")
    if not note:
        raise ValidationFailed.marked({"note": t("请写明退回原因", "Say why the draft goes back")})
    draft.decided_by_id = actor_id
    draft.decided_at = utcnow()
    draft.decision_note = note
    move(
        session,
        PRODUCT_DRAFT,
        draft,
        DraftState.RETURNED.value,
        by="admin",
        actor_id=actor_id,
        reason=note,
        data={"code": draft.code},
    )
    session.commit()
    return draft


def withdraw(session: Session, draft_id: int, *, actor_id: int) -> ProductDraft:
    """Withdraw one's own draft (commits)."""
    draft = _pending(session, draft_id)
    if draft.drafted_by_id != actor_id:
        raise Forbidden("只有起草人可以撤回草稿。", "Only the drafter can withdraw a draft.")
    draft.decided_by_id = actor_id
    draft.decided_at = utcnow()
    move(
        session,
        PRODUCT_DRAFT,
        draft,
        DraftState.WITHDRAWN.value,
        by="admin",
        actor_id=actor_id,
        data={"code": draft.code},
    )
    session.commit()
    return draft
