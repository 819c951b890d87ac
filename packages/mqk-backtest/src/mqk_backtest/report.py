"""The human report: one self-contained HTML page with equity and drawdown charts (inline SVG).

No plotting library and no network: the page opens anywhere. Long curves are reduced to at most
``max_points`` points per chart by keeping each bucket's minimum and maximum, so drawdowns stay
visible.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mqk_backtest.metrics import PERCENT_METRICS
from mqk_schemas import canonical_json

__all__ = ["MAX_FILL_MARKS", "FillMark", "render_report"]

_WIDTH = 960
_HEIGHT = 260
_PAD = 40


MAX_FILL_MARKS = 2000
"""The report marks at most this many fills (the first ones) on its equity chart."""


@dataclass(frozen=True, slots=True)
class FillMark:
    """A fill to mark on the equity chart: bar index, side and price."""

    bar_index: int
    side: str
    price: str


def _reduce(values: npt.NDArray[np.float64], max_points: int) -> tuple[list[int], list[float]]:
    n = int(values.shape[0])
    if n <= max_points:
        return list(range(n)), values.tolist()
    buckets = max_points // 2
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    xs: list[int] = []
    ys: list[float] = []
    for lo, hi in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        if hi <= lo:
            continue
        chunk = values[lo:hi]
        a, b = int(np.argmin(chunk)), int(np.argmax(chunk))
        for idx in sorted({a, b}):
            xs.append(lo + idx)
            ys.append(float(chunk[idx]))
    return xs, ys


def _polyline(
    xs: Sequence[int], ys: Sequence[float], n: int, lo: float, hi: float, colour: str
) -> str:
    span = (hi - lo) or 1.0
    width = max(n - 1, 1)
    points = " ".join(
        f"{_PAD + (x / width) * (_WIDTH - 2 * _PAD):.1f},"
        f"{_HEIGHT - _PAD - ((y - lo) / span) * (_HEIGHT - 2 * _PAD):.1f}"
        for x, y in zip(xs, ys, strict=True)
    )
    return f'<polyline fill="none" stroke="{colour}" stroke-width="1.2" points="{points}"/>'


def _chart(
    title: str,
    values: npt.NDArray[np.float64],
    colour: str,
    max_points: int,
    marks: Sequence[FillMark] = (),
    time_span: tuple[str, str] | None = None,
) -> str:
    n = int(values.shape[0])
    if n == 0:
        return f"<h2>{html.escape(title)}</h2><p>No bars.</p>"
    lo, hi = float(np.min(values)), float(np.max(values))
    xs, ys = _reduce(values, max_points)
    parts = [
        f"<h2>{html.escape(title)}</h2>",
        f'<svg viewBox="0 0 {_WIDTH} {_HEIGHT}" width="{_WIDTH}" height="{_HEIGHT}" '
        f'role="img" aria-label="{html.escape(title)}">',
        f'<rect x="0" y="0" width="{_WIDTH}" height="{_HEIGHT}" fill="#fff" stroke="#ccc"/>',
        f'<text x="4" y="{_PAD - 8}" font-size="11">{hi:,.2f}</text>',
        f'<text x="4" y="{_HEIGHT - _PAD + 14}" font-size="11">{lo:,.2f}</text>',
        _polyline(xs, ys, n, lo, hi, colour),
    ]
    if time_span is not None:
        first, last = (html.escape(t) for t in time_span)
        parts.append(
            f'<text x="{_PAD}" y="{_HEIGHT - 8}" font-size="11">{first}</text>'
            f'<text x="{_WIDTH - _PAD}" y="{_HEIGHT - 8}" font-size="11" text-anchor="end">'
            f"{last}</text>"
        )
    span = (hi - lo) or 1.0
    width = max(n - 1, 1)
    for mark in marks:
        x = _PAD + (mark.bar_index / width) * (_WIDTH - 2 * _PAD)
        y = _HEIGHT - _PAD - ((float(values[mark.bar_index]) - lo) / span) * (_HEIGHT - 2 * _PAD)
        fill = "#1a7f37" if mark.side == "BUY" else "#cf222e"
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{fill}">'
            f"<title>{html.escape(mark.side)} @ {html.escape(mark.price)}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(rows: Mapping[str, Any]) -> str:
    body = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_plain(v, str(k)))}</td></tr>"
        for k, v in rows.items()
    )
    return f"<table>{body}</table>"


def _plain(value: Any, key: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and key in PERCENT_METRICS:
        return f"{value * 100:.2f}%"
    if isinstance(value, float):
        return f"{value:.4f}"
    text = canonical_json(value)
    return text[1:-1] if text.startswith('"') else text


def render_report(
    *,
    title: str,
    metrics: Mapping[str, Any],
    manifest: Mapping[str, Any],
    equity: npt.NDArray[np.float64],
    fills: Sequence[FillMark],
    halted_reason: str | None,
    max_points: int = 2000,
    span: tuple[str, str] | None = None,
) -> str:
    """Render the report page."""
    drawdown = equity
    if equity.size:  # (equity / running peak - 1) * 100, in the peak's array (8 MB at 1M bars)
        drawdown = np.maximum.accumulate(equity)
        np.divide(equity, drawdown, out=drawdown)
        drawdown -= 1.0
        drawdown *= 100.0
    status = (
        f'<p class="halt">Run halted: {html.escape(halted_reason)}</p>'
        if halted_reason
        else "<p>Run completed without a halt.</p>"
    )
    shown_marks = list(fills[:MAX_FILL_MARKS])
    return "".join(
        [
            "<!doctype html><html><head><meta charset='utf-8'>",
            f"<title>{html.escape(title)}</title>",
            "<style>body{font-family:sans-serif;margin:24px;color:#222}"
            "table{border-collapse:collapse}th,td{border:1px solid #ddd;padding:3px 8px;"
            "text-align:left;font-size:13px}.halt{color:#cf222e;font-weight:bold}</style>",
            "</head><body>",
            f"<h1>{html.escape(title)}</h1>",
            status,
            _chart(
                "Equity (fills marked: green buy, red sell)",
                equity,
                "#0969da",
                max_points,
                shown_marks,
                span,
            ),
            _chart("Drawdown (%)", drawdown, "#cf222e", max_points, time_span=span),
            "<h2>Metrics</h2>",
            _table(metrics),
            "<h2>Run</h2>",
            _table({k: v for k, v in manifest.items() if k != "config"}),
            "</body></html>\n",
        ]
    )
