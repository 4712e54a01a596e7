"""Time `psyscore intake` on one form from process start, as a clinician would run it.

    python benchmarks/bench_intake.py [--runs 7] [--no-bytecode] [--pdf]

Runs this checkout's command (`python -c "from psyscore.cli import main; main()"` with src/ first on
PYTHONPATH, which is what the installed `psyscore` script does, without a version manager's shim in
front) in a fresh subprocess several times, imports included, and prints the median, min and max
wall-clock time per variant, plus the median CPU time (user + system) of the process, which other
load on the machine disturbs much less than wall time. Every run's output is checked: a run that
fails, or prints no report, stops the benchmark. Target: median under 1.5 s for the JSON run.

Bytecode: an installed psyscore has its modules compiled (pip does it at install time). By default
the benchmark measures that case without touching the checkout: the compiled files go to a
temporary PYTHONPYCACHEPREFIX, filled by one untimed run of each variant. --no-bytecode measures a
setting with PYTHONDONTWRITEBYTECODE instead, where every start compiles psyscore's modules again.

--pdf adds a variant that also writes the PDF report (headless Chromium, a few seconds; not part of
the target).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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
    return [sys.executable, "-c", "from psyscore.cli import main; main()"]


def environment(pycache: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    env.setdefault("COLUMNS", "100")
    if pycache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def check(args: list[str], proc: subprocess.CompletedProcess) -> None:
    """Fail loudly on anything but a real report (a broken install exits 1 too)."""
    ok = proc.returncode in (0, 1) and "Traceback" not in proc.stderr
    if ok and "--json" in args:
        try:
            ok = json.loads(proc.stdout).get("psyscore_intake") == 1
        except ValueError:
            ok = False
    elif ok and args[0] == "intake":
        ok = "Intake report" in proc.stdout
    elif ok:
        ok = proc.stdout.startswith("psyscore ")
    if not ok:
        raise SystemExit(
            f"psyscore {' '.join(args)} failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}"
        )


def time_run(
    args: list[str], runs: int, cwd: Path, pycache: Path | None
) -> tuple[list[float], list[float]]:
    walls, cpus = [], []
    env = environment(pycache)
    subprocess.run(command() + args, cwd=cwd, capture_output=True, env=env)  # warm caches, untimed
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(command() + args, cwd=cwd, capture_output=True, text=True, env=env)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        check(args, proc)
    return walls, cpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--pdf", action="store_true", help="also time --pdf (needs Chromium)")
    parser.add_argument(
        "--no-bytecode",
        action="store_true",
        help="compile psyscore's modules at every start (PYTHONDONTWRITEBYTECODE)",
    )
    opts = parser.parse_args()
    base = ["intake", "--answers", str(FORM), "--bundle", "program-intake"]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        variants = [
            ("--json (target)", base + ["--json"]),
            ("terminal report", base),
            ("--json --html", base + ["--json", "--html", str(out / "r.html"), "--force"]),
            ("--version (start-up)", ["--version"]),
        ]
        if opts.pdf:
            names = ("chromium", "chromium-browser", "google-chrome")
            if not (os.environ.get("PSYSCORE_CHROMIUM") or any(map(shutil.which, names))):
                raise SystemExit("--pdf: no Chromium found")
            variants.append(
                ("--json --pdf", base + ["--json", "--pdf", str(out / "r.pdf"), "--force"])
            )
        pycache = None if opts.no_bytecode else out / "pycache"
        rows = [(name, *time_run(args, opts.runs, out, pycache)) for name, args in variants]
    caching = "off (compiled at every start)" if opts.no_bytecode else "on (as installed)"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"psyscore intake, {FORM.name}, bundle program-intake, {opts.runs} runs each; "
        f"{os.cpu_count()} CPUs, load average {load:.1f} at the end; bytecode caching {caching}"
    )
    print(f"{'variant':<22} {'median s':>9} {'min s':>7} {'max s':>7} {'CPU s':>7}")
    for name, walls, cpus in rows:
        print(
            f"{name:<22} {statistics.median(walls):>9.3f} {min(walls):>7.3f} {max(walls):>7.3f} "
            f"{statistics.median(cpus):>7.3f}"
        )
    median = statistics.median(rows[0][1])
    verdict = "met" if median < TARGET else "NOT met"
    print(f"target: --json median < {TARGET} s: {verdict} ({median:.3f} s)")


if __name__ == "__main__":
    main()
