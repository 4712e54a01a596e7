"""Published percentile tables of PHQ-9 and GAD-7 (issue 15 "Norm tables", issue 11 norms).

No published table of either screen could be read (tools/norm_tables.md says what was searched,
where, and why nothing was entered), so both definitions ship mean/SD only: z and T, and no
percentile, because their scores are skewed and a normal-curve percentile contradicts the cited
papers (GAD-7 = 10 at 98.9 means 1.1% at or above 10; Lowe et al. 2008 report about 5%).

`PUBLISHED` is the committed transcription: (instrument, norm group) -> {raw score: percentile}
exactly as the paper prints it. It is empty because nothing could be transcribed. Whoever enters
a table in a definition must enter the same numbers here (with the table number and page in the
comment), and these tests then check the definition against it, the lookup at 10 against it, and
the share at or above the cut-off against the paper's abstract.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from psyscore.batch import score_table
from psyscore.instrument import NormGroup, PercentileTable
from psyscore.intake import score_form
from psyscore.library import builtin_instruments, load, resolve_instruments
from psyscore.norms import normal_cdf, percentiles

# (instrument id, norm group name) -> {raw score: percentile as printed}. Nothing reachable yet.
PUBLISHED: dict[tuple[str, str], dict[float, float]] = {}

# What each paper's abstract says about the share at or above the cut-off of 10, to cross-check a
# table when one is entered (the sexes pooled, so only a loose check per group).
ABSTRACT_SHARE_AT_OR_ABOVE_10 = {
    "phq-9": 5.6,  # Kocalevent, Hinz & Brahler (2013): "moderate to high severity" 5.6%
    "gad-7": 5.0,  # Lowe et al. (2008): "approximately 5%" >= 10
}

SCREENS = ("phq-9", "gad-7")
GROUPS = [
    (iid, group.group, group.sex) for iid in SCREENS for group in load(iid).scores["total"].norms
]


def answers_summing_to(iid: str, total: int) -> dict[str, int]:
    """Answers to the scored items of `iid` that sum to `total`, filled from item 1 with 3s."""
    inst = load(iid)
    codes, left = {}, total
    for item in inst.scores["total"].items:
        codes[item] = min(3, left)
        left -= codes[item]
    assert left == 0
    return codes


def group_named(iid: str, name: str) -> NormGroup:
    return next(g for g in load(iid).scores["total"].norms if g.group == name)


def test_shipped_tables_are_exactly_the_committed_transcription():
    shipped = {
        (iid, g.group): g.table.percentiles
        for iid in SCREENS
        for g in load(iid).scores["total"].norms
        if g.table is not None
    }
    assert shipped == PUBLISHED


@pytest.mark.parametrize(("iid", "name", "sex"), GROUPS)
def test_score_10_gets_the_published_percentile_never_the_normal_curve(iid, name, sex):
    group = group_named(iid, name)
    normal_curve = round(float(normal_cdf(np.array([(10 - group.mean) / group.sd]))[0]) * 100, 1)
    assert normal_curve > 97  # the number issue 11 saw (GAD-7 men: 98.9; PHQ-9 men: 98.1)
    published = PUBLISHED.get((iid, name), {}).get(10.0)

    norm = score_form(resolve_instruments([iid]), answers_summing_to(iid, 10), sex=sex)
    norm = norm.instruments[0].scores[0].norm
    assert norm.group == name
    assert norm.percentile == published
    assert norm.z == round((10 - group.mean) / group.sd, 2)  # z stays: mean and SD are published
    if published is None:
        assert norm.percentile_method == "none" and "no percentile" in norm.percentile_note

    batch = score_table(
        pd.DataFrame([answers_summing_to(iid, 10)]), resolve_instruments([iid]), norm_group=name
    )
    pct = batch.table[f"{load(iid).output_prefix}_total_pct"].iloc[0]
    assert (math.isnan(pct) and published is None) or pct == published


@pytest.mark.parametrize(("iid", "name", "sex"), GROUPS)
def test_no_skewed_screen_is_declared_normal(iid, name, sex):
    # declaring `distribution: normal` would bring the 98.9 back; only a table gives a percentile
    group = group_named(iid, name)
    assert group.distribution == "skewed"
    assert group.percentile_method == ("table" if (iid, name) in PUBLISHED else "none")


@pytest.mark.parametrize(("key", "table"), list(PUBLISHED.items()))
def test_a_published_table_agrees_with_its_abstract(key, table):
    # runs once a table is entered: percent at or above 10 = 100 - percentile at 9 (cumulative)
    iid, _ = key
    assert 9.0 in table, "the row below the cut-off is needed for the cross-check"
    share = 100.0 - table[9.0]
    assert abs(share - ABSTRACT_SHARE_AT_OR_ABOVE_10[iid]) < 3.0


def test_golden_examples_cover_the_lookup_at_10():
    for iid in SCREENS:
        at_10 = [ex for ex in load(iid).examples if ex.expect.get("total") == 10]
        assert at_10 and all("total_pct" in ex.expect for ex in at_10), iid
        for ex in at_10:
            group = load(iid).scores["total"].norms[0]  # examples use the default group
            assert ex.expect["total_pct"] == PUBLISHED.get((iid, group.group), {}).get(10.0)


# ---- how a table is looked up (a made-up table: the rules, not data) ------------------------

MADE_UP = NormGroup(
    group="made-up group for the lookup rules",
    mean=3.0,
    sd=3.0,
    source="made up for a test, not a published norm",
    table=PercentileTable(
        percentiles={0: 40.0, 1: 55.0, 2: 66.0, 4: 80.0, 10: 95.0},
        source="made up for a test",
        page="none",
    ),
)


def test_listed_rows_are_used_exactly():
    got = percentiles(np.array([0.0, 1.0, 2.0, 4.0, 10.0]), MADE_UP)
    assert got.tolist() == [40.0, 55.0, 66.0, 80.0, 95.0]


def test_lookups_outside_the_table_give_none():
    # below the first row, above the last, a row the table skips (3), a prorated non-integer
    # total and a missing score: none is interpolated or extended
    got = percentiles(np.array([-1.0, 11.0, 27.0, 3.0, 11.57, 2.5, np.nan]), MADE_UP)
    assert np.isnan(got).all()


def test_float_noise_on_either_side_of_a_row_finds_the_row():
    # an integer total can come out of proration a few ulps above or below the integer; the
    # lookup used to find the row only from below (10 - 1e-15 -> 95, 10 + 1e-15 -> none)
    noisy = np.array([np.nextafter(10.0, 11.0), np.nextafter(10.0, 9.0), 2.220446049250313e-16])
    assert percentiles(noisy, MADE_UP).tolist() == [95.0, 95.0, 40.0]


@given(st.floats(min_value=-5, max_value=30, allow_nan=False))
def test_any_score_gets_its_row_or_nothing(value):
    # a row matches within 1e-9 (float noise of an integer total), never further away
    got = float(percentiles(np.array([value]), MADE_UP)[0])
    near = [pct for raw, pct in MADE_UP.table.percentiles.items() if abs(raw - value) <= 1e-9]
    if near:
        assert got == near[0]
    else:
        assert math.isnan(got)


def test_every_builtin_table_names_its_source_and_page_and_stays_in_range():
    for inst in builtin_instruments():
        for name, spec in inst.scores.items():
            for group in spec.norms:
                if group.table is None:
                    continue
                where = f"{inst.id} {name} {group.group}"
                assert group.table.source.strip() and group.table.page.strip(), where
                low, high = inst.score_range(name)
                assert all(low <= raw <= high for raw in group.table.percentiles), where
