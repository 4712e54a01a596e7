"""Names and metadata of output columns, all derived from the definition.

Names are stable and SPSS-safe: `{prefix}_{score}` plus suffixes. Labels, value labels and
measurement levels here feed the .sav writer and the codebook, so they cannot drift from scoring.
"""

from __future__ import annotations

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


def output_columns(inst: Instrument) -> dict[str, ColumnInfo]:
    """Every column `scoring.score` adds for this instrument, in order, with its metadata."""
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
            group = spec.norms[0].group
            out[f"{base}_z"] = ColumnInfo(f"{short} {name}: z vs {group}", "scale")
            out[f"{base}_t"] = ColumnInfo(
                f"{short} {name}: T-score vs {group}", "scale", decimals=1
            )
            method = {
                "table": "published table",
                "normal-approximation": "normal approx.",
                "none": "no percentile: skewed norm without a published table",
            }[spec.norms[0].percentile_method]
            out[f"{base}_pct"] = ColumnInfo(
                f"{short} {name}: percentile vs {group} ({method})", "scale", decimals=1
            )
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
