"""The scoring engine: an ItemMatrix in, a DataFrame of scores out. Pure and vectorised.

For each score of an instrument: reverse-key from the declared scale range (never the observed one),
count answered items, apply the missing rule, form sum / mean / prorated sum, round, band, and
standardise against the default norm group. Critical items are flagged on the raw answer.
No I/O and no per-respondent Python loops, so the same function runs per chunk or per partition.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import columns as cols
from .errors import UsageError
from .instrument import Instrument, Score
from .norms import (  # noqa: F401 (round_half_up, percentiles, standard_scores re-exported)
    NO_GROUP_AGE_UNKNOWN,
    NO_GROUP_OUTSIDE,
    NO_GROUP_SEX_UNKNOWN,
    Z_LIMIT,
    NormRows,
    covering_group,
    group_label,
    no_group_reasons,
    percentiles,
    round_half_up,
    standard_scores,
    standardise,
)
from .responses import INVALID, ItemMatrix


def reverse_keyed(items: ItemMatrix, score: Score | None = None) -> np.ndarray:
    """Codes with reverse-keyed items flipped as (scale min + scale max) - answer.

    With `score`, the items are keyed as in that score (its own ``reverse`` list, when it has
    one); without, by the items' own flags, which is right for every score only when
    ``instrument.keys_differ_between_scores`` is False.
    """
    inst = items.instrument
    if score is None:
        rev = np.array([it.reverse for it in inst.items])
    else:
        rev = np.array([score.is_reversed(it) for it in inst.items])
    if not rev.any():
        return items.codes
    lo_hi = np.array([inst.scale_of(it).min + inst.scale_of(it).max for it in inst.items])
    # one copy of the matrix, reversed columns flipped in it (np.where made two full copies)
    keyed = np.array(items.codes, order="F", copy=True)
    for j in np.flatnonzero(rev):
        np.subtract(lo_hi[j], keyed[:, j], out=keyed[:, j])
    return keyed


def status_categories(k: int, needed: int) -> tuple[list[str], np.ndarray]:
    """Status categories and, for 0..k answered items, the index of each count's status.

    Scores of items add one category per item after these, `invalid_status(item)`, in the
    score's item order (see `_item_score`): the categories stay a short fixed list.
    """
    categories = ["scored", "prorated"] + [
        f"not scored: {n} of {k} items answered, needs {needed}" for n in range(needed)
    ]
    code_for_n = np.array([0 if n == k else 1 if n >= needed else 2 + n for n in range(k + 1)])
    return categories, code_for_n


def invalid_status(item_id: str) -> str:
    """Status of a score not given because the answer to `item_id` is not an answer."""
    return f"not scored: invalid answer in {item_id}"


class _ScoreResult:
    __slots__ = ("value", "n", "status_code", "labels", "invalid_item")

    def __init__(
        self,
        value: np.ndarray,
        n: np.ndarray,
        status_code: np.ndarray,
        labels: list[str],
        invalid_item: np.ndarray | None = None,
    ):
        self.value, self.n, self.status_code, self.labels = value, n, status_code, labels
        # per row, the position (in the instrument) of the first invalid item, -1 for none;
        # None when no row has one
        self.invalid_item = invalid_item


def _keyed_column(inst: Instrument, items: ItemMatrix, j: int, score: Score) -> np.ndarray:
    item = inst.items[j]
    raw = items.codes[:, j]
    if not score.is_reversed(item):
        return raw
    scale = inst.scale_of(item)
    return (scale.min + scale.max) - raw


def _first_invalid(items: ItemMatrix, positions: list[int]) -> np.ndarray | None:
    """Per row, the first of `positions` (instrument item positions) with an invalid answer."""
    with_invalid = set(items.invalid_items)
    flagged = [j for j in positions if j in with_invalid]
    if not flagged:
        return None
    first = np.full(items.n, -1, dtype=np.int16)
    for j in reversed(flagged):  # the earliest item wins
        first[items.reason[:, j] == INVALID] = j
    return first


def _item_score(
    inst: Instrument, score: Score, items: ItemMatrix, *, invalid_as_missing: bool
) -> _ScoreResult:
    # Column by column over the whole batch: no n x k temporaries, contiguous reads (the item
    # matrix is column-major), and the Python loop runs over items, never over respondents.
    index = [inst.item_ids.index(i) for i in score.items or []]
    n = np.zeros(items.n, dtype=np.int16)
    total = np.zeros(items.n)
    for j in index:
        column = _keyed_column(inst, items, j, score)
        answered = ~np.isnan(column)
        n += answered
        total += np.where(answered, column, 0.0)
    k = len(index)
    needed = score.missing.needed(k)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / n
    if score.method == "mean":
        value = mean
    elif score.method == "prorated_sum":
        value = mean * k
    else:
        value = total
    value = np.where(n >= needed, value, np.nan)
    labels, code_for_n = status_categories(k, needed)
    status = code_for_n[n]
    labels = labels + [invalid_status(i) for i in score.items or []]
    first = None if invalid_as_missing else _first_invalid(items, index)
    if first is not None:
        # an invalid answer is not a missing one: no value, whatever the missing rule allows
        bad = first >= 0
        value = np.where(bad, np.nan, value)
        position_in_score = np.full(len(inst.items), 0, dtype=np.int64)
        position_in_score[index] = np.arange(k)
        offset = len(labels) - k
        status = np.where(bad, offset + position_in_score[np.maximum(first, 0)], status)
    return _ScoreResult(value, n, status, labels, first)


def _composite(
    inst: Instrument, score: Score, parts: list[_ScoreResult], part_items: list[int]
) -> _ScoreResult:
    """Sum or mean of component scores; missing when any component is not scored.

    `part_items`: instrument positions of every item under the components, in order; a
    component not scored because of an invalid answer makes the composite name that item.
    """
    values = np.column_stack([p.value for p in parts])
    n = np.sum([p.n for p in parts], axis=0)
    complete = ~np.isnan(values).any(axis=1)
    prorated = np.any([p.status_code == 1 for p in parts], axis=0)
    value = values.mean(axis=1) if score.method == "mean" else values.sum(axis=1)
    value = np.where(complete, value, np.nan)
    labels = ["scored", "prorated", "not scored: a component score is missing"]
    labels += [invalid_status(inst.item_ids[j]) for j in part_items]
    status = np.where(complete, np.where(prorated, 1, 0), 2)
    first = None
    for p in parts:
        if p.invalid_item is None:
            continue
        first = (
            p.invalid_item.copy() if first is None else np.where(first >= 0, first, p.invalid_item)
        )
    if first is not None:
        position = np.zeros(len(inst.items), dtype=np.int64)
        position[part_items] = np.arange(len(part_items))
        status = np.where(first >= 0, 3 + position[np.maximum(first, 0)], status)
    return _ScoreResult(value, n, status, labels, first)


def _items_under(inst: Instrument, name: str) -> list[int]:
    """Instrument positions of the items a score rests on (through composites), each once."""
    spec = inst.scores[name]
    if spec.items is not None:
        return [inst.item_ids.index(i) for i in spec.items]
    out: list[int] = []
    for member in spec.scores or []:
        out += [j for j in _items_under(inst, member) if j not in out]
    return out


def band_labels(values: np.ndarray, bands) -> pd.Categorical:
    """Label of the first band whose inclusive upper bound is >= value; missing stays missing."""
    uppers = np.array([b.upto for b in bands])
    idx = np.searchsorted(uppers, values, side="left")
    idx = np.where(np.isnan(values) | (idx >= len(uppers)), -1, idx)
    return pd.Categorical.from_codes(idx, categories=[b.label for b in bands])


def score(
    items: ItemMatrix,
    *,
    norm_group: str | None = None,
    invalid_as_missing: bool = False,
    index: pd.Index | None = None,
    norm_rows: NormRows | None = None,
    notes: list[str] | None = None,
) -> pd.DataFrame:
    """Score one instrument for every respondent. Returns new columns only, in a stable order.

    Columns per score: value, `_n` (items answered), `_status`, `_band[_set]`, and with norms
    `_z`, `_t`, `_pct`; per instrument `_critical` (1 endorsed, 0 denied, missing when a
    critical item is unanswered and none is endorsed), `_critical_items` and
    `_critical_unanswered` when the definition has critical items.

    A row with an invalid answer (reason "invalid": out of range, unrecognised text) to an item
    of a score gets no value for that score (nor band, z, T), whatever the missing rule, and the
    status `not scored: invalid answer in ITEM` (the first such item in the score's order);
    composites of it likewise. `invalid_as_missing=True` treats such answers as missing instead
    (prorated where the rule allows), as psyscore did before. Values keep full precision unless
    the definition's `rounding` (a published rule) says otherwise; bands use the stored value.
    `norm_group` picks the norm group by name (case-insensitive); an unknown name is an error.
    `norm_rows` (from `--norm-by`) picks each row's group from its sex and age instead, as intake
    picks one client's, and adds `_norm_group` (the group used, or `none: why`). z and T beyond
    |z| > 4 are left empty, never extrapolated; `notes` (a list) receives a sentence for every
    score with such rows, rows without a norm group, or scores a percentile table does not list.
    The frame's index is `index`, else the matrix's (the input table's row labels).
    """
    inst = items.instrument
    results: dict[str, _ScoreResult] = {}
    out: dict[str, object] = {}
    for name, spec in inst.scores.items():
        if spec.items is not None:
            res = _item_score(inst, spec, items, invalid_as_missing=invalid_as_missing)
        else:
            res = _composite(
                inst, spec, [results[m] for m in spec.scores or []], _items_under(inst, name)
            )
        res.value = round_half_up(res.value, spec.rounding)
        results[name] = res
        base = cols.score_column(inst, name)
        out[base] = res.value
        out[f"{base}_n"] = res.n
        out[f"{base}_status"] = pd.Categorical.from_codes(res.status_code, categories=res.labels)
        for i, band_set in enumerate(spec.bands):
            out[cols.band_column(inst, name, band_set, i)] = band_labels(res.value, band_set.bands)
        if spec.norms:
            out.update(_standard_columns(base, spec, res.value, norm_group, norm_rows, notes))
    out.update(critical_flags(items))
    return pd.DataFrame(out, index=index if index is not None else items.row_index)


def _standard_columns(base, spec: Score, values, norm_group, norm_rows, notes) -> dict:
    """The `_z`, `_t`, `_pct` (and with `norm_rows`, `_norm_group`) columns of one score."""
    groups = list(spec.norms)
    n = len(values)
    if norm_rows is None:
        chosen = np.full(n, groups.index(_pick_norm(spec, norm_group)), dtype=np.int64)
    else:
        if norm_group is not None:
            raise UsageError("give either a norm group by name or --norm-by, not both")
        chosen = covering_group(groups, norm_rows.sex_of(n), norm_rows.age_of(n))
    std = standardise(values, groups, chosen)
    out = {f"{base}_z": std["z"], f"{base}_t": std["t"], f"{base}_pct": std["pct"]}
    scored = ~np.isnan(values)
    if norm_rows is not None:
        labels = unique_labels([group_label(g) for g in groups])
        why = no_group_reasons(groups, norm_rows.sex_of(n), norm_rows.age_of(n))
        codes = np.where(chosen >= 0, chosen, len(groups) + why)
        categories = labels + [NO_GROUP_SEX_UNKNOWN, NO_GROUP_AGE_UNKNOWN, NO_GROUP_OUTSIDE]
        out[f"{base}_norm_group"] = pd.Categorical.from_codes(codes, categories=categories)
        if notes is not None and (scored & (chosen < 0)).any():
            none = scored & (chosen < 0)
            counts = pd.Series(np.asarray(categories, dtype=object)[codes[none]]).value_counts()
            _note(notes, NormNote(base, "no_group", np.flatnonzero(none), dict(counts.items())))
    if notes is not None:
        beyond = scored & (std["beyond"] != 0)
        if beyond.any():
            _note(notes, NormNote(base, "beyond", np.flatnonzero(beyond)))
        tables = np.array([g.percentile_method == "table" for g in groups] + [False])
        unlisted = scored & tables[chosen] & np.isnan(std["pct"])
        if unlisted.any():
            _note(notes, NormNote(base, "unlisted", np.flatnonzero(unlisted)))
    return out


@dataclass
class NormNote:
    """Rows of one score whose standard scores were withheld, and why; `rows` are 0-based
    positions in the scored table. Notes of chunks merge (rows shifted by the chunk's start)
    into the note of the whole file."""

    base: str
    kind: str  # "no_group", "beyond", "unlisted"
    rows: np.ndarray
    counts: dict[str, int] = field(default_factory=dict)  # no_group: why -> rows

    def shifted(self, offset: int) -> NormNote:
        return NormNote(self.base, self.kind, self.rows + offset, dict(self.counts))

    def merged(self, other: NormNote) -> NormNote:
        counts = dict(self.counts)
        for why, n in other.counts.items():
            counts[why] = counts.get(why, 0) + n
        return NormNote(self.base, self.kind, np.concatenate([self.rows, other.rows]), counts)

    def text(self) -> str:
        n, rows, base = len(self.rows), _rows_text(self.rows), self.base
        if self.kind == "no_group":
            detail = ", ".join(f"{c} {k.removeprefix('none: ')}" for k, c in self.counts.items())
            return (
                f"{base}: {n} scored row(s) have no norm group ({detail}): no z, "
                f"T or percentile for them ({rows}; see {base}_norm_group)"
            )
        if self.kind == "beyond":
            return (
                f"{base}: {n} row(s) beyond the range the norm supports "
                f"(|z| > {Z_LIMIT:g}): z and T left empty, not extrapolated ({rows})"
            )
        return (
            f"{base}: {n} row(s) with a score the percentile table does not "
            f"list: no percentile, not interpolated ({rows})"
        )


def _note(notes: list | None, note: NormNote) -> None:
    """A list of NormNote records receives the record; a list of strings, its sentence."""
    if notes is None:
        return
    notes.append(note if isinstance(notes, NormNoteList) else note.text())


class NormNoteList(list):
    """`notes` for :func:`score` that keeps records (:class:`NormNote`) instead of sentences."""


_KIND_ORDER = {"no_group": 0, "beyond": 1, "unlisted": 2}


def merge_norm_notes(notes: list[NormNote], bases: list[str]) -> list[NormNote]:
    """One note per score and kind (chunks' notes, already shifted), in the order one pass over
    the whole table gives: score columns as in `bases`, then kind."""
    merged: dict[tuple[str, str], NormNote] = {}
    for note in notes:
        key = (note.base, note.kind)
        merged[key] = merged[key].merged(note) if key in merged else note
    return sorted(merged.values(), key=lambda n: (bases.index(n.base), _KIND_ORDER[n.kind]))


def _rows_text(positions: np.ndarray, most: int = 10) -> str:
    rows = np.asarray(positions) + 1
    shown = ", ".join(str(r) for r in rows[:most])
    return f"row{'s' if len(rows) > 1 else ''} {shown}{' ...' if len(rows) > most else ''}"


def unique_labels(labels: list[str]) -> list[str]:
    """The labels, a repeated one numbered (#2, #3): categories must be distinct."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return out


def _pick_norm(spec: Score, group: str | None):
    if group is None:
        return spec.norms[0]
    for g in spec.norms:
        if g.group.casefold() == group.casefold():
            return g
    raise UsageError(
        f"no norm group {group!r} for {spec.label}; its groups: "
        + "; ".join(g.group for g in spec.norms)
    )


def _append_names(names: np.ndarray, mask: np.ndarray, item_id: str) -> None:
    if mask.any():
        names[mask] = np.where(names[mask] == "", item_id, names[mask] + " " + item_id)


def critical_flags(items: ItemMatrix) -> dict[str, object]:
    """Critical items, three-state: endorsed, denied, or not known.

    `_critical` is 1 when any critical rule fires on a raw answer, 0 when every critical item is
    answered and none fires, and missing (NaN) when none fires but a critical item has no valid
    answer (blank, declared missing or invalid): "not endorsed" is not known then.
    `_critical_items` names the items that fired, `_critical_unanswered` those unanswered.
    """
    inst = items.instrument
    critical = [(j, it) for j, it in enumerate(inst.items) if it.critical is not None]
    if not critical:
        return {}
    names = np.full(items.n, "", dtype=object)
    unanswered = np.full(items.n, "", dtype=object)
    any_fired = np.zeros(items.n, dtype=bool)
    any_unanswered = np.zeros(items.n, dtype=bool)
    for j, it in critical:
        op, threshold = it.critical.op_and_value
        raw = items.codes[:, j]
        blank = np.isnan(raw)
        with np.errstate(invalid="ignore"):
            fired = op(raw, threshold) & ~blank
        _append_names(names, fired, it.id)
        _append_names(unanswered, blank, it.id)
        any_fired |= fired
        any_unanswered |= blank
    flag = np.where(any_fired, 1.0, np.where(any_unanswered, np.nan, 0.0))
    prefix = inst.output_prefix
    return {
        f"{prefix}_critical": flag,
        f"{prefix}_critical_items": names,
        f"{prefix}_critical_unanswered": unanswered,
    }


def exclude_rows(frame: pd.DataFrame, inst: Instrument, reasons) -> pd.DataFrame:
    """Blank the scores of rows with an exclusion reason (e.g. a survey preview); status says why.

    Items answered (`_n`) and critical flags stay: they describe answers, and an alert on a
    response that is excluded from the analysis is still worth seeing.
    """
    reasons = pd.Series(np.asarray(reasons, dtype=object), index=frame.index)
    mask = reasons.notna().to_numpy()
    if not mask.any():
        return frame
    frame = frame.copy()
    statuses = [f"excluded: {r}" for r in pd.unique(reasons[mask])]
    bases = {cols.score_column(inst, name) for name in inst.scores}
    for name in inst.scores:
        base = cols.score_column(inst, name)
        # a score named `part_b` beside `part`: its columns start with `part_` too
        longer = [b for b in bases if b.startswith(f"{base}_")]
        for col in frame.columns:
            if any(col == b or col.startswith(f"{b}_") for b in longer):
                continue
            if col == base or col.startswith(f"{base}_"):
                if col in (f"{base}_n", f"{base}_status"):
                    continue
                series = frame[col]
                if isinstance(series.dtype, pd.CategoricalDtype):
                    frame[col] = series.mask(mask)
                else:
                    frame[col] = series.astype(float).mask(mask)
        status = frame[f"{base}_status"].cat.add_categories(
            [s for s in statuses if s not in frame[f"{base}_status"].cat.categories]
        )
        status[mask] = "excluded: " + reasons[mask]
        frame[f"{base}_status"] = status
    return frame
