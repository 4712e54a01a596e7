"""Run a definition's golden examples (answers -> expected scores) through the real engine.

Expected values are compared within 1e-6, except a score the definition does not round (means,
prorated sums: stored at full precision), whose expectation may be written to two decimals as
a person computes it by hand: those are compared within 5e-3 (4.17 for 25/6 passes, 4.16 does
not). Its `_z`, `_t` and `_pct` are rounded by the engine and compared within 1e-6.
"""

from __future__ import annotations

import math

import pandas as pd

from .instrument import Instrument
from .responses import resolve
from .scoring import score


def check_examples(inst: Instrument) -> list[str]:
    """Return one message per expectation that the engine does not meet (empty list: all pass)."""
    if not inst.examples:
        return []
    rows = [{item: ex.answers.get(item) for item in inst.item_ids} for ex in inst.examples]
    table = pd.DataFrame(rows, columns=inst.item_ids).astype(object)
    items, _ = resolve(inst, table)
    result = score(items)
    failures = []
    prefix = inst.output_prefix
    unrounded = {name for name, spec in inst.scores.items() if spec.rounding is None}
    for r, ex in enumerate(inst.examples):
        for key, want in ex.expect.items():
            column = f"{prefix}_{key}"
            if key == "critical" and column not in result.columns:
                # an instrument without critical items never raises the flag
                if not _same(0, want):
                    failures.append(
                        f"example {ex.name!r}: critical expected {want!r}, engine gave 0"
                    )
                continue
            if column not in result.columns:
                failures.append(f"example {ex.name!r}: unknown expected output {key!r} ({column})")
                continue
            got = result[column].iloc[r]
            tolerance = HAND_TOLERANCE if key in unrounded else EXACT
            if not _same(got, want, tolerance):
                failures.append(
                    f"example {ex.name!r}: {key} expected {want!r}, engine gave {_plain(got)!r}"
                )
    return failures


def _plain(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


EXACT = 1e-6
HAND_TOLERANCE = 5e-3 + 1e-9  # half a unit in the second decimal (float slack for 4.375 vs 4.38)


def _same(got: object, want: object, tolerance: float = EXACT) -> bool:
    got = _plain(got)
    if want is None or got is None:
        return want is None and got is None
    if isinstance(want, str) or isinstance(got, str):
        return str(got) == str(want)
    return math.isclose(float(got), float(want), rel_tol=0, abs_tol=tolerance)
