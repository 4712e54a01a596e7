"""SPSS syntax export against psyscore itself, run in GNU PSPP; PSPP reading psyscore's .sav.

- The syntax from `psyscore.io.sps_syntax`, run by PSPP on sample_data/intake_batch.sav, must give
  every score, `_n`, `_status`, band, `_z`/`_t`/`_pct` and critical column exactly as psyscore
  does, with the same dictionary (labels, value labels, levels, formats) as `psyscore score -o
  x.sav`. A made-up definition (tests/data/pspp/edge.yaml) covers negative codes, rounding ties,
  composites, user-missing codes inside the scale, an absent item and a text item column.
- PSPP opens the .sav that `psyscore score` writes and reports its labels, levels, user-missing
  declarations, documents and descriptives as psyscore has them.
- A .sav round trip (read, score, write, read back) keeps values, labels and missing declarations.

Tests that run PSPP are skipped when `pspp` is not on PATH. Tested with GNU PSPP 1.6.2.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from psyscore import __version__
from psyscore.batch import score_table
from psyscore.cli import app
from psyscore.cli.options import table_file_missing
from psyscore.columns import output_columns
from psyscore.errors import UsageError
from psyscore.instrument import definition_hash, load_definition
from psyscore.io import Table, read_table
from psyscore.io.sps_syntax import (
    EngineRules,
    engine_rules,
    exclusion_rule,
    spss_syntax,
    spss_syntax_for,
    write_spss_syntax,
)
from psyscore.library import resolve_instruments
from psyscore.responses import FileMissing

from .conftest import DATA, ROOT

SAMPLE = ROOT / "sample_data" / "intake_batch.sav"
EDGE = DATA / "pspp" / "edge.yaml"
PSPP = shutil.which("pspp")
needs_pspp = pytest.mark.skipif(PSPP is None, reason="GNU PSPP (pspp) is not on PATH")
INSTRUMENTS = ["program-intake", "k10"]


def run_pspp(workdir: Path, *syntax_files: Path, mode: str = "-b") -> str:
    """Run PSPP on the files in order, in SPSS-compatible syntax and batch (`-b`) or interactive
    (`-i`, as the SPSS syntax editor) mode; return its output as CSV text."""
    out = workdir / "pspp_output.csv"
    proc = subprocess.run(
        [PSPP, mode, "-x", "compatible", "-O", "format=csv", "-o", str(out)]
        + [str(f) for f in syntax_files],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    text = out.read_text(encoding="utf-8") if out.exists() else ""
    everything = text + proc.stdout + proc.stderr
    assert proc.returncode == 0 and "error:" not in everything.lower(), everything[-3000:]
    return text


def sav_values(column: pd.Series) -> pd.Series:
    """A psyscore result column as the .sav holds it: categories are codes 1..k, NaN stays NaN."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy().astype(float) + 1.0
        codes[codes == 0] = np.nan
        return pd.Series(codes, index=column.index)
    if pd.api.types.is_numeric_dtype(column.dtype):
        return column.astype(float)
    return column.fillna("").astype(str).str.rstrip()


def assert_same_column(ours: pd.Series, pspp: pd.Series, name: str) -> None:
    want = sav_values(ours)
    if pd.api.types.is_numeric_dtype(want.dtype):
        got = pspp.astype(float).to_numpy()
        w = want.to_numpy()
        same = (w == got) | (np.isnan(w) & np.isnan(got))
    else:
        got = pspp.fillna("").astype(str).str.rstrip().to_numpy()
        same = want.to_numpy() == got
        w = want.to_numpy()
    bad = np.flatnonzero(~same)
    assert bad.size == 0, (
        f"{name}: rows {bad[:10].tolist()} psyscore {w[bad[:10]]} PSPP {got[bad[:10]]}"
    )


def score_columns(instruments) -> list[str]:
    return [c for inst in instruments for c in output_columns(inst)]


# ---- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def intake():
    """The sample scored by psyscore, and the syntax generated for it."""
    table = read_table(SAMPLE)
    instruments = resolve_instruments(INSTRUMENTS)
    result = score_table(table.data, instruments, file_missing=table_file_missing(table))
    item_columns = {inst.id: result.items[inst.id].columns for inst in instruments}
    syntax = spss_syntax(instruments, item_columns, source_name=SAMPLE.name)
    return table, instruments, result, syntax


@pytest.fixture(scope="module")
def pspp_scored(intake, tmp_path_factory):
    """PSPP runs the generated syntax on the sample and saves the result."""
    _, _, _, syntax = intake
    work = tmp_path_factory.mktemp("pspp_syntax")
    write_spss_syntax(syntax, work / "score.sps")
    (work / "get.sps").write_text(f"GET FILE='{SAMPLE}'.\n")
    (work / "save.sps").write_text("SAVE OUTFILE='scored_by_pspp.sav'.\n")
    log = run_pspp(work, work / "get.sps", work / "score.sps", work / "save.sps")
    data, meta = pyreadstat.read_sav(str(work / "scored_by_pspp.sav"), user_missing=True)
    return data, meta, log


@pytest.fixture(scope="module")
def psyscore_sav(tmp_path_factory):
    """`psyscore score sample.sav -i program-intake -i k10 -o OUT.sav` through the CLI."""
    out = tmp_path_factory.mktemp("psyscore_sav") / "scored.sav"
    args = ["score", str(SAMPLE), "-o", str(out)]
    for name in INSTRUMENTS:
        args += ["-i", name]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output  # the sample's two deliberate typos
    return out


# ---- the syntax text (no PSPP needed) ----------------------------------------------------------


def test_header_names_version_definitions_and_source(intake):
    _, instruments, _, syntax = intake
    head = syntax.splitlines()[:12]
    assert head[0] == "* Encoding: UTF-8."
    assert head[1] == f"* psyscore {__version__}: SPSS syntax that reproduces psyscore's scoring."
    assert "generated — do not edit" in head[2]
    assert "* Source data: intake_batch.sav." in head
    for inst in instruments:
        line = f"* Instrument {inst.id} version {inst.version}, definition sha256:{definition_hash(inst)}."
        assert line in head
    assert "* Instrument phq-9 version 1, definition sha256:f75c46095fd8." in head


def statements(syntax: str) -> list[str]:
    """Commands with their indented continuation lines joined (comments left as they are)."""
    out: list[str] = []
    for line in syntax.splitlines():
        if line.startswith(" ") and out:
            out[-1] += " " + line.strip()
        else:
            out.append(line)
    return out


def test_syntax_shows_each_step(intake):
    _, _, _, syntax = intake
    lines = syntax.splitlines()
    cmds = statements(syntax)
    # valid codes only; declared missing codes and user-missing values become system-missing
    assert lines[
        lines.index("RECODE phq9_1 (MISSING=SYSMIS) (-99, 99=SYSMIS) (0, 1, 2, 3=COPY)") + 1
    ] == ("    (ELSE=SYSMIS) INTO #phq9_i1.")
    # the matched column name, not the item id
    assert (
        "RECODE GAD7_01 (MISSING=SYSMIS) (-99, 99=SYSMIS) (0, 1, 2, 3=COPY) (ELSE=SYSMIS) INTO #gad7_i1."
        in cmds
    )
    # reverse keying from the declared scale
    assert "COMPUTE #atspph_k2 = (0 + 3) - #atspph_i2." in cmds
    assert not any(c.startswith("COMPUTE #atspph_k1 ") for c in cmds)  # not reversed
    assert (
        "COMPUTE atspph_total = MEAN.8(#atspph_i1, #atspph_k2, #atspph_i3, #atspph_k4, #atspph_i5, "
        "#atspph_i6, #atspph_i7, #atspph_k8, #atspph_k9, #atspph_k10) * 10." in cmds
    )
    # prorated sum, its missing rule, and half-up rounding before banding
    i = lines.index("COMPUTE phq9_total = MEAN.7(#phq9_i1, #phq9_i2, #phq9_i3, #phq9_i4, #phq9_i5,")
    assert lines[i + 1] == "    #phq9_i6, #phq9_i7, #phq9_i8, #phq9_i9) * 9."
    assert "COMPUTE phq9_total = TRUNC(phq9_total + 0.5 + 1E-9)." in cmds
    # ATSPPH has no published rounding rule: stored unrounded, no rounding step
    assert not any(c.startswith("COMPUTE atspph_total = TRUNC(") for c in cmds)
    assert "COMPUTE csi4_total = SUM.4(#csi4_i1, #csi4_i2, #csi4_i3, #csi4_i4)." in cmds
    assert (
        "COMPUTE mrnisf_total = MEAN.17(#mrnisf_i1,"
        in lines[
            lines.index(
                "* mrnisf_total: mean of the answered items; at least 17 of 21 items answered."
            )
            + 1
        ]
    )
    assert (
        "COMPUTE erq_expressive_suppression = MEAN.4(#erq_i2, #erq_i4, #erq_i6, #erq_i9)." in cmds
    )
    assert (
        "COMPUTE phq9_total_n = NVALID(#phq9_i1, #phq9_i2, #phq9_i3, #phq9_i4, #phq9_i5, #phq9_i6, #phq9_i7, #phq9_i8, #phq9_i9)."
        in cmds
    )
    assert "COMPUTE phq9_total_status = 3 + phq9_total_n." in cmds
    assert "IF (phq9_total_n >= 7) phq9_total_status = 2." in cmds
    assert "IF (phq9_total_n = 9) phq9_total_status = 1." in cmds
    assert (
        "RECODE phq9_total (MISSING=SYSMIS) (LO THRU 4=1) (LO THRU 9=2) (LO THRU 14=3) "
        "(LO THRU 19=4) (LO THRU 27=5) (ELSE=SYSMIS) INTO phq9_total_band." in cmds
    )
    assert (
        "RECODE csi4_total (MISSING=SYSMIS) (LO THRU 13.5=1) (LO THRU 21=2) (ELSE=SYSMIS) INTO csi4_total_band."
        in cmds
    )
    assert "COMPUTE #phq9_z = (phq9_total - 2.7) / 3.5." in cmds
    assert "IF (#phq9_i9 >= 1) phq9_critical = 1." in cmds
    assert "STRING phq9_critical_items (A6)." in cmds
    assert (
        "IF (#phq9_i9 >= 1) phq9_critical_items = LTRIM(CONCAT(RTRIM(phq9_critical_items), ' phq9_9'))."
        in cmds
    )
    # dictionary
    assert lines[lines.index("  /phq9_total_band") + 1] == "    1 'minimal'"
    assert "    4 'moderately severe'" in lines
    assert "  /phq9_total_t phq9_total_pct (F8.1)." in lines
    assert "  /phq9_total_band phq9_total_band_cutoff (ORDINAL)." in lines
    echoes = [c for c in cmds if c.startswith("ECHO 'warning: mrni-sf: scoring key not verified")]
    assert len(echoes) == 3
    assert echoes[0].startswith(
        "ECHO 'warning: mrni-sf: scoring key not verified: item order: two ' +"
    )
    assert lines[-1] == "EXECUTE." and lines.count("EXECUTE.") == 2
    # every command ends in a period; continuation lines are indented (batch-mode safe)
    for cmd in cmds:
        assert cmd == "" or cmd.startswith("*") or cmd.endswith("."), cmd


def test_item_columns_must_fit_the_definitions(intake):
    _, instruments, result, _ = intake
    cols = {i.id: result.items[i.id].columns for i in instruments}
    with pytest.raises(ValueError, match="item_columns has no entry for instrument k10"):
        spss_syntax(instruments, {k: v for k, v in cols.items() if k != "k10"}, source_name="x")
    with pytest.raises(ValueError, match=r"phq-9: item_columns has 9 entries, the definition 10"):
        spss_syntax(instruments, {**cols, "phq-9": cols["phq-9"][:9]}, source_name="x")


def test_columns_spss_cannot_name_are_flagged_not_guessed():
    # a CSV header such as "PHQ-9 item 1" is matched by psyscore but is no SPSS variable name
    frame = pd.DataFrame({f"PHQ-9 item {i}": [1, 2] for i in range(1, 10)})
    frame["phq9_10"] = ["Somewhat difficult", "1"]  # a text column, matched by name
    inst = resolve_instruments(["phq-9"])
    result = score_table(frame, inst)
    assert result.items["phq-9"].columns[0] == "PHQ-9 item 1"
    cmds = statements(spss_syntax_for(result, inst, source_name="survey.csv"))
    assert "* Source data: survey.csv." in cmds
    assert (
        "ECHO 'psyscore syntax: column PHQ-9 item 1 (phq9_1) is not a valid ' + 'SPSS name; "
        "the item is treated as unanswered'." in cmds
    )
    assert cmds[cmds.index("COMPUTE #phq9_i1 = $SYSMIS.") - 1].startswith("ECHO")
    assert "RECODE phq9_10 (CONVERT) INTO #phq9_i10_num." in cmds
    assert not any(c.startswith("RECODE PHQ-9") for c in cmds)


def test_write_spss_syntax_is_atomic_utf8(intake, tmp_path):
    _, _, _, syntax = intake
    target = tmp_path / "scoring.sps"
    write_spss_syntax(syntax, target)
    assert target.read_text(encoding="utf-8") == syntax
    assert [p.name for p in tmp_path.iterdir()] == ["scoring.sps"]  # no temporary left behind


# ---- the syntax run by PSPP --------------------------------------------------------------------


@needs_pspp
def test_pspp_reproduces_every_score_column(intake, pspp_scored):
    table, instruments, result, _ = intake
    data, _, _ = pspp_scored
    expected = score_columns(instruments)
    assert len(expected) == 67  # with phq9_critical_unanswered
    # the input columns, in order, then the score columns in psyscore's order
    assert list(data.columns) == list(table.data.columns) + expected
    assert list(result.table.columns) == list(data.columns)
    for name in expected:
        assert_same_column(result.table[name], data[name], name)


@needs_pspp
def test_pspp_spot_values(intake, pspp_scored):
    _, _, result, _ = intake
    data, _, _ = pspp_scored
    # row 18 of the file has the typo phq9_3 = 33: an invalid answer, not a missing one, so
    # phq9_total is not scored (8 items answered, status "not scored: invalid answer in phq9_3")
    assert data.loc[17, "phq9_3"] == 33
    assert data.loc[17, "phq9_total_n"] == result.table.loc[17, "phq9_total_n"] == 8
    assert np.isnan(data.loc[17, "phq9_total"])
    assert data.loc[17, "phq9_total_status"] == 12  # 10 count statuses, then one per item
    assert result.table.loc[17, "phq9_total_status"] == "not scored: invalid answer in phq9_3"
    # counts of each status, band and critical flag, as psyscore has them
    assert (data["phq9_total_status"] == 2).sum() == (
        result.table["phq9_total_status"] == "prorated"
    ).sum()
    assert data["phq9_total"].notna().sum() == 398
    assert data["gad7_total"].notna().sum() == 395
    assert data["csi4_total"].notna().sum() == 351
    assert data["phq9_critical"].sum() == result.table["phq9_critical"].sum() == 64
    # not endorsed but phq9_9 unanswered: not known, and named
    assert data["phq9_critical"].isna().sum() == result.table["phq9_critical"].isna().sum() == 14
    unknown = data["phq9_critical"].isna()
    assert (data.loc[unknown, "phq9_critical_unanswered"].str.strip() == "phq9_9").all()
    assert round(data["phq9_total"].mean(), 3) == 5.369
    assert round(data["atspph_total"].mean(), 3) == 15.136


@needs_pspp
def test_pspp_dictionary_equals_psyscore_sav(intake, pspp_scored, psyscore_sav):
    _, instruments, _, _ = intake
    _, pspp_meta, log = pspp_scored
    _, meta = pyreadstat.read_sav(str(psyscore_sav), user_missing=True)
    for name in score_columns(instruments):
        assert pspp_meta.column_names_to_labels[name] == meta.column_names_to_labels[name], name
        assert pspp_meta.variable_value_labels.get(name) == meta.variable_value_labels.get(name)
        assert pspp_meta.variable_measure[name] == meta.variable_measure[name], name
        if not name.endswith("_critical_items"):  # psyscore sizes the text to the data
            assert pspp_meta.original_variable_types[name] == meta.original_variable_types[name], (
                name
            )
    assert pspp_meta.column_names_to_labels["phq9_total"] == (
        "PHQ-9 total (depression severity) (prorated sum of 9 items, range 0-27)"
    )
    assert pspp_meta.variable_value_labels["gad7_total_band"] == {
        1.0: "minimal",
        2.0: "mild",
        3.0: "moderate",
        4.0: "severe",
    }
    assert pspp_meta.variable_value_labels["erq_expressive_suppression_status"][6.0] == (
        "not scored: 3 of 4 items answered, needs 4"
    )
    assert pspp_meta.original_variable_types["mrnisf_total"] == "F8.2"
    assert pspp_meta.original_variable_types["phq9_total_t"] == "F8.1"
    # the input's user-missing declarations are untouched
    assert pspp_meta.missing_ranges["phq9_1"] == meta.missing_ranges["phq9_1"]
    notes = " ".join(pspp_meta.notes)
    assert f"Scored with psyscore {__version__} SPSS syntax from intake_batch.sav" in notes
    for inst in instruments:
        assert f"{inst.id} v{inst.version} sha256:{definition_hash(inst)}" in notes
    # unverified keys are announced on every run, as psyscore does
    assert log.count("scoring key not verified") == 6


def _edge_data() -> tuple[pd.DataFrame, dict]:
    """Hand-made rows A-D, then random rows with invalid and missing codes (fixed seed)."""
    items = ["e1", "e2", "e3", "e4", "e5", "e6", "e7", "e9"]
    rows = [
        # A: avg -3/8 = -0.375 -> -0.38 (half away from zero); pro -3; z -0.375 -> -0.38 (half to
        #    even); T 46.25 -> 46.2; combo (-0.38 + -3) / 2 = -1.69; o1 = 5 is critical
        dict(zip(items, [-1, 1, 0, -1, -1, 0, 0, -1], strict=True), o1=5, o2="3"),
        # B: avg 1/8 = 0.125 -> 0.13; pro 1; z 0.125 -> 0.12; T 51.25 -> 51.2;
        #    combo (0.13 + 1) / 2 = 0.565 (0.56499... in binary) -> 0.57; o2 in words
        dict(zip(items, [1, 0, 0, 0, 0, 0, 0, 0], strict=True), o1=1, o2="middle"),
        # C: e1 = 2 and e3 = 2 are user-missing in the file: avg 6 of 9 answered, pro 2 of 4
        dict(zip(items, [2, -2, 2, 2, -2, 2, 2, 2], strict=True), o1=3, o2="NA"),
        # D: avg 13/7 = 1.857 -> 1.86, above the last band (1.5): no band; pro 5/3*4 -> 6.7
        dict(zip(items, [1, -2, -99, 2, -2, 2, 2, 2], strict=True), o1=3, o2=" 5"),
        # E: both critical items fire (e1 = -2 on the raw answer, o1 = 5)
        dict(zip(items, [-2, -1, 0, 1, 2, 0, 1, -1], strict=True), o1=5, o2="Don't know"),
    ]
    rng = np.random.default_rng(20240521)
    pool = [-2, -1, 0, 1, 2] * 6 + [np.nan, np.nan, -99, 9, 3, 7, 1.5]
    for _ in range(150):
        row = {c: rng.choice(pool) for c in items}
        row["o1"] = rng.choice([1, 3, 5, 1, 3, 5, 2, np.nan, 9, -99])
        row["o2"] = str(rng.choice(["1", "3", "5", " 3", "", "NA", "Don't know", "9", "2"]))
        rows.append(row)
    frame = pd.DataFrame(rows)[["e1", "e2", "e3", "e4", "e5", "e6", "e7", "e9", "o1", "o2"]]
    frame.insert(0, "rid", [f"r{i:03d}" for i in range(len(frame))])
    frame[items + ["o1"]] = frame[items + ["o1"]].astype(float)
    missing = {"e1": [2.0], "e3": [{"lo": 1.0, "hi": 2.0}]}
    return frame, missing


@needs_pspp
def test_edge_definition_in_pspp(tmp_path):
    frame, missing = _edge_data()
    source = tmp_path / "edge.sav"
    pyreadstat.write_sav(frame, str(source), missing_ranges=missing)
    table = read_table(source)
    inst = load_definition(EDGE)
    result = score_table(table.data, [inst], file_missing=table_file_missing(table))
    assert result.items[inst.id].columns[7] is None  # e8 has no column
    syntax = spss_syntax_for(result, [inst], source_name=source.name)
    cmds = statements(syntax)
    assert "COMPUTE #edge_i8 = $SYSMIS." in cmds
    assert "RECODE o2 (CONVERT) INTO #edge_i11_num." in cmds
    assert (
        "RECODE #edge_i11_num (MISSING=SYSMIS) (-99, 9=SYSMIS) (1, 3, 5=COPY) (ELSE=SYSMIS) "
        "INTO #edge_i11." in cmds
    )
    assert "COMPUTE #edge_k5 = (-2 + 2) - #edge_i5." in cmds
    assert "COMPUTE edge_combo = MEAN.2(edge_avg, edge_pro)." in cmds
    assert "COMPUTE edge_combo_n = edge_avg_n + edge_pro_n." in cmds
    assert (
        "IF (NMISS(edge_avg, edge_pro) = 0) edge_combo_status = 1 + ANY(2, edge_avg_status, "
        "edge_pro_status)." in cmds
    )
    assert (
        "COMPUTE edge_avg = ((edge_avg > 0) - (edge_avg < 0)) * TRUNC(ABS(edge_avg) * 100 + 0.5 "
        "+ 1E-9) / 100." in cmds
    )
    assert "COMPUTE edge_avg = MEAN.7(#edge_i1, #edge_k2, #edge_i3, #edge_i4, #edge_k5, " in (
        " ".join(cmds)
    )
    assert "IF (#edge_i1 = -2) edge_critical = 1." in cmds
    assert "STRING edge_critical_items (A5)." in cmds
    write_spss_syntax(syntax, tmp_path / "score.sps")
    (tmp_path / "get.sps").write_text(f"GET FILE='{source}'.\n")
    (tmp_path / "save.sps").write_text("SAVE OUTFILE='out.sav'.\n")
    files = [tmp_path / "get.sps", tmp_path / "score.sps", tmp_path / "save.sps"]
    log = run_pspp(tmp_path, *files, mode="-i")
    assert "o2 (o2) holds text; answers in words are treated as unanswered" in log
    assert "edge-x: scoring key not verified: it's made up" in log
    data, _ = pyreadstat.read_sav(str(tmp_path / "out.sav"), user_missing=True)
    ours = result.table
    words = frame["o2"].str.strip().eq("middle").to_numpy()  # only row B answers in words
    assert np.flatnonzero(words).tolist() == [1]
    for name in output_columns(inst):
        if name.startswith("edge_odds"):
            # the one documented limitation: psyscore reads "middle" as 3, the syntax cannot
            assert_same_column(ours[name][~words], data[name][~words], name)
        else:
            assert_same_column(ours[name], data[name], name)
    assert ours.loc[1, "edge_odds"] == 4 and np.isnan(data.loc[1, "edge_odds"])
    assert ours.loc[1, "edge_odds_n"] == 2 and data.loc[1, "edge_odds_n"] == 1

    got = data.set_index("rid")
    expected = {
        "r000": dict(
            edge_avg=-0.38,
            edge_avg_band=1,
            edge_pro=-3.0,
            edge_pro_band=1,
            edge_pro_z=-0.38,  # -3 / 8 = -0.375: half away from zero
            edge_pro_t=46.3,  # 46.25 -> 46.3
            edge_pro_pct=35.4,
            edge_combo=-1.69,
            edge_combo_status=2,
            edge_critical=1,
        ),
        "r001": dict(
            edge_avg=0.13,
            edge_avg_status=2,
            edge_avg_band=2,
            edge_pro=1.0,
            edge_pro_status=1,
            edge_pro_z=0.13,  # 0.125 -> 0.13 (numpy's half-to-even would give 0.12)
            edge_pro_t=51.3,
            edge_pro_pct=55.0,
            edge_combo=0.57,
            edge_critical=0,
        ),
        "r002": dict(
            edge_avg_n=6, edge_avg_status=9, edge_pro_n=2, edge_pro_status=5, edge_combo_n=8
        ),
        "r003": dict(edge_avg=1.86, edge_pro=6.7, edge_pro_band=3, edge_combo=4.28, edge_odds=8),
    }
    for rid, values in expected.items():
        for name, value in values.items():
            assert got.loc[rid, name] == pytest.approx(value, abs=1e-12), (rid, name)
    # a band set must now reach the score's maximum (issue 10), so 1.86 falls in the last band
    assert got.loc["r003", "edge_avg_band"] == 3
    assert np.isnan(got.loc["r002", "edge_avg"]) and got.loc["r002", "edge_combo_status"] == 3
    assert got.loc["r000", "edge_critical_items"].strip() == "o1"
    assert got.loc["r003", "edge_critical_items"].strip() == ""
    assert got.loc["r004", "edge_critical_items"].strip() == "e1 o1"
    both = (data["edge_critical_items"].str.strip() == "e1 o1").sum()
    assert both == (ours["edge_critical_items"] == "e1 o1").sum() > 0


# ---- PSPP reads psyscore's own .sav ------------------------------------------------------------


def _tables(csv_text: str) -> dict[str, list[list[str]]]:
    """PSPP's CSV output as {table title: rows}."""
    out: dict[str, list[list[str]]] = {}
    for chunk in csv_text.split("Table: ")[1:]:
        title, _, body = chunk.partition("\n")
        out[title.strip()] = [r for r in csv.reader(io.StringIO(body.strip())) if r]
    return out


@needs_pspp
def test_pspp_opens_psyscore_sav(psyscore_sav, intake, tmp_path):
    _, _, result, _ = intake
    scores = ["phq9_total", "gad7_total", "atspph_total", "mrnisf_total", "csi4_total"]
    job = tmp_path / "open.sps"
    job.write_text(
        f"GET FILE='{psyscore_sav}'.\n"
        "DISPLAY DOCUMENTS.\n"
        "DISPLAY DICTIONARY /VARIABLES=phq9_1 phq9_total phq9_total_status phq9_total_band"
        " phq9_critical phq9_critical_items.\n"
        "SET FORMAT=F12.3.\n"
        f"DESCRIPTIVES /VARIABLES={' '.join(scores)}.\n"
    )
    tables = _tables(run_pspp(tmp_path, job))
    docs = " ".join(" ".join(r) for r in tables["Documents"])
    assert "psyscore sample data: synthetic" in docs  # the input's own document is kept
    assert f"Scored by psyscore {__version__} from intake_batch.sav" in docs
    assert "phq-9 v1" in docs and "sha256:f75c46095fd8" in docs

    header, *rows = tables["Variables"]
    dictionary = {r[0]: dict(zip(header, r, strict=True)) for r in rows}
    phq9 = dictionary["phq9_total"]
    assert (
        phq9["Label"] == "PHQ-9 total (depression severity) (prorated sum of 9 items, range 0-27)"
    )
    assert phq9["Measurement Level"] == "Scale"
    assert phq9["Print Format"] == "F8.0"
    assert dictionary["phq9_total_band"]["Measurement Level"] == "Ordinal"
    assert dictionary["phq9_total_status"]["Measurement Level"] == "Nominal"
    assert dictionary["phq9_total_status"]["Label"] == "PHQ-9 total: scoring status"
    assert dictionary["phq9_critical_items"]["Print Format"] == "A6"
    # user-missing codes of the input survive the round trip
    assert dictionary["phq9_1"]["Missing Values"] == "99; -99"
    assert dictionary["phq9_1"]["Measurement Level"] == "Ordinal"

    labels: dict[str, dict[str, str]] = {}
    current = ""
    for row in tables["Value Labels"][1:]:
        if len(row) < 3:  # "Footnote: a. User-missing value"
            continue
        current = row[0] or current
        labels.setdefault(current, {})[row[1]] = row[2]
    assert labels["PHQ-9 total: severity band"] == {
        "1": "minimal",
        "2": "mild",
        "3": "moderate",
        "4": "moderately severe",
        "5": "severe",
    }
    # codes are shown without decimals (F8.0), the input's items keep their own format
    assert labels[_label_of("phq9_critical")] == {"0": "no", "1": "yes"}
    assert (
        labels["PHQ-9 total: scoring status"]["9"] == "not scored: 6 of 9 items answered, needs 7"
    )
    assert labels["PHQ-9 little interest or pleasure"]["99.00[a]"] == "Refused"

    desc = {r[0]: r for r in tables["Descriptive Statistics"][1:]}
    for name in scores:
        values = result.table[name].dropna()
        row = desc[_label_of(name)]
        assert int(row[1]) == len(values), name
        assert float(row[2]) == round(values.mean(), 3), name
        assert float(row[3]) == round(values.std(ddof=1), 3), name
    # the two typos (rows 18 and 212) are invalid answers: those rows have no PHQ-9 total
    assert desc[_label_of("phq9_total")][1:3] == ["398", "5.369"]
    assert desc[_label_of("csi4_total")][1:3] == ["351", "10.071"]


def _label_of(name: str) -> str:
    for inst in resolve_instruments(INSTRUMENTS):
        info = output_columns(inst).get(name)
        if info is not None:
            return info.label
    raise KeyError(name)


# ---- .sav round trip ---------------------------------------------------------------------------


def test_sav_round_trip_keeps_values_labels_and_missing(intake, psyscore_sav):
    """read -> score -> write .sav -> read back: every value, label and declaration, in order."""
    table, instruments, result, _ = intake
    back, meta = pyreadstat.read_sav(str(psyscore_sav), user_missing=True)
    src, src_meta = pyreadstat.read_sav(str(SAMPLE), user_missing=True)
    assert back.shape == (400, src.shape[1] + 67)  # 66 + phq9_critical_unanswered
    assert back["respondent_id"].tolist() == src["respondent_id"].tolist()  # row order
    pd.testing.assert_frame_equal(back[src.columns], src, check_dtype=False)
    assert back.loc[211, "phq9_6"] == 5  # the typo is kept as entered
    assert meta.missing_ranges == src_meta.missing_ranges
    for col in src.columns:
        assert meta.column_names_to_labels[col] == src_meta.column_names_to_labels[col]
        assert meta.variable_value_labels.get(col) == src_meta.variable_value_labels.get(col)
    for name in score_columns(instruments):
        ours = result.table[name]
        if isinstance(ours.dtype, pd.CategoricalDtype):
            # codes with value labels, decoded back to psyscore's text
            decoded = back[name].map(meta.variable_value_labels[name])
            assert decoded.fillna("<NA>").tolist() == ours.astype(object).fillna("<NA>").tolist()
        assert_same_column(ours, back[name], name)
    for inst in instruments:
        for name, info in output_columns(inst).items():
            assert meta.column_names_to_labels[name] == info.label
            assert meta.variable_measure[name] == info.measure
    assert meta.notes[0] == src_meta.notes[0]
    assert any(f"Scored by psyscore {__version__}" in n for n in meta.notes)


def test_score_syntax_option_writes_the_syntax(tmp_path):
    out, sps = tmp_path / "scored.csv", tmp_path / "scoring.sps"
    args = ["score", str(SAMPLE), "-i", "phq-9", "-o", str(out), "--syntax", str(sps)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1  # the sample's two typos
    table = read_table(SAMPLE)
    scored = score_table(
        table.data, resolve_instruments(["phq-9"]), file_missing=table_file_missing(table)
    )
    expected = spss_syntax_for(scored, resolve_instruments(["phq-9"]), source_name=SAMPLE.name)
    assert sps.read_text(encoding="utf-8") == expected
    again = CliRunner().invoke(
        app, [*args[:-4], "-o", str(tmp_path / "b.csv"), "--syntax", str(sps)]
    )
    assert again.exit_code == 2 and "already exists" in again.output
    wrong = CliRunner().invoke(
        app, [*args[:-4], "-o", str(tmp_path / "c.csv"), "--syntax", str(tmp_path / "s.txt")]
    )
    assert wrong.exit_code == 2 and "name it *.sps" in wrong.output


@needs_pspp
def test_qualtrics_export_to_pspp_with_every_label(tmp_path):
    """The data manager's path: a Qualtrics .sav export is inspected, scored with the mapping
    file its inspection asked for, and the result opens in PSPP with every label right."""
    export = ROOT / "sample_data" / "qualtrics_export.sav"
    mapping = ROOT / "sample_data" / "qualtrics_map.yaml"
    runner = CliRunner()
    inspected = runner.invoke(app, ["inspect", str(export), "-i", "program-intake"])
    assert inspected.exit_code == 1 and "recode_mismatch" in inspected.output
    fixed = runner.invoke(
        app, ["inspect", str(export), "-i", "program-intake", "--map", str(mapping)]
    )
    assert fixed.exit_code == 0, fixed.output
    out = tmp_path / "scored.sav"
    scored = runner.invoke(
        app, ["score", str(export), "-i", "program-intake", "--map", str(mapping), "-o", str(out)]
    )
    assert scored.exit_code == 0, scored.output
    job = tmp_path / "open.sps"
    job.write_text(
        f"GET FILE='{out}'.\n"
        "DISPLAY DICTIONARY /VARIABLES=GAD7_1 Status gad7_total gad7_total_status gad7_total_band.\n"
        "SET FORMAT=F12.3.\n"
        "DESCRIPTIVES /VARIABLES=gad7_total phq9_total.\n"
    )
    tables = _tables(run_pspp(tmp_path, job))
    header, *rows = tables["Variables"]
    dictionary = {r[0]: dict(zip(header, r, strict=True)) for r in rows}
    assert dictionary["GAD7_1"]["Label"].startswith("Generalized Anxiety Disorder 7-item scale - ")
    assert dictionary["Status"]["Label"] == "Response Type"
    assert dictionary["gad7_total"]["Label"] == (
        "GAD-7 total (anxiety severity) (prorated sum of 7 items, range 0-21)"
    )
    assert dictionary["gad7_total_band"]["Measurement Level"] == "Ordinal"
    labels: dict[str, dict[str, str]] = {}
    current = ""
    for row in tables["Value Labels"][1:]:
        if len(row) >= 3:
            current = row[0] or current
            labels.setdefault(current, {})[row[1]] = row[2]
    # the file's own value labels are kept as they were (1-4), the scores use the recoded 0-3
    assert labels[dictionary["GAD7_1"]["Label"]]["1.00"] == "Not at all"
    assert labels["Response Type"]["1.00"] == "Survey Preview"
    status = labels["GAD-7 total: scoring status"]
    assert "excluded: survey preview" in status.values() and "excluded: spam" in status.values()
    desc = {r[0]: r for r in tables["Descriptive Statistics"][1:]}
    ours = read_table(out).data["gad7_total"].dropna()
    row = desc["GAD-7 total (anxiety severity) (prorated sum of 7 items, range 0-21)"]
    assert int(row[1]) == len(ours) and float(row[2]) == round(ours.mean(), 3)
    assert len(ours) <= 400  # 3 previews and 2 spam responses are not scored


# ---- the Qualtrics flow: --map recodes, mapped columns, previews and spam ---------------------

EXPORT = ROOT / "sample_data" / "qualtrics_export.sav"
EXPORT_MAP = ROOT / "sample_data" / "qualtrics_map.yaml"


def score_with_syntax(tmp_path: Path, data: Path, *extra: str, exit_code: int = 0) -> tuple:
    """`psyscore score DATA -i program-intake ... -o scored.sav --syntax scoring.sps`, then PSPP
    runs the syntax on DATA; returns (psyscore's .sav, PSPP's .sav, the syntax text)."""
    ours, sps = tmp_path / "scored.sav", tmp_path / "scoring.sps"
    args = ["score", str(data), "-i", "program-intake", "-o", str(ours), "--syntax", str(sps)]
    result = CliRunner().invoke(app, [*args, *extra])
    assert result.exit_code == exit_code, result.output
    (tmp_path / "get.sps").write_text(f"GET FILE='{data}'.\n")
    (tmp_path / "save.sps").write_text("SAVE OUTFILE='scored_by_pspp.sav'.\n")
    run_pspp(tmp_path, tmp_path / "get.sps", sps, tmp_path / "save.sps")
    return ours, tmp_path / "scored_by_pspp.sav", sps.read_text(encoding="utf-8")


def assert_same_sav(ours_path: Path, pspp_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every column of the two files, values and value labels, in the same order."""
    ours, ours_meta = pyreadstat.read_sav(str(ours_path), user_missing=True)
    pspp, pspp_meta = pyreadstat.read_sav(str(pspp_path), user_missing=True)
    assert list(pspp.columns) == list(ours.columns)
    differ = []
    for name in ours.columns:
        try:
            assert_same_column(ours[name], pspp[name], name)
        except AssertionError as exc:
            differ.append(str(exc))
    assert not differ, f"{len(differ)} of {ours.shape[1]} columns differ:\n" + "\n".join(differ)
    for name in ours.columns:
        want = ours_meta.variable_value_labels.get(name)
        got = dict(pspp_meta.variable_value_labels.get(name) or {})
        # the syntax also labels the status of reasons this file does not have (a survey test),
        # after psyscore's codes, so it can be run on the next export as well
        extra = {k: got.pop(k) for k in list(got) if k not in (want or {})}
        assert all(v.startswith("excluded: ") and k > max(want) for k, v in extra.items()), name
        assert (got or None) == want, name
    return ours, pspp


@needs_pspp
def test_pspp_reproduces_the_qualtrics_flow_with_recodes_and_exclusions(tmp_path):
    ours_path, pspp_path, syntax = score_with_syntax(tmp_path, EXPORT, "--map", str(EXPORT_MAP))
    ours, pspp = assert_same_sav(ours_path, pspp_path)
    # the recode is used for the scores, the file keeps the original codes 1-4
    assert sorted(pspp["GAD7_1"].dropna().unique()) == [-99, 1, 2, 3, 4]
    assert pspp["gad7_total"].notna().sum() == ours["gad7_total"].notna().sum() > 380
    # previews and spam: empty scores, the status says why, answers counted and alerts kept
    status = pyreadstat.read_sav(str(pspp_path), apply_value_formats=True)[0]["gad7_total_status"]
    assert (status == "excluded: survey preview").sum() == 3
    assert (status == "excluded: spam").sum() == 2
    excluded = status.str.startswith("excluded").to_numpy()
    assert pspp.loc[excluded, ["gad7_total", "phq9_total_band", "phq9_total_z"]].isna().all().all()
    assert (pspp.loc[excluded, "gad7_total_n"] > 0).all()
    cmds = statements(syntax)
    assert "RECODE GAD7_1 (MISSING=SYSMIS) (1=0) (2=1) (3=2) (4=3) (ELSE=COPY) INTO #gad7_r1." in (
        cmds
    )


def _renamed_export(tmp_path: Path) -> tuple[Path, Path]:
    """The export with two items under names only the mapping file explains, and Status as text
    (as a CSV export imported into SPSS has it, one value with stray spaces)."""
    data, meta = pyreadstat.read_sav(str(EXPORT), user_missing=True)
    names = {"GAD7_3": "anxious_q3", "PHQ9_9": "q_thoughts"}
    data = data.rename(columns=names)
    status_text = data["Status"].map(meta.variable_value_labels["Status"])
    status_text[status_text.eq("Spam").to_numpy().nonzero()[0][:1]] = "  spam "
    data["Status"] = status_text
    labels = {names.get(c, c): v for c, v in meta.variable_value_labels.items() if c != "Status"}
    source = tmp_path / "renamed.sav"
    pyreadstat.write_sav(data, str(source), variable_value_labels=labels)
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        EXPORT_MAP.read_text(encoding="utf-8")
        .replace("GAD7_3:", "anxious_q3: {item: gad7_3,")
        .replace(
            "anxious_q3: {item: gad7_3, {recode: *gad7}",
            "anxious_q3: {item: gad7_3, recode: *gad7}",
        )
        + "q_thoughts: phq9_9\n",
        encoding="utf-8",
    )
    return source, mapping


@needs_pspp
def test_pspp_uses_the_mapped_columns_and_text_status(tmp_path):
    source, mapping = _renamed_export(tmp_path)
    ours_path, pspp_path, syntax = score_with_syntax(tmp_path, source, "--map", str(mapping))
    ours, pspp = assert_same_sav(ours_path, pspp_path)
    cmds = statements(syntax)
    assert any(c.startswith("RECODE anxious_q3 (MISSING=SYSMIS) (1=0)") for c in cmds)
    assert any(c.startswith("RECODE q_thoughts (MISSING=SYSMIS)") for c in cmds)
    assert "IF (#phq9_i9 >= 1) phq9_critical = 1." in cmds
    assert any(
        c.startswith("RECODE Status ('Survey Preview'=1) ('  spam', 'Spam'=3)") for c in cmds
    )
    status = pyreadstat.read_sav(str(pspp_path), apply_value_formats=True)[0]["phq9_total_status"]
    assert (status == "excluded: spam").sum() == 2
    assert pspp["phq9_critical"].sum() == ours["phq9_critical"].sum() > 0


@needs_pspp
def test_pspp_scores_spam_with_include_spam(tmp_path):
    ours_path, pspp_path, syntax = score_with_syntax(
        tmp_path, EXPORT, "--map", str(EXPORT_MAP), "--include-spam"
    )
    ours, pspp = assert_same_sav(ours_path, pspp_path)
    status = pyreadstat.read_sav(str(pspp_path), apply_value_formats=True)[0]["gad7_total_status"]
    assert (status == "excluded: survey preview").sum() == 3
    assert not status.str.contains("spam").any()
    assert "RECODE #qx_reason (1=1) (2=2) (ELSE=SYSMIS) INTO #qx_excluded." in statements(syntax)


def test_no_exclusions_outside_qualtrics_and_all_let_in():
    assert exclusion_rule(pd.DataFrame({"Status": [1.0]}), {}) is None  # no ResponseId
    data = pd.DataFrame({"Status": [0.0, 1.0, 8.0], "ResponseId": ["a", "b", "c"]})
    assert exclusion_rule(data, {}, previews=True, spam=True) is None
    rule = exclusion_rule(data, {}, previews=True)
    assert rule.order == ("spam",) and rule.reasons(data).tolist() == [None, None, "spam"]


def test_syntax_refuses_exclusions_it_was_not_told_about():
    table = read_table(EXPORT)
    instruments = resolve_instruments(["gad-7"])
    recodes = {f"GAD7_{i}": {1: 0.0, 2: 1.0, 3: 2.0, 4: 3.0} for i in range(1, 8)}
    rule = exclusion_rule(table.data, table.value_labels)
    result = score_table(
        table.data,
        instruments,
        recodes=recodes,
        value_labels=table.value_labels,
        exclude=rule.reasons(table.data),
    )
    with pytest.raises(UsageError, match=r"left out rows \(survey preview, spam\) but no"):
        spss_syntax_for(result, instruments, source_name="x.sav", recodes=recodes)
    let_in = exclusion_rule(table.data, table.value_labels, spam=True)
    with pytest.raises(UsageError, match="would not exclude the same rows as psyscore"):
        spss_syntax_for(result, instruments, source_name="x", recodes=recodes, exclusions=let_in)
    syntax = spss_syntax_for(result, instruments, source_name="x", recodes=recodes, exclusions=rule)
    assert "COMPUTE gad7_total_status = 15 + #qx_excluded." in statements(syntax)


@given(
    status=st.lists(
        st.sampled_from([0.0, 1.0, 2.0, 4.0, 8.0, 9.0, 12.0, 16.0, 17.0, 5.0, np.nan]),
        min_size=1,
        max_size=30,
    ),
    channel=st.lists(st.sampled_from(["anonymous", "preview", " Test ", "email", None])),
    text=st.booleans(),
    previews=st.booleans(),
    spam=st.booleans(),
)
def test_exclusion_rule_is_psyscores_rule(status, channel, text, previews, spam):
    """The rule the syntax is built from excludes exactly the rows psyscore score excludes."""
    from psyscore.io.qualtrics import response_exclusions

    labels = {0.0: "IP Address", 1.0: "Survey Preview", 5.0: "Spam", 8.0: "Spam"}
    channel = (channel * len(status))[: len(status)] or [None] * len(status)
    data = pd.DataFrame({"ResponseId": range(len(status)), "Status": status})
    data["DistributionChannel"] = pd.Series(channel, dtype=object)
    value_labels = {"Status": labels}
    if text:  # a CSV export: the response type as text, in any case and spacing
        data["Status"] = data["Status"].map(lambda v: {**labels, 9.0: " preview  SPAM"}.get(v, v))
        value_labels = {}
    psyscore_rule = response_exclusions(data, value_labels).keep(previews=previews, spam=spam)
    want = psyscore_rule.reasons
    rule = exclusion_rule(data, value_labels, previews=previews, spam=spam)
    got = None if rule is None else rule.reasons(data)
    if want is None:
        assert got is None or all(g is None for g in got)
    else:
        assert got is not None and got.tolist() == want.tolist()


def _gad7_frame(values: dict) -> pd.DataFrame:
    return pd.DataFrame({f"GAD7_{i}": values.get(i, [1.0, 2.0]) for i in range(1, 8)})


def test_syntax_recodes_numbers_and_refuses_what_it_cannot_recode():
    instruments = resolve_instruments(["gad-7"])
    frame = _gad7_frame({})

    def syntax_for(data, recodes, file_missing=None):
        result = score_table(data, instruments, recodes=recodes, file_missing=file_missing)
        return spss_syntax_for(
            result, instruments, source_name="x", recodes=recodes, file_missing=file_missing
        )

    # words in a recode of a numeric column recode nothing (psyscore never matches them either);
    # a recode to NaN is "unanswered"; numbers written as text are numbers
    cmds = statements(syntax_for(frame, {"GAD7_1": {"Not at all": 0.0, "2": 1.0, 1: np.nan}}))
    assert "RECODE GAD7_1 (MISSING=SYSMIS) (2=1) (1=SYSMIS) (ELSE=COPY) INTO #gad7_r1." in cmds
    text = frame.assign(GAD7_2=["1", "Several days"])
    cmds = statements(syntax_for(text, {"GAD7_2": {1: 0.0}}))
    assert "RECODE GAD7_2 (CONVERT) INTO #gad7_i2_num." in cmds
    assert "RECODE #gad7_i2_num (1=0) (ELSE=COPY) INTO #gad7_r2." in cmds
    with pytest.raises(UsageError, match=r"GAD7_2 \(gad-7\).*maps the text 'Several days'"):
        syntax_for(text, {"GAD7_2": {"Several days": 1.0}})
    with pytest.raises(UsageError, match="maps 4 to inf; SPSS has no infinite values"):
        syntax_for(frame, {"GAD7_1": {4: float("inf")}})
    # psyscore checks the file's user-missing values after the recode, SPSS before: refused
    declared = table_file_missing(
        Table(data=frame, source="x.sav", missing_ranges={"GAD7_3": [{"lo": 4.0, "hi": 4.0}]})
    )
    with pytest.raises(UsageError, match=r"maps 4 -> 3, and 4 is a user-missing value of GAD7_3"):
        syntax_for(frame, {"GAD7_3": {4: 3.0}}, declared)
    ranged = FileMissing(ranges={"GAD7_3": [(-9.0, 0.0, "user-missing")]})
    with pytest.raises(UsageError, match=r"maps 1 -> 0, and -9 thru 0 is a user-missing value"):
        syntax_for(frame, {"GAD7_3": {1: 0.0}}, ranged)
    # the same recode beside user-missing codes it does not touch is fine
    assert "(MISSING=SYSMIS) (4=3)" in syntax_for(frame, {"GAD7_3": {4: 3.0}}, ranged)


def test_score_refuses_syntax_it_cannot_reproduce_and_writes_nothing(tmp_path):
    data, meta = pyreadstat.read_sav(str(EXPORT), user_missing=True)
    source = tmp_path / "declared.sav"
    pyreadstat.write_sav(
        data,
        str(source),
        variable_value_labels=meta.variable_value_labels,
        missing_ranges={"GAD7_1": [4.0]},
    )
    out, sps = tmp_path / "scored.sav", tmp_path / "scoring.sps"
    args = ["score", str(source), "-i", "gad-7", "--map", str(EXPORT_MAP), "-o", str(out)]
    result = CliRunner().invoke(app, [*args, "--syntax", str(sps)])
    assert result.exit_code == 2, result.output
    assert "4 is a user-missing value of GAD7_1" in " ".join(result.output.split())
    assert not out.exists() and not sps.exists()
    # without --syntax the scores themselves would depend on the order: refused as well
    plain = CliRunner().invoke(app, args)
    assert plain.exit_code == 2, plain.output
    assert "4 is a user-missing value of GAD7_1" in " ".join(plain.output.split())
    assert not out.exists()


@needs_pspp
@pytest.mark.parametrize("invalid_as_missing", [False, True])
def test_pspp_follows_the_treatment_of_invalid_answers(tmp_path, invalid_as_missing):
    """The sample's typos (phq9_3 = 33, phq9_6 = 5) are invalid answers: by default their scores
    are not scored; with --invalid-as-missing they count as missing and the score is prorated.
    The syntax does what the run did, every column alike."""
    extra = ["--invalid-as-missing"] if invalid_as_missing else []
    ours_path, pspp_path, syntax = score_with_syntax(tmp_path, SAMPLE, *extra, exit_code=1)
    ours, pspp = assert_same_sav(ours_path, pspp_path)
    status = pyreadstat.read_sav(str(pspp_path), apply_value_formats=True)[0]["phq9_total_status"]
    if invalid_as_missing:
        assert status[17] == "prorated" and not np.isnan(pspp.loc[17, "phq9_total"])
        assert "#phq9_v3" not in syntax
    else:
        assert status[17] == "not scored: invalid answer in phq9_3"
        assert np.isnan(pspp.loc[17, "phq9_total"]) and pspp.loc[17, "phq9_total_n"] == 8
        cmds = statements(syntax)
        assert (
            "RECODE phq9_3 (MISSING=0) (-99, 99=0) (0, 1, 2, 3=0) (ELSE=1) INTO #phq9_v3." in cmds
        )
        assert "IF (#phq9_f1 = 3) phq9_total_status = 12." in cmds
    # the labels list every invalid-answer status either way, as psyscore's .sav does
    labels = pyreadstat.read_sav(str(pspp_path), metadataonly=True)[1].variable_value_labels
    assert labels["phq9_total_status"][12.0] == "not scored: invalid answer in phq9_3"


def test_syntax_reads_the_treatment_of_invalid_answers_from_the_result(intake):
    table, instruments, _, _ = intake
    as_missing = score_table(
        table.data,
        instruments,
        file_missing=table_file_missing(table),
        invalid_as_missing=True,
    )
    syntax = spss_syntax_for(as_missing, instruments, source_name="x")
    assert "#phq9_v3" not in syntax  # read from the result: the typo row was prorated
    with pytest.raises(UsageError, match=r"treat invalid answers as missing, but invalid_as_m"):
        spss_syntax_for(as_missing, instruments, source_name="x", invalid_as_missing=False)


def test_syntax_follows_the_rules_it_is_given(intake):
    """The rules come from the engine (`engine_rules`); given explicitly, the syntax follows
    them: here an engine that treats invalid answers as missing, has a two-state critical flag
    and keeps z, T and percentiles unrounded."""
    _, instruments, result, _ = intake
    columns = {inst.id: result.items[inst.id].columns for inst in instruments}
    assert engine_rules() == EngineRules(True, True, None, (2, 1, 1))  # the installed engine
    assert engine_rules(invalid_as_missing=True).invalid_not_scored is False
    older = EngineRules(False, False, False, (None, None, None))
    cmds = statements(spss_syntax(instruments, columns, source_name="x", rules=older))
    assert not any("#phq9_v" in c or "invalid answer" in c for c in cmds)
    assert not any("phq9_critical_unanswered" in c for c in cmds)
    assert "COMPUTE phq9_total_z = #phq9_z." in cmds
    # issue 11: the PHQ-9 norm is skewed with no published table, so no percentile
    assert "COMPUTE phq9_total_pct = $SYSMIS." in cmds
    cmds = statements(spss_syntax(instruments, columns, source_name="x"))
    assert "STRING phq9_critical_unanswered (A6)." in cmds
    assert "IF (phq9_critical = 0 AND phq9_critical_unanswered <> '') phq9_critical = $SYSMIS." in (
        cmds
    )
