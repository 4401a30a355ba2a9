"""Server-side SVG charts: valid markup, escaped text, sizes that follow the data."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from finportal import charts

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ET.Element:
    root = ET.fromstring(markup)  # noqa: S314 - markup we just built, not untrusted input
    assert root.tag == f"{SVG}svg"
    assert float(root.get("width")) > 0
    assert float(root.get("height")) > 0
    return root


def _texts(root: ET.Element) -> list[str]:
    return [el.text or "" for el in root.iter(f"{SVG}text")]


def _bars(root: ET.Element) -> list[ET.Element]:
    return list(root.iter(f"{SVG}rect"))


def test_bar_chart_draws_one_bar_per_reason_with_direction_colours():
    items = [("纳税信用等级为 A 级", -0.4), ("资产负债率偏高", 0.2), ("成立时间较长", -0.1)]
    root = _parse(charts.bar_chart(items, title="主要影响因素"))
    bars = _bars(root)
    assert len(bars) == 3
    assert [b.get("fill") for b in bars] == [charts.RISK_DOWN, charts.RISK_UP, charts.RISK_DOWN]
    widths = [float(b.get("width")) for b in bars]
    assert widths[0] == pytest.approx(2 * widths[1], rel=0.01)
    assert widths[0] == pytest.approx(4 * widths[2], rel=0.01)
    texts = _texts(root)
    assert "纳税信用等级为 A 级" in texts
    assert "+0.20" in texts
    assert "-0.40" in texts
    assert root.find(f"{SVG}title").text == "主要影响因素"
    # Negative bars end at the zero axis, positive ones start there.
    zero = float(root.find(f"{SVG}line").get("x1"))
    assert float(bars[0].get("x")) + widths[0] == pytest.approx(zero, abs=0.02)
    assert float(bars[1].get("x")) == pytest.approx(zero, abs=0.02)


@pytest.mark.parametrize(
    "draw",
    [
        lambda label: charts.bar_chart([(label, 1.0)]),
        lambda label: charts.histogram([(label, 3)]),
        lambda label: charts.funnel([(label, 10), ("审批", 5)]),
        lambda label: charts.bar_chart([("x", 1.0)], title=label),
    ],
)
def test_labels_are_escaped(draw):
    label = '<script>alert("x")</script> & 㐀'
    markup = draw(label)
    assert "<script" not in markup
    assert "&lt;script&gt;" in markup
    root = _parse(markup)
    all_text = [el.text for el in root.iter() if el.text]
    assert any(label in text for text in all_text)


def test_long_labels_are_shortened_to_fit():
    long_label = "申请金额占营业收入比例过高且近期经营现金流持续为负" * 3
    root = _parse(charts.bar_chart([(long_label, 0.5)], width=300))
    shown = _texts(root)[0]
    assert shown.endswith("…")
    assert len(shown) < len(long_label)
    # The full label stays available as the bar's tooltip.
    assert long_label in _bars(root)[0].find(f"{SVG}title").text


def test_histogram_bar_heights_follow_counts():
    root = _parse(charts.histogram([("300–400", 2), ("400–500", 8), ("500–600", 4)]))
    heights = [float(b.get("height")) for b in _bars(root)]
    assert heights[1] == max(heights)
    assert heights[0] == pytest.approx(heights[1] / 4, rel=0.01)
    assert "8" in _texts(root)


def test_bin_values_counts_into_half_open_bins_with_closed_last():
    bins = charts.bin_values([300, 349, 350, 399.9, 400, 1000, 250], [300, 350, 400])
    assert bins == [("300–350", 2), ("350–400", 3)]
    with pytest.raises(ValueError, match="increasing"):
        charts.bin_values([1], [5, 5])


def test_funnel_shows_counts_and_share_of_first_stage():
    stages = [("提交", 200), ("初筛", 150), ("推荐", 100), ("审批", 50), ("放款", 40)]
    root = _parse(charts.funnel(stages))
    texts = _texts(root)
    assert "提交" in texts
    assert "100（50%）" in texts
    assert "40（20%）" in texts
    widths = [float(b.get("width")) for b in _bars(root)]
    assert widths == sorted(widths, reverse=True)


def test_empty_data_still_gives_valid_svg():
    for markup in (charts.bar_chart([]), charts.histogram([]), charts.funnel([])):
        _parse(markup)
