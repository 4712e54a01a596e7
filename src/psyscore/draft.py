"""Draft a definition from a data file: `psyscore instruments new --from DATA --items ...`.

The draft has what the data can tell: the items (columns), their response scale (from SPSS value
labels: codes and anchors; from a CSV: the observed range, to be checked) and SPSS user-missing
codes. What only the user knows is marked ``TODO``: the name and citation, the licence, the key
source, and per score the reverse keys, the method and the missing-data rule. A definition with a
TODO left is refused wherever it is loaded (naming the line), so a draft is never scored by
accident; once every TODO is filled it validates and scores.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import UsageError
from .instrument import TODO

__all__ = ["parse_item_spec", "draft_definition"]

MAX_DRAFT_CODES = 21  # a 0-20 scale at most; more suggests a missing code such as -99
_NUMBERED = re.compile(r"^(.*?)(\d+)$")
_ITEM_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")


def parse_item_spec(spec: str, columns: list[str]) -> list[list[str]]:
    """Columns named by ``'A1-A5,C1-C5'``: one list per comma-separated part, in order.

    ``A1-A5`` expands the numbers (A1, A2, ..., A5) when both ends share a prefix; other ranges
    (``first-last``) take the columns from ``first`` to ``last`` in file order. Raises
    UsageError naming a column that is not in the data, with the closest names.
    """
    from difflib import get_close_matches

    def known(name: str) -> str:
        if name in columns:
            return name
        same_case = [c for c in columns if c.lower() == name.lower()]
        close = same_case or get_close_matches(name, columns, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise UsageError(f"--items: no column {name!r} in the data{hint}")

    parts = []
    for raw in spec.split(","):
        part = raw.strip()
        if not part:
            continue
        if part in columns:
            parts.append([part])
            continue
        if "-" not in part:
            known(part)
        first, last = (p.strip() for p in part.split("-", 1))
        a, b = _NUMBERED.match(first), _NUMBERED.match(last)
        if a and b and a.group(1) == b.group(1) and int(a.group(2)) <= int(b.group(2)):
            width = len(a.group(2)) if a.group(2).startswith("0") else 0
            names = [
                f"{a.group(1)}{str(n).zfill(width)}"
                for n in range(int(a.group(2)), int(b.group(2)) + 1)
            ]
            parts.append([known(n) for n in names])
        else:
            i, j = columns.index(known(first)), columns.index(known(last))
            if j < i:
                raise UsageError(f"--items {part}: {last} comes before {first} in the data")
            parts.append(columns[i : j + 1])
    flat = [c for p in parts for c in p]
    if not flat:
        raise UsageError("--items names no columns (e.g. --items 'A1-A5,C1-C5')")
    twice = sorted({c for c in flat if flat.count(c) > 1})
    if twice:
        raise UsageError(f"--items lists {', '.join(twice)} twice")
    return parts


@dataclass
class _Scale:
    name: str
    values: dict[float, str]  # code -> anchor (TODO for a CSV)
    note: str
    items: list[str] = field(default_factory=list)


def _code(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def _observed_codes(column: str, values: pd.Series) -> np.ndarray:
    numbers = pd.to_numeric(values, errors="coerce")
    bad = values[numbers.isna() & values.notna() & (values.astype(str).str.strip() != "")]
    if len(bad):
        raise UsageError(
            f"column {column}: {len(bad)} answer(s) are not numbers (e.g. row "
            f"{bad.index[0] + 1}); a draft needs numeric codes (code text answers first)"
        )
    observed = np.unique(numbers.dropna().to_numpy(dtype=float))
    if observed.size and not np.all(observed == np.round(observed)):
        raise UsageError(f"column {column}: codes are not whole numbers; a draft needs codes")
    return observed


def draft_definition(
    table,
    item_parts: list[list[str]],
    *,
    source: str,
    instrument_id: str,
    name: str | None = None,
    file_missing=None,
) -> str:
    """The draft definition's YAML text (with TODO markers and comments)."""
    data = table.data
    missing_codes: dict[float, str] = {}
    if file_missing is not None:
        for column in (c for part in item_parts for c in part):
            for code, reason in (file_missing.values.get(column) or {}).items():
                missing_codes[float(code)] = reason
    scales: list[_Scale] = []
    by_key: dict[tuple, _Scale] = {}
    csv_ranges: dict[str, tuple[float, float]] = {}
    for column in (c for part in item_parts for c in part):
        labels = {
            float(k): str(v)
            for k, v in (table.value_labels.get(column) or {}).items()
            if _is_number(k) and float(k) not in missing_codes
        }
        if labels:
            key = ("labels", tuple(sorted(labels.items())))
            if key not in by_key:
                by_key[key] = _Scale(
                    "", labels, f"codes and anchors from the value labels of {source}"
                )
            by_key[key].items.append(column)
            continue
        observed = _observed_codes(column, data[column])
        observed = observed[~np.isin(observed, list(missing_codes))]
        if not observed.size:
            raise UsageError(f"column {column}: no answers, so no range to draft from")
        csv_ranges[column] = (observed.min(), observed.max())
    if csv_ranges:
        # one scale from the lowest to the highest code seen in any of these columns
        lo = min(r[0] for r in csv_ranges.values())
        hi = max(r[1] for r in csv_ranges.values())
        if hi - lo + 1 > MAX_DRAFT_CODES:
            raise UsageError(
                f"the item columns hold codes from {_code(lo)} to {_code(hi)}, "
                f"{int(hi - lo + 1)} possible answers: is {_code(lo)} or {_code(hi)} a missing "
                "code (e.g. -99)? Blank or recode such codes first, or draft from a .sav "
                "that declares them user-missing"
            )
        values = {float(c): f"{TODO} anchor text of code {_code(c)}" for c in np.arange(lo, hi + 1)}
        spread = sorted({f"{_code(a)}-{_code(b)}" for a, b in csv_ranges.values()})
        note = (
            f"codes {_code(lo)} to {_code(hi)} as observed in {source} (no value labels): "
            "check the range against the published scale"
        )
        if len(spread) > 1:
            note += f" (items' observed ranges: {', '.join(spread)})"
        scale = _Scale("", values, note, list(csv_ranges))
        by_key[("observed",)] = scale
    for scale in by_key.values():
        lo, hi = min(scale.values), max(scale.values)
        base = f"codes_{_code(lo)}_{_code(hi)}".replace("-", "m").replace(".", "_")
        scale.name = base if all(s.name != base for s in scales) else f"{base}_{len(scales) + 1}"
        scales.append(scale)
    scale_of = {c: s.name for s in scales for c in s.items}
    return _render(table, item_parts, scales, scale_of, missing_codes, source, instrument_id, name)


def _is_number(value: object) -> bool:
    try:
        float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


def _q(text: str) -> str:
    """A YAML scalar for any text (JSON strings are YAML)."""
    return json.dumps(str(text), ensure_ascii=False)


def _item_id(column: str) -> str:
    if _ITEM_ID.match(column):
        return column
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", column).strip("_")
    return cleaned if cleaned and cleaned[0].isalpha() else f"item_{cleaned}"


def _score_ids(item_parts: list[list[str]]) -> list[str]:
    """A score id per part: the items' shared letters (A1-A5 -> a), else score_N."""
    ids: list[str] = []
    for n, part in enumerate(item_parts, start=1):
        prefixes = {(_NUMBERED.match(c).group(1) if _NUMBERED.match(c) else c) for c in part}
        base = re.sub(r"[^a-z0-9_]", "_", prefixes.pop().lower()).strip("_")
        if len(prefixes) or not base or not base[0].isalpha():
            base = f"score_{n}"
        ids.append(base if base not in ids else f"{base}_{n}")
    return ids


def _render(table, item_parts, scales, scale_of, missing_codes, source, instrument_id, name):
    lines = [
        f"# DRAFT drafted by `psyscore instruments new` from {source}.",
        f"# Replace every {TODO} with the fact it asks for: psyscore refuses this definition",
        f"# (naming the line) while a {TODO} is left. Then add golden examples (answers ->",
        "# expected scores) and run `psyscore instruments validate` on it.",
        f"id: {_q(instrument_id)}",
        f"name: {_q(name) if name else _q(TODO + ' the full name of the instrument')}",
        "construct: other  # masculine_norms | emotional_competence | help_seeking | "
        "clinical_screen | relationship | other",
        f"citation: {_q(TODO + ' the publication that defines the scale, or private')}",
        "licence:",
        f"  status: {TODO}  # public-domain | free-to-use | free-for-research | "
        "permission-required | proprietary | private",
        "  item_text_shipped: false  # true only if the licence lets you ship the item wording",
        "key:",
        f"  source: {_q(TODO + ' where the scoring key comes from (paper, manual), or private')}",
        "  verified: false  # true once checked against that source (then remove `uncertain`)",
        "  uncertain: [drafted from data by psyscore instruments new; key not yet checked]",
    ]
    if missing_codes:
        lines.append(f"missing_codes:  # SPSS user-missing values of {source}")
        for code, reason in sorted(missing_codes.items()):
            lines.append(f"  {_code(code)}: {_q(reason)}")
    lines.append("response_scales:")
    for scale in scales:
        lines += [f"  {scale.name}:", f"    # {scale.note}", "    values:"]
        for code, anchor in sorted(scale.values.items()):
            lines.append(f"      {_code(code)}: {_q(anchor)}")
    lines += [
        "items:  # labels: the file's variable labels or column names; if a label is the",
        "        # licensed item wording, replace it with a short paraphrase of your own",
    ]
    for column in (c for part in item_parts for c in part):
        item_id = _item_id(column)
        label = table.labels.get(column) or column
        entry = f"id: {_q(item_id)}, label: {_q(label)}, scale: {scale_of[column]}"
        if item_id != column:
            entry += f", aliases: [{_q(column)}]"
        lines.append(f"  - {{{entry}}}")
    lines.append("scores:")
    for score_id, part in zip(_score_ids(item_parts), item_parts, strict=True):
        ids = ", ".join(_q(_item_id(c)) for c in part)
        lines += [
            f"  {score_id}:",
            f"    label: {_q(TODO + ' what the score measures')}",
            f"    items: [{ids}]",
            f"    reverse: {TODO}  # the items reverse-keyed in this score, e.g. "
            f"[{_item_id(part[0])}], or [] for none",
            f"    method: {TODO}  # sum | mean | prorated_sum",
            f"    missing: {TODO}  # e.g. {{min_answered: 1}} (psych's rule), "
            "{max_missing: 1}, or {} (every item needed)",
        ]
    lines.append(
        "examples: []  # add golden examples: {name, answers: {item: code}, expect: {score: value}}"
    )
    return "\n".join(lines) + "\n"


def instrument_id_for(output: Path) -> str:
    """The draft's id from the output file name (my-scale.yaml -> my-scale)."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", output.stem).strip("-.")
    return stem if stem and stem[0].isalpha() else f"scale-{stem}" if stem else "my-scale"
