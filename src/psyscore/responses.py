"""From a raw table to an item matrix: which column is which item, and what each answer means.

`resolve(instrument, table)` returns an `ItemMatrix` (n x k answer codes, NaN where missing, plus the
reason each missing cell is missing) and the problems found. It is vectorised over rows: numeric
columns are checked with whole-array comparisons; text columns are factorised so that each distinct
spelling is looked up once, however many rows use it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from .errors import UsageError
from .instrument import AlternativeCoding, Instrument, Item, anchor_key
from .problems import Problem, cell_problems

ANSWERED, BLANK, INVALID = 0, 1, 2
BASE_REASONS = ["answered", "blank", "invalid"]


@dataclass
class ItemMatrix:
    """Answer codes of one instrument: raw (not reverse-keyed) codes, NaN where missing."""

    instrument: Instrument
    codes: np.ndarray  # float64, n x k (column-major), in the definition's item order
    reason: np.ndarray  # int8, n x k, index into `reasons`
    reasons: list[str]
    columns: list[str | None]  # source column of each item (None: not in the data)
    index: pd.Index | None = None  # the input table's row labels (None: 0..n-1)

    @property
    def n(self) -> int:
        return self.codes.shape[0]

    @property
    def row_index(self) -> pd.Index:
        return self.index if self.index is not None else pd.RangeIndex(self.n)

    @cached_property
    def invalid_items(self) -> list[int]:
        """Positions of the items with at least one invalid answer (column by column: no n x k
        temporary)."""
        return [j for j in range(self.codes.shape[1]) if (self.reason[:, j] == INVALID).any()]

    def reasons_frame(self) -> pd.DataFrame:
        """Missing reason per cell as a categorical DataFrame (for reports and audits)."""
        return pd.DataFrame(
            {
                item: pd.Categorical.from_codes(self.reason[:, j], categories=self.reasons)
                for j, item in enumerate(self.instrument.item_ids)
            },
            index=self.row_index,
        )


@dataclass
class FileMissing:
    """User-missing declarations read from the data file (e.g. SPSS): column -> value -> reason."""

    values: dict[str, dict[float | str, str]] = field(default_factory=dict)
    ranges: dict[str, list[tuple[float, float, str]]] = field(default_factory=dict)


# ---- column matching ---------------------------------------------------------------------------

_TOKEN = re.compile(r"[a-z]+|\d+")
_NOISE = {"item", "q", "question", "nr", "no"}


def column_key(name: str) -> str:
    """Spelling-insensitive key: 'PHQ-9 item 01', 'phq_9_1' and 'PHQ9_1' all give 'phq9_1'."""
    tokens = [t for t in _TOKEN.findall(str(name).lower()) if t not in _NOISE]
    merged: list[str] = []
    for t in tokens:
        t = str(int(t)) if t.isdigit() else t
        # letters followed by a number are one word ('phq' '9' -> 'phq9'), except the last number,
        # which is the item number
        if merged and not merged[-1].isdigit() and not t.isdigit():
            merged[-1] += t
        else:
            merged.append(t)
    if len(merged) >= 3 and merged[-1].isdigit():
        head = "".join(merged[:-1])
        return f"{head}_{merged[-1]}"
    if len(merged) == 2 and merged[-1].isdigit():
        return f"{merged[0]}_{merged[1]}"
    return "_".join(merged)


def _candidates(inst: Instrument) -> list[tuple[str, int, str]]:
    """(item id, tier, key) for every accepted spelling; lower tier = stronger evidence."""
    out = []
    for number, item in enumerate(inst.items, start=1):
        out.append((item.id, 0, item.id))
        out.append((item.id, 1, item.id.lower()))
        for alias in item.aliases:
            out.append((item.id, 1, alias.lower()))
        out.append((item.id, 2, column_key(item.id)))
        for alias in item.aliases:
            out.append((item.id, 2, column_key(alias)))
        for prefix in inst.column_prefixes:
            out.append((item.id, 2, column_key(f"{prefix}_{number}")))
    return out


def match_columns(
    inst: Instrument, columns: Sequence[str], mapping: Mapping[str, str] | None = None
) -> tuple[dict[str, str], list[Problem]]:
    """Map item id -> data column. Exact ids beat case-insensitive names beat normalised spellings.

    Two columns that match one item equally well are an error listing both (never a silent pick).
    """
    mapping = dict(mapping or {})
    problems: list[Problem] = []
    found: dict[str, str] = {}
    known = set(inst.item_ids)
    for column, item_id in mapping.items():
        if item_id not in known:
            raise UsageError(f"mapping names unknown item {item_id!r} of {inst.id}")
        if column not in columns:
            raise UsageError(f"mapping names column {column!r}, which is not in the data")
        found[item_id] = column

    by_key: dict[tuple[int, str], set[str]] = {}
    for item_id, tier, key in _candidates(inst):
        by_key.setdefault((tier, key), set()).add(item_id)
    best: dict[str, tuple[int, list[str]]] = {}
    prefix_keys = {column_key(f"{p}_1").rsplit("_", 1)[0] for p in inst.column_prefixes}
    mapped_columns = set(found.values())
    for column in columns:
        if column in mapped_columns:
            continue
        col = str(column)
        lookups = [(0, col), (1, col.lower()), (2, column_key(col))]
        for tier, key in lookups:
            items = by_key.get((tier, key))
            if items:
                (item_id,) = sorted(items)[:1]
                if item_id in found and item_id in mapping.values():
                    break
                prev = best.get(item_id)
                if prev is None or tier < prev[0]:
                    best[item_id] = (tier, [col])
                elif tier == prev[0]:
                    prev[1].append(col)
                break
        else:
            # looks like an item of this instrument (e.g. phq9_12) but is not one
            key = column_key(col)
            head, _, number = key.rpartition("_")
            if number.isdigit() and head in prefix_keys:
                problems.append(
                    Problem(
                        kind="unknown_column",
                        message=f"column {col!r} looks like an item of {inst.id}, "
                        f"which has {len(inst.items)} items",
                        hint="rename or drop it, or map it with --map if it is an item",
                        column=col,
                        instrument=inst.id,
                    )
                )
    for item_id, (_tier, cols) in best.items():
        if item_id in found:
            continue
        if len(cols) > 1:
            raise UsageError(
                f"{inst.id} item {item_id} matches several columns: {', '.join(cols)}. "
                "Rename all but one, or map it explicitly with --map."
            )
        found[item_id] = cols[0]
    return found, problems


# ---- value resolution --------------------------------------------------------------------------


def _text_key(value: object) -> str:
    """Answer text compared with anchors: case, spaces, quotes, '&' and punctuation ignored."""
    return anchor_key(value)


def _as_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


class _ItemLookup:
    """Everything needed to interpret answers to one item."""

    def __init__(self, inst: Instrument, item: Item, reasons: list[str]):
        scale = inst.scale_of(item)
        self.codes = np.array(sorted(float(c) for c in scale.values))
        lo, hi = self.codes[0], self.codes[-1]
        self.consecutive = bool(
            np.all(self.codes == np.floor(self.codes)) and len(self.codes) == int(hi - lo) + 1
        )
        self.lo, self.hi = lo, hi
        self.numeric_missing: dict[float, int] = {}
        self.text: dict[str, tuple[float, int]] = {}
        for code, label in scale.values.items():
            self.text[_text_key(label)] = (float(code), ANSWERED)
        for alias, code in scale.aliases.items():
            self.text[_text_key(alias)] = (float(code), ANSWERED)
        for code, reason in inst.missing_codes_for(item).items():
            idx = _reason_index(reasons, reason)
            number = _as_number(code)
            if number is not None:
                # "-99" written in a definition as text is the number -99 (never the key "99")
                self.numeric_missing[number] = idx
            else:
                self.text[_text_key(code)] = (np.nan, idx)
            if _as_number(reason) is None:
                self.text.setdefault(_text_key(reason), (np.nan, idx))
        self.allowed = ", ".join(f"{_fmt(c)}={lab}" for c, lab in scale.values.items())

    def classify(self, value: object) -> tuple[float, int]:
        """(code, reason) for one distinct raw value."""
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
            return np.nan, BLANK
        number = _as_number(value)
        if isinstance(value, str):
            if not value.strip():
                return np.nan, BLANK
            # text that reads as a number is a number: punctuation-blind matching must not turn
            # "-1" into the anchor "1"
            hit = self.text.get(_text_key(value)) if number is None else None
            if hit is not None:
                return hit
        if number is None:
            return np.nan, INVALID
        if number in self.numeric_missing:
            return np.nan, self.numeric_missing[number]
        if number in set(self.codes.tolist()):
            return number, ANSWERED
        return np.nan, INVALID


def _reason_index(reasons: list[str], reason: str) -> int:
    if reason not in reasons:
        reasons.append(reason)
    return reasons.index(reason)


def _fmt(code: float) -> str:
    return str(int(code)) if float(code).is_integer() else str(code)


def _resolve_numeric(values: np.ndarray, lookup: _ItemLookup) -> tuple[np.ndarray, np.ndarray]:
    codes = values.copy()
    reason = np.zeros(len(values), dtype=np.int8)
    blank = np.isnan(values)
    if lookup.consecutive:
        valid = (values >= lookup.lo) & (values <= lookup.hi) & (values == np.floor(values))
    else:
        valid = np.isin(values, lookup.codes)
    reason[blank] = BLANK
    bad = ~valid & ~blank
    if bad.any():
        reason[bad] = INVALID
        for number, idx in lookup.numeric_missing.items():
            reason[bad & (values == number)] = idx
        codes[bad] = np.nan
    return codes, reason


def _resolve_objects(series: pd.Series, lookup: _ItemLookup) -> tuple[np.ndarray, np.ndarray]:
    uniques_codes, uniques = pd.factorize(series, use_na_sentinel=True)
    table = [lookup.classify(u) for u in uniques]
    code_tab = np.array([c for c, _ in table] + [np.nan], dtype=float)
    reason_tab = np.array([r for _, r in table] + [BLANK], dtype=np.int8)
    # the sentinel -1 indexes the appended "blank" entry
    return code_tab[uniques_codes], reason_tab[uniques_codes]


def _apply_file_missing(
    column: str,
    raw: pd.Series,
    codes: np.ndarray,
    reason: np.ndarray,
    fm: FileMissing,
    reasons: list[str],
) -> None:
    declared = fm.values.get(column, {})
    ranges = fm.ranges.get(column, [])
    if not declared and not ranges:
        return
    if pd.api.types.is_numeric_dtype(raw.dtype):
        values = raw.to_numpy(dtype=float, na_value=np.nan)
        for value, why in declared.items():
            hit = values == float(value)
            reason[hit] = _reason_index(reasons, why)
            codes[hit] = np.nan
        for lo, hi, why in ranges:
            hit = (values >= lo) & (values <= hi)
            reason[hit] = _reason_index(reasons, why)
            codes[hit] = np.nan
    else:
        values = raw.astype("string").str.strip().to_numpy(dtype=object, na_value=None)
        for value, why in declared.items():
            hit = values == str(value)
            reason[hit] = _reason_index(reasons, why)
            codes[hit] = np.nan


def _shown_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def refuse_recode_of_user_missing(
    column: str, recode: Mapping[object, float], fm: FileMissing, instrument: str = ""
) -> None:
    """Refuse a recode that maps a declared user-missing value, or maps a value onto one.

    User-missing declarations name the file's values, a recode names others: whether a
    declared 4 that a recode turns into 3 is missing or a 3 depends on the order the two are
    applied (SPSS applies user-missing first), so neither reading is safe to guess.
    """
    declared = fm.values.get(column, {})
    ranges = fm.ranges.get(column, [])
    if not declared and not ranges:
        return

    def hit(value: object) -> str | None:
        for missing in declared:
            number, other = _as_float(value), _as_float(missing)
            if (number is not None and number == other) or str(value).strip() == str(missing):
                return _shown_number(other) if other is not None else repr(missing)
        number = _as_float(value)
        for lo, hi, _ in ranges:
            if number is not None and lo <= number <= hi:
                return f"{_shown_number(lo)} thru {_shown_number(hi)}"
        return None

    for old, new in recode.items():
        for value in (old, new):
            shown = hit(value)
            if shown is None:
                continue
            where = f"{column} ({instrument})" if instrument else column
            old_text = _shown_number(o) if (o := _as_float(old)) is not None else repr(old)
            new_text = (
                "missing" if _as_float(new) is None or math.isnan(new) else _shown_number(new)
            )
            raise UsageError(
                f"the --map recode of {where} maps {old_text} -> {new_text}, and {shown} is a "
                f"user-missing value of {column} in the data file, so whether it counts as an "
                "answer depends on which is applied first. Leave user-missing values out of the "
                "recode (or remove the declaration in the data file)."
            )


def _as_float(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def resolve(
    inst: Instrument,
    table: pd.DataFrame,
    *,
    mapping: Mapping[str, str] | None = None,
    file_missing: FileMissing | None = None,
    recodes: Mapping[str, Mapping[object, float]] | None = None,
    value_labels: Mapping[str, Mapping] | None = None,
    invalid_as_missing: bool = True,
) -> tuple[ItemMatrix, list[Problem]]:
    """Turn the instrument's columns of `table` into an ItemMatrix and a list of problems.

    `recodes` (data column -> file value -> code, from a mapping file) is applied first;
    `value_labels` (from an SPSS file) are checked against the scale's anchors, and the codes
    against the scale's range, so that codes shifted by a survey tool (or another published
    coding) are caught (problem kind "recode_mismatch") instead of scored.

    An invalid answer is NaN in the matrix with the reason "invalid"; what that means is the
    caller's decision, and `invalid_as_missing` only words the problem record: True (reliability,
    `--invalid-as-missing`) says the answer is treated as missing, False (`score_table`'s default)
    says the scores that use the item are not given for that row.
    """
    found, problems = match_columns(inst, list(table.columns), mapping)
    recodes = recodes or {}
    if file_missing is not None:
        for column in set(found.values()) & set(recodes):
            refuse_recode_of_user_missing(column, recodes[column], file_missing, inst.id)
    problems.extend(
        recode_mismatches(
            inst, table, found, value_labels or {}, recodes, file_missing=file_missing
        )
    )
    n, k = len(table), len(inst.items)
    # column-major: each item is written and read as one contiguous column
    # filled column by column below (np.full would write every cell twice: 2 s at 5M x 30)
    codes = np.empty((n, k), order="F")
    reason = np.empty((n, k), dtype=np.int8, order="F")
    reasons = list(BASE_REASONS)
    scored_items = {i for s in inst.scores.values() for i in (s.items or [])}
    columns: list[str | None] = []
    for j, item in enumerate(inst.items):
        column = found.get(item.id)
        columns.append(column)
        if column is None:
            codes[:, j] = np.nan
            reason[:, j] = BLANK
            if item.id in scored_items:
                problems.append(
                    Problem(
                        kind="missing_column",
                        message=f"no column for {inst.id} item {item.id} ({item.label}); "
                        "it is treated as unanswered",
                        hint=f"add the column, or map yours to it with --map (item {item.id})",
                        instrument=inst.id,
                    )
                )
            continue
        lookup = _ItemLookup(inst, item, reasons)
        raw = table[column]
        if column in recodes:
            raw = apply_recode(raw, recodes[column])
        if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
            col_codes, col_reason = _resolve_numeric(
                raw.to_numpy(dtype=float, na_value=np.nan), lookup
            )
        else:
            col_codes, col_reason = _resolve_objects(raw, lookup)
        if file_missing is not None:
            _apply_file_missing(column, raw, col_codes, col_reason, file_missing, reasons)
        codes[:, j] = col_codes
        reason[:, j] = col_reason
        bad = col_reason == INVALID
        if bad.any():
            text_like = not pd.api.types.is_numeric_dtype(raw.dtype)
            if invalid_as_missing:
                consequence = "treated as missing"
            elif item.id in scored_items:
                consequence = f"no score that uses {item.id} is given for this row"
            else:
                consequence = "the item is in no score"
            values = raw.to_numpy(dtype=object)
            problems.extend(
                cell_problems(
                    bad,
                    values,
                    kind="unrecognised_answer" if text_like else "out_of_range",
                    column=column,
                    instrument=inst.id,
                    message=f"{{value!r}} is not an answer to {item.id}; {consequence}",
                    hint=f"allowed: {lookup.allowed}"
                    + _coding_hint(inst, inst.scale_of(item), values[bad]),
                )
            )
    return ItemMatrix(inst, codes, reason, reasons, columns, table.index), problems


def _coding_hint(inst: Instrument, scale, bad_values: np.ndarray) -> str:
    """Name a declared alternative coding that the column's invalid values would fit."""
    if not inst.alternative_codings:
        return ""
    numbers = {_as_number(v) for v in pd.unique(bad_values)}
    if None in numbers:
        return ""
    for coding in inst.alternative_codings:
        lo, hi = scale.min + coding.shift, scale.max + coding.shift
        if all(lo <= x <= hi and float(x).is_integer() for x in numbers):
            fix = f"score it with -i {coding.use}" if coding.use else "recode it with --map"
            return f"; if the file uses the {coding.name}, {fix}"
    return ""


# ---- recodes and recode checks --------------------------------------------------------------


def _value_key(value: object) -> object:
    """Numbers (also written as text) compare as floats, text case- and space-insensitively."""
    number = _as_number(value)
    return number if number is not None else _text_key(value)


def apply_recode(raw: pd.Series, recode: Mapping[object, float]) -> pd.Series:
    """Replace file values by codes, all at once (1->0, 2->1 never chains); others are kept."""
    table = {_value_key(k): v for k, v in recode.items()}
    positions, uniques = pd.factorize(raw, use_na_sentinel=True)
    mapped = [table.get(_value_key(u), u) for u in uniques]
    if all(_as_number(v) is not None and not isinstance(v, str) for v in mapped):
        values = np.array([float(v) for v in mapped] + [np.nan])
    else:
        values = np.array([*mapped, None], dtype=object)
    return pd.Series(values[positions], index=raw.index, name=raw.name)


RECODE_HINT = "add to a --map file: "


def _suggestion_hint(column: str, suggestion: Mapping[float, float]) -> str:
    from .mapping import recode_yaml

    return RECODE_HINT + recode_yaml({column: suggestion})


# A shifted coding is read from at least this many cells outside the scale, so that one typo
# ("0" on a 1-5 scale in a small file where nobody chose 5) is never taken for a recoding.
MIN_SHIFT_EVIDENCE = 2


@dataclass
class _Observed:
    """What one column's numeric answers span, declared missing codes left out."""

    item_id: str
    column: str
    codes: list[float]  # the scale's codes (consecutive integers)
    vmin: float
    vmax: float
    outside: int  # cells outside [min, max] of the scale
    integral: bool  # every value outside the scale is a whole number

    @property
    def lo(self) -> float:
        return self.codes[0]

    @property
    def hi(self) -> float:
        return self.codes[-1]

    def fits(self, shift: int) -> bool:
        return self.integral and self.lo + shift <= self.vmin and self.vmax <= self.hi + shift


def recode_mismatches(
    inst: Instrument,
    table: pd.DataFrame,
    found: Mapping[str, str],
    value_labels: Mapping[str, Mapping],
    recodes: Mapping[str, Mapping[object, float]],
    *,
    file_missing: FileMissing | None = None,
) -> list[Problem]:
    """Columns whose codes disagree with the definition's scale (after any recode).

    With value labels (SPSS, Qualtrics .sav): a label that is one of the scale's anchors but sits
    on another code ("1 = Not at all" where the definition has 0), in either direction. Columns
    whose labels raise no such problem (labels that agree, or are no anchors at all: another
    language) are checked by their numbers as well.

    The numbers: the data look like the definition's codes plus a shift s (+1: 1-4 data for a 0-3
    scale; -1: 0-4 data for 1-5; or a shift declared in `alternative_codings`) when, over all
    numeric columns of the instrument not settled by labels or a recode, declared missing codes
    (the definition's and the file's user-missing values) left out,

    1. every value lies in [min + s, max + s] and those outside [min, max] are whole numbers,
       so the shifted scale holds every answer and the code at the other end (max for -1, min
       for +1) is never used, and
    2. at least MIN_SHIFT_EVIDENCE (2) cells lie outside [min, max].

    A respondent who only answers low codes is no evidence (nothing is outside the scale); one
    stray "0" is not either (a typo: that row is not scored and the problem record names the
    cell). Two or more values below the scale with its top code never used, however few
    respondents, are: scoring stops with a message naming the coding (e.g. "the US 0-4 coding:
    use -i k10-us") and the recode that fixes it. The check reads each column's min and max
    first (vectorised); only a column with values outside the scale is looked at further.
    """
    problems: list[Problem] = []
    by_item = {it.id: it for it in inst.items}
    observed: list[_Observed] = []
    for item_id, column in found.items():
        item = by_item[item_id]
        scale = inst.scale_of(item)
        recode = {_value_key(k): v for k, v in recodes.get(column, {}).items()}
        labels = value_labels.get(column) or {}
        if labels:
            wrong = _label_disagreements(scale, labels, recode)
            if wrong:
                problems.append(_label_problem(inst, column, wrong))
                continue
        # labels that agree are no proof the numbers do: 0-4 data under 1-5 labels still count
        if column in recodes:
            continue
        seen = _observe(inst, item, column, table[column], file_missing)
        if seen is not None:
            observed.append(seen)
    problems.extend(_shifted_coding(inst, observed))
    return problems


def _label_disagreements(scale, labels: Mapping, recode: Mapping) -> dict:
    """{file code: (definition code, label)} for labels that are anchors on another code."""
    anchors = {_text_key(lab): float(c) for c, lab in scale.values.items()}
    anchors.update({_text_key(a): float(c) for a, c in scale.aliases.items()})
    wrong: dict[float, tuple[float, str]] = {}
    for code, label in labels.items():
        number = _as_number(code)
        if number is None or _as_number(label) is not None:
            continue  # a label "2" says nothing about an anchor
        now = recode.get(number, number)
        want = anchors.get(_text_key(label))
        if want is not None and want != now:
            wrong[number] = (want, str(label))
    return wrong


def _label_problem(inst: Instrument, column: str, wrong: dict) -> Problem:
    first, (want, label) = next(iter(sorted(wrong.items())))
    shifts = {now - want for now, (want, _) in wrong.items()}
    advice = ""
    if len(shifts) == 1:
        (shift,) = shifts
        advice = _coding_advice(inst, shift)
    return Problem(
        kind="recode_mismatch",
        message=f"value labels of {column} say {_fmt(first)} = {label!r}, but "
        f"{inst.id} codes {label!r} as {_fmt(want)}; scoring it would shift every answer"
        + (f"; {advice}" if advice else ""),
        hint=_suggestion_hint(column, {k: v for k, (v, _) in wrong.items()}),
        column=column,
        instrument=inst.id,
    )


def _declared_coding(inst: Instrument, shift: float) -> AlternativeCoding | None:
    return next((c for c in inst.alternative_codings if c.shift == shift), None)


def _coding_advice(inst: Instrument, shift: float) -> str:
    coding = _declared_coding(inst, shift)
    if coding is None:
        return ""
    if coding.use:
        return f"this looks like the {coding.name}: use -i {coding.use}"
    return f"this looks like the {coding.name}"


def _observe(
    inst: Instrument, item: Item, column: str, raw: pd.Series, fm: FileMissing | None
) -> _Observed | None:
    scale = inst.scale_of(item)
    codes = sorted(float(c) for c in scale.values)
    if len(codes) < 2 or codes != [codes[0] + i for i in range(len(codes))]:
        return None
    weights = None
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        values = raw.to_numpy(dtype=float, na_value=np.nan)
    else:
        # text columns: the numbers among the distinct values, each weighted by its count
        positions, uniques = pd.factorize(raw, use_na_sentinel=True)
        numbers = [_as_number(u) for u in uniques]
        values = np.array([np.nan if x is None else x for x in numbers], dtype=float)
        weights = np.bincount(positions[positions >= 0], minlength=len(uniques))
    if values.size == 0:
        return None
    lo, hi = codes[0], codes[-1]
    # fast path, two vectorised passes: a column within the scale needs no further look
    vmin, vmax = float(np.fmin.reduce(values)), float(np.fmax.reduce(values))
    if np.isnan(vmin):
        return None
    if lo <= vmin and vmax <= hi:
        return _Observed(item.id, column, codes, vmin, vmax, 0, True)
    keep = ~np.isnan(values)
    for code in inst.missing_codes_for(item):
        number = _as_number(code)
        if number is not None:
            keep &= values != number
    if fm is not None:
        for value in fm.values.get(column, {}):
            number = _as_number(value)
            if number is not None:
                keep &= values != number
        for r_lo, r_hi, _why in fm.ranges.get(column, []):
            keep &= ~((values >= r_lo) & (values <= r_hi))
    kept = values[keep]
    if kept.size == 0:
        return None
    counts = weights[keep] if weights is not None else None
    outside = (kept < lo) | (kept > hi)
    n_outside = int(counts[outside].sum() if counts is not None else outside.sum())
    integral = bool(np.all(kept[outside] == np.floor(kept[outside])))
    return _Observed(
        item.id, column, codes, float(kept.min()), float(kept.max()), n_outside, integral
    )


def _shifted_coding(inst: Instrument, observed: list[_Observed]) -> list[Problem]:
    """One problem per column when the instrument's numbers fit a shifted coding (see above)."""
    if not observed:
        return []
    outside = sum(o.outside for o in observed)
    if outside < MIN_SHIFT_EVIDENCE:
        return []
    shifts = [1, -1] + [c.shift for c in inst.alternative_codings if c.shift not in (1, -1)]
    for shift in shifts:
        if all(o.fits(shift) for o in observed):
            return _shift_problems(inst, observed, shift)
    return []


def _shift_problems(inst: Instrument, observed: list[_Observed], shift: int) -> list[Problem]:
    first = observed[0]
    lo, hi = first.lo, first.hi
    unused = hi if shift < 0 else lo
    advice = _coding_advice(inst, shift) or (
        f"the codes look shifted by {shift:+d} (a survey tool's default recode values?)"
    )
    message = (
        f"{inst.id} columns hold codes {_fmt(lo + shift)}-{_fmt(hi + shift)} and never "
        f"{_fmt(unused)}, but {inst.id} codes its answers {_fmt(lo)}-{_fmt(hi)}: {advice}"
    )
    return [
        Problem(
            kind="recode_mismatch",
            message=message,
            hint=_suggestion_hint(o.column, {c + shift: c for c in o.codes}),
            column=o.column,
            instrument=inst.id,
        )
        for o in observed
    ]


def duplicate_ids(table: pd.DataFrame, id_column: str) -> list[Problem]:
    """One problem per repeated respondent id (rows after the first)."""
    if id_column not in table.columns:
        raise UsageError(
            f"--id-column {id_column!r} is not a column of the data; columns: "
            + ", ".join(map(str, table.columns[:20]))
        )
    ids = table[id_column]
    dup = ids.duplicated(keep="first") & ids.notna()
    return cell_problems(
        dup.to_numpy(),
        ids.to_numpy(dtype=object),
        kind="duplicate_id",
        column=id_column,
        instrument="",
        message="respondent id {value} appears more than once",
        hint="give each respondent one row, or use a wave/visit column to tell rows apart",
    )
