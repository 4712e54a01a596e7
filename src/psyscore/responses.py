"""From a raw table to an item matrix: which column is which item, and what each answer means.

`resolve(instrument, table)` returns an `ItemMatrix` (n x k answer codes, NaN where missing, plus the
reason each missing cell is missing) and the problems found. It is vectorised over rows: numeric
columns are checked with whole-array comparisons; text columns are factorised so that each distinct
spelling is looked up once, however many rows use it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import UsageError
from .instrument import Instrument, Item
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

    @property
    def n(self) -> int:
        return self.codes.shape[0]

    def reasons_frame(self) -> pd.DataFrame:
        """Missing reason per cell as a categorical DataFrame (for reports and audits)."""
        return pd.DataFrame(
            {
                item: pd.Categorical.from_codes(self.reason[:, j], categories=self.reasons)
                for j, item in enumerate(self.instrument.item_ids)
            }
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
    return " ".join(str(value).split()).casefold()


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
            if number is not None and not isinstance(code, str):
                self.numeric_missing[number] = idx
            else:
                self.text[_text_key(code)] = (np.nan, idx)
            self.text.setdefault(_text_key(reason), (np.nan, idx))
        self.allowed = ", ".join(f"{_fmt(c)}={lab}" for c, lab in scale.values.items())

    def classify(self, value: object) -> tuple[float, int]:
        """(code, reason) for one distinct raw value."""
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
            return np.nan, BLANK
        if isinstance(value, str):
            if not value.strip():
                return np.nan, BLANK
            hit = self.text.get(_text_key(value))
            if hit is not None:
                return hit
        number = _as_number(value)
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


def resolve(
    inst: Instrument,
    table: pd.DataFrame,
    *,
    mapping: Mapping[str, str] | None = None,
    file_missing: FileMissing | None = None,
    recodes: Mapping[str, Mapping[object, float]] | None = None,
    value_labels: Mapping[str, Mapping] | None = None,
) -> tuple[ItemMatrix, list[Problem]]:
    """Turn the instrument's columns of `table` into an ItemMatrix and a list of problems.

    `recodes` (data column -> file value -> code, from a mapping file) is applied first;
    `value_labels` (from an SPSS file) are checked against the scale's anchors, so that codes
    shifted by a survey tool are caught (problem kind "recode_mismatch") instead of scored.
    """
    found, problems = match_columns(inst, list(table.columns), mapping)
    recodes = recodes or {}
    problems.extend(recode_mismatches(inst, table, found, value_labels or {}, recodes))
    n, k = len(table), len(inst.items)
    # column-major: each item is written and read as one contiguous column
    codes = np.full((n, k), np.nan, order="F")
    reason = np.full((n, k), BLANK, dtype=np.int8, order="F")
    reasons = list(BASE_REASONS)
    scored_items = {i for s in inst.scores.values() for i in (s.items or [])}
    columns: list[str | None] = []
    for j, item in enumerate(inst.items):
        column = found.get(item.id)
        columns.append(column)
        if column is None:
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
            problems.extend(
                cell_problems(
                    bad,
                    raw.to_numpy(dtype=object),
                    kind="unrecognised_answer" if text_like else "out_of_range",
                    column=column,
                    instrument=inst.id,
                    message=f"{{value!r}} is not an answer to {item.id}; treated as missing",
                    hint=f"allowed: {lookup.allowed}",
                )
            )
    return ItemMatrix(inst, codes, reason, reasons, columns), problems


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


def recode_mismatches(
    inst: Instrument,
    table: pd.DataFrame,
    found: Mapping[str, str],
    value_labels: Mapping[str, Mapping],
    recodes: Mapping[str, Mapping[object, float]],
) -> list[Problem]:
    """Columns whose codes disagree with the definition's scale (after any recode).

    With value labels (SPSS, Qualtrics .sav): a label that is one of the scale's anchors but sits on
    another code ("1 = Not at all" where the definition has 0). Without labels: most numeric
    columns of the instrument using exactly the scale's codes plus one and never its lowest code,
    the signature of a survey tool's default recode values starting at 1.
    """
    problems: list[Problem] = []
    by_item = {it.id: it for it in inst.items}
    shifted: list[tuple[str, str, dict[float, float]]] = []
    numeric_columns = 0
    for item_id, column in found.items():
        item = by_item[item_id]
        scale = inst.scale_of(item)
        recode = {_value_key(k): v for k, v in recodes.get(column, {}).items()}
        anchors = {_text_key(lab): float(c) for c, lab in scale.values.items()}
        anchors.update({_text_key(a): float(c) for a, c in scale.aliases.items()})
        labels = value_labels.get(column) or {}
        if labels:
            wrong = {}
            for code, label in labels.items():
                number = _as_number(code)
                if number is None:
                    continue
                now = recode.get(number, number)
                want = anchors.get(_text_key(label))
                if want is not None and want != now:
                    wrong[number] = (want, str(label))
            if wrong:
                first, (want, label) = next(iter(sorted(wrong.items())))
                problems.append(
                    Problem(
                        kind="recode_mismatch",
                        message=f"value labels of {column} say {_fmt(first)} = {label!r}, but "
                        f"{inst.id} codes {label!r} as {_fmt(want)}; scoring it would shift "
                        "every answer",
                        hint=_suggestion_hint(column, {k: v for k, (v, _) in wrong.items()}),
                        column=column,
                        instrument=inst.id,
                    )
                )
            continue
        raw = table[column]
        if column in recodes or not pd.api.types.is_numeric_dtype(raw.dtype):
            continue
        codes = sorted(float(c) for c in scale.values)
        if len(codes) < 2 or codes != [codes[0] + i for i in range(len(codes))]:
            continue
        numeric_columns += 1
        missing = {_as_number(c) for c in inst.missing_codes_for(item)}
        seen = set(pd.unique(raw.dropna().to_numpy(dtype=float)).tolist()) - missing
        plus_one = {c + 1 for c in codes}
        if seen and seen <= plus_one and codes[-1] + 1 in seen and codes[0] not in seen:
            shifted.append((item_id, column, {c + 1: c for c in codes}))
    if len(shifted) >= 2 and len(shifted) * 2 > numeric_columns:
        for item_id, column, suggestion in shifted:
            scale = inst.scale_of(by_item[item_id])
            lo, hi = scale.min, scale.max
            problems.append(
                Problem(
                    kind="recode_mismatch",
                    message=f"{column} holds codes {_fmt(lo + 1)}-{_fmt(hi + 1)} and never "
                    f"{_fmt(lo)}, as do most {inst.id} columns: the scale is {_fmt(lo)}-{_fmt(hi)}, "
                    "so the codes look shifted by +1 (a survey tool's default recode values?)",
                    hint=_suggestion_hint(column, suggestion),
                    column=column,
                    instrument=inst.id,
                )
            )
    return problems


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
