"""charts.py: escaping, proportional bars, empty data, accessibility, no inline style.

Each chart is parsed as XML: markup smuggled through a label would either break the parse
or show up as an element."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from dlpd.console.charts import Chart, bar_chart, day_histogram, stacked_chart

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert(1)</script> & "q" \'a\' \x1b[31m\u202e'


def _parse(chart: str) -> ET.Element:
    return ET.fromstring(chart)


def _rects(root: ET.Element, cls: str) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if cls in (r.get("class") or "").split()]


def _all_text(root: ET.Element) -> str:
    return " ".join(t for t in root.itertext())


@pytest.mark.parametrize("make", [
    lambda: bar_chart([(HOSTILE, 3), ("ok", 1)], title=HOSTILE),
    lambda: stacked_chart([(HOSTILE, {HOSTILE: 2, "high": 1})], [HOSTILE, "high"],
                          title=HOSTILE),
    lambda: day_histogram([(HOSTILE, 4), ("2026-12-07", 2)], title=HOSTILE),
])
def test_hostile_text_is_escaped(make: object) -> None:
    chart = make()  # type: ignore[operator]
    assert isinstance(chart, Chart)
    assert "<script" not in chart
    assert "\x1b" not in chart and "\u202e" not in chart
    root = _parse(chart)  # well-formed: no markup escaped its text
    assert not list(root.iter("script")) and not list(root.iter(f"{SVG}script"))
    text = _all_text(root)
    # The text reads back as the visible form of what was given.
    assert "<script>alert(1)</script> & \"q\" 'a' \\x1b[31m\\u202e" in text
    assert "&amp;" in chart and "&lt;script&gt;" in chart


def test_chart_is_markup_for_jinja() -> None:
    jinja2 = pytest.importorskip("jinja2")
    env = jinja2.Environment(autoescape=True)
    chart = bar_chart([("a<b", 1)], title="t")
    out = env.from_string("{{ c }}|{{ s }}").render(c=chart, s="a<b")
    assert out.startswith("<svg") and out.endswith("|a&lt;b")


def test_bars_are_proportional() -> None:
    root = _parse(bar_chart([("a", 10), ("b", 5), ("c", 1), ("d", 0)], title="t",
                            width=600))
    widths = [float(r.get("width", "nan")) for r in _rects(root, "chart-bar")]
    assert len(widths) == 4
    assert widths[0] > 0
    assert widths[1] == pytest.approx(widths[0] / 2, abs=0.01)
    assert widths[2] == pytest.approx(widths[0] / 10, abs=0.01)
    assert widths[3] == 0
    # The largest bar fills the plot and stays inside the chart.
    x = float(_rects(root, "chart-bar")[0].get("x", "nan"))
    assert x + widths[0] <= 600


def test_histogram_heights_are_proportional_and_bars_sit_on_the_axis() -> None:
    root = _parse(day_histogram([("d1", 3), ("d2", 6), ("d3", 0)], title="t", height=200))
    bars = _rects(root, "chart-bar")
    heights = [float(r.get("height", "nan")) for r in bars]
    assert heights[0] == pytest.approx(heights[1] / 2, abs=0.01)
    assert heights[2] == 0
    bottoms = {round(float(r.get("y", "nan")) + h, 2) for r, h in zip(bars, heights,
                                                                       strict=True)}
    assert len(bottoms) == 1


def test_stacked_segments_add_up_to_proportional_totals() -> None:
    keys = ["critical", "high", "low"]
    root = _parse(stacked_chart([("pii", {"critical": 2, "high": 2}), ("hr", {"low": 2})],
                                keys, title="t"))
    segs = [r for r in _rects(root, "chart-seg") if r.get("y") != "4"]  # not the legend
    widths = [float(r.get("width", "nan")) for r in segs]
    assert len(widths) == 3  # zero segments are not drawn
    pii_total, hr_total = widths[0] + widths[1], widths[2]
    assert hr_total == pytest.approx(pii_total / 2, abs=0.01)
    # The segments of one bar touch: each starts where the previous one ended.
    assert float(segs[1].get("x", "nan")) == pytest.approx(
        float(segs[0].get("x", "nan")) + widths[0], abs=0.01)
    # The legend has one swatch per key, coloured as its segments.
    legend = [r for r in _rects(root, "chart-seg") if r.get("y") == "4"]
    assert len(legend) == 3
    assert segs[2].get("fill") == legend[2].get("fill")


@pytest.mark.parametrize("make", [
    lambda: bar_chart([], title="Empty"),
    lambda: stacked_chart([], ["high"], title="Empty"),
    lambda: stacked_chart([("a", {})], [], title="Empty"),
    lambda: day_histogram([], title="Empty"),
])
def test_empty_data_says_so(make: object) -> None:
    root = _parse(make())  # type: ignore[operator]
    assert "No data" in _all_text(root)
    assert not _rects(root, "chart-bar")


@pytest.mark.parametrize("make", [
    lambda: bar_chart([("a", 0), ("b", 0)], title="Zero"),
    lambda: stacked_chart([("a", {"high": 0})], ["high"], title="Zero"),
    lambda: day_histogram([("d1", 0), ("d2", 0)], title="Zero"),
])
def test_all_zero_values_draw_empty_bars(make: object) -> None:
    root = _parse(make())  # type: ignore[operator]
    for rect in _rects(root, "chart-bar"):
        assert float(rect.get("width", "0")) >= 0 and float(rect.get("height", "0")) >= 0


@pytest.mark.parametrize("make", [
    lambda: bar_chart([("a", 1)], title="Open alerts by label"),
    lambda: stacked_chart([("a", {"high": 1})], ["high"], title="Open alerts by label"),
    lambda: day_histogram([("d", 1)], title="Open alerts by label"),
    lambda: bar_chart([], title="Open alerts by label"),
])
def test_accessible_name_and_no_inline_style(make: object) -> None:
    chart = make()  # type: ignore[operator]
    root = _parse(chart)
    assert root.get("role") == "img"
    title_id = root.get("aria-labelledby")
    titles = [t for t in root.iter(f"{SVG}title") if t.get("id") == title_id]
    assert titles and titles[0].text == "Open alerts by label"
    desc_id = root.get("aria-describedby")
    assert [d for d in root.iter(f"{SVG}desc") if d.get("id") == desc_id]
    assert "style=" not in chart and "<style" not in chart


def test_chart_ids_differ_by_title_and_are_safe() -> None:
    a = _parse(bar_chart([("x", 1)], title="By label"))
    b = _parse(bar_chart([("x", 1)], title="By day"))
    assert a.get("id") != b.get("id")
    hostile = _parse(bar_chart([("x", 1)], title='"><svg onload=x>'))
    assert (hostile.get("id") or "").replace("-", "").isalnum()


def test_long_labels_are_shortened_but_full_in_the_tooltip() -> None:
    name = "/srv/share/" + "x" * 200 + "/payroll.xlsx"
    root = _parse(bar_chart([(name, 1)], title="t"))
    label = next(t for t in root.iter(f"{SVG}text") if t.get("class") == "chart-label")
    assert label.text is not None and len(label.text) <= 28
    assert label.text.endswith("payroll.xlsx")
    assert any(t.text == f"{name}: 1" for t in root.iter(f"{SVG}title"))
