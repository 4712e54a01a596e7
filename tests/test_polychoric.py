"""Polychoric correlations and ordinal reliability against R psych 2.2.9.

The fixture tests/reference/fixtures/psych_polychoric.json comes from
tests/reference/make_polychoric_fixture.R on psych's bfi (tests/reference/data/bfi25.csv);
R is not needed to run these tests.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import multivariate_normal
from typer.testing import CliRunner

import psyscore
from psyscore.cli import app
from psyscore.psychometrics import analyse_scale
from psyscore.psychometrics.polychoric import (
    OrdinalCounts,
    add_ordinal_reliability,
    bvn_cdf,
    polychoric,
    polychoric_from_counts,
)

REF = Path(__file__).parent / "reference"
DATA = REF / "data" / "bfi25.csv"
DEFINITION = REF / "data" / "bfi-ac.yaml"
TOL = 0.005  # the agreement for polychoric statistics (they agree to about 1e-4)


@pytest.fixture(scope="module")
def fixture() -> dict:
    return json.loads((REF / "fixtures" / "psych_polychoric.json").read_text())


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    return pd.read_csv(DATA)


@pytest.fixture(scope="module")
def keyed(bfi, fixture) -> pd.DataFrame:
    out = bfi.copy()
    for item in fixture["reversed"]:
        out[item] = 7 - out[item]
    return out


def test_bivariate_normal_cdf_agrees_with_scipy():
    rng = np.random.default_rng(7)
    h = rng.normal(scale=2, size=300)
    k = rng.normal(scale=2, size=300)
    # every branch: |r| < .925 (quadrature), |r| >= .925 of both signs, r = 0
    r = np.concatenate([rng.uniform(-0.92, 0.92, 150), rng.uniform(0.925, 0.9999, 75)])
    r = np.concatenate([r, -r[150:225]])
    r[:5] = 0.0
    ours = bvn_cdf(h, k, r)
    ref = [
        multivariate_normal(mean=[0, 0], cov=[[1, c], [c, 1]]).cdf([a, b])
        for a, b, c in zip(h, k, r, strict=True)
    ]
    # scipy's own (Genz) integration error is about 1e-8
    np.testing.assert_allclose(ours, ref, atol=1e-7)


def test_bivariate_normal_cdf_infinite_limits():
    assert bvn_cdf(-np.inf, 0.3, 0.5) == 0.0
    assert bvn_cdf(0.3, -np.inf, 0.5) == 0.0
    assert bvn_cdf(np.inf, 0.3, 0.5) == pytest.approx(0.6179114221889526)
    assert bvn_cdf(0.3, np.inf, -0.5) == pytest.approx(0.6179114221889526)
    assert bvn_cdf(np.inf, np.inf, 0.2) == 1.0


def test_polychoric_matrix_of_25_bfi_items_matches_psych_and_is_fast(bfi, fixture):
    ref = fixture["raw25"]
    start = time.perf_counter()
    result = polychoric(bfi)
    elapsed = time.perf_counter() - start
    assert result.columns == ref["items"]
    assert result.global_thresholds
    np.testing.assert_allclose(result.tau, np.array(ref["tau"]), atol=1e-10)
    np.testing.assert_allclose(result.rho, np.array(ref["rho"]), atol=TOL)
    # psych's optimize stops at a tolerance of about 1e-4; the ML optimum is the same
    assert np.abs(result.rho - np.array(ref["rho"])).max() < 2e-4
    assert elapsed < 10, f"polychoric of 25 items x 2,800 rows took {elapsed:.1f} s"


def test_unequal_categories_use_pair_thresholds_with_the_half_count_correction(keyed, fixture):
    ref = fixture["unequal_categories"]
    x = keyed[ref["items"]].copy()
    x.loc[x["A1"] == 6, "A1"] = 5  # as the R script: psych then sets global = FALSE
    result = polychoric(x)
    assert not result.global_thresholds
    np.testing.assert_allclose(result.rho, np.array(ref["rho"]), atol=2e-4)


@pytest.mark.parametrize(
    "scale", ["agreeableness", "conscientiousness", "neuroticism", "agree_consc"]
)
def test_ordinal_alpha_and_omega_match_psych(keyed, fixture, scale):
    ref = fixture["scales"][scale]
    nfactors = ref.get("nfactors", 3)
    result = analyse_scale(keyed[ref["items"]], name=scale, nfactors=nfactors)
    add_ordinal_reliability(result, keyed[ref["items"]], nfactors=nfactors)
    s = result.summary
    assert s["correlations"] == "polychoric"
    np.testing.assert_allclose(s["polychoric"]["rho"], np.array(ref["rho"]), atol=TOL)
    assert s["ordinal_alpha"] == pytest.approx(ref["ordinal_alpha"], abs=TOL)
    assert s["ordinal_average_r"] == pytest.approx(ref["ordinal_average_r"], abs=TOL)
    assert s["ordinal_omega_total_1f"] == pytest.approx(ref["omega_total_1f"], abs=TOL)
    if "omega_total" in ref:
        assert s["ordinal_omega_total"] == pytest.approx(ref["omega_total"], abs=TOL)
        assert s["ordinal_omega_h"] == pytest.approx(ref["omega_h"], abs=TOL)
    else:
        assert np.isnan(s["ordinal_omega_total"])
        assert "at least 6 items" in s["ordinal_reason"]
    # the Pearson statistics stay as they were
    assert s["alpha"] == pytest.approx(analyse_scale(keyed[ref["items"]]).summary["alpha"])


def test_python_api_reverse_keys_per_definition_then_gives_ordinal_statistics(bfi, fixture):
    inst = psyscore.load(str(DEFINITION))
    summary, _ = psyscore.reliability(bfi, inst, correlations="polychoric")
    by_score = summary.set_index("score")
    for scale in ("agreeableness", "conscientiousness", "agree_consc"):
        ref = fixture["scales"][scale]
        row = by_score.loc[f"bfi_{scale}"]
        assert row["correlations"] == "polychoric"
        assert row["ordinal_alpha"] == pytest.approx(ref["ordinal_alpha"], abs=TOL)
        assert row["ordinal_omega_total_1f"] == pytest.approx(ref["omega_total_1f"], abs=TOL)
    ac = by_score.loc["bfi_agree_consc"]
    assert ac["ordinal_omega_total"] == pytest.approx(
        fixture["scales"]["agree_consc"]["omega_total"], abs=TOL
    )
    # Pearson is the default: no ordinal columns
    plain, _ = psyscore.reliability(bfi, inst)
    assert "ordinal_alpha" not in plain.columns


def test_cli_correlations_polychoric_in_json_and_terminal(fixture):
    runner = CliRunner()
    args = ["reliability", str(DATA), "-i", str(DEFINITION), "--correlations", "polychoric"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["correlations"] == "polychoric"
    scores = {s["score"]: s for s in payload["instruments"][0]["scores"]}
    a = scores["bfi_agreeableness"]
    assert a["ordinal_alpha"] == pytest.approx(
        fixture["scales"]["agreeableness"]["ordinal_alpha"], abs=TOL
    )
    assert a["ordinal_omega_total"] is None and a["ordinal_reason"]
    assert len(a["polychoric"]["rho"]) == 5
    text = runner.invoke(app, args)
    assert "ordinal alpha = .76" in " ".join(text.stdout.split())


def test_cli_rejects_an_unknown_correlation_type():
    result = CliRunner().invoke(
        app, ["reliability", str(DATA), "-i", str(DEFINITION), "--correlations", "spearman"]
    )
    assert result.exit_code == 2
    assert "pearson, polychoric" in result.output


def test_counts_of_chunks_merge_to_the_counts_of_the_whole(bfi):
    x = bfi[["A1", "A2", "A3", "C1", "C2"]]
    codes = np.arange(1, 7)
    whole = OrdinalCounts.from_data(x, codes)
    merged = OrdinalCounts.from_data(x.iloc[:1000], codes).merge(
        OrdinalCounts.from_data(x.iloc[1000:], codes)
    )
    np.testing.assert_array_equal(whole.tables, merged.tables)
    np.testing.assert_allclose(polychoric_from_counts(merged).rho, polychoric(x).rho, atol=1e-12)


def test_reversing_an_item_flips_the_sign_of_its_correlations(bfi):
    x = bfi[["A1", "A2", "A3"]]
    flipped = x.assign(A1=7 - x["A1"])
    np.testing.assert_allclose(polychoric(flipped).rho[0, 1:], -polychoric(x).rho[0, 1:], atol=1e-8)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # random items: a negative total r
def test_many_categories_or_fractional_codes_give_a_reason_not_a_number():
    rng = np.random.default_rng(3)
    wide = pd.DataFrame(rng.integers(0, 11, size=(200, 4)), columns=list("abcd")).astype(float)
    result = analyse_scale(wide)
    add_ordinal_reliability(result, wide)
    assert np.isnan(result.summary["ordinal_alpha"])
    assert "at most 8 categories" in result.summary["ordinal_reason"]
    assert any(w.code == "ordinal_failed" for w in result.warnings)
    halves = wide / 2
    result = analyse_scale(halves)
    add_ordinal_reliability(result, halves)
    assert "whole-number" in result.summary["ordinal_reason"]
