"""PSPP reference for ``--split-half first-N``: RELIABILITY /MODEL=SPLIT(n) with n != k/2.

Re-run (from the repository root; needs ``pspp`` on PATH, made with GNU PSPP 1.6.2)::

    python tests/reference/run_pspp_split.py

Runs ``tests/reference/split_first_m.sps`` and writes ``fixtures/pspp_split_first_m.json``
(parsed as ``run_pspp.py`` does; only the split model is run here, so no alpha table). PSPP
uses listwise deletion.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

from run_pspp import FIXTURES, HERE, parse


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "out.csv"
        subprocess.run(
            ["pspp", "-O", "format=csv", "-o", str(raw), "split_first_m.sps"],
            cwd=HERE,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        parsed = parse(raw.read_text())
    version = subprocess.run(
        ["pspp", "--version"], capture_output=True, text=True, check=True
    ).stdout.splitlines()[0]
    out = FIXTURES / "pspp_split_first_m.json"
    out.write_text(json.dumps({"pspp_version": version, "scales": parsed}, indent=2) + "\n")
    print(f"wrote {out} ({len(parsed)} scales)")


if __name__ == "__main__":
    main()
