"""What scoring in partitions needs, shared by psyscore.dask and psyscore.spark (no Dask here).

A partition (or Arrow batch) is scored by the engine as it is; three things need all rows and are
worked out here from per-partition pieces: the shifted-coding check (`observe_partition` per
partition, `check_codings` on the merged spans), problem row numbers and caps (`merge_problems`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import pandas as pd

from . import problems as problem_records
from .batch import score_table, stop_on_recode_mismatch
from .instrument import Instrument
from .mapping import check_mapped_items
from .problems import Problem
from .responses import _observe, _Observed, _shifted_coding, match_columns, recode_mismatches

_MORE_CELLS = re.compile(r"^(\d+) more cells like this in this column$")


# ---- the plan: what every partition needs, worked out once from the columns -------------------


@dataclass(frozen=True)
class Plan:
    """Per instrument, the item -> column match and the columns whose coding is checked."""

    instruments: tuple[Instrument, ...]
    found: tuple[dict[str, str], ...]  # per instrument: item id -> column
    observed: tuple[tuple[str, ...], ...]  # per instrument: item ids checked for a shift
    options: dict  # score_table keyword arguments (without exclude and id_column)
    exclude_column: str | None  # the column holding exclusion reasons, if any
    drop_column: bool  # that column is ours (from a Dask Series): drop it before scoring

    @property
    def checked_columns(self) -> list[str]:
        """The columns the shifted-coding check reads, each once."""
        pairs = zip(self.found, self.observed, strict=True)
        return list(dict.fromkeys(found[item] for found, items in pairs for item in items))

    @property
    def recodes(self) -> dict:
        return dict(self.options.get("recodes") or {})

    def partition_recodes(self, table: pd.DataFrame) -> dict:
        """The user's recodes plus an identity recode of every other numeric or text item column.

        The engine skips its shifted-coding check for a recoded column. That check needs the
        whole data (one partition with two typos and no top answer would look shifted), so it
        runs over all partitions (`check_codings`) and is switched off per partition this way.
        An empty recode leaves the values of numeric and string columns as they are, with the
        same problem records. Other columns (object, categorical, bool) keep the partition
        check as well: recoding would turn their numbers into a numeric column and change
        problem kinds; a partition of them may then be refused that the whole would not be.
        """
        recodes = self.recodes
        for found in self.found:
            for column in found.values():
                if column not in recodes and _recodes_as_is(table[column].dtype):
                    recodes[column] = {}
        return recodes


def _recodes_as_is(dtype) -> bool:
    if isinstance(dtype, pd.StringDtype):
        return True
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def mapping_for(inst: Instrument, mapping: Mapping[str, str] | None) -> dict[str, str]:
    wanted = set(inst.item_ids)
    return {c: i for c, i in (mapping or {}).items() if i in wanted}


def make_plan(
    empty: pd.DataFrame,
    instruments: Sequence[Instrument],
    options: dict,
    exclude_column: str | None,
    drop_column: bool,
) -> Plan:
    instruments = tuple(instruments)
    mapping = options.get("mapping")
    check_mapped_items(mapping or {}, instruments)
    recodes = options.get("recodes") or {}
    value_labels = options.get("value_labels") or {}
    founds, observed = [], []
    for inst in instruments:
        found, _ = match_columns(inst, list(empty.columns), mapping_for(inst, mapping))
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
    return Plan(instruments, tuple(founds), tuple(observed), options, exclude_column, drop_column)


# ---- the shifted-coding check over the whole data ---------------------------------------------


def observe_partition(part: pd.DataFrame, plan: Plan) -> list[list[_Observed | None]]:
    """Per instrument and checked item: what the partition's column spans (engine's `_observe`)."""
    fm = plan.options.get("file_missing")
    out = []
    for inst, found, items in zip(plan.instruments, plan.found, plan.observed, strict=True):
        by_id = {it.id: it for it in inst.items}
        out.append([_observe(inst, by_id[i], found[i], part[found[i]], fm) for i in items])
    return out


def merge_observed(a: _Observed | None, b: _Observed | None) -> _Observed | None:
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


def check_codings(observations: list, plan: Plan) -> bool:
    """Raise the engine's DataError when the whole data fit a shifted coding."""
    found_problems: list[Problem] = []
    for i, inst in enumerate(plan.instruments):
        merged: list[_Observed | None] = [None] * len(plan.observed[i])
        for part in observations:
            merged = [merge_observed(m, o) for m, o in zip(merged, part[i], strict=True)]
        found_problems.extend(_shifted_coding(inst, [m for m in merged if m is not None]))
    stop_on_recode_mismatch(found_problems)
    return True


def score_part(part: pd.DataFrame, plan: Plan, checked: bool) -> pd.DataFrame:
    """`score_table` on one partition, its coding already checked on the whole data."""
    if checked is not True:  # a partition is never scored without the whole-data check
        raise RuntimeError(f"the coding check of the whole data did not run (got {checked!r})")
    table, reasons = table_and_reasons(part, plan)
    options = {k: v for k, v in plan.options.items() if k != "id_column"}
    options["recodes"] = plan.partition_recodes(table)
    return score_table(table, list(plan.instruments), exclude=reasons, **options).table


def table_and_reasons(part: pd.DataFrame, plan: Plan):
    if plan.exclude_column is None:
        return part, None
    reasons = part[plan.exclude_column].to_numpy(dtype=object)
    table = part.drop(columns=[plan.exclude_column]) if plan.drop_column else part
    return table, reasons


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

    cap = problem_records.MAX_CELL_RECORDS  # read at call time, as the engine does
    out = list(structural)
    for key, records in cells.items():
        records.sort(key=lambda p: p.row)
        hint = _one_hint(hints[key])
        total = len(records) + hidden.get(key, 0)
        kept = [replace(p, hint=hint) for p in records[:cap]]
        out.extend(kept)
        if total > cap:
            first = records[0]
            out.append(
                Problem(
                    kind=first.kind,
                    message=f"{total - cap} more cells like this in this column",
                    hint=hint,
                    column=first.column,
                    instrument=first.instrument,
                )
            )
    # stable: within one (instrument, item), column records first, then cells by row
    return sorted(out, key=order)


def score_moments(items, *, keyed: bool = False):
    """Per item-based score of the instrument, the Moments of the (reverse-keyed) answers of
    `items`, as the in-memory analysis builds them; with `keyed`, also the keyed codes."""
    from .psychometrics import Moments
    from .scoring import reverse_keyed

    inst = items.instrument
    codes = reverse_keyed(items)
    moments = {}
    for name, spec in inst.scores.items():
        if spec.items is None:
            continue
        index = [inst.item_ids.index(i) for i in spec.items]
        # an item may be reversed in one score only (a per-score `reverse:` list)
        own = reverse_keyed(items, spec) if inst.keys_differ_between_scores else codes
        moments[name] = Moments.from_data(pd.DataFrame(own[:, index], columns=spec.items))
    return (moments, codes) if keyed else moments


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
