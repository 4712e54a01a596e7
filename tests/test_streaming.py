"""`--chunk-rows`: scoring and reliability in chunks give the in-memory outputs, byte for byte."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from psyscore.cli import app

from .conftest import DATA, ROOT

runner = CliRunner()
SAMPLE = ROOT / "sample_data"
TOY = DATA / "toy.yaml"
CHUNKS = (1, 7, 100)


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def _toy_csv(path, rows: int = 60, seed: int = 1) -> None:
    """Missing answers, a refused code, a problem row late in the file, a repeated id across
    chunks, a Qualtrics Status column with a preview, and a free-text column."""
    rng = np.random.default_rng(seed)
    answers = rng.integers(1, 6, size=(rows, 4)).astype(object)
    answers[rng.random((rows, 4)) < 0.1] = ""
    answers[5, 2] = 9  # refused: user-missing by the definition
    answers[rows - 3, 1] = 33  # out of range, far from the first chunk
    ids = [f"r{i:03d}" for i in range(rows)]
    ids[rows - 2] = ids[2]  # the same respondent again, many chunks later
    status = ["IP Address"] * rows
    status[10] = "Survey Preview"
    frame = pd.DataFrame(answers, columns=[f"toy_{i}" for i in range(1, 5)])
    frame.insert(0, "ResponseId", ids)
    frame.insert(1, "Status", status)
    frame["note"] = ["" if i % 4 else f'says {i}, "quoted"' for i in range(rows)]
    frame.to_csv(path, index=False)


@pytest.fixture
def toy_csv(tmp_path):
    path = tmp_path / "toy.csv"
    _toy_csv(path)
    return path


def _score_both(tmp_path, data, *options, chunks=CHUNKS, suffix=".csv"):
    whole = tmp_path / f"whole{suffix}"
    first = invoke("score", data, *options, "-o", whole, "--json")
    assert first.exit_code in (0, 1), first.output
    expected = json.loads(first.stdout)
    for n in chunks:
        out = tmp_path / f"chunks{n}{suffix}"
        got = invoke("score", data, *options, "-o", out, "--json", "--chunk-rows", n)
        assert got.exit_code == first.exit_code, (n, got.output)
        report = json.loads(got.stdout)
        assert report["outputs"] == [str(out)]
        report["outputs"] = expected["outputs"]
        report["warnings"] = [w.replace(out.name, whole.name) for w in report["warnings"]]
        assert report == expected, n
        if suffix == ".csv":
            assert out.read_bytes() == whole.read_bytes(), n
        else:
            pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(whole))
    return expected


def test_chunked_scores_are_the_in_memory_ones(tmp_path, toy_csv):
    report = _score_both(tmp_path, toy_csv, "-i", TOY, "--id-column", "ResponseId")
    kinds = {p["kind"] for p in report["problems"]}
    assert {"duplicate_id", "out_of_range"} <= kinds
    late = next(p for p in report["problems"] if p["kind"] == "out_of_range")
    assert late["row"] == 58 and late["file_row"] == 59  # the file's own row numbers
    dup = next(p for p in report["problems"] if p["kind"] == "duplicate_id")
    assert dup["row"] == 59
    assert report["excluded"] == {"survey preview": 1}


def test_chunked_invalid_as_missing(tmp_path, toy_csv):
    report = _score_both(tmp_path, toy_csv, "-i", TOY, "--invalid-as-missing", chunks=(7,))
    assert any(w.startswith("--invalid-as-missing: 1 invalid answer") for w in report["warnings"])


@pytest.mark.parametrize("data", ["intake_batch.csv", "intake_batch.sav"])
def test_chunked_sample_data(tmp_path, data):
    _score_both(
        tmp_path,
        SAMPLE / data,
        "-i",
        "program-intake",
        "--id-column",
        "respondent_id",
        chunks=(100,),
    )


def test_chunked_qualtrics_export(tmp_path):
    _score_both(
        tmp_path,
        SAMPLE / "qualtrics_export.csv",
        "-i",
        "program-intake",
        "--map",
        SAMPLE / "qualtrics_map.yaml",
        chunks=(100,),
    )


def test_a_column_that_turns_to_text_late_is_text_in_every_chunk(tmp_path, toy_csv):
    frame = pd.read_csv(toy_csv, dtype=str, keep_default_na=False)
    frame.loc[50, "toy_3"] = "3 "  # not a number as written: the whole column is text
    frame.loc[55, "toy_4"] = "007"
    frame.to_csv(toy_csv, index=False)
    _score_both(tmp_path, toy_csv, "-i", TOY, chunks=(1, 7))


def test_parquet_in_and_out(tmp_path, toy_csv):
    source = tmp_path / "toy.parquet"
    assert invoke("score", toy_csv, "-i", "phq-9", "-o", tmp_path / "x.csv").exit_code == 2
    pd.read_csv(toy_csv, dtype=str, keep_default_na=False).to_parquet(source)
    _score_both(tmp_path, source, "-i", TOY, chunks=(7,), suffix=".parquet")


def test_shifted_codes_are_judged_on_the_whole_file(tmp_path):
    """One 0 per chunk on a 1-5 scale: no chunk looks shifted, the whole file does."""
    path = tmp_path / "shifted.csv"
    rows = [[f"r{i}", *([0, 1, 2, 3] if i % 7 == 0 else [1, 2, 3, 4])] for i in range(28)]
    pd.DataFrame(rows, columns=["id", "toy_1", "toy_2", "toy_3", "toy_4"]).to_csv(path, index=False)
    whole = invoke("score", path, "-i", TOY, "-o", tmp_path / "whole.csv")
    chunked = invoke("score", path, "-i", TOY, "-o", tmp_path / "out.csv", "--chunk-rows", 7)
    assert whole.exit_code == chunked.exit_code == 1
    assert "do not match the definition's scale" in chunked.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shifted.csv"]  # nothing left behind


@pytest.mark.parametrize("suffix", [".sav", ".xlsx"])
def test_formats_that_cannot_be_appended_are_refused_first(tmp_path, toy_csv, suffix):
    out = tmp_path / f"out{suffix}"
    got = invoke("score", toy_csv, "-i", TOY, "-o", out, "--chunk-rows", 10)
    assert got.exit_code == 2
    assert ".parquet" in got.output and "--chunk-rows" in got.output
    assert not out.exists()


def _reliability(data, *options):
    got = invoke("reliability", data, *options, "--json")
    assert got.exit_code in (0, 1), got.output
    return got.exit_code, json.loads(got.stdout)


def test_chunked_reliability_report_is_the_in_memory_one(toy_csv):
    expected = _reliability(toy_csv, "-i", TOY)
    for n in CHUNKS:
        assert _reliability(toy_csv, "-i", TOY, "--chunk-rows", n) == expected, n


def test_chunked_reliability_sample_data_with_overlap():
    data = SAMPLE / "intake_batch.sav"
    expected = _reliability(data, "-i", "program-intake")
    assert _reliability(data, "-i", "program-intake", "--chunk-rows", 37) == expected


def test_reliability_options_that_need_every_row_are_refused(toy_csv):
    got = invoke("reliability", toy_csv, "-i", TOY, "--chunk-rows", 5, "--bootstrap", 10)
    assert got.exit_code == 2 and "--bootstrap" in got.output


CELLS = st.sampled_from(
    ["", "0", "-0", "1", "12", "007", "1.5", "1.50", "2.0", "-3.25", "1e3", " 1", "NA", "0.1"]
) | st.text(max_size=4)


@settings(max_examples=300)
@given(st.lists(CELLS, min_size=1, max_size=80, unique=True))
def test_column_kind_of_a_few_values_is_the_general_rule(values):
    """The value-by-value check for small chunks agrees with the vectorised one."""
    from psyscore.io import text

    uniques = np.array(values, dtype=object)
    general = text._kind_of(uniques) if len(uniques) > text.FEW else None
    few = text._kind_of_few(uniques)
    if general is None:  # below FEW the general path is the value-by-value one: compare directly
        saved, text.FEW = text.FEW, 0
        try:
            general = text._kind_of(uniques)
        finally:
            text.FEW = saved
    assert few == general


MEMORY_SCRIPT = textwrap.dedent(
    """
    import resource, sys
    limit = int(sys.argv[1]) << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from psyscore.cli import main
    sys.argv = ["psyscore", *sys.argv[2:]]
    main()
    """
)


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is enforced on Linux only")
def test_memory_stays_bounded_by_the_chunk(tmp_path):
    """A file the in-memory path cannot score under the cap is scored in chunks under it.

    100,000 rows with a 2,000-character note each (200 MB): in memory every note is held
    (out of memory: exit 3, nothing written); in chunks of 20,000 rows only a chunk of them.
    """
    rng = np.random.default_rng(0)
    block = []
    for i in range(1000):
        a = rng.integers(1, 6, size=4)
        block.append(f"{i},{a[0]},{a[1]},{a[2]},{a[3]},{'x' * 1990}{i:010d}\n")
    path = tmp_path / "big.csv"
    with open(path, "w") as fh:
        fh.write("id,toy_1,toy_2,toy_3,toy_4,note\n")
        fh.write("".join(block) * 100)
    out = tmp_path / "out.csv"

    def run(*extra):
        return subprocess.run(
            [
                sys.executable,
                "-c",
                MEMORY_SCRIPT,
                str(CAP_MB),
                "score",
                str(path),
                "-i",
                str(TOY),
                "-o",
                str(out),
                *extra,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
        )

    whole = run()
    assert whole.returncode == 3, whole.stderr[-2000:]  # out of memory: its own exit code
    assert not out.exists()
    chunked = run("--chunk-rows", "20000")
    assert chunked.returncode == 0, chunked.stderr[-2000:]
    with open(out) as fh:
        assert sum(1 for _ in fh) == 100_001
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv", "out.csv"]


# address space (not RSS): the interpreter with numpy, pandas, pyarrow and scipy mapped, and a
# chunk, fit; the whole file's notes do not
CAP_MB = 800


def test_large_files_get_a_default_chunk_size(tmp_path, toy_csv, monkeypatch):
    from psyscore.io import chunks

    assert chunks.chunk_rows_for(toy_csv, None) is None  # small: read whole
    assert chunks.chunk_rows_for(toy_csv, 0) is None
    assert chunks.chunk_rows_for(toy_csv, 25) == 25
    monkeypatch.setattr(chunks, "AUTO_CHUNK_BYTES", 100)
    rows = chunks.chunk_rows_for(toy_csv, None)
    assert chunks.MIN_CHUNK_ROWS <= rows <= chunks.MAX_CHUNK_ROWS
    # where chunks cannot do the job the default reads the file whole, as before
    assert chunks.chunk_rows_for(toy_csv, None, outputs=[tmp_path / "x.sav"]) is None
    assert chunks.chunk_rows_for(toy_csv, None, needs_all_rows=True) is None
    assert "1 GB" in chunks.CHUNK_ROWS_HELP


def test_feldt_and_normal_quantiles_are_scipy_stats_ones():
    from scipy.stats import f, norm

    from psyscore.psychometrics import alpha

    for n, k in ((10, 3), (400, 21), (10**6, 30)):
        lo, hi = alpha.alpha_ci_feldt(0.8, n, k)
        df1, df2 = n - 1, (n - 1) * (k - 1)
        assert lo == float(1.0 - (1.0 - 0.8) * f.ppf(0.975, df1, df2))
        assert hi == float(1.0 - (1.0 - 0.8) * f.ppf(0.025, df1, df2))
    assert alpha.alpha_ci_ase(0.8, 0.01, level=0.9)[0] == 0.8 - float(norm.ppf(0.95)) * 0.01
