"""Engine behaviour on hand-derived values (tests/data/toy.yaml: four items coded 1-5, item 2 reversed)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from psyscore.responses import resolve
from psyscore.scoring import round_half_up, score


def run(inst, rows):
    items, problems = resolve(inst, pd.DataFrame(rows))
    return score(items), problems, items


def test_reverse_keying_uses_declared_range_not_observed(toy):
    # only 2s and 3s observed; reversal must still be 6 - x (declared 1-5), not 5 - x (observed 2-3)
    out, _, _ = run(
        toy,
        [
            {"toy_1": 2, "toy_2": 2, "toy_3": 2, "toy_4": 2},
            {"toy_1": 3, "toy_2": 3, "toy_3": 3, "toy_4": 3},
        ],
    )
    # row 1: 2 + (6-2) + 2 + 2 = 10 ; row 2: 3 + 3 + 3 + 3 = 12
    assert out["toy_total"].tolist() == [10.0, 12.0]
    # part: (2 + 4 + 2) / 3 = 2.67 (rounded to 2 decimals)
    assert out["toy_part"].tolist() == [2.67, 3.0]


def test_prorated_sum_with_one_missing(toy):
    out, _, _ = run(toy, [{"toy_1": 5, "toy_2": 1, "toy_3": None, "toy_4": 4}])
    # keyed 5, 5, -, 4: mean 14/3 * 4 items = 18.666.. -> 18.7 (1 decimal)
    assert out["toy_total"].iloc[0] == pytest.approx(18.7)
    assert out["toy_total_status"].iloc[0] == "prorated"
    assert out["toy_total_n"].iloc[0] == 3
    assert out["toy_total_band"].iloc[0] == "high"


def test_not_scored_when_rule_fails(toy):
    out, _, _ = run(toy, [{"toy_1": 5, "toy_2": None, "toy_3": None, "toy_4": 4}])
    assert math.isnan(out["toy_total"].iloc[0])
    assert out["toy_total_status"].iloc[0] == "not scored: 2 of 4 items answered, needs 3"
    assert pd.isna(out["toy_total_band"].iloc[0])
    # part needs 2 of 3: items 1 (5) and nothing else -> 1 answered -> not scored
    assert out["toy_part_status"].iloc[0] == "not scored: 1 of 3 items answered, needs 2"
    # a composite of a missing score is missing
    assert math.isnan(out["toy_combo"].iloc[0])


def test_band_edges_are_inclusive(toy):
    # totals 8 (low, upper edge), 9 (middle), 14 (middle edge), 15 (high)
    rows = [
        {"toy_1": 2, "toy_2": 4, "toy_3": 2, "toy_4": 2},  # 2+2+2+2 = 8
        {"toy_1": 3, "toy_2": 4, "toy_3": 2, "toy_4": 2},  # 3+2+2+2 = 9
        {"toy_1": 4, "toy_2": 2, "toy_3": 3, "toy_4": 3},  # 4+4+3+3 = 14
        {"toy_1": 4, "toy_2": 2, "toy_3": 4, "toy_4": 3},  # 4+4+4+3 = 15
    ]
    out, _, _ = run(toy, rows)
    assert out["toy_total"].tolist() == [8, 9, 14, 15]
    assert out["toy_total_band"].tolist() == ["low", "middle", "middle", "high"]
    # the second band set has a fractional edge: 11.5
    assert out["toy_total_band_cut"].tolist() == ["below", "below", "above", "above"]


def test_norms_give_z_t_percentile(toy):
    out, _, _ = run(toy, [{"toy_1": 4, "toy_2": 2, "toy_3": 4, "toy_4": 4}])
    # total 16, norm mean 12, sd 4: z = 1, T = 60, percentile = Phi(1) = 84.13
    assert out["toy_total_z"].iloc[0] == 1.0
    assert out["toy_total_t"].iloc[0] == 60.0
    assert out["toy_total_pct"].iloc[0] == 84.1


def test_text_labels_aliases_and_whitespace(toy):
    out, problems, _ = run(
        toy, [{"toy_1": " strongly AGREE ", "toy_2": "sd", "toy_3": "Neutral", "toy_4": "4"}]
    )
    # 5 + (6-1) + 3 + 4 = 17
    assert out["toy_total"].iloc[0] == 17
    assert problems == []


def test_declared_missing_codes_keep_their_reason(toy):
    rows = [{"toy_1": 9, "toy_2": -99, "toy_3": "Prefer not to say", "toy_4": 3}]
    out, problems, items = run(toy, rows)
    assert problems == []  # declared codes are missing answers, not errors
    reasons = items.reasons_frame().iloc[0].tolist()
    assert reasons == ["refused", "not asked", "declined", "answered"]
    assert out["toy_total_status"].iloc[0] == "not scored: 1 of 4 items answered, needs 3"


def test_out_of_range_is_reported_never_scored(toy):
    out, problems, items = run(
        toy,
        [
            {"toy_1": 3, "toy_2": 3, "toy_3": 33, "toy_4": 3},
            {"toy_1": 3, "toy_2": 3, "toy_3": 2.5, "toy_4": 3},
        ],
    )
    assert [(p.kind, p.row, p.column, p.value) for p in problems] == [
        ("out_of_range", 1, "toy_3", "33"),
        ("out_of_range", 2, "toy_3", "2.5"),
    ]
    assert "allowed: 1=Strongly disagree" in problems[0].hint
    # an invalid answer is not a missing one: no total, and the status names the item
    assert all(math.isnan(v) for v in out["toy_total"])
    assert out["toy_total_status"].tolist() == ["not scored: invalid answer in toy_3"] * 2
    assert items.reasons_frame()["toy_3"].tolist() == ["invalid", "invalid"]
    # on request (--invalid-as-missing) the bad cell counts as missing: 3 + 3 + 3 over 3 items
    assert score(items, invalid_as_missing=True)["toy_total"].tolist() == [12.0, 12.0]


def test_unrecognised_text_is_reported(toy):
    _, problems, _ = run(toy, [{"toy_1": "sometimes", "toy_2": 3, "toy_3": 3, "toy_4": 3}])
    assert [(p.kind, p.row, p.value) for p in problems] == [("unrecognised_answer", 1, "sometimes")]


def test_critical_flag_on_raw_answer(toy):
    out, _, _ = run(
        toy,
        [
            {"toy_1": 1, "toy_2": 1, "toy_3": 1, "toy_4": 5},
            {"toy_1": 1, "toy_2": 1, "toy_3": 1, "toy_4": 4},
            {"toy_1": 1, "toy_2": 1, "toy_3": 1, "toy_4": None},
        ],
    )
    # endorsed, denied, not known (the critical item is blank)
    assert out["toy_critical"].tolist()[:2] == [1, 0] and math.isnan(out["toy_critical"].iloc[2])
    assert out["toy_critical_items"].tolist() == ["toy_4", "", ""]
    assert out["toy_critical_unanswered"].tolist() == ["", "", "toy_4"]


def test_composite_sums_component_scores(toy):
    out, _, _ = run(toy, [{"toy_1": 4, "toy_2": 2, "toy_3": 4, "toy_4": 4}])
    # part = (4+4+4)/3 = 4.00 ; total = 16 ; combo = 20
    assert out["toy_combo"].iloc[0] == 20.0


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [(11.5, 0, 12.0), (12.5, 0, 13.0), (2.675, 2, 2.68), (-1.5, 0, -2.0), (11.57, 0, 12.0)],
)
def test_round_half_up(value, decimals, expected):
    assert round_half_up(np.array([value]), decimals)[0] == expected


def test_phq9_golden_examples_pass():
    from psyscore.examples import check_examples
    from psyscore.library import load

    assert check_examples(load("phq-9")) == []


def test_examples_report_a_wrong_expectation(toy):
    from psyscore.examples import check_examples

    bad = toy.model_copy(
        update={"examples": [toy.examples[0].model_copy(update={"expect": {"total": 13}})]}
    )
    assert check_examples(bad) == ["example 'all threes': total expected 13, engine gave 12.0"]


def test_normal_cdf_small_and_large_paths_agree():
    from psyscore.norms import normal_cdf

    z = np.array([-1.96, 0.0, 1.0, np.nan])
    # Phi(1) = 0.841344746..., Phi(-1.96) = 0.024997895...
    np.testing.assert_allclose(normal_cdf(z)[:3], [0.0249978952, 0.5, 0.8413447461], atol=1e-9)
    big = np.resize(z, 1000)
    np.testing.assert_allclose(normal_cdf(big)[:3], normal_cdf(z)[:3], atol=1e-12)
    assert np.isnan(normal_cdf(z)[3]) and np.isnan(normal_cdf(big)[3])
