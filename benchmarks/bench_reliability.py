"""Benchmark of psyscore.psychometrics against pingouin and R psych.

Run (from the repository root)::

    python benchmarks/bench_reliability.py            # includes R if Rscript + psych exist
    python benchmarks/bench_reliability.py --no-r     # Python only
    python benchmarks/bench_reliability.py --quick    # smaller data (smoke test)

Cases
-----
A. 1,000,000 x 30 five-point items, complete (int8): every statistic except omega and
   bootstrap (``analyse_scale(..., omega=False)``: alpha, std alpha, Feldt + ASE CIs, G6,
   average/median r, S/N, item statistics and frequencies, alpha-if-deleted table, odd-even
   and all-splits split-half). Target < 0.5 s.
B. The same with 10% of the values missing (pairwise deletion: per block of rows, one product of
   [x, mask] with itself and one of x**2 with the mask, in float32, exact for small integer
   codes). Target < 0.5 s.
C. 100,000 x 50 items in 5 scales of 10, everything including omega (Schmid-Leiman, 3 factors,
   and one-factor). Target < 1 s for all five scales.

psych::scoreItems imputes missing values (item medians) by default, so its alpha differs in
case B. Python timings are the best of ``--repeat`` runs after one warm-up (``cpu`` is the process
CPU time of that run: above ``seconds`` when several cores work, and a check on a busy machine);
R timings are the ``system.time`` elapsed seconds of one call (data loading excluded).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from psyscore.psychometrics import analyse_scale


def make_items(n: int, k: int, seed: int, n_scales: int = 1, missing: float = 0.0) -> np.ndarray:
    """Five-point items from a latent trait per scale (int8; -1 = missing)."""
    rng = np.random.default_rng(seed)
    per = k // n_scales
    theta = rng.standard_normal((n, n_scales)).astype(np.float32)
    load = np.repeat(theta, per, axis=1)
    x = np.rint(3.0 + 0.9 * load + rng.standard_normal((n, k), dtype=np.float32))
    x = np.clip(x, 1, 5).astype(np.int8)
    if missing:
        x[rng.random((n, k), dtype=np.float32) < missing] = -1
    return x


def to_frame(x: np.ndarray, prefix: str = "i") -> pd.DataFrame:
    cols = [f"{prefix}{j + 1}" for j in range(x.shape[1])]
    if (x < 0).any():
        return pd.DataFrame(np.where(x < 0, np.nan, x.astype(np.float64)), columns=cols)
    return pd.DataFrame(x, columns=cols)


@dataclass(frozen=True)
class Timed:
    """Elapsed seconds of a run and, for Python runs, its process CPU seconds."""

    seconds: float
    cpu: float = float("nan")


def best_of(fn, repeat: int) -> tuple[Timed, object]:
    fn()  # warm-up
    best, out = Timed(np.inf), None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        t, c = time.perf_counter() - t, time.process_time() - c
        if t < best.seconds:
            best = Timed(t, c)
    return best, out


R_SCRIPT = r"""
suppressPackageStartupMessages(library(psych))
args <- commandArgs(trailingOnly = TRUE)
path <- args[1]; n <- as.integer(args[2]); k <- as.integer(args[3])
n_scales <- as.integer(args[4]); do_omega <- args[5] == "1"
con <- file(path, "rb"); v <- readBin(con, integer(), n = n * k, size = 1, signed = TRUE)
close(con)
v[v < 0] <- NA
x <- as.data.frame(matrix(v, nrow = n, ncol = k, byrow = TRUE))
per <- k %/% n_scales
t_alpha <- 0; t_omega <- 0; alphas <- c()
for (s in seq_len(n_scales)) {
  xs <- x[, ((s - 1) * per + 1):(s * per)]
  t_alpha <- t_alpha + system.time(a <- alpha(xs, warnings = FALSE))[["elapsed"]]
  alphas <- c(alphas, a$total$raw_alpha)
  if (do_omega) t_omega <- t_omega + system.time(
    suppressWarnings(suppressMessages(o <- omega(xs, nfactors = 3, plot = FALSE))))[["elapsed"]]
}
keys <- lapply(seq_len(n_scales), function(s) colnames(x)[((s - 1) * per + 1):(s * per)])
names(keys) <- paste0("S", seq_len(n_scales))
t_score <- system.time(sc <- scoreItems(keys, x))[["elapsed"]]
cat(sprintf("alpha %.3f %.10f\n", t_alpha, alphas[1]))
if (do_omega) cat(sprintf("omega %.3f\n", t_omega))
cat(sprintf("scoreItems %.3f %.10f\n", t_score, sc$alpha[1]))
"""


def run_r(x: np.ndarray, n_scales: int, do_omega: bool, timeout: float) -> dict | None:
    if shutil.which("Rscript") is None:
        return None
    ok = subprocess.run(
        ["Rscript", "-e", "library(psych)"], capture_output=True, text=True, check=False
    )
    if ok.returncode != 0:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        data, script = Path(tmp) / "x.bin", Path(tmp) / "bench.R"
        np.ascontiguousarray(x).tofile(data)
        script.write_text(R_SCRIPT)
        args = [str(data), str(x.shape[0]), str(x.shape[1]), str(n_scales)]
        try:
            res = subprocess.run(
                ["Rscript", str(script), *args, "1" if do_omega else "0"],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout:.0f} s"}
    if res.returncode != 0:
        return {"error": res.stderr.strip().splitlines()[-1] if res.stderr else "failed"}
    out = {}
    for line in res.stdout.splitlines():
        parts = line.split()
        out[parts[0]] = [float(p) for p in parts[1:]]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-r", action="store_true", help="skip the R psych timings")
    ap.add_argument("--quick", action="store_true", help="10x smaller data")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--r-timeout", type=float, default=900.0)
    opts = ap.parse_args()
    warnings.filterwarnings("ignore")
    import pingouin as pg

    scale = 10 if opts.quick else 1
    rows: list[tuple[str, str, Timed, str, str]] = []

    # ---- A / B: one long scale
    n = 1_000_000 // scale
    big = f"{n // 1000}k" if n < 1_000_000 else f"{n // 1_000_000}M"
    for label, missing in [(f"A  {big} x 30 complete", 0.0), (f"B  {big} x 30, 10% NA", 0.1)]:
        x = make_items(n, 30, seed=1, missing=missing)
        df = to_frame(x)
        t, res = best_of(
            lambda df=df: analyse_scale(df, omega=False, scale_min=1, scale_max=5), opts.repeat
        )
        target = "< 0.5 s"
        rows.append(
            (label, "psyscore analyse_scale (no omega)", t, f"{res.summary['alpha']:.6f}", target)
        )
        t, (a, _) = best_of(lambda df=df: pg.cronbach_alpha(df), opts.repeat)
        rows.append((label, "pingouin.cronbach_alpha (alpha + CI)", t, f"{a:.6f}", ""))
        if not opts.no_r:
            r = run_r(x, 1, False, opts.r_timeout)
            if r is None:
                rows.append((label, "R psych", Timed(np.nan), "R/psych not installed", ""))
            elif "error" in r:
                rows.append((label, "R psych::alpha", Timed(np.nan), r["error"], ""))
            else:
                a = f"{r['alpha'][1]:.6f}"
                rows.append((label, "R psych::alpha", Timed(r["alpha"][0]), a, ""))
                rows.append(
                    (
                        label,
                        "R psych::scoreItems",
                        Timed(r["scoreItems"][0]),
                        f"{r['scoreItems'][1]:.6f}",
                        "",
                    )
                )

    # ---- C: five scales with omega
    n = 100_000 // scale
    label = f"C  {n // 1000}k x 50, 5 scales"
    x = make_items(n, 50, seed=2, n_scales=5)
    df = to_frame(x)
    scales = {f"S{s + 1}": list(df.columns[s * 10 : (s + 1) * 10]) for s in range(5)}

    def all_scales(omega: bool):
        return [
            analyse_scale(df[cols], name=name, omega=omega, scale_min=1, scale_max=5)
            for name, cols in scales.items()
        ]

    t, res = best_of(lambda: all_scales(True), opts.repeat)
    rows.append(
        (
            label,
            "psyscore 5 x analyse_scale (with omega)",
            t,
            f"{res[0].summary['alpha']:.6f}",
            "< 1 s",
        )
    )
    om = res[0].summary
    t, _ = best_of(lambda: all_scales(False), opts.repeat)
    rows.append((label, "psyscore 5 x analyse_scale (no omega)", t, "", ""))
    t, a = best_of(lambda: [pg.cronbach_alpha(df[c]) for c in scales.values()], opts.repeat)
    rows.append((label, "pingouin.cronbach_alpha x 5", t, f"{a[0][0]:.6f}", ""))
    if not opts.no_r:
        r = run_r(x, 5, True, opts.r_timeout)
        if r is None:
            rows.append((label, "R psych", Timed(np.nan), "R/psych not installed", ""))
        elif "error" in r:
            rows.append((label, "R psych", Timed(np.nan), r["error"], ""))
        else:
            a = f"{r['alpha'][1]:.6f}"
            rows.append((label, "R psych::alpha x 5", Timed(r["alpha"][0]), a, ""))
            rows.append((label, "R psych::omega x 5 (nfactors=3)", Timed(r["omega"][0]), "", ""))
            rows.append(
                (
                    label,
                    "R psych::scoreItems (5 keys)",
                    Timed(r["scoreItems"][0]),
                    f"{r['scoreItems'][1]:.6f}",
                    "",
                )
            )

    print(
        f"psyscore reliability benchmark  (cpus={os.cpu_count()}, python {sys.version.split()[0]}, "
        f"numpy {np.__version__}, pingouin {pg.__version__})"
    )
    print(f"omega S1: omega_h={om['omega_h']:.4f} omega_total={om['omega_total']:.4f}")
    w = [24, 40, 8, 6, 24, 8]
    head = ["case", "tool", "seconds", "cpu", "alpha (scale 1)", "target"]
    print("  ".join(h.ljust(c) for h, c in zip(head, w, strict=True)))
    print("  ".join("-" * c for c in w))
    for case, tool, tm, val, target in rows:
        s = "n/a" if not np.isfinite(tm.seconds) else f"{tm.seconds:.3f}"
        c = "" if not np.isfinite(tm.cpu) else f"{tm.cpu:.2f}"
        cells = [case.ljust(w[0]), tool.ljust(w[1]), s.rjust(w[2]), c.rjust(w[3]), val.ljust(w[4])]
        print("  ".join([*cells, target]))


if __name__ == "__main__":
    main()
