"""Time psyscore's .xlsx and .sav readers/writers beside plain pandas/pyreadstat, with peak memory.

    python benchmarks/bench_io.py                                   # quick: 10,000 / 100,000 rows
    python benchmarks/bench_io.py --xlsx-rows 100000 --sav-rows 1000000   # the issue's sizes
    python benchmarks/bench_io.py --xlsx-rows 0 --sav-rows 1000000 --tasks write   # .sav writers

The .sav writers include R haven (`write_sav`, uncompressed and with its default byte
compression) when Rscript and the haven package are installed (Debian: r-cran-haven); R draws
its own random answers of the same shape. Otherwise those rows are skipped with a note.

Data: synthetic answers 0-4 in 58 item columns plus an id and a site text column (60 columns).
Each measurement runs in a fresh Python process, so its peak resident memory (ru_maxrss) is its
own; "x data" is that peak divided by the in-memory size of the DataFrame being read or written
(the interpreter and libraries, about 100-150 MB, are included, so small files look worse).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

COLS = 60

SETUP = """
import json, resource, sys, time
import numpy as np, pandas as pd
def frame(rows):
    rng = np.random.default_rng(7)
    data = {"rid": [f"R{i:07d}" for i in range(rows)], "site": rng.choice(["north", "south"], rows)}
    for j in range(%(cols)d - 2):
        data[f"item_{j + 1}"] = rng.integers(0, 5, rows).astype("float64")
    return pd.DataFrame(data)
"""

# (task, method, code run in the child: `path` and `rows` are defined; must set `df`)
CASES = {
    "xlsx": [
        ("write", "psyscore (openpyxl write-only)",
         "from psyscore.io import Table, write_table\ndf = frame(rows)\n"
         "t = time.perf_counter(); write_table(Table(data=df), path)"),
        ("write", "pandas to_excel (openpyxl)",
         "df = frame(rows)\nt = time.perf_counter(); df.to_excel(path + '.b.xlsx', index=False, engine='openpyxl')"),
        ("read", "psyscore (calamine)",
         "from psyscore.io import read_table\nt = time.perf_counter(); df = read_table(path).data"),
        ("read", "pandas read_excel (openpyxl)",
         "t = time.perf_counter(); df = pd.read_excel(path, engine='openpyxl')"),
    ],
    "sav": [
        ("write", "psyscore",
         "from psyscore.io import Table, write_table\ndf = frame(rows)\n"
         "t = time.perf_counter(); write_table(Table(data=df), path)"),
        ("write", "psyscore, row compression",
         "from psyscore.io import Table, write_table\ndf = frame(rows)\n"
         "t = time.perf_counter(); write_table(Table(data=df, compression='rows'), path + '.c.sav')"),
        ("write", "plain pyreadstat.write_sav",
         "import pyreadstat\ndf = frame(rows)\nt = time.perf_counter(); pyreadstat.write_sav(df, path + '.b.sav')"),
        ("write", "R haven::write_sav, compress='none'", "R:none"),
        ("write", "R haven::write_sav, compress='byte' (its default)", "R:byte"),
        ("read", "psyscore",
         "from psyscore.io import read_table\nt = time.perf_counter(); df = read_table(path).data"),
        ("read", "plain pyreadstat.read_sav",
         "import pyreadstat\nt = time.perf_counter(); df, _ = pyreadstat.read_sav(path, user_missing=True)"),
    ],
}  # fmt: skip

TAIL = """
secs = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB -> MB on Linux
children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
data_mb = df.memory_usage(deep=True).sum() / 1e6
print(json.dumps({"seconds": secs, "peak_mb": max(peak, children), "data_mb": data_mb}))
"""


# R haven on the same shape of data (its own random draws): time and peak memory of one
# Rscript process, measured by a Python parent (RUSAGE_CHILDREN); data size from object.size
R_SCRIPT = """
suppressMessages(library(haven))
args <- commandArgs(TRUE); rows <- as.integer(args[1])
set.seed(7)
df <- data.frame(rid = sprintf("R%%07d", seq_len(rows) - 1L),
                 site = sample(c("north", "south"), rows, replace = TRUE))
for (j in seq_len(%(cols)d - 2)) df[[paste0("item_", j)]] = as.double(sample(0:4, rows, TRUE))
t <- proc.time()[["elapsed"]]
write_sav(df, args[2], compress = args[3])
cat(proc.time()[["elapsed"]] - t, as.numeric(object.size(df)) / 1e6, "\\n")
"""

R_PARENT = """
import json, resource, subprocess, sys
out = subprocess.run(sys.argv[1:], capture_output=True, text=True, check=True).stdout.split()
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"seconds": float(out[0]), "peak_mb": peak, "data_mb": float(out[1])}))
"""


def haven_available() -> str | None:
    """Why R haven cannot be timed here, or None when it can."""
    if shutil.which("Rscript") is None:
        return "Rscript is not on PATH"
    probe = subprocess.run(
        ["Rscript", "-e", "library(haven)"], capture_output=True, text=True, check=False
    )
    return None if probe.returncode == 0 else "R package haven is not installed"


def run_r(compress: str, path: Path, rows: int) -> dict:
    script = path.parent / "bench_haven.R"
    script.write_text(R_SCRIPT % {"cols": COLS}, encoding="utf-8")
    target = str(path) + f".haven-{compress}.sav"
    command = [sys.executable, "-c", R_PARENT, "Rscript", str(script), str(rows), target, compress]
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(code: str, path: Path, rows: int) -> dict:
    if code.startswith("R:"):
        return run_r(code[2:], path, rows)
    script = SETUP % {"cols": COLS} + f"path = {str(path)!r}\nrows = {rows}\n" + code + TAIL
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xlsx-rows", type=int, default=10_000)
    parser.add_argument("--sav-rows", type=int, default=100_000)
    parser.add_argument("--tasks", choices=["both", "write"], default="both")
    args = parser.parse_args()
    print(f"| task | method | rows x {COLS} cols | seconds | peak MB | x data |")
    print("|---|---|---|---|---|---|")
    no_haven = haven_available()
    skipped = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind, rows in (("xlsx", args.xlsx_rows), ("sav", args.sav_rows)):
            if rows <= 0:
                continue
            path = Path(tmp) / f"a.{kind}"
            for task, method, code in CASES[kind]:
                if args.tasks not in {"both", task}:
                    continue
                if code.startswith("R:") and no_haven:
                    skipped.append(f"{method}: skipped ({no_haven})")
                    continue
                r = run(code, path, rows)
                ratio = r["peak_mb"] / r["data_mb"]
                print(
                    f"| {kind} {task} | {method} | {rows:,} | {r['seconds']:.2f} | "
                    f"{r['peak_mb']:.0f} | {ratio:.1f} |",
                    flush=True,
                )
    for note in dict.fromkeys(skipped):
        print(note)


if __name__ == "__main__":
    main()
