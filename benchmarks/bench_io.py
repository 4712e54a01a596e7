"""Time psyscore's .xlsx and .sav readers/writers against the plain pandas/pyreadstat calls.

    python benchmarks/bench_io.py                       # quick: 10,000-row xlsx, 100,000-row sav
    python benchmarks/bench_io.py --xlsx-rows 100000 --sav-rows 1000000

Data: synthetic answers 0-4 in 58 item columns plus an id and a site text column (60 columns).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat

from psyscore.io import Table, read_table, write_table

COLS = 60


def frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    data = {"rid": [f"R{i:07d}" for i in range(rows)], "site": rng.choice(["north", "south"], rows)}
    for j in range(COLS - 2):
        data[f"item_{j + 1}"] = rng.integers(0, 5, rows).astype("float64")
    return pd.DataFrame(data)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xlsx-rows", type=int, default=10_000)
    parser.add_argument("--sav-rows", type=int, default=100_000)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        df = frame(args.xlsx_rows)
        x1, x2 = tmp / "a.xlsx", tmp / "b.xlsx"
        results.append(
            (
                "xlsx write",
                "psyscore (openpyxl write-only)",
                args.xlsx_rows,
                timed(lambda: write_table(Table(data=df), x1)),
            )
        )
        results.append(
            (
                "xlsx write",
                "pandas to_excel (openpyxl)",
                args.xlsx_rows,
                timed(lambda: df.to_excel(x2, index=False, engine="openpyxl")),
            )
        )
        results.append(
            ("xlsx read", "psyscore (calamine)", args.xlsx_rows, timed(lambda: read_table(x1)))
        )
        results.append(
            (
                "xlsx read",
                "pandas read_excel (openpyxl)",
                args.xlsx_rows,
                timed(lambda: pd.read_excel(x1, engine="openpyxl")),
            )
        )
        df = frame(args.sav_rows)
        s1, s2 = tmp / "a.sav", tmp / "b.sav"
        results.append(
            ("sav write", "psyscore", args.sav_rows, timed(lambda: write_table(Table(data=df), s1)))
        )
        results.append(
            (
                "sav write",
                "plain pyreadstat",
                args.sav_rows,
                timed(lambda: pyreadstat.write_sav(df, str(s2))),
            )
        )
        results.append(("sav read", "psyscore", args.sav_rows, timed(lambda: read_table(s1))))
        results.append(
            (
                "sav read",
                "plain pyreadstat",
                args.sav_rows,
                timed(lambda: pyreadstat.read_sav(str(s1))),
            )
        )
    print(f"| task | method | rows x {COLS} cols | seconds |")
    print("|---|---|---|---|")
    for task, method, rows, secs in results:
        print(f"| {task} | {method} | {rows:,} | {secs:.2f} |")


if __name__ == "__main__":
    main()
