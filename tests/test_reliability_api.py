"""API-level tests for psyscore.psychometrics: summary/to_dict, warnings, pingouin, bootstrap."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psyscore.psychometrics import (
    Moments,
    analyse_moments,
    analyse_scale,
    bootstrap_alpha,
    retest_reliability,
    tidy_items,
    tidy_summaries,
)

REF = Path(__file__).parent / "reference"


def load(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / "data" / f"{name}.csv")


@pytest.mark.parametrize("name", ["bifactor12", "unidim7", "missing8", "miskeyed8"])
def test_pingouin_cronbach_alpha(name):
    pg = pytest.importorskip("pingouin")
    data = load(name)
    ours = analyse_scale(data, omega=False).summary
    alpha, ci = pg.cronbach_alpha(data)  # pairwise covariances, Feldt CI with n = all rows
    assert ours["alpha"] == pytest.approx(alpha, abs=1e-10)
    np.testing.assert_allclose(ours["alpha_ci"], ci, atol=5e-4 + 1e-12)  # pingouin rounds
    if data.isna().any().any():
        lw, _ = pg.cronbach_alpha(data, nan_policy="listwise")
        assert analyse_scale(data, policy="listwise", omega=False).summary["alpha"] == (
            pytest.approx(lw, abs=1e-10)
        )


def test_to_dict_is_json_and_has_keys():
    res = analyse_scale(load("missing8"), scale_min=1, scale_max=5, name="x")
    d = res.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert "NaN" not in text
    for key in [
        "score",
        "n",
        "alpha",
        "alpha_std",
        "alpha_ci",
        "lambda6",
        "omega_total",
        "omega_h",
        "average_r",
        "warnings",
        "items",
    ]:
        assert key in d, key
    assert d["score"] == "x" and d["n"] == 400
    for item in d["items"]:
        for key in ["item", "mean", "sd", "r_drop", "alpha_if_deleted", "n", "pct_missing"]:
            assert key in item
    assert len(d["alpha_ci"]) == 2 and d["alpha_ci"][0] < d["alpha"] < d["alpha_ci"][1]


def test_floor_ceiling_missing():
    data = load("missing8")
    items = analyse_scale(data, scale_min=1, scale_max=5, omega=False).items.set_index("item")
    for c in data.columns:
        col = data[c].dropna()
        assert items.loc[c, "floor_pct"] == pytest.approx(100 * (col == 1).mean())
        assert items.loc[c, "ceiling_pct"] == pytest.approx(100 * (col == 5).mean())
        assert items.loc[c, "pct_missing"] == pytest.approx(100 * data[c].isna().mean())
        assert items.loc[c, "n"] == col.size


def test_miskeyed_warning():
    res = analyse_scale(load("miskeyed8"), published_alpha=0.80, omega=False)
    codes = {w.code for w in res.warnings}
    assert {"negative_item_rest", "low_alpha", "below_published"} <= codes
    mis = [w for w in res.warnings if w.code == "negative_item_rest"]
    assert [w.item for w in mis] == ["m5"]
    assert "reverse-scored" in mis[0].message
    # reversing the item fixes it
    fixed = load("miskeyed8")
    fixed["m5"] = 6 - fixed["m5"]
    res2 = analyse_scale(fixed, published_alpha=0.80, omega=False)
    assert not [w for w in res2.warnings if w.code == "negative_item_rest"]
    assert res2.summary["alpha"] > res.summary["alpha"]


def test_zero_variance_and_too_few():
    data = load("unidim7").iloc[:20].copy()
    data["const"] = 3
    res = analyse_scale(data, omega=False)
    codes = [w.code for w in res.warnings]
    assert "zero_variance" in codes and "too_few_cases" in codes
    assert res.summary["n_items"] == 7
    base = analyse_scale(data.drop(columns="const"), omega=False)
    assert res.summary["alpha"] == pytest.approx(base.summary["alpha"])
    assert np.isnan(res.items.set_index("item").loc["const", "r_drop"])
    one = analyse_scale(data[["u1"]], omega=False)
    assert [w.code for w in one.warnings] == ["too_few_items"]
    assert np.isnan(one.summary["alpha"])
    json.dumps(one.to_dict(), allow_nan=False)


def test_chunked_moments_analysis_equals_direct():
    data = load("missing8")
    m = sum(Moments.from_data(data.iloc[i : i + 97]) for i in range(0, len(data), 97))
    a = analyse_moments(m).summary
    b = analyse_scale(data).summary
    for key in ["alpha", "alpha_std", "lambda6", "alpha_ase", "mean", "sd", "omega_h"]:
        assert a[key] == pytest.approx(b[key], rel=1e-12), key


def test_tidy_frames():
    res = [
        analyse_scale(load("unidim7"), name="u", omega=False),
        analyse_scale(load("bifactor12"), name="b", omega=False),
    ]
    s = tidy_summaries(res)
    assert list(s["score"]) == ["u", "b"]
    assert {"alpha_ci_lower", "alpha_ci_upper", "alpha", "n"} <= set(s.columns)
    it = tidy_items(res)
    assert it.columns[0] == "score" and len(it) == 19


def test_bootstrap_ci_is_reasonable_and_seeded():
    data = load("unidim7")
    b1 = bootstrap_alpha(data, n_boot=300, seed=7)
    b2 = bootstrap_alpha(data, n_boot=300, seed=7)
    assert b1["lower"] == b2["lower"] and b1["upper"] == b2["upper"]
    alpha = analyse_scale(data, omega=False).summary
    assert b1["lower"] < alpha["alpha"] < b1["upper"]
    # close to the Feldt interval for a well-behaved scale
    assert b1["lower"] == pytest.approx(alpha["alpha_ci"][0], abs=0.03)
    res = analyse_scale(load("missing8"), n_boot=200, seed=1, omega=False)
    lo, hi = res.summary["alpha_ci_boot"]
    assert lo < res.summary["alpha"] < hi


def test_retest_two_frames_and_dropping():
    d = load("retest")
    w1 = d[d.wave == 1][["id", "score"]]
    w2 = d[d.wave == 2][["id", "score"]].iloc[:-10]
    res = retest_reliability(w1, w2, icc_type="ICC(C,1)")
    assert res.n == 140 and res.n_dropped == 10
    assert res.icc_type == "ICC3"
    json.dumps(res.to_dict(), allow_nan=False)
    with pytest.raises(ValueError):
        retest_reliability(d.assign(wave=d.wave.replace({2: 3})).iloc[:5])


# ---- psyscore.reliability: the checks of `psyscore reliability`, and problems reported --------


def _gad7(shift: int = 0, n: int = 60, seed: int = 3) -> pd.DataFrame:
    """GAD-7 answers coded 0-3 (or 1-4 with shift=1, as Qualtrics' default recode values)."""
    rng = np.random.default_rng(seed)
    trait = rng.normal(size=(n, 1))
    codes = np.clip(np.round(1.5 + trait + rng.normal(scale=0.7, size=(n, 7))), 0, 3)
    codes[0] = 3  # every column uses the top code at least once
    return pd.DataFrame(codes + shift, columns=[f"gad7_{i}" for i in range(1, 8)])


def test_api_refuses_shifted_codes_like_the_cli():
    import psyscore
    from psyscore.errors import DataError

    with pytest.raises(DataError, match="do not match the definition's scale"):
        psyscore.reliability(_gad7(shift=1), psyscore.load("gad-7"))


def test_api_recode_fixes_shifted_codes():
    import psyscore

    recodes = {f"gad7_{i}": {1: 0, 2: 1, 3: 2, 4: 3} for i in range(1, 8)}
    shifted, _ = psyscore.reliability(_gad7(shift=1), psyscore.load("gad-7"), recodes=recodes)
    plain, _ = psyscore.reliability(_gad7(), psyscore.load("gad-7"))
    assert shifted["alpha"].tolist() == pytest.approx(plain["alpha"].tolist(), abs=1e-12)


def test_api_checks_value_labels():
    import psyscore
    from psyscore.errors import DataError

    labels = {f"gad7_{i}": {1.0: "Not at all", 4.0: "Nearly every day"} for i in range(1, 8)}
    data = _gad7(shift=1)
    data.loc[1:, "gad7_1"] = 2  # a column that alone would not look shifted
    with pytest.raises(DataError, match="value labels of gad7_1"):
        psyscore.reliability(data, psyscore.load("gad-7"), value_labels=labels)


def test_api_warns_about_problems_and_keeps_the_tuple():
    import warnings

    import psyscore
    from psyscore.psychometrics.instruments import DataProblemWarning

    data = _gad7()
    data.loc[5, "gad7_3"] = 7  # out of range: missing, and said so
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary, items = psyscore.reliability(data, psyscore.load("gad-7"))
    (warning,) = [w for w in caught if issubclass(w.category, DataProblemWarning)]
    assert "gad7_3" in str(warning.message) and "1 " in str(warning.message)
    assert "7" not in str(warning.message).replace("gad-7", "").replace("gad7", "")  # no data
    (problem,) = warning.message.problems
    assert (problem.kind, problem.column, problem.row, problem.value) == (
        "out_of_range",
        "gad7_3",
        6,
        "7",
    )
    assert summary.loc[0, "n"] == 60
    assert isinstance(items, pd.DataFrame)


def test_reliability_report_returns_problems():
    import psyscore

    data = _gad7()
    data.loc[5, "gad7_3"] = 7
    report = psyscore.reliability_report(data, psyscore.load("gad-7"))
    summary, items = report  # unpacks like psyscore.reliability
    assert summary.equals(report.summary) and items.equals(report.items)
    assert [p.column for p in report.problems] == ["gad7_3"]
    clean = psyscore.reliability_report(_gad7(), psyscore.load("gad-7"))
    assert clean.problems == []


def test_api_without_any_item_column_is_a_usage_error():
    import psyscore
    from psyscore.errors import UsageError

    with pytest.raises(UsageError, match="no column of the data matches an item of gad-7"):
        psyscore.reliability(pd.DataFrame({"x": [1, 2, 3]}), psyscore.load("gad-7"))
