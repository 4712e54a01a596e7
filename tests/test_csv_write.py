"""The column-wise CSV/TSV writer writes exactly the bytes `DataFrame.to_csv` writes (issue #14).

Every comparison also checks that the column-wise path really ran (`write_csv` returns True), so a
frame handed on to `to_csv` cannot pass a test by accident.
"""

from __future__ import annotations

import csv
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from psyscore.io import csv_write, text

# a warning inside the column-wise path would send the frame to to_csv: make it fail the test
pytestmark = pytest.mark.filterwarnings("error")

SEPARATORS = [",", "\t"]


def _cr_as_lf(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with every \r in its text (cells and labels) written \n.

    psyscore quotes a cell holding a lone \r, which the csv module of Python 3.11 does not (and
    every CSV reader then ends the row there). With \r as \n, to_csv quotes exactly the cells
    psyscore quotes, so its bytes with \n for \r are the oracle."""
    out = frame.copy()
    out.columns = [c.replace("\r", "\n") if isinstance(c, str) else c for c in frame.columns]
    for j in range(frame.shape[1]):
        column = frame.iloc[:, j]
        if column.dtype == object or isinstance(column.dtype, pd.StringDtype):
            out.isetitem(
                j, column.map(lambda v: v.replace("\r", "\n") if isinstance(v, str) else v)
            )
    return out


def pandas_bytes(tmp_path, frames, sep, header=True):
    """What to_csv writes for `frames` (the first written, the rest appended without header),
    \r in text read as \n (see `_cr_as_lf`)."""
    path = tmp_path / "pandas.csv"
    for k, frame in enumerate(frames):
        _cr_as_lf(frame).to_csv(
            path,
            index=False,
            header=header and k == 0,
            mode="a" if k else "w",
            sep=sep,
            encoding="utf-8",
            quoting=csv.QUOTE_MINIMAL,
        )
    return path.read_bytes()


def our_bytes(tmp_path, frames, sep, header=True, expect_fast=True):
    path = tmp_path / "ours.csv"
    for k, frame in enumerate(frames):
        fast = csv_write.write_csv(frame, path, sep=sep, header=header and k == 0, append=bool(k))
        assert fast is expect_fast, f"column-wise path {'not ' if expect_fast else ''}taken"
    return path.read_bytes()


def assert_same(tmp_path, frames, sep=",", header=True, expect_fast=True):
    if isinstance(frames, pd.DataFrame):
        frames = [frames]
    expected = pandas_bytes(tmp_path, frames, sep, header)
    ours = our_bytes(tmp_path, frames, sep, header, expect_fast)
    assert ours.replace(b"\r", b"\n") == expected
    assert ours.count(b"\r") == sum(  # each \r of the text, and no other
        "".join(map(str, f.columns)).count("\r") * (header and k == 0)
        + sum(v.count("\r") for c in range(f.shape[1]) for v in f.iloc[:, c] if isinstance(v, str))
        for k, f in enumerate(frames)
    )


# --- generated frames ------------------------------------------------------------------------

INTERESTING_FLOATS = [
    0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 2 / 3, 1e-4, 9.999999999999999e-05, 1e-5, 1.5e-5, 1e-6,
    9.99e-7, 1e-7, 1.5e-7, 1e-10, 5e-324, 2.2250738585072014e-308, 2.225073858507201e-308,
    1e10, 9999999999.5, 10000000000.5, 123456789012345.6, 999999999999999.9, 1e15, 1e16,
    9999999999999998.0, 1.2345e16, 1e17, 1e22, 1e100, 1.7976931348623157e308, 2.0**53,
    2.0**53 + 2, -(2.0**63), 0.30000000000000004, 1e-300, math.inf, -math.inf, math.nan,
]  # fmt: skip

any_float = st.one_of(
    st.floats(),  # NaN, infinities, subnormals, extremes
    st.sampled_from(INTERESTING_FLOATS),
    st.integers(-(2**62), 2**62).map(float),
    st.decimals(
        allow_nan=False, allow_infinity=False, places=3, max_value=10**6, min_value=-(10**6)
    ).map(float),
    st.floats(min_value=-1e-3, max_value=1e-3),
    st.floats(min_value=1e9, max_value=1e17),
)
SPECIAL_TEXT = ["", " ", ",", '"', '""', "\r", "\n", "\r\n", "\t", "NA", "None", "nan", "a,b",
                'say "hi"', " lead", "trail ", "é€😀", "\x00", "\u2028", "\x85", "\x0b", ";"]  # fmt: skip
any_text = st.one_of(
    st.sampled_from(SPECIAL_TEXT),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=8),
    st.text(',"\r\n\t ;aé€', max_size=6),
)
int64s = st.integers(-(2**63), 2**63 - 1)


def masked(strategy):
    return st.one_of(strategy, st.none())


def column(kind, n):
    """A strategy for one column of length n of the given kind."""
    values = {
        "float64": st.lists(any_float, min_size=n, max_size=n).map(lambda v: np.array(v, dtype="float64")),
        "Float64": st.lists(masked(any_float), min_size=n, max_size=n).map(
            lambda v: pd.array([x if x is None else float(x) for x in v], dtype="Float64")
        ),
        "Float64-nan": st.lists(st.tuples(any_float, st.booleans()), min_size=n, max_size=n).map(
            # NaN that is a value, not missing: pandas writes it `nan`
            lambda v: pd.arrays.FloatingArray(
                np.array([x for x, _ in v], dtype="float64"), np.array([m for _, m in v], dtype=bool)
            )
        ),
        "Int64": st.lists(masked(int64s), min_size=n, max_size=n).map(lambda v: pd.array(v, dtype="Int64")),
        "Int8": st.lists(masked(st.integers(-128, 127)), min_size=n, max_size=n).map(lambda v: pd.array(v, dtype="Int8")),
        "UInt64": st.lists(masked(st.integers(0, 2**64 - 1)), min_size=n, max_size=n).map(lambda v: pd.array(v, dtype="UInt64")),
        "int64": st.lists(int64s, min_size=n, max_size=n).map(lambda v: np.array(v, dtype="int64")),
        "int32": st.lists(st.integers(-(2**31), 2**31 - 1), min_size=n, max_size=n).map(lambda v: np.array(v, dtype="int32")),
        "int8": st.lists(st.integers(-128, 127), min_size=n, max_size=n).map(lambda v: np.array(v, dtype="int8")),
        "uint64": st.lists(st.integers(0, 2**64 - 1), min_size=n, max_size=n).map(lambda v: np.array(v, dtype="uint64")),
        "bool": st.lists(st.booleans(), min_size=n, max_size=n).map(lambda v: np.array(v, dtype=bool)),
        "boolean": st.lists(masked(st.booleans()), min_size=n, max_size=n).map(lambda v: pd.array(v, dtype="boolean")),
        "float32": st.lists(st.floats(width=32), min_size=n, max_size=n).map(lambda v: np.array(v, dtype="float32")),
        "str": st.lists(masked(any_text), min_size=n, max_size=n).map(lambda v: pd.array(v, dtype="str")),
        "string[python]": st.lists(masked(any_text), min_size=n, max_size=n).map(
            lambda v: pd.array(v, dtype=pd.StringDtype("python"))
        ),
        "string[pyarrow]": st.lists(masked(any_text), min_size=n, max_size=n).map(
            lambda v: pd.array(v, dtype=pd.StringDtype("pyarrow"))
        ),
        "str[python]": st.lists(masked(any_text), min_size=n, max_size=n).map(
            lambda v: pd.array(v, dtype=pd.StringDtype("python", na_value=np.nan))
        ),
        "object": st.lists(st.one_of(any_text, st.sampled_from([None, np.nan, pd.NA])), min_size=n, max_size=n).map(
            lambda v: pd.array(np.array(v, dtype=object), dtype=object)
        ),
    }  # fmt: skip
    return values[kind]


KINDS = ["float64", "Float64", "Float64-nan", "Int64", "Int8", "UInt64", "int64", "int32", "int8",
         "uint64", "bool", "boolean", "float32", "str", "string[python]", "string[pyarrow]",
         "str[python]", "object"]  # fmt: skip
header_names = st.one_of(
    st.sampled_from(["id", "", "a,b", 'q"uote', "line\nbreak", "tab\there", "x"]), any_text
)


@st.composite
def frames(draw, rows=None):
    n = draw(st.integers(0, 12)) if rows is None else rows
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=5))
    columns = [draw(column(kind, n)) for kind in kinds]
    names = draw(st.lists(header_names, min_size=len(kinds), max_size=len(kinds)))
    frame = pd.DataFrame(dict(enumerate(columns)))
    frame.columns = names  # duplicate names allowed, as in to_csv
    return frame


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames(), more=st.lists(st.integers(0, 5), max_size=2), sep=st.sampled_from(SEPARATORS),
       header=st.booleans(), data=st.data())  # fmt: skip
def test_generated_frames_match_to_csv(tmp_path_factory, frame, more, sep, header, data):
    """Mixed dtypes, both separators, header on or off, and further chunks appended (the
    ChunkWriter's way: same columns, no header)."""
    appended = []
    for n in more:
        extra = data.draw(frames(rows=n))
        if extra.shape[1] == frame.shape[1]:
            extra.columns = frame.columns
            appended.append(extra)
    assert_same(tmp_path_factory.mktemp("w"), [frame, *appended], sep, header)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(any_float, min_size=1, max_size=40))
def test_floats_match_numpy_str(values):
    array = np.array(values, dtype="float64")
    cells = csv_write._float64_cells(array, missing=None).to_pylist()
    assert cells == list(array.astype(str))


def test_many_random_doubles_match_numpy_str():
    """Random bit patterns (every exponent) and short decimals (survey scores): Arrow's digits are
    only used where they are numpy's; this checks 60,000 values against numpy itself."""
    rng = np.random.default_rng(14)
    bits = rng.integers(0, 2**64, 20_000, dtype=np.uint64).view(np.float64)
    decimals = rng.integers(-(10**7), 10**7, 20_000) / 10.0 ** rng.integers(0, 8, 20_000)
    ratios = rng.integers(1, 200, 20_000) / rng.integers(1, 31, 20_000)  # means of items
    for values in (bits, decimals, ratios):
        assert csv_write._float64_cells(values, missing=None).to_pylist() == list(
            values.astype(str)
        )


# --- explicit cases --------------------------------------------------------------------------


@pytest.mark.parametrize("sep", SEPARATORS)
def test_quoting_of_each_special_character(tmp_path, sep):
    cells = [
        "plain",
        "a,b",
        "a\tb",
        'a"b',
        "a\rb",
        "a\nb",
        "a\r\nb",
        "",
        " x ",
        '"',
        "\u2028",
        "\x85",
    ]
    frame = pd.DataFrame({"text": pd.array(cells, dtype="str"), "n": range(len(cells))})
    assert_same(tmp_path, frame, sep)


def test_quoting_rules_found_from_the_csv_module():
    """The delimiter, the quote and \\n are quoted; this Python's csv module decides about \\r."""
    rules = csv_write._quoting_rules(",", "\n")
    assert rules is not None
    assert {",", '"', "\n"} <= set(rules)
    assert "\t" not in rules and " " not in rules
    assert "\t" in csv_write._quoting_rules("\t", "\n")


@settings(max_examples=60, deadline=None)
@given(
    cells=st.lists(masked(any_text), max_size=20),
    specials=st.sampled_from([',"\n', '\t"\n\r', ',"\u2028']),
)
def test_cells_needing_quotes(cells, specials):
    """Searched in the UTF-8 bytes for ASCII specials; by a regular expression otherwise."""
    import pyarrow as pa

    column = pa.array(cells, pa.large_string())[1:] if cells else pa.array([], pa.large_string())
    needs = csv_write._needs_quotes(column, specials)
    expected = [c is not None and any(ch in c for ch in specials) for c in cells[1:]]
    assert (needs is None and not any(expected)) or list(needs) == expected


@pytest.mark.parametrize("dtype", ["str", "object", "Int64", "Float64", "boolean", "float64"])
def test_one_column_frame_writes_an_empty_cell_as_two_quotes(tmp_path, dtype):
    """csv writes a line holding only an empty field as `""` (else it would be a blank line)."""
    values = [None, "x", ""] if dtype in {"str", "object"} else [None, 1, None]
    frame = pd.DataFrame(
        {"only": pd.array(values, dtype=dtype if dtype != "float64" else "Float64")}
    )
    if dtype == "float64":
        frame = frame.astype("float64")
    assert b'""' in pandas_bytes(tmp_path, [frame], ",")
    assert_same(tmp_path, frame)


def test_header_names_that_need_quotes(tmp_path):
    frame = pd.DataFrame([[1, 2, 3, 4, 5]], columns=["a,b", 'say "x"', "two\nlines", "", "é"])
    assert_same(tmp_path, frame)
    assert_same(tmp_path, frame, "\t")
    assert_same(tmp_path, pd.DataFrame({"": pd.array(["a"], dtype="str")}))  # `""` header alone


def test_numbers_as_numpy_writes_them(tmp_path):
    frame = pd.DataFrame(
        {
            "f": [57.0, 0.1, 1e-05, 1e16, -0.0, math.inf, -math.inf, math.nan, 2.5, 1e-300],
            "F": pd.array(
                [57.0, 0.1, None, 1e16, -0.0, 3.0, None, 1.0, 2.5, 1e-7], dtype="Float64"
            ),
            "I": pd.array([1, None, -3, 2**62, 0, 1, 2, 3, 4, None], dtype="Int64"),
            "i": np.arange(-5, 5, dtype="int64") * 10**17,
            "b": [True, False] * 5,
            "B": pd.array([True, None] * 5, dtype="boolean"),
        }
    )
    assert_same(tmp_path, frame)
    written = (tmp_path / "ours.csv").read_text().splitlines()
    assert written[1] == "57.0,57.0,1,-500000000000000000,True,True"
    assert written[3] == "1e-05,,-3,-300000000000000000,True,True"
    assert written[5] == "-0.0,-0.0,0,-100000000000000000,True,True"
    assert written[8] == ",1.0,3,200000000000000000,False,"


def test_columns_of_few_values(tmp_path):
    """Integer, bool and whole-number float columns spanning few values are written through a
    dictionary of their texts (and neighbouring ones through one of their combinations)."""
    top, bottom = 2**63 - 1, -(2**63)
    frame = pd.DataFrame(
        {
            "int8": np.array([-128, 127, 0, -1], dtype="int8"),
            "uint8": np.array([0, 255, 7, 8], dtype="uint8"),
            "uint64": np.array([2**64 - 1, 2**64 - 256, 2**63, 2**64 - 2], dtype="uint64"),
            "top": pd.array([top, None, top - 255, top - 1], dtype="Int64"),
            "bottom": pd.array([bottom, bottom + 255, None, bottom + 1], dtype="Int64"),
            "whole": [1.0, 2.0, np.nan, 255.0],
            "zeros": [0.0, -0.0, 1.0, 2.0],
            "big": [2.0**53, 2.0**53 + 2, 2.0**53 + 4, np.nan],
            "F": pd.array([3.0, None, 4.0, 5.0], dtype="Float64"),
            **{f"flag{k}": pd.array([True, False, None, True], dtype="boolean") for k in range(12)},
            "n": np.array([1, 2, 3, 4]),
        }
    )
    assert_same(tmp_path, frame)
    assert_same(tmp_path, frame, "\t")


def test_psyscore_score_output_shape(tmp_path):
    """id text, Int64 items with missing answers, a float score, an int count, a text status."""
    frame = bench_frame(5_000, items=6, seed=3)
    assert_same(tmp_path, frame)
    assert_same(tmp_path, frame, "\t")


def test_many_blocks_and_appended_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_write, "CELLS_PER_BLOCK", 50)  # blocks of a few rows
    frame = bench_frame(1_000, items=4, seed=5)
    assert_same(tmp_path, [frame.iloc[:400], frame.iloc[400:401], frame.iloc[401:]])


def test_zero_rows_writes_the_header(tmp_path):
    frame = bench_frame(10, items=2, seed=1).iloc[:0]
    assert_same(tmp_path, frame)
    assert_same(tmp_path, frame, header=False)


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"when": pd.to_datetime(["2024-01-02", None]), "n": [1, 2]}),
        pd.DataFrame({"cat": pd.Categorical([1, None]), "n": [1, 2]}),  # number categories
        pd.DataFrame({"mixed": np.array(["a", 1], dtype=object), "n": [1, 2]}),
        pd.DataFrame({"raw": np.array([b"a", "b"], dtype=object), "n": [1, 2]}),
        pd.DataFrame({"f32": pd.array([0.1, None], dtype="Float32"), "n": [1, 2]}),
        pd.DataFrame({"arrow": pd.array([1, None], dtype="int64[pyarrow]"), "n": [1, 2]}),
        pd.DataFrame({"c": np.array([1 + 2j, 3j]), "n": [1, 2]}),
        pd.DataFrame({1: [1, 2], "n": [1, 2]}),  # a label that is not text
        pd.DataFrame(index=range(3)),  # no columns
    ],
    ids=[
        "datetime",
        "categorical-numbers",
        "mixed-object",
        "bytes",
        "Float32",
        "arrow",
        "complex",
        "int-label",
        "empty",
    ],
)
def test_what_it_cannot_render_goes_to_to_csv(tmp_path, frame):
    assert_same(tmp_path, frame, expect_fast=False)


def test_a_name_to_csv_compresses_by_goes_to_to_csv(tmp_path):
    frame = bench_frame(20, items=2)
    assert not csv_write.write_csv(frame, tmp_path / "x.csv.gz", sep=",")
    assert (tmp_path / "x.csv.gz").read_bytes()[:2] == b"\x1f\x8b"  # gzip, as to_csv writes


def test_a_later_block_it_cannot_render_starts_over_with_to_csv(tmp_path, monkeypatch):
    """An object column whose last rows hold a number: the rows already written are cut off
    again (appending keeps what was in the file before) and to_csv writes the frame."""
    monkeypatch.setattr(csv_write, "CELLS_PER_BLOCK", 4)
    first = pd.DataFrame({"t": pd.array(["x", "y"], dtype=object), "n": [1, 2]})
    values = np.array(["a", "b", "c", "d", "e", 7], dtype=object)
    later = pd.DataFrame({"t": values, "n": range(6)})
    monkeypatch.setattr(csv_write, "_object_column_may_be_text", lambda values: True)
    expected = pandas_bytes(tmp_path, [first, later], ",")
    path = tmp_path / "ours.csv"
    assert csv_write.write_csv(first, path, sep=",", header=True, append=False)
    assert not csv_write.write_csv(later, path, sep=",", header=False, append=True)
    assert path.read_bytes() == expected


def test_text_that_cannot_be_encoded_fails_as_to_csv_does(tmp_path):
    frame = pd.DataFrame({"t": pd.Series(["ok", "bad \ud800"], dtype=object)})
    with pytest.raises(UnicodeEncodeError):
        frame.to_csv(tmp_path / "p.csv", index=False, encoding="utf-8")
    with pytest.raises(UnicodeEncodeError):
        csv_write.write_csv(frame, tmp_path / "o.csv", sep=",", header=True, append=False)


def test_write_frame_uses_it(tmp_path):
    frame = bench_frame(100, items=3, seed=2)
    text.write_frame(frame, tmp_path / "a.tsv", ".tsv")
    text.write_frame(frame, tmp_path / "a.tsv", ".tsv", header=False, append=True)
    expected = frame.to_csv(sep="\t", index=False) + frame.to_csv(
        sep="\t", index=False, header=False
    )
    assert (tmp_path / "a.tsv").read_bytes() == expected.encode()


def bench_frame(n, items=30, seed=0):
    """Shaped like `psyscore score` output: id, Int64 items (2% missing), score, count, status."""
    rng = np.random.default_rng(seed)
    columns = {"id": pd.array([f"R{k:07d}" for k in range(n)], dtype="str")}
    for j in range(items):
        answers = pd.array(rng.integers(1, 6, n), dtype="Int64")
        answers[rng.random(n) < 0.02] = pd.NA
        columns[f"item_{j + 1}"] = answers
    score = rng.integers(items, 5 * items, n) / items
    score[rng.random(n) < 0.02] = np.nan
    columns["score"] = score
    columns["answered"] = rng.integers(0, items + 1, n)
    columns["status"] = pd.array(
        rng.choice(["ok", "too many missing", "invalid, see log", 'flag "x"'], n), dtype="str"
    )
    return pd.DataFrame(columns)


@pytest.mark.parametrize("with_date", [False, True], ids=["column-wise", "to_csv"])
def test_a_lone_carriage_return_in_text_comes_back_as_it_went_in(tmp_path, with_date):
    """A lone \\r ends a row for every CSV reader: the cell is quoted, or the text would come
    back cut in two (and a row more). The csv module of Python 3.11 does not quote it."""
    from psyscore.io import read_table
    from psyscore.io.text import write_frame

    data = pd.DataFrame({"id": ["a\rb", "c", "d\r"], "x": [1, 2, 3]})
    if with_date:  # a dtype the column-wise writer leaves to to_csv
        data["when"] = pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"])
    path = tmp_path / "out.csv"
    write_frame(data, path, ".csv")
    back = read_table(path).data
    assert back["id"].tolist() == ["a\rb", "c", "d\r"]
    assert back["x"].tolist() == [1, 2, 3]


@pytest.mark.parametrize("sep", SEPARATORS)
def test_categories_of_text_are_written_column_wise(tmp_path, sep):
    """The score status columns are categorical: they were sent to to_csv (the whole output)."""
    texts = ["scored", "prorated", "a,b", 'say "x"', "tab\there", "\u00e9", ""]
    codes = np.random.default_rng(3).integers(-1, len(texts), 500)
    cat = pd.Categorical.from_codes(codes, categories=texts)
    frame = pd.DataFrame({"n": np.arange(500), "status": cat, "last": cat})
    assert_same(tmp_path, frame, sep)
    assert_same(tmp_path, frame[["status"]], sep)  # one column: an empty cell is `""`
    str_cats = pd.Categorical.from_codes(codes, categories=pd.Index(texts, dtype="str"))
    assert_same(tmp_path, pd.DataFrame({"s": str_cats, "n": np.arange(500)}), sep)


def test_the_score_output_is_written_column_wise(tmp_path):
    """What `psyscore score` writes (text id, Int64 items, float score, count, status)."""
    import psyscore
    from psyscore.io.text import _codes_as_integers

    rows = ["id,gad7_1,gad7_2,gad7_3,gad7_4,gad7_5,gad7_6,gad7_7"]
    rng = np.random.default_rng(5)
    for r in range(200):
        rows.append(f"R{r}," + ",".join(str(v) if v < 4 else "" for v in rng.integers(0, 5, 7)))
    (tmp_path / "in.csv").write_text("\n".join(rows) + "\n")
    table = psyscore.read(tmp_path / "in.csv").score("gad-7").output_table()
    assert_same(tmp_path, _codes_as_integers(table))


def test_writing_reports_its_rows_block_by_block(tmp_path, monkeypatch):
    """The progress bar of `psyscore score` (in memory) counts the rows as they are written."""
    from psyscore.io import Table, write_table

    monkeypatch.setattr(csv_write, "CELLS_PER_BLOCK", 30)
    frame = bench_frame(95, items=2)
    block = 30 // frame.shape[1]
    done: list[int] = []
    write_table(Table(data=frame), tmp_path / "out.csv", progress=done.append)
    assert done == [block] * (95 // block) + ([95 % block] if 95 % block else [])
    assert (tmp_path / "out.csv").read_bytes() == pandas_bytes(tmp_path, [frame], ",")
    done.clear()
    write_table(Table(data=frame), tmp_path / "out.sav", progress=done.append)
    assert done == [] or sum(done) == 95  # other formats may report once, or not at all
