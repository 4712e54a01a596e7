"""Researcher depth (issue 13): split-half modes, psych's printed Duhachek interval, omega reasons.

References used by each check:
- split-half ``psych`` mode: the committed R psych 2.2.9 fixtures (``splitHalf`` maxrb/minrb);
- split-half ``all`` mode: brute force over every split (closed form ``4 a'Rb / 1'R1``);
- split-half ``first-N``: GNU PSPP 1.6 ``RELIABILITY /MODEL=SPLIT(N)``
  (``tests/reference/run_pspp_split.py`` -> ``fixtures/pspp_split_first_m.json``);
- Duhachek interval: psych's print.alpha, ``raw_alpha -/+ 1.96 * ase`` with the fixture's ase.
"""

from __future__ import annotations

import json
from itertools import combinations
from math import comb
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from psyscore.psychometrics import Moments, analyse_scale, cov2cor
from psyscore.psychometrics.alpha import alpha_ci_ase
from psyscore.psychometrics.splithalf import parse_split_half

REF = Path(__file__).parent / "reference"
PSYCH = {
    name: json.loads((REF / "fixtures" / f"psych_{name}.json").read_text())
    for name in ("unidim7", "bifactor12", "missing8", "miskeyed8")
}
PSPP_FIRST = json.loads((REF / "fixtures" / "pspp_split_first_m.json").read_text())["scales"]


def _data(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / "data" / f"{name}.csv")


@pytest.mark.parametrize("name", sorted(PSYCH))
def test_split_half_psych_mode_matches_psych(name):
    sh = PSYCH[name]["splithalf"]
    res = analyse_scale(_data(name), omega=False, split_half="psych")
    assert res.summary["split_half_method"] == "psych"
    assert res.summary["lambda4"] == pytest.approx(sh["maxrb"], abs=1e-9)
    assert res.summary["beta"] == pytest.approx(sh["minrb"], abs=1e-9)
    assert res.summary["split_half_mean"] == pytest.approx(sh["meanr"], abs=1e-9)


def _brute_force(R: np.ndarray) -> list[float]:
    k = R.shape[0]
    values = []
    for part in combinations(range(k), k // 2):
        a = np.zeros(k)
        a[list(part)] = 1
        values.append(4 * a @ R @ (1 - a) / R.sum())
    return values


def test_split_half_all_is_the_default_and_covers_every_split():
    data = _data("unidim7")
    res = analyse_scale(data, omega=False)
    assert res.summary["split_half_method"] == "all"
    R = cov2cor(Moments.from_data(data).cov())
    values = _brute_force(R)
    assert res.summary["n_splits"] == comb(7, 3) == len(values)
    assert res.summary["lambda4"] == pytest.approx(max(values), abs=1e-12)
    assert res.summary["beta"] == pytest.approx(min(values), abs=1e-12)
    assert res.summary["split_half_mean"] == pytest.approx(np.mean(values), abs=1e-12)
    # psych's subset misses the worst split of this odd-length scale: the modes differ, openly
    psych = analyse_scale(data, omega=False, split_half="psych")
    assert psych.summary["beta"] > res.summary["beta"] + 1e-3
    assert psych.summary["n_splits"] < res.summary["n_splits"]


def test_five_item_scale_difference_is_stated():
    rng = np.random.default_rng(5)
    f = rng.normal(size=(400, 1))
    data = pd.DataFrame(f * [0.9, 0.3, 0.7, 0.5, 0.8] + rng.normal(size=(400, 5)))
    a = analyse_scale(data, omega=False).to_dict()
    p = analyse_scale(data, omega=False, split_half="psych").to_dict()
    assert (a["split_half_method"], p["split_half_method"]) == ("all", "psych")
    assert (a["split_range"]["n_splits"], p["split_range"]["n_splits"]) == (10, 5)
    assert a["beta"] <= p["beta"] and a["lambda4"] >= p["lambda4"]


@pytest.mark.parametrize("case", sorted(PSPP_FIRST))
def test_split_half_first_n_matches_pspp(case):
    name, _, first = case.rpartition("_")
    spec = first.replace("first", "first-")
    exp = PSPP_FIRST[case]["split"]
    res = analyse_scale(_data(name), omega=False, policy="listwise", split_half=spec)
    assert res.summary["split_half_method"] == spec
    assert res.summary["n"] == PSPP_FIRST[case]["n_valid"]
    sp = res.split_first
    assert (len(sp.part_a), len(sp.part_b)) == (exp["n_part1"], exp["n_part2"])
    assert sp.alpha_a == pytest.approx(exp["alpha_part1"], abs=1e-9)
    assert sp.alpha_b == pytest.approx(exp["alpha_part2"], abs=1e-9)
    assert sp.r_forms == pytest.approx(exp["r_forms"], abs=1e-9)
    assert sp.spearman_brown == pytest.approx(exp["spearman_brown_equal"], abs=1e-9)
    assert res.summary["split_half_first_m"] == pytest.approx(
        exp["spearman_brown_unequal"], abs=1e-9
    )
    assert sp.guttman == pytest.approx(exp["guttman"], abs=1e-9)
    d = res.to_dict()
    assert d["split_first_m"]["part_a"] == list(_data(name).columns[: exp["n_part1"]])


def test_first_m_defaults_to_half_as_pspp():
    # PSPP's default SPLIT point is floor(k/2): the committed SPLIT(3) run of unidim7
    pspp = json.loads((REF / "fixtures" / "pspp.json").read_text())["scales"]["unidim7"]
    res = analyse_scale(_data("unidim7"), omega=False, policy="listwise", split_half="first-m")
    assert res.summary["split_half_method"] == "first-3"
    assert res.split_first.r_forms == pytest.approx(pspp["split"]["r_forms"], abs=1e-9)


def test_first_m_too_long_is_a_warning_not_a_number():
    res = analyse_scale(_data("unidim7"), omega=False, split_half="first-7")
    assert np.isnan(res.summary["split_half_first_m"])
    assert "split_half_first_m" in [w.code for w in res.warnings]


@pytest.mark.parametrize("bad", ["odd", "first-0", "first-x", ""])
def test_bad_split_half_value(bad):
    with pytest.raises(ValueError, match="--split-half"):
        parse_split_half(bad)


@pytest.mark.parametrize("name", sorted(PSYCH))
def test_duhachek_interval_uses_psych_1_96(name):
    total = PSYCH[name]["alpha"]["total"]
    res = analyse_scale(_data(name), omega=False)
    lo, hi = res.summary["alpha_ci_ase"]
    assert lo == pytest.approx(total["raw_alpha"] - 1.96 * total["ase"], abs=1e-12)
    assert hi == pytest.approx(total["raw_alpha"] + 1.96 * total["ase"], abs=1e-12)


def test_duhachek_other_levels_use_the_normal_quantile():
    from scipy.stats import norm

    lo, hi = alpha_ci_ase(0.8, 0.01, level=0.90)
    assert hi - 0.8 == pytest.approx(norm.ppf(0.95) * 0.01, abs=1e-15)
    assert alpha_ci_ase(0.8, 0.01, z=2.0) == pytest.approx((0.78, 0.82), abs=1e-15)


@pytest.mark.parametrize("k", [3, 4, 5])
def test_short_scale_omega_has_a_reason(k):
    rng = np.random.default_rng(k)
    data = pd.DataFrame(rng.normal(size=(300, 1)) + rng.normal(size=(300, k)))
    d = analyse_scale(data).to_dict()
    assert d["omega_total"] is None and d["omega_h"] is None
    assert d["omega_total_1f"] is not None
    assert "at least 6 items" in d["omega_reason"] and f"has {k} items" in d["omega_reason"]
    assert d["omega_nfactors"] == 3


def test_nfactors_changes_the_model_and_the_reason():
    data = _data("unidim7")
    d2 = analyse_scale(data, nfactors=2).to_dict()
    assert d2["omega_reason"] is None and d2["omega_total"] is not None
    assert d2["omega_nfactors"] == 2
    d4 = analyse_scale(data, nfactors=4).to_dict()
    assert d4["omega_total"] is None and "at least 8 items" in d4["omega_reason"]
    assert analyse_scale(data).to_dict()["omega_reason"] is None  # 7 >= 6


@settings(max_examples=40, deadline=None)
@given(k=st.integers(3, 9), seed=st.integers(0, 10_000))
def test_all_splits_bracket_psych_subset(k, seed):
    """Every split includes psych's subset: max at least, min at most; equal for even k."""
    from psyscore.psychometrics import split_half_range

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(60, 1)) + rng.normal(size=(60, k))
    R = np.corrcoef(x, rowvar=False)
    full = split_half_range(R, method="all")
    sub = split_half_range(R, method="psych")
    assert full.lambda4 >= sub.lambda4 - 1e-12 and full.beta <= sub.beta + 1e-12
    if k % 2 == 0:
        assert full.lambda4 == pytest.approx(sub.lambda4, abs=1e-12)
        assert full.beta == pytest.approx(sub.beta, abs=1e-12)
        assert full.n_splits == sub.n_splits
