"""Column matching: common spellings map without a mapping file; ambiguity is an error."""

from __future__ import annotations

import pandas as pd
import pytest

from psyscore.errors import UsageError
from psyscore.library import load
from psyscore.responses import column_key, match_columns


@pytest.mark.parametrize(
    "name", ["phq9_1", "PHQ9_01", "phq_9_1", "PHQ-9 item 1", "PHQ9 Q1", "phq9_001"]
)
def test_spellings_share_one_key(name):
    assert column_key(name) == "phq9_1"


def test_common_spellings_match_phq9_items():
    phq = load("phq-9")
    columns = ["id", "PHQ9_01", "phq_9_2", "PHQ-9 item 3"] + [f"phq9_{i}" for i in range(4, 10)]
    found, problems = match_columns(phq, columns)
    assert found["phq9_1"] == "PHQ9_01"
    assert found["phq9_2"] == "phq_9_2"
    assert found["phq9_3"] == "PHQ-9 item 3"
    assert found["phq9_9"] == "phq9_9"
    assert problems == []


def test_exact_id_beats_a_respelling():
    phq = load("phq-9")
    found, _ = match_columns(phq, ["phq9_1", "PHQ9_01"])
    assert found["phq9_1"] == "phq9_1"


def test_two_equally_good_columns_are_an_error_listing_both():
    phq = load("phq-9")
    with pytest.raises(UsageError, match="phq9_1 matches several columns: PHQ9_01, phq_9_1"):
        match_columns(phq, ["PHQ9_01", "phq_9_1"])


def test_item_like_column_beyond_the_instrument_is_reported():
    phq = load("phq-9")
    _, problems = match_columns(phq, [f"phq9_{i}" for i in range(1, 11)] + ["phq9_12"])
    assert [(p.kind, p.column) for p in problems] == [("unknown_column", "phq9_12")]


def test_explicit_mapping_wins():
    phq = load("phq-9")
    found, _ = match_columns(phq, ["Q1", "phq9_1"], mapping={"Q1": "phq9_1"})
    assert found["phq9_1"] == "Q1"


def test_duplicate_respondent_ids_are_problems():
    from psyscore.responses import duplicate_ids

    problems = duplicate_ids(pd.DataFrame({"rid": ["a", "b", "a", None, None]}), "rid")
    assert [(p.kind, p.row, p.value) for p in problems] == [("duplicate_id", 3, "a")]
