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

import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace

import numpy as np
import pandas as pd

from ._partitions import (
    Plan,
    check_codings,
    make_plan,
    mapping_for,
    merge_problems,
    observe_partition,
    score_part,
    table_and_reasons,
)
from .batch import score_table, stop_on_recode_mismatch
from .errors import DataError, UsageError
from .instrument import Instrument
from .problems import Problem
from .responses import (
    FileMissing,
    duplicate_ids,
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


def _coding_check(ddf: dd.DataFrame, plan: Plan):
    """A Delayed that is True when the codes fit the definitions, else raises DataError."""
    columns = plan.checked_columns
    if not columns:
        return dask.delayed(True)
    observe = dask.delayed(observe_partition, pure=True)
    parts = [observe(p, plan) for p in ddf[columns].to_delayed()]
    return dask.delayed(check_codings, pure=True)(parts, plan)


@contextmanager
def _callers_warning_filters() -> Iterator[None]:
    """Around a compute: give the caller back the warning filters and hooks it had before.

    Threads of a scheduler in this process (the threaded scheduler, a LocalCluster without
    processes) share the process's warning state, and ``warnings.catch_warnings`` is not
    thread-safe: pandas enters it thousands of times per partition (e.g. with
    ``simplefilter("ignore", UserWarning)`` in its dtype checks), and two threads interleaving
    leave that filter, or an old ``showwarning``, behind. Our DataProblemWarning is a
    UserWarning: it would be lost, and so would the user's later warnings. No partition task
    should change the caller's filters, so whatever changed during the compute is undone.
    """
    filters = warnings.filters
    entries = list(filters)
    hooks = {name: getattr(warnings, name) for name in _WARNING_HOOKS if hasattr(warnings, name)}
    try:
        yield
    finally:
        if warnings.filters is not filters or list(filters) != entries:
            filters[:] = entries
            warnings.filters = filters
            mutated = getattr(warnings, "_filters_mutated", None)  # private: drops caches
            if mutated is not None:
                mutated()
        for name, hook in hooks.items():
            if getattr(warnings, name) is not hook:
                setattr(warnings, name, hook)


# what catch_warnings saves and restores besides the filters (record=True swaps them)
_WARNING_HOOKS = ("showwarning", "_showwarnmsg_impl")


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


def _meta(frame: dd.DataFrame, plan: Plan) -> pd.DataFrame:
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
        return score_part(fake, plan, True).iloc[:0]
    except DataError:  # the fake answers of a categorical column may look like a coding
        return score_part(empty, plan, True)


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
    plan = make_plan(frame._meta, instruments, options, reason_column, ours)
    meta = _meta(frame, plan)
    if reason_column is not None:
        status = [c for c in meta.columns if str(c).endswith("_status") and c not in ddf.columns]
        meta = clear_known_categories(meta, cols=status)
    # Each partition's task takes the check's result as an argument, so no partition is scored
    # before the whole data passed it. (map_partitions with a Delayed argument would do the
    # same on recent Dask, but Dask 2025.1 passes the Delayed itself, unevaluated.)
    check = _coding_check(frame, plan)
    parts = [dask.delayed(score_part, pure=True)(p, plan, check) for p in frame.to_delayed()]
    divisions = frame.divisions if frame.known_divisions else None
    return dd.from_delayed(parts, meta=meta, divisions=divisions, verify_meta=False)


# ---- problems ---------------------------------------------------------------------------------


def _problems_part(part: pd.DataFrame, plan: Plan, checked: bool) -> tuple[int, list[Problem]]:
    table, reasons = table_and_reasons(part, plan)
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
    plan = make_plan(frame._meta, instruments, options, reason_column, ours)
    check = _coding_check(frame, plan)
    parts = [dask.delayed(_problems_part)(p, plan, check) for p in frame.to_delayed()]
    with _callers_warning_filters():
        if id_column:
            ids = dask.delayed(pd.concat)(ddf[[id_column]].to_delayed())
            (results, ids) = dask.compute(parts, ids)
            duplicates = duplicate_ids(ids, id_column)
        else:
            (results,) = dask.compute(parts)
    return duplicates + merge_problems(results, plan.instruments, plan.found)


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


def _moments_part(part: pd.DataFrame, plan: Plan, checked: bool):
    """Per item-based score, the Moments of the partition's (reverse-keyed) answers."""
    from ._partitions import score_moments
    from .responses import ItemMatrix

    (inst,) = plan.instruments
    table, reasons = table_and_reasons(part, plan)
    items, found_problems = resolve(
        inst,
        table,
        mapping=mapping_for(inst, plan.options.get("mapping")),
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
    moments = score_moments(items)
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
    plan = make_plan(frame._meta, [instrument], options, reason_column, ours)
    if not plan.found[0]:
        raise UsageError(
            f"no column of the data matches an item of {instrument.id} (expected names like "
            f"{', '.join(instrument.item_ids[:3])}). Rename the columns or give a mapping "
            "(--map FILE; from Python, mapping={column: item id})."
        )
    check = _coding_check(frame, plan)
    parts = [dask.delayed(_moments_part)(p, plan, check) for p in frame.to_delayed()]
    with _callers_warning_filters():  # so that our warning below reaches the caller
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
    with _callers_warning_filters():
        _attach_score_stats(results, ddf, instrument, options, exclude)
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


def _attach_score_stats(results, ddf, instrument, options, exclude) -> None:
    """n, M and SD of each score as ``psyscore score`` gives it (the in-memory report has them,
    for tables): two passes over the scored frame, so the SD is not taken from raw sums.

    As in memory, a score with an invalid answer is not given (``psyscore score``'s rule), though
    the reliability statistics count the answer as missing.
    The passes go partition by partition, not through Dask's frame arithmetic: subtracting the
    means (a pandas Series keyed by score name) from the frame would align the score names
    with the frame's divisions, which fails for an integer index.
    """
    from .psychometrics.instruments import SCORE_METHODS

    names = [r.summary["score"] for r in results]
    scored = score(ddf, [instrument], exclude=exclude, **options)[names].astype("float64")
    parts = scored.to_delayed()
    (sums,) = dask.compute([dask.delayed(_count_and_sum)(p) for p in parts])
    count = sum((c for c, _ in sums), pd.Series(0, index=names, dtype="int64"))
    total = sum((t for _, t in sums), pd.Series(0.0, index=names))
    mean = total / count.where(count > 0)
    (squares,) = dask.compute([dask.delayed(_squared_deviations)(p, mean) for p in parts])
    squares = sum(squares, pd.Series(0.0, index=names))
    for result in results:
        name = result.summary["score"]
        n = int(count[name])
        result.summary["score_n"] = n
        result.summary["score_mean"] = float(mean[name]) if n else float("nan")
        result.summary["score_sd"] = (
            float(np.sqrt(squares[name] / (n - 1))) if n > 1 else float("nan")
        )
        result.summary["score_method"] = SCORE_METHODS["none"]


def _count_and_sum(part: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    return part.count().astype("int64"), part.sum()


def _squared_deviations(part: pd.DataFrame, mean: pd.Series) -> pd.Series:
    return ((part - mean) ** 2).sum()
