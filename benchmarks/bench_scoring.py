"""Scoring speed and memory: 1,000,000 synthetic respondents x 100 items in five instruments.

    python benchmarks/bench_scoring.py [--rows 1000000] [--apply-rows 20000]

Prints one table: psyscore's vectorised `score_table` beside the same scoring written the plain way
(a row-wise `DataFrame.apply` with reverse keying, proration and bands per respondent). The plain way
is timed on --apply-rows rows and extrapolated linearly, because running it on a million rows takes
many minutes. Peak memory is measured with tracemalloc (NumPy and pandas report their buffers to it)
and given as a multiple of the item matrix. Targets (issue 2): < 5 s and < 3x the item matrix.
"""

from __future__ import annotations

import argparse
import gc
import os
import time
import tracemalloc

import numpy as np
import pandas as pd

from psyscore import load, score_table

INSTRUMENTS = [
    "mrni-sf",
    "cmni-30",
    "mdrs-22",
    "tas-20",
    "gad-7",
]  # 21 + 30 + 22 + 20 + 7 = 100 items


def make_data(rows: int, seed: int = 1) -> tuple[pd.DataFrame, list]:
    rng = np.random.default_rng(seed)
    instruments = [load(i) for i in INSTRUMENTS]
    columns = {}
    for inst in instruments:
        for item in inst.items:
            scale = inst.scale_of(item)
            codes = np.array(sorted(scale.values), dtype=float)
            col = codes[rng.integers(0, len(codes), rows)]
            col[rng.random(rows) < 0.02] = np.nan  # 2% missing answers
            columns[item.id] = col
    return pd.DataFrame(columns), instruments


def plain_apply(df: pd.DataFrame, instruments) -> pd.DataFrame:
    """What a hand-written script does: one Python call per respondent and score."""
    out = {}
    for inst in instruments:
        by_id = {it.id: it for it in inst.items}
        for name, spec in inst.scores.items():
            if spec.items is None:
                continue
            k = len(spec.items)
            needed = spec.missing.needed(k)

            def one(row, spec=spec, k=k, needed=needed, inst=inst, by_id=by_id):
                vals = []
                for item_id in spec.items:
                    v = row[item_id]
                    if pd.isna(v):
                        continue
                    sc = inst.scale_of(by_id[item_id])
                    vals.append(sc.min + sc.max - v if by_id[item_id].reverse else v)
                if len(vals) < needed:
                    return np.nan
                m = sum(vals) / len(vals)
                return (
                    m
                    if spec.method == "mean"
                    else m * k
                    if spec.method == "prorated_sum"
                    else sum(vals)
                )

            out[f"{inst.output_prefix}_{name}"] = df.apply(one, axis=1)
    return pd.DataFrame(out)


def measure(fn, *, memory: bool = False):
    """Seconds for one call (tracemalloc off: it slows allocation) or its peak traced bytes."""
    gc.collect()
    if memory:
        tracemalloc.start()
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return result, None, peak
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0, None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--apply-rows", type=int, default=20_000)
    args = parser.parse_args()

    df, instruments = make_data(args.rows)
    matrix_bytes = df.memory_usage(index=False).sum()
    result, seconds, _ = measure(lambda: score_table(df, instruments))
    n_scores = sum(len(s.columns) for s in result.scores.values())
    del result
    _, _, peak = measure(lambda: score_table(df, instruments), memory=True)
    # the input must be in memory anyway; the target counts it: (input + extra) / input < 3
    peak_ratio = (matrix_bytes + peak) / matrix_bytes

    small = df.head(args.apply_rows)
    _, small_seconds, _ = measure(lambda: plain_apply(small, instruments))
    fast_small, fast_small_seconds, _ = measure(lambda: score_table(small, instruments))
    apply_estimate = small_seconds * args.rows / args.apply_rows

    print(
        f"psyscore scoring benchmark ({os.cpu_count()} cores), {args.rows:,} respondents x {df.shape[1]} items"
    )
    print(f"instruments: {', '.join(INSTRUMENTS)}; {n_scores} output columns; 2% missing answers")
    print()
    print(f"| {'method':<44} | {'rows':>10} | {'seconds':>8} | {'peak memory / item matrix':>26} |")
    # peak memory = the input table plus everything allocated while scoring
    print(f"|{'-' * 46}|{'-' * 12}|{'-' * 10}|{'-' * 28}|")
    print(
        f"| {'psyscore score_table (vectorised)':<44} | {args.rows:>10,} | {seconds:>8.2f} | {peak_ratio:>25.2f}x |"
    )
    print(
        f"| {'psyscore score_table (vectorised)':<44} | {args.apply_rows:>10,} | {fast_small_seconds:>8.2f} | {'':>26} |"
    )
    print(
        f"| {'plain row-wise DataFrame.apply':<44} | {args.apply_rows:>10,} | {small_seconds:>8.2f} | {'':>26} |"
    )
    print(
        f"| {'plain row-wise apply, extrapolated':<44} | {args.rows:>10,} | {apply_estimate:>8.0f} | {'':>26} |"
    )
    print()
    print(
        f"item matrix: {matrix_bytes / 2**20:,.0f} MiB; peak extra memory while scoring: {peak / 2**20:,.0f} MiB"
    )
    print(f"speed-up over row-wise apply: {apply_estimate / seconds:,.0f}x")
    del fast_small


if __name__ == "__main__":
    main()
