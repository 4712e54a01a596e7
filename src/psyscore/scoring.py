"""The scoring engine: an ItemMatrix in, a DataFrame of scores out. Pure and vectorised.

For each score of an instrument: reverse-key from the declared scale range (never the observed one),
count answered items, apply the missing rule, form sum / mean / prorated sum, round, band, and
standardise against the default norm group. Critical items are flagged on the raw answer.
No I/O and no per-respondent Python loops, so the same function runs per chunk or per partition.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import columns as cols
from .instrument import Instrument, Score
from .norms import round_half_up, standard_scores  # noqa: F401 (round_half_up re-exported)
from .responses import ItemMatrix


def reverse_keyed(items: ItemMatrix) -> np.ndarray:
    """Codes with reverse-keyed items flipped as (scale min + scale max) - answer."""
    inst = items.instrument
    rev = np.array([it.reverse for it in inst.items])
    if not rev.any():
        return items.codes
    lo_hi = np.array([inst.scale_of(it).min + inst.scale_of(it).max for it in inst.items])
    return np.where(rev, lo_hi - items.codes, items.codes)


def status_categories(k: int, needed: int) -> tuple[list[str], np.ndarray]:
    """Status categories and, for 0..k answered items, the index of each count's status."""
    categories = ["scored", "prorated"] + [
        f"not scored: {n} of {k} items answered, needs {needed}" for n in range(needed)
    ]
    code_for_n = np.array([0 if n == k else 1 if n >= needed else 2 + n for n in range(k + 1)])
    return categories, code_for_n


class _ScoreResult:
    __slots__ = ("value", "n", "status_code", "labels")

    def __init__(
        self, value: np.ndarray, n: np.ndarray, status_code: np.ndarray, labels: list[str]
    ):
        self.value, self.n, self.status_code, self.labels = value, n, status_code, labels


def _keyed_column(inst: Instrument, items: ItemMatrix, j: int) -> np.ndarray:
    item = inst.items[j]
    raw = items.codes[:, j]
    if not item.reverse:
        return raw
    scale = inst.scale_of(item)
    return (scale.min + scale.max) - raw


def _item_score(inst: Instrument, score: Score, items: ItemMatrix) -> _ScoreResult:
    # Column by column over the whole batch: no n x k temporaries, contiguous reads (the item
    # matrix is column-major), and the Python loop runs over items, never over respondents.
    index = [inst.item_ids.index(i) for i in score.items or []]
    n = np.zeros(items.n, dtype=np.int16)
    total = np.zeros(items.n)
    for j in index:
        column = _keyed_column(inst, items, j)
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
    return _ScoreResult(value, n, code_for_n[n], labels)


def _composite(score: Score, parts: list[_ScoreResult]) -> _ScoreResult:
    values = np.column_stack([p.value for p in parts])
    n = np.sum([p.n for p in parts], axis=0)
    complete = ~np.isnan(values).any(axis=1)
    prorated = np.any([p.status_code == 1 for p in parts], axis=0)
    value = values.mean(axis=1) if score.method == "mean" else values.sum(axis=1)
    value = np.where(complete, value, np.nan)
    labels = ["scored", "prorated", "not scored: a component score is missing"]
    status = np.where(complete, np.where(prorated, 1, 0), 2)
    return _ScoreResult(value, n, status, labels)


def band_labels(values: np.ndarray, bands) -> pd.Categorical:
    """Label of the first band whose inclusive upper bound is >= value; missing stays missing."""
    uppers = np.array([b.upto for b in bands])
    idx = np.searchsorted(uppers, values, side="left")
    idx = np.where(np.isnan(values) | (idx >= len(uppers)), -1, idx)
    return pd.Categorical.from_codes(idx, categories=[b.label for b in bands])


def score(items: ItemMatrix, *, norm_group: str | None = None) -> pd.DataFrame:
    """Score one instrument for every respondent. Returns new columns only, in a stable order.

    Columns per score: value, `_n` (items answered), `_status`, `_band[_set]`, and with norms
    `_z`, `_t`, `_pct`; per instrument `_critical` (0/1) and `_critical_items` when the
    definition has critical items.
    """
    inst = items.instrument
    results: dict[str, _ScoreResult] = {}
    out: dict[str, object] = {}
    for name, spec in inst.scores.items():
        if spec.items is not None:
            res = _item_score(inst, spec, items)
        else:
            res = _composite(spec, [results[m] for m in spec.scores or []])
        res.value = round_half_up(res.value, spec.rounding)
        results[name] = res
        base = cols.score_column(inst, name)
        out[base] = res.value
        out[f"{base}_n"] = res.n
        out[f"{base}_status"] = pd.Categorical.from_codes(res.status_code, categories=res.labels)
        for i, band_set in enumerate(spec.bands):
            out[cols.band_column(inst, name, band_set, i)] = band_labels(res.value, band_set.bands)
        if spec.norms:
            group = _pick_norm(spec, norm_group)
            z, t, pct = standard_scores(res.value, group.mean, group.sd)
            out[f"{base}_z"], out[f"{base}_t"], out[f"{base}_pct"] = z, t, pct
    out.update(critical_flags(items))
    return pd.DataFrame(out, index=pd.RangeIndex(items.n))


def _pick_norm(spec: Score, group: str | None):
    if group is None:
        return spec.norms[0]
    for g in spec.norms:
        if g.group.lower() == group.lower():
            return g
    return spec.norms[0]


def critical_flags(items: ItemMatrix) -> dict[str, object]:
    """`_critical` is 1 when any critical rule fires on a raw answer; `_critical_items` names them."""
    inst = items.instrument
    critical = [(j, it) for j, it in enumerate(inst.items) if it.critical is not None]
    if not critical:
        return {}
    names = np.full(items.n, "", dtype=object)
    any_fired = np.zeros(items.n, dtype=bool)
    for j, it in critical:
        op, threshold = it.critical.op_and_value
        raw = items.codes[:, j]
        with np.errstate(invalid="ignore"):
            fired = op(raw, threshold) & ~np.isnan(raw)
        if fired.any():
            names[fired] = np.where(names[fired] == "", it.id, names[fired] + " " + it.id)
        any_fired |= fired
    prefix = inst.output_prefix
    return {f"{prefix}_critical": any_fired.astype(np.int8), f"{prefix}_critical_items": names}


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
    for name in inst.scores:
        base = cols.score_column(inst, name)
        for col in frame.columns:
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
