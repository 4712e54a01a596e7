"""psyscore.psychometrics against R psych 2.2.9 fixtures (tests/reference/fixtures/psych_*.json).

The fixtures are produced by tests/reference/run_psych.R; R is not needed to run these tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psyscore.psychometrics import (
    Moments,
    analyse_scale,
    omega,
    response_frequencies,
    retest_reliability,
    split_half_range,
)

REF = Path(__file__).parent / "reference"
DATASETS = ["bifactor12", "unidim7", "missing8", "miskeyed8"]
TOL = 1e-6  # alpha-type and item statistics
OMEGA_TOL = 0.005


def load(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / "data" / f"{name}.csv")


def fixture(name: str) -> dict:
    return json.loads((REF / "fixtures" / f"psych_{name}.json").read_text())


def arr(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


@pytest.fixture(scope="module", params=DATASETS)
def case(request):
    name = request.param
    data = load(name)
    return name, data, fixture(name), Moments.from_data(data)


@pytest.mark.parametrize("policy,key", [("pairwise", "alpha"), ("listwise", "alpha_listwise")])
def test_alpha_total(case, policy, key):
    name, data, fx, _ = case
    res = analyse_scale(data, policy=policy, omega=False, name=name)
    s, t = res.summary, fx[key]["total"]
    pairs = {
        "alpha": "raw_alpha",
        "alpha_std": "std.alpha",
        "lambda6": "G6(smc)",
        "average_r": "average_r",
        "signal_noise": "S/N",
        "alpha_ase": "ase",
        "mean": "mean",
        "sd": "sd",
        "median_r": "median_r",
    }
    for ours, theirs in pairs.items():
        assert s[ours] == pytest.approx(t[theirs], abs=TOL), ours
    assert s["alpha_ci"][0] == pytest.approx(fx[key]["feldt"]["lower"], abs=TOL)
    assert s["alpha_ci"][1] == pytest.approx(fx[key]["feldt"]["upper"], abs=TOL)
    assert s["n"] == fx[key]["nsub"]
    assert s["n_items"] == fx[key]["nvar"]


@pytest.mark.parametrize("policy,key", [("pairwise", "alpha"), ("listwise", "alpha_listwise")])
def test_item_stats_and_alpha_drop(case, policy, key):
    name, data, fx, _ = case
    items = analyse_scale(data, policy=policy, omega=False).items
    st, dr = fx[key]["item_stats"], fx[key]["alpha_drop"]
    assert list(items["item"]) == st["row"]
    for ours, theirs in [
        ("n", "n"),
        ("raw_r", "raw.r"),
        ("std_r", "std.r"),
        ("r_cor", "r.cor"),
        ("r_drop", "r.drop"),
        ("mean", "mean"),
        ("sd", "sd"),
    ]:
        if policy == "listwise" and ours == "n":
            continue  # psych counts non-missing per column of na.omit(x) -> the same number
        np.testing.assert_allclose(items[ours], arr(st[theirs]), atol=TOL, err_msg=ours)
    for ours, theirs in [
        ("alpha_if_deleted", "raw_alpha"),
        ("std_alpha_if_deleted", "std.alpha"),
        ("g6_if_deleted", "G6(smc)"),
        ("average_r_if_deleted", "average_r"),
        ("s_n_if_deleted", "S/N"),
        ("alpha_se_if_deleted", "alpha se"),
        ("var_r_if_deleted", "var.r"),
        ("med_r_if_deleted", "med.r"),
    ]:
        np.testing.assert_allclose(items[ours], arr(dr[theirs]), atol=TOL, err_msg=ours)


def test_matrices(case):
    _, _, fx, m = case
    np.testing.assert_allclose(m.cov(), np.array(fx["cov_pairwise"]), atol=1e-12)
    np.testing.assert_allclose(m.cor(), np.array(fx["cor_pairwise"]), atol=1e-12)
    np.testing.assert_array_equal(m.pair_n, np.array(fx["pairwise_count"]))
    assert m.n_complete == fx["n_complete"]


def test_response_frequencies(case):
    _, _, fx, m = case
    rf = fx["alpha"]["response_freq"]
    ours = response_frequencies(m)
    for col in ours.columns:
        np.testing.assert_allclose(ours[col], arr(rf[str(col)]), atol=TOL, err_msg=str(col))


def test_splithalf(case):
    _, _, fx, m = case
    sh = fx["splithalf"]
    r = split_half_range(m.cov2cor(), m.columns, psych_compat=True)
    assert r.lambda4 == pytest.approx(sh["maxrb"], abs=TOL)
    assert r.beta == pytest.approx(sh["minrb"], abs=TOL)
    assert r.mean == pytest.approx(sh["meanr"], abs=TOL)
    assert list(r.max_split[0]) == sh["maxAB"]["A"]
    assert list(r.min_split[0]) == sh["minAB"]["A"]
    full = split_half_range(m.cov2cor(), m.columns)
    if m.k % 2 == 0:  # psych enumerates every split only for even k
        assert full.beta == pytest.approx(sh["minrb"], abs=TOL)
        assert full.mean == pytest.approx(sh["meanr"], abs=TOL)
    else:  # all splits: at least as extreme as psych's subset
        assert full.lambda4 >= sh["maxrb"] - 1e-12
        assert full.beta <= sh["minrb"] + 1e-12


def test_splithalf_lambdas_vs_psych(case):
    """splitHalf's alpha / lambda2 / lambda6 use the correlation matrix (covar=FALSE)."""
    _, _, fx, m = case
    from psyscore.psychometrics import guttman_lambda2, guttman_lambda6, standardized_alpha

    R = m.cov2cor()
    sh = fx["splithalf"]
    assert standardized_alpha(R) == pytest.approx(sh["alpha"], abs=TOL)
    assert guttman_lambda2(R) == pytest.approx(sh["lambda2"], abs=TOL)
    assert guttman_lambda6(R) == pytest.approx(sh["lambda6"], abs=TOL)


@pytest.mark.parametrize("nf,key", [(3, "omega3"), (1, "omega1")])
def test_omega(case, nf, key):
    _, _, fx, m = case
    o = omega(m.cor(), nfactors=nf, columns=m.columns)
    ref = fx[key]
    assert o.omega_h == pytest.approx(ref["omega_h"], abs=OMEGA_TOL)
    assert o.omega_total == pytest.approx(ref["omega_tot"], abs=OMEGA_TOL)
    assert o.omega_limit == pytest.approx(ref["omega_lim"], abs=OMEGA_TOL)
    np.testing.assert_allclose(o.general, ref["g"], atol=OMEGA_TOL)
    np.testing.assert_allclose(o.h2, ref["h2"], atol=OMEGA_TOL)
    if nf > 1:
        np.testing.assert_allclose(o.phi, np.array(ref["phi"]), atol=OMEGA_TOL)
        assert o.ecv == pytest.approx(ref["ECV"], abs=OMEGA_TOL)


def _printed(lines: list[str], label: str) -> float:
    return float(next(x for x in lines if x.startswith(label)).split()[-1])


def test_omega_in_summary(case):
    name, data, fx, _ = case
    s = analyse_scale(data).summary
    # what print(omega(x)) shows (4 digits) agrees with the returned values
    printed = fx["omega3"]["printed"]
    assert s["omega_h"] == pytest.approx(_printed(printed, "Omega Hierarchical:"), abs=6e-5)
    assert s["omega_total"] == pytest.approx(_printed(printed, "Omega Total "), abs=6e-5)
    assert s["omega_h"] == pytest.approx(fx["omega3"]["omega_h"], abs=OMEGA_TOL)
    assert s["omega_total"] == pytest.approx(fx["omega3"]["omega_tot"], abs=OMEGA_TOL)
    assert s["omega_total_1f"] == pytest.approx(fx["omega1"]["omega_tot"], abs=OMEGA_TOL)


def test_retest_icc_matches_psych():
    fx = json.loads((REF / "fixtures" / "psych_retest.json").read_text())
    res = retest_reliability(load("retest"))
    ref = fx["results"]
    np.testing.assert_allclose(res.icc["ICC"], ref["ICC"], atol=TOL)
    np.testing.assert_allclose(res.icc["F"], ref["F"], rtol=1e-6)
    assert list(res.icc["Type"]) == ref["type"]
    assert res.n == fx["n"]
    assert res.pearson_r == pytest.approx(fx["pearson"], abs=TOL)
    assert res.sd == pytest.approx(fx["sd1"], abs=TOL)
    icc2 = ref["ICC"][1]
    assert res.sem == pytest.approx(fx["sd1"] * np.sqrt(1 - icc2), abs=TOL)
    assert res.rci_threshold == pytest.approx(1.96 * np.sqrt(2) * res.sem, rel=1e-12)
