"""Test-retest over two waves of raw item data: score each wave, join respondents by id, then per
score the ICC (pingouin, as psych::ICC), its 95% CI, means and SDs, the SEM and the
reliable-change threshold. Pure: DataFrames in, a DataFrame and records out; no I/O, no printing.

Two input shapes, one result:

* :func:`retest_two` -- one table per wave (two files), joined on the id column;
* :func:`retest_long` -- one long table with a wave column (exactly two waves, or two picked).

Decisions (documented in ``psyscore retest --help`` too):

* Default ICC: ``ICC2`` = ICC(2,1) (McGraw & Wong ICC(A,1)), two-way random effects, absolute
  agreement, single measurement. Test-retest asks whether one administration reproduces itself,
  and a systematic shift between waves (practice, regression to the mean) is part of the
  disagreement, so agreement rather than consistency (ICC3) is the default, as recommended by
  Koo & Li (2016) and Weir (2005); ``icc_type`` chooses any of the six types.
* SEM = SD * sqrt(1 - ICC) with SD the wave-1 SD of the paired respondents (``sd_from="pooled"``
  for the pooled SD); reliable-change threshold = 1.96 * sqrt(2) * SEM (Jacobson & Truax 1991),
  both from :mod:`psyscore.norms`.
* Ids are compared as text: 7, 7.0 (SPSS numeric) and " 7 " are the same respondent. A
  respondent id that appears more than once within a wave is a data problem: all its rows in that
  wave are left out (which row is the right one cannot be known). Rows without an id likewise.
* Respondents in only one wave are counted (attrition is not a data problem).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .batch import score_table
from .columns import score_column
from .errors import DataError, UsageError
from .instrument import Instrument
from .problems import Problem, cell_problems
from .psychometrics.retest import ICC_TYPES, RetestReliability, icc_type_name, retest_reliability
from .responses import FileMissing

__all__ = ["Wave", "RetestResult", "retest_two", "retest_long", "split_long", "normalize_id"]

MIN_PAIRS = 3  # pingouin's ANOVA (and any ICC) needs at least 3 respondents with both waves
EXAMPLE_IDS = 20  # ids listed as examples of respondents in one wave only

COLUMNS = [
    "instrument",
    "score",
    "column",
    "n_pairs",
    "n_incomplete",
    "icc_type",
    "icc",
    "ci_low",
    "ci_high",
    "f",
    "df1",
    "df2",
    "p",
    "pearson_r",
    "mean_1",
    "sd_1",
    "mean_2",
    "sd_2",
    "mean_diff",
    "sd_diff",
    "sd_used",
    "sem",
    "rc_threshold",
    "published_retest",
    "note",
]


@dataclass
class Wave:
    """The raw rows of one wave, with where they came from (for messages and problem records)."""

    data: pd.DataFrame
    file: str = ""
    label: str = ""
    rows: np.ndarray | None = None  # 1-based data row in `file` of each row (default 1..n)
    file_missing: FileMissing | None = None
    value_labels: Mapping[str, Mapping] | None = None  # SPSS value labels, checked against scales
    # the row a spreadsheet shows for each row (Qualtrics header rows, Excel title rows counted);
    # None when it is the data row plus the header (plain CSV, SPSS)
    file_rows: np.ndarray | None = None
    # rows that are respondents (None: all): Qualtrics previews and spam are left out of the pairs
    keep: np.ndarray | None = None

    @classmethod
    def from_survey(cls, survey, label: str) -> Wave:
        """A wave of a `psyscore.Survey` (file name, user-missing codes, value labels, the rows a
        spreadsheet shows, Qualtrics previews and spam to leave out)."""
        return cls(
            survey.data,
            survey.name,
            label,
            file_missing=survey.file_missing,
            value_labels=survey.value_labels,
            file_rows=survey.table.row_numbers,
            keep=survey.respondents,
        )

    def row_numbers(self) -> np.ndarray:
        if self.rows is not None:
            return np.asarray(self.rows, dtype=int)
        return np.arange(1, len(self.data) + 1)

    def respondents_only(self) -> Wave:
        """This wave without the rows `keep` leaves out (their rows in the file kept)."""
        if self.keep is None:
            return self
        keep = np.asarray(self.keep, dtype=bool)
        return replace(
            self,
            data=self.data.loc[keep].reset_index(drop=True),
            rows=self.row_numbers()[keep],
            file_rows=None if self.file_rows is None else np.asarray(self.file_rows)[keep],
            keep=None,
        )


@dataclass
class RetestResult:
    table: pd.DataFrame  # one row per score, COLUMNS
    join: dict  # who was matched, who was in one wave only, rows left out
    icc_type: str
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    details: dict[str, RetestReliability] = field(default_factory=dict)  # column -> full result

    def all_iccs(self, column: str) -> dict[str, dict]:
        """Every ICC type of one score: {"ICC1": {"icc": .., "ci95": [..]}, ...}."""
        res = self.details.get(column)
        if res is None:
            return {}
        ci = "CI95" if "CI95" in res.icc.columns else "CI95%"
        return {
            row["Type"]: {
                "icc": _finite(row["ICC"]),
                "ci95": [_finite(v) for v in row[ci]],
                "description": ICC_TYPES[row["Type"]],
            }
            for _, row in res.icc.iterrows()
        }


def normalize_id(value: object) -> str | None:
    """A respondent id as text: 7, 7.0 and " 7 " are all "7"; blank or missing is None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return None
        if float(value).is_integer():
            return str(int(value))
        return repr(float(value))
    if isinstance(value, bool | np.bool_):
        return str(value)
    if isinstance(value, int | np.integer):
        return str(int(value))
    text = str(value).strip()
    return text or None


def _normalize(series: pd.Series) -> list[str | None]:
    return [normalize_id(v) for v in series.tolist()]


def _columns_list(frame: pd.DataFrame, limit: int = 20) -> str:
    cols = [str(c) for c in frame.columns[:limit]]
    return ", ".join(cols) + (" ..." if frame.shape[1] > limit else "")


def _where(file: str) -> str:
    return f"{file}: " if file else ""


def _finite(value: object) -> float | None:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


# --------------------------------------------------------------------------------------------
# long layout -> two waves


def split_long(
    table: pd.DataFrame,
    *,
    wave_column: str,
    waves: Sequence[object] | None = None,
    file: str = "",
    file_missing: FileMissing | None = None,
    file_rows: np.ndarray | None = None,
    keep: np.ndarray | None = None,
) -> tuple[Wave, Wave, list[Problem], dict]:
    """The rows of the two waves of a long table (one row per respondent and wave).

    Without `waves` the column must hold exactly two distinct values: numbers are ordered
    numerically, text in order of first appearance; `waves` (two values, baseline first) picks
    two out of more and fixes the order. Rows without a wave are problems; rows of other waves
    are counted and ignored. `file_rows` are the rows a spreadsheet shows (for problem records);
    rows `keep` leaves out (Qualtrics previews, spam) are in no wave and no problem.
    """
    whole = Wave(table, file=file, file_rows=file_rows, keep=keep).respondents_only()
    table, data_rows, file_rows = whole.data, whole.row_numbers(), whole.file_rows
    if wave_column not in table.columns:
        raise UsageError(
            f"{_where(file)}--wave-column {wave_column!r} is not a column of the data; "
            f"columns: {_columns_list(table)}"
        )
    labels = _normalize(table[wave_column])
    present = list(dict.fromkeys(v for v in labels if v is not None))
    if waves is not None:
        wanted = [normalize_id(w) for w in waves]
        if len(wanted) != 2 or None in wanted or wanted[0] == wanted[1]:
            raise UsageError(
                f"--waves needs two different wave values, baseline first (e.g. --waves 1,2); "
                f"got {', '.join(map(str, waves)) or 'nothing'}"
            )
        absent = [w for w in wanted if w not in present]
        if absent:
            raise UsageError(
                f"{_where(file)}wave {', '.join(map(repr, absent))} does not occur in column "
                f"{wave_column!r}; its values are {', '.join(map(repr, present[:20]))}"
            )
        order: list[str] = [w for w in wanted if w is not None]
    else:
        if len(present) < 2:
            found = f"only {present[0]!r}" if present else "no value at all"
            raise DataError(
                f"{_where(file)}column {wave_column!r} has {found}: test-retest needs two waves "
                "(or give the second wave in a second file)"
            )
        if len(present) > 2:
            raise UsageError(
                f"{_where(file)}column {wave_column!r} has {len(present)} waves "
                f"({', '.join(map(repr, present[:10]))}{' ...' if len(present) > 10 else ''}); "
                "choose two with --waves, baseline first, e.g. "
                f"--waves {present[0]},{present[1]}"
            )
        order = _wave_order(present)
    lab = np.array(labels, dtype=object)
    missing = np.array([v is None for v in labels])
    problems = with_rows(
        cell_problems(
            missing,
            table[wave_column].to_numpy(dtype=object),
            kind="missing_wave",
            column=wave_column,
            instrument="",
            message="row has no wave ({value}); left out",
            hint=f"fill in {wave_column} for every row",
        ),
        data_rows,
        file,
        file_rows,
    )
    waves_out = []
    for label in order:
        mask = lab == label
        waves_out.append(
            Wave(
                table.loc[mask].reset_index(drop=True),
                file=file,
                label=label,
                rows=data_rows[mask],
                file_missing=file_missing,
                file_rows=None if file_rows is None else np.asarray(file_rows)[mask],
            )
        )
    other = int((~missing & ~np.isin(lab, order)).sum())
    info = {"wave_column": wave_column, "waves": order, "rows_other_waves": other}
    return waves_out[0], waves_out[1], problems, info


def _wave_order(present: list[str]) -> list[str]:
    try:
        return sorted(present, key=float)
    except ValueError:
        return present  # text: order of first appearance


def with_rows(
    problems: list[Problem], rows: np.ndarray, file: str, file_rows: np.ndarray | None = None
) -> list[Problem]:
    """Problem rows counted within a wave's rows -> data rows of the file (and, given
    `file_rows`, the rows a spreadsheet shows); and the file name."""
    out = []
    for p in problems:
        changes: dict = {}
        if p.row is not None and 1 <= p.row <= len(rows):
            changes["row"] = int(rows[p.row - 1])
            if file_rows is not None and p.file_row is None:
                changes["file_row"] = int(file_rows[p.row - 1])
        if file and not p.file:
            changes["file"] = file
        out.append(replace(p, **changes) if changes else p)
    return out


# --------------------------------------------------------------------------------------------
# scoring and joining


@dataclass
class _Scored:
    scores: pd.DataFrame  # index: normalized id (valid, unique ids only); one column per score
    info: dict
    problems: list[Problem]
    warnings: list[str]


def _score_wave(
    wave: Wave,
    instruments: Sequence[Instrument],
    id_column: str,
    columns: list[str],
    mapping: Mapping[str, str] | None,
    recodes: Mapping[str, Mapping] | None = None,
) -> _Scored:
    wave = wave.respondents_only()
    data = wave.data
    name = wave.file or f"wave {wave.label}"
    if id_column not in data.columns:
        raise UsageError(
            f"{_where(wave.file)}--id-column {id_column!r} is not a column of the data; "
            f"columns: {_columns_list(data)}"
        )
    warnings: list[str] = []
    clash = [c for c in columns if c in data.columns]
    if clash:
        warnings.append(
            f"{name} already has score columns ({', '.join(clash[:4])}"
            f"{' ...' if len(clash) > 4 else ''}); recomputed from the items"
        )
    try:
        result = score_table(
            data,
            instruments,
            mapping=mapping,
            recodes=recodes,
            file_missing=wave.file_missing,
            value_labels=wave.value_labels,
            replace_scores=True,
        )
    except (UsageError, DataError) as exc:
        raise type(exc)(f"{_where(wave.file)}{exc}") from None
    rows = wave.row_numbers()
    problems = with_rows(result.problems, rows, wave.file, wave.file_rows)
    # a retest compares raw scores: notes about z/T (beyond the norm...) do not concern it
    warnings.extend(w for w in result.warnings if w not in result.norm_notes)

    ids = _normalize(data[id_column])
    id_arr = np.array(ids, dtype=object)
    missing = np.array([v is None for v in ids], dtype=bool)
    dup = pd.Series(ids, dtype=object).duplicated(keep=False).to_numpy() & ~missing
    raw_ids = data[id_column].to_numpy(dtype=object)
    problems.extend(
        with_rows(
            cell_problems(
                missing,
                raw_ids,
                kind="missing_id",
                column=id_column,
                instrument="",
                message=f"row has no respondent id; left out of the wave {wave.label} pairs",
                hint=f"fill in {id_column} for every row",
            ),
            rows,
            wave.file,
            wave.file_rows,
        )
    )
    problems.extend(
        with_rows(
            cell_problems(
                dup,
                raw_ids,
                kind="duplicate_id",
                column=id_column,
                instrument="",
                message="respondent id {value} appears more than once in wave "
                f"{wave.label}; all its rows are left out of the pairs",
                hint="give each respondent one row per wave",
            ),
            rows,
            wave.file,
            wave.file_rows,
        )
    )
    keep = ~missing & ~dup
    frame = pd.concat([s for s in result.scores.values()], axis=1)
    values = {
        c: pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan)[keep]
        for c in columns
    }
    scores = pd.DataFrame(values, index=pd.Index(id_arr[keep], dtype=object, name="id"))
    info = {
        "file": wave.file,
        "label": wave.label,
        "rows": int(len(data)),
        "respondents": int(keep.sum()),
        "rows_missing_id": int(missing.sum()),
        "duplicate_ids": int(pd.Series(id_arr[dup], dtype=object).nunique()),
        "rows_duplicate_id": int(dup.sum()),
    }
    return _Scored(scores, info, problems, warnings)


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _score_columns(instruments: Sequence[Instrument]) -> list[tuple[Instrument, str, str]]:
    return [(inst, name, score_column(inst, name)) for inst in instruments for name in inst.scores]


def retest_two(
    wave1: Wave,
    wave2: Wave,
    instruments: Sequence[Instrument],
    *,
    id_column: str,
    icc_type: str = "ICC2",
    sd_from: str = "wave1",
    z: float = 1.96,
    mapping: Mapping[str, str] | None = None,
    recodes: Mapping[str, Mapping] | None = None,
) -> RetestResult:
    """Score both waves, join them on `id_column` and compute the retest statistics per score."""
    try:
        icc_type = icc_type_name(icc_type)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if sd_from not in {"wave1", "pooled"}:
        raise UsageError(f"the SD for the SEM is 'wave1' or 'pooled', not {sd_from!r}")
    if not instruments:
        raise UsageError("no instrument given")
    wave1 = replace(wave1, label=wave1.label or "1")
    wave2 = replace(wave2, label=wave2.label or "2")
    specs = _score_columns(instruments)
    columns = [c for _, _, c in specs]
    a = _score_wave(wave1, instruments, id_column, columns, mapping, recodes)
    b = _score_wave(wave2, instruments, id_column, columns, mapping, recodes)

    in_b = set(b.scores.index)
    in_a = set(a.scores.index)
    common = [i for i in a.scores.index if i in in_b]
    only1 = [i for i in a.scores.index if i not in in_b]
    only2 = [i for i in b.scores.index if i not in in_a]
    if not common:
        name1 = wave1.file or f"wave {wave1.label}"
        name2 = wave2.file or f"wave {wave2.label}"
        same = name1 == name2
        where = (
            f"{name1} (waves {wave1.label} and {wave2.label})" if same else f"{name1} and {name2}"
        )
        raise DataError(
            f"{where}: no respondent id in column {id_column!r} occurs in both waves "
            f"(wave {wave1.label} ids look like {_examples(list(a.scores.index))}; "
            f"wave {wave2.label} ids look like {_examples(list(b.scores.index))}); "
            "is it the right id column, and the right files?"
        )
    join = {
        "id_column": id_column,
        "wave1": a.info,
        "wave2": b.info,
        "matched": len(common),
        "only_wave1": len(only1),
        "only_wave2": len(only2),
        "only_wave1_ids": sorted(only1, key=_natural)[:EXAMPLE_IDS],
        "only_wave2_ids": sorted(only2, key=_natural)[:EXAMPLE_IDS],
    }
    s1 = a.scores.loc[common]
    s2 = b.scores.loc[common]
    rows, details = [], {}
    for inst, name, col in specs:
        row, res = _statistics(
            s1[col].to_numpy(), s2[col].to_numpy(), icc_type=icc_type, sd_from=sd_from, z=z
        )
        published = inst.scores[name].published_reliability
        row.update(
            instrument=inst.id,
            score=name,
            column=col,
            icc_type=icc_type,
            published_retest=published.retest if published is not None else None,
        )
        rows.append(row)
        if res is not None:
            details[col] = res
    table = pd.DataFrame(rows).reindex(columns=COLUMNS)
    warnings = _dedupe(a.warnings + b.warnings)
    if icc_type.endswith("k"):
        warnings.append(
            f"{icc_type} is the reliability of the mean of both waves: the SEM and "
            "reliable-change threshold from it apply to a two-wave mean, not to one administration"
        )
    return RetestResult(table, join, icc_type, a.problems + b.problems, warnings, details)


def retest_long(
    table: pd.DataFrame,
    instruments: Sequence[Instrument],
    *,
    id_column: str,
    wave_column: str,
    waves: Sequence[object] | None = None,
    file: str = "",
    file_missing: FileMissing | None = None,
    icc_type: str = "ICC2",
    sd_from: str = "wave1",
    z: float = 1.96,
    mapping: Mapping[str, str] | None = None,
    recodes: Mapping[str, Mapping] | None = None,
    value_labels: Mapping[str, Mapping] | None = None,
    file_rows: np.ndarray | None = None,
    keep: np.ndarray | None = None,
) -> RetestResult:
    """:func:`retest_two` on the two waves of one long table (see :func:`split_long`)."""
    if id_column not in table.columns:
        raise UsageError(
            f"{_where(file)}--id-column {id_column!r} is not a column of the data; "
            f"columns: {_columns_list(table)}"
        )
    w1, w2, problems, info = split_long(
        table,
        wave_column=wave_column,
        waves=waves,
        file=file,
        file_missing=file_missing,
        file_rows=file_rows,
        keep=keep,
    )
    w1, w2 = (replace(w, value_labels=value_labels) for w in (w1, w2))
    result = retest_two(
        w1,
        w2,
        instruments,
        id_column=id_column,
        icc_type=icc_type,
        sd_from=sd_from,
        z=z,
        mapping=mapping,
        recodes=recodes,
    )
    result.problems = problems + result.problems
    result.join.update(info)
    return result


def _natural(text: str) -> list:
    """Sort key putting "p9" before "p10" and "9" before "10"."""
    return [
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text)
    ]


def _examples(ids: list[str], k: int = 3) -> str:
    if not ids:
        return "(none)"
    return ", ".join(repr(i) for i in ids[:k]) + (" ..." if len(ids) > k else "")


def _statistics(
    x1: np.ndarray, x2: np.ndarray, *, icc_type: str, sd_from: str, z: float
) -> tuple[dict, RetestReliability | None]:
    both = ~np.isnan(x1) & ~np.isnan(x2)
    n = int(both.sum())
    row: dict = {"n_pairs": n, "n_incomplete": int(len(x1) - n)}
    a, b = x1[both], x2[both]
    if n:
        row.update(mean_1=float(a.mean()), mean_2=float(b.mean()), mean_diff=float((b - a).mean()))
    if n < MIN_PAIRS:
        row["note"] = (
            f"only {n} respondent(s) have this score at both waves; an ICC needs {MIN_PAIRS}"
        )
        return row, None
    ids = np.arange(n)
    res = retest_reliability(
        pd.DataFrame({"id": ids, "score": a}),
        pd.DataFrame({"id": ids, "score": b}),
        id="id",
        score="score",
        icc_type=icc_type,
        sd_from=sd_from,
        z=z,
    )
    sel = res.icc.loc[res.icc["Type"] == icc_type].iloc[0]
    row.update(
        icc=res.r,
        ci_low=res.ci95[0],
        ci_high=res.ci95[1],
        f=float(sel["F"]),
        df1=int(sel["df1"]),
        df2=int(sel["df2"]),
        p=float(sel["pval"]),
        pearson_r=res.pearson_r,
        sd_1=res.sd1,
        sd_2=res.sd2,
        sd_diff=res.sd_change,
        sd_used=res.sd,
        sem=res.sem,
        rc_threshold=res.rci_threshold,
    )
    if not math.isfinite(res.r):
        row["note"] = "no differences between respondents: the ICC is undefined"
    elif res.sd_change == 0 and res.mean_change == 0:
        row["note"] = "identical scores at both waves: no measurement error (ICC 1, SEM 0)"
    elif not (math.isfinite(res.ci95[0]) and math.isfinite(res.ci95[1])):
        row["note"] = "every respondent changed by the same amount: the CI is undefined"
    return row, res


def file_notes(surveys) -> list[str]:
    """What the files of a retest had to tell, before its own warnings: each reader's warnings
    (renamed columns...), then the note of score and reliability on the previews and spam left
    out (with the file's name when there are two files)."""
    notes = [w for survey in surveys for w in survey.warnings]
    for survey in surveys:
        note = survey.exclusion_note("left out")
        if note:
            notes.append(f"{survey.name}: {note}" if len(surveys) > 1 else note)
    return notes
