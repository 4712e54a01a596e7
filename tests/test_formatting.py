"""One formatter for every number in reports: plain numbers, APA statistics, counts, sentences."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psyscore.report.formatting import MINUS, apa, apa_sentence, count, number

M = MINUS  # the typographic minus sign, U+2212


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0.00"),
        (0.5, "0.50"),
        (10.5, "10.50"),
        (-0.05, f"{M}0.05"),
        (1000, "1,000.00"),
        (10.542, "10.54"),
        (-1234.5, f"{M}1,234.50"),
        (0.125, "0.13"),  # half up, as every other number psyscore rounds
        (-0.001, "0.00"),  # no minus sign on a number that rounds to zero
        (None, "\u2013"),
        (math.nan, "\u2013"),
        (math.inf, "\u221e"),
        (-math.inf, f"{M}\u221e"),
    ],
)
def test_number(value, expected):
    assert number(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, ".00"),
        (0.5, ".50"),
        (10.5, "10.50"),  # a statistic above 1 keeps its digits: never "1.50" or ".50"
        (10.542, "10.54"),
        (-0.05, f"{M}.05"),
        (1000, "1,000.00"),
        (1.0, "1.00"),
        (-1.2, f"{M}1.20"),
        (0.845, ".85"),
        (None, ""),
    ],
)
def test_apa_drops_the_leading_zero_only_below_one(value, expected):
    assert apa(value) == expected


def test_number_digits_and_counts():
    assert number(12.0, 0) == "12"
    assert number(88.44, 1) == "88.4"
    assert count(2800) == "2,800"
    assert count(0) == "0"
    assert count(None) == "\u2013"


def test_huge_and_tiny_numbers():
    assert number(1e30, 2) == "1," + "000," * 9 + "000.00"  # the digits repr shows
    assert number(1.7976931348623157e308, 0).count(",") == 102
    assert number(5e-324) == "0.00"
    assert apa(1e-9) == ".00"


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_number_reads_back_as_the_rounded_value(value):
    text = number(value, 3).replace(",", "").replace(MINUS, "-")
    assert abs(float(text) - value) <= 0.0005 + 1e-9 * abs(value)
    stat = apa(value, 3).replace(",", "").replace(MINUS, "-")
    assert float(stat.replace("-.", "-0.") if stat.startswith("-.") else stat) == float(text)


def test_apa_sentence_with_thousands_and_minus():
    d = {
        "alpha": -0.0512,
        "alpha_ci": [-0.1, 0.02],
        "omega_total": None,
        "omega_total_1f": 0.43,
        "n": 2800,
        "n_items": 10,
    }
    assert apa_sentence(d) == (
        f"Cronbach's alpha = {M}.05, 95% CI [{M}.10, .02]; McDonald's omega total "
        "(one-factor model) = .43 (n = 2,800, 10 items)"
    )


def test_reliability_html_prints_numbers_above_ten_whole():
    from psyscore.report.reliability_html import fmt

    assert fmt(10.542) == "10.54"  # was "1.54": the first "0." anywhere was stripped
    assert fmt(0.84) == ".84"
    assert fmt(-0.05) == f"{M}.05"
    assert fmt(None) == "\u2013"
    assert fmt(12.345, apa=False) == "12.35"


def test_reliability_report_signal_noise_above_ten(tmp_path):
    import numpy as np
    import pandas as pd

    from psyscore.psychometrics.scale import analyse_scale
    from psyscore.report.reliability_html import render_reliability_html

    rng = np.random.default_rng(1)
    trait = rng.normal(size=(300, 1))
    data = pd.DataFrame(trait + rng.normal(scale=0.3, size=(300, 6)), columns=list("abcdef"))
    d = analyse_scale(data, omega=False, name="s").to_dict()
    assert d["signal_noise"] > 10
    payload = {"input": "x.csv", "policy": "pairwise", "problems": [], "warnings": []}
    payload["instruments"] = [{"instrument": "x", "prefix": "", "citation": "", "scores": [d]}]
    html = render_reliability_html(payload, [], plots=False)
    assert f"signal/noise {number(d['signal_noise'])}" in html
    assert f"signal/noise {number(d['signal_noise'])[1:]}" not in html.replace(
        f"signal/noise {number(d['signal_noise'])}", ""
    )


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [(12.0, 2, "12"), (2.5, 2, "2.5"), (1.161, 3, "1.161"), (-6.0, 2, f"{M}6"), (1000, 2, "1,000")],
)
def test_compact_drops_trailing_zeros(value, digits, expected):
    from psyscore.report.formatting import compact

    assert compact(value, digits) == expected


def test_signed():
    from psyscore.report.formatting import signed

    assert (signed(2.0), signed(-6.0), signed(0.0), signed(-3.654, 2)) == (
        "+2",
        f"{M}6",
        "0",
        f"{M}3.65",
    )


# ---- the intake reports format through the same module ----------------------------------------


def _change_result():
    from psyscore.intake import compare, score_form
    from psyscore.library import resolve_instruments

    phq = resolve_instruments(["phq-9"])
    # the PHQ-9 norm groups are by sex (issue 11): without it there is no SD for the RCI
    first = {f"phq9_{i}": 2 for i in range(1, 10)}
    before = score_form(phq, first, date="2026-01-05", sex="male").to_dict()
    answers = {f"phq9_{i}": c for i, c in enumerate([1, 2, 1, 2, 1, 1, 2, 1, 1], 1)}
    now = score_form(phq, answers, sex="male")
    compare(now, before, phq)
    return now


def test_intake_change_text_uses_the_minus_sign():
    change = _change_result().instruments[0].scores[0].change
    assert change.text.startswith(f"phq9_total 18 -> 12 ({M}6); RCI {M}3.65: reliable improvement")


def test_intake_terminal_report_formats_through_formatting():
    from rich.console import Console

    from psyscore.report.intake_terminal import render

    console = Console(width=200, record=True)
    render(console, _change_result())
    text = console.export_text()
    assert "SEM 1.161 from alpha .89" in text  # alpha is a statistic below 1: APA style
    assert f"RCI {M}3.65" in text


def test_intake_html_report_formats_through_formatting():
    from psyscore.report.intake_html import render_html

    html = render_html(_change_result())
    assert "published alpha .89" in html
    assert f"RCI {M}3.65" in html
