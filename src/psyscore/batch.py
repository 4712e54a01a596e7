"""Score a whole table with one or more instruments: resolve, score, join. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import DataError, UsageError
from .instrument import Instrument
from .mapping import check_mapped_items
from .norms import norm_rows_from_table, parse_norm_by
from .problems import Problem
from .responses import FileMissing, ItemMatrix, duplicate_ids, resolve
from .scoring import NormNoteList, exclude_rows, score


@dataclass
class ResolvedItems:
    """The answers of each instrument resolved to codes, with the problems found on the way.

    What :func:`resolve_items` returns: the one resolve step behind scoring, reliability, intake
    and the Python API (mapping, recodes, value labels, user-missing codes, coding checks).
    """

    items: dict[str, ItemMatrix]  # instrument id -> its item matrix
    problems: dict[str, list[Problem]]  # instrument id -> problems (rows as data rows, 1-based)
    warnings: list[str] = field(default_factory=list)  # from the definitions (unverified keys)

    @property
    def all_problems(self) -> list[Problem]:
        return [p for found in self.problems.values() for p in found]


def resolve_items(
    table: pd.DataFrame,
    instruments: Sequence[Instrument],
    *,
    mapping: Mapping[str, str] | None = None,
    file_missing: FileMissing | None = None,
    recodes: Mapping[str, Mapping[object, float]] | None = None,
    value_labels: Mapping[str, Mapping] | None = None,
    invalid_as_missing: bool = False,
) -> ResolvedItems:
    """Resolve every instrument's answers in `table`, refusing what cannot be scored right.

    Raises
    ------
    UsageError
        When the data has duplicate column names, or no column matches an item of an instrument.
    DataError
        When codes disagree with a definition's scale (value labels, or codes shifted by one as a
        survey tool's default recode values): the message holds the mapping file that fixes it.
    """
    if table.columns.duplicated().any():
        dup = sorted({str(c) for c in table.columns[table.columns.duplicated()]})
        raise UsageError(
            f"the data has duplicate column names: {', '.join(dup)}; rename them first"
        )
    matrices: dict[str, ItemMatrix] = {}
    problems: dict[str, list[Problem]] = {}
    warnings: list[str] = []
    for inst in instruments:
        inst_map = {c: i for c, i in (mapping or {}).items() if i in set(inst.item_ids)}
        items, found = resolve(
            inst,
            table,
            mapping=inst_map,
            file_missing=file_missing,
            recodes=recodes,
            value_labels=value_labels,
            invalid_as_missing=invalid_as_missing,
        )
        if all(c is None for c in items.columns):
            raise UsageError(
                f"no column of the data matches an item of {inst.id} (expected names like "
                f"{', '.join(inst.item_ids[:3])}). Rename the columns or give a mapping "
                "(--map FILE; from Python, psyscore.read(..., map=FILE) or mapping={column: item "
                "id})."
            )
        matrices[inst.id] = items
        problems[inst.id] = found
        warnings.extend(inst.warnings)
    stop_on_recode_mismatch([p for found in problems.values() for p in found])
    return ResolvedItems(matrices, problems, warnings)


@dataclass
class BatchResult:
    table: pd.DataFrame  # every input column in order, then the score columns
    scores: dict[str, pd.DataFrame]  # instrument id -> its score columns
    items: dict[str, ItemMatrix]
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    norm_group: str | None = None  # the norm group asked for by name
    # "sex"/"age" -> column: with norm_group, what `columns.output_columns` labels z/T against
    norm_by: dict[str, str] = field(default_factory=dict)
    # the warnings about z, T and percentiles only (also in `warnings`): a caller that does not
    # output standard scores (retest) leaves them out
    norm_notes: list[str] = field(default_factory=list)
    # the same as records (scoring.NormNote), which chunks of a file merge
    norm_note_records: list = field(default_factory=list)


def score_table(
    table: pd.DataFrame,
    instruments: Sequence[Instrument],
    *,
    id_column: str | None = None,
    mapping: Mapping[str, str] | None = None,
    file_missing: FileMissing | None = None,
    replace_scores: bool = False,
    recodes: Mapping[str, Mapping[object, float]] | None = None,
    value_labels: Mapping[str, Mapping] | None = None,
    exclude: Sequence[str | None] | np.ndarray | None = None,
    invalid_as_missing: bool = False,
    norm_group: str | None = None,
    norm_by: str | Mapping[str, str] | None = None,
    resolved: ResolvedItems | None = None,
) -> BatchResult:
    """Score `table` with each instrument; input rows and columns are kept as they are, in order.

    `recodes` (column -> file value -> code) come from a mapping file; `value_labels` (column ->
    code -> label, from SPSS) are checked against each scale, and codes that disagree with the
    definition (or fit another coding of it, e.g. K10 coded 0-4) stop scoring with a `DataError`
    that says which recode or instrument fixes them. `exclude` gives per row a reason not to score
    it (e.g. "survey preview") or None: such rows stay in the table, with empty scores and the
    reason as their status.

    An invalid answer leaves every score that uses the item unscored for that row (status
    `not scored: invalid answer in ITEM`); `invalid_as_missing=True` treats it as missing instead
    and adds a sentence saying so to `warnings`. `norm_group` names the norm group for z/T (an
    unknown name is a `UsageError`). `norm_by` ("sex=gender,age=age_years", or that mapping)
    picks each row's norm group from those columns instead, as intake picks a client's
    (`psyscore.norms.covering_group`), and adds `{score}_norm_group` saying which group each row
    used (or why none: such a row gets no z, T or percentile). z and T beyond |z| > 4 are left
    empty, never extrapolated; `warnings` say which rows. Every frame in the result keeps
    `table`'s index.

    `resolved` is the output of :func:`resolve_items` for the same table and instruments (what
    :meth:`psyscore.Survey.score` passes, so the answers are resolved once); without it the
    answers are resolved here, with the same checks.
    """
    check_mapped_items(mapping or {}, instruments)  # a typo'd item would be silently unmapped
    problems: list[Problem] = []
    warnings: list[str] = []
    if id_column:
        problems.extend(duplicate_ids(table, id_column))
    norm_rows = None
    norm_columns = parse_norm_by(norm_by)
    if norm_columns:
        if norm_group is not None:
            raise UsageError("give either a norm group by name or --norm-by, not both")
        norm_rows, said = norm_rows_from_table(table, norm_columns, value_labels)
        warnings.extend(said)
    if resolved is None:
        resolved = resolve_items(
            table,
            instruments,
            mapping=mapping,
            file_missing=file_missing,
            recodes=recodes,
            value_labels=value_labels,
            invalid_as_missing=invalid_as_missing,
        )
    problems.extend(resolved.all_problems)
    warnings.extend(resolved.warnings)
    scored: dict[str, pd.DataFrame] = {}
    matrices: dict[str, ItemMatrix] = {}
    norm_notes = NormNoteList()  # rows beyond the norm, without a group, not in a table
    for inst in instruments:
        items = resolved.items[inst.id]
        matrices[inst.id] = items
        scored[inst.id] = score(
            items,
            norm_group=norm_group,
            invalid_as_missing=invalid_as_missing,
            index=table.index,
            norm_rows=norm_rows,
            notes=norm_notes,
        )
        if exclude is not None:
            scored[inst.id] = exclude_rows(scored[inst.id], inst, exclude)
    norm_texts = [n.text() for n in norm_notes]
    warnings.extend(norm_texts)
    if invalid_as_missing:
        warnings.append(invalid_as_missing_note(matrices.values()))
    new = pd.concat(list(scored.values()), axis=1) if scored else pd.DataFrame(index=table.index)
    clash = [c for c in new.columns if c in table.columns]
    if clash and not replace_scores:
        raise UsageError(
            f"the data already has score columns {', '.join(clash[:5])}"
            f"{' ...' if len(clash) > 5 else ''}; was it scored before? "
            "Use --replace-scores to recompute them."
        )
    base = table.drop(columns=clash) if clash else table
    new.index = base.index
    return BatchResult(
        pd.concat([base, new], axis=1),
        scored,
        matrices,
        problems,
        warnings,
        norm_group=norm_group,
        norm_by=norm_columns,
        norm_notes=norm_texts,
        norm_note_records=list(norm_notes),
    )


def invalid_as_missing_note(matrices) -> str:
    """The sentence that records `--invalid-as-missing` in warnings and output notes."""
    from .responses import INVALID

    count = 0
    columns: list[str] = []
    for items in matrices:
        for j in items.invalid_items:
            count += int((items.reason[:, j] == INVALID).sum())
            columns.append(items.columns[j] or items.instrument.item_ids[j])
    where = f" ({', '.join(columns[:10])}{' ...' if len(columns) > 10 else ''})" if columns else ""
    return (
        f"--invalid-as-missing: {count} invalid answer{'s' if count != 1 else ''}{where} "
        "treated as missing; scores were computed (prorated where the rule allows) without them"
    )


def stop_on_recode_mismatch(problems: list[Problem]) -> None:
    """Shifted codes would give plausible but wrong scores for everyone: refuse, show the fix."""
    from .responses import RECODE_HINT

    wrong = [p for p in problems if p.kind == "recode_mismatch"]
    if not wrong:
        return
    columns = ", ".join(dict.fromkeys(p.column or "" for p in wrong))
    import yaml

    from .mapping import recode_yaml

    suggestions: dict[str, dict] = {}
    for p in wrong:  # each hint is a one-line mapping-file entry; merge them into one file
        for column, entry in yaml.safe_load(p.hint.removeprefix(RECODE_HINT)).items():
            suggestions[column] = entry["recode"]
    snippet = recode_yaml(suggestions)
    raise DataError(
        f"the codes of {columns} do not match the definition's scale: {wrong[0].message}. "
        "Fix the recode values in the survey tool, or score with --map FILE where FILE holds:\n"
        + snippet
    )
