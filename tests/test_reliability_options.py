"""`ReliabilityOptions`: the options of a reliability analysis, checked once before any work.

Before it, `nfactors=0` failed deep in the factoring with an IndexError, `nfactors=2.5` gave an
omega of a model nobody asked for, and `--bootstrap -1` ended in a traceback.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

import psyscore
from psyscore.cli import app
from psyscore.errors import UsageError
from psyscore.survey import ReliabilityOptions

from .conftest import ROOT

SAMPLE = ROOT / "sample_data" / "intake_batch.csv"
runner = CliRunner()


@pytest.fixture(scope="module")
def survey():
    return psyscore.read(SAMPLE)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"nfactors": 0}, "nfactors"),
        ({"nfactors": 2.5}, "nfactors"),
        ({"nfactors": True}, "nfactors"),
        ({"n_boot": -1}, "bootstrap"),
        ({"n_boot": 10.5}, "bootstrap"),
        ({"omega": "no"}, "omega"),
        ({"correlations": "spearman"}, "--correlations must be one of pearson, polychoric"),
        ({"policy": "casewise"}, "--policy must be pairwise or listwise"),
        ({"impute": "zero"}, "--impute must be one of none, mean, median"),
        ({"split_half": "halves"}, "split"),
    ],
)
def test_an_impossible_option_is_refused_before_any_work(survey, options, message):
    with pytest.raises(UsageError, match=message):
        survey.reliability("gad-7", **options)
    with pytest.raises(UsageError, match=message):
        ReliabilityOptions(**options)


@given(st.one_of(st.integers(max_value=0), st.floats().filter(lambda x: not float(x).is_integer())))
def test_nfactors_is_a_whole_number_of_at_least_one(nfactors):
    with pytest.raises(UsageError, match="nfactors"):
        ReliabilityOptions(nfactors=nfactors)


def test_options_object_and_keywords_give_the_same_report(survey):
    by_keywords = survey.reliability("gad-7", omega=False, policy="listwise", nfactors=2)
    options = ReliabilityOptions(omega=False, policy="listwise", nfactors=2)
    by_object = survey.reliability("gad-7", options=options)
    assert json.dumps(by_object.to_dict(), default=str) == json.dumps(
        by_keywords.to_dict(), default=str
    )
    assert by_object.options == options.report_options()


def test_options_object_and_other_keywords_together_are_refused(survey):
    with pytest.raises(UsageError, match="not both"):
        survey.reliability("gad-7", options=ReliabilityOptions(), omega=False)


def test_the_report_keeps_the_options_it_shows_in_json():
    assert ReliabilityOptions().report_options() == {
        "policy": "pairwise",
        "split_half": "all",
        "nfactors": 3,
        "by": None,
        "impute": "none",
        "correlations": "pearson",
    }


def test_negative_bootstrap_on_the_command_line_is_a_usage_error_without_traceback():
    result = runner.invoke(app, ["reliability", str(SAMPLE), "-i", "gad-7", "--bootstrap", "-1"])
    assert result.exit_code == 2, result.output
    assert "--bootstrap" in result.stderr and "Traceback" not in result.output
    assert result.stdout == ""


def test_the_command_refuses_an_impossible_option_before_reading(monkeypatch):
    import psyscore.io

    def no_reading(*args, **kwargs):
        raise AssertionError("the data was read")

    monkeypatch.setattr(psyscore.io, "read_table", no_reading)
    result = runner.invoke(
        app, ["reliability", str(SAMPLE), "-i", "gad-7", "--correlations", "spearman"]
    )
    assert result.exit_code == 2, result.output
    assert "--correlations must be one of pearson, polychoric" in result.stderr


@pytest.mark.parametrize(
    ("options", "message"),
    [({"nfactors": 0}, "nfactors"), ({"n_boot": -1}, "bootstrap"), ({"omega": "no"}, "omega")],
)
def test_the_notebook_functions_refuse_the_same_options(survey, options, message):
    """psyscore.reliability / reliability_report go through reliability_of, not Survey: they
    check the options too (nfactors=0 was an IndexError there)."""
    inst = psyscore.load("gad-7")
    report_options = {k: v for k, v in options.items() if k != "n_boot"}
    with pytest.raises(UsageError, match=message):
        if "n_boot" in options:
            psyscore.psychometrics.instruments.reliability_of(survey.data, inst, **options)
        else:
            psyscore.reliability(survey.data, inst, **report_options)


def test_the_options_are_part_of_the_api():
    assert psyscore.ReliabilityOptions is ReliabilityOptions
