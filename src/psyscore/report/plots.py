"""Static plots for the reliability report, as PNG bytes (matplotlib, Agg canvas, no pyplot).

matplotlib is imported inside the functions, so importing this module costs nothing and
`psyscore reliability` without --html never loads it. Figures are drawn on a bare
``Figure`` + ``FigureCanvasAgg``: no global pyplot state, no GUI backend, safe in threads.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

#: item-rest (corrected item-total) r below this is commonly read as a weak item
R_DROP_GUIDE = 0.30

MAX_LEGEND_CODES = 11
_FLAG_COLOUR = "#b00000"
_OK_COLOUR = "#1f4e79"
_LOW_COLOUR = "#c77c00"


def _codes_sorted(codes: set[str]) -> list[str]:
    def key(c: str) -> tuple[int, float, str]:
        try:
            return (0, float(c), c)
        except ValueError:
            return (1, 0.0, c)

    return sorted(codes, key=key)


def _ordinal_colours(n: int) -> list:
    """Brown (low) to teal (high); the middle code of an odd scale is a visible neutral grey."""
    from matplotlib import colormaps

    cmap = colormaps["BrBG"]
    if n == 1:
        return [cmap(0.8)]
    colours = []
    for i in range(n):
        t = i / (n - 1)
        if n % 2 and i == n // 2:
            colours.append("#b3b3b3")
        else:
            # skip the near-white centre of the diverging map
            colours.append(
                cmap(0.05 + 0.33 * t / 0.5 if t < 0.5 else 0.62 + 0.33 * (t - 0.5) / 0.5)
            )
    return colours


def _legend_columns(texts: list[str], width_in: float = 8.2) -> int:
    """Most legend columns (matplotlib fills column by column) whose estimated width fits."""
    for ncol in range(len(texts), 0, -1):
        rows = math.ceil(len(texts) / ncol)
        chunks = [texts[i : i + rows] for i in range(0, len(texts), rows)]
        if sum(0.36 + 0.058 * max(len(t) for t in c) for c in chunks) <= width_in:
            return ncol
    return 1


def item_plot_png(
    items: Sequence[str],
    *,
    frequencies: dict[str, dict[str, float]] | None,
    n_rows: int,
    r_drop: Sequence[float | None],
    flagged: set[str] = frozenset(),
    reversed_items: set[str] = frozenset(),
    code_labels: dict[str, str] | None = None,
    title: str = "",
    dpi: int = 100,
) -> bytes:
    """One figure per score, items on a shared vertical axis (first item at the top).

    Left: stacked horizontal bars of the keyed response codes, as % of all ``n_rows`` rows
    (missing responses hatched at the right end). Right: item-rest correlation (psych's
    ``r.drop``) per item, with dashed lines at 0 and at ``R_DROP_GUIDE``; flagged items red.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    k = len(items)
    names = [f"{i} (R)" if i in reversed_items else i for i in items]
    codes = _codes_sorted({c for f in (frequencies or {}).values() for c in f})
    labelled = bool(code_labels) and any(code_labels.get(c, c) != c for c in codes)
    legend_texts = [
        f"{c} {code_labels[c]}" if labelled and code_labels.get(c, c) != c else c for c in codes
    ]
    # many codes (a 0-100 slider): name the two ends of the colour ramp only
    legend_keep = list(range(len(codes))) if len(codes) <= MAX_LEGEND_CODES else [0, len(codes) - 1]
    legend_texts = [legend_texts[i] for i in legend_keep] + ["missing"]
    ncol = _legend_columns(legend_texts) if codes else 1
    legend_rows = math.ceil(len(legend_texts) / ncol) if codes else 0

    # layout in inches, converted to figure fractions below
    width = 9.0
    top_in = 0.62 if title else 0.32
    plot_in = 0.26 * k + 0.2
    axis_in = 0.48
    legend_in = 0.2 * legend_rows + (0.12 if legend_rows else 0.0)
    height = top_in + plot_in + axis_in + legend_in
    left_in = 0.25 + 0.068 * max(len(n) for n in names)
    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    bottom = (axis_in + legend_in) / height
    panel_h = plot_in / height
    left = left_in / width
    split = left + (0.98 - left) * 0.66
    ax_f = fig.add_axes((left, bottom, split - left - 0.015, panel_h))
    ax_r = fig.add_axes((split + 0.015, bottom, 0.98 - split - 0.015, panel_h))
    y = list(range(k))
    half = 0.36

    def bars(lefts: list[float], widths: list[float]) -> list:
        return [
            [(x0, yi - half), (x0 + w, yi - half), (x0 + w, yi + half), (x0, yi + half)]
            for yi, x0, w in zip(y, lefts, widths, strict=True)
            if w > 0
        ]

    # ---- response distribution --------------------------------------------------------------
    handles = []
    if codes and frequencies:
        start = [0.0] * k
        for index, (code, colour) in enumerate(
            zip(codes, _ordinal_colours(len(codes)), strict=True)
        ):
            widths = [
                100.0 * ((frequencies.get(item) or {}).get(code) or 0) / n_rows if n_rows else 0.0
                for item in items
            ]
            ax_f.add_collection(PolyCollection(bars(start, widths), facecolors=colour, lw=0))
            start = [a + b for a, b in zip(start, widths, strict=True)]
            if index in legend_keep:
                handles.append(Patch(facecolor=colour, label=legend_texts[len(handles)]))
        missing = [max(0.0, 100.0 - v) for v in start]
        ax_f.add_collection(
            PolyCollection(
                bars(start, missing), facecolors="white", edgecolors="#8c8c8c", hatch="////", lw=0
            )
        )
        handles.append(
            Patch(facecolor="white", edgecolor="#8c8c8c", hatch="////", lw=0, label="missing")
        )
        fig.legend(
            handles=handles,
            loc="lower left",
            bbox_to_anchor=(left, 0.04 / height),
            ncol=ncol,
            fontsize=7,
            frameon=False,
            handlelength=1.2,
            columnspacing=1.0,
        )
    else:
        ax_f.text(
            50,
            (k - 1) / 2,
            "response frequencies not available",
            ha="center",
            va="center",
            fontsize=8,
            color="#555",
        )
    ax_f.set_xlim(0, 100)
    ax_f.set_xticks([0, 25, 50, 75, 100])
    ax_f.set_xlabel("% of rows (keyed responses)", fontsize=8, labelpad=2)
    for ax in (ax_f, ax_r):
        ax.set_ylim(k - 0.5, -0.5)  # first item at the top
    ax_f.set_yticks(y)
    ax_f.set_yticklabels(names, fontsize=8)
    for tick, item in zip(ax_f.get_yticklabels(), items, strict=True):
        if item in flagged:
            tick.set_color(_FLAG_COLOUR)
            tick.set_fontweight("bold")
    ax_f.tick_params(axis="x", labelsize=7, length=2)
    ax_f.tick_params(axis="y", length=0)
    ax_f.set_title("Response distribution", fontsize=9, loc="left")

    # ---- item-rest correlation --------------------------------------------------------------
    vals = [v if v is not None and math.isfinite(v) else None for v in r_drop]
    finite = [v for v in vals if v is not None]
    lo = min(-0.2, *finite) - 0.05 if finite else -0.25
    hi = max(1.0, *finite) if finite else 1.0
    ax_r.axvline(0.0, color="#333", lw=0.8, ls="--")
    ax_r.axvline(R_DROP_GUIDE, color=_LOW_COLOUR, lw=0.8, ls="--")
    segments, colours, xs, ys = [], [], [], []
    for yi, item, v in zip(y, items, vals, strict=True):
        if v is None:
            ax_r.text(0.02, yi, "n/a", va="center", fontsize=7, color="#555")
            continue
        colour = (
            _FLAG_COLOUR
            if (item in flagged or v < 0)
            else _LOW_COLOUR
            if v < R_DROP_GUIDE
            else _OK_COLOUR
        )
        segments.append([(0.0, yi), (v, yi)])
        colours.append(colour)
        xs.append(v)
        ys.append(yi)
    if segments:
        ax_r.add_collection(LineCollection(segments, colors=colours, lw=1.6))
        ax_r.scatter(xs, ys, c=colours, s=22, zorder=3, lw=0)
    ax_r.set_xlim(lo, hi)
    ticks = [t / 10 for t in range(math.ceil(lo * 5) * 2, 11, 2) if lo <= t / 10 <= hi]
    ax_r.set_xticks(ticks)
    ax_r.set_xticklabels(["0" if t == 0 else f"{t:.1f}".replace("0.", ".") for t in ticks])
    ax_r.set_xlabel("item-rest r (r.drop); dashed: 0 and .30", fontsize=8, labelpad=2)
    ax_r.set_yticks([])
    ax_r.tick_params(axis="x", labelsize=7, length=2)
    ax_r.grid(axis="x", color="#eee", lw=0.6)
    ax_r.set_axisbelow(True)
    ax_r.set_title("Item-rest correlation", fontsize=9, loc="left")
    for ax in (ax_f, ax_r):
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    ax_r.spines["left"].set_visible(False)
    if title:
        fig.text(0.01, 1.0 - 0.08 / height, title, fontsize=10, va="top", fontweight="bold")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()
