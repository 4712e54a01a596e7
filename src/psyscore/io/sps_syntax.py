"""SPSS syntax (.sps) that reproduces psyscore's scoring, for users who must show their work.

`spss_syntax(instruments, item_columns, source_name=...)` returns the text of a syntax file that,
run in SPSS Statistics or GNU PSPP on the (unscored) data, adds the same columns `psyscore score`
writes to a .sav, with the same names, values, variable labels, value labels, measurement levels
and formats:

- rows not scored: Qualtrics previews, tests and spam, by the `Status` column (then
  `DistributionChannel`), as `psyscore score` leaves them out (`exclusion_rule`); their scores,
  bands and standard scores are empty and the status says why (`excluded: survey preview`);
- recodes from the mapping file (`--map`): `RECODE col (MISSING=SYSMIS) (1=0) ... (ELSE=COPY) INTO
  #gad7_r1`, into a scratch variable, so the data keep their own values;
- items: each item's column is recoded into a scratch variable (`#phq9_i1`) that holds the answer
  only when it is a code of the item's response scale; user-missing values, the definition's
  missing codes and any other value become system-missing (`RECODE ... (ELSE=SYSMIS) INTO`);
- invalid answers (not blank, not a missing code, not a code of the scale) are flagged per item
  (`#phq9_v3`) and leave every score using the item unscored, with the status `not scored:
  invalid answer in ITEM` (the first such item), composites likewise; with `invalid_as_missing`
  they are missing like any other (prorated where the rule allows);
- reverse keying: `(scale min + scale max) - answer`, from the declared scale;
- scores: `SUM.m` / `MEAN.m` with `m` = the answered items the missing rule needs, the prorated
  sum as `MEAN.m(...) * k`; composites as `SUM`/`MEAN` of their component scores as stored;
  rounding half up with psyscore's 1e-9 nudge, before banding, only where the definition rounds;
- `_n` (`NVALID`), `_status` (numeric codes with psyscore's value labels), bands (`RECODE` of the
  stored score, with value labels), `_z` / `_t` / `_pct` against the default norm group (rounded
  as psyscore rounds them), `_critical` (1 endorsed, 0 denied, missing when none is endorsed but a
  critical item is unanswered), `_critical_items` and `_critical_unanswered`.

Which of these rules apply is asked from the engine in use (`engine_rules`: does it have
invalid-answer statuses, three-state critical flags, how does it round z, T and percentiles), and
`spss_syntax_for` checks the treatment of invalid answers, the status labels and the critical
columns against the result it is given, so a change of the engine cannot leave the syntax
silently behind.

What the syntax does not do: it reads numeric codes only. Answers given as text (anchor labels,
aliases, "Refused") are matched by psyscore but not here; a text item column is converted with
`RECODE (CONVERT)` (numbers typed as text still count, out-of-range numbers are invalid) and the
syntax says so in a comment and an `ECHO` at run time; words psyscore finds invalid are
unanswered here. It does not report data problems (psyscore's problem list), does not pick
a non-default norm group, and must be run on data that has not been scored yet (the `STRING`
declaration of `_critical_items` fails when the column exists). What it cannot reproduce is
refused with a `UsageError` (recodes of words, infinite recode values, a recode touching the
file's user-missing values, exclusions it was not told about), never written as syntax that
silently disagrees.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .. import __version__
from ..columns import ColumnInfo, band_column, output_columns, score_column
from ..errors import UsageError
from ..instrument import Instrument, Score, definition_hash
from ..norms import Z_LIMIT
from ..responses import FileMissing, _as_number, _value_key
from ..scoring import status_categories
from . import atomic_write

if TYPE_CHECKING:
    import pandas as pd

    from ..batch import BatchResult

__all__ = [
    "ExclusionRule",
    "exclusion_rule",
    "spss_syntax",
    "spss_syntax_for",
    "write_spss_syntax",
]

# The format `psyscore score` gives code columns (bands, statuses, the critical flag) in a .sav.
_DEFAULT_NUMERIC_FORMAT = "F8.0"
_LEVELS = {"scale": "SCALE", "ordinal": "ORDINAL", "nominal": "NOMINAL"}
_RESERVED = {"ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"}
# a regular (not scratch, not system) variable name; SPSS in Unicode mode accepts any letters
_NAME = re.compile(r"^[^\W\d_@#$][\w@#$.]*$|^@[\w@#$.]*$")
_OPS = {">=": ">=", "<=": "<=", "==": "=", ">": ">", "<": "<"}
_CRITICAL = re.compile(r"^\s*(>=|<=|==|>|<)\s*(-?\d+(?:\.\d+)?)\s*$")
_WIDTH = 78
# scratch variables of the exclusion step: the reason a row is not scored, as a fixed id, and as
# the position of "excluded: REASON" among the status codes that follow the scoring statuses
_REASON = "#qx_reason"
_EXCLUDED = "#qx_excluded"


# ---- small formatting helpers ------------------------------------------------------------------


def _num(value: float) -> str:
    """A number as SPSS reads it back exactly: integers without a decimal point, else repr."""
    value = float(value)
    if value.is_integer():
        return str(int(value))
    return repr(value)


def _quote(text: str, chunk: int = 64) -> str:
    """An SPSS string literal (quotes doubled); long text becomes 'a ' + 'b' pieces split
    between words, so no syntax line has to be very long."""
    pieces: list[str] = []
    for token in re.findall(r"\S+\s*|\s+", text):
        if pieces and len(pieces[-1]) + len(token) <= chunk:
            pieces[-1] += token
        else:
            pieces.append(token)
    return " + ".join("'" + p.replace("'", "''") + "'" for p in pieces or [""])


def _comment(text: str) -> list[str]:
    """A comment paragraph: every line starts with `*`, only the last one ends in a period."""
    lines = textwrap.wrap(text, width=_WIDTH - 3, break_long_words=True) or [""]
    lines[-1] = lines[-1].rstrip(".") + "."
    return [f"* {line}" for line in lines]


def _wrap(line: str) -> list[str]:
    """Break a long command line at spaces outside quotes; continuation lines are indented."""
    if len(line) <= _WIDTH or line.startswith("*"):
        return [line]
    indent = line[: len(line) - len(line.lstrip())]
    words = _split_entry(line)
    out, current = [], indent + words[0]
    for word in words[1:]:
        if len(current) + 1 + len(word) > _WIDTH:
            out.append(current)
            current = "    " + word
        else:
            current += " " + word
    out.append(current)
    return out


def _command(head: str, parts: Sequence[str], tail: str = ".", sep: str = " ") -> list[str]:
    """`head part part ...tail`, wrapped with continuation lines indented (batch-mode safe)."""
    lines: list[str] = []
    current = head
    for i, part in enumerate(parts):
        piece = part + (sep.rstrip() if i < len(parts) - 1 and sep.strip() else "")
        glue = "" if current.endswith(("(", " ")) or not current else " "
        if len(current) + len(glue) + len(piece) > _WIDTH and current.strip():
            lines.append(current)
            current = "    " + piece
        else:
            current += glue + piece
    lines.append(current + tail)
    return lines


def _call(head: str, func: str, args: Sequence[str], tail: str) -> list[str]:
    """`head FUNC(a, b, c)tail` wrapped over several lines when long."""
    return _command(f"{head}{func}(", list(args), f"){tail}", sep=", ")


def _echo(text: str) -> list[str]:
    return [f"ECHO {_quote(text)}."]


def _valid_name(name: str) -> bool:
    return (
        bool(_NAME.match(name))
        and not name.endswith(".")
        and name.upper() not in _RESERVED
        and len(name.encode("utf-8")) <= 64
    )


def _spss_value(value: float) -> str:
    """A recode target: a number, or SYSMIS for a recode to NaN (psyscore: unanswered)."""
    return "SYSMIS" if math.isnan(value) else _num(value)


def _recode_table(
    column: str,
    recode: Mapping[object, float],
    file_missing: FileMissing,
    instrument: str,
    *,
    text: bool,
) -> dict[float, float]:
    """The numeric part of a mapping-file recode, as psyscore matches it (numbers also written as
    text compare as numbers); refuses what the syntax cannot do the same way."""
    where = f"--syntax: the recode of column {column} ({instrument}) in the mapping file"
    table: dict[float, float] = {}
    for old, new in recode.items():
        key = _value_key(old)
        if isinstance(key, str):
            if text:
                raise UsageError(
                    f"{where} maps the text {old!r}; SPSS syntax from psyscore reads numeric "
                    "codes only, so it cannot recode words. Recode the column to numbers first, "
                    "or score without --syntax."
                )
            continue  # a numeric column never holds text: the entry recodes nothing
        if not math.isfinite(key) or math.isinf(new):
            raise UsageError(
                f"{where} maps {old!r} to {new!r}; SPSS has no infinite values. Use finite codes."
            )
        table[key] = float(new)
    declared = [
        (float(v), float(v))
        for v in file_missing.values.get(column, {})
        if _as_number(v) is not None
    ]
    declared += [(lo, hi) for lo, hi, _ in file_missing.ranges.get(column, [])]
    for old, new in table.items():
        for value in (old, new):
            hit = next((r for r in declared if r[0] <= value <= r[1]), None)
            if hit is not None:
                shown = _num(hit[0]) if hit[0] == hit[1] else f"{_num(hit[0])} thru {_num(hit[1])}"
                raise UsageError(
                    f"{where} maps {_num(old)} -> {_spss_value(new)}, and {shown} is a "
                    f"user-missing value of {column} in the data file: whether it counts as an "
                    "answer would depend on which is applied first (SPSS applies user-missing "
                    "values first). Leave user-missing values out of the recode (or remove the "
                    "declaration in the data file)."
                )
    return table


# ---- what the engine in use does ---------------------------------------------------------------


@dataclass(frozen=True)
class EngineRules:
    """The scoring rules of the psyscore engine in use that the syntax must follow.

    `invalid_statuses`: score statuses list `not scored: invalid answer in ITEM` after the
    count statuses (one per item under the score); `invalid_not_scored`: an invalid answer (out
    of range, unrecognised) leaves every score using the item unscored, instead of counting as
    missing (False: `--invalid-as-missing`, or an engine without the rule);
    `critical_three_state`: `_critical` is missing when no critical item is endorsed but one is
    unanswered, and `_critical_unanswered` names those (None: ask the engine per instrument);
    `standard_decimals`: decimals of z, T and percentile (None: not rounded).
    """

    invalid_statuses: bool
    invalid_not_scored: bool
    critical_three_state: bool | None
    standard_decimals: tuple[int | None, int | None, int | None]


def engine_rules(*, invalid_as_missing: bool | None = None) -> EngineRules:
    """The rules of the installed engine, found by asking it (no version numbers to keep in
    step): `scoring.invalid_status` exists once invalid answers are "not scored", and
    `standard_scores` is run on a value whose decimals show how it rounds."""
    from .. import scoring

    invalid_statuses = hasattr(scoring, "invalid_status")
    not_scored = invalid_statuses and not invalid_as_missing
    return EngineRules(invalid_statuses, not_scored, None, _standard_decimals())


def _standard_decimals() -> tuple[int | None, int | None, int | None]:
    import numpy as np

    from ..norms import normal_cdf, round_half_up, standard_scores

    z = np.array([1.0 / 3.0])  # z 0.3333..., T 53.333..., percentile 63.055...: never round
    exact = (z, 50.0 + 10.0 * z, normal_cdf(z) * 100.0)
    decimals: list[int | None] = []
    for got, want in zip(standard_scores(z, 0.0, 1.0), exact, strict=True):
        hit = [d for d in range(7) if float(got[0]) == float(round_half_up(want, d)[0])]
        decimals.append(hit[0] if hit else None)
    return decimals[0], decimals[1], decimals[2]


def _critical_three_state(inst: Instrument) -> bool:
    """Ask the engine: is `_critical` missing for a respondent who answered no critical item?"""
    from types import SimpleNamespace

    import numpy as np

    from ..scoring import critical_flags

    probe = SimpleNamespace(
        instrument=inst, n=1, codes=np.full((1, len(inst.items)), np.nan, order="F")
    )
    flags = critical_flags(probe)  # type: ignore[arg-type]
    flag = flags.get(f"{inst.output_prefix}_critical")
    return flag is not None and bool(np.isnan(np.asarray(flag, dtype=float)[0]))


def _invalid_status(item_id: str) -> str:
    """The engine's status for a score not given because of an invalid answer to `item_id`."""
    from .. import scoring

    named = getattr(scoring, "invalid_status", None)
    return named(item_id) if named is not None else f"not scored: invalid answer in {item_id}"


# ---- Qualtrics exclusions ----------------------------------------------------------------------

_REASON_IDS = {"survey preview": 1, "survey test": 2, "spam": 3}


@dataclass(frozen=True)
class ExclusionRule:
    """Which rows of a Qualtrics export are not scored, as SPSS can test it.

    `status_values` gives the reason of each value of the Status column (numeric codes, or the
    texts found in the data), `channel_values` the reason of each DistributionChannel text found
    (used where Status gives none); `order` lists the reasons excluded, in the order of their
    status codes (after the scoring statuses); reasons not in it (let in with
    --include-previews / --include-spam) are scored.
    """

    status_column: str
    status_values: dict[float | str, str]
    channel_column: str | None
    channel_values: dict[str, str]
    order: tuple[str, ...]

    def reasons(self, data: pd.DataFrame):
        """Per row of `data` the reason it is excluded, or None: the rule applied in Python."""
        import numpy as np
        import pandas as pd

        status = data[self.status_column]
        why = status.map(self.status_values) if len(self.status_values) else None
        if why is None:
            why = pd.Series([None] * len(data), index=data.index, dtype=object)
        why = why.astype(object).where(why.notna(), None)
        if self.channel_column is not None and self.channel_values:
            by_channel = data[self.channel_column].map(self.channel_values)
            why = why.where(why.notna(), by_channel)
        why = why.where(why.isin(self.order), None)
        return np.asarray(why, dtype=object)


def exclusion_rule(
    data: pd.DataFrame,
    value_labels: Mapping[str, Mapping] | None,
    *,
    previews: bool = False,
    spam: bool = False,
) -> ExclusionRule | None:
    """The rule `psyscore score` uses to leave out Qualtrics previews, tests and spam (see
    `psyscore.io.qualtrics.response_exclusions`), for `spss_syntax`; None when the data is no
    Qualtrics export or nothing is excluded."""
    import pandas as pd

    from .qualtrics import CHANNELS, KINDS, STATUS_CODES, _status_reason, looks_like_qualtrics

    if not looks_like_qualtrics(data.columns):
        return None
    let_in = {r for r, kind in KINDS.items() if {"preview": previews, "spam": spam}[kind]}
    order = tuple(r for r in _REASON_IDS if r not in let_in)
    if not order:
        return None
    by_lower = {str(c).lower(): c for c in data.columns}
    status_column = str(by_lower["status"])
    status = data[status_column]
    labels = (value_labels or {}).get(status_column) or {}
    numeric = pd.api.types.is_numeric_dtype(status.dtype) and not pd.api.types.is_bool_dtype(
        status.dtype
    )
    if numeric:
        # every code that can give a reason: Qualtrics' response types and the labelled codes
        candidates = set(STATUS_CODES) | {n for n in map(_as_number, labels) if n is not None}
        values = {v: _status_reason(v, labels) for v in sorted(candidates)}
    else:
        values = {v: _status_reason(v, labels) for v in pd.unique(status.dropna())}
    status_values = {v: r for v, r in values.items() if r is not None}
    channel_column = by_lower.get("distributionchannel")
    channel_values: dict[str, str] = {}
    if channel_column is not None and not pd.api.types.is_numeric_dtype(data[channel_column].dtype):
        for value in pd.unique(data[channel_column].dropna()):
            reason = CHANNELS.get(str(value).strip().lower())
            if reason is not None:
                channel_values[value] = reason
    return ExclusionRule(
        status_column,
        status_values,
        None if channel_column is None else str(channel_column),
        channel_values,
        order,
    )


def _text_literal(value: object, column: str) -> str:
    if not isinstance(value, str) or not value.isprintable():
        raise UsageError(
            f"--syntax: column {column} holds the value {value!r}, which SPSS syntax cannot "
            "match as text; score without --syntax, or clean the column first."
        )
    return _quote(value)


def _exclusion_lines(rule: ExclusionRule) -> list[str]:
    """Syntax that sets `#qx_excluded` to the position of the row's reason in `rule.order`."""
    for column in filter(None, (rule.status_column, rule.channel_column)):
        if not _valid_name(column):
            raise UsageError(
                f"--syntax: column {column!r} is not a valid SPSS variable name; rename it"
            )
    lines = [""] + _comment(
        f"Step 0, rows not scored: Qualtrics previews, tests and spam by the "
        f"{rule.status_column} column (response type)"
        + (f" and {rule.channel_column}" if rule.channel_values else "")
        + ", as psyscore score leaves them out. Excluded here: "
        + ", ".join(rule.order)
        + " (--include-previews / --include-spam let them in)."
    )
    by_reason: dict[str, list[str]] = {}
    for value, reason in rule.status_values.items():
        literal = _num(value) if isinstance(value, float) else _text_literal(value, "Status")
        by_reason.setdefault(reason, []).append(literal)
    specs = [f"({', '.join(v)}={_REASON_IDS[r]})" for r, v in by_reason.items()]
    lines += _command(
        f"RECODE {rule.status_column}", [*specs, "(ELSE=SYSMIS)"], f" INTO {_REASON}."
    )
    by_channel: dict[str, list[str]] = {}
    for value, reason in rule.channel_values.items():
        by_channel.setdefault(reason, []).append(_text_literal(value, rule.channel_column or ""))
    for reason, values in by_channel.items():
        lines += _call(
            f"IF (MISSING({_REASON}) AND ",
            "ANY",
            [rule.channel_column or "", *values],
            f") {_REASON} = {_REASON_IDS[reason]}.",
        )
    positions = [f"({_REASON_IDS[r]}={i + 1})" for i, r in enumerate(rule.order)]
    lines += _command(f"RECODE {_REASON}", [*positions, "(ELSE=SYSMIS)"], f" INTO {_EXCLUDED}.")
    return lines


# ---- the syntax --------------------------------------------------------------------------------


class _InstrumentSyntax:
    """Syntax lines for one instrument."""

    def __init__(
        self,
        inst: Instrument,
        columns: Sequence[str | None],
        text_columns: set[str],
        recodes: Mapping[str, Mapping[object, float]] | None = None,
        file_missing: FileMissing | None = None,
        exclusions: ExclusionRule | None = None,
        rules: EngineRules | None = None,
    ):
        if len(columns) != len(inst.items):
            raise ValueError(
                f"{inst.id}: item_columns has {len(columns)} entries, the definition "
                f"{len(inst.items)} items (give None for an item without a column)"
            )
        self.inst = inst
        self.columns = list(columns)
        self.text_columns = text_columns
        self.recodes = recodes or {}
        self.file_missing = file_missing or FileMissing()
        self.exclusions = exclusions
        self.rules = rules or engine_rules()
        three_state = self.rules.critical_three_state
        self.three_state = _critical_three_state(inst) if three_state is None else three_state
        self.p = inst.output_prefix
        self.info: dict[str, ColumnInfo] = output_columns(inst)
        self.lines: list[str] = []
        self.value_labels: dict[str, dict[float, str]] = {}
        self.formats: dict[str, str] = {}
        self.strings: dict[str, int] = {}

    # names of the scratch variables
    def raw(self, j: int) -> str:
        return f"#{self.p}_i{j + 1}"

    def invalid(self, j: int) -> str:
        """1 when the answer to item j is invalid (not blank, not a missing code, not a code)."""
        return f"#{self.p}_v{j + 1}"

    def first_invalid(self, name: str) -> str:
        """The instrument position (1-based) of the first invalid item under a score, else 0."""
        return f"#{self.p}_f{list(self.inst.scores).index(name) + 1}"

    def keyed(self, j: int, spec: Score | None = None) -> str:
        """Item j keyed as in score `spec` (its own reverse list), else by the item's flag."""
        item = self.inst.items[j]
        reversed_ = item.reverse if spec is None else spec.is_reversed(item)
        return f"#{self.p}_k{j + 1}" if reversed_ else self.raw(j)

    def _reversed_anywhere(self, j: int) -> bool:
        item = self.inst.items[j]
        return (
            any(
                s.items and item.id in s.items and s.is_reversed(item)
                for s in self.inst.scores.values()
            )
            or item.reverse
        )

    def build(self) -> list[str]:
        inst = self.inst
        self.lines += [""] + _comment("-" * 70)
        self.lines += _comment(
            f"{inst.id} ({inst.name}) version {inst.version}, definition sha256:"
            f"{definition_hash(inst)}; key {'verified' if inst.key.verified else 'NOT verified'}."
        )
        self.lines += _comment("-" * 70)
        for warning in inst.warnings:
            self.lines += _echo(f"warning: {warning}")
        self._items()
        self._reverse()
        for name in inst.scores:
            self._score(name)
        if self.exclusions is not None:
            self._exclude()
        self._critical()
        return self.lines

    def _items(self) -> None:
        inst = self.inst
        self.lines += _comment(
            "Step 1, items: the answer is kept only when it is a code of the item's response "
            "scale; user-missing values, the definition's missing codes and any other value "
            "become system-missing, so they are never scored."
        )
        for j, item in enumerate(inst.items):
            column = self.columns[j]
            scale = inst.scale_of(item)
            codes = sorted(float(c) for c in scale.values)
            numeric_missing = sorted(
                float(c)
                for c in inst.missing_codes_for(item)
                if not isinstance(c, str) and float(c) not in codes
            )
            target = self.raw(j)
            if column is None:
                self.lines += _comment(
                    f"{item.id} ({item.label}): no column in the data; treated as unanswered."
                )
                self.lines.append(f"COMPUTE {target} = $SYSMIS.")
                self._no_invalid(j)
                continue
            if not _valid_name(column):
                self.lines += _comment(
                    f"WARNING: column {column!r} ({item.id}) is not a valid SPSS variable name; "
                    "rename it in the data and here, or the item counts as unanswered."
                )
                self.lines += _echo(
                    f"psyscore syntax: column {column} ({item.id}) is not a valid SPSS name; "
                    "the item is treated as unanswered"
                )
                self.lines.append(f"COMPUTE {target} = $SYSMIS.")
                self._no_invalid(j)
                continue
            source = column
            if column in self.text_columns:
                self.lines += _comment(
                    f"WARNING: {column} ({item.id}) is a text column. psyscore reads answers "
                    "given as words (anchor labels, aliases); this syntax reads numeric codes "
                    "only, so rows answered in words are unanswered here and scores can differ. "
                    "Recode the column to numeric codes first."
                )
                self.lines += _echo(
                    f"psyscore syntax warning: {column} ({item.id}) holds text; answers in words "
                    "are treated as unanswered"
                )
                source = f"{target}_num"
                self.lines.append(f"RECODE {column} (CONVERT) INTO {source}.")
            if column in self.recodes:
                source = self._recode(j, column, source)
            specs = ["(MISSING=SYSMIS)"]
            if numeric_missing:
                specs.append(f"({', '.join(_num(c) for c in numeric_missing)}=SYSMIS)")
            specs.append(f"({', '.join(_num(c) for c in codes)}=COPY)")
            specs.append("(ELSE=SYSMIS)")
            self.lines += _command(f"RECODE {source}", specs, f" INTO {target}.")
            if self.rules.invalid_not_scored:
                # an invalid answer is not a missing one: remember it (scores using it are not
                # scored), apart from blanks, user-missing values and missing codes
                flags = ["(MISSING=0)"]
                if numeric_missing:
                    flags.append(f"({', '.join(_num(c) for c in numeric_missing)}=0)")
                flags += [f"({', '.join(_num(c) for c in codes)}=0)", "(ELSE=1)"]
                self.lines += _command(f"RECODE {source}", flags, f" INTO {self.invalid(j)}.")

    def _no_invalid(self, j: int) -> None:
        if self.rules.invalid_not_scored:
            self.lines.append(f"COMPUTE {self.invalid(j)} = 0.")

    def _recode(self, j: int, column: str, source: str) -> str:
        """The mapping file's recode of `column` into a scratch variable; returns its name.

        psyscore recodes first and checks the answer after (values the recode does not list are
        kept, so -99 is still a missing code). User-missing values of the file are taken out
        before the recode here; `_recode_table` refuses the recodes for which that order matters.
        """
        table = _recode_table(
            column,
            self.recodes[column],
            self.file_missing,
            self.inst.id,
            text=column in self.text_columns,
        )
        target = f"#{self.p}_r{j + 1}"
        self.lines += _comment(
            f"{column}: recoded as the mapping file says (the data keep their own values): "
            + ", ".join(f"{_num(a)} -> {_spss_value(b)}" for a, b in table.items())
            + "; other values are kept."
        )
        specs = ["(MISSING=SYSMIS)"] if source == column else []
        specs += [f"({_num(a)}={_spss_value(b)})" for a, b in table.items()]
        specs.append("(ELSE=COPY)")
        self.lines += _command(f"RECODE {source}", specs, f" INTO {target}.")
        return target

    def _reverse(self) -> None:
        inst = self.inst
        # reversed in some score (a score's own reverse list, or the item's flag)
        reversed_items = [(j, it) for j, it in enumerate(inst.items) if self._reversed_anywhere(j)]
        if not reversed_items:
            return
        self.lines += _comment(
            "Step 2, reverse keying: (scale minimum + scale maximum) - answer, from the declared "
            "scale (never the observed range)."
        )
        for j, item in reversed_items:
            scale = inst.scale_of(item)
            self.lines.append(
                f"COMPUTE #{self.p}_k{j + 1} = ({_num(scale.min)} + {_num(scale.max)}) - {self.raw(j)}."
            )

    def _score(self, name: str) -> None:
        inst, spec = self.inst, self.inst.scores[name]
        base = score_column(inst, name)
        self.lines += _comment(f"Score {name}: {spec.label}.")
        if spec.items is not None:
            self._item_score(base, spec)
        else:
            self._composite(base, spec)
        self._round(base, spec, name)
        for i, band_set in enumerate(spec.bands):
            self._bands(band_column(inst, name, band_set, i), base, band_set)
        if spec.norms:
            self._norms(base, spec)
        for col in self._columns_of(name):
            info = self.info[col]
            self.formats[col] = (
                f"F8.{info.decimals}" if info.measure == "scale" else _DEFAULT_NUMERIC_FORMAT
            )

    def _columns_of(self, name: str) -> list[str]:
        base = score_column(self.inst, name)
        spec = self.inst.scores[name]
        cols = [base, f"{base}_n", f"{base}_status"]
        cols += [band_column(self.inst, name, b, i) for i, b in enumerate(spec.bands)]
        if spec.norms:
            cols += [f"{base}_z", f"{base}_t", f"{base}_pct"]
        return cols

    def _item_score(self, base: str, spec: Score) -> None:
        ids = self.inst.item_ids
        index = [ids.index(i) for i in spec.items or []]
        args = [self.keyed(j, spec) for j in index]
        k = len(index)
        needed = spec.missing.needed(k)
        rule = (
            "all items answered"
            if needed == k
            else f"at least {needed} of {k} items answered"
            if needed < k
            else f"needs {needed} answered items but has only {k}: never scored"
        )
        if needed > k:
            self.lines += _comment(f"{base}: {rule}.")
            self.lines.append(f"COMPUTE {base} = $SYSMIS.")
        elif spec.method == "sum":
            self.lines += _comment(f"{base}: sum of {k} items; {rule}.")
            self.lines += _call(f"COMPUTE {base} = ", f"SUM.{needed}", args, ".")
        elif spec.method == "mean":
            self.lines += _comment(f"{base}: mean of the answered items; {rule}.")
            self.lines += _call(f"COMPUTE {base} = ", f"MEAN.{needed}", args, ".")
        else:
            self.lines += _comment(
                f"{base}: prorated sum = mean of the answered items * {k}; {rule}."
            )
            self.lines += _call(f"COMPUTE {base} = ", f"MEAN.{needed}", args, f" * {k}.")
        self.lines += _call(f"COMPUTE {base}_n = ", "NVALID", args, ".")
        # status codes as the .sav has them: 1 scored, 2 prorated, 3 + n not scored
        labels, _ = status_categories(k, needed)
        self.lines.append(f"COMPUTE {base}_status = 3 + {base}_n.")
        self.lines.append(f"IF ({base}_n >= {needed}) {base}_status = 2.")
        self.lines.append(f"IF ({base}_n = {k}) {base}_status = 1.")
        if self.rules.invalid_statuses:
            offset = len(labels)
            labels = labels + [_invalid_status(i) for i in spec.items or []]
            if self.rules.invalid_not_scored:
                self._invalid_item_score(base, spec, index, offset)
        self.value_labels[f"{base}_status"] = {float(i + 1): lab for i, lab in enumerate(labels)}

    def _invalid_item_score(self, base: str, spec: Score, index: list[int], offset: int) -> None:
        name = next(n for n, sc in self.inst.scores.items() if sc is spec)
        first = self.first_invalid(name)
        self.lines += _comment(
            f"{base}: an invalid answer (not a code of the scale, not a missing code) is not a "
            "missing one: the score is not scored, whatever the missing rule allows; the status "
            "names the first such item."
        )
        self.lines.append(f"COMPUTE {first} = 0.")
        for j in reversed(index):  # the earliest item wins
            self.lines.append(f"IF ({self.invalid(j)} = 1) {first} = {j + 1}.")
        self.lines.append(f"IF ({first} > 0) {base} = $SYSMIS.")
        for pos, j in enumerate(index, start=1):
            self.lines.append(f"IF ({first} = {j + 1}) {base}_status = {offset + pos}.")

    def _composite(self, base: str, spec: Score) -> None:
        members = [score_column(self.inst, m) for m in spec.scores or []]
        m = len(members)
        func = "MEAN" if spec.method == "mean" else "SUM"
        what = "mean" if spec.method == "mean" else "sum"
        self.lines += _comment(
            f"{base}: {what} of the component scores as stored; every component must be scored."
        )
        self.lines += _call(f"COMPUTE {base} = ", f"{func}.{m}", members, ".")
        self.lines += _command(f"COMPUTE {base}_n =", [f"{c}_n" for c in members], ".", " +")
        self.lines.append(f"COMPUTE {base}_status = 3.")
        self.lines += _call(
            f"IF (NMISS({', '.join(members)}) = 0) {base}_status = 1 + ",
            "ANY",
            ["2"] + [f"{c}_status" for c in members],
            ".",
        )
        labels = ["scored", "prorated", "not scored: a component score is missing"]
        if self.rules.invalid_statuses:
            under = self._items_under(spec)
            labels = labels + [_invalid_status(self.inst.item_ids[j]) for j in under]
            if self.rules.invalid_not_scored:
                name = next(n for n, sc in self.inst.scores.items() if sc is spec)
                first = self.first_invalid(name)
                self.lines += _comment(
                    f"{base}: a component not scored for an invalid answer names that item."
                )
                self.lines.append(f"COMPUTE {first} = 0.")
                for member in reversed(spec.scores or []):  # the first component wins
                    part = self.first_invalid(member)
                    self.lines.append(f"IF ({part} > 0) {first} = {part}.")
                for pos, j in enumerate(under, start=1):
                    self.lines.append(f"IF ({first} = {j + 1}) {base}_status = {3 + pos}.")
        self.value_labels[f"{base}_status"] = {float(i + 1): lab for i, lab in enumerate(labels)}

    def _items_under(self, spec: Score) -> list[int]:
        """Instrument positions of the items a score rests on (through composites), each once."""
        if spec.items is not None:
            return [self.inst.item_ids.index(i) for i in spec.items]
        out: list[int] = []
        for member in spec.scores or []:
            out += [j for j in self._items_under(self.inst.scores[member]) if j not in out]
        return out

    def _round(self, base: str, spec: Score, name: str) -> None:
        d = spec.rounding
        if d is None:
            return
        f = _num(10.0**d)
        scaled = base if d == 0 else f"{base} * {f}"
        self.lines += _comment(
            f"Round half up to {d} decimal{'s' if d != 1 else ''} before banding (as psyscore: "
            "away from zero, with a 1e-9 nudge so 2.675 stored as 2.67499... rounds up)."
        )
        lo, _hi = self.inst.score_range(name)
        if lo >= 0:
            expr = f"TRUNC({scaled} + 0.5 + 1E-9)"
        else:
            absolute = f"ABS({base})" if d == 0 else f"ABS({base}) * {f}"
            expr = f"(({base} > 0) - ({base} < 0)) * TRUNC({absolute} + 0.5 + 1E-9)"
        self.lines.append(f"COMPUTE {base} = {expr}{'' if d == 0 else f' / {f}'}.")

    def _bands(self, column: str, base: str, band_set) -> None:
        self.lines += _comment(
            f"{column}: {band_set.name} bands; the first band whose upper bound (inclusive) is "
            "at least the score; above the last bound stays missing."
        )
        specs = ["(MISSING=SYSMIS)"]
        specs += [f"(LO THRU {_num(b.upto)}={i + 1})" for i, b in enumerate(band_set.bands)]
        specs.append("(ELSE=SYSMIS)")
        self.lines += _command(f"RECODE {base}", specs, f" INTO {column}.")
        self.value_labels[column] = {float(i + 1): b.label for i, b in enumerate(band_set.bands)}

    def _norms(self, base: str, spec: Score) -> None:
        group = spec.norms[0]
        z = f"#{self.p}_z"
        dz, dt, dp = self.rules.standard_decimals

        def shown(d: int | None) -> str:
            return "unrounded" if d is None else f"to {d} decimal{'s' if d != 1 else ''}"

        method = group.percentile_method  # the engine's rule (psyscore.norms.percentiles)
        pct_text = {
            "normal-approximation": f"the normal-approximation percentile {shown(dp)}",
            "table": f"the percentile from the published table ({group.table.source}, "
            f"{group.table.page}) for the raw scores it lists"
            if group.table
            else "",
            "none": "no percentile (a skewed norm without a published table)",
        }[method]
        self.lines += _comment(
            f"Standard scores against {group.group} (mean {_num(group.mean)}, SD "
            f"{_num(group.sd)}): z {shown(dz)}, T = 50 + 10z {shown(dt)} and {pct_text}, each "
            "from the unrounded z; rounding is half away from zero with the same 1e-9 nudge as "
            "the scores."
        )
        self.lines.append(f"COMPUTE {z} = ({base} - {_num(group.mean)}) / {_num(group.sd)}.")
        # as psyscore.norms.standardise: beyond |z| > Z_LIMIT a norm says nothing reliable
        self.lines.append(f"IF (ABS({z}) > {_num(Z_LIMIT)}) {z} = $SYSMIS.")
        self._round_half_up(f"{base}_z", z, dz)
        self.lines.append(f"COMPUTE {z}_t = 50 + 10 * {z}.")
        self._round_half_up(f"{base}_t", f"{z}_t", dt)
        if method == "normal-approximation":
            self.lines.append(f"COMPUTE {z}_p = CDF.NORMAL({z}, 0, 1) * 100.")
            self._round_half_up(f"{base}_pct", f"{z}_p", dp)
        elif method == "table" and group.table is not None:
            specs = [f"({_num(raw)}={_num(pct)})" for raw, pct in group.table.percentiles.items()]
            specs.append("(ELSE=SYSMIS)")
            self.lines += _command(f"RECODE {base}", specs, f" INTO {base}_pct.")
        else:
            self.lines.append(f"COMPUTE {base}_pct = $SYSMIS.")

    def _round_half_up(self, target: str, source: str, d: int | None) -> None:
        if d is None:  # psyscore keeps full precision
            self.lines.append(f"COMPUTE {target} = {source}.")
            return
        f = _num(10.0**d)
        self.lines.append(
            f"COMPUTE {target} = (({source} > 0) - ({source} < 0)) * "
            f"TRUNC(ABS({source}) * {f} + 0.5 + 1E-9) / {f}."
        )

    def _exclude(self) -> None:
        """Excluded rows (Qualtrics previews, spam): scores, bands and standard scores empty, the
        status says why; `_n` and the critical flags stay (they describe the answers)."""
        rule = self.exclusions
        assert rule is not None
        self.lines += _comment(
            f"Rows excluded by the {rule.status_column} column (" + ", ".join(rule.order) + "): "
            "no scores, bands or standard scores; the status says why. Items answered (_n) and "
            "critical items stay."
        )
        self.lines.append(f"DO IF (NOT MISSING({_EXCLUDED})).")
        for name in self.inst.scores:
            base = score_column(self.inst, name)
            blank = [c for c in self._columns_of(name) if c not in (f"{base}_n", f"{base}_status")]
            self.lines += [f"COMPUTE {c} = $SYSMIS." for c in blank]
            labels = self.value_labels[f"{base}_status"]
            self.lines.append(f"COMPUTE {base}_status = {len(labels)} + {_EXCLUDED}.")
        self.lines.append("END IF.")
        for name in self.inst.scores:
            labels = self.value_labels[f"{score_column(self.inst, name)}_status"]
            first = len(labels) + 1
            labels.update({float(first + i): f"excluded: {r}" for i, r in enumerate(rule.order)})

    def _critical(self) -> None:
        inst = self.inst
        critical = [(j, it) for j, it in enumerate(inst.items) if it.critical is not None]
        if not critical:
            return
        flag, names = f"{self.p}_critical", f"{self.p}_critical_items"
        width = max(len(" ".join(it.id for _, it in critical)), 1)
        self.lines += _comment(
            "Critical items, on the answer as given (before reverse keying): "
            + "; ".join(f"{it.id} {it.critical.when}" for _, it in critical)
            + "."
        )
        self.lines.append(f"COMPUTE {flag} = 0.")
        self.lines.append(f"STRING {names} (A{width}).")
        self.lines.append(f"COMPUTE {names} = ''.")
        for j, it in critical:
            match = _CRITICAL.match(it.critical.when)
            assert match is not None  # validated by the definition model
            op, value = _OPS[match.group(1)], float(match.group(2))
            cond = f"{self.raw(j)} {op} {_num(value)}"
            self.lines.append(f"IF ({cond}) {flag} = 1.")
            self.lines.append(
                f"IF ({cond}) {names} = LTRIM(CONCAT(RTRIM({names}), {_quote(' ' + it.id)}))."
            )
        if self.three_state:
            self._critical_unanswered(critical, flag, width)
        self.value_labels[flag] = {float(k): v for k, v in self.info[flag].value_labels.items()}
        self.formats[flag] = _DEFAULT_NUMERIC_FORMAT
        self.strings[names] = width

    def _critical_unanswered(self, critical, flag: str, width: int) -> None:
        """`_critical` is not known (missing) when none is endorsed but one has no valid answer
        (blank, missing code or invalid); `_critical_unanswered` names those items."""
        unanswered = f"{self.p}_critical_unanswered"
        self.lines += _comment(
            f"{flag} is 1 when a critical item is endorsed, 0 when all are answered and none is, "
            f"and missing (not known) otherwise; {unanswered} names the unanswered ones."
        )
        self.lines.append(f"STRING {unanswered} (A{width}).")
        self.lines.append(f"COMPUTE {unanswered} = ''.")
        for j, it in critical:
            self.lines.append(
                f"IF (MISSING({self.raw(j)})) {unanswered} = "
                f"LTRIM(CONCAT(RTRIM({unanswered}), {_quote(' ' + it.id)}))."
            )
        self.lines.append(f"IF ({flag} = 0 AND {unanswered} <> '') {flag} = $SYSMIS.")
        self.strings[unanswered] = width

    # ---- dictionary -----------------------------------------------------------------------

    def dictionary(self) -> list[str]:
        cols = [c for c in self.info if c in self.formats or c in self.strings]
        lines = _comment(f"Dictionary of the {self.inst.id} columns, as psyscore writes them.")
        lines += _subcommands(
            "VARIABLE LABELS", [[f"{c} {_quote(self.info[c].label)}"] for c in cols]
        )
        labelled = [c for c in cols if c in self.value_labels]
        if labelled:
            lines += _subcommands(
                "VALUE LABELS",
                [
                    [c] + [f"  {_num(v)} {_quote(lab)}" for v, lab in self.value_labels[c].items()]
                    for c in labelled
                ],
            )
        by_level: dict[str, list[str]] = {}
        for c in cols:
            by_level.setdefault(_LEVELS[self.info[c].measure], []).append(c)
        lines += _subcommands(
            "VARIABLE LEVEL", [[" ".join(v) + f" ({level})"] for level, v in by_level.items()]
        )
        by_format: dict[str, list[str]] = {}
        for c in cols:
            if c in self.formats:
                by_format.setdefault(self.formats[c], []).append(c)
        lines += _subcommands(
            "FORMATS", [[" ".join(v) + f" ({fmt})"] for fmt, v in by_format.items()]
        )
        return lines


def _subcommands(command: str, entries: Sequence[Sequence[str]]) -> list[str]:
    """`COMMAND a ... /b ... .`: one entry (a list of lines) per variable, `/` between them."""
    out: list[str] = []
    for i, entry in enumerate(entries):
        first = (command + " " if i == 0 else "  /") + entry[0]
        body = [first] + [f"  {line}" for line in entry[1:]]
        if i == len(entries) - 1:
            body[-1] += "."
        out += body
    return out


def _split_entry(entry: str) -> list[str]:
    """Split on spaces outside quotes, so string literals stay whole when wrapping."""
    words, current, quoted = [], "", False
    for ch in entry:
        if ch == "'":
            quoted = not quoted
        if ch == " " and not quoted:
            if current:
                words.append(current)
            current = ""
        else:
            current += ch
    if current:
        words.append(current)
    return words


def spss_syntax(
    instruments: Sequence[Instrument],
    item_columns: Mapping[str, Sequence[str | None]],
    *,
    source_name: str,
    text_columns: Collection[str] = (),
    recodes: Mapping[str, Mapping[object, float]] | None = None,
    file_missing: FileMissing | None = None,
    exclusions: ExclusionRule | None = None,
    rules: EngineRules | None = None,
) -> str:
    """SPSS/PSPP syntax that adds psyscore's score columns to the active dataset.

    `item_columns` maps each instrument id to the data column of each of its items, in the
    definition's item order (None: no column), as `BatchResult.items[id].columns` has it.
    `text_columns` names the item columns that hold text rather than numbers (the syntax warns
    about them). `recodes` are the mapping file's (column -> file value -> code), applied into
    scratch variables so the data keep their values; `file_missing` the file's user-missing
    declarations (a recode that touches them is refused); `exclusions` the rows not scored
    (Qualtrics previews, spam); `rules` the engine's rules (default: `engine_rules()`, the
    installed engine's). Pure: no I/O. Raises `UsageError` for what the syntax cannot reproduce.
    """
    text, _ = _build(
        instruments,
        item_columns,
        source_name=source_name,
        text_columns=text_columns,
        recodes=recodes,
        file_missing=file_missing,
        exclusions=exclusions,
        rules=rules,
    )
    return text


def _build(
    instruments: Sequence[Instrument],
    item_columns: Mapping[str, Sequence[str | None]],
    *,
    source_name: str,
    text_columns: Collection[str],
    recodes: Mapping[str, Mapping[object, float]] | None,
    file_missing: FileMissing | None,
    exclusions: ExclusionRule | None,
    rules: EngineRules | None,
) -> tuple[str, list[_InstrumentSyntax]]:
    rules = rules or engine_rules()
    text = set(text_columns)
    stamp = "; ".join(f"{i.id} v{i.version} sha256:{definition_hash(i)}" for i in instruments)
    lines = [
        "* Encoding: UTF-8.",
        f"* psyscore {__version__}: SPSS syntax that reproduces psyscore's scoring.",
        "* generated — do not edit; regenerate it with psyscore instead.",
    ]
    lines += _comment(f"Source data: {source_name}.")
    for inst in instruments:
        lines += _comment(
            f"Instrument {inst.id} version {inst.version}, definition sha256:"
            f"{definition_hash(inst)}."
        )
    lines += _comment(
        "Open the data first (for example GET FILE='" + source_name.replace("'", "") + "'.), "
        "then run this file: it adds the columns psyscore score writes to a .sav, with the same "
        "names, values, labels, measurement levels and formats. Run it on data not scored yet."
    )
    lines += _comment(
        "Covered: the mapping file's columns and recodes, Qualtrics previews and spam, valid "
        "codes, missing codes and user-missing values, reverse keying, sum, mean and prorated "
        "sum with the missing rule, rounding, _n, _status, bands, _z/_t/_pct, critical items. "
        "Not covered: answers given as text (numeric codes only) and psyscore's list of data "
        "problems."
    )
    parts = []
    for inst in instruments:
        if inst.id not in item_columns:
            raise ValueError(f"item_columns has no entry for instrument {inst.id}")
        parts.append(
            _InstrumentSyntax(
                inst, item_columns[inst.id], text, recodes, file_missing, exclusions, rules
            )
        )
    if exclusions is not None:
        lines += _exclusion_lines(exclusions)
    for part in parts:
        lines += part.build()
    lines += ["", "EXECUTE."]
    for part in parts:
        lines += [""] + part.dictionary()
    note = f"Scored with psyscore {__version__} SPSS syntax from {source_name}: {stamp}"
    doc = textwrap.wrap(note, width=80, break_long_words=True)
    lines += ["", "ADD DOCUMENT"] + [f"    {_quote(x, chunk=80)}" for x in doc]
    lines[-1] += "."
    lines += ["EXECUTE.", ""]
    return "\n".join(wrapped for line in lines for wrapped in _wrap(line)), parts


def spss_syntax_for(
    result: BatchResult,
    instruments: Sequence[Instrument],
    *,
    source_name: str,
    recodes: Mapping[str, Mapping[object, float]] | None = None,
    file_missing: FileMissing | None = None,
    exclusions: ExclusionRule | None = None,
    invalid_as_missing: bool | None = None,
) -> str:
    """`spss_syntax` for a `BatchResult`: item columns and text columns taken from the result.

    Give the same `recodes` and `file_missing` the result was scored with, the `exclusion_rule`
    of the data when rows were excluded, and `invalid_as_missing` as scored (None: read it from
    the result where an invalid answer shows it, else the engine's default). The exclusions, the
    treatment of invalid answers, the status labels and the critical columns are checked against
    the result: a syntax that would disagree with it is a `UsageError`, never written.
    """
    import pandas as pd

    item_columns = {inst.id: result.items[inst.id].columns for inst in instruments}
    used = {c for cols in item_columns.values() for c in cols if c is not None}
    text = {
        c
        for c in used
        if not pd.api.types.is_numeric_dtype(result.table[c].dtype)
        or pd.api.types.is_bool_dtype(result.table[c].dtype)
    }
    exclusions = _checked_exclusions(result, instruments, exclusions)
    if getattr(result, "norm_by", None):
        raise UsageError(
            "--syntax cannot choose each row's norm group (--norm-by); score without --norm-by "
            "for the syntax, or leave out --syntax"
        )
    rules = _checked_rules(result, instruments, invalid_as_missing)
    syntax, parts = _build(
        instruments,
        item_columns,
        source_name=source_name,
        text_columns=text,
        recodes=recodes,
        file_missing=file_missing,
        exclusions=exclusions,
        rules=rules,
    )
    for part in parts:
        _check_dictionary(result, part)
    return syntax


def _checked_rules(
    result: BatchResult, instruments: Sequence[Instrument], invalid_as_missing: bool | None
) -> EngineRules:
    """The engine's rules, with the treatment of invalid answers read from the result where a
    row with an invalid answer shows it."""
    import dataclasses

    import pandas as pd

    from ..responses import INVALID

    rules = engine_rules(invalid_as_missing=invalid_as_missing)
    shown: set[bool] = set()
    for inst in instruments:
        items = result.items[inst.id]
        for name, spec in inst.scores.items():
            if spec.items is None:
                continue
            index = [inst.item_ids.index(i) for i in spec.items]
            invalid = (items.reason[:, index] == INVALID).any(axis=1)
            if not invalid.any():
                continue
            status = result.scores[inst.id][f"{score_column(inst, name)}_status"]
            text = pd.Series(status.to_numpy()[invalid]).astype("string")
            text = text[~text.str.startswith("excluded: ").fillna(False)]
            shown.update(text.str.startswith("not scored: invalid answer").fillna(False).tolist())
    if len(shown) > 1:
        raise UsageError(
            "--syntax: some invalid answers left their scores unscored and others did not; the "
            "syntax cannot follow that"
        )
    if shown:
        (not_scored,) = shown
        if not_scored != rules.invalid_not_scored:
            if invalid_as_missing is not None:
                raise UsageError(
                    "--syntax: the scores treat invalid answers "
                    + ("as not scored" if not_scored else "as missing")
                    + f", but invalid_as_missing={invalid_as_missing} was given"
                )
            rules = dataclasses.replace(rules, invalid_not_scored=not_scored)
    return rules


def _check_dictionary(result: BatchResult, part: _InstrumentSyntax) -> None:
    """The syntax's status labels and critical columns are psyscore's (excluded statuses last)."""
    inst = part.inst
    frame = result.scores[inst.id]
    for name in inst.scores:
        column = f"{score_column(inst, name)}_status"
        want = [str(c) for c in frame[column].cat.categories]
        ours = list(part.value_labels[column].values())
        if ours[: len(want)] != want or any(
            not c.startswith("excluded: ") for c in ours[len(want) :]
        ):
            raise UsageError(
                f"--syntax: the syntax's statuses of {column} are not psyscore's "
                f"({len(ours)} vs {len(want)} labels); score without --syntax and report this"
            )
    unanswered = f"{inst.output_prefix}_critical_unanswered"
    if (unanswered in frame.columns) != (unanswered in part.strings):
        raise UsageError(
            f"--syntax: psyscore's and the syntax's critical-item columns differ ({unanswered})"
        )


def _checked_exclusions(
    result: BatchResult, instruments: Sequence[Instrument], rule: ExclusionRule | None
) -> ExclusionRule | None:
    """The rule with its reasons in the order of psyscore's status codes, after checking that it
    excludes exactly the rows psyscore excluded."""
    import dataclasses

    import numpy as np
    import pandas as pd

    wanted = rule.reasons(result.table) if rule is not None else None
    order: list[str] = []
    for inst in instruments:
        for name in inst.scores:
            status = result.scores[inst.id][f"{score_column(inst, name)}_status"]
            excluded = [c for c in status.cat.categories if str(c).startswith("excluded: ")]
            reasons = [str(c).removeprefix("excluded: ") for c in excluded]
            got = np.asarray(status.astype(object), dtype=object)
            hit = np.isin(got, excluded)
            if wanted is None:
                if hit.any():
                    raise UsageError(
                        "--syntax: psyscore left out rows (" + ", ".join(reasons) + ") but "
                        "no exclusion rule was given, so the syntax would score them"
                    )
                continue
            expected = pd.Series(wanted, dtype="string")
            expected = ("excluded: " + expected).astype(object)
            same = np.where(hit, got, None) == np.where(expected.isna(), None, expected)
            if not same.all():
                row = int(np.flatnonzero(~same)[0])
                raise UsageError(
                    f"--syntax: the syntax would not exclude the same rows as psyscore (first "
                    f"difference: data row {row + 1}); score without --syntax and report this"
                )
            if not order:
                order = reasons
            elif order != reasons:
                raise UsageError("--syntax: scores disagree on the order of exclusion statuses")
    if rule is None:
        return None
    unseen = [r for r in rule.order if r not in order]
    if any(r not in rule.order for r in order):
        raise UsageError("--syntax: psyscore excluded rows for a reason the rule does not have")
    return dataclasses.replace(rule, order=tuple(order + unseen))


def write_spss_syntax(text: str, path: str | Path) -> None:
    """Write syntax atomically as UTF-8 (SPSS reads it in Unicode mode; PSPP detects it)."""
    path = Path(path)
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
