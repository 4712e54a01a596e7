"""Factual corrections from the 2026-12 key audit (issue 15) stay corrected."""

from __future__ import annotations

from psyscore import load


def test_ssosh_retest_has_no_invented_interval():
    source = load("ssosh").scores["total"].published_reliability.source
    assert "2-month test-retest" not in source
    assert "interval not stated" in source and "Study 5" in source


def test_k10_clinical_bands_are_credited_to_crufad_gpcare():
    bands = {b.name: b.source for b in load("k10").scores["total"].bands}
    assert "Coombs 2011" in bands["clinical"] and "Andrews" not in bands["clinical"]
    assert "Andrews & Slade 2001" in bands["abs"]


def test_k10_us_items_follow_kesslers_us_numbering():
    labels = {i.id: i.label for i in load("k10-us").items}
    assert labels["k10us_8"] == "too depressed to cheer"
    assert labels["k10us_9"] == "everything an effort"
    assert "swap" in load("k10-us").key.item_order_source


def test_mdrs22_is_a_clinical_screen_with_single_source_bands():
    inst = load("mdrs-22")
    assert inst.construct == "clinical_screen"
    assert "SINGLE SOURCE" in inst.scores["total"].bands[0].source


def test_phq9_missing_rule_is_not_attributed_to_the_developers():
    source = load("phq-9").scores["total"].missing.source
    assert "Arrieta" in source and "not a rule from the PHQ developers" in source


def test_unverified_keys_stay_unverified():
    assert not any(load(i).key.verified for i in ("mrni-sf", "cmni-30", "atspph-sf"))
