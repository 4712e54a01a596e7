"""Invariants of the engine, checked on random answer patterns (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from psyscore.instrument import load_definition
from psyscore.responses import ItemMatrix, resolve
from psyscore.scoring import reverse_keyed, score

from .conftest import DATA

TOY = load_definition(DATA / "toy.yaml")
answers = arrays(
    np.float64,
    st.tuples(st.integers(1, 30), st.just(4)),
    elements=st.sampled_from([1.0, 2.0, 3.0, 4.0, 5.0]),
)
with_gaps = arrays(
    np.float64,
    st.tuples(st.integers(1, 30), st.just(4)),
    elements=st.sampled_from([1.0, 2.0, 3.0, 4.0, 5.0, np.nan]),
)


def _matrix(codes: np.ndarray) -> ItemMatrix:
    items, _ = resolve(TOY, pd.DataFrame(codes, columns=TOY.item_ids))
    return items


@given(answers)
def test_reversing_twice_is_identity(codes):
    items = _matrix(codes)
    once = reverse_keyed(items)
    twice = reverse_keyed(ItemMatrix(TOY, once, items.reason, items.reasons, items.columns))
    np.testing.assert_array_equal(twice, codes)


@given(answers)
def test_mean_times_k_equals_sum_without_missing(codes):
    keyed = reverse_keyed(_matrix(codes))
    out = score(_matrix(codes))
    # part is a mean of 3 items rounded to 2 decimals; compare with the exact keyed sum
    np.testing.assert_allclose(out["toy_part"] * 3, keyed[:, :3].sum(axis=1), atol=0.015 * 3)
    np.testing.assert_allclose(out["toy_total"], keyed.sum(axis=1))


@settings(max_examples=60)
@given(with_gaps)
def test_scores_stay_inside_theoretical_range(codes):
    out = score(_matrix(codes))
    for name in TOY.scores:
        lo, hi = TOY.score_range(name)
        values = out[f"toy_{name}"].dropna()
        assert ((values >= lo - 1e-9) & (values <= hi + 1e-9)).all(), name


@given(with_gaps)
def test_status_agrees_with_value(codes):
    out = score(_matrix(codes))
    scored = out["toy_total"].notna()
    status = out["toy_total_status"].astype(str)
    assert (scored == status.isin(["scored", "prorated"])).all()
    assert ((status == "scored") == (out["toy_total_n"] == 4)).all()
