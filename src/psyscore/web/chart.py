"""A chart of each score over a client's visits: server-rendered SVG, no script.

The y axis spans the score's whole possible range (from the definition), so two charts of the
same score always look alike; the band thresholds of the score's first band set are drawn as
lines with each band's label, and each visit's value is printed beside its point, so the chart
reads without colour and prints in black and white.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from ..instrument import Instrument

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 200, 14, 34


@dataclass
class Series:
    instrument: Instrument
    score: str  # score name in the definition
    column: str
    label: str
    points: list[tuple[str, float | None]]  # (visit date, value or None when not scored)


def series_of(
    instruments: Sequence[Instrument], results: Sequence[Mapping[str, Any] | None]
) -> list[Series]:
    """One series per score of `instruments`, one point per visit (stored results, by date)."""
    out = []
    for inst in instruments:
        for name, spec in inst.scores.items():
            points: list[tuple[str, float | None]] = []
            column = f"{inst.output_prefix}_{name}"
            for result in results:
                if not result:
                    continue
                value = _value(result, inst.id, name)
                if value is not _ABSENT:
                    points.append((str(result.get("date") or ""), value))
            if any(v is not None for _, v in points):
                out.append(Series(inst, name, column, spec.label, points))
    return out


_ABSENT = object()


def _value(result: Mapping[str, Any], inst_id: str, name: str):
    for inst in result.get("instruments", []):
        if inst.get("id") == inst_id:
            for sc in inst.get("scores", []):
                if sc.get("name") == name:
                    value = sc.get("value")
                    return None if value is None else float(value)
    return _ABSENT


def _fmt(x: float) -> str:
    return f"{x:g}" if abs(x - round(x)) > 1e-9 else str(int(round(x)))


def svg(series: Series) -> Markup:
    """The chart of one score as an inline `<svg>` element."""
    inst, spec = series.instrument, series.instrument.scores[series.score]
    low, high = inst.score_range(series.score)
    if high <= low:
        high = low + 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y(v: float) -> float:
        return TOP + (high - v) / (high - low) * plot_h

    n = len(series.points)

    def x(i: int) -> float:
        return LEFT + (plot_w / 2 if n == 1 else i * plot_w / (n - 1))

    title = f"{series.label}: {', '.join(_point_text(p) for p in series.points)}"
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<rect class="plot" x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}"/>',
    ]
    if spec.bands:
        lower = low
        for k, band in enumerate(spec.bands[0].bands):
            top = min(band.upto, high)
            if k % 2:
                parts.append(
                    f'<rect class="band" x="{LEFT}" y="{y(top):.1f}" width="{plot_w}" '
                    f'height="{max(y(lower) - y(top), 0):.1f}"/>'
                )
            if band.upto < high:
                parts.append(
                    f'<line class="threshold" x1="{LEFT}" x2="{LEFT + plot_w}" '
                    f'y1="{y(band.upto):.1f}" y2="{y(band.upto):.1f}"/>'
                )
            middle = (y(lower) + y(top)) / 2
            parts.append(
                f'<text class="bandlabel" x="{LEFT + plot_w + 6}" y="{middle + 4:.1f}">'
                f"{escape(band.label)} (&#8804; {_fmt(band.upto)})</text>"
            )
            lower = band.upto
    for tick in (low, high):
        parts.append(
            f'<text class="tick" x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">'
            f"{_fmt(tick)}</text>"
        )
    drawn = [(i, v) for i, (_, v) in enumerate(series.points) if v is not None]
    if len(drawn) > 1:
        path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in drawn)
        parts.append(f'<polyline class="line" points="{path}"/>')
    for i, (date, v) in enumerate(series.points):
        parts.append(
            f'<text class="tick" x="{x(i):.1f}" y="{HEIGHT - 12}" text-anchor="middle">'
            f"{escape(date)}</text>"
        )
        if v is None:
            parts.append(
                f'<text class="missing" x="{x(i):.1f}" y="{TOP + plot_h / 2:.1f}" '
                'text-anchor="middle">not scored</text>'
            )
            continue
        parts.append(f'<circle class="point" cx="{x(i):.1f}" cy="{y(v):.1f}" r="4"/>')
        parts.append(
            f'<text class="value" x="{x(i):.1f}" y="{y(v) - 8:.1f}" text-anchor="middle">'
            f"{_fmt(v)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _point_text(point: tuple[str, float | None]) -> str:
    date, v = point
    return f"{date} {'not scored' if v is None else _fmt(v)}"
