"""Score a whole table with one or more instruments: resolve, score, join. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from .errors import UsageError
from .instrument import Instrument
from .problems import Problem
from .responses import FileMissing, ItemMatrix, duplicate_ids, resolve
from .scoring import score


@dataclass
class BatchResult:
    table: pd.DataFrame  # every input column in order, then the score columns
    scores: dict[str, pd.DataFrame]  # instrument id -> its score columns
    items: dict[str, ItemMatrix]
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def score_table(
    table: pd.DataFrame,
    instruments: Sequence[Instrument],
    *,
    id_column: str | None = None,
    mapping: Mapping[str, str] | None = None,
    file_missing: FileMissing | None = None,
    replace_scores: bool = False,
) -> BatchResult:
    """Score `table` with each instrument; input rows and columns are kept as they are, in order."""
    problems: list[Problem] = []
    warnings: list[str] = []
    if id_column:
        problems.extend(duplicate_ids(table, id_column))
    if table.columns.duplicated().any():
        dup = sorted({str(c) for c in table.columns[table.columns.duplicated()]})
        raise UsageError(
            f"the data has duplicate column names: {', '.join(dup)}; rename them first"
        )
    scored: dict[str, pd.DataFrame] = {}
    matrices: dict[str, ItemMatrix] = {}
    for inst in instruments:
        inst_map = {c: i for c, i in (mapping or {}).items() if i in set(inst.item_ids)}
        items, found = resolve(inst, table, mapping=inst_map, file_missing=file_missing)
        if all(c is None for c in items.columns):
            raise UsageError(
                f"no column of the data matches an item of {inst.id} (expected names like "
                f"{', '.join(inst.item_ids[:3])}). Rename the columns or give a mapping with --map."
            )
        problems.extend(found)
        warnings.extend(inst.warnings)
        matrices[inst.id] = items
        scored[inst.id] = score(items)
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
    return BatchResult(pd.concat([base, new], axis=1), scored, matrices, problems, warnings)
