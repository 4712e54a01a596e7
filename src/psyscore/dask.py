"""Score and analyse a Dask DataFrame partition by partition, checked on the whole data.

Three entry points, each the counterpart of an in-memory one::

    import psyscore, psyscore.dask
    inst = psyscore.load("phq-9")
    scored = psyscore.dask.score(ddf, [inst])            # a lazy Dask DataFrame
    found = psyscore.dask.problems(ddf, [inst])          # list of Problem, rows of the whole frame
    summary, items = psyscore.dask.reliability(ddf, inst)  # as psyscore.reliability

What a partition cannot see on its own is computed over all partitions:

* shifted codings (0-4 data for a 1-5 definition): each partition reports, per item column, the
  smallest and largest answer and how many cells lie outside the scale; the merged numbers go
  through the engine's own rule, so a coding that is shifted only in the whole data stops
  scoring (``DataError`` on ``compute()``) exactly as ``score_table`` does, and a partition that
  merely looks shifted on its own (two typos, no top answer) does not;
* problem rows: numbered 1.. over the whole frame (partition offsets added), per-column caps
  applied to the whole frame; repeated respondent ids (``id_column``) are found over the whole
  id column (gathered to the client: one column);
* reliability: the sufficient statistics (:class:`~psyscore.psychometrics.Moments`) of each
  partition are merged, then analysed once; for integer codes the result is the in-memory one.

Requires the optional extra ``psyscore[dask]``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .batch import score_table, stop_on_recode_mismatch
from .errors import DataError, UsageError
from .instrument import Instrument
from .mapping import check_mapped_items
from .problems import MAX_CELL_RECORDS, Problem
from .responses import (
    FileMissing,
    _observe,
    _Observed,
    _shifted_coding,
    duplicate_ids,
    match_columns,
    recode_mismatches,
    resolve,
)

try:
    import dask
    import dask.dataframe as dd
    from dask.dataframe.utils import clear_known_categories
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "psyscore.dask needs Dask: pip install 'psyscore[dask]' (dask[dataframe] and distributed)"
    ) from exc

__all__ = ["problems", "qualtrics_exclusions", "reliability", "score"]

# the temporary column that carries exclusion reasons given as a Dask Series
_REASON_COLUMN = "__psyscore_exclude__"
_MORE_CELLS = re.compile(r"^(\d+) more cells like this in this column$")


# ---- the plan: what every partition needs, worked out once from the columns -------------------


@dataclass(frozen=True)
class _Plan:
    """Per instrument, the item -> column match and the columns whose coding is checked."""

    instruments: tuple[Instrument, ...]
    found: tuple[dict[str, str], ...]  # per instrument: item id -> column
    observed: tuple[tuple[str, ...], ...]  # per instrument: item ids checked for a shift
    options: dict  # score_table keyword arguments (without exclude and id_column)
    exclude_column: str | None  # the column holding exclusion reasons, if any
    drop_column: bool  # that column is ours (from a Dask Series): drop it before scoring

    @property
    def recodes(self) -> dict:
        return dict(self.options.get("recodes") or {})

    def partition_recodes(self, table: pd.DataFrame) -> dict:
        """The user's recodes plus an identity recode of every other item column.

        The engine skips its shifted-coding check for a recoded column. That check needs the
        whole data (one partition with two typos and no top answer would look shifted), so it
        runs over all partitions (`_coding_check`) and is switched off per partition this way.
        An empty recode leaves every value as it is. Categorical columns keep the partition
        check: recoding them would turn their codes into numbers and change problem kinds.
        """
        recodes = self.recodes
        for found in self.found:
            for column in found.values():
                if column not in recodes and not isinstance(
                    table[column].dtype, pd.CategoricalDtype
                ):
                    recodes[column] = {}
        return recodes


def _mapping_for(inst: Instrument, mapping: Mapping[str, str] | None) -> dict[str, str]:
    wanted = set(inst.item_ids)
    return {c: i for c, i in (mapping or {}).items() if i in wanted}


def _make_plan(
    ddf: dd.DataFrame,
    instruments: Sequence[Instrument],
    options: dict,
    exclude_column: str | None,
    drop_column: bool,
) -> _Plan:
    instruments = tuple(instruments)
    mapping = options.get("mapping")
    check_mapped_items(mapping or {}, instruments)
    empty = ddf._meta
    recodes = options.get("recodes") or {}
    value_labels = options.get("value_labels") or {}
    founds, observed = [], []
    for inst in instruments:
        found, _ = match_columns(inst, list(empty.columns), _mapping_for(inst, mapping))
        # label disagreements need no data: the engine reports them per partition (and stops)
        labelled = {
            p.column
            for p in recode_mismatches(
                inst, empty, found, value_labels, recodes, file_missing=options.get("file_missing")
            )
        }
        founds.append(found)
        observed.append(
            tuple(
                item
                for item, column in found.items()
                if column not in labelled and column not in recodes
            )
        )
    return _Plan(instruments, tuple(founds), tuple(observed), options, exclude_column, drop_column)


# ---- the shifted-coding check over the whole data ---------------------------------------------


def _observe_partition(part: pd.DataFrame, plan: _Plan) -> list[list[_Observed | None]]:
    """Per instrument and checked item: what the partition's column spans (engine's `_observe`)."""
    fm = plan.options.get("file_missing")
    out = []
    for inst, found, items in zip(plan.instruments, plan.found, plan.observed, strict=True):
        by_id = {it.id: it for it in inst.items}
        out.append([_observe(inst, by_id[i], found[i], part[found[i]], fm) for i in items])
    return out


def _merge_observed(a: _Observed | None, b: _Observed | None) -> _Observed | None:
    """The span of two sets of rows: min of minima, max of maxima, outside cells added."""
    if a is None:
        return b
    if b is None:
        return a
    return replace(
        a,
        vmin=min(a.vmin, b.vmin),
        vmax=max(a.vmax, b.vmax),
        outside=a.outside + b.outside,
        integral=a.integral and b.integral,
    )


def _check_codings(observations: list, plan: _Plan) -> bool:
    """Raise the engine's DataError when the whole data fit a shifted coding."""
    found_problems: list[Problem] = []
    for i, inst in enumerate(plan.instruments):
        merged: list[_Observed | None] = [None] * len(plan.observed[i])
        for part in observations:
            merged = [_merge_observed(m, o) for m, o in zip(merged, part[i], strict=True)]
        found_problems.extend(_shifted_coding(inst, [m for m in merged if m is not None]))
    stop_on_recode_mismatch(found_problems)
    return True


def _coding_check(ddf: dd.DataFrame, plan: _Plan):
    """A Delayed that is True when the codes fit the definitions, else raises DataError."""
    columns = list(
        dict.fromkeys(
            found[item]
            for found, items in zip(plan.found, plan.observed, strict=True)
            for item in items
        )
    )
    if not columns:
        return dask.delayed(True)
    observe = dask.delayed(_observe_partition, pure=True)
    parts = [observe(p, plan) for p in ddf[columns].to_delayed()]
    return dask.delayed(_check_codings, pure=True)(parts, plan)


# ---- scoring ----------------------------------------------------------------------------------


def _split_exclude(ddf: dd.DataFrame, exclude) -> tuple[dd.DataFrame, str | None, bool]:
    """(frame, reason column, whether that column is ours) for `exclude` as name or Series."""
    if exclude is None:
        return ddf, None, False
    if isinstance(exclude, str):
        if exclude not in ddf.columns:
            raise UsageError(f"exclude={exclude!r} is not a column of the data")
        return ddf, exclude, False
    if isinstance(exclude, dd.Series):
        return ddf.assign(**{_REASON_COLUMN: exclude}), _REASON_COLUMN, True
    raise UsageError(
        "exclude= takes a column name or a Dask Series of reasons aligned with the frame "
        "(e.g. psyscore.dask.qualtrics_exclusions(ddf)); a list cannot be split into partitions"
    )


def _score_part(part: pd.DataFrame, plan: _Plan, checked: bool) -> pd.DataFrame:
    """`score_table` on one partition, its coding already checked on the whole data."""
    table, reasons = _table_and_reasons(part, plan)
    options = {k: v for k, v in plan.options.items() if k != "id_column"}
    options["recodes"] = plan.partition_recodes(table)
    return score_table(table, list(plan.instruments), exclude=reasons, **options).table


def _table_and_reasons(part: pd.DataFrame, plan: _Plan):
    if plan.exclude_column is None:
        return part, None
    reasons = part[plan.exclude_column].to_numpy(dtype=object)
    table = part.drop(columns=[plan.exclude_column]) if plan.drop_column else part
    return table, reasons


def _meta(frame: dd.DataFrame, plan: _Plan) -> pd.DataFrame:
    """The empty result with the partitions' dtypes: a fake row scored, then dropped.

    A row is needed: pandas gives an empty text column another dtype than a filled one.
    """
    fake, empty = frame._meta_nonempty, frame._meta
    if plan.exclude_column is not None:  # fake reasons are no text; the categories are unknown
        if plan.drop_column:
            fake, empty = (
                fake.drop(columns=[plan.exclude_column]),
                empty.drop(columns=[plan.exclude_column]),
            )
        plan = replace(plan, exclude_column=None, drop_column=False)
    try:
        return _score_part(fake, plan, True).iloc[:0]
    except DataError:  # the fake answers of a categorical column may look like a coding
        return _score_part(empty, plan, True)


def score(ddf: dd.DataFrame, instruments: Sequence[Instrument], *, exclude=None, **options):
    """Score a Dask DataFrame: ``psyscore.score_table(...).table``, one partition at a time.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        The responses, one row per respondent; any index.
    instruments : sequence of Instrument
        As for :func:`psyscore.score_table`.
    exclude : str or dask Series, optional
        Per row a reason not to score it (None/NA: score it): the name of a column of `ddf`,
        or a Dask Series aligned with `ddf`, e.g. :func:`qualtrics_exclusions`.
    **options
        Every other keyword of :func:`psyscore.score_table` (mapping, recodes, value_labels,
        file_missing, invalid_as_missing, norm_group, replace_scores, id_column).

    Returns
    -------
    dask.dataframe.DataFrame
        Lazy; every input column, then the score columns, with the dtypes of the in-memory
        result. Status columns have known categories unless `exclude` is given (then the
        "excluded: ..." categories depend on the data: ``.cat.as_known()`` computes them).

    Raises
    ------
    DataError
        On ``compute()``, when the codes of the whole data are shifted against a definition
        (as ``score_table`` raises); the check reads only the item columns.
    UsageError
        At once, for what the columns alone show (unknown mapped item, no matching column,
        score columns already present, duplicate column names).
    """
    options = dict(options)
    frame, reason_column, ours = _split_exclude(ddf, exclude)
    if options.get("id_column") and options["id_column"] not in ddf.columns:
        duplicate_ids(ddf._meta, options["id_column"])  # raises the engine's UsageError
    plan = _make_plan(frame, instruments, options, reason_column, ours)
    meta = _meta(frame, plan)
    if reason_column is not None:
        status = [c for c in meta.columns if str(c).endswith("_status") and c not in ddf.columns]
        meta = clear_known_categories(meta, cols=status)
    return frame.map_partitions(_score_part, plan, _coding_check(frame, plan), meta=meta)


# ---- problems ---------------------------------------------------------------------------------


def _problems_part(part: pd.DataFrame, plan: _Plan, checked: bool) -> tuple[int, list[Problem]]:
    table, reasons = _table_and_reasons(part, plan)
    options = {k: v for k, v in plan.options.items() if k != "id_column"}
    options["recodes"] = plan.partition_recodes(table)
    result = score_table(table, list(plan.instruments), exclude=reasons, **options)
    return len(table), result.problems


def problems(
    ddf: dd.DataFrame, instruments: Sequence[Instrument], *, exclude=None, **options
) -> list[Problem]:
    """The data problems ``score_table`` would report for the whole frame (computes).

    Rows are 1-based positions in the whole frame (partition offsets added), cell records are
    capped per column over the whole frame as the engine does. Raises ``DataError`` for shifted
    codings, as :func:`score` does on compute.
    """
    options = dict(options)
    frame, reason_column, ours = _split_exclude(ddf, exclude)
    id_column = options.get("id_column")
    duplicates: list[Problem] = []
    if id_column:
        duplicate_ids(ddf._meta, id_column)  # a missing column is a usage error, at once
    plan = _make_plan(frame, instruments, options, reason_column, ours)
    check = _coding_check(frame, plan)
    parts = [dask.delayed(_problems_part)(p, plan, check) for p in frame.to_delayed()]
    if id_column:
        ids = dask.delayed(pd.concat)(ddf[[id_column]].to_delayed())
        (results, ids) = dask.compute(parts, ids)
        duplicates = duplicate_ids(ids, id_column)
    else:
        (results,) = dask.compute(parts)
    return duplicates + merge_problems(results, plan.instruments, plan.found)


def merge_problems(
    results: Sequence[tuple[int, list[Problem]]],
    instruments: Sequence[Instrument],
    found: Sequence[Mapping[str, str]],
) -> list[Problem]:
    """One list from the (row count, problems) of consecutive partitions, as for the whole.

    Records without a row (no column for an item, a column that looks like an item) are the
    same in every partition: those of the first are kept. Cell records get the partition's row
    offset and are capped at MAX_CELL_RECORDS per instrument, kind and column, with one summary
    record counting the rest. The order is the engine's: per instrument, column records first,
    then item by item, rows ascending.
    """
    position = {inst.id: i for i, inst in enumerate(instruments)}
    item_of = [
        {column: inst.item_ids.index(item) for item, column in f.items()}
        for inst, f in zip(instruments, found, strict=True)
    ]
    structural: list[Problem] = []
    cells: dict[tuple, list[Problem]] = {}
    hidden: dict[tuple, int] = {}
    hints: dict[tuple, set[str]] = {}
    offset = 0
    for number, (n_rows, found_here) in enumerate(results):
        for p in found_here:
            key = (p.instrument, p.kind, p.column)
            more = _MORE_CELLS.match(p.message) if p.row is None else None
            if p.row is not None:
                cells.setdefault(key, []).append(replace(p, row=p.row + offset))
                hints.setdefault(key, set()).add(p.hint)
            elif more is not None:
                hidden[key] = hidden.get(key, 0) + int(more.group(1))
            elif number == 0:  # the same in every partition, even an empty one
                structural.append(p)
        offset += n_rows

    def order(p: Problem) -> tuple:
        i = position.get(p.instrument or "", -1)
        item = item_of[i].get(p.column, -1) if i >= 0 else -1
        if p.kind == "missing_column":
            item = _missing_item(instruments[i], p) if i >= 0 else -1
        return (i, item)

    out = list(structural)
    for key, records in cells.items():
        records.sort(key=lambda p: p.row)
        hint = _one_hint(hints[key])
        total = len(records) + hidden.get(key, 0)
        kept = [replace(p, hint=hint) for p in records[:MAX_CELL_RECORDS]]
        out.extend(kept)
        if total > MAX_CELL_RECORDS:
            first = records[0]
            out.append(
                Problem(
                    kind=first.kind,
                    message=f"{total - MAX_CELL_RECORDS} more cells like this in this column",
                    hint=hint,
                    column=first.column,
                    instrument=first.instrument,
                )
            )
    # stable: within one (instrument, item), column records first, then cells by row
    return sorted(out, key=order)


def _missing_item(inst: Instrument, p: Problem) -> int:
    for j, item in enumerate(inst.item_ids):
        if f"item {item} (" in p.message:
            return j
    return -1


def _one_hint(hints: set[str]) -> str:
    """The partitions' hint for a column; the coding suggestion only when they all agree.

    The engine suggests an alternative coding when every invalid value of the column fits it;
    partitions that agree agree with the whole data, ones that differ cannot tell.
    """
    if len(hints) == 1:
        return next(iter(hints))
    return sorted(h.split("; if the file uses", 1)[0] for h in hints)[0]


# ---- exclusions -------------------------------------------------------------------------------


def qualtrics_exclusions(
    ddf: dd.DataFrame,
    *,
    previews: bool = False,
    spam: bool = False,
    value_labels: Mapping[str, Mapping] | None = None,
):
    """Per row the reason not to score it in a Qualtrics export (None: score), as a Dask Series.

    What ``psyscore score`` leaves out by the Status (and DistributionChannel) column: survey
    previews, tests and spam; `previews` / `spam` True let those in. Pass it as ``exclude=``.
    """
    from .io.qualtrics import response_exclusions

    def reasons(part: pd.DataFrame) -> pd.Series:
        found = response_exclusions(part, value_labels).keep(previews=previews, spam=spam)
        values = found.reasons if found.reasons is not None else np.full(len(part), None)
        return pd.Series(np.asarray(values, dtype=object), index=part.index, dtype=object)

    return ddf.map_partitions(reasons, meta=pd.Series([], dtype=object))


# ---- reliability ------------------------------------------------------------------------------


def _moments_part(part: pd.DataFrame, plan: _Plan, checked: bool):
    """Per item-based score, the Moments of the partition's (reverse-keyed) answers."""
    from .psychometrics import Moments
    from .responses import ItemMatrix
    from .scoring import reverse_keyed

    (inst,) = plan.instruments
    table, reasons = _table_and_reasons(part, plan)
    items, found_problems = resolve(
        inst,
        table,
        mapping=_mapping_for(inst, plan.options.get("mapping")),
        file_missing=plan.options.get("file_missing"),
        recodes=plan.partition_recodes(table),
        value_labels=plan.options.get("value_labels"),
    )
    stop_on_recode_mismatch(found_problems)  # labels that disagree (the same in every partition)
    if reasons is not None:
        keep = pd.isna(reasons)
        items = ItemMatrix(
            inst, items.codes[keep], items.reason[keep], items.reasons, items.columns
        )
    keyed = reverse_keyed(items)
    moments = {}
    for name, spec in inst.scores.items():
        if spec.items is None:
            continue
        index = [inst.item_ids.index(i) for i in spec.items]
        moments[name] = Moments.from_data(pd.DataFrame(keyed[:, index], columns=spec.items))
    return moments, (len(table), found_problems)


def _merge_moments(parts: list) -> tuple[dict, list]:
    merged: dict = {}
    for moments, _ in parts:
        for name, m in moments.items():
            merged[name] = m if name not in merged else merged[name] + m
    return merged, [counted for _, counted in parts]


def reliability(
    ddf: dd.DataFrame,
    instrument: Instrument,
    *,
    policy: str = "pairwise",
    omega: bool = True,
    mapping: Mapping[str, str] | None = None,
    recodes: Mapping[str, Mapping[object, float]] | None = None,
    value_labels: Mapping[str, Mapping] | None = None,
    file_missing: FileMissing | None = None,
    exclude=None,
):
    """Reliability of every score of `instrument` over a whole Dask DataFrame (computes).

    The statistics of each partition are merged and analysed once, so the report is the one
    :func:`psyscore.reliability_report` gives for the same rows (equal for integer codes, up
    to summation order otherwise). Unpacks as ``summary, items`` like
    :func:`psyscore.reliability`, and warns with a ``DataProblemWarning`` as it does when
    answers were not valid; ``.problems`` holds the records (rows of the whole frame).
    `exclude` (column name or Dask Series of reasons) leaves rows out, as the CLI leaves out
    survey previews. No bootstrap interval (it needs the rows together).
    """
    from .psychometrics.instruments import (
        DataProblemWarning,
        InstrumentReliability,
        problem_summary,
    )
    from .psychometrics.scale import analyse_moments, tidy_items, tidy_summaries

    options = {"mapping": mapping, "recodes": recodes, "value_labels": value_labels}
    options["file_missing"] = file_missing
    frame, reason_column, ours = _split_exclude(ddf, exclude)
    plan = _make_plan(frame, [instrument], options, reason_column, ours)
    if not plan.found[0]:
        raise UsageError(
            f"no column of the data matches an item of {instrument.id} (expected names like "
            f"{', '.join(instrument.item_ids[:3])}). Rename the columns or give a mapping "
            "(--map FILE; from Python, mapping={column: item id})."
        )
    check = _coding_check(frame, plan)
    parts = [dask.delayed(_moments_part)(p, plan, check) for p in frame.to_delayed()]
    merged, counted = dask.compute(dask.delayed(_merge_moments)(parts))[0]
    found_problems = merge_problems(counted, plan.instruments, plan.found)
    by_id = {it.id: it for it in instrument.items}
    results = []
    for name, spec in instrument.scores.items():
        if spec.items is None:
            continue
        published = spec.published_reliability.alpha if spec.published_reliability else None
        results.append(
            analyse_moments(
                merged[name],
                policy=policy,
                scale_min=min(instrument.scale_of(by_id[i]).min for i in spec.items),
                scale_max=max(instrument.scale_of(by_id[i]).max for i in spec.items),
                published_alpha=published,
                omega=omega,
                name=f"{instrument.output_prefix}_{name}",
            )
        )
    report = InstrumentReliability(
        tidy_summaries(results),
        tidy_items(results),
        found_problems,
        results,
        list(instrument.warnings),
    )
    if found_problems:
        warnings.warn(
            DataProblemWarning(problem_summary(instrument, found_problems), found_problems),
            stacklevel=2,
        )
    return report
