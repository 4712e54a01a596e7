"""Names and metadata of output columns, all derived from the definition.

Names are stable and SPSS-safe: `{prefix}_{score}` plus suffixes. Labels, value labels and
measurement levels here feed the .sav writer and the codebook, so they cannot drift from scoring.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .instrument import BandSet, Instrument


@dataclass(frozen=True)
class ColumnInfo:
    label: str
    measure: str  # SPSS measurement level: scale, ordinal, nominal
    value_labels: dict[str, str] = field(default_factory=dict)
    decimals: int = 2


def score_column(inst: Instrument, score: str) -> str:
    return f"{inst.output_prefix}_{score}"


def band_column(inst: Instrument, score: str, band_set: BandSet, position: int) -> str:
    base = score_column(inst, score)
    return f"{base}_band" if position == 0 else f"{base}_band_{band_set.name}"


def _method_text(inst: Instrument, name: str) -> str:
    spec = inst.scores[name]
    if spec.items is not None:
        k = len(spec.items)
        what = {"sum": "sum", "mean": "mean", "prorated_sum": "prorated sum"}[spec.method]
        return f"{what} of {k} items"
    return f"{spec.method} of {', '.join(spec.scores or [])}"


def output_columns(
    inst: Instrument, norm_group: str | None = None, norm_by: Mapping[str, str] | None = None
) -> dict[str, ColumnInfo]:
    """Every column `scoring.score` adds for this instrument, in order, with its metadata.

    `norm_group` and `norm_by` are those of the scoring run: z, T and percentile are labelled
    with the group actually used (or, by row, with the columns that chose it).
    """
    out: dict[str, ColumnInfo] = {}
    short = inst.id.upper()
    for name, spec in inst.scores.items():
        base = score_column(inst, name)
        lo, hi = inst.score_range(name)
        decimals = display_decimals(inst, name)
        out[base] = ColumnInfo(
            f"{spec.label} ({_method_text(inst, name)}, range {_range(lo, hi)})",
            "scale",
            decimals=decimals,
        )
        out[f"{base}_n"] = ColumnInfo(f"{short} {name}: items answered", "scale", decimals=0)
        out[f"{base}_status"] = ColumnInfo(f"{short} {name}: scoring status", "nominal")
        for i, band_set in enumerate(spec.bands):
            out[band_column(inst, name, band_set, i)] = ColumnInfo(
                f"{short} {name}: {band_set.name} band", "ordinal"
            )
        if spec.norms:
            out.update(_norm_columns(inst, name, norm_group, norm_by))
    if any(it.critical for it in inst.items):
        p = inst.output_prefix
        out[f"{p}_critical"] = ColumnInfo(
            f"{short}: critical item endorsed (missing: a critical item unanswered, none endorsed)",
            "nominal",
            {"0": "no", "1": "yes"},
            decimals=0,
        )
        out[f"{p}_critical_items"] = ColumnInfo(f"{short}: critical items endorsed", "nominal")
        out[f"{p}_critical_unanswered"] = ColumnInfo(
            f"{short}: critical items unanswered (blank, missing or invalid)", "nominal"
        )
    return out


_PERCENTILE_METHOD = {
    "table": "published table",
    "normal-approximation": "normal approx.",
    "none": "no percentile: skewed norm without a published table",
}


def _norm_columns(inst: Instrument, name: str, norm_group, norm_by) -> dict[str, ColumnInfo]:
    spec = inst.scores[name]
    base = score_column(inst, name)
    short = inst.id.upper()
    if norm_by:
        by = " and ".join(f"{what} ({column})" for what, column in norm_by.items())
        against = f"the row's norm group (by {by}; see {base}_norm_group)"
        methods = sorted({_PERCENTILE_METHOD[g.percentile_method] for g in spec.norms})
        method = "; ".join(methods)
    else:
        from .scoring import _pick_norm

        group = _pick_norm(spec, norm_group)
        against, method = group.group, _PERCENTILE_METHOD[group.percentile_method]
    out = {
        f"{base}_z": ColumnInfo(f"{short} {name}: z vs {against}", "scale"),
        f"{base}_t": ColumnInfo(f"{short} {name}: T-score vs {against}", "scale", decimals=1),
        f"{base}_pct": ColumnInfo(
            f"{short} {name}: percentile vs {against} ({method})", "scale", decimals=1
        ),
    }
    if norm_by:
        out[f"{base}_norm_group"] = ColumnInfo(
            f"{short} {name}: norm group used (none: why no z, T or percentile)", "nominal"
        )
    return out


def display_decimals(inst: Instrument, name: str) -> int:
    """Decimals shown for a score (SPSS format F8.d, reports); the stored value is not rounded.

    The definition's `decimals`, else its `rounding`, else 0 for a sum of items and 2 otherwise.
    """
    spec = inst.scores[name]
    if spec.decimals is not None:
        return spec.decimals
    if spec.rounding is not None:
        return spec.rounding
    if spec.method == "sum" and spec.items is not None:
        return 0
    if spec.method == "sum":
        # a sum of components shows as many decimals as its most precise component
        return max(display_decimals(inst, m) for m in spec.scores or [])
    return 2


def _range(lo: float, hi: float) -> str:
    """'0-27', but '-2 to 2' where a hyphen would read as a minus sign."""
    return f"{lo:g}-{hi:g}" if lo >= 0 else f"{lo:g} to {hi:g}"
