"""Property tests (hypothesis) for the reliability core: merging, closed forms, invariances."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from psyscore.psychometrics import (
    Moments,
    alpha_ase,
    alpha_if_deleted,
    analyse_scale,
    cronbach_alpha,
    guttman_lambda6,
    standardized_alpha,
)
from psyscore.psychometrics.moments import cov2cor

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def item_data(draw, min_rows=6, max_rows=60, missing=True):
    n = draw(st.integers(min_rows, max_rows))
    k = draw(st.integers(3, 7))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    theta = rng.standard_normal(n)
    x = np.clip(
        np.rint(3 + theta[:, None] * rng.uniform(0.3, 1.5, k) + rng.normal(0, 1, (n, k))), 1, 5
    )
    if missing and draw(st.booleans()):
        x[rng.uniform(size=x.shape) < draw(st.floats(0.0, 0.3))] = np.nan
    return pd.DataFrame(x, columns=[f"i{j}" for j in range(k)]), rng


@SETTINGS
@given(item_data(), st.data())
def test_merge_equals_one_pass(dataset, data):
    df, _ = dataset
    n = len(df)
    cuts = sorted(data.draw(st.lists(st.integers(0, n), min_size=1, max_size=3)))
    bounds = [0, *cuts, n]
    chunks = [df.iloc[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    merged = sum(Moments.from_data(c) for c in chunks)
    one = Moments.from_data(df)
    # integer codes: every sum is an exact integer -> bitwise equal
    for attr in ["pair_n", "pair_sum", "pair_sumsq", "cross", "complete_sum", "complete_cross"]:
        np.testing.assert_array_equal(getattr(merged, attr), getattr(one, attr), err_msg=attr)
    assert (merged.n_rows, merged.n_complete, merged.n_total) == (
        one.n_rows,
        one.n_complete,
        one.n_total,
    )
    # row-mean totals are fractional: equal up to summation order
    for attr in ["item_total_sum", "item_total_sumsq", "item_total_cross"]:
        np.testing.assert_allclose(getattr(merged, attr), getattr(one, attr), rtol=1e-12)
    if one.freq is not None:
        np.testing.assert_array_equal(merged.codes, one.codes)
        np.testing.assert_array_equal(merged.freq, one.freq)
    for policy in ["pairwise", "listwise"]:
        np.testing.assert_array_equal(merged.cov(policy), one.cov(policy))


def _random_cov(rng, k):
    a = rng.normal(size=(k + 3, k))
    return a.T @ a / (k + 3) + np.diag(rng.uniform(0.1, 1.0, k))


@SETTINGS
@given(st.integers(3, 10), st.integers(0, 2**32 - 1))
def test_alpha_if_deleted_equals_refit(k, seed):
    rng = np.random.default_rng(seed)
    C = _random_cov(rng, k)
    R = cov2cor(C)
    table = alpha_if_deleted(C, R, n_obs=100)
    for i in range(k):
        keep = np.delete(np.arange(k), i)
        Ci = C[np.ix_(keep, keep)]
        Ri = R[np.ix_(keep, keep)]
        row = table.iloc[i]
        assert row["raw_alpha"] == pytest.approx(cronbach_alpha(Ci), rel=1e-9, abs=1e-12)
        assert row["std_alpha"] == pytest.approx(standardized_alpha(Ri), rel=1e-9, abs=1e-12)
        assert row["g6_smc"] == pytest.approx(guttman_lambda6(Ri), rel=1e-8, abs=1e-10)
        assert row["alpha_se"] == pytest.approx(alpha_ase(Ci, 100), rel=1e-8)
        assert row["med_r"] == pytest.approx(np.median(Ri[np.tril_indices(k - 1, -1)]))


@SETTINGS
@given(item_data(min_rows=10, missing=False), st.integers(0, 2**32 - 1))
def test_standardised_alpha_invariant_to_rescaling(dataset, seed):
    df, _ = dataset
    if (df.std() == 0).any():
        return
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.1, 10.0, df.shape[1])
    shift = rng.uniform(-50, 50, df.shape[1])
    a = analyse_scale(df, omega=False).summary
    b = analyse_scale(df * scale + shift, omega=False).summary
    for key in ["alpha_std", "lambda6", "average_r", "median_r", "signal_noise", "beta", "lambda4"]:
        assert b[key] == pytest.approx(a[key], rel=1e-9, abs=1e-12), key
    # raw alpha is invariant to shifts (not to unequal rescaling)
    c = analyse_scale(df + shift, omega=False).summary
    assert c["alpha"] == pytest.approx(a["alpha"], rel=1e-9)


@SETTINGS
@given(item_data(min_rows=10))
def test_pairwise_cov_matches_pandas(dataset):
    df, _ = dataset
    m = Moments.from_data(df)
    expected = df.cov(min_periods=2).to_numpy()
    got = m.cov()
    ok = np.isfinite(expected)
    np.testing.assert_allclose(got[ok], expected[ok], rtol=1e-9, atol=1e-12)


def test_non_integer_codes_and_arrays():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 5)) + rng.normal(size=(200, 1))
    m = Moments.from_data(x)
    assert m.freq is None  # too many distinct codes
    assert m.columns == ("V1", "V2", "V3", "V4", "V5")
    np.testing.assert_allclose(m.cov(), np.cov(x, rowvar=False), rtol=1e-10)
    merged = Moments.from_data(x[:77]) + Moments.from_data(x[77:])
    np.testing.assert_allclose(merged.cov(), m.cov(), rtol=1e-10)
    assert merged.freq is None


def test_signal_noise_of_identical_items_is_infinite_as_in_r():
    import math

    import numpy as np

    from psyscore.psychometrics.alpha import signal_noise

    assert signal_noise(np.ones((3, 3))) == math.inf
