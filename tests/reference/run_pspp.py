"""Run the GNU PSPP reference syntax and parse its output into a JSON fixture.

Re-run (from the repository root; needs ``pspp`` on PATH, tested with GNU PSPP 1.6.2)::

    python tests/reference/run_pspp.py

It runs ``tests/reference/reliability.sps`` (RELIABILITY /MODEL=ALPHA and /MODEL=SPLIT(k/2),
/SUMMARY=TOTAL on each dataset in ``tests/reference/data``; ``SET FORMAT=F30.12`` so that
the tables carry 12 decimals), keeps the raw CSV output as ``fixtures/pspp_output.csv`` and
writes the parsed numbers to ``fixtures/pspp.json``. PSPP uses listwise deletion.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"


def _num(s: str) -> float:
    s = s.strip()
    if s.endswith("%"):
        return float(s[:-1]) / 100.0
    return float(s)


def parse(text: str) -> dict:
    """Parse PSPP's CSV output into {scale: {"alpha": {...}, "split": {...}}}."""
    out: dict = {}
    blocks = text.split("Scale: ")[1:]
    for block in blocks:
        scale = block.splitlines()[0].strip()
        tables: dict[str, list[list[str]]] = {}
        for chunk in block.split("Table: ")[1:]:
            lines = chunk.strip().splitlines()
            tables[lines[0].strip()] = list(csv.reader(io.StringIO("\n".join(lines[1:]))))
        cases = {row[0]: int(_num(row[1])) for row in tables["Case Processing Summary"][1:]}
        rel = tables["Reliability Statistics"]
        items = {}
        header = tables["Item-Total Statistics"][0][1:]
        for row in tables["Item-Total Statistics"][1:]:
            items[row[0]] = dict(zip(header, map(_num, row[1:]), strict=True))
        entry = out.setdefault(scale, {"n_valid": cases["Valid"], "n_total": cases["Total"]})
        if rel[0][0] == "Cronbach's Alpha" and len(rel[0]) == 2:
            entry["alpha"] = {"alpha": _num(rel[1][0]), "n_items": int(_num(rel[1][1]))}
            entry["item_total"] = items
        else:
            vals = [row[-1] for row in rel]
            entry["split"] = {
                "alpha_part1": _num(vals[0]),
                "n_part1": int(_num(vals[1])),
                "alpha_part2": _num(vals[2]),
                "n_part2": int(_num(vals[3])),
                "n_items": int(_num(vals[4])),
                "r_forms": _num(vals[5]),
                "spearman_brown_equal": _num(vals[6]),
                "spearman_brown_unequal": _num(vals[7]),
                "guttman": _num(vals[8]),
            }
    return out


def main() -> None:
    FIXTURES.mkdir(exist_ok=True)
    raw = FIXTURES / "pspp_output.csv"
    subprocess.run(
        ["pspp", "-O", "format=csv", "-o", str(raw), "reliability.sps"],
        cwd=HERE,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    version = subprocess.run(
        ["pspp", "--version"], capture_output=True, text=True, check=True
    ).stdout.splitlines()[0]
    parsed = parse(raw.read_text())
    parsed = {"pspp_version": version, "scales": parsed}
    (FIXTURES / "pspp.json").write_text(json.dumps(parsed, indent=2) + "\n")
    print(f"wrote {FIXTURES / 'pspp.json'} ({len(parsed['scales'])} scales)")


if __name__ == "__main__":
    main()
