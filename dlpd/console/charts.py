"""Server-rendered SVG bar charts for the summary page. Pure: standard library and
``dlpd.textsafe`` only, no I/O.

Every text that reaches a chart (a label name, a path, a day) is data chosen by whoever
named a file: it is made visible (``textsafe.visible``: no control or bidi character) and
then XML-escaped here, which is why the result may enter a page unescaped (``Chart``
carries ``__html__``, the markupsafe protocol Jinja2's autoescape honours). The console's
CSP has ``style-src 'self'``, so nothing here writes ``style=``: colours are presentation
attributes (``fill=``) that console.css may override through the classes.

Each chart is ``role="img"`` named by its ``<title>`` and described by a ``<desc>``
(``aria-labelledby``/``aria-describedby``); the page shows the same numbers as a table
beside it, so nobody has to read bar lengths.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from dlpd.textsafe import visible

_FONT = 12
_ROW = 22  # height of one horizontal bar's row
_LABEL_CHARS = 28  # label text longer than this is shortened in the middle
_PALETTE = ("#c0392b", "#d35400", "#b7950b", "#2874a6", "#7d3c98", "#616a6b")
_BAR = "#2874a6"
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
_UNSAFE_XML = re.compile("[&<>\"']")
_NOT_ID = re.compile(r"[^a-z0-9-]+")


class Chart(str):
    """SVG markup made by this module: its data is escaped already."""

    __slots__ = ()

    def __html__(self) -> str:
        return str(self)


def _esc(text: str) -> str:
    """``text`` (data) as XML text or attribute value: visible, then escaped."""
    return _UNSAFE_XML.sub(lambda m: _ESCAPES[m[0]], visible(text))


def _short(text: str, limit: int = _LABEL_CHARS) -> str:
    """``text``'s visible form, cut in the middle (a path's end says most) to ``limit``."""
    shown = visible(text)
    if len(shown) <= limit:
        return shown
    head = (limit - 1) // 2
    return shown[:head] + "\u2026" + shown[len(shown) - (limit - 1 - head):]


def _ident(chart_id: str | None, title: str) -> str:
    slug = _NOT_ID.sub("-", (chart_id or title).lower()).strip("-")
    return "chart-" + (slug or "x")


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _open(ident: str, title: str, desc: str, width: int, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{ident}" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-labelledby="{ident}-title" aria-describedby="{ident}-desc" '
        f'font-family="sans-serif" font-size="{_FONT}">',
        f'<title id="{ident}-title">{_esc(title)}</title>',
        f'<desc id="{ident}-desc">{_esc(desc)}</desc>',
    ]


def _no_data(ident: str, title: str, width: int, height: int) -> Chart:
    parts = _open(ident, title, "No data.", width, height)
    parts.append(f'<text class="chart-empty" x="{width // 2}" y="{height // 2}" '
                 f'text-anchor="middle" fill="currentColor">No data</text></svg>')
    return Chart("".join(parts))


def _clean(series: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    return [(str(name), max(0, int(value))) for name, value in series]


def bar_chart(series: Sequence[tuple[str, int]], *, title: str, width: int = 560,
              height: int | None = None, chart_id: str | None = None) -> Chart:
    """Horizontal bars, one per ``(name, value)`` in the order given; lengths are
    proportional to the values (the largest fills the plot). ``height`` defaults to one
    row per bar. Negative values count as 0."""
    rows = _clean(series)
    ident = _ident(chart_id, title)
    full_height = height or _ROW * max(len(rows), 1) + 12
    if not rows:
        return _no_data(ident, title, width, height or 60)
    label_w = min(width // 2, _FONT * 7 // 12 * _LABEL_CHARS + 8)
    value_w = 56
    plot = max(width - label_w - value_w, 10)
    peak = max(value for _, value in rows)
    scale = plot / peak if peak else 0.0
    row_h = (full_height - 12) / len(rows)
    top_name, top_value = max(rows, key=lambda r: r[1])
    desc = f"{len(rows)} bars; largest: {top_name} with {top_value}."
    parts = _open(ident, title, desc, width, full_height)
    for i, (name, value) in enumerate(rows):
        y = 6 + i * row_h
        bar_h = max(row_h - 6, 2)
        mid = y + row_h / 2 + _FONT / 3
        parts.append(
            f'<g class="chart-row"><title>{_esc(name)}: {value}</title>'
            f'<text class="chart-label" x="{label_w - 6}" y="{_num(mid)}" '
            f'text-anchor="end" fill="currentColor">{_esc(_short(name))}</text>'
            f'<rect class="chart-bar" x="{label_w}" y="{_num(y + 3)}" '
            f'width="{_num(value * scale)}" height="{_num(bar_h)}" fill="{_BAR}"/>'
            f'<text class="chart-value" x="{_num(label_w + value * scale + 4)}" '
            f'y="{_num(mid)}" fill="currentColor">{value}</text></g>')
    parts.append("</svg>")
    return Chart("".join(parts))


def stacked_chart(rows: Sequence[tuple[str, Mapping[str, int]]], keys: Sequence[str], *,
                  title: str, width: int = 560, height: int | None = None,
                  chart_id: str | None = None) -> Chart:
    """Horizontal stacked bars: one per ``(name, counts by key)`` (open alerts of a label
    by severity), segments in the order of ``keys`` with a legend above. A bar's length
    is proportional to its total; keys a row lacks count 0."""
    ident = _ident(chart_id, title)
    clean = [(str(name), [max(0, int(counts.get(k, 0))) for k in keys])
             for name, counts in rows]
    legend_h = 22
    full_height = height or legend_h + _ROW * max(len(clean), 1) + 12
    if not clean or not keys:
        return _no_data(ident, title, width, height or 60)
    label_w = min(width // 2, _FONT * 7 // 12 * _LABEL_CHARS + 8)
    value_w = 56
    plot = max(width - label_w - value_w, 10)
    totals = [sum(values) for _, values in clean]
    peak = max(totals)
    scale = plot / peak if peak else 0.0
    row_h = (full_height - legend_h - 12) / len(clean)
    desc = (f"{len(clean)} bars split by {', '.join(keys)}; "
            f"largest total: {clean[totals.index(peak)][0]} with {peak}.")
    parts = _open(ident, title, desc, width, full_height)
    x = label_w
    for k_index, k in enumerate(keys):  # the legend: a swatch and the key per segment
        colour = _PALETTE[k_index % len(_PALETTE)]
        parts.append(
            f'<g class="chart-legend"><rect class="chart-seg chart-seg-{k_index}" '
            f'x="{x}" y="4" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="13" fill="currentColor">{_esc(_short(k, 12))}</text></g>')
        x += 14 + 7 * min(len(visible(k)), 12) + 12
    for i, ((name, values), total) in enumerate(zip(clean, totals, strict=True)):
        y = legend_h + 6 + i * row_h
        bar_h = max(row_h - 6, 2)
        mid = y + row_h / 2 + _FONT / 3
        parts.append(
            f'<g class="chart-row"><text class="chart-label" x="{label_w - 6}" '
            f'y="{_num(mid)}" text-anchor="end" fill="currentColor">'
            f'{_esc(_short(name))}</text>')
        x_seg = float(label_w)
        for k_index, (k, value) in enumerate(zip(keys, values, strict=True)):
            if value == 0:
                continue
            seg_w = value * scale
            parts.append(
                f'<rect class="chart-seg chart-seg-{k_index}" x="{_num(x_seg)}" '
                f'y="{_num(y + 3)}" width="{_num(seg_w)}" height="{_num(bar_h)}" '
                f'fill="{_PALETTE[k_index % len(_PALETTE)]}">'
                f'<title>{_esc(name)}, {_esc(k)}: {value}</title></rect>')
            x_seg += seg_w
        parts.append(f'<text class="chart-value" x="{_num(x_seg + 4)}" y="{_num(mid)}" '
                     f'fill="currentColor">{total}</text></g>')
    parts.append("</svg>")
    return Chart("".join(parts))


def day_histogram(days: Sequence[tuple[str, int]], *, title: str, width: int = 560,
                  height: int = 200, chart_id: str | None = None) -> Chart:
    """Vertical bars, one per ``(day, count)`` in the order given (oldest first), heights
    proportional to the counts; every few days labelled below so labels never overlap."""
    rows = _clean(days)
    ident = _ident(chart_id, title)
    if not rows:
        return _no_data(ident, title, width, height)
    left, bottom, top = 40, 22, 10
    plot_w, plot_h = max(width - left - 4, 10), max(height - bottom - top, 10)
    peak = max(value for _, value in rows)
    scale = plot_h / peak if peak else 0.0
    slot = plot_w / len(rows)
    every = max(1, -(-len(rows) * 70 // plot_w))  # a label needs about 70 px
    total = sum(value for _, value in rows)
    desc = (f"{len(rows)} days from {rows[0][0]} to {rows[-1][0]}; {total} in all, "
            f"at most {peak} a day.")
    parts = _open(ident, title, desc, width, height)
    base = top + plot_h
    parts.append(
        f'<g class="chart-axis"><line x1="{left}" y1="{base}" x2="{width - 4}" y2="{base}" '
        f'stroke="currentColor"/><text x="{left - 4}" y="{top + _FONT}" text-anchor="end" '
        f'fill="currentColor">{peak}</text><text x="{left - 4}" y="{base}" '
        f'text-anchor="end" fill="currentColor">0</text></g>')
    for i, (day, value) in enumerate(rows):
        bar_h = value * scale
        x = left + i * slot
        parts.append(
            f'<rect class="chart-bar" x="{_num(x + slot * 0.1)}" y="{_num(base - bar_h)}" '
            f'width="{_num(max(slot * 0.8, 1))}" height="{_num(bar_h)}" fill="{_BAR}">'
            f'<title>{_esc(day)}: {value}</title></rect>')
        if i % every == 0:
            parts.append(f'<text class="chart-label" x="{_num(x + slot / 2)}" '
                         f'y="{height - 6}" text-anchor="middle" fill="currentColor">'
                         f'{_esc(_short(day, 10))}</text>')
    parts.append("</svg>")
    return Chart("".join(parts))
