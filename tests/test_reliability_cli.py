"""`psyscore reliability` and `psyscore.reliability()`: instrument keys applied before the statistics."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pingouin
import pytest
from typer.testing import CliRunner

import psyscore
from psyscore.cli import app
from psyscore.cli.reliability import apa_sentence
from psyscore.io import read_table

from .conftest import ROOT

SAMPLE = ROOT / "sample_data" / "intake_batch.sav"


@pytest.fixture(scope="module")
def sample():
    return read_table(SAMPLE).data


def test_reverse_keyed_items_before_alpha(sample):
    """TAS-20 DIF has no reversed items, EOT has 5, 10, 18, 19 reversed (1-5 scale: 6 - x)."""
    tas = psyscore.load("tas-20")
    summary, items = psyscore.reliability(sample, tas)
    eot = tas.scores["externally_oriented_thinking"].items
    raw = sample[eot].where(lambda d: d.isin([1, 2, 3, 4, 5]))
    reversed_ids = [i.id for i in tas.items if i.reverse and i.id in eot]
    keyed = raw.copy()
    keyed[reversed_ids] = 6 - keyed[reversed_ids]
    expected, _ = pingouin.cronbach_alpha(keyed)  # pairwise deletion, as psych's default
    row = summary.set_index("score").loc["tas20_externally_oriented_thinking"]
    assert row["alpha"] == pytest.approx(expected, abs=1e-9)
    # the generator made every item load positively once keyed: no item-rest r below zero
    eot_items = items[items["score"] == "tas20_externally_oriented_thinking"]
    assert (eot_items["r_drop"] > 0).all()


def test_reliability_json_has_the_promised_fields(sample):
    result = CliRunner().invoke(app, ["reliability", str(SAMPLE), "-i", "phq-9", "--json"])
    assert result.exit_code == 1  # two typos in the sample are data problems
    payload = json.loads(result.stdout)
    score = payload["instruments"][0]["scores"][0]
    for key in (
        "score",
        "n",
        "alpha",
        "alpha_std",
        "alpha_ci",
        "lambda6",
        "omega_total",
        "omega_h",
        "average_r",
        "warnings",
        "items",
    ):
        assert key in score
    assert score["score"] == "phq9_total" and score["n"] == 400
    first = score["items"][0]
    assert {"item", "mean", "sd", "r_drop", "alpha_if_deleted"} <= set(first)
    # alpha of the nine keyed PHQ-9 items with the typos treated as missing, via pingouin
    phq = sample[[f"phq9_{i}" for i in range(1, 10)]]
    alpha, _ = pingouin.cronbach_alpha(phq.where(phq.isin([0, 1, 2, 3])))
    assert score["alpha"] == pytest.approx(alpha, abs=1e-9)
    assert score["apa"].startswith("Cronbach's alpha = .91, 95% CI [.89, .92]")


def test_apa_sentence_format():
    d = {
        "alpha": 0.8412,
        "alpha_ci": [0.8211, 0.8603],
        "omega_total": 0.8533,
        "n": 250,
        "n_items": 10,
    }
    assert apa_sentence(d) == (
        "Cronbach's alpha = .84, 95% CI [.82, .86]; McDonald's omega total "
        "(bifactor model, 3 group factors) = .85 (n = 250, 10 items)"
    )


def test_bad_policy_is_usage_error():
    result = CliRunner().invoke(
        app, ["reliability", str(SAMPLE), "-i", "phq-9", "--policy", "median"]
    )
    assert result.exit_code == 2
    assert "--policy must be pairwise or listwise" in result.output


def test_listwise_uses_complete_cases(sample):
    summary, _ = psyscore.reliability(
        sample, psyscore.load("gad-7"), policy="listwise", omega=False
    )
    gad = [c for c in sample.columns if c.startswith("GAD7_")]
    complete = sample[gad].where(sample[gad].isin([0, 1, 2, 3])).dropna()
    assert summary.loc[0, "n"] == len(complete)
    cov = np.cov(complete.to_numpy(), rowvar=False)
    k = cov.shape[0]
    alpha = k / (k - 1) * (1 - np.trace(cov) / cov.sum())
    assert summary.loc[0, "alpha"] == pytest.approx(alpha, abs=1e-12)
    _ = pd  # keep pandas import for readers of the data frames above
