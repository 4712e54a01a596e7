"""The instrument definitions added for issue 15: keys, band edges and cross-instrument identities.

Every built-in already runs its golden examples in test_definitions.py. These tests check what a
handful of examples cannot: band edges over every possible answer vector, identities between
related instruments (K6 inside the K10, AUDIT-C inside the AUDIT), and invalid codes.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from psyscore import library
from psyscore.instrument import Bundle
from psyscore.responses import resolve
from psyscore.scoring import score

NEW = ["k6", "pss-10", "who-5", "audit", "audit-c", "brs", "pcl-5", "ders-16", "teq", "ucla-3"]
UNVERIFIED = ["grcs-sf", "wleis"]


def run(ref: str, rows: list[dict] | pd.DataFrame):
    inst = library.load(ref)
    table = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    items, problems = resolve(inst, table)
    return score(items), problems


@pytest.mark.parametrize("ref", NEW)
def test_new_definition_is_verified_with_sources(ref):
    inst = library.load(ref)
    assert inst.key.verified
    # "verified" means a primary source or two independent ones: at least two entries recorded
    assert len(inst.key.checked_against) >= 2
    assert not inst.licence.item_text_shipped
    assert inst.warnings == []


@pytest.mark.parametrize("ref", UNVERIFIED)
def test_unverified_definition_warns_on_every_use(ref):
    inst = library.load(ref)
    assert not inst.key.verified
    assert inst.warnings and all("not verified" in w for w in inst.warnings)
    assert not inst.licence.item_text_shipped


@pytest.mark.parametrize("ref", NEW + UNVERIFIED)
def test_new_definition_has_a_missing_answer_example(ref):
    inst = library.load(ref)
    assert any(None in ex.answers.values() for ex in inst.examples)


def test_men_wellbeing_bundle_members_in_order():
    bundle = library.load("men-wellbeing")
    assert isinstance(bundle, Bundle)
    members = library.resolve_instruments(["men-wellbeing"])
    assert [m.id for m in members] == ["phq-9", "gad-7", "audit-c", "k6", "who-5", "brs"]
    assert all(m.key.verified for m in members)


# ---- K6 ---------------------------------------------------------------------------------------


@given(st.lists(st.integers(0, 4), min_size=10, max_size=10))
def test_k6_equals_its_six_items_in_the_k10_us(answers):
    # K6 = K10 items 2 (nervous), 4 (hopeless), 5 (restless), 8 and 9 (effort / cheer-up, order
    # differs between forms but both are in), 10 (worthless)
    k10 = {f"k10us_{i + 1}": a for i, a in enumerate(answers)}
    k6_items = [2, 4, 5, 8, 9, 10]
    k6 = {f"k6_{j + 1}": answers[i - 1] for j, i in enumerate(k6_items)}
    k6_out, _ = run("k6", [k6])
    k10_out, _ = run("k10-us", [k10])
    not_in_k6 = sum(answers[i - 1] for i in (1, 3, 6, 7))
    assert k6_out["k6_total"].iloc[0] == k10_out["k10us_total"].iloc[0] - not_in_k6


def test_k6_spd_cutoff_is_13():
    rows = [{f"k6_{i}": v for i, v in enumerate(vals, 1)} for vals in ([2] * 6, [3] + [2] * 5)]
    out, _ = run("k6", rows)
    assert out["k6_total"].tolist() == [12, 13]
    assert out["k6_total_band"].tolist() == [
        "below SPD cut-off",
        "serious psychological distress (>= 13)",
    ]


# ---- PSS-10 -----------------------------------------------------------------------------------


@given(st.lists(st.integers(0, 4), min_size=10, max_size=10))
def test_pss10_mirror_answers_sum_to_40(answers):
    # reversing every answer (x -> 4 - x) flips every keyed value, so the two totals add to 40
    row = {f"pss10_{i + 1}": a for i, a in enumerate(answers)}
    mirror = {f"pss10_{i + 1}": 4 - a for i, a in enumerate(answers)}
    out, _ = run("pss-10", [row, mirror])
    assert out["pss10_total"].sum() == 40


def test_pss10_reverse_items_are_4_5_7_8():
    inst = library.load("pss-10")
    assert [i + 1 for i, it in enumerate(inst.items) if it.reverse] == [4, 5, 7, 8]
    # no author bands: none shipped
    assert inst.scores["total"].bands == []


# ---- WHO-5 ------------------------------------------------------------------------------------


def test_who5_raw_bands_match_the_percentage_cutoffs():
    # every raw total 0-25, built from items; the published cut-offs are on the percentage (raw x 4)
    rows = []
    for raw in range(26):
        base, extra = divmod(raw, 5)
        rows.append({f"who5_{i + 1}": base + (1 if i < extra else 0) for i in range(5)})
    out, _ = run("who-5", rows)
    assert out["who5_raw"].tolist() == list(range(26))
    for raw, band in zip(range(26), out["who5_raw_band"], strict=True):
        percentage = raw * 4
        if percentage <= 28:
            assert band.startswith("likely depression")
        elif percentage <= 50:
            assert band.startswith("poor well-being")
        else:
            assert band == "above screening cut-off"


def test_who5_bands_follow_the_exact_percentage_for_every_answer_vector():
    # every complete vector and every vector with one item missing (prorated): the band must follow the
    # published percentage rule on the exact (unrounded) prorated raw score x 4
    complete = np.array(list(itertools.product(range(6), repeat=5)), dtype=float)
    one_missing = []
    for gap in range(5):
        for vals in itertools.product(range(6), repeat=4):
            row = list(map(float, vals))
            row.insert(gap, np.nan)
            one_missing.append(row)
    answers = np.vstack([complete, np.array(one_missing)])
    table = pd.DataFrame(answers, columns=[f"who5_{i}" for i in range(1, 6)]).astype(object)
    table = table.where(table.notna(), None)
    out, problems = run("who-5", table)
    assert problems == []
    percentage = np.nanmean(answers, axis=1) * 5 * 4
    expected = np.where(
        percentage <= 28,
        "likely depression",
        np.where(percentage <= 50, "poor well-being", "above screening cut-off"),
    )
    got = [b.split(",")[0] for b in out["who5_raw_band"].astype(str)]
    assert got == expected.tolist()


# ---- AUDIT and AUDIT-C ------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [1, 3])
def test_audit_items_9_and_10_reject_1_and_3(bad):
    row = {f"audit_{i}": 0 for i in range(1, 11)}
    row["audit_10"] = bad
    out, problems = run("audit", [row])
    assert np.isnan(out["audit_total"].iloc[0])
    assert [p.kind for p in problems if p.column == "audit_10"] == ["out_of_range"]


@given(
    st.lists(st.integers(0, 4), min_size=8, max_size=8),
    st.lists(st.sampled_from([0, 2, 4]), min_size=2, max_size=2),
)
def test_audit_consumption_equals_audit_c_and_parts_add_up(first8, last2):
    answers = first8 + last2
    audit_row = {f"audit_{i + 1}": a for i, a in enumerate(answers)}
    out, problems = run("audit", [audit_row])
    assert problems == []
    c, _ = run("audit-c", [{f"auditc_{i + 1}": a for i, a in enumerate(answers[:3])}])
    assert out["audit_consumption"].iloc[0] == c["auditc_total"].iloc[0]
    parts = out[["audit_consumption", "audit_dependence", "audit_harm"]].iloc[0].sum()
    assert out["audit_total"].iloc[0] == parts == sum(answers)


def test_audit_who_zone_edges():
    # totals 7, 8, 15, 16, 19, 20 from items 1-8 (items 9-10 "no")
    rows = []
    for total in (7, 8, 15, 16, 19, 20):
        vals = [min(4, max(0, total - 4 * i)) for i in range(8)]
        rows.append(
            {**{f"audit_{i + 1}": v for i, v in enumerate(vals)}, "audit_9": 0, "audit_10": 0}
        )
    out, _ = run("audit", rows)
    assert out["audit_total"].tolist() == [7, 8, 15, 16, 19, 20]
    zones = [b.split(" (")[0] for b in out["audit_total_band"]]
    assert zones == ["zone I", "zone II", "zone II", "zone III", "zone III", "zone IV"]


def test_audit_c_sex_specific_band_sets():
    rows = [{"auditc_1": t, "auditc_2": 0, "auditc_3": 0} for t in (2, 3, 4)]
    out, _ = run("audit-c", rows)
    men = [b.startswith("positive") for b in out["auditc_total_band"]]
    women = [b.startswith("positive") for b in out["auditc_total_band_women"]]
    assert men == [False, False, True]  # men: >= 4
    assert women == [False, True, True]  # women: >= 3


# ---- BRS --------------------------------------------------------------------------------------


def _brs_expected_band(keyed_sum: int, answered: int) -> str:
    # Smith et al. (2013) on the exact mean: low < 3.00, normal 3.00-4.30, high > 4.30
    mean = keyed_sum / answered
    if mean < 3:
        return "low resilience"
    if mean <= 4.30:
        return "normal resilience"
    return "high resilience"


def test_brs_bands_over_every_complete_answer_vector():
    # all 5^6 = 15,625 answer vectors: inclusive `upto` on the (unrounded) mean never misbands
    answers = np.array(list(itertools.product(range(1, 6), repeat=6)))
    table = pd.DataFrame(answers, columns=[f"brs_{i}" for i in range(1, 7)])
    out, problems = run("brs", table)
    assert problems == []
    keyed = answers.copy()
    keyed[:, [1, 3, 5]] = 6 - keyed[:, [1, 3, 5]]
    sums = keyed.sum(axis=1)
    expected = [_brs_expected_band(s, 6) for s in sums]
    assert out["brs_mean_band"].astype(str).tolist() == expected
    np.testing.assert_allclose(out["brs_mean"], sums / 6)


def test_brs_bands_with_one_missing_answer():
    # five answered: means are multiples of 0.2; every keyed sum 5..25
    rows = []
    for keyed_sum in range(5, 26):
        base, extra = divmod(keyed_sum, 5)
        vals = [base + (1 if i < extra else 0) for i in range(5)]
        # items 1, 3, 5 forward; items 2, 4 reversed (answer 6 - keyed); item 6 missing
        row = {"brs_1": vals[0], "brs_2": 6 - vals[1], "brs_3": vals[2], "brs_4": 6 - vals[3]}
        row.update({"brs_5": vals[4], "brs_6": None})
        rows.append(row)
    out, _ = run("brs", rows)
    expected = [_brs_expected_band(s, 5) for s in range(5, 26)]
    assert out["brs_mean_band"].astype(str).tolist() == expected
    assert set(out["brs_mean_status"]) == {"prorated"}


# ---- PCL-5 ------------------------------------------------------------------------------------


@given(st.lists(st.integers(0, 4), min_size=20, max_size=20))
def test_pcl5_total_is_the_sum_of_its_clusters(answers):
    out, _ = run("pcl-5", [{f"pcl5_{i + 1}": a for i, a in enumerate(answers)}])
    clusters = out[["pcl5_intrusion", "pcl5_avoidance", "pcl5_cognition_mood", "pcl5_arousal"]]
    assert out["pcl5_total"].iloc[0] == clusters.iloc[0].sum() == sum(answers)
    assert out["pcl5_intrusion"].iloc[0] == sum(answers[0:5])
    assert out["pcl5_avoidance"].iloc[0] == sum(answers[5:7])
    assert out["pcl5_cognition_mood"].iloc[0] == sum(answers[7:14])
    assert out["pcl5_arousal"].iloc[0] == sum(answers[14:20])


# ---- DERS-16, TEQ, UCLA-3, GRCS-SF, WLEIS --------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "subscales"),
    [
        ("ders-16", ["clarity", "goals", "impulse", "strategies", "nonacceptance"]),
        (
            "grcs-sf",
            [
                "restrictive_emotionality",
                "success_power_competition",
                "affection_between_men",
                "work_family",
            ],
        ),
        (
            "wleis",
            [
                "self_emotion_appraisal",
                "others_emotion_appraisal",
                "use_of_emotion",
                "regulation_of_emotion",
            ],
        ),
    ],
)
def test_subscales_partition_the_items(ref, subscales):
    inst = library.load(ref)
    members = [i for name in subscales for i in inst.scores[name].items]
    assert sorted(members) == sorted(inst.item_ids)
    assert len(members) == len(set(members))


@given(st.lists(st.integers(1, 5), min_size=16, max_size=16))
def test_ders16_total_is_the_sum_of_its_subscales(answers):
    out, _ = run("ders-16", [{f"ders16_{i + 1}": a for i, a in enumerate(answers)}])
    parts = ["clarity", "goals", "impulse", "strategies", "nonacceptance"]
    assert out["ders16_total"].iloc[0] == sum(answers)
    assert out[[f"ders16_{p}" for p in parts]].iloc[0].sum() == sum(answers)


@given(st.lists(st.integers(0, 4), min_size=16, max_size=16))
def test_teq_mirror_answers_sum_to_64(answers):
    row = {f"teq_{i + 1}": a for i, a in enumerate(answers)}
    mirror = {f"teq_{i + 1}": 4 - a for i, a in enumerate(answers)}
    out, _ = run("teq", [row, mirror])
    assert out["teq_total"].sum() == 64


def test_teq_reverse_items():
    inst = library.load("teq")
    assert [i + 1 for i, it in enumerate(inst.items) if it.reverse] == [2, 4, 7, 10, 11, 12, 14, 15]


def test_ucla3_rejects_zero_coded_answers():
    # 0-2 coded exports must be recoded first: a 0 is invalid, never read as "hardly ever"
    out, problems = run("ucla-3", [{"ucla3_1": 0, "ucla3_2": 1, "ucla3_3": 1}])
    assert np.isnan(out["ucla3_total"].iloc[0])
    assert [p.kind for p in problems if p.column == "ucla3_1"] == ["out_of_range"]


def test_wleis_declares_the_seven_point_version():
    inst = library.load("wleis")
    scale = inst.response_scales["agree7"]
    assert (scale.min, scale.max) == (1, 7)
    out, problems = run("wleis", [{f"wleis_{i}": 8 if i == 1 else 4 for i in range(1, 17)}])
    assert [p.kind for p in problems if p.column == "wleis_1"] == ["out_of_range"]
    assert np.isnan(out["wleis_self_emotion_appraisal"].iloc[0])
