"""Moments on inputs large enough for the blocked, threaded and float32 paths (> 32,768 rows),
checked against pandas' own pairwise statistics and against chunked accumulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from psyscore.psychometrics.moments import Moments

N = 50_000


def likert(seed: int, missing: float, k: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(N, 1)) + rng.normal(size=(N, k))
    x = np.clip(np.round(latent + 3), 1, 5)
    x[rng.random(x.shape) < missing] = np.nan
    return pd.DataFrame(x, columns=[f"i{j}" for j in range(k)])


@pytest.mark.parametrize("missing", [0.0, 0.1])
def test_large_integer_codes_match_pandas(missing):
    df = likert(1, missing)
    m = Moments.from_data(df)
    np.testing.assert_allclose(m.cov(), df.cov().to_numpy(), rtol=1e-12)  # pairwise, ddof 1
    np.testing.assert_allclose(m.cor(), df.corr().to_numpy(), rtol=1e-12)
    np.testing.assert_array_equal(m.item_n(), df.notna().sum().to_numpy())
    np.testing.assert_allclose(m.item_means(), df.mean().to_numpy(), rtol=1e-13)
    counts = df.apply(lambda c: c.value_counts()).T.fillna(0).to_numpy()
    np.testing.assert_array_equal(m.frequencies().to_numpy(), counts)
    # psych's total: the row mean of the observed items
    total = df.mean(axis=1)
    mean, sd, n = m.total_stats()
    assert n == int(total.notna().sum())
    assert mean == pytest.approx(total.mean(), rel=1e-13)
    assert sd == pytest.approx(total.std(), rel=1e-12)


def test_non_integer_and_wide_values_take_the_exact_path():
    # values that float32 cannot hold exactly: half points, large codes, one infinity-free outlier
    df = likert(2, 0.05)
    df.iloc[::7, 0] += 0.5
    df.iloc[::11, 1] *= 10_000
    m = Moments.from_data(df)
    np.testing.assert_allclose(m.cov(), df.cov().to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(m.item_means(), df.mean().to_numpy(), rtol=1e-13)


def test_chunks_merge_to_the_one_pass_result():
    df = likert(3, 0.1)
    whole = Moments.from_data(df)
    parts = Moments.from_chunks([df.iloc[:12_345], df.iloc[12_345:40_000], df.iloc[40_000:]])
    np.testing.assert_array_equal(parts.pair_n, whole.pair_n)
    np.testing.assert_array_equal(parts.cross, whole.cross)  # integer sums: exact
    np.testing.assert_array_equal(parts.freq, whole.freq)
    np.testing.assert_allclose(parts.cov(), whole.cov(), rtol=1e-13)
    assert parts.total_stats()[0] == pytest.approx(whole.total_stats()[0], rel=1e-14)
