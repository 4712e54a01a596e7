"""Scaling: time and peak memory of `psyscore score` and `psyscore reliability` from 100,000 to
5,000,000 rows (20,000,000 with --max-rows 20000000), in memory and in chunks, beside peers.

    python benchmarks/bench_scaling.py                      # 100k, 1M, 5M rows x 30 items
    python benchmarks/bench_scaling.py --max-rows 20000000  # also 20M
    python benchmarks/bench_scaling.py --max-rows 1000000 --out table.md

Data: a generated CSV, an id column and 30 items coded 0-4 (2% missing, 10 reverse-keyed), one
sum score (prorated when at most 3 items are missing). Every measurement is a fresh process, run
by a small parent that reads its ru_maxrss (peak resident memory, interpreter and libraries
included). Peers, where installed: a plain pandas + numpy script (read_csv, reverse-key, sum,
to_csv; alpha from the covariance matrix), a pyarrow + numpy floor (pyarrow's CSV reader and
writer, the same numpy), and R (base read.csv/write.csv and rowSums; psych::alpha) up to
--r-max-rows rows.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

K = 30
REVERSED = list(range(1, K + 1, 3))  # items 1, 4, 7, ... are reverse-keyed

DEFINITION = (
    textwrap.dedent(
        """
    id: bench-30
    name: Benchmark thirty-item scale
    construct: other
    citation: psyscore benchmark fixture
    licence: {status: public-domain, item_text_shipped: true}
    key: {source: generated for benchmarks, verified: true}
    prefix: b30
    column_prefixes: [b30]
    response_scales:
      agree5: {values: {0: a, 1: b, 2: c, 3: d, 4: e}}
    items:
    """
    )
    + "".join(
        f"  - {{id: b30_{j}, label: item {j}, scale: agree5{', reverse: true' if j in REVERSED else ''}}}\n"
        for j in range(1, K + 1)
    )
    + textwrap.dedent(
        f"""
    scores:
      total:
        label: Total
        items: [{", ".join(f"b30_{j}" for j in range(1, K + 1))}]
        method: prorated_sum
        missing: {{max_missing: 3}}
    """
    )
)

MEASURE = """
import resource, subprocess, sys, time, json
t = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
seconds = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak, "rc": done.returncode,
                  "err": done.stderr[-500:]}))
"""

PANDAS_SCORE = """
import sys, numpy as np, pandas as pd
src, dst, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
df = pd.read_csv(src)
items = [f"b30_{j}" for j in range(1, k + 1)]
x = df[items].to_numpy(dtype=float, copy=True)
rev = np.array([j in set(range(1, k + 1, 3)) for j in range(1, k + 1)])
x[:, rev] = 4 - x[:, rev]
n = (~np.isnan(x)).sum(axis=1)
total = np.nansum(x, axis=1) * k / np.maximum(n, 1)
total[n < k - 3] = np.nan
df["b30_total"] = np.round(total, 2)
df.to_csv(dst, index=False)
"""

PANDAS_ALPHA = """
import sys, numpy as np, pandas as pd
src, k = sys.argv[1], int(sys.argv[2])
items = [f"b30_{j}" for j in range(1, k + 1)]
x = pd.read_csv(src, usecols=items)[items].to_numpy(dtype=float, copy=True)
rev = np.array([j in set(range(1, k + 1, 3)) for j in range(1, k + 1)])
x[:, rev] = 4 - x[:, rev]
c = pd.DataFrame(x).cov().to_numpy()  # pairwise
alpha = k / (k - 1) * (1 - np.trace(c) / c.sum())
print(alpha)
"""

ARROW_SCORE = """
import sys, numpy as np, pyarrow as pa, pyarrow.csv as pc
src, dst, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
t = pc.read_csv(src)
x = np.column_stack([t.column(f"b30_{j}").to_numpy(zero_copy_only=False).astype(float)
                     for j in range(1, k + 1)])
rev = np.array([j in set(range(1, k + 1, 3)) for j in range(1, k + 1)])
x[:, rev] = 4 - x[:, rev]
n = (~np.isnan(x)).sum(axis=1)
total = np.nansum(x, axis=1) * k / np.maximum(n, 1)
total[n < k - 3] = np.nan
t = t.append_column("b30_total", pa.array(np.round(total, 2), from_pandas=True))
pc.write_csv(t, dst)
"""

ARROW_ALPHA = """
import sys, numpy as np, pyarrow.csv as pc
src, k = sys.argv[1], int(sys.argv[2])
names = [f"b30_{j}" for j in range(1, k + 1)]
t = pc.read_csv(src, convert_options=pc.ConvertOptions(include_columns=names))
x = np.column_stack([t.column(n).to_numpy(zero_copy_only=False).astype(float) for n in names])
rev = np.array([j in set(range(1, k + 1, 3)) for j in range(1, k + 1)])
x[:, rev] = 4 - x[:, rev]
m = ~np.isnan(x)
x0 = np.where(m, x, 0.0)
n = m.T.astype(float) @ m
s = x0.T @ m
c = (x0.T @ x0 - s * s.T / n) / (n - 1)
print(k / (k - 1) * (1 - np.trace(c) / c.sum()))
"""

R_SCORE = """
args <- commandArgs(TRUE); k <- as.integer(args[3])
df <- read.csv(args[1])
items <- paste0("b30_", 1:k); rev <- seq(1, k, by = 3)
x <- as.matrix(df[items]); x[, rev] <- 4 - x[, rev]
n <- rowSums(!is.na(x)); total <- rowSums(x, na.rm = TRUE) * k / pmax(n, 1)
total[n < k - 3] <- NA
df$b30_total <- round(total, 2)
write.csv(df, args[2], row.names = FALSE, na = "")
"""

R_ALPHA = """
args <- commandArgs(TRUE); k <- as.integer(args[2])
items <- paste0("b30_", 1:k)
x <- read.csv(args[1])[items]
suppressMessages(a <- psych::alpha(x, keys = items[seq(1, k, by = 3)], check.keys = FALSE))
cat(a$total$raw_alpha, "\\n")
"""


def generate(path: Path, rows: int) -> None:
    """A CSV of `rows` rows: a block of 10,000 distinct rows written again and again (fast)."""
    import numpy as np

    rng = np.random.default_rng(3)
    block = 10_000
    codes = rng.integers(0, 5, size=(block, K)).astype(object)
    codes[rng.random((block, K)) < 0.02] = ""
    lines = [",".join(map(str, row)) for row in codes]
    with open(path, "w") as fh:
        fh.write("rid," + ",".join(f"b30_{j}" for j in range(1, K + 1)) + "\n")
        done = 0
        while done < rows:
            n = min(block, rows - done)
            fh.write("".join(f"R{done + i:08d},{lines[i]}\n" for i in range(n)))
            done += n


def measure(cmd: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def cases(
    data: Path,
    out: Path,
    definition: Path,
    rows: int,
    r_max: int,
    chunk: int,
    whole_max: int = 5_000_000,
    peers_max: int = 5_000_000,
):
    psyscore = [sys.executable, "-m", "psyscore"]
    py = sys.executable
    whole = rows <= whole_max  # in memory: 20M rows x 30 need about 13 GB (score) and more
    peers = rows <= peers_max
    if whole:
        yield (
            "score",
            "psyscore, in memory",
            [*psyscore, "score", data, "-i", definition, "-o", out, "--force", "--chunk-rows", "0"],
        )
    yield (
        "score",
        f"psyscore, chunks of {chunk:,}",
        [*psyscore, "score", data, "-i", definition, "-o", out, "--force", "--chunk-rows", chunk],
    )
    if peers:
        yield "score", "pandas + numpy script", [py, "-c", PANDAS_SCORE, data, out, K]
        yield "score", "pyarrow + numpy floor", [py, "-c", ARROW_SCORE, data, out, K]
    if shutil.which("Rscript") and rows <= r_max:
        yield "score", "R (read.csv, rowSums, write.csv)", ["Rscript", "-e", R_SCORE, data, out, K]
    if whole:
        yield (
            "reliability",
            "psyscore, in memory",
            [*psyscore, "reliability", data, "-i", definition, "--json", "--chunk-rows", "0"],
        )
    yield (
        "reliability",
        f"psyscore, chunks of {chunk:,}",
        [*psyscore, "reliability", data, "-i", definition, "--json", "--chunk-rows", chunk],
    )
    if peers:
        yield "reliability", "pandas + numpy (alpha only)", [py, "-c", PANDAS_ALPHA, data, K]
        yield "reliability", "pyarrow + numpy (alpha only)", [py, "-c", ARROW_ALPHA, data, K]
    if shutil.which("Rscript") and rows <= r_max:
        yield "reliability", "R psych::alpha", ["Rscript", "-e", R_ALPHA, data, K]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-rows", type=int, default=5_000_000)
    parser.add_argument("--min-rows", type=int, default=100_000, help="also this size (a try)")
    parser.add_argument("--r-max-rows", type=int, default=1_000_000)
    parser.add_argument("--chunk-rows", type=int, default=500_000)
    parser.add_argument(
        "--whole-max-rows", type=int, default=5_000_000, help="psyscore in memory up to this size"
    )
    parser.add_argument(
        "--peers-max-rows", type=int, default=5_000_000, help="the Python peers up to this size"
    )
    parser.add_argument("--out", type=Path, help="also write the Markdown table here")
    args = parser.parse_args()
    sizes = sorted(
        {
            n
            for n in (args.min_rows, 100_000, 1_000_000, 5_000_000, 20_000_000)
            if n <= args.max_rows
        }
    )
    lines = [
        "| rows | task | method | time (s) | peak RSS (MB) |",
        "|---:|---|---|---:|---:|",
    ]
    missing = [] if shutil.which("Rscript") else ["R: not installed"]
    with tempfile.TemporaryDirectory(prefix="psyscore-scaling-") as tmp:
        folder = Path(tmp)
        definition = folder / "bench-30.yaml"
        definition.write_text(DEFINITION)
        for rows in sizes:
            data = folder / f"data_{rows}.csv"
            started = time.perf_counter()
            generate(data, rows)
            print(
                f"# {rows:,} rows: {data.stat().st_size / 1e6:,.0f} MB "
                f"(made in {time.perf_counter() - started:.0f} s)",
                file=sys.stderr,
            )
            for task, method, cmd in cases(
                data,
                folder / "out.csv",
                definition,
                rows,
                args.r_max_rows,
                min(args.chunk_rows, rows),
                args.whole_max_rows,
                args.peers_max_rows,
            ):
                got = measure([str(c) for c in cmd])
                ok = got["rc"] in (0, 1)
                time_text = f"{got['seconds']:.1f}" if ok else f"failed (exit {got['rc']})"
                line = f"| {rows:,} | {task} | {method} | {time_text} | {got['peak_mb']:,.0f} |"
                lines.append(line)
                print(line, file=sys.stderr, flush=True)
                if not ok:
                    print(got["err"], file=sys.stderr)
            data.unlink()
    table = "\n".join(lines) + ("\n\n" + "; ".join(missing) if missing else "") + "\n"
    print(table)
    if args.out:
        args.out.write_text(table)


if __name__ == "__main__":
    main()
