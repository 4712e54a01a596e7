"""`--chunk-rows` with the options it once refused: the in-memory outputs, byte for byte.

Each test runs the command whole (`--chunk-rows 0`) and in several small chunks, and compares
the written files' bytes and the --json payloads (and, for refusals, the message and exit code).
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from psyscore.cli import app

from .conftest import DATA, ROOT

runner = CliRunner()
TOY = DATA / "toy.yaml"
PER_SCORE = DATA / "per_score_reverse.yaml"
CHUNKS = (3, 25)


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def _score_both(tmp_path, data, *options, chunks=CHUNKS):
    whole = tmp_path / "whole.csv"
    first = invoke("score", data, *options, "-o", whole, "--json", "--chunk-rows", 0)
    assert first.exit_code in (0, 1), first.output
    expected = json.loads(first.stdout)
    for n in chunks:
        out = tmp_path / f"chunks{n}.csv"
        got = invoke("score", data, *options, "-o", out, "--json", "--chunk-rows", n)
        assert got.exit_code == first.exit_code, (n, got.output)
        report = json.loads(got.stdout)
        assert report["outputs"] == [str(out)]
        report["outputs"] = expected["outputs"]
        assert report == expected, n
        assert out.read_bytes() == whole.read_bytes(), n
    return expected


def _refused_alike(tmp_path, data, *options, command="score", chunks=(7,)):
    """The same refusal (exit code, message) whole and in chunks; nothing written."""
    outputs = ["-o", tmp_path / "out.csv"] if command == "score" else []
    whole = invoke(command, data, *options, *outputs, "--chunk-rows", 0)
    assert whole.exit_code in (1, 2), whole.output
    for n in chunks:
        got = invoke(command, data, *options, *outputs, "--chunk-rows", n)
        assert (got.exit_code, got.output) == (whole.exit_code, whole.output), n
    assert not (tmp_path / "out.csv").exists()
    return whole.output


def _reliability_both(data, *options, chunks=CHUNKS):
    first = invoke("reliability", data, *options, "--json", "--chunk-rows", 0)
    assert first.exit_code in (0, 1), first.output
    expected = json.loads(first.stdout)
    for n in chunks:
        got = invoke("reliability", data, *options, "--json", "--chunk-rows", n)
        assert got.exit_code == first.exit_code, (n, got.output)
        assert json.loads(got.stdout) == expected, n
    return expected


# ---- 1. --norm-by ------------------------------------------------------------------------------

MEN = {"group": "men", "mean": 2.0, "sd": 3.0, "source": "test", "sex": "male"}
YOUNG_WOMEN = {"group": "young women", "mean": 5.0, "sd": 4.0, "source": "test", "sex": "female"}
YOUNG_WOMEN["age"] = [18, 29]
OLDER_WOMEN = {**YOUNG_WOMEN, "group": "older women", "mean": 3.0, "age": [30, 99]}


@pytest.fixture
def phq_norms(tmp_path):
    data = yaml.safe_load((ROOT / "instruments" / "phq-9.yaml").read_text(encoding="utf-8"))
    data["id"] = "phq-9-norm-by"
    data["scores"]["total"]["norms"] = [MEN, YOUNG_WOMEN, OLDER_WOMEN]
    path = tmp_path / "phq-9-norm-by.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _phq_rows(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        rng.integers(0, 4, size=(rows, 9)), columns=[f"phq9_{i}" for i in range(1, 10)]
    )
    frame.insert(0, "respondent", [f"p{i:03d}" for i in range(rows)])
    return frame


def _norm_csv(tmp_path, rows: int = 60) -> object:
    """Sexes and ages that give every group and every reason for none, in an order whose
    counts change leader between the first chunks and the whole file."""
    frame = _phq_rows(rows, 3)
    sexes = np.array(["m", "Female", "diverse", "", "F", "male"], dtype=object)
    gender = sexes[np.random.default_rng(4).integers(0, len(sexes), rows)]
    gender[:7] = ["", "", "m", "", "Female", "", "m"]  # "sex not known" leads early only
    age = np.random.default_rng(5).integers(10, 80, rows).astype(object)
    age[np.arange(rows) % 9 == 4] = ""
    frame["gender"] = gender
    frame["age_years"] = age
    frame.loc[rows - 4, [f"phq9_{i}" for i in range(1, 10)]] = 3  # 27: beyond |z| > 4 for men
    frame.loc[rows - 4, "gender"] = "m"
    path = tmp_path / "norms.csv"
    frame.to_csv(path, index=False)
    return path


def test_norm_by_in_chunks_is_the_in_memory_output(tmp_path, phq_norms):
    data = _norm_csv(tmp_path)
    report = _score_both(tmp_path, data, "-i", phq_norms, "--norm-by", "sex=gender,age=age_years")
    said = " ".join(report["warnings"])
    assert "--norm-by sex=gender:" in said and "no norm group" in said
    assert "beyond the range the norm supports" in said


def test_norm_by_sex_only_in_chunks(tmp_path, phq_norms):
    _score_both(tmp_path, _norm_csv(tmp_path), "-i", phq_norms, "--norm-by", "sex=gender")


def test_norm_by_refusals_are_the_whole_files(tmp_path, phq_norms):
    data = _norm_csv(tmp_path)
    frame = pd.read_csv(data, dtype=str, keep_default_na=False)
    frame.loc[[3, 40, 52], "age_years"] = ["-2", "old", "200"]  # in several chunks
    frame.to_csv(data, index=False)
    said = _refused_alike(tmp_path, data, "-i", phq_norms, "--norm-by", "sex=gender,age=age_years")
    assert "row 4, 41, 53" in said.replace("\n", " ")
    frame = _phq_rows(30, 6).assign(sex=[1, 2] * 10 + [3] * 9 + [4])  # numeric, no labels
    frame.to_csv(data, index=False)
    said = _refused_alike(tmp_path, data, "-i", phq_norms, "--norm-by", "sex=sex")
    assert "1, 2, 3, 4" in said
    said = _refused_alike(tmp_path, data, "-i", phq_norms, "--norm-by", "sex=nosuch")
    assert "nosuch" in said


# ---- 2. per-score reverse keys -----------------------------------------------------------------


@pytest.fixture
def per_score_csv(tmp_path):
    """q1 reversed in one score, forward in another; missing answers, an invalid code late."""
    rng = np.random.default_rng(11)
    latent = rng.normal(size=80)
    frame = pd.DataFrame(
        {
            "q1": np.clip(np.round(3 - latent + rng.normal(size=80)), 1, 5),
            "q2": np.clip(np.round(3 + latent + rng.normal(size=80)), 1, 5),
            "q3": np.clip(np.round(3 + latent + rng.normal(size=80)), 1, 5),
            "q4": np.clip(np.round(3 + 0.5 * latent + rng.normal(size=80)), 1, 5),
        }
    ).astype("Int64")
    frame = frame.mask(rng.random(frame.shape) < 0.08)
    frame.loc[70, "q3"] = 8  # out of range, in a late chunk
    frame.insert(0, "id", [f"r{i}" for i in range(80)])
    path = tmp_path / "keys.csv"
    frame.to_csv(path, index=False)
    return path


def test_per_score_keys_score_in_chunks(tmp_path, per_score_csv):
    _score_both(tmp_path, per_score_csv, "-i", PER_SCORE, "--id-column", "id")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_per_score_keys_reliability_in_chunks(per_score_csv):
    report = _reliability_both(per_score_csv, "-i", PER_SCORE)
    assert report["overlap"]["scores"] == ["psk_a", "psk_b", "psk_c"]
    assert report["overlap"]["shared_items"][0][1] == -1  # q1: -1 in a, +1 in b


# ---- 3. --by -----------------------------------------------------------------------------------


@pytest.fixture
def toy_sites(tmp_path):
    """The streaming tests' toy file (missing answers, a refused code, a preview, a late
    problem row) with a site column: numeric codes, a group seen only late, empty cells."""
    from .test_streaming import _toy_csv

    path = tmp_path / "toy.csv"
    _toy_csv(path, rows=90)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    site = np.array(["2", "10", "1", ""], dtype=object)[np.arange(90) % 4]
    site[80:] = "3"  # a group only the last chunks have
    frame["site"] = site
    frame.to_csv(path, index=False)
    return path


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_by_in_chunks_is_the_in_memory_report(toy_sites):
    report = _reliability_both(toy_sites, "-i", TOY, "--by", "site")
    groups = [g["group"] for g in report["instruments"][0]["scores"][0]["groups"]]
    assert groups == ["1", "2", "3", "10", None]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_by_text_report_and_html_in_chunks(tmp_path, toy_sites):
    whole = invoke("reliability", toy_sites, "-i", TOY, "--by", "site", "--chunk-rows", 0)
    got = invoke("reliability", toy_sites, "-i", TOY, "--by", "site", "--chunk-rows", 9)
    assert (got.exit_code, got.output) == (whole.exit_code, whole.output)
    for n in (0, 9):
        html = tmp_path / f"r{n}.html"
        args = ("-i", TOY, "--by", "site", "--html", html, "--chunk-rows", n)
        assert invoke("reliability", toy_sites, *args).exit_code == whole.exit_code
    stamp = re.compile(rb"\d{4}-\d{2}-\d{2} \d{2}:\d{2}[^<]*")  # when it was generated
    chunked, whole_html = ((tmp_path / f"r{n}.html").read_bytes() for n in (9, 0))
    assert stamp.sub(b"", chunked) == stamp.sub(b"", whole_html)


def test_by_an_unknown_column_in_chunks(tmp_path, toy_sites):
    said = _refused_alike(tmp_path, toy_sites, "-i", TOY, "--by", "nosuch", command="reliability")
    assert "--by nosuch" in said


# ---- 4. --correlations polychoric --------------------------------------------------------------

POLY = ("--correlations", "polychoric", "--json")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_polychoric_in_chunks_is_the_in_memory_report(toy_sites):
    report = _reliability_both(toy_sites, "-i", TOY, "--correlations", "polychoric", "--by", "site")
    total = report["instruments"][0]["scores"][1]
    assert total["correlations"] == "polychoric" and total["ordinal_alpha"] is not None
    assert all("ordinal_alpha" in g for g in total["groups"])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_polychoric_per_score_keys_in_chunks(per_score_csv):
    _reliability_both(per_score_csv, "-i", PER_SCORE, "--correlations", "polychoric")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_polychoric_reasons_in_chunks(tmp_path):
    """Ten categories used (psych's max.cat is 8) and half-point codes: the same reasons."""
    definition = yaml.safe_load(TOY.read_text(encoding="utf-8"))
    definition["id"] = "toy-wide"
    definition["response_scales"]["agree5"]["values"] = {
        **{i: f"point {i}" for i in range(10)},
        2.5: "between",
    }
    definition.pop("examples")
    definition["scores"]["total"].pop("bands")
    path = tmp_path / "wide.yaml"
    path.write_text(yaml.safe_dump(definition, sort_keys=False), encoding="utf-8")
    rng = np.random.default_rng(2)
    codes = rng.integers(0, 10, size=(40, 4)).astype(float)
    codes[30, 0] = 2.5  # in a late chunk, in part and total
    frame = pd.DataFrame(codes, columns=[f"toy_{i}" for i in range(1, 5)])
    frame.loc[:, "toy_4"] = rng.integers(0, 10, 40)
    data = tmp_path / "wide.csv"
    frame.to_csv(data, index=False)
    # half points: merged moments are not the same bits (an existing limit of --chunk-rows for
    # codes that are not whole), so only the ordinal statistics are compared here
    whole, chunked = (
        json.loads(invoke("reliability", data, "-i", path, *POLY, "--chunk-rows", n).stdout)
        for n in (0, 6)
    )
    ordinal = [
        [{k: v for k, v in s.items() if k.startswith(("ordinal", "polychoric"))} for s in r]
        for r in (whole["instruments"][0]["scores"], chunked["instruments"][0]["scores"])
    ]
    assert ordinal[0] == ordinal[1]
    assert all("whole-number" in s["ordinal_reason"] for s in ordinal[0]), ordinal
    frame.loc[30, "toy_1"] = 3
    frame.to_csv(data, index=False)
    report = _reliability_both(data, "-i", path, "--correlations", "polychoric", chunks=(6,))
    reasons = [s["ordinal_reason"] for s in report["instruments"][0]["scores"]]
    assert all("at most 8 categories" in r for r in reasons), reasons


# ---- what still needs every row ----------------------------------------------------------------


def test_syntax_is_refused_in_chunks_and_says_why(tmp_path, toy_sites):
    """The syntax reads the rows (the Status values to exclude, checks against the scored
    rows): one written from a sample could miss a value, so chunks refuse it."""
    got = invoke(
        "score",
        toy_sites,
        "-i",
        TOY,
        "-o",
        tmp_path / "o.csv",
        "--syntax",
        tmp_path / "s.sps",
        "--chunk-rows",
        7,
    )
    assert got.exit_code == 2
    assert "--chunk-rows 0" in got.output and "sample" not in got.output
    assert not (tmp_path / "o.csv").exists() and not (tmp_path / "s.sps").exists()


@pytest.mark.parametrize("option", [("--impute", "mean"), ("--bootstrap", "10")])
def test_options_that_need_the_rows_are_refused_with_the_alternative(toy_sites, option):
    got = invoke("reliability", toy_sites, "-i", TOY, *option, "--chunk-rows", 7)
    assert got.exit_code == 2
    assert option[0] in got.output and "--chunk-rows 0" in got.output


def test_counts_in_blocks_of_rows_are_the_counts_of_all(monkeypatch):
    from psyscore.psychometrics import polychoric as P

    rng = np.random.default_rng(8)
    items = pd.DataFrame(rng.integers(0, 5, size=(101, 3)).astype(float), columns=list("abc"))
    items = items.mask(rng.random(items.shape) < 0.1)
    expected = P.OrdinalCounts.from_data(items, np.arange(5.0)).tables
    monkeypatch.setattr(P, "BLOCK_CELLS", 7 * 15)  # blocks of 7 rows
    got = P.whole_code_counts(items, np.arange(-1.0, 7.0))
    assert np.array_equal(got.tables[:, :, 1:6, 1:6], expected)
    assert got.tables[:, :, [0, 6, 7]].sum() == 0
