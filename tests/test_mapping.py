"""`--map` files (issue 10): no silent drop, no silent winner, no hang."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from typer.testing import CliRunner

from psyscore import load
from psyscore.cli import app
from psyscore.errors import UsageError
from psyscore.mapping import check_mapped_items, load_mapping, parse_mapping

from .conftest import ROOT
from .test_definition_safety import billion_laughs


def _write(tmp_path, text: str, name: str = "map.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _phq9_csv(tmp_path, columns: list[str]):
    path = tmp_path / "data.csv"
    pd.DataFrame({c: [1, 2, 0] for c in columns}).to_csv(path, index=False)
    return path


# ---- alias bombs and duplicate keys ------------------------------------------------------------


def test_alias_bomb_in_a_map_file_is_refused_at_once(tmp_path):
    path = _write(tmp_path, billion_laughs())
    start = time.perf_counter()
    with pytest.raises(UsageError, match=r"map.yaml:\d+: aliases expand this file"):
        load_mapping(path)
    assert time.perf_counter() - start < 0.5


def test_shared_recodes_through_anchors_still_work():
    mapping = load_mapping(ROOT / "sample_data" / "qualtrics_map.yaml")
    assert len(mapping.recodes) == 7
    assert mapping.recodes["GAD7_7"] == {1: 0.0, 2: 1.0, 3: 2.0, 4: 3.0}


def test_repeated_column_in_a_map_file_names_both_lines(tmp_path):
    path = _write(tmp_path, "Q1: phq9_1\nQ2: phq9_2\nQ1: phq9_3\n")
    with pytest.raises(UsageError, match=r"map.yaml:3: duplicate key 'Q1' \(lines 1 and 3\)"):
        load_mapping(path)


def test_repeated_recode_value_is_refused(tmp_path):
    path = _write(tmp_path, "Q1: {item: phq9_1, recode: {1: 0, 2: 1, 1: 2}}\n")
    with pytest.raises(UsageError, match="duplicate key '1'"):
        load_mapping(path)


def test_columns_that_are_equal_as_text_are_refused():
    with pytest.raises(UsageError, match="entries 1 and '1' both name column '1'"):
        parse_mapping({1: "phq9_1", "1": "phq9_2"}, "map.yaml")


def test_hostile_map_file_is_one_clear_error(tmp_path):
    folder = tmp_path / "m.yaml"
    folder.mkdir()
    with pytest.raises(UsageError, match="is a folder"):
        load_mapping(folder)
    with pytest.raises(UsageError, match="a number with 500 characters"):
        load_mapping(_write(tmp_path, "Q1: {recode: {1: " + "9" * 500 + "}}\n"))


# ---- two columns for one item -------------------------------------------------------------------


def test_two_columns_mapped_to_one_item_are_refused(tmp_path):
    path = _write(tmp_path, "Q1: phq9_1\nQ2: phq9_2\nQ1b: {item: phq9_1}\n")
    with pytest.raises(UsageError) as exc:
        load_mapping(path)
    message = str(exc.value)
    assert "'Q1'" in message and "'Q1b'" in message and "phq9_1" in message
    assert "map.yaml:3" in message


# ---- an item that no instrument has ------------------------------------------------------------


def test_unknown_item_is_an_error_with_a_suggestion():
    phq9 = load("phq-9")
    with pytest.raises(UsageError) as exc:
        check_mapped_items({"Q9": "phq9_09"}, [phq9], source="map.yaml")
    message = str(exc.value)
    assert "'Q9'" in message and "phq9_09" in message and "phq-9" in message
    assert "did you mean phq9_9?" in message


def test_item_of_another_listed_instrument_is_fine():
    check_mapped_items({"A": "gad7_1", "B": "phq9_1"}, [load("phq-9"), load("gad-7")])


def test_column_map_knows_its_lines(tmp_path):
    mapping = load_mapping(_write(tmp_path, "Q1: phq9_1\n\nQ9: phq9_09\n"))
    with pytest.raises(UsageError, match=r"map.yaml:3: entry 'Q9'.*did you mean phq9_9\?"):
        mapping.check_against([load("phq-9")])


def test_score_with_a_misspelt_item_in_the_map_stops_with_exit_2(tmp_path):
    columns = [f"phq9_{i}" for i in range(1, 9)] + ["Q9"]
    data = _phq9_csv(tmp_path, columns)
    path = _write(tmp_path, "Q9: phq9_09\n")
    result = CliRunner().invoke(
        app, ["score", str(data), "-i", "phq-9", "--map", str(path), "-o", str(tmp_path / "o.csv")]
    )
    assert result.exit_code == 2, result.output
    assert "did you mean phq9_9?" in " ".join(result.output.split())
    assert not (tmp_path / "o.csv").exists()


def test_score_api_refuses_a_misspelt_item_too():
    from psyscore.batch import score_table

    data = pd.DataFrame({**{f"phq9_{i}": [1] for i in range(1, 9)}, "Q9": [1]})
    with pytest.raises(UsageError, match="did you mean phq9_9"):
        score_table(data, [load("phq-9")], mapping={"Q9": "phq9_09"})
