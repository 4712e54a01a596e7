"""Column mapping files (`--map map.yaml`): which data column is which item, and value recodes.

A mapping file is YAML, one entry per data column::

    Q1: phq9_1                                   # column Q1 holds item phq9_1
    GAD7_1: {recode: &shift {1: 0, 2: 1, 3: 2, 4: 3}}   # matched automatically, codes shifted
    GAD7_2: {item: gad7_2, recode: *shift}       # both (YAML anchors avoid repetition)

A recode maps the file's values to the definition's codes before anything else is checked; values
it does not list are kept as they are (so declared missing codes such as -99 still work). The
recoded values replace nothing in the data: the output keeps the original column untouched.

Nothing is dropped or picked silently: a repeated key (YAML), two columns for one item, and an item
id that none of the instruments being scored has (`check_mapped_items`) are errors naming the
entries. The file is read with `yamlsafe.load_yaml`, so an alias bomb is refused at once.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import UsageError

if TYPE_CHECKING:
    from .instrument import Instrument

EXAMPLE = "e.g. 'Q1: phq9_1' or 'GAD7_1: {item: gad7_1, recode: {1: 0, 2: 1, 3: 2, 4: 3}}'"


@dataclass(frozen=True)
class ColumnMap:
    items: dict[str, str] = field(default_factory=dict)  # data column -> item id
    recodes: dict[str, dict[object, float]] = field(default_factory=dict)  # column -> from -> to
    source: str = "mapping"  # the file, for messages
    lines: dict[str, int] = field(default_factory=dict, compare=False)  # column -> line in file

    def __bool__(self) -> bool:
        return bool(self.items or self.recodes)

    def items_of(self, item_ids) -> dict[str, str]:
        """The column -> item entries for one instrument's items (a file may map several)."""
        wanted = set(item_ids)
        return {c: i for c, i in self.items.items() if i in wanted}

    def check_against(self, instruments: Sequence[Instrument]) -> None:
        """Refuse an entry whose item belongs to none of `instruments` (see `check_mapped_items`)."""
        check_mapped_items(self.items, instruments, source=self.source, lines=self.lines)


def check_mapped_items(
    items: Mapping[str, str],
    instruments: Sequence[Instrument],
    *,
    source: str = "mapping",
    lines: Mapping[str, int] | None = None,
) -> None:
    """Raise UsageError when a mapped item id is not an item of any of `instruments`.

    Each instrument only takes the entries naming its own items, so without this check a typo
    (`Q9: phq9_09`) would leave the item unmapped: scored as missing, prorated, no alert.

    Parameters
    ----------
    items
        data column -> item id, as in `ColumnMap.items`.
    instruments
        every instrument the mapping is applied with.
    source, lines
        the mapping file's name and the line of each entry, for the message.
    """
    known = {item_id: inst.id for inst in instruments for item_id in inst.item_ids}
    unknown = [(column, item) for column, item in items.items() if item not in known]
    if not unknown:
        return
    ids = [inst.id for inst in instruments]
    names = ", ".join(ids) if len(ids) <= 4 else f"any of the {len(ids)} instruments checked"
    messages = []
    for column, item in unknown:
        line = (lines or {}).get(column)
        where = f"{source}:{line}" if line else source
        messages.append(
            f"{where}: entry {column!r}: {item} is not an item of {names}{_suggest(item, known)}"
        )
    messages.append(
        "Fix the item id (`psyscore instruments show ID` lists them), or add the instrument it "
        "belongs to with -i."
    )
    raise UsageError("\n".join(messages))


def _suggest(item: str, known: Mapping[str, str]) -> str:
    from .responses import column_key  # same spelling rules as column matching

    same_key = [k for k in known if column_key(k) == column_key(item)]
    close = same_key or difflib.get_close_matches(item, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def parse_mapping(
    data: object, source: str = "mapping", lines: Mapping[str, int] | None = None
) -> ColumnMap:
    """Validate a loaded mapping document; errors name the entry that is wrong (and its line)."""
    lines = dict(lines or {})
    if data is None:
        return ColumnMap(source=source)
    if not isinstance(data, Mapping):
        raise UsageError(f"{source}: a mapping file is 'data column: item id' lines, {EXAMPLE}")
    items: dict[str, str] = {}
    recodes: dict[str, dict[object, float]] = {}
    written: dict[str, object] = {}  # column as text -> the key as written
    for key, entry in data.items():
        column = str(key)
        line = lines.get(column)
        where = f"{source}:{line}: entry {column!r}" if line else f"{source}: entry {column!r}"
        if column in written:
            raise UsageError(
                f"{source}: entries {written[column]!r} and {key!r} both name column {column!r}"
            )
        written[column] = key
        if isinstance(entry, str):
            items[column] = entry
            continue
        if not isinstance(entry, Mapping):
            raise UsageError(f"{where}: give an item id or {{item: ..., recode: ...}}; {EXAMPLE}")
        unknown = set(entry) - {"item", "recode"}
        if unknown:
            raise UsageError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
        if "item" in entry:
            if not isinstance(entry["item"], str):
                raise UsageError(f"{where}: 'item' must be an item id such as phq9_1")
            items[column] = entry["item"]
        if "recode" in entry:
            recodes[column] = _recode(entry["recode"], where)
        if "item" not in entry and "recode" not in entry:
            raise UsageError(f"{where}: needs 'item', 'recode' or both; {EXAMPLE}")
    _one_column_per_item(items, source, lines)
    return ColumnMap(items, recodes, source, lines)


def _one_column_per_item(items: Mapping[str, str], source: str, lines: Mapping[str, int]) -> None:
    """Two columns for one item would leave one of them ignored: name both."""
    columns_of: dict[str, list[str]] = {}
    for column, item in items.items():
        columns_of.setdefault(item, []).append(column)
    for item, columns in columns_of.items():
        if len(columns) > 1:
            where = ", ".join(
                f"{c!r} (line {lines[c]})" if c in lines else repr(c) for c in columns
            )
            last = lines.get(columns[-1])
            raise UsageError(
                f"{source}{f':{last}' if last else ''}: columns {where} are all mapped to item "
                f"{item}; an item reads one column: keep one entry"
            )


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
    from .yamlsafe import YamlProblem, load_yaml, top_level_lines

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such mapping file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a folder, not a mapping file") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: a mapping file must be UTF-8 text (YAML)") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        data, root = load_yaml(text)
    except YamlProblem as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        raise UsageError(f"{where}: {exc.message}") from None
    return parse_mapping(data, str(path), top_level_lines(root))


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
