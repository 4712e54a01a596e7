"""Test-retest (`psyscore retest`, `psyscore.retest_table`): ICCs, CIs, SEM and reliable change
per score over two waves, against R psych 2.2.9 (fixture written by
tests/reference/run_retest_psych.R; R is not needed to run these tests)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pingouin
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from psyscore.cli import app
from psyscore.errors import DataError, UsageError
from psyscore.library import resolve_instruments
from psyscore.psychometrics import retest_reliability
from psyscore.psychometrics.retest import icc_type_name
from psyscore.retest_table import Wave, normalize_id, retest_long, retest_two

from .conftest import ROOT

REF = ROOT / "tests" / "reference"
DATA = REF / "data"
WAVE1 = DATA / "retest_wave1.csv"
WAVE2 = DATA / "retest_wave2.csv"
LONG = DATA / "retest_long.csv"
TYPES = ["ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"]
TOL = 1e-6

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, ["retest", *[str(a) for a in args]])


@pytest.fixture(scope="module")
def fixture():
    return json.loads((REF / "fixtures" / "retest_psych.json").read_text())


@pytest.fixture(scope="module")
def instruments():
    return resolve_instruments(["phq-9", "gad-7"])


@pytest.fixture(scope="module")
def result(instruments):
    w1, w2 = pd.read_csv(WAVE1), pd.read_csv(WAVE2)
    return retest_two(
        Wave(w1, WAVE1.name), Wave(w2, WAVE2.name), instruments, id_column="respondent_id"
    )


# ------------------------------------------------------------------------------------------
# agreement with psych::ICC


def test_join_counts_match_r(result, fixture):
    j = result.join
    assert j["wave1"]["rows"] == fixture["n_wave1"] and j["wave2"]["rows"] == fixture["n_wave2"]
    assert j["matched"] == fixture["n_matched"] == 140
    assert j["only_wave1"] == fixture["n_only_wave1"] == 10
    assert j["only_wave2"] == fixture["n_only_wave2"] == 10
    assert j["only_wave2_ids"] == [f"p{i}" for i in range(151, 161)]
    assert result.problems == [] and result.warnings == []


@pytest.mark.parametrize("column", ["phq9_total", "gad7_total"])
def test_icc_and_ci_match_psych(result, fixture, column):
    """pingouin's ICCs and F-based CIs are psych's formulas (Shrout & Fleiss; McGraw & Wong for
    ICC(A,1)): they agree to about 1e-15 once pingouin's default 2-decimal CI rounding is off."""
    ref = fixture["scores"][column]
    res = result.details[column]
    assert res.n == ref["n"]
    assert list(res.icc["Type"]) == ref["results"]["type"] == TYPES
    np.testing.assert_allclose(res.icc["ICC"], ref["results"]["ICC"], rtol=0, atol=TOL)
    ci = np.array(res.icc["CI95"].tolist())
    np.testing.assert_allclose(ci[:, 0], ref["results"]["lower bound"], rtol=0, atol=TOL)
    np.testing.assert_allclose(ci[:, 1], ref["results"]["upper bound"], rtol=0, atol=TOL)
    np.testing.assert_allclose(res.icc["F"], ref["results"]["F"], rtol=TOL)
    np.testing.assert_allclose(res.icc["df2"], ref["results"]["df2"])
    np.testing.assert_allclose(res.icc["pval"], ref["results"]["p"], rtol=1e-6)
    # the JSON's list of every type carries the same numbers
    every = result.all_iccs(column)
    assert [every[t]["icc"] for t in TYPES] == pytest.approx(ref["results"]["ICC"], abs=TOL)


@pytest.mark.parametrize("column", ["phq9_total", "gad7_total"])
def test_descriptives_sem_and_reliable_change_match_r(result, fixture, column):
    ref = fixture["scores"][column]
    row = result.table.set_index("column").loc[column]
    assert row["n_pairs"] == ref["n"]
    assert row["icc_type"] == "ICC2"
    assert row["icc"] == pytest.approx(ref["results"]["ICC"][1], abs=TOL)
    assert row["ci_low"] == pytest.approx(ref["results"]["lower bound"][1], abs=TOL)
    assert row["ci_high"] == pytest.approx(ref["results"]["upper bound"][1], abs=TOL)
    for ours, theirs in [
        ("mean_1", "mean1"),
        ("sd_1", "sd1"),
        ("mean_2", "mean2"),
        ("sd_2", "sd2"),
        ("mean_diff", "mean_diff"),
        ("sd_diff", "sd_diff"),
        ("pearson_r", "pearson"),
        ("sem", "sem_icc2"),
        ("rc_threshold", "rc_threshold_icc2"),
    ]:
        assert row[ours] == pytest.approx(ref[theirs], abs=TOL), ours
    assert row["sd_used"] == row["sd_1"]
    assert row["rc_threshold"] == pytest.approx(1.96 * math.sqrt(2) * row["sem"], rel=1e-12)


def test_unscored_total_drops_only_that_pair(result):
    """p020 answered 6 of 9 PHQ-9 items at wave 2 (needs 7): no PHQ-9 pair, GAD-7 pair kept."""
    t = result.table.set_index("column")
    assert t.loc["phq9_total", "n_pairs"] == 139 and t.loc["phq9_total", "n_incomplete"] == 1
    assert t.loc["gad7_total", "n_pairs"] == 140 and t.loc["gad7_total", "n_incomplete"] == 0


def test_long_layout_gives_the_same_table(result, instruments):
    long = retest_long(
        pd.read_csv(LONG),
        instruments,
        id_column="respondent_id",
        wave_column="wave",
        file=LONG.name,
    )
    pd.testing.assert_frame_equal(long.table, result.table)
    assert long.join["waves"] == ["1", "2"] and long.join["rows_other_waves"] == 0
    for key in ("matched", "only_wave1", "only_wave2", "only_wave1_ids", "only_wave2_ids"):
        assert long.join[key] == result.join[key]


def test_existing_api_cis_are_full_precision_and_rounding_options_restored():
    """retest_reliability used to return pingouin's CIs rounded to 2 decimals."""
    fx = json.loads((REF / "fixtures" / "psych_retest.json").read_text())["results"]
    before = dict(pingouin.options)
    res = retest_reliability(pd.read_csv(DATA / "retest.csv"))
    assert dict(pingouin.options) == before
    ci = np.array(res.icc["CI95"].tolist())
    np.testing.assert_allclose(ci[:, 0], fx["lower bound"], rtol=0, atol=TOL)
    np.testing.assert_allclose(ci[:, 1], fx["upper bound"], rtol=0, atol=TOL)
    assert res.ci95 == pytest.approx((fx["lower bound"][1], fx["upper bound"][1]), abs=TOL)
    json.dumps(res.to_dict(), allow_nan=False)


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("ICC2", "ICC2"),
        ("icc3", "ICC3"),
        ("ICC(2,1)", "ICC2"),
        ("ICC(3,1)", "ICC3"),
        ("ICC(A,1)", "ICC2"),
        ("icc(c,1)", "ICC3"),
        ("ICC2K", "ICC2k"),
        ("ICC(A,k)", "ICC2k"),
    ],
)
def test_icc_type_names(name, canonical):
    assert icc_type_name(name) == canonical


def test_unknown_icc_type():
    with pytest.raises(ValueError, match="unknown ICC type"):
        icc_type_name("ICC4")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(7, "7"), (7.0, "7"), (" 7 ", "7"), ("p001", "p001"), (np.int64(3), "3"), (2.5, "2.5")],
)
def test_normalize_id(value, expected):
    assert normalize_id(value) == expected


@pytest.mark.parametrize("value", [None, float("nan"), pd.NA, "", "  "])
def test_normalize_missing_id(value):
    assert normalize_id(value) is None


# ------------------------------------------------------------------------------------------
# the command


def test_cli_two_files_and_long_file_give_identical_json(fixture):
    a = invoke(WAVE1, WAVE2, "-i", "phq-9", "-i", "gad-7", "--id-column", "respondent_id", "--json")
    b = invoke(
        LONG,
        "-i",
        "phq-9",
        "-i",
        "gad-7",
        "--id-column",
        "respondent_id",
        "--wave-column",
        "wave",
        "--json",
    )
    assert a.exit_code == 0, a.output
    assert b.exit_code == 0, b.output
    ja, jb = json.loads(a.stdout), json.loads(b.stdout)
    assert ja["scores"] == jb["scores"]
    for key in ("matched", "only_wave1", "only_wave2", "only_wave1_ids", "only_wave2_ids"):
        assert ja["join"][key] == jb["join"][key]
    assert ja["layout"] == "two files" and jb["layout"] == "long"
    assert jb["wave_column"] == "wave" and jb["waves"] == ["1", "2"]
    phq = ja["scores"][0]
    ref = fixture["scores"]["phq9_total"]
    assert phq["icc"] == pytest.approx(ref["results"]["ICC"][1], abs=TOL)
    assert phq["ci95"] == pytest.approx(
        [ref["results"]["lower bound"][1], ref["results"]["upper bound"][1]], abs=TOL
    )


def test_cli_json_fields():
    res = invoke(WAVE1, WAVE2, "-i", "phq-9", "--id-column", "respondent_id", "--json")
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert {
        "layout",
        "inputs",
        "id_column",
        "wave_column",
        "waves",
        "icc_type",
        "icc_description",
        "sd_from",
        "z",
        "join",
        "scores",
        "problems",
        "warnings",
    } <= set(payload)
    assert payload["icc_type"] == "ICC2"
    assert "absolute agreement" in payload["icc_description"]
    assert payload["id_column"] == "respondent_id"
    assert payload["join"]["wave1"]["file"] == WAVE1.name
    assert payload["join"]["matched"] == 140
    (score,) = payload["scores"]
    assert {
        "instrument",
        "score",
        "column",
        "n_pairs",
        "n_incomplete",
        "icc_type",
        "icc",
        "ci95",
        "f",
        "df1",
        "df2",
        "p",
        "pearson_r",
        "mean_1",
        "sd_1",
        "mean_2",
        "sd_2",
        "mean_diff",
        "sd_diff",
        "sd_used",
        "sem",
        "rc_threshold",
        "published_retest",
        "note",
        "all_icc",
    } == set(score)
    assert (score["instrument"], score["score"], score["column"]) == (
        "phq-9",
        "total",
        "phq9_total",
    )
    assert set(score["all_icc"]) == set(TYPES)
    assert score["sem"] == pytest.approx(score["sd_1"] * math.sqrt(1 - score["icc"]), rel=1e-12)
    json.dumps(payload, allow_nan=False)


def test_cli_table_output():
    res = invoke(WAVE1, WAVE2, "-i", "phq-9", "-i", "gad-7", "--id-column", "respondent_id")
    assert res.exit_code == 0, res.output
    text = res.stdout
    assert "140 in both waves" in text
    assert "10 only in wave 1 (retest_wave1.csv)" in text
    assert "phq9_total" in text and "gad7_total" in text
    assert "absolute agreement" in text and "Jacobson" in text
    assert ".674" in text  # PHQ-9 ICC(2,1) = 0.6744


@pytest.mark.parametrize("icc", ["ICC3", "ICC(3,1)", "icc(c,1)"])
def test_cli_icc_choice(icc, fixture):
    res = invoke(
        WAVE1, WAVE2, "-i", "phq-9", "--id-column", "respondent_id", "--icc", icc, "--json"
    )
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert payload["icc_type"] == "ICC3" and "consistency" in payload["icc_description"]
    s = payload["scores"][0]
    ref = fixture["scores"]["phq9_total"]
    assert s["icc"] == pytest.approx(ref["results"]["ICC"][2], abs=TOL)
    assert s["ci95"][0] == pytest.approx(ref["results"]["lower bound"][2], abs=TOL)
    assert s["sem"] == pytest.approx(ref["sd1"] * math.sqrt(1 - ref["results"]["ICC"][2]), abs=TOL)


def test_cli_average_icc_warns():
    res = invoke(WAVE1, WAVE2, "-i", "phq-9", "--id-column", "respondent_id", "--icc", "ICC2k")
    assert res.exit_code == 0, res.output
    assert "mean of both waves" in res.stderr


def test_cli_pooled_sd(fixture):
    res = invoke(
        WAVE1, WAVE2, "-i", "phq-9", "--id-column", "respondent_id", "--sd", "pooled", "--json"
    )
    assert res.exit_code == 0, res.output
    s = json.loads(res.stdout)["scores"][0]
    ref = fixture["scores"]["phq9_total"]
    pooled = math.sqrt((ref["sd1"] ** 2 + ref["sd2"] ** 2) / 2)
    assert s["sd_used"] == pytest.approx(pooled, abs=TOL)
    assert s["sem"] == pytest.approx(pooled * math.sqrt(1 - ref["results"]["ICC"][1]), abs=TOL)


def _write(tmp_path, name, frame):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def long3(tmp_path):
    """The long reference file plus a third wave, an exact copy of wave 2."""
    df = pd.read_csv(LONG)
    third = df[df.wave == 2].assign(wave=3)
    return _write(tmp_path, "long3.csv", pd.concat([df, third], ignore_index=True))


def test_cli_three_waves_need_waves_option(long3):
    res = invoke(long3, "-i", "phq-9", "--id-column", "respondent_id", "--wave-column", "wave")
    assert res.exit_code == 2
    assert "long3.csv" in res.stderr and "'wave'" in res.stderr and "--waves" in res.stderr
    picked = invoke(
        long3,
        "-i",
        "phq-9",
        "--id-column",
        "respondent_id",
        "--wave-column",
        "wave",
        "--waves",
        "1,2",
        "--json",
    )
    assert picked.exit_code == 0, picked.output
    payload = json.loads(picked.stdout)
    assert payload["join"]["rows_other_waves"] == 150 and payload["waves"] == ["1", "2"]
    two = json.loads(
        invoke(WAVE1, WAVE2, "-i", "phq-9", "--id-column", "respondent_id", "--json").stdout
    )
    assert payload["scores"] == two["scores"]
    # waves 2 and 3 are identical: ICC 1, SEM 0, reliable-change threshold 0
    same = invoke(
        long3,
        "-i",
        "phq-9",
        "--id-column",
        "respondent_id",
        "--wave-column",
        "wave",
        "--waves",
        "2,3",
        "--json",
    )
    s = json.loads(same.stdout)["scores"][0]
    assert s["icc"] == pytest.approx(1.0, abs=1e-12)
    assert s["sem"] == pytest.approx(0, abs=1e-6) and s["rc_threshold"] == pytest.approx(
        0, abs=1e-6
    )
    assert s["note"] and "identical" in s["note"]


def test_cli_waves_order_sets_baseline(long3):
    fwd = invoke(
        long3,
        "-i",
        "phq-9",
        "--id-column",
        "respondent_id",
        "--wave-column",
        "wave",
        "--waves",
        "1,2",
        "--json",
    )
    rev = invoke(
        long3,
        "-i",
        "phq-9",
        "--id-column",
        "respondent_id",
        "--wave-column",
        "wave",
        "--waves",
        "2,1",
        "--json",
    )
    f, r = json.loads(fwd.stdout)["scores"][0], json.loads(rev.stdout)["scores"][0]
    assert r["icc"] == pytest.approx(f["icc"], abs=1e-12)  # symmetric in the waves
    assert r["mean_diff"] == pytest.approx(-f["mean_diff"], abs=1e-12)
    assert r["sd_1"] == pytest.approx(f["sd_2"], abs=1e-12)


def test_cli_text_waves_in_order_of_appearance(tmp_path):
    df = pd.read_csv(LONG)
    df["wave"] = df["wave"].map({1: "pre", 2: "post"})
    path = _write(tmp_path, "prepost.csv", df)
    res = invoke(
        path, "-i", "phq-9", "--id-column", "respondent_id", "--wave-column", "wave", "--json"
    )
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert payload["waves"] == ["pre", "post"]
    assert payload["scores"][0]["mean_diff"] == pytest.approx(-1.5107913669064748, abs=TOL)


def test_cli_ids_compared_as_text(tmp_path):
    """Numeric ids read as 1 in one file and 1.0 in the other (SPSS) are the same respondent."""
    w1 = pd.read_csv(WAVE1)
    w2 = pd.read_csv(WAVE2)
    w1["respondent_id"] = w1["respondent_id"].str[1:].astype(int)
    w2["respondent_id"] = w2["respondent_id"].str[1:].astype(float)  # written as 1.0, 2.0
    a, b = _write(tmp_path, "a.csv", w1), _write(tmp_path, "b.csv", w2)
    assert "\n20.0," in b.read_text()
    res = invoke(a, b, "-i", "phq-9", "--id-column", "respondent_id", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["join"]["matched"] == 140


@pytest.mark.parametrize(
    ("args", "code", "needles"),
    [
        ((WAVE1, WAVE2, "-i", "phq-9", "--id-column", "rid"), 2, ["retest_wave1.csv", "'rid'"]),
        (
            (LONG, "-i", "phq-9", "--id-column", "respondent_id", "--wave-column", "visit"),
            2,
            ["retest_long.csv", "'visit'"],
        ),
        (
            (
                LONG,
                "-i",
                "phq-9",
                "--id-column",
                "respondent_id",
                "--wave-column",
                "wave",
                "--waves",
                "1,5",
            ),
            2,
            ["'5'", "'wave'"],
        ),
        (
            (
                LONG,
                "-i",
                "phq-9",
                "--id-column",
                "respondent_id",
                "--wave-column",
                "wave",
                "--waves",
                "1",
            ),
            2,
            ["--waves"],
        ),
        ((LONG, "-i", "phq-9", "--id-column", "respondent_id"), 2, ["--wave-column"]),
        ((WAVE1, WAVE2, LONG, "-i", "phq-9", "--id-column", "respondent_id"), 2, ["two files"]),
        (
            (WAVE1, WAVE2, "-i", "phq-9", "--id-column", "respondent_id", "--wave-column", "wave"),
            2,
            ["long file"],
        ),
        ((WAVE1, WAVE1, "-i", "phq-9", "--id-column", "respondent_id"), 2, ["both waves"]),
        (
            (WAVE1, WAVE2, "-i", "phq-9", "--id-column", "respondent_id", "--icc", "ICC4"),
            2,
            ["--icc"],
        ),
        (
            (WAVE1, WAVE2, "-i", "phq-9", "--id-column", "respondent_id", "--sd", "wave2"),
            2,
            ["--sd"],
        ),
        ((WAVE1, WAVE2, "-i", "no-such-instrument", "--id-column", "respondent_id"), 2, []),
    ],
)
def test_cli_usage_errors(args, code, needles):
    res = invoke(*args)
    assert res.exit_code == code, res.output
    assert "Traceback" not in res.output
    for needle in needles:
        assert needle in res.stderr


def test_cli_missing_id_option_is_a_usage_error():
    res = invoke(WAVE1, WAVE2, "-i", "phq-9")
    assert res.exit_code == 2
    assert "--id-column" in res.output + res.stderr


def test_cli_no_respondents_in_common(tmp_path):
    w2 = pd.read_csv(WAVE2)
    w2["respondent_id"] = "x" + w2["respondent_id"]
    other = _write(tmp_path, "other.csv", w2)
    res = invoke(WAVE1, other, "-i", "phq-9", "--id-column", "respondent_id")
    assert res.exit_code == 1
    assert "retest_wave1.csv and other.csv" in res.stderr
    assert "no respondent id" in res.stderr and "'respondent_id'" in res.stderr
    assert "'xp" in res.stderr  # shows what the ids look like


def test_cli_single_wave_in_long_file(tmp_path):
    df = pd.read_csv(LONG)
    path = _write(tmp_path, "one.csv", df[df.wave == 1])
    res = invoke(path, "-i", "phq-9", "--id-column", "respondent_id", "--wave-column", "wave")
    assert res.exit_code == 1
    assert "one.csv" in res.stderr and "only '1'" in res.stderr


def test_cli_duplicate_and_missing_ids_are_data_problems(tmp_path):
    w2 = pd.read_csv(WAVE2).astype({"respondent_id": object})
    w2.loc[3, "respondent_id"] = w2.loc[4, "respondent_id"]  # two rows now share one id
    w2.loc[7, "respondent_id"] = None
    dup_id = w2.loc[4, "respondent_id"]
    lost = pd.read_csv(WAVE2).loc[[3, 7], "respondent_id"].tolist()
    path = _write(tmp_path, "w2dup.csv", w2)
    res = invoke(WAVE1, path, "-i", "gad-7", "--id-column", "respondent_id", "--json")
    assert res.exit_code == 1, res.output
    payload = json.loads(res.stdout)
    kinds = [(p["kind"], p.get("row"), p["file"]) for p in payload["problems"]]
    assert ("duplicate_id", 4, "w2dup.csv") in kinds and ("duplicate_id", 5, "w2dup.csv") in kinds
    assert ("missing_id", 8, "w2dup.csv") in kinds
    w = payload["join"]["wave2"]
    assert (w["duplicate_ids"], w["rows_duplicate_id"], w["rows_missing_id"]) == (1, 2, 1)
    assert w["respondents"] == 147
    # the duplicated id and the two overwritten ids are no longer matched (all in wave 1)
    expected = 140 - sum(i in set(pd.read_csv(WAVE1).respondent_id) for i in {dup_id, *lost})
    assert payload["join"]["matched"] == expected
    text = invoke(WAVE1, path, "-i", "gad-7", "--id-column", "respondent_id")
    assert text.exit_code == 1
    assert "duplicate_id" in text.stdout and "left out of wave 2" in text.stdout


def test_cli_bad_answers_are_reported_with_the_file_row(tmp_path):
    df = pd.read_csv(LONG)
    df.loc[9, "gad7_3"] = 7
    path = _write(tmp_path, "bad.csv", df)
    res = invoke(
        path, "-i", "gad-7", "--id-column", "respondent_id", "--wave-column", "wave", "--json"
    )
    assert res.exit_code == 1
    (problem,) = json.loads(res.stdout)["problems"]
    assert problem["kind"] == "out_of_range" and problem["row"] == 10
    assert problem["file"] == "bad.csv" and problem["column"] == "gad7_3"


def test_pure_api_errors(instruments):
    w1, w2 = pd.read_csv(WAVE1), pd.read_csv(WAVE2)
    with pytest.raises(UsageError, match="w1.csv: --id-column 'rid'"):
        retest_two(Wave(w1, "w1.csv"), Wave(w2, "w2.csv"), instruments, id_column="rid")
    with pytest.raises(DataError, match="no respondent id"):
        retest_two(
            Wave(w1, "w1.csv"),
            Wave(w2.assign(respondent_id="z"), "w2.csv"),
            instruments,
            id_column="respondent_id",
        )
    with pytest.raises(UsageError, match="no column of the data matches an item of gad-7"):
        retest_two(
            Wave(w1, "w1.csv"),
            Wave(w2.drop(columns=[f"gad7_{i}" for i in range(1, 8)]), "w2.csv"),
            instruments,
            id_column="respondent_id",
        )


def test_too_few_pairs_gives_a_note_not_an_error(instruments):
    w1, w2 = pd.read_csv(WAVE1), pd.read_csv(WAVE2)
    w2 = w2[w2.respondent_id.isin(["p010", "p011"])]
    res = retest_two(Wave(w1), Wave(w2), instruments, id_column="respondent_id")
    row = res.table.iloc[0]
    assert row["n_pairs"] == 2 and math.isnan(row["icc"]) and "needs 3" in row["note"]


# ------------------------------------------------------------------------------------------
# properties

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def two_waves(draw):
    n = draw(st.integers(3, 40))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    true = rng.normal(10, 4, n)
    a = np.round(true + rng.normal(0, draw(st.floats(0.1, 4.0)), n), 1)
    b = np.round(true + draw(st.floats(-3, 3)) + rng.normal(0, draw(st.floats(0.1, 4.0)), n), 1)
    return a, b


def _frames(a, b):
    ids = np.arange(len(a))
    return pd.DataFrame({"id": ids, "score": a}), pd.DataFrame({"id": ids, "score": b})


@SETTINGS
@given(two_waves())
def test_swapping_the_waves_leaves_every_icc_unchanged(waves):
    a, b = waves
    fwd = retest_reliability(*_frames(a, b))
    rev = retest_reliability(*_frames(b, a))
    np.testing.assert_allclose(fwd.icc["ICC"], rev.icc["ICC"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(
        np.array(fwd.icc["CI95"].tolist()), np.array(rev.icc["CI95"].tolist()), atol=1e-8
    )
    assert rev.mean_change == pytest.approx(-fwd.mean_change, abs=1e-10)
    assert rev.pearson_r == pytest.approx(fwd.pearson_r, abs=1e-12)
    # the SEM uses the wave-1 SD, so it changes with the order; with the pooled SD it does not
    p1 = retest_reliability(*_frames(a, b), sd_from="pooled")
    p2 = retest_reliability(*_frames(b, a), sd_from="pooled")
    assert p1.sem == pytest.approx(p2.sem, rel=1e-9, abs=1e-12)


@SETTINGS
@given(two_waves())
def test_identical_waves_give_icc_one_and_sem_zero(waves):
    a, _ = waves
    if np.ptp(a) == 0:
        return
    res = retest_reliability(*_frames(a, a))
    np.testing.assert_allclose(res.icc["ICC"], 1.0, atol=1e-12)
    assert res.sem == pytest.approx(0.0, abs=1e-6) and res.rci_threshold == pytest.approx(
        0, abs=1e-5
    )
    assert res.mean_change == 0


@SETTINGS
@given(two_waves(), st.floats(-5, 5))
def test_a_constant_shift_leaves_consistency_but_not_agreement(waves, shift):
    a, b = waves
    base = retest_reliability(*_frames(a, b), icc_type="ICC3")
    moved = retest_reliability(*_frames(a, b + shift), icc_type="ICC3")
    assert moved.r == pytest.approx(base.r, abs=1e-8)
    assert moved.pearson_r == pytest.approx(base.pearson_r, abs=1e-8)
    if not (math.isfinite(base.r) and base.r > 0):
        return
    # ICC2 (absolute agreement) = (MSR - MSE) / (MSR + MSE + 2 (MSC - MSE) / n) falls as the
    # between-wave mean square MSC grows while MSR > MSE (ICC3 > 0): removing the mean
    # difference can only raise it
    d = float(np.mean(b - a))
    centred = retest_reliability(*_frames(a, b - d), icc_type="ICC2")
    assert centred.r >= retest_reliability(*_frames(a, b), icc_type="ICC2").r - 1e-10


def test_cli_spss_wave_with_numeric_ids_joins_a_csv_wave(tmp_path):
    """A .sav stores ids as doubles (1.0); the CSV has integers (1): the same respondents."""
    import pyreadstat

    w1 = pd.read_csv(WAVE1)
    w1["respondent_id"] = w1["respondent_id"].str[1:].astype(float)
    sav = tmp_path / "w1.sav"
    pyreadstat.write_sav(w1, str(sav))
    w2 = pd.read_csv(WAVE2)
    w2["respondent_id"] = w2["respondent_id"].str[1:].astype(int)
    csv = _write(tmp_path, "w2.csv", w2)
    res = invoke(sav, csv, "-i", "phq-9", "--id-column", "respondent_id", "--json")
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert payload["join"]["matched"] == 140
    assert payload["join"]["only_wave2_ids"] == [str(i) for i in range(151, 161)]
    ref = json.loads(
        invoke(WAVE1, WAVE2, "-i", "phq-9", "--id-column", "respondent_id", "--json").stdout
    )
    assert payload["scores"] == ref["scores"]


# ------------------------------------------------------------------------------------------
# Qualtrics exports: previews and spam are no respondents; problems carry the file's row


def _qualtrics(frame: pd.DataFrame, status: list) -> pd.DataFrame:
    """`frame` as a Qualtrics export's data rows: Status and ResponseId columns first."""
    out = frame.copy()
    out.insert(0, "ResponseId", [f"R_{n:05d}" for n in range(len(out))])
    out.insert(0, "Status", status)
    return out


def _write_qualtrics(path, frame: pd.DataFrame):
    """Write `frame` with the two extra header rows of a Qualtrics export (question text and
    ImportId), so the file's row of data row r is r + 3."""
    header = [
        {c: f"{c} text" for c in frame.columns},
        {c: f'{{"ImportId":"{c}"}}' for c in frame.columns},
    ]
    full = pd.concat([pd.DataFrame(header), frame.astype(object)], ignore_index=True)
    if path.suffix == ".xlsx":
        full.to_excel(path, index=False)
    else:
        full.to_csv(path, index=False)
    return path


def _with_previews_and_spam(df: pd.DataFrame) -> pd.DataFrame:
    """The long reference rows, plus (after them) two survey previews that repeat a
    respondent's id with other answers and a spam 'respondent' in both waves."""
    previews = df.iloc[[0, 1]].assign(**{c: 3 for c in df.columns if c.startswith("phq9_")})
    spam = df.iloc[[2, 3]].assign(respondent_id="spam01")
    spam["wave"] = [1, 2]
    rows = pd.concat([df, previews, spam], ignore_index=True)
    status = ["IP Address"] * len(df) + ["Survey Preview"] * 2 + ["Spam"] * 2
    return _qualtrics(rows, status)


RETEST_LONG = ["-i", "phq-9", "--id-column", "respondent_id", "--wave-column", "wave", "--json"]


def test_cli_previews_and_spam_are_left_out_of_the_pairs(tmp_path):
    clean = invoke(LONG, *RETEST_LONG)
    assert clean.exit_code == 0, clean.output
    path = _write_qualtrics(tmp_path / "export.csv", _with_previews_and_spam(pd.read_csv(LONG)))
    res = invoke(path, *RETEST_LONG)
    assert res.exit_code == 0, res.output
    payload, expected = json.loads(res.stdout), json.loads(clean.stdout)
    assert payload["problems"] == []
    assert payload["join"]["matched"] == expected["join"]["matched"]
    assert payload["scores"] == expected["scores"]
    note = (
        "left out: 2 survey previews, 2 spam responses (by the Status column of the Qualtrics "
        "export); --include-previews / --include-spam include them"
    )
    assert note in payload["warnings"]
    text = invoke(path, *RETEST_LONG[:-1])
    assert text.exit_code == 0 and "2 survey previews" in text.stderr + text.stdout


def test_cli_include_previews_and_spam_let_them_in(tmp_path):
    path = _write_qualtrics(tmp_path / "export.csv", _with_previews_and_spam(pd.read_csv(LONG)))
    res = invoke(path, *RETEST_LONG, "--include-previews", "--include-spam")
    assert res.exit_code == 1, res.output  # the previews repeat a respondent's id
    payload = json.loads(res.stdout)
    assert {p["kind"] for p in payload["problems"]} == {"duplicate_id"}
    assert not any("survey preview" in w for w in payload["warnings"])
    only_spam = json.loads(invoke(path, *RETEST_LONG, "--include-spam").stdout)
    assert only_spam["problems"] == []
    assert (
        only_spam["join"]["matched"]
        == json.loads(invoke(LONG, *RETEST_LONG).stdout)["join"]["matched"] + 1
    )  # the spam id is in both waves
    assert any("2 survey previews" in w and "spam resp" not in w for w in only_spam["warnings"])


def test_cli_two_files_leave_out_previews_of_each_wave(tmp_path):
    w1, w2 = pd.read_csv(WAVE1), pd.read_csv(WAVE2)
    preview = w2.iloc[[0]].assign(**{c: 0 for c in w2.columns if c.startswith("gad7_")})
    w2x = pd.concat([w2, preview], ignore_index=True)
    p1 = _write_qualtrics(tmp_path / "w1.csv", _qualtrics(w1, ["IP Address"] * len(w1)))
    p2 = _write_qualtrics(
        tmp_path / "w2.csv", _qualtrics(w2x, ["IP Address"] * len(w2) + ["Survey Preview"])
    )
    args = ["-i", "gad-7", "--id-column", "respondent_id", "--json"]
    res = invoke(p1, p2, *args)
    assert res.exit_code == 0, res.output
    payload, expected = json.loads(res.stdout), json.loads(invoke(WAVE1, WAVE2, *args).stdout)
    assert payload["scores"] == expected["scores"]
    assert any(w.startswith("w2.csv: left out: 1 survey preview (") for w in payload["warnings"])


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_cli_long_problems_give_the_file_row(tmp_path, suffix):
    df = pd.read_csv(LONG).astype({"respondent_id": object, "wave": object})
    df.loc[9, "gad7_3"] = 7  # an answer out of range in data row 10
    df.loc[20, "respondent_id"] = None  # a row without an id: data row 21
    df.loc[30, "wave"] = None  # a row without a wave: data row 31
    path = _write_qualtrics(tmp_path / f"bad{suffix}", _qualtrics(df, ["IP Address"] * len(df)))
    res = invoke(
        path, "-i", "gad-7", "--id-column", "respondent_id", "--wave-column", "wave", "--json"
    )
    assert res.exit_code == 1, res.output
    rows = {
        p["kind"]: (p.get("row"), p.get("file_row")) for p in json.loads(res.stdout)["problems"]
    }
    assert rows == {"out_of_range": (10, 13), "missing_id": (21, 24), "missing_wave": (31, 34)}


def test_cli_two_xlsx_waves_give_the_file_row(tmp_path):
    w1, w2 = pd.read_csv(WAVE1), pd.read_csv(WAVE2)
    w2.loc[4, "gad7_2"] = 9
    p1 = _write_qualtrics(tmp_path / "w1.xlsx", _qualtrics(w1, ["IP Address"] * len(w1)))
    p2 = _write_qualtrics(tmp_path / "w2.xlsx", _qualtrics(w2, ["IP Address"] * len(w2)))
    res = invoke(p1, p2, "-i", "gad-7", "--id-column", "respondent_id", "--json")
    assert res.exit_code == 1, res.output
    (problem,) = json.loads(res.stdout)["problems"]
    assert (problem["file"], problem["row"], problem["file_row"]) == ("w2.xlsx", 5, 8)


def test_cli_prints_what_the_reader_had_to_tell(tmp_path):
    """As `score` does: a column with data but no header was named column_N, and retest said
    nothing of it."""
    lines = LONG.read_text().splitlines()
    lines[0] += ","  # one more header cell, empty, over a column of notes
    lines[1:] = [f"{line},note {k}" for k, line in enumerate(lines[1:])]
    path = tmp_path / "long.csv"
    path.write_text("\n".join(lines) + "\n")
    res = invoke(path, *RETEST_LONG)
    assert res.exit_code == 0, res.output
    assert any(
        "has data but no header; named it column_" in w for w in json.loads(res.stdout)["warnings"]
    )
    text = invoke(path, *RETEST_LONG[:-1])
    assert "has data but no header" in text.stderr + text.stdout
