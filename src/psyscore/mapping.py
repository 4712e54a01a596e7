"""Column mapping files (`--map map.yaml`): which data column is which item, and value recodes.

A mapping file is YAML, one entry per data column::

    Q1: phq9_1                                   # column Q1 holds item phq9_1
    GAD7_1: {recode: &shift {1: 0, 2: 1, 3: 2, 4: 3}}   # matched automatically, codes shifted
    GAD7_2: {item: gad7_2, recode: *shift}       # both (YAML anchors avoid repetition)

A recode maps the file's values to the definition's codes before anything else is checked; values
it does not list are kept as they are (so declared missing codes such as -99 still work). The
recoded values replace nothing in the data: the output keeps the original column untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UsageError

EXAMPLE = "e.g. 'Q1: phq9_1' or 'GAD7_1: {item: gad7_1, recode: {1: 0, 2: 1, 3: 2, 4: 3}}'"


@dataclass(frozen=True)
class ColumnMap:
    items: dict[str, str] = field(default_factory=dict)  # data column -> item id
    recodes: dict[str, dict[object, float]] = field(default_factory=dict)  # column -> from -> to

    def __bool__(self) -> bool:
        return bool(self.items or self.recodes)

    def items_of(self, item_ids) -> dict[str, str]:
        """The column -> item entries for one instrument's items (a file may map several)."""
        wanted = set(item_ids)
        return {c: i for c, i in self.items.items() if i in wanted}


def parse_mapping(data: object, source: str = "mapping") -> ColumnMap:
    """Validate a loaded mapping document; errors name the entry that is wrong."""
    if data is None:
        return ColumnMap()
    if not isinstance(data, Mapping):
        raise UsageError(f"{source}: a mapping file is 'data column: item id' lines, {EXAMPLE}")
    items: dict[str, str] = {}
    recodes: dict[str, dict[object, float]] = {}
    for column, entry in data.items():
        column = str(column)
        where = f"{source}: entry {column!r}"
        if isinstance(entry, str):
            items[column] = entry
            continue
        if not isinstance(entry, Mapping):
            raise UsageError(f"{where}: give an item id or {{item: ..., recode: ...}}; {EXAMPLE}")
        unknown = set(entry) - {"item", "recode"}
        if unknown:
            raise UsageError(f"{where}: unknown key(s) {', '.join(map(str, sorted(unknown)))}")
        if "item" in entry:
            if not isinstance(entry["item"], str):
                raise UsageError(f"{where}: 'item' must be an item id such as phq9_1")
            items[column] = entry["item"]
        if "recode" in entry:
            recodes[column] = _recode(entry["recode"], where)
        if "item" not in entry and "recode" not in entry:
            raise UsageError(f"{where}: needs 'item', 'recode' or both; {EXAMPLE}")
    return ColumnMap(items, recodes)


def _recode(table: object, where: str) -> dict[object, float]:
    if not isinstance(table, Mapping) or not table:
        raise UsageError(f"{where}: 'recode' must map file values to codes, e.g. {{1: 0, 2: 1}}")
    out: dict[object, float] = {}
    for old, new in table.items():
        if isinstance(new, bool) or not isinstance(new, int | float):
            raise UsageError(f"{where}: recode target for {old!r} must be a number, not {new!r}")
        out[old] = float(new)
    return out


def load_mapping(path: Path | None) -> ColumnMap:
    """The mapping file at `path`; no file (None) maps nothing."""
    if path is None:
        return ColumnMap()
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such mapping file") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: a mapping file must be UTF-8 text (YAML)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        raise UsageError(f"{path}: not valid YAML{at}: {getattr(exc, 'problem', exc)}") from None
    return parse_mapping(data, str(path))


def recode_yaml(suggestions: Mapping[str, Mapping[float, float]]) -> str:
    """A mapping-file snippet that applies suggested recodes (shown in error messages).

    A recode repeated on several columns is written once with a YAML anchor and reused.
    """
    lines = []
    anchors: dict[str, str] = {}
    for column, table in suggestions.items():
        pairs = ", ".join(f"{_num(a)}: {_num(b)}" for a, b in sorted(table.items()))
        repeated = sum(1 for t in suggestions.values() if t == table) > 1
        if pairs in anchors:
            lines.append(f"{column}: {{recode: *{anchors[pairs]}}}")
        elif repeated:
            anchors[pairs] = f"r{len(anchors) + 1}"
            lines.append(f"{column}: {{recode: &{anchors[pairs]} {{{pairs}}}}}")
        else:
            lines.append(f"{column}: {{recode: {{{pairs}}}}}")
    return "\n".join(lines)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
