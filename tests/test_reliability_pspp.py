"""psyscore.psychometrics (listwise) against GNU PSPP 1.6 RELIABILITY output.

Fixture: tests/reference/fixtures/pspp.json from tests/reference/run_pspp.py (PSPP prints 12
decimals, hence the 1e-9 tolerance). PSPP is not needed to run these tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psyscore.psychometrics import Moments, analyse_scale, first_last_split, split_half

REF = Path(__file__).parent / "reference"
PSPP = json.loads((REF / "fixtures" / "pspp.json").read_text())["scales"]
TOL = 1e-9


@pytest.fixture(scope="module", params=sorted(PSPP))
def case(request):
    name = request.param
    data = pd.read_csv(REF / "data" / f"{name}.csv")
    return name, data, PSPP[name]


def test_alpha_and_item_total(case):
    name, data, ref = case
    res = analyse_scale(data, policy="listwise", omega=False)
    assert res.summary["n"] == ref["n_valid"]
    assert res.summary["n_rows"] == ref["n_total"]
    assert res.summary["alpha"] == pytest.approx(ref["alpha"]["alpha"], abs=TOL)
    items = res.items.set_index("item")
    for item, row in ref["item_total"].items():
        got = items.loc[item]
        assert got["scale_mean_if_deleted"] == pytest.approx(
            row["Scale Mean if Item Deleted"], abs=TOL
        )
        assert got["scale_var_if_deleted"] == pytest.approx(
            row["Scale Variance if Item Deleted"], abs=TOL
        )
        assert got["r_drop"] == pytest.approx(row["Corrected Item-Total Correlation"], abs=TOL)
        assert got["alpha_if_deleted"] == pytest.approx(
            row["Cronbach's Alpha if Item Deleted"], abs=TOL
        )


def test_split_model(case):
    _, data, ref = case
    m = Moments.from_data(data)
    sp = first_last_split(m.cov("listwise"), ref["split"]["n_part1"], m.columns)
    exp = ref["split"]
    assert len(sp.part_a) == exp["n_part1"] and len(sp.part_b) == exp["n_part2"]
    assert sp.alpha_a == pytest.approx(exp["alpha_part1"], abs=TOL)
    assert sp.alpha_b == pytest.approx(exp["alpha_part2"], abs=TOL)
    assert sp.r_forms == pytest.approx(exp["r_forms"], abs=TOL)
    assert sp.spearman_brown == pytest.approx(exp["spearman_brown_equal"], abs=TOL)
    assert sp.spearman_brown_unequal == pytest.approx(exp["spearman_brown_unequal"], abs=TOL)
    assert sp.guttman == pytest.approx(exp["guttman"], abs=TOL)


def test_odd_even_is_a_split():
    data = pd.read_csv(REF / "data" / "bifactor12.csv")
    m = Moments.from_data(data)
    res = analyse_scale(data, omega=False)
    sp = split_half(m.cov(), range(0, 12, 2), m.columns)
    assert res.split.part_a == sp.part_a == tuple(f"b{i}" for i in range(1, 13, 2))
    assert res.summary["split_half_odd_even"] == pytest.approx(
        2 * sp.r_forms / (1 + sp.r_forms), abs=1e-12
    )
    assert np.isfinite(res.summary["split_half_odd_even"])
