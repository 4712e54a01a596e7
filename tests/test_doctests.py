"""The examples in the public API's docstrings run, on the bundled sample data.

`psyscore.read`, `Survey.score`, `Survey.reliability`, `psyscore.load` and `as_instruments` show
real calls with their real output; this test keeps them true (pytest's own options are left as
they are: only these modules are collected for doctests).
"""

from __future__ import annotations

import doctest

import pytest

import psyscore.library
import psyscore.psychometrics.instruments
import psyscore.survey

from .conftest import ROOT

MODULES = [psyscore.survey, psyscore.library, psyscore.psychometrics.instruments]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_docstring_examples_run(module, monkeypatch):
    monkeypatch.chdir(ROOT)  # the examples name sample_data/... as a user in the repository would
    found = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert found.attempted > 0
    assert found.failed == 0


def test_the_public_entry_points_have_examples():
    for entry in (
        psyscore.survey.read,
        psyscore.survey.Survey.score,
        psyscore.survey.Survey.reliability,
        psyscore.library.load,
    ):
        assert ">>> " in (entry.__doc__ or ""), entry.__qualname__
