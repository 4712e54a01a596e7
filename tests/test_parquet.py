"""Parquet in and out: the same Table contract as the other formats, labels and notes kept."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from psyscore.cli import app
from psyscore.errors import DataError
from psyscore.io import Table, read_table, write_table

from .conftest import ROOT

runner = CliRunner()


def _table() -> Table:
    data = pd.DataFrame(
        {
            "rid": pd.array(["007", "NA", None], dtype="string"),
            "z_score": pd.array([1.5, None, -2.25], dtype="Float64"),
            "age": pd.array([31, None, 45], dtype="Int64"),
            "a_code": pd.array([1, 2, 3], dtype="Int64"),
        }
    )
    return Table(data=data, labels={"age": "Age in years"}, notes=["scored by psyscore"])


def test_round_trip_keeps_text_numbers_order_labels_and_notes(tmp_path):
    path = tmp_path / "x.parquet"
    write_table(_table(), path)
    back = read_table(path)
    assert list(back.data.columns) == ["rid", "z_score", "age", "a_code"]
    assert back.data["rid"].dtype == "string"
    assert back.data["rid"].tolist()[:2] == ["007", "NA"]
    assert back.data["rid"].isna().tolist() == [False, False, True]
    assert back.data["age"].dtype == "Int64"
    assert back.data["z_score"].dtype == "Float64"
    assert back.data["z_score"].isna().tolist() == [False, True, False]
    assert back.labels == {"age": "Age in years"}
    assert back.notes == ["scored by psyscore"]
    assert back.source == str(path)


def test_reads_a_plain_parquet_file_without_psyscore_metadata(tmp_path):
    path = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"q1": [1, 2], "name": ["a", "b"], "w": [0.5, 1.0]}), path)
    back = read_table(path)
    assert back.data["q1"].dtype == "Int64"
    assert back.data["name"].dtype == "string"
    assert back.data["w"].dtype == "Float64"
    assert back.labels == {} and back.notes == []


def test_large_integers_with_nulls_keep_every_digit(tmp_path):
    path = tmp_path / "ids.parquet"
    big = 2**53 + 1
    pq.write_table(pa.table({"id": pa.array([big, None], type=pa.int64())}), path)
    back = read_table(path).data["id"]
    assert back.dtype == "Int64"
    assert back[0] == big and back.isna().tolist() == [False, True]


def test_unsigned_integers_beyond_int64_and_decimals_are_refused_naming_the_column(tmp_path):
    import decimal

    path = tmp_path / "wide.parquet"
    pq.write_table(pa.table({"huge": pa.array([2**64 - 1], type=pa.uint64())}), path)
    with pytest.raises(DataError, match="huge"):
        read_table(path)
    pq.write_table(pa.table({"money": pa.array([decimal.Decimal("1.10")])}), path)
    with pytest.raises(DataError, match="money"):
        read_table(path)


def test_a_corrupt_file_is_a_data_error_naming_it(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1 not really parquet")
    with pytest.raises(DataError, match="bad.parquet"):
        read_table(path)


def test_a_failed_write_leaves_nothing(tmp_path):
    path = tmp_path / "x.parquet"
    table = Table(data=pd.DataFrame({"mixed": pd.Series([1, "a"], dtype=object)}))
    with pytest.raises(DataError, match="x.parquet"):
        write_table(table, path)
    assert list(tmp_path.iterdir()) == []


def test_score_parquet_to_parquet_end_to_end_matches_scoring_the_csv(tmp_path):
    csv_in = ROOT / "sample_data" / "intake_batch.csv"
    parquet_in = tmp_path / "in.parquet"
    write_table(read_table(csv_in), parquet_in)
    parquet_out, csv_out = tmp_path / "out.parquet", tmp_path / "ref.csv"
    result = runner.invoke(app, ["score", str(parquet_in), "-i", "phq-9", "-o", str(parquet_out)])
    assert result.exit_code in (0, 1), result.output
    reference = runner.invoke(app, ["score", str(csv_in), "-i", "phq-9", "-o", str(csv_out)])
    assert reference.exit_code == result.exit_code
    scored = read_table(parquet_out)
    assert any(c.startswith("phq") and c not in read_table(csv_in).data for c in scored.data)
    # the Parquet output, written as CSV, is byte for byte what scoring the CSV gave
    again = tmp_path / "again.csv"
    write_table(scored, again)
    assert again.read_bytes() == csv_out.read_bytes()
