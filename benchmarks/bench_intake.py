"""Time `psyscore intake` on one form from process start, as a clinician would run it.

    python benchmarks/bench_intake.py [--runs 7]

Runs the installed command in a fresh subprocess several times (imports included) and prints the
median, min and max wall-clock time per variant. Target: median under 1.5 s for the JSON run.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORM = ROOT / "sample_data" / "intake_form_single.csv"
TARGET = 1.5


def command() -> list[str]:
    exe = shutil.which("psyscore")
    return [exe] if exe else [sys.executable, "-c", "from psyscore.cli import main; main()"]


def time_run(args: list[str], runs: int, cwd: Path) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(command() + args, cwd=cwd, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"psyscore {' '.join(args)} failed:\n{proc.stderr}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    opts = parser.parse_args()
    base = ["intake", "--answers", str(FORM), "--bundle", "program-intake"]
    with tempfile.TemporaryDirectory() as tmp:
        variants = [
            ("--json (target)", base + ["--json"]),
            ("terminal report", base),
            ("--json --html", base + ["--json", "--html", str(Path(tmp) / "r.html"), "--force"]),
        ]
        time_run(["--version"], 1, Path(tmp))  # warm the file cache once
        rows = [(name, time_run(args, opts.runs, Path(tmp))) for name, args in variants]
    print(f"psyscore intake, {FORM.name}, bundle program-intake, {opts.runs} runs each")
    print(f"{'variant':<20} {'median s':>9} {'min s':>7} {'max s':>7}")
    for name, times in rows:
        print(f"{name:<20} {statistics.median(times):>9.3f} {min(times):>7.3f} {max(times):>7.3f}")
    median = statistics.median(rows[0][1])
    verdict = "met" if median < TARGET else "NOT met"
    print(f"target: --json median < {TARGET} s: {verdict} ({median:.3f} s)")


if __name__ == "__main__":
    main()
