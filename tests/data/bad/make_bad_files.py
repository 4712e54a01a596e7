"""Regenerate the corpus of bad (and awkward but readable) input files used by test_bad_files.py.

    python tests/data/bad/make_bad_files.py [FOLDER]

Every file is synthetic and deterministic in content (no respondent data). Each bad file must make
`psyscore score FILE -i phq-9 -o OUT` print one line naming the file and what is wrong, exit 1 or
2, and never show a traceback.
"""

from __future__ import annotations

import random
import sys
import tempfile
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ITEMS = [f"phq9_{i}" for i in range(1, 10)]

# file name -> what a user should be told (a fragment of the expected error line)
BAD = {
    "truncated.sav": "not a readable SPSS file",
    "really_html.xlsx": "HTML/XML page",
    "empty_sheet.xlsx": "the sheet is empty",
    "truncated.xlsx": "not a readable .xlsx workbook",
    "duplicate_columns.csv": "duplicate column names",
    "garbage.csv": "binary file",
    "free_text.csv": "unrecognised_answer",  # read fine; every cell is a data problem
    # row-compressed, the header's case count left open (-1), cut inside a case: readstat
    # returns the cases before the cut without a word
    "truncated_open_count.sav": "ends in the middle of a case",
    # formulas saved without their results (openpyxl does not calculate): read as empty cells
    "uncached_formulas.xlsx": "formula cell(s) have no saved value",
}
# readable despite the awkward encoding; the text that must come back decoded
GOOD = {
    "cp1252.csv": "Zoë Müller-Ødegård",
    "utf16.csv": "Zoë Müller-Ødegård",
}


def _phq_frame(n: int = 5) -> pd.DataFrame:
    rows = {"rid": [f"R{i:03d}" for i in range(1, n + 1)]}
    for j, item in enumerate(ITEMS):
        rows[item] = [(i + j) % 4 for i in range(n)]
    return pd.DataFrame(rows)


def make(folder: Path = HERE) -> dict[str, Path]:
    import openpyxl
    import pyreadstat

    folder.mkdir(parents=True, exist_ok=True)
    out = {}

    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "full.sav"
        pyreadstat.write_sav(_phq_frame(50), str(full))
        raw = full.read_bytes()
    (folder / "truncated.sav").write_bytes(raw[: len(raw) // 3])

    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "full.sav"
        pyreadstat.write_sav(_phq_frame(50), str(full), row_compress=True)
        raw = bytearray(full.read_bytes())
    raw[80:84] = (-1).to_bytes(4, "little", signed=True)  # ncases: "not stated"
    (folder / "truncated_open_count.sav").write_bytes(bytes(raw[: len(raw) * 4 // 5 + 3]))

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["rid", *ITEMS])
    for row in _phq_frame(5).itertuples(index=False):
        ws.append(list(row))
    ws["J3"] = "=1+1"  # phq9_9 of the second respondent: a formula without a stored result
    ws["B5"] = "=B2"
    wb.save(folder / "uncached_formulas.xlsx")

    (folder / "really_html.xlsx").write_text(
        "<!DOCTYPE html>\n<html><body><table>\n<tr><td>rid</td><td>phq9_1</td></tr>\n"
        "<tr><td>R001</td><td>2</td></tr>\n</table></body></html>\n",
        encoding="utf-8",
    )

    wb = openpyxl.Workbook()
    wb.active.title = "Responses"
    wb.save(folder / "empty_sheet.xlsx")

    good_xlsx = Path(folder / "truncated.xlsx")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["rid", *ITEMS])
    for row in _phq_frame(200).itertuples(index=False):
        ws.append(list(row))
    wb.save(good_xlsx)
    data = good_xlsx.read_bytes()
    good_xlsx.write_bytes(data[: len(data) // 2])

    header = ",".join(["rid", "phq9_1", "phq9_2", "phq9_1", *ITEMS[2:]])
    body = "\n".join(f"R{i:03d}," + ",".join(["1"] * 10) for i in range(1, 4))
    (folder / "duplicate_columns.csv").write_text(header + "\n" + body + "\n", encoding="utf-8")

    rng = random.Random(20240611)
    (folder / "garbage.csv").write_bytes(bytes(rng.randrange(256) for _ in range(3000)) + b"\x00")

    lines = ["rid," + ",".join(ITEMS)]
    answers = ["felt fine mostly", "not sure", "ask my wife", "on some days, yes", "see notes"]
    for i in range(1, 6):
        lines.append(f"R{i:03d}," + ",".join(f'"{answers[(i + j) % 5]}"' for j in range(9)))
    (folder / "free_text.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    readable = "rid,name," + ",".join(ITEMS) + "\n"
    readable += "R001,Zoë Müller-Ødegård," + ",".join(["1"] * 9) + "\n"
    readable += "R002,José Núñez," + ",".join(["0"] * 9) + "\n"
    (folder / "cp1252.csv").write_bytes(readable.encode("cp1252"))
    (folder / "utf16.csv").write_bytes(readable.encode("utf-16"))  # with a byte-order mark

    for name in [*BAD, *GOOD]:
        out[name] = folder / name
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    for name, path in make(target).items():
        print(f"{path.stat().st_size:>8}  {name}")
