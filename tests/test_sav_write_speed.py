""".sav writing through numpy (psyscore.io.sav_data): the same bytes pyreadstat writes.

pyreadstat still writes the dictionary (from a one-row frame); psyscore writes the rows. The
proof is byte equality with pyreadstat's own file for the same table (only the creation date
and time in the header may differ), with and without row compression, then the file read back
(data, dtypes, every metadata field) and opened by GNU PSPP (skipped without `pspp`).
"""

from __future__ import annotations

import math
import subprocess

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from psyscore.io import Table, read_table, sav_data, write_table

from .test_pspp_export import needs_pspp, run_pspp

CREATION_TIME = slice(92, 109)  # "dd Mon yy" and "hh:mm:ss" in the file header


def _pyreadstat_only(monkeypatch):
    """Make psyscore write the whole file through pyreadstat, as before sav_data existed."""
    monkeypatch.setattr(sav_data, "write", lambda *args, **kwargs: False)


def _both(table: Table, tmp_path, monkeypatch, name: str = "t") -> tuple[bytes, bytes]:
    """(file written by psyscore, file written by pyreadstat alone) for `table`."""
    fast, plain = tmp_path / f"{name}_fast.sav", tmp_path / f"{name}_plain.sav"
    write_table(table, fast)
    with monkeypatch.context() as m:
        _pyreadstat_only(m)
        write_table(table, plain)
    return _masked(fast.read_bytes()), _masked(plain.read_bytes())


def _masked(raw: bytes) -> bytes:
    return raw[: CREATION_TIME.start] + b"?" * 17 + raw[CREATION_TIME.stop :]


def _used_fast_path(monkeypatch) -> list[int]:
    """Row counts of the frames psyscore hands pyreadstat.write_sav."""
    seen: list[int] = []
    real = pyreadstat.write_sav

    def spy(frame, *args, **kwargs):
        seen.append(len(frame))
        return real(frame, *args, **kwargs)

    monkeypatch.setattr(pyreadstat, "write_sav", spy)
    return seen


def _survey(rows: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "rid": [f"R{i:05d}" for i in range(rows)],
            "site": rng.choice(["north", "süd", "", "a much longer site name " * 3], rows),
            "age": rng.integers(18, 90, rows).astype("float64"),
            "score": rng.normal(10, 5, rows),
            "band": pd.Categorical(rng.choice(["low", "high"], rows), ["low", "high"]),
            "flag": rng.integers(0, 2, rows).astype(bool),
            "n": pd.array(rng.integers(-200, 300, rows), dtype="Int64"),
            "when": pd.Timestamp("2024-03-01 08:30:00.25")
            + pd.to_timedelta(rng.integers(0, 10**6, rows), unit="s"),
        }
    )
    frame.loc[frame.index % 7 == 0, "score"] = np.nan
    frame.loc[frame.index % 11 == 0, "when"] = pd.NaT
    frame.loc[frame.index % 13 == 0, "n"] = pd.NA
    return frame


def _full_metadata(frame: pd.DataFrame, compression: str = "") -> Table:
    return Table(
        data=frame,
        labels={"age": "Age in years", "score": "é" * 200, "site": "Where"},  # 400 bytes: cut
        value_labels={
            "age": {18.0: "youngest", 99.0: "x" * 150},
            "site": {"north": "N", "z" * 40: "?"},
        },
        missing_ranges={"age": [{"lo": 97.0, "hi": 99.0}], "site": ["", "zz"]},
        measure={"age": "scale", "site": "nominal"},
        formats={"score": "F8.2", "site": "A200"},
        display_width={"age": 6},
        notes=["a note", "n" * 200],
        file_label="survey wave 1",
        compression=compression,
    )


@pytest.mark.parametrize("compression", ["", "rows"])
def test_a_survey_with_every_metadata_field_gives_pyreadstats_bytes(
    compression, tmp_path, monkeypatch
):
    table = _full_metadata(_survey(500), compression)
    seen = _used_fast_path(monkeypatch)
    fast, plain = _both(table, tmp_path, monkeypatch)
    assert seen[0] == 1  # psyscore's write: the dictionary from one row, the rows by numpy
    assert fast == plain


@pytest.mark.parametrize("compression", ["", "rows"])
def test_the_rows_split_over_many_chunks_give_the_same_bytes(compression, tmp_path, monkeypatch):
    monkeypatch.setattr(sav_data, "_CHUNK_BYTES", 1000)  # about 10 rows a chunk
    fast, plain = _both(_full_metadata(_survey(257), compression), tmp_path, monkeypatch)
    assert fast == plain


@pytest.mark.parametrize("compression", ["", "rows"])
def test_a_written_survey_reads_back_with_all_its_metadata(compression, tmp_path, monkeypatch):
    frame = _survey(300)
    out, plain = tmp_path / "fast.sav", tmp_path / "plain.sav"
    warnings = write_table(_full_metadata(frame, compression), out)
    with monkeypatch.context() as m:
        _pyreadstat_only(m)
        plain_warnings = write_table(_full_metadata(frame, compression), plain)
    assert [w.replace("fast.sav", "x") for w in warnings] == [
        w.replace("plain.sav", "x") for w in plain_warnings
    ]
    data, meta = pyreadstat.read_sav(str(out), user_missing=True)
    ref_data, ref_meta = pyreadstat.read_sav(str(plain), user_missing=True)
    pd.testing.assert_frame_equal(data, ref_data)
    assert vars(meta).keys() == vars(ref_meta).keys()
    for key, value in vars(meta).items():
        if key not in {"creation_time", "modification_time"}:
            assert value == ref_meta.__dict__[key], key
    assert meta.number_rows == 300 and meta.file_label == "survey wave 1"
    assert data["rid"].tolist() == frame["rid"].tolist()
    np.testing.assert_array_equal(data["score"].to_numpy(), frame["score"].to_numpy())
    back = read_table(out)
    assert back.compression == (compression or "none")
    assert back.value_labels["band"] == {1.0: "low", 2.0: "high"}


FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-120, 170).map(float),  # around the compressed codes' range -99..151
    st.sampled_from(
        [-0.0, -99.0, -100.0, 151.0, 152.0, 0.5, -99.5, 151.5, 1e300, -1.7976931348623157e308]
    ),
)
NO_NUL = st.characters(blacklist_characters="\x00")  # a .sav cannot hold it: refused
TEXTS = st.one_of(
    st.text(NO_NUL, max_size=12),
    st.text(st.characters(codec="utf-8", blacklist_characters="\x00"), max_size=40),
    st.sampled_from(["", " ", "        ", "a" * 8, "é" * 130, "x" * 300]),
    st.integers(250, 600).map(lambda n: "ü" * (n // 2) + "y" * (n % 2)),  # over 255 bytes
)


@st.composite
def tables(draw):
    rows = draw(st.integers(1, 12))
    columns = {}
    for j in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["number", "text", "datetime"]))
        if kind == "number":
            columns[f"n{j}"] = np.array(draw(st.lists(FLOATS, min_size=rows, max_size=rows)))
        elif kind == "text":
            columns[f"t{j}"] = pd.Series(
                draw(st.lists(TEXTS, min_size=rows, max_size=rows)), dtype=object
            )
        else:
            stamps = draw(
                st.lists(st.integers(-(2**60), 2**60) | st.none(), min_size=rows, max_size=rows)
            )
            unit = draw(st.sampled_from(["ns", "us", "ms"]))
            values = [np.datetime64("NaT") if s is None else np.datetime64(s, unit) for s in stamps]
            columns[f"d{j}"] = np.array(values, dtype=f"datetime64[{unit}]")
    frame = pd.DataFrame(columns)
    text_columns = [c for c in frame.columns if c.startswith("t")]
    value_labels = {}
    for name in text_columns:
        if draw(st.booleans()):  # a label key longer than any text widens the variable
            value_labels[name] = {draw(st.text("abc", min_size=1, max_size=30)): "label"}
    return Table(
        data=frame, value_labels=value_labels, compression=draw(st.sampled_from(["", "rows"]))
    )


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(table=tables())
def test_any_numbers_texts_and_datetimes_give_pyreadstats_bytes(table, tmp_path, monkeypatch):
    seen = _used_fast_path(monkeypatch)
    try:
        fast, plain = _both(table, tmp_path, monkeypatch)
    except Exception as exc:  # what pyreadstat refuses must be refused both ways
        with monkeypatch.context() as m:
            _pyreadstat_only(m)
            with pytest.raises(type(exc)):
                write_table(table, tmp_path / "plain_only.sav")
        return
    finally:
        monkeypatch.undo()
    assert seen[0] == 1  # the rows were psyscore's
    assert fast == plain


def test_a_number_column_reads_back_bit_for_bit(tmp_path):
    values = np.array([0.1, -0.0, 1e-300, 2.5, np.inf, -np.inf, np.nan, 151.0, -99.0, 1e17])
    out = tmp_path / "n.sav"
    write_table(Table(data=pd.DataFrame({"x": values}), compression="rows"), out)
    back = pyreadstat.read_sav(str(out))[0]["x"].to_numpy()
    assert np.array_equal(back, values, equal_nan=True)  # -0.0 == 0.0 (readstat codes it as 0)
    assert math.copysign(1, back[1]) == 1


def test_columns_numpy_does_not_write_fall_back_to_pyreadstat(tmp_path, monkeypatch):
    import datetime as dt

    frame = pd.DataFrame({"d": [dt.date(2024, 1, 2), None], "x": [1.0, 2.0]})
    seen = _used_fast_path(monkeypatch)
    write_table(Table(data=frame), tmp_path / "d.sav")
    write_table(Table(data=_survey(20)), tmp_path / "z.zsav")
    assert seen == [2, 20]  # whole frames: pyreadstat writes the rows
    back = pyreadstat.read_sav(str(tmp_path / "d.sav"))[0]
    assert back["d"].iloc[0] == dt.date(2024, 1, 2)


@needs_pspp
@pytest.mark.parametrize("compression", ["", "rows"])
def test_pspp_reads_the_rows_psyscore_writes(compression, tmp_path):
    frame = _survey(40)
    write_table(_full_metadata(frame, compression), tmp_path / "s.sav")
    syntax = tmp_path / "list.sps"
    syntax.write_text(
        "GET FILE='s.sav'.\nDISPLAY DICTIONARY.\nLIST /VARIABLES=rid site age score n"
        " /CASES=FROM 1 TO 40.\n",
        encoding="utf-8",
    )
    try:
        text = run_pspp(tmp_path, syntax)
    except subprocess.TimeoutExpired:
        pytest.skip("pspp did not answer within its timeout")
    assert "error" not in text.lower()
    listed = [line.split(",") for line in text.splitlines() if line.startswith("R000")]
    assert [row[0] for row in listed] == frame["rid"].tolist()
    for row, (_, want) in zip(listed, frame.iterrows(), strict=True):
        assert row[1].strip() == want["site"].strip()
        assert float(row[2]) == want["age"]
        assert (row[3].strip() == ".") == pd.isna(want["score"])


@pytest.mark.parametrize("compression", ["", "rows"])
def test_a_one_row_file_unlike_psyscores_encoding_is_not_used(compression, tmp_path, monkeypatch):
    # a layout that disagrees with readstat's (one slot too wide per text): the check of the
    # one-row file must catch it and let pyreadstat write the whole table
    monkeypatch.setattr(sav_data, "_storage_width", lambda width: (width + 7) // 8 * 8 + 8)
    seen = _used_fast_path(monkeypatch)
    fast, plain = _both(_full_metadata(_survey(30), compression), tmp_path, monkeypatch)
    assert seen[:2] == [1, 30]  # the one-row try, then pyreadstat with every row
    assert fast == plain


@pytest.mark.parametrize("suffix", [".sav", ".zsav"])
def test_text_holding_a_nul_is_refused_before_anything_is_written(tmp_path, suffix):
    """readstat ends a text at its first NUL byte, so "a\x00b" came back as "a": refused,
    naming the column and row, with nothing written."""
    from psyscore.errors import DataError

    table = Table(data=pd.DataFrame({"id": ["r1", "r2", "r3"], "note": ["ok", None, "a\x00b"]}))
    out = tmp_path / f"out{suffix}"
    with pytest.raises(DataError, match=r"column 'note', row 3: .*NUL"):
        write_table(table, out)
    assert list(tmp_path.iterdir()) == []
