"""The documents the catalogue cites, and how a ``source`` text names them.

A source text is one or more citations separated by ``;`` outside brackets and
quotes; each citation starts with the ``cite`` text of a document listed in
``data/sources.yaml``. Only a policy or an outside rule confirms a value: a value
whose citations are all FinPortal's own documents or reference standards must be
marked ``demo: true``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from products import yaml_text

KINDS = ("policy", "rule", "reference", "finportal")
CONFIRMING_KINDS = frozenset({"policy", "rule"})
# Every FinPortal document is cited so; a citation starting with it confirms nothing,
# even when the document is not in the registry.
FINPORTAL_PREFIX = "FinPortal"
_OPEN = "（(「“《〔["
_CLOSE = "）)」”》〕]"


@dataclass(frozen=True, slots=True)
class Document:
    """A document the catalogue may cite."""

    cite: str
    kind: str
    title: str
    where: str


@cache
def documents() -> tuple[Document, ...]:
    """Return the registered documents, longest ``cite`` first (for prefix matching)."""
    raw: dict[str, list[dict[str, Any]]] = yaml_text.data_file("products", "data/sources.yaml")
    docs = [
        Document(str(d["cite"]), str(d["kind"]), str(d["title"]), str(d["where"]))
        for d in raw["documents"]
    ]
    for doc in docs:
        if doc.kind not in KINDS:
            raise ValueError(f"sources.yaml: {doc.cite}: unknown kind {doc.kind!r}")
    return tuple(sorted(docs, key=lambda d: -len(d.cite)))


def split_citations(source: str) -> list[str]:
    """Split a source text into its citations at ``;`` outside brackets and quotes."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in source:
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth = max(0, depth - 1)
        if char == ";" and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def document_of(citation: str) -> Document | None:
    """Return the registered document a citation names (None when it names none)."""
    text = citation.strip()
    return next((d for d in documents() if text.startswith(d.cite)), None)


def citation_confirms(citation: str) -> bool:
    """Tell whether one citation can confirm a value.

    FinPortal's own documents and reference standards cannot; a policy or rule can,
    and so can a document the registry does not know (e.g. the centre's own rule
    cited by an admin when confirming a number).
    """
    if citation.strip().startswith(FINPORTAL_PREFIX):
        return False
    doc = document_of(citation)
    return doc is None or doc.kind in CONFIRMING_KINDS


def confirms(source: str) -> bool:
    """Tell whether a source text cites something that can confirm a value."""
    return any(citation_confirms(c) for c in split_citations(source))


def is_finportal(citation: str) -> bool:
    """Tell whether a citation names one of FinPortal's own documents (a developer note)."""
    if citation.strip().startswith(FINPORTAL_PREFIX):
        return True
    doc = document_of(citation)
    return doc is not None and doc.kind == "finportal"


def public_source(source: str | None, sep: str = "；") -> str:
    """Return the citations of a source text a user may read: without FinPortal's own notes.

    "FinPortal demo value, to be confirmed…" or "FinPortal DESIGN.md, table …" are notes
    for the catalogue's editors; a page shows a demo value's 演示 mark instead. Empty when
    nothing is left.
    """
    if not source:
        return ""
    kept = (_without_notes(c) for c in split_citations(source) if not is_finportal(c))
    return sep.join(c for c in kept if c)


def _without_notes(citation: str) -> str:
    """Drop the editors' notes of a citation: its ASCII ``(…)`` asides written in English.

    An aside in Chinese quotes the document (e.g. "(比例担保，…不超过80%)") and stays, in
    full-width brackets; the documents' own names use （…） and stay as they are.
    """
    out: list[str] = []
    aside: list[str] = []
    depth = 0
    for char in citation:
        if char == "(":
            depth += 1
            if depth == 1:
                aside = []
                continue
        elif char == ")" and depth:
            depth -= 1
            if not depth:
                text = "".join(aside)
                if not re.search(r"[A-Za-z]{2}", text):
                    out.append(f"（{text}）")
                continue
        (aside if depth else out).append(char)
    return " ".join("".join(out).split())


def quotes(citation: str) -> list[str]:
    """Return the words a citation quotes in 「」 (nested quotes kept inside)."""
    found: list[str] = []
    depth = 0
    current: list[str] = []
    for char in citation:
        if char == "「":
            depth += 1
            if depth == 1:
                current = []
                continue
        elif char == "」":
            depth -= 1
            if depth == 0:
                found.append("".join(current))
                continue
        if depth > 0:
            current.append(char)
    return found


def clause(citation: str, doc: Document) -> str:
    """Return the part of a citation between the document's name and its first quote."""
    rest = citation.strip()[len(doc.cite) :]
    return rest.split("「", 1)[0].strip(" ：:")


def cited(node: Any, path: str = "") -> Iterator[tuple[str, str, bool | None]]:
    """Yield (path, source, demo) of everything in a product dict that names a source."""
    if isinstance(node, Mapping):
        source = node.get("source")
        if isinstance(source, str):
            demo = node.get("demo")
            yield path or "(product)", source, demo if isinstance(demo, bool) else None
        for key, value in node.items():
            yield from cited(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from cited(value, f"{path}[{index}]")


UNCONFIRMED = (
    "demo: false needs a source other than FinPortal's own documents "
    "(cite the rule that confirms it, or mark it demo: true)"
)


def unconfirmed(data: Mapping[str, Any]) -> list[str]:
    """Return the paths of values marked demo: false whose source confirms nothing.

    A value is confirmed only by a policy or an outside rule: FinPortal's design, an
    example, a demo placeholder or a reference standard confirms nothing. Publishing
    (``check_catalog``, the portal's ``save_version``) refuses such a product.
    """
    return [path for path, source, demo in cited(data) if demo is False and not confirms(source)]


def unconfirmed_problems(data: Mapping[str, Any], source_name: str) -> list[str]:
    """Word ``unconfirmed`` as catalogue problems: file, product, field and what to do."""
    code = data.get("code", "?")
    return [
        f"{source_name}: product {code}: field {path}.demo: {UNCONFIRMED}"
        for path in unconfirmed(data)
    ]


def unregistered(source: str) -> list[str]:
    """Return the citations of a source text that name no registered document."""
    return [c for c in split_citations(source) if document_of(c) is None]


@dataclass(frozen=True, slots=True)
class ProductSources:
    """What one product cites, by kind of document, and how many values are demo."""

    code: str
    name_zh: str
    plan_clauses: tuple[str, ...]
    by_kind: Mapping[str, tuple[str, ...]]
    demo_values: int
    values: int


def product_sources(data: Mapping[str, Any]) -> ProductSources:
    """Summarise the documents a product's content cites (its canonical dict)."""
    clauses: list[str] = []
    by_kind: dict[str, list[str]] = {kind: [] for kind in KINDS}
    demo_values = values = 0
    for _path, source, demo in cited(data):
        if demo is not None:
            values += 1
            demo_values += int(demo)
        for citation in split_citations(source):
            doc = document_of(citation)
            if doc is None:
                continue
            if doc.cite not in by_kind[doc.kind]:
                by_kind[doc.kind].append(doc.cite)
            if doc.kind == "policy":
                part = clause(citation, doc)
                if part and part not in clauses:
                    clauses.append(part)
    order = {d.cite: i for i, d in enumerate(sorted(documents(), key=lambda d: d.cite))}
    return ProductSources(
        code=str(data["code"]),
        name_zh=str(data["name_zh"]),
        plan_clauses=tuple(sorted(clauses)),
        by_kind={k: tuple(sorted(v, key=order.__getitem__)) for k, v in by_kind.items()},
        demo_values=demo_values,
        values=values,
    )


def sources_table(products: Iterable[Mapping[str, Any]]) -> str:
    """Return the Markdown table of every product's sources (docs/CATALOGUE.md holds it)."""
    lines = [
        "| product | the plan (clauses quoted) | outside rules | standards | FinPortal's own "
        "| demo values |",
        "|---|---|---|---|---|---|",
    ]
    for data in products:
        s = product_sources(data)

        def cell(items: Iterable[str]) -> str:
            text = ", ".join(items)
            return text or "—"

        lines.append(
            f"| `{s.code}` {s.name_zh} | {cell(s.plan_clauses)} | {cell(s.by_kind['rule'])} "
            f"| {cell(s.by_kind['reference'])} "
            f"| {cell(c.removeprefix(FINPORTAL_PREFIX).strip() for c in s.by_kind['finportal'])} "
            f"| {s.demo_values} of {s.values} |"
        )
    return "\n".join(lines) + "\n"
