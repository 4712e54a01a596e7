"""`psyscore instruments new --from DATA --items ...`: a draft definition, completed, scores."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from typer.testing import CliRunner

import psyscore
from psyscore.cli import app
from psyscore.draft import parse_item_spec
from psyscore.errors import DefinitionError, UsageError
from psyscore.instrument import load_definition

runner = CliRunner()
BFI = Path(__file__).parent / "reference" / "data" / "bfi25.csv"
ANCHORS = {1: "never", 2: "sometimes", 3: "often", 4: "always"}


def _fill(text: str, reverse: dict[str, str], *, anchors: bool) -> str:
    """Fill the TODOs as a user would."""
    text = text.replace('"TODO the full name of the instrument"', "Lab scale")
    text = text.replace('"TODO the publication that defines the scale, or private"', "private")
    text = text.replace("  status: TODO", "  status: private")
    text = re.sub(r'"TODO where the scoring key comes from[^"]*"', "private", text)
    text = text.replace('"TODO what the score measures"', "a score")
    for score, keys in reverse.items():
        text = re.sub(
            rf"(  {score}:\n(?:    .*\n)*?)    reverse: TODO[^\n]*", rf"\1    reverse: {keys}", text
        )
    text = re.sub(r"method: TODO[^\n]*", "method: mean", text)
    text = re.sub(r"missing: TODO[^\n]*", "missing: {min_answered: 1}", text)
    if anchors:
        text = re.sub(r'"TODO anchor text of code (\d+)"', lambda m: f"anchor {m.group(1)}", text)
    return text


def test_item_spec_expands_ranges_and_names_unknown_columns():
    columns = ["id", "A1", "A2", "A3", "C1", "C2", "x", "y", "z"]
    assert parse_item_spec("A1-A3,C1-C2", columns) == [["A1", "A2", "A3"], ["C1", "C2"]]
    assert parse_item_spec("x-z", columns) == [["x", "y", "z"]]  # by file order
    assert parse_item_spec("A1, C2", columns) == [["A1"], ["C2"]]
    with pytest.raises(UsageError, match="no column 'A4'"):
        parse_item_spec("A1-A4", columns)
    with pytest.raises(UsageError, match="did you mean C1"):
        parse_item_spec("c1", columns)
    with pytest.raises(UsageError, match="twice"):
        parse_item_spec("A1-A3,A2", columns)


def test_csv_draft_round_trips_new_fill_validate_score(tmp_path):
    draft = tmp_path / "my-scale.yaml"
    result = runner.invoke(
        app, ["instruments", "new", "--from", str(BFI), "--items", "A1-A5,C1-C5", "-o", str(draft)]
    )
    assert result.exit_code == 0, result.output
    text = draft.read_text(encoding="utf-8")
    assert "codes 1 to 6 as observed in bfi25.csv" in text and "check the range" in text
    for needed in ("citation:", "reverse: TODO", "missing: TODO", "status: TODO"):
        assert needed in text
    # unfinished: refused, naming the lines
    check = runner.invoke(app, ["instruments", "validate", str(draft), "--json"])
    assert check.exit_code == 2
    errors = json.loads(check.stdout)[0]["errors"]
    assert any(
        re.search(r"my-scale.yaml:4\d: scores.a.reverse: still to be completed", e) for e in errors
    )
    assert len(errors) == 18  # name, citation, licence, key source, 6 anchors, 4 per score
    with pytest.raises(DefinitionError, match="still to be completed"):
        load_definition(draft)

    done = tmp_path / "done.yaml"
    done.write_text(_fill(text, {"a": "[A1]", "c": "[C4, C5]"}, anchors=True), encoding="utf-8")
    check = runner.invoke(app, ["instruments", "validate", str(done)])
    assert check.exit_code == 0, check.output
    assert "not independently verified" in check.output  # private provenance

    inst = psyscore.load(str(done))
    bfi = pd.read_csv(BFI)
    table = psyscore.score_table(bfi, [inst]).table
    keyed_a = bfi[["A1", "A2", "A3", "A4", "A5"]].assign(A1=7 - bfi["A1"])
    np.testing.assert_allclose(table["myscale_a"], keyed_a.mean(axis=1, skipna=True))
    out = tmp_path / "scored.csv"
    scored = runner.invoke(app, ["score", str(BFI), "-i", str(done), "-o", str(out)])
    assert scored.exit_code == 0, scored.output


def test_sav_draft_takes_anchors_and_user_missing_codes(tmp_path):
    frame = pd.DataFrame({"id": [1, 2, 3, 4], "w1": [1, 2, 9, 4], "w2": [2, 3, 4, 1]}).astype(float)
    source = tmp_path / "survey.sav"
    labels = {**ANCHORS, 9: "refused"}
    pyreadstat.write_sav(
        frame,
        str(source),
        column_labels=["respondent", "felt rested", "felt calm"],
        variable_value_labels={"w1": labels, "w2": labels},
        missing_ranges={"w1": [9], "w2": [9]},
    )
    draft = tmp_path / "wellbeing.yaml"
    result = runner.invoke(
        app,
        [
            "instruments", "new", "--from", str(source), "--items", "w1-w2",
            "-o", str(draft), "--scale-name", "Lab wellbeing",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = draft.read_text(encoding="utf-8")
    assert 'name: "Lab wellbeing"' in text
    assert "value labels of survey.sav" in text
    assert '1: "never"' in text and '4: "always"' in text
    assert '9: "refused"' in text  # user-missing -> missing_codes, not an anchor
    assert 'label: "felt rested"' in text
    done = tmp_path / "done.yaml"
    done.write_text(_fill(text, {"w": "[w2]"}, anchors=False), encoding="utf-8")
    check = runner.invoke(app, ["instruments", "validate", str(done)])
    assert check.exit_code == 0, check.output
    inst = psyscore.load(str(done))
    assert inst.response_scales["codes_1_4"].values == {
        1: "never",
        2: "sometimes",
        3: "often",
        4: "always",
    }
    table = psyscore.score_table(frame, [inst]).table
    # w2 reversed (5 - w2); the 9 is missing (refused), so row 3 is w2 alone
    np.testing.assert_allclose(table["wellbeing_w"], [2.0, 2.0, 1.0, 4.0])


def test_refusals(tmp_path):
    draft = tmp_path / "x.yaml"
    draft.write_text("old", encoding="utf-8")
    args = ["instruments", "new", "--from", str(BFI), "--items", "A1-A5", "-o", str(draft)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "--force" in result.output
    result = runner.invoke(app, [*args[:-1], str(tmp_path / "x.txt")])
    assert result.exit_code == 2 and "*.yaml" in result.output
    coded = tmp_path / "coded.csv"
    pd.DataFrame({"q1": [1, 2, -99], "q2": [3, 4, 5]}).to_csv(coded, index=False)
    result = runner.invoke(
        app,
        [
            "instruments",
            "new",
            "--from",
            str(coded),
            "--items",
            "q1-q2",
            "-o",
            str(tmp_path / "c.yaml"),
        ],
    )
    assert result.exit_code == 2 and "missing code" in result.output
