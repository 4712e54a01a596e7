"""The fast CSV/TSV reader (pyarrow) gives exactly what the pandas reader gives (issue #14).

The fast path reads UTF-8 files whose rows all have the header's number of fields; every other
file (another encoding, short or long rows, a trailing delimiter, a line of blanks) goes to the
pandas reader. Either way the Table must be the same, cell for cell, dtype for dtype, with the
same row numbers, notes, warnings and labels, or the same error.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from psyscore.errors import DataError
from psyscore.io import chunks, text


@contextlib.contextmanager
def pandas_only():
    """The reader as it was: pandas' parser for every file."""
    with mock.patch.object(text, "_arrow_cells", lambda *args: None):
        yield


def outcome(path: Path):
    """The Table read, or the DataError message."""
    try:
        return text.read(path)
    except DataError as exc:
        return str(exc)


def assert_same(fast, old) -> None:
    if isinstance(old, str) or isinstance(fast, str):
        assert fast == old
        return
    pd.testing.assert_frame_equal(fast.data, old.data, check_dtype=True, check_exact=True)
    assert list(fast.data.columns) == list(old.data.columns)
    assert [str(t) for t in fast.data.dtypes] == [str(t) for t in old.data.dtypes]
    assert fast.row_numbers.dtype == old.row_numbers.dtype
    np.testing.assert_array_equal(fast.row_numbers, old.row_numbers)
    assert fast.notes == old.notes
    assert fast.warnings == old.warnings
    assert fast.labels == old.labels


def both(path: Path):
    fast = outcome(path)
    with pandas_only():
        old = outcome(path)
    assert_same(fast, old)
    return fast


def chunked(path: Path, chunk_rows: int):
    """(the chunks' rows as one Table, the ChunkedTable) read in chunks, or the DataError."""
    kinds = None
    for _ in range(2):
        try:
            source = chunks.read_chunks(path, chunk_rows, kinds)
            parts = [c for c in source.chunks]
        except chunks.KindsChanged as changed:
            kinds = changed.kinds
            continue
        except DataError as exc:
            return str(exc)
        data = pd.concat([c.data for c in parts])
        rows = np.array([source.file_row(r) for r in range(1, len(data) + 1)], dtype=np.int64)
        meta = source.meta
        table = text.Table(data=data, labels=meta.labels, notes=meta.notes, row_numbers=rows)
        table.warnings.extend(meta.warnings)
        return table
    raise AssertionError("the kinds changed twice")


def assert_same_chunks(path: Path, whole, chunk_rows: int) -> None:
    """Chunks hold the whole-file reader's rows, row numbers included (blank-line warnings
    aside: the chunked reader has no place for that rare one). The chunked reader keeps pandas'
    parser (see io/chunks.py), so this checks the fast whole-file reader against it too."""
    fast = chunked(path, chunk_rows)
    if isinstance(whole, str) or isinstance(fast, str):
        assert fast == whole
        return
    whole = text.Table(
        data=whole.data,
        labels=whole.labels,
        notes=whole.notes,
        row_numbers=whole.row_numbers,
        warnings=[w for w in whole.warnings if "blank lines" not in w],
    )
    if any("blank lines" in w for w in text.read(path).warnings):
        fast.row_numbers = whole.row_numbers  # rows counted without them: told in memory only
    assert_same(fast, whole)


# ---- generated files ----------------------------------------------------------------------

CELLS = st.one_of(
    st.sampled_from(
        ["", "", "1", "2", "10", "-3", "0", "007", "-0", "1.50", "2.5", "0.1", "-7.25", "1e3"]
    ),
    st.sampled_from(["NA", "null", "None", "nan", " 3", "3 ", "é", "日本", "a,b", 'say "hi"']),
    st.sampled_from(["line\nbreak", "cr\r\nlf", "\n\n", "  ", "x\ty", '"', "{}", "\x00x", "\x0b"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=6),
)
NAMES = ["id", "q1", "q2", "Score", "é", "a b", "x,y", "", "column_2"]


def quote(cell: str, sep: str, always: bool) -> str:
    if always or any(c in cell for c in (sep, '"', "\n", "\r")):
        return '"' + cell.replace('"', '""') + '"'
    return cell


@st.composite
def csv_files(draw):
    sep = draw(st.sampled_from([",", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\n", "\r\n", "\r"]))
    always = draw(st.booleans())
    width = draw(st.integers(1, 4))
    header = draw(st.lists(st.sampled_from(NAMES), min_size=width, max_size=width))
    if draw(st.integers(0, 5)) == 0:  # usually unique names; sometimes a repeated one
        header = [f"{n}{j}" if n else n for j, n in enumerate(header)]
    rows: list[list[str]] = []
    if draw(st.integers(0, 3)) == 0:  # Qualtrics: question text and ImportId rows
        rows.append([f"Question {j}?" for j in range(width)])
        rows.append(['{"ImportId":"QID' + str(j) + '"}' for j in range(width)])
    for _ in range(draw(st.integers(0, 7))):
        length = draw(st.sampled_from([width] * 6 + [width + 1, width - 1, width + 2]))
        row = draw(st.lists(CELLS, min_size=max(length, 0), max_size=max(length, 0)))
        if length == width + 1 and draw(st.booleans()):
            row[-1] = ""  # a trailing delimiter
        rows.append(row)
    lines = [sep.join(quote(c, sep, always) for c in header)]
    for row in rows:
        if draw(st.integers(0, 6)) == 0:
            lines.append(draw(st.sampled_from(["", "", "  ", "\t"])))  # a blank line
        lines.append(sep.join(quote(c, sep, always) for c in row))
    body = newline.join(lines) + draw(st.sampled_from(["", newline, newline * 2]))
    bom = "\ufeff" if draw(st.integers(0, 4)) == 0 else ""
    encoding = draw(st.sampled_from(["utf-8"] * 6 + ["utf-16", "cp1252"]))
    if encoding == "cp1252":
        try:
            body.encode("cp1252")
        except UnicodeEncodeError:
            encoding = "utf-8"
    data = (bom + body).encode("utf-8") if encoding == "utf-8" else body.encode(encoding)
    return (".tsv" if sep == "\t" else ".csv"), data


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(csv_files(), st.integers(1, 4))
def test_fast_reader_gives_the_pandas_readers_table(file, chunk_rows):
    suffix, data = file
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"data{suffix}"
        path.write_bytes(data)
        whole = both(path)
        assert_same_chunks(path, whole, chunk_rows)


# ---- the fast path is taken where it should be ------------------------------------------------


def test_plain_utf8_file_takes_the_fast_path(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('id,q1,q2,note\nR1,1,2.5,"a, b"\nR2,,1.5,NA\nR3,3,0.1,"x\ny"\n')
    assert text._arrow_cells(path, ",", "utf-8-sig", 4) is not None
    table = both(path)
    assert [str(t) for t in table.data.dtypes] == ["string", "Int64", "Float64", "string"]
    assert table.data["note"].tolist() == ["a, b", "NA", "x\ny"]
    assert table.data["q1"].isna().tolist() == [False, True, False]


@pytest.mark.parametrize(
    "content",
    [
        "a,b\n1,2,\n3,4,\n",  # trailing delimiter
        "a,b\n1\n3,4\n",  # a short row
        "a,b\n1,2,3\n",  # a field too many
        "a,b\n1,2,3,4\n",  # two too many
        "a,b\n1,2\n   \n3,4\n",  # a line of blanks
    ],
)
def test_rows_with_other_field_counts_go_to_pandas(tmp_path, content):
    path = tmp_path / "d.csv"
    path.write_text(content)
    assert text._arrow_cells(path, ",", "utf-8-sig", 2) is None
    both(path)


def test_other_encodings_go_to_pandas(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes("name,q1\nZoë,1\n".encode("cp1252"))
    assert text._arrow_cells(path, ",", "cp1252", 2) is None
    assert both(path).data["name"].tolist() == ["Zoë"]


# ---- blank lines: the row numbers count them ------------------------------------------------


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize(
    ("content", "rows"),
    [
        ("a,b\n1,2\n\n3,4\n", [2, 4]),
        ("a,b\r\n1,2\r\n\r\n\r\n3,4\r\n", [2, 5]),
        ("a,b\n1,2\n  \n3,4\n", [2, 4]),  # a line of blanks: pandas skips it too
        ("a,b\n\n1,2\n3,4\n\n\n", [3, 4]),  # blank lines at the end change nothing
        ('a,b\n"x\n\ny",2\n3,4\n', [2, 3]),  # a blank line inside a quoted cell is no row
        ('a,b\n"x\n\ny",2\n\n3,4\n', [2, 4]),
        ("a,b\n1,2\r0,0\n\n3,4\n", [2, 3, 5]),  # a lone CR ends a row: line breaks miscount
    ],
)
def test_row_numbers_count_blank_lines(tmp_path, content, rows, fast):
    path = tmp_path / "d.csv"
    path.write_text(content, newline="")
    with contextlib.nullcontext() if fast else pandas_only():
        table = text.read(path)
    assert table.row_numbers.tolist() == rows
    assert str(table.data["a"].tolist()[-1]) == "3"


def test_row_numbers_count_blank_lines_in_a_qualtrics_export(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(
        'ResponseId,Q1\nResponse ID,How?\n"{""ImportId"":""_recordId""}","{""ImportId"":""QID1""}"\n'
        "\nR_1,1\n\nR_2,2\n"
    )
    table = both(path)
    assert table.row_numbers.tolist() == [5, 7]


def test_a_field_too_many_after_a_blank_line_names_its_row(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b\n1,2\n\n3,4,5\n")
    with pytest.raises(DataError, match="line 4 has more fields than the header"):
        text.read(path)


def test_trailing_delimiter_file_rows(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b\n1,2,\n\n3,4,\n")
    table = both(path)
    assert table.row_numbers.tolist() == [2, 4]
    assert any("trailing delimiter" in n for n in table.notes)


def test_chunks_count_blank_lines(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("id,q1\nR1,1\n\nR2,2\nR3,x\n\n\nR4,4\n")
    table = chunked(path, 2)
    assert table.row_numbers.tolist() == [2, 4, 5, 8]
    assert table.data["q1"].tolist() == ["1", "2", "x", "4"]  # text in every chunk


@pytest.mark.parametrize("chunk_rows", [None, "2"])
def test_problems_name_the_file_row_after_blank_lines(tmp_path, chunk_rows):
    """The problem record points at the row a spreadsheet shows, in memory and in chunks."""
    import json

    from typer.testing import CliRunner

    from psyscore.cli import app

    from .conftest import DATA

    path = tmp_path / "d.csv"
    path.write_text(
        "ResponseId,toy_1,toy_2,toy_3,toy_4\nr1,1,2,3,4\n\nr2,2,2,2,2\n\n\nr3,1,33,1,1\nr4,1,1,1,1\n"
    )
    args = ["score", str(path), "-i", str(DATA / "toy.yaml"), "-o", str(tmp_path / "o.csv")]
    args += ["--json"] + (["--chunk-rows", chunk_rows] if chunk_rows else [])
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    problem = next(p for p in json.loads(result.stdout)["problems"] if p["kind"] == "out_of_range")
    assert (problem["row"], problem["file_row"]) == (3, 7)
