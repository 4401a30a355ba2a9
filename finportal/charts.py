"""Draw small SVG charts on the server, for web pages and PDF packets alike.

Each builder returns one ``<svg>`` element as a string: no JavaScript, no external
assets, every piece of text escaped. The same markup is inlined in HTML pages and in
the WeasyPrint referral packets, so a chart looks the same on screen and on paper.

Text width cannot be measured without a font engine, so labels are laid out with an
estimate (a CJK character is one em wide, a Latin character a little over half).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from html import escape

__all__ = [
    "FONT_FAMILY",
    "bar_chart",
    "bin_values",
    "funnel",
    "histogram",
]

# The packet's font chain: WenQuanYi Micro Hei is small; Noto Sans CJK SC covers the
# CJK Extension A characters it lacks.
FONT_FAMILY = "'WenQuanYi Micro Hei', 'Noto Sans CJK SC', sans-serif"

RISK_UP = "#c0392b"  # a reason that raises the risk
RISK_DOWN = "#2e7d32"  # a reason that lowers the risk
NEUTRAL = "#2f5d8a"
AXIS = "#888888"
TEXT = "#222222"


def _e(text: object) -> str:
    """Escape text for an SVG text node or attribute value."""
    return escape(str(text), quote=True)


def _num(value: float) -> str:
    """Format a coordinate compactly (no trailing zeros)."""
    out = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if out in ("-0", "") else out


def text_width(text: str, font_size: float) -> float:
    """Estimate the rendered width of ``text`` in user units."""
    width = 0.0
    for char in text:
        if unicodedata.east_asian_width(char) in ("W", "F"):
            width += 1.0
        elif char.isupper() or char.isdigit():
            width += 0.62
        else:
            width += 0.52
    return width * font_size


def _truncate(text: str, max_width: float, font_size: float) -> str:
    """Shorten ``text`` with an ellipsis so that it fits in ``max_width``."""
    if text_width(text, font_size) <= max_width:
        return text
    out = text
    while out and text_width(out + "…", font_size) > max_width:
        out = out[:-1]
    return out + "…"


def _open_svg(width: float, height: float, title: str, font_size: float) -> list[str]:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_num(width)}" '
        f'height="{_num(height)}" viewBox="0 0 {_num(width)} {_num(height)}" '
        f'role="img" font-family="{_e(FONT_FAMILY)}" font-size="{_num(font_size)}">'
    ]
    if title:
        parts.append(f"<title>{_e(title)}</title>")
    return parts


def _format_value(value: float, fmt: str) -> str:
    return format(value, fmt)


def bar_chart(
    items: Sequence[tuple[str, float]],
    *,
    title: str = "",
    width: float = 480,
    bar_height: float = 16,
    gap: float = 6,
    font_size: float = 10,
    value_format: str = "+.2f",
    positive_color: str = RISK_UP,
    negative_color: str = RISK_DOWN,
    max_label_width: float | None = None,
) -> str:
    """Draw a horizontal bar chart of signed values around a zero axis.

    Parameters
    ----------
    items
        ``(label, value)`` pairs, drawn top to bottom in the given order. Used for
        reason codes: a positive contribution raises the risk, a negative one lowers it.
    title
        Accessible title (``<title>``), not drawn.
    width
        Total width in user units (px on screen, CSS px in a PDF).
    value_format
        ``format()`` spec for the value printed beside each bar.
    max_label_width
        Cap for the label column; longer labels end with an ellipsis.
        Defaults to 45 % of ``width``.
    """
    items = [(str(label), float(value)) for label, value in items]
    pad = 4.0
    cap = max_label_width if max_label_width is not None else width * 0.45
    label_w = min(cap, max((text_width(lbl, font_size) for lbl, _ in items), default=0.0))
    value_w = max(
        (text_width(_format_value(v, value_format), font_size) for _, v in items), default=0.0
    )
    plot_x0 = pad + label_w + 8
    plot_x1 = width - pad
    rows = max(len(items), 1)
    height = pad * 2 + rows * bar_height + (rows - 1) * gap

    has_neg = any(v < 0 for _, v in items)
    has_pos = any(v > 0 for _, v in items)
    # Room for the value text on the side(s) where bars grow.
    inner_x0 = plot_x0 + (value_w + 4 if has_neg else 0)
    inner_x1 = plot_x1 - (value_w + 4 if has_pos or not has_neg else 0)
    inner_w = max(inner_x1 - inner_x0, 10.0)
    max_pos = max((v for _, v in items if v > 0), default=0.0)
    max_neg = max((-v for _, v in items if v < 0), default=0.0)
    span = (max_pos + max_neg) or 1.0
    zero_x = inner_x0 + inner_w * (max_neg / span)
    scale = inner_w / span

    parts = _open_svg(width, height, title, font_size)
    for i, (label, value) in enumerate(items):
        y = pad + i * (bar_height + gap)
        mid = y + bar_height / 2
        shown = _truncate(label, label_w, font_size)
        parts.append(
            f'<text x="{_num(pad + label_w)}" y="{_num(mid)}" text-anchor="end" '
            f'dominant-baseline="central" fill="{TEXT}">{_e(shown)}</text>'
        )
        bar_w = abs(value) * scale
        bar_x = zero_x if value >= 0 else zero_x - bar_w
        color = positive_color if value >= 0 else negative_color
        parts.append(
            f'<rect x="{_num(bar_x)}" y="{_num(y)}" width="{_num(bar_w)}" '
            f'height="{_num(bar_height)}" fill="{color}"><title>{_e(label)}: '
            f"{_e(_format_value(value, value_format))}</title></rect>"
        )
        if value >= 0:
            tx, anchor = zero_x + bar_w + 3, "start"
        else:
            tx, anchor = zero_x - bar_w - 3, "end"
        parts.append(
            f'<text x="{_num(tx)}" y="{_num(mid)}" text-anchor="{anchor}" '
            f'dominant-baseline="central" fill="{TEXT}">'
            f"{_e(_format_value(value, value_format))}</text>"
        )
    parts.append(
        f'<line x1="{_num(zero_x)}" y1="{_num(pad - 2)}" x2="{_num(zero_x)}" '
        f'y2="{_num(height - pad + 2)}" stroke="{AXIS}" stroke-width="1"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


def bin_values(
    values: Sequence[float], edges: Sequence[float], *, label_format: str = "g"
) -> list[tuple[str, int]]:
    """Count ``values`` into the bins ``[edges[i], edges[i+1])`` (last bin closed).

    Returns ``(label, count)`` pairs ready for :func:`histogram`; values outside the
    edges are left out.
    """
    if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
        raise ValueError("edges must hold at least two strictly increasing numbers")
    counts = [0] * (len(edges) - 1)
    last = len(counts) - 1
    for value in values:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        if value < edges[0] or value > edges[-1]:
            continue
        for i in range(len(counts)):
            if edges[i] <= value < edges[i + 1] or (i == last and value == edges[-1]):
                counts[i] += 1
                break
    return [
        (f"{format(edges[i], label_format)}–{format(edges[i + 1], label_format)}", counts[i])
        for i in range(len(counts))
    ]


def histogram(
    bins: Sequence[tuple[str, float]],
    *,
    title: str = "",
    width: float = 480,
    height: float = 200,
    font_size: float = 10,
    color: str = NEUTRAL,
    show_counts: bool = True,
) -> str:
    """Draw a vertical histogram (e.g. the score distribution) from ``(label, count)`` bins."""
    bins = [(str(label), float(count)) for label, count in bins]
    pad = 4.0
    n = max(len(bins), 1)
    count_h = font_size + 4 if show_counts else 0
    label_h = font_size + 6
    plot_top = pad + count_h
    plot_bottom = height - pad - label_h
    plot_h = max(plot_bottom - plot_top, 10.0)
    slot = (width - 2 * pad) / n
    bar_w = slot * 0.8
    top = max((c for _, c in bins), default=0.0) or 1.0

    parts = _open_svg(width, height, title, font_size)
    for i, (label, count) in enumerate(bins):
        x = pad + i * slot + (slot - bar_w) / 2
        h = plot_h * max(count, 0.0) / top
        y = plot_bottom - h
        parts.append(
            f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(bar_w)}" height="{_num(h)}" '
            f'fill="{color}"><title>{_e(label)}: {_e(_count_text(count))}</title></rect>'
        )
        cx = x + bar_w / 2
        if show_counts:
            parts.append(
                f'<text x="{_num(cx)}" y="{_num(y - 3)}" text-anchor="middle" '
                f'fill="{TEXT}">{_e(_count_text(count))}</text>'
            )
        shown = _truncate(label, slot - 2, font_size * 0.9)
        parts.append(
            f'<text x="{_num(cx)}" y="{_num(plot_bottom + label_h - 4)}" text-anchor="middle" '
            f'font-size="{_num(font_size * 0.9)}" fill="{TEXT}">{_e(shown)}</text>'
        )
    parts.append(
        f'<line x1="{_num(pad)}" y1="{_num(plot_bottom)}" x2="{_num(width - pad)}" '
        f'y2="{_num(plot_bottom)}" stroke="{AXIS}" stroke-width="1"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _count_text(count: float) -> str:
    return str(int(count)) if float(count).is_integer() else f"{count:.2f}"


def funnel(
    stages: Sequence[tuple[str, float]],
    *,
    title: str = "",
    width: float = 480,
    stage_height: float = 26,
    gap: float = 4,
    font_size: float = 11,
    color: str = NEUTRAL,
    value_format: str = "{count}（{share}）",
) -> str:
    """Draw a funnel of stages (e.g. submitted → screened → referred → approved → disbursed).

    Each stage is a centred band whose width is proportional to its count; the text
    gives the count and its share of the first stage, as ``value_format`` words them
    (``{count} ({share})`` in English).
    """
    stages = [(str(label), float(count)) for label, count in stages]
    pad = 4.0
    n = max(len(stages), 1)
    height = pad * 2 + n * stage_height + (n - 1) * gap
    label_w = min(width * 0.3, max((text_width(s, font_size) for s, _ in stages), default=0.0))
    band_x0 = pad + label_w + 8
    band_max = max(width - pad - band_x0, 10.0)
    first = stages[0][1] if stages and stages[0][1] > 0 else 0.0
    top = max((c for _, c in stages), default=0.0) or 1.0

    parts = _open_svg(width, height, title, font_size)
    for i, (label, count) in enumerate(stages):
        y = pad + i * (stage_height + gap)
        mid = y + stage_height / 2
        w = max(band_max * max(count, 0.0) / top, 1.0)
        x = band_x0 + (band_max - w) / 2
        share = f"{count / first:.0%}" if first else "–"
        value_text = value_format.format(count=_count_text(count), share=share)
        parts.append(
            f'<text x="{_num(pad + label_w)}" y="{_num(mid)}" text-anchor="end" '
            f'dominant-baseline="central" fill="{TEXT}">'
            f"{_e(_truncate(label, label_w, font_size))}</text>"
        )
        parts.append(
            f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(w)}" '
            f'height="{_num(stage_height)}" rx="3" fill="{color}" '
            f'fill-opacity="{_num(1 - 0.12 * min(i, 5))}"><title>{_e(label)}: '
            f"{_e(value_text)}</title></rect>"
        )
        fits = text_width(value_text, font_size) + 6 < w
        parts.append(
            f'<text x="{_num(band_x0 + band_max / 2)}" y="{_num(mid)}" text-anchor="middle" '
            f'dominant-baseline="central" fill="{"#ffffff" if fits else TEXT}">'
            f"{_e(value_text)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
