"""Reliability of every score of an instrument: reverse-key per the definition, then analyse.

The link between the definition (which items form a score, which are reversed, the published
alpha) and the statistics in this package, which know nothing about instruments.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..batch import resolve_items
from ..columns import score_column
from ..errors import UsageError
from ..instrument import Instrument
from ..problems import Problem
from ..responses import FileMissing, ItemMatrix
from ..scoring import reverse_keyed, score
from .polychoric import CORRELATIONS, add_ordinal_reliability
from .scale import ScaleReliability, analyse_scale, tidy_items, tidy_summaries


def analyse_instrument(
    items: ItemMatrix,
    *,
    policy: str = "pairwise",
    omega: bool = True,
    n_boot: int = 0,
    seed: int | None = None,
    split_half: str = "all",
    nfactors: int = 3,
    groups: np.ndarray | None = None,
    by: str | None = None,
    impute: str = "none",
    correlations: str = "pearson",
) -> list[ScaleReliability]:
    """One ScaleReliability per item-based score (composites of scores are skipped).

    With ``groups`` (one label per row, None for a row without one) every statistic is also
    computed per group (``.groups``: (label, ScaleReliability) in sorted order; rows without a
    label form the group None), so that the groups' moments merge exactly into the overall.
    Each result carries its score's values (``.score_values``, as ``psyscore score`` computes
    them) for scale intercorrelations, M and SD; ``impute="mean"`` or ``"median"`` scores as
    psych::scoreItems does instead (see :func:`imputed_item_means`). The reliability statistics
    themselves never use imputed answers.
    """
    if impute not in IMPUTE_CHOICES:
        raise UsageError(f"--impute must be one of {', '.join(IMPUTE_CHOICES)}, not {impute!r}")
    if correlations not in CORRELATIONS:
        raise UsageError(
            f"--correlations must be one of {', '.join(CORRELATIONS)}, not {correlations!r}"
        )
    inst = items.instrument
    values = score(items)
    levels = group_levels(groups) if groups is not None else []
    by_id = {it.id: it for it in inst.items}
    results = []
    for name, spec in inst.scores.items():
        if spec.items is None:
            continue
        index = [inst.item_ids.index(i) for i in spec.items]
        # keyed as in this score: an item may be reversed in one score, forward in another
        keyed = reverse_keyed(items, spec)
        frame = pd.DataFrame(keyed[:, index], columns=spec.items)
        # floor/ceiling use the widest declared range when items differ (e.g. CSI-4 item 1 is 0-6)
        lows = [inst.scale_of(by_id[i]).min for i in spec.items]
        highs = [inst.scale_of(by_id[i]).max for i in spec.items]
        published = spec.published_reliability.alpha if spec.published_reliability else None
        options = dict(
            policy=policy,
            scale_min=min(lows),
            scale_max=max(highs),
            published_alpha=published,
            omega=omega,
            name=f"{inst.output_prefix}_{name}",
            n_boot=n_boot,
            seed=seed,
            split_half=split_half,
            nfactors=nfactors,
        )
        result = analyse_scale(frame, **options)
        if correlations == "polychoric":  # ordinal alpha and omega, beside the Pearson ones
            add_ordinal_reliability(result, frame, nfactors=nfactors, omega=omega)
        if impute == "none":
            scored = values[score_column(inst, name)].to_numpy(dtype=float)
        else:
            scored = imputed_item_means(frame.to_numpy(dtype=float), impute)
        _attach_score(result, scored)
        result.summary["score_method"] = SCORE_METHODS[impute]
        # keyed answers under instrument-qualified names, for scale overlap across instruments
        # an item this score keys against its own flag (a per-score reverse list) is "-id:item":
        # the same item with a negative key, as psych::scoreOverlap's signed keys
        by_item = {it.id: it for it in inst.items}
        names = [
            f"{'-' if spec.is_reversed(by_item[i]) != by_item[i].reverse else ''}{inst.id}:{i}"
            for i in spec.items
        ]
        result.keyed_items = frame.set_axis(names, axis=1)
        result.by = by
        for label, mask in levels:
            group = analyse_scale(frame.loc[mask], **options)
            if correlations == "polychoric":
                add_ordinal_reliability(group, frame.loc[mask], nfactors=nfactors, omega=omega)
            _attach_score(group, scored[mask])
            group.summary["score_method"] = SCORE_METHODS[impute]
            result.groups.append((label, group))
        results.append(result)
    return results


IMPUTE_CHOICES = ("none", "mean", "median")
SCORE_METHODS = {
    "none": "psyscore score (the definition's rule)",
    "mean": "mean of the keyed items, missing answers imputed with the item mean "
    "(psych::scoreItems impute='mean')",
    "median": "mean of the keyed items, missing answers imputed with the item median "
    "(psych::scoreItems impute='median')",
}


def imputed_item_means(keyed: np.ndarray, impute: str) -> np.ndarray:
    """Scale scores as psych::scoreItems(impute=, totals=FALSE): the row mean of the keyed items
    after each missing answer is replaced by its item's mean or median (over all rows).

    A row without any answer gets no score (NaN), unlike psych, which would give it the
    imputed values: a score made only of imputed answers is not a measurement.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an item without answers: NaN fill
        fill = np.nanmean(keyed, axis=0) if impute == "mean" else np.nanmedian(keyed, axis=0)
    missing = np.isnan(keyed)
    completed = np.where(missing, fill[None, :], keyed)
    scores = completed.mean(axis=1)
    scores[missing.all(axis=1)] = np.nan
    return scores


def _attach_score(result: ScaleReliability, scored: np.ndarray) -> None:
    """The score's values (as `psyscore score` gives them) and their n, M, SD (for tables)."""
    result.score_values = scored
    observed = scored[np.isfinite(scored)]
    result.summary["score_n"] = int(observed.size)
    result.summary["score_mean"] = float(observed.mean()) if observed.size else float("nan")
    result.summary["score_sd"] = float(observed.std(ddof=1)) if observed.size > 1 else float("nan")


def _label(value: object) -> str | None:
    """A group value as text: 2.0 (a numeric SPSS code) reads as "2"; missing -> None."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def group_levels(groups: np.ndarray) -> list[tuple[str | None, np.ndarray]]:
    """(label, row mask) per distinct group value, sorted; rows without a value last (None)."""
    labels = np.array([_label(v) for v in pd.Series(groups, dtype=object)], dtype=object)
    present = sorted({v for v in labels if v is not None}, key=_natural)
    out = [(v, labels == v) for v in present]
    missing = np.array([v is None for v in labels], dtype=bool)
    if missing.any():
        out.append((None, missing))
    return out


def _natural(text: str) -> tuple:
    # numeric codes in numeric order (2 before 10), text after them alphabetically
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text)


class DataProblemWarning(UserWarning):
    """Answers that were not valid and count as missing; the records are in ``.problems``."""

    def __init__(self, message: str, problems: list[Problem]):
        super().__init__(message)
        self.problems = problems


@dataclass
class InstrumentReliability:
    """Reliability of an instrument's scores, with the data problems found on the way.

    Unpacks as ``summary, items`` (the tuple of :func:`reliability`).
    """

    summary: pd.DataFrame
    items: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    results: list[ScaleReliability] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. an unverified key

    def __iter__(self) -> Iterator[pd.DataFrame]:
        return iter((self.summary, self.items))


def reliability_of(
    table: pd.DataFrame,
    instrument: Instrument,
    *,
    mapping: Mapping[str, str] | None = None,
    recodes: Mapping[str, Mapping[object, float]] | None = None,
    value_labels: Mapping[str, Mapping] | None = None,
    file_missing: FileMissing | None = None,
    keep: np.ndarray | None = None,
    policy: str = "pairwise",
    omega: bool = True,
    n_boot: int = 0,
    seed: int | None = None,
    split_half: str = "all",
    nfactors: int = 3,
    by: str | None = None,
    impute: str = "none",
    correlations: str = "pearson",
) -> tuple[list[ScaleReliability], list[Problem]]:
    """Resolve `table` with every check `psyscore score` makes, then analyse each score.

    The one path behind ``psyscore reliability`` and :func:`reliability`. `mapping` (column ->
    item id; other instruments' entries are ignored) and `recodes` come from a ``--map`` file,
    `value_labels` and `file_missing` from an SPSS file; `keep` (a boolean mask over rows) leaves
    out rows that are not respondents (survey previews). `by` names a column of `table` (site,
    gender, wave): every statistic is then also given per group (``.groups`` of each result).
    ``correlations="polychoric"`` adds ordinal alpha and omega from polychoric correlations
    (``ordinal_*`` in each summary; see :func:`~psyscore.psychometrics.polychoric.add_ordinal_reliability`).

    Raises
    ------
    DataError
        When the codes disagree with the definition's scale (value labels, or codes shifted by
        one as a survey tool's default recode values): alpha of shifted codes with a quarter of
        the answers out of range would look plausible and be wrong.
    UsageError
        When no column of `table` matches an item of the instrument, or an option is
        impossible (:class:`~psyscore.psychometrics.options.ReliabilityOptions`).
    """
    from .options import ReliabilityOptions

    options = ReliabilityOptions(  # an impossible option refused before any work (nfactors=0)
        policy=policy,
        omega=omega,
        n_boot=n_boot,
        seed=seed,
        split_half=split_half,
        nfactors=nfactors,
        by=by,
        impute=impute,
        correlations=correlations,
    )
    resolved = resolve_items(
        table,
        [instrument],
        mapping=mapping,
        file_missing=file_missing,
        recodes=recodes,
        value_labels=value_labels,
        invalid_as_missing=True,  # reliability leaves an invalid answer out, as missing
    )
    items, problems = resolved.items[instrument.id], resolved.problems[instrument.id]
    results = analyse_resolved(table, items, keep=keep, **options.analysis_options())
    return results, problems


def analyse_resolved(
    table: pd.DataFrame,
    items: ItemMatrix,
    *,
    keep: np.ndarray | None = None,
    policy: str = "pairwise",
    omega: bool = True,
    n_boot: int = 0,
    seed: int | None = None,
    split_half: str = "all",
    nfactors: int = 3,
    by: str | None = None,
    impute: str = "none",
    correlations: str = "pearson",
) -> list[ScaleReliability]:
    """Analyse an instrument's resolved answers (see :func:`reliability_of`); `table` holds the
    `by` column, `keep` the rows that are respondents."""
    groups = None
    if by is not None:
        if by not in table.columns:
            raise UsageError(
                f"--by {by}: no such column in the data (columns include "
                f"{', '.join(map(str, list(table.columns)[:5]))})"
            )
        groups = table[by].to_numpy(dtype=object)
        if keep is not None:
            groups = groups[keep]
    if keep is not None:
        # previews and spam are not respondents: they leave every statistic and every n
        items = ItemMatrix(
            items.instrument, items.codes[keep], items.reason[keep], items.reasons, items.columns
        )
    return analyse_instrument(
        items,
        policy=policy,
        omega=omega,
        n_boot=n_boot,
        seed=seed,
        split_half=split_half,
        nfactors=nfactors,
        groups=groups,
        by=by,
        impute=impute,
        correlations=correlations,
    )


def reliability_report(
    df: pd.DataFrame,
    instrument: Instrument,
    *,
    policy: str = "pairwise",
    omega: bool = True,
    mapping: Mapping[str, str] | None = None,
    recodes: Mapping[str, Mapping[object, float]] | None = None,
    value_labels: Mapping[str, Mapping] | None = None,
    file_missing: FileMissing | None = None,
    split_half: str = "all",
    nfactors: int = 3,
    by: str | None = None,
    impute: str = "none",
    correlations: str = "pearson",
) -> InstrumentReliability:
    """Reliability of every score of `instrument` in `df`, with the problems found.

    Parameters as :func:`reliability_of` (``by=COLUMN``: per-group rows in ``.summary``).
    Returns an :class:`InstrumentReliability`
    (``.summary``, ``.items``, ``.problems``: one record per answer that was not valid and
    counts as missing, or per item with no column).

    >>> import psyscore
    >>> df = psyscore.read("sample_data/intake_batch.csv").data
    >>> report = psyscore.reliability_report(df, psyscore.load("phq-9"), omega=False)
    >>> [(p.row, p.column, p.kind) for p in report.problems]
    [(18, 'phq9_3', 'out_of_range'), (212, 'phq9_6', 'out_of_range')]
    """
    results, problems = reliability_of(
        df,
        instrument,
        mapping=mapping,
        recodes=recodes,
        value_labels=value_labels,
        file_missing=file_missing,
        policy=policy,
        omega=omega,
        split_half=split_half,
        nfactors=nfactors,
        by=by,
        impute=impute,
        correlations=correlations,
    )
    return InstrumentReliability(
        tidy_summaries(results), tidy_items(results), problems, results, list(instrument.warnings)
    )


def reliability(
    df: pd.DataFrame,
    instrument: Instrument,
    *,
    policy: str = "pairwise",
    omega: bool = True,
    mapping: Mapping[str, str] | None = None,
    recodes: Mapping[str, Mapping[object, float]] | None = None,
    value_labels: Mapping[str, Mapping] | None = None,
    file_missing: FileMissing | None = None,
    split_half: str = "all",
    nfactors: int = 3,
    by: str | None = None,
    impute: str = "none",
    correlations: str = "pearson",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Notebook entry point: (summary per score, item statistics) as tidy DataFrames.

    Runs the checks of ``psyscore reliability``: shifted codes raise ``DataError``; answers that
    are not valid count as missing and are reported with a :class:`DataProblemWarning` (its
    ``.problems`` holds the records). :func:`reliability_report` returns them instead.

    >>> import psyscore
    >>> df = psyscore.read("sample_data/intake_batch.csv").data
    >>> summary, items = psyscore.reliability(df, psyscore.load("gad-7"), omega=False)
    >>> summary.loc[0, "score"], round(float(summary.loc[0, "alpha"]), 3)
    ('gad7_total', 0.882)
    """
    report = reliability_report(
        df,
        instrument,
        policy=policy,
        omega=omega,
        mapping=mapping,
        recodes=recodes,
        value_labels=value_labels,
        file_missing=file_missing,
        split_half=split_half,
        nfactors=nfactors,
        by=by,
        impute=impute,
        correlations=correlations,
    )
    if report.problems:
        warnings.warn(
            DataProblemWarning(problem_summary(instrument, report.problems), report.problems),
            stacklevel=2,
        )
    return report.summary, report.items


def problem_summary(instrument: Instrument, problems: list[Problem]) -> str:
    """One line per kind of problem with its columns, without any respondent's value."""
    by_kind: dict[str, list[Problem]] = {}
    for p in problems:
        by_kind.setdefault(p.kind, []).append(p)
    parts = []
    for kind, found in by_kind.items():
        columns = ", ".join(dict.fromkeys(str(p.column) for p in found if p.column))
        what = kind.replace("_", " ")
        parts.append(f"{len(found)} {what}" + (f" in {columns}" if columns else ""))
    return (
        f"{instrument.id}: {'; '.join(parts)}; these answers count as missing "
        "(the records are in this warning's .problems, or use psyscore.reliability_report)"
    )
