"""`psyscore score` and `psyscore reliability` on files larger than memory: chunk by chunk.

Each chunk goes through the in-memory engine (`score_table`, `resolve` and the reliability
moments); what needs every row is gathered as it goes and decided at the end, so the outputs
are the ones the in-memory commands give:

* the shifted-coding check: per chunk, each item column's span (`_partitions.observe_partition`),
  merged and judged once (`_partitions.check_codings`), as `psyscore.dask` does;
* problem rows: numbered over the whole file (chunk offsets added, the file's own row numbers
  for text files), capped per column over the whole file (`_partitions.merge_problems`);
* repeated respondent ids: the id column is kept (one column, as Arrow) and checked at the end;
* reliability: per chunk the sufficient statistics (`Moments`) of every score's keyed items,
  merged and analysed once (for integer codes exactly the in-memory numbers); the score values
  themselves (8 bytes per row and score) for their n, M, SD and the scale intercorrelations;
* CSV column types and whole-number codes, which depend on every cell (see `io.chunks`).

Outputs are written to staged temporaries as the chunks come and renamed into place only when
the whole file passed every check; on a refusal (or Ctrl-C) nothing is left behind.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

from ._partitions import (
    check_codings,
    make_plan,
    mapping_for,
    merge_observed,
    merge_problems,
    observe_partition,
)
from .batch import score_table, stop_on_recode_mismatch
from .columns import score_column
from .errors import UsageError
from .instrument import Instrument
from .io import Table
from .io.chunks import (
    CHUNK_ROWS_HELP,  # noqa: F401 (the --chunk-rows help, for the commands)
    ChunkedTable,
    ChunkWriter,
    KindsChanged,
    check_chunk_input,
    check_chunk_outputs,
    read_chunks,
)
from .problems import Problem
from .responses import INVALID, FileMissing, duplicate_ids
from .scoring import merge_norm_notes

# restarts after a later chunk showed what earlier chunks should have been written as; each
# one learns something final about a column, so a few are the most a file needs
MAX_PASSES = 8


# ---- what every chunk adds up to --------------------------------------------------------------


@dataclass
class _Exclusions:
    column: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    first_seen: dict[str, int] = field(default_factory=dict)

    def add(self, found) -> None:
        if found.column is not None:
            self.column = found.column
        for reason, n in found.counts.items():
            self.counts[reason] = self.counts.get(reason, 0) + n
            self.first_seen.setdefault(reason, len(self.first_seen))

    def ordered(self) -> dict[str, int]:
        """As `value_counts()` orders them over the whole file: most frequent first."""
        keys = sorted(self.counts, key=lambda r: (-self.counts[r], self.first_seen[r]))
        return {k: self.counts[k] for k in keys}


class _Ids:
    """The id column, chunk by chunk (Arrow), checked for repeats over the whole file."""

    def __init__(self, column: str | None):
        self.column = column
        self.parts: list = []

    def add(self, data: pd.DataFrame) -> None:
        if self.column is None:
            return
        import pyarrow as pa

        if self.column not in data.columns:
            duplicate_ids(data, self.column)  # the engine's UsageError
        values = data[self.column]
        if values.dtype == object:
            values = values.astype("string")
        self.parts.append(pa.Array.from_pandas(values))

    def problems(self) -> list[Problem]:
        if self.column is None or not self.parts:
            return []
        import pyarrow as pa

        ids = pa.chunked_array(self.parts).combine_chunks()
        self.parts = []
        codes = ids.dictionary_encode().indices.to_numpy(zero_copy_only=False)
        valid = ~ids.is_null().to_numpy(zero_copy_only=False)
        if ids.type in (pa.float32(), pa.float64()):  # NaN is missing, as pandas' notna
            valid &= ~np.isnan(ids.to_numpy(zero_copy_only=False))
        repeated = np.zeros(len(ids), dtype=bool)
        rows = np.flatnonzero(valid)
        _, first = np.unique(codes[rows], return_index=True)
        repeated[rows] = True
        repeated[rows[first]] = False

        class _Values:  # the cells problem records show, fetched one by one
            def __getitem__(self, r):
                return ids[int(r)].as_py()

        from .problems import cell_problems

        return cell_problems(
            repeated,
            _Values(),  # type: ignore[arg-type]
            kind="duplicate_id",
            column=self.column,
            instrument="",
            message="respondent id {value} appears more than once",
            hint="give each respondent one row, or use a wave/visit column to tell rows apart",
        )


class _Coding:
    """The merged spans of the columns the shifted-coding check reads."""

    def __init__(self, plan):
        self.plan = plan
        self.merged: list[list] | None = None

    def add(self, data: pd.DataFrame) -> None:
        if not self.plan.checked_columns:
            return
        seen = observe_partition(data, self.plan)
        if self.merged is None:
            self.merged = seen
            return
        self.merged = [
            [merge_observed(a, b) for a, b in zip(m, s, strict=True)]
            for m, s in zip(self.merged, seen, strict=True)
        ]

    def check(self) -> None:
        if self.merged is not None:
            check_codings([self.merged], self.plan)


class _ScoreStats:
    """Per score column: statuses, n, exact mean and SD (from value counts), critical flags."""

    def __init__(self):
        self.status: dict[str, dict[str, int]] = {}
        self.values: dict[str, dict[float, int]] = {}
        self.flags: dict[str, list[int]] = {}

    def add(self, frame: pd.DataFrame, inst: Instrument) -> None:
        for name in inst.scores:
            col = f"{inst.output_prefix}_{name}"
            counts = self.status.setdefault(col, {"scored": 0, "prorated": 0, "missing": 0})
            status = frame[f"{col}_status"]
            counts["scored"] += int((status == "scored").sum())
            counts["prorated"] += int((status == "prorated").sum())
            values = frame[col].to_numpy(dtype=float)
            ok = values[~np.isnan(values)]
            counts["missing"] += len(values) - len(ok)
            known = self.values.setdefault(col, {})
            uniques, n = np.unique(ok, return_counts=True)
            for v, c in zip(uniques.tolist(), n.tolist(), strict=True):
                known[v] = known.get(v, 0) + c
        crit = f"{inst.output_prefix}_critical"
        flags = frame.get(crit)
        if flags is not None:
            done = self.flags.setdefault(crit, [0, 0])
            done[0] += int((flags == 1).sum())
            done[1] += int(flags.isna().sum())

    def summary(self, instruments: Sequence[Instrument]) -> list[dict]:
        """The rows `psyscore score` prints and puts in --json (see cli.score._summary)."""
        from .instrument import definition_hash

        rows = []
        for inst in instruments:
            scores = []
            for name in inst.scores:
                col = f"{inst.output_prefix}_{name}"
                counts = self.status[col]
                mean, sd = _exact_mean_sd(self.values[col])
                scores.append(
                    {
                        "score": name,
                        "column": col,
                        "scored": counts["scored"],
                        "prorated": counts["prorated"],
                        "not_scored": counts["missing"],
                        "mean": None if mean is None else round(mean, 3),
                        "sd": None if sd is None else round(sd, 3),
                    }
                )
            crit = f"{inst.output_prefix}_critical"
            flags = self.flags.get(crit)
            rows.append(
                {
                    "id": inst.id,
                    "verified": inst.key.verified,
                    "definition_sha256": definition_hash(inst),
                    "critical_flags": flags[0] if flags is not None else None,
                    "critical_unanswered": flags[1] if flags is not None else None,
                    "critical_column": f"{inst.output_prefix}_critical_items",
                    "critical_unanswered_column": f"{inst.output_prefix}_critical_unanswered",
                    "scores": scores,
                }
            )
        return rows


def _exact_mean_sd(counts: dict[float, int]) -> tuple[float | None, float | None]:
    """Mean and SD (n - 1) of values given as {value: count}, in exact arithmetic, rounded once."""
    n = sum(counts.values())
    if not n:
        return None, None
    total = sum(Fraction(v) * c for v, c in counts.items())
    mean = total / n
    if n < 2:
        return float(mean), None
    squares = sum((Fraction(v) - mean) ** 2 * c for v, c in counts.items())
    return float(mean), math.sqrt(squares / (n - 1))


class _InvalidCounts:
    """Invalid answers per instrument and item (for the --invalid-as-missing sentence)."""

    def __init__(self, instruments: Sequence[Instrument]):
        self.counts = [dict() for _ in instruments]  # item index -> count
        self.columns: list[dict[int, str]] = [dict() for _ in instruments]

    def add(self, matrices) -> None:
        for i, items in enumerate(matrices):
            for j in items.invalid_items:
                self.counts[i][j] = self.counts[i].get(j, 0) + int(
                    (items.reason[:, j] == INVALID).sum()
                )
                self.columns[i][j] = items.columns[j] or items.instrument.item_ids[j]

    def note(self) -> str:
        count = sum(sum(c.values()) for c in self.counts)
        columns = [cols[j] for cols in self.columns for j in sorted(cols)]
        where = (
            f" ({', '.join(columns[:10])}{' ...' if len(columns) > 10 else ''})" if columns else ""
        )
        return (
            f"--invalid-as-missing: {count} invalid answer{'s' if count != 1 else ''}{where} "
            "treated as missing; scores were computed (prorated where the rule allows) without them"
        )


class _NormBy:
    """`--norm-by` over chunks: what the in-memory path decides from the whole sex and age
    columns (the sentence saying how sex was read, the refusal of a code that names no sex or of
    an age that is no age), gathered chunk by chunk; each chunk's rows get their groups there.

    The norm notes' records merge in `scoring.merge_norm_notes`; the order of the reasons of a
    "no norm group" note (most frequent first, ties by first row, as `value_counts` orders them
    over the whole file) is restored here, since a chunk's own order may differ."""

    def __init__(self, spec: str | None, meta: Table):
        from .norms import norm_rows_from_table, parse_norm_by

        self.spec = spec
        self.columns = parse_norm_by(spec)
        self.labels = meta.value_labels
        self.sexes: list[pd.Series] = []  # each chunk's distinct sex values, in file order
        self.bad_ages: list[pd.Series] = []  # each chunk's values that are no age, distinct
        self.bad_rows: list[int] = []  # the first five rows (1-based, in the file) with one
        self.failed = False
        self.first_row: dict[tuple[str, str], int] = {}  # (score, reason) -> first file row
        if self.columns:  # an unknown column: the engine's UsageError, before any chunk
            norm_rows_from_table(meta.data.iloc[:0], self.columns, self.labels)

    def observe(self, part: pd.DataFrame, offset: int) -> bool:
        """Gather the chunk's sex values and ages; False when the whole file will be refused
        (then the chunk is not scored: the refusal names every chunk's values at the end)."""
        from .errors import DataError
        from .norms import norm_rows_from_table

        if not self.columns:
            return True
        if "sex" in self.columns:
            self.sexes.append(part[self.columns["sex"]].drop_duplicates())
        if "age" in self.columns:
            raw = part[self.columns["age"]]
            years = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
            missing = raw.isna().to_numpy() | (raw.astype(str).str.strip() == "").to_numpy()
            bad = ~missing & (np.isnan(years) | (years < 0) | (years > 130))
            if bad.any():
                self.bad_ages.append(raw[bad].drop_duplicates())
                left = 5 - len(self.bad_rows)
                self.bad_rows.extend((np.flatnonzero(bad)[:left] + 1 + offset).tolist())
        if not self.failed:
            try:
                norm_rows_from_table(part, self.columns, self.labels)
            except DataError:
                self.failed = True
        return not self.failed

    def refuse(self) -> None:
        """Raise the whole file's DataError, as `norms.norm_rows_from_table` words it."""
        from .errors import DataError
        from .norms import _decode_sex

        if "sex" in self.columns:
            column = self.columns["sex"]
            _decode_sex(self._sexes(), self.labels.get(column) or {}, column)
        if self.bad_ages:
            column = self.columns["age"]
            found = ", ".join(repr(v) for v in pd.unique(pd.concat(self.bad_ages))[:5])
            rows = ", ".join(str(r) for r in self.bad_rows[:5])
            raise DataError(
                f"--norm-by age={column}: {found} (row {rows}) is not an age in years (0-130); "
                "fix the column or leave the cell empty (an unknown age)"
            )
        raise RuntimeError("no --norm-by refusal to give")  # pragma: no cover

    def _sexes(self) -> pd.Series:
        column = self.columns["sex"]
        return pd.concat(self.sexes) if self.sexes else pd.Series([], dtype=object, name=column)

    def sex_note(self) -> list[str]:
        """The sentence saying how the sex column was read (first of a run's warnings)."""
        from .norms import _decode_sex

        if "sex" not in self.columns:
            return []
        column = self.columns["sex"]
        _, meaning = _decode_sex(self._sexes(), self.labels.get(column) or {}, column)
        return [f"--norm-by sex={column}: {meaning}"]

    def is_sex_note(self, warning: str) -> bool:
        return "sex" in self.columns and warning.startswith(f"--norm-by sex={self.columns['sex']}:")

    def note_first_rows(self, notes, scores: dict[str, pd.DataFrame], offset: int) -> None:
        """The first row of each reason a chunk's "no norm group" notes count."""
        columns = {c: f[c] for f in scores.values() for c in f.columns}
        for note in notes:
            if note.kind != "no_group":
                continue
            groups = columns[f"{note.base}_norm_group"].to_numpy(dtype=object)[note.rows]
            for reason in note.counts:
                row = int(note.rows[np.flatnonzero(groups == reason)[0]]) + offset
                self.first_row.setdefault((note.base, reason), row)

    def ordered(self, notes: list) -> list:
        """The merged notes with their reasons in the whole file's order."""
        out = []
        for note in notes:
            if note.kind == "no_group":
                keys = sorted(
                    note.counts,
                    key=lambda r: (-note.counts[r], self.first_row[(note.base, r)]),
                )
                note = dataclasses.replace(note, counts={k: note.counts[k] for k in keys})
            out.append(note)
        return out


# ---- scoring ----------------------------------------------------------------------------------


@dataclass
class StreamedScore:
    """What `psyscore score` reports for a file scored in chunks."""

    rows: int
    columns: int
    summary: list[dict]
    excluded: dict[str, int]
    excluded_column: str | None
    problems: list[Problem]
    warnings: list[str]
    meta: Table


def _exclusions(data: pd.DataFrame, meta: Table, previews: bool, spam: bool):
    from .io.qualtrics import response_exclusions

    return response_exclusions(data, meta.value_labels).keep(previews=previews, spam=spam)


def _file_missing(meta: Table) -> FileMissing:
    from .survey import file_missing_of

    return file_missing_of(meta)


def score_file(
    data: Path,
    instruments: Sequence[Instrument],
    targets: Sequence[Path],
    *,
    chunk_rows: int,
    id_column: str | None = None,
    mapping=None,
    replace_scores: bool = False,
    previews: bool = False,
    spam: bool = False,
    invalid_as_missing: bool = False,
    norm_by: str | None = None,
    output_table: Callable[[Table, object], Table],
    progress=None,
) -> StreamedScore:
    """Score `data` chunk by chunk into staged temporaries of `targets` (call inside
    `staged_writes()`); `output_table(meta, chunk result)` gives the Table a chunk is written as.

    Raises what the in-memory path raises (DataError for shifted codes, UsageError...).
    """
    check_chunk_input(data)
    check_chunk_outputs(list(targets))
    kinds = None
    keep_float: set[str] = set()
    for _ in range(MAX_PASSES):
        writers = [ChunkWriter(t) for t in targets]
        try:
            done = _score_pass(
                data,
                instruments,
                writers,
                chunk_rows=chunk_rows,
                kinds=kinds,
                keep_float=keep_float,
                id_column=id_column,
                mapping=mapping,
                replace_scores=replace_scores,
                previews=previews,
                spam=spam,
                invalid_as_missing=invalid_as_missing,
                norm_by=norm_by,
                output_table=output_table,
                progress=progress,
            )
            for w in writers:
                w.close()
                done.warnings.extend(w.warnings)
            return done
        except KindsChanged as changed:
            kinds = changed.kinds
        except _NotWhole as found:
            keep_float |= found.columns
        except BaseException:
            for w in writers:
                w.close()
            raise
        for w in writers:
            w.discard()
        if progress is not None:
            progress.restart()
    raise RuntimeError("the chunked read did not settle the column types")  # pragma: no cover


class _NotWhole(Exception):
    def __init__(self, columns: set[str]):
        super().__init__("non-whole numbers in F*.0 columns")
        self.columns = columns


def _score_pass(
    data: Path,
    instruments,
    writers: list[ChunkWriter],
    *,
    chunk_rows: int,
    kinds,
    keep_float: set[str],
    id_column,
    mapping,
    replace_scores,
    previews,
    spam,
    invalid_as_missing,
    output_table,
    progress,
    norm_by=None,
) -> StreamedScore:
    source: ChunkedTable = read_chunks(data, chunk_rows, kinds)
    meta = source.meta
    fm = _file_missing(meta)
    options = {
        "mapping": mapping.items if mapping is not None else None,
        "recodes": mapping.recodes if mapping is not None else None,
        "value_labels": meta.value_labels,
        "file_missing": fm,
        "replace_scores": replace_scores,
        "invalid_as_missing": invalid_as_missing,
    }
    plan = make_plan(meta.data, instruments, options, None, False)
    if id_column and id_column not in meta.data.columns:
        duplicate_ids(meta.data, id_column)  # the engine's UsageError, before any chunk
    norm = _NormBy(norm_by, meta)
    coding = _Coding(plan)
    ids = _Ids(id_column)
    excluded = _Exclusions()
    stats = _ScoreStats()
    invalid = _InvalidCounts(instruments)
    counted: list[tuple[int, list[Problem]]] = []
    warnings: list[str] | None = None
    norm_notes: list = []  # scoring.NormNote of every chunk, shifted to file positions
    rows = columns = 0
    if progress is not None:
        progress.start(source.total_rows)
    for chunk in source.chunks:
        part = chunk.data
        found = _exclusions(part, meta, previews, spam)
        excluded.add(found)
        if not norm.observe(part, rows):  # refused at the end, naming every chunk's values
            coding.add(part)
            rows += len(part)
            if progress is not None:
                progress.advance(len(part))
            continue
        chunk_options = dict(options)
        chunk_options["recodes"] = plan.partition_recodes(part)
        result = score_table(
            part, list(instruments), exclude=found.reasons, norm_by=norm_by, **chunk_options
        )
        coding.add(part)
        ids.add(part)
        counted.append((len(part), result.problems))
        invalid.add(result.items.values())
        for inst in instruments:
            stats.add(result.scores[inst.id], inst)
        if warnings is None:  # the same for every chunk, apart from the ones merged below
            warnings = [
                w
                for w in result.warnings
                if not w.startswith("--invalid-as-missing")
                and w not in result.norm_notes
                and not norm.is_sex_note(w)
            ]
        norm.note_first_rows(result.norm_note_records, result.scores, rows)
        norm_notes.extend(n.shifted(rows) for n in result.norm_note_records)
        scored = output_table(meta, result)
        not_whole: set[str] = set()
        for writer in writers:
            not_whole |= writer.write(scored, keep_float)
        if not_whole - keep_float:  # earlier chunks wrote them as integers: start again
            raise _NotWhole(not_whole)
        rows += len(part)
        columns = result.table.shape[1]
        if progress is not None:
            progress.advance(len(part))
    coding.check()  # shifted codes in the whole file: DataError, nothing is kept
    if norm.failed:  # as the in-memory path, after the coding check
        norm.refuse()
    problems = ids.problems() + merge_problems(counted, plan.instruments, plan.found)
    problems = _with_file_rows(problems, data.name, source)
    warnings = list(meta.warnings) + norm.sex_note() + (warnings or [])
    bases = [score_column(i, name) for i in instruments for name in i.scores]
    warnings.extend(n.text() for n in norm.ordered(merge_norm_notes(norm_notes, bases)))
    if invalid_as_missing:
        warnings.append(invalid.note())
    ordered = excluded.ordered()
    if ordered:
        from .survey import exclusion_note

        warnings.append(exclusion_note(ordered, excluded.column, "not scored (rows kept)"))
    if invalid_as_missing:
        note = invalid.note()
        for writer in writers:
            writer.add_note(note)
    return StreamedScore(
        rows,
        columns,
        stats.summary(instruments),
        ordered,
        excluded.column,
        problems,
        warnings,
        meta,
    )


def _with_file_rows(problems: list[Problem], file: str, source) -> list[Problem]:
    """Name the file, and for text files the row a spreadsheet shows (header rows counted)."""
    out = []
    for p in problems:
        changes: dict = {}
        if not p.file:
            changes["file"] = file
        if source.file_row_offset is not None and p.row is not None and p.file_row is None:
            changes["file_row"] = source.file_row(p.row)  # blank lines above it counted
        out.append(dataclasses.replace(p, **changes) if changes else p)
    return out


# ---- reliability ------------------------------------------------------------------------------


@dataclass
class _ScaleParts:
    """One score's merged moments and its values per row (excluded rows left out)."""

    moments: object = None
    values: list = field(default_factory=list)
    groups: dict = field(default_factory=dict)  # --by: group label -> its _ScaleParts
    counts: object = None  # --correlations polychoric: the merged OrdinalCounts
    nonwhole: dict = field(default_factory=dict)  # item -> codes not whole (not in counts)

    def add(self, moments, values: np.ndarray) -> None:
        self.moments = moments if self.moments is None else self.moments + moments
        self.values.append(values)

    def add_counts(self, frame: pd.DataFrame, categories: np.ndarray) -> None:
        """The chunk's contingency tables of the keyed items (polychoric correlations)."""
        from .psychometrics.polychoric import whole_code_counts

        counts = whole_code_counts(frame, categories)
        self.counts = counts if self.counts is None else self.counts.merge(counts)
        x = frame.to_numpy(dtype=float)
        odd = np.isfinite(x) & (x != np.round(x))
        for j in np.flatnonzero(odd.any(axis=0)):
            self.nonwhole.setdefault(str(frame.columns[j]), set()).update(x[odd[:, j], j].tolist())

    def take_values(self) -> np.ndarray:
        values = np.concatenate(self.values) if self.values else np.empty(0)
        self.values = []
        return values


def _group_masks(column: pd.Series, keep: np.ndarray | None) -> list[tuple[str | None, np.ndarray]]:
    """(label, row mask) of each --by group in a chunk's kept rows, labelled as the in-memory
    path labels them (`psychometrics.instruments.group_levels`; None: no value), found from
    the column's distinct values (no per-row Python)."""
    from .psychometrics.instruments import _label

    values = column if keep is None else column[keep]
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    labels = [_label(u) for u in uniques] + [None]  # code -1 (missing) is the last
    codes = np.where(codes < 0, len(uniques), codes)
    out = []
    for label in dict.fromkeys(labels[c] for c in np.unique(codes)):
        members = [c for c, lab in enumerate(labels) if lab == label]
        out.append((label, np.isin(codes, members)))
    return out


def _group_order(labels) -> list[str | None]:
    """Groups as the in-memory report orders them: numbers numerically, text after, None last."""
    from .psychometrics.instruments import _natural

    present = sorted((v for v in labels if v is not None), key=_natural)
    return present + ([None] if None in labels else [])


def reliability_file(
    data: Path,
    instruments: Sequence[Instrument],
    *,
    chunk_rows: int,
    mapping=None,
    policy: str = "pairwise",
    omega: bool = True,
    split_half: str = "all",
    nfactors: int = 3,
    by: str | None = None,
    correlations: str = "pearson",
    previews: bool = False,
    spam: bool = False,
    progress=None,
):
    """Per instrument (results, problems) as `reliability_of` gives them for the whole file,
    plus the exclusion counts and the merged moments for the overlap correction.

    `by` (a column): every statistic also per group, from each group's moments merged over
    the chunks (a group may appear in any chunk). ``correlations="polychoric"``: ordinal alpha
    and omega from each score's (and group's) contingency tables, merged over the chunks."""
    check_chunk_input(data)
    kinds = None
    for _ in range(MAX_PASSES):
        try:
            return _reliability_pass(
                data,
                instruments,
                chunk_rows=chunk_rows,
                kinds=kinds,
                mapping=mapping,
                policy=policy,
                omega=omega,
                split_half=split_half,
                nfactors=nfactors,
                by=by,
                correlations=correlations,
                previews=previews,
                spam=spam,
                progress=progress,
            )
        except KindsChanged as changed:
            kinds = changed.kinds
            if progress is not None:
                progress.restart()
    raise RuntimeError("the chunked read did not settle the column types")  # pragma: no cover


def _reliability_pass(
    data,
    instruments,
    *,
    chunk_rows,
    kinds,
    mapping,
    policy,
    omega,
    split_half,
    nfactors,
    previews,
    spam,
    progress,
    by=None,
    correlations="pearson",
):
    from ._partitions import score_moments
    from .psychometrics import Moments
    from .psychometrics.instruments import SCORE_METHODS, _attach_score
    from .psychometrics.polychoric import add_ordinal_reliability_from_counts
    from .psychometrics.scale import analyse_moments
    from .responses import ItemMatrix, resolve
    from .scoring import score

    source = read_chunks(data, chunk_rows, kinds)
    meta = source.meta
    fm = _file_missing(meta)
    options = {
        "mapping": mapping.items if mapping is not None else None,
        "recodes": mapping.recodes if mapping is not None else None,
        "value_labels": meta.value_labels,
        "file_missing": fm,
    }
    plans = []
    for inst in instruments:
        plan = make_plan(meta.data, [inst], options, None, False)
        if not plan.found[0]:
            raise UsageError(
                f"no column of the data matches an item of {inst.id} (expected names like "
                f"{', '.join(inst.item_ids[:3])}). Rename the columns or give a mapping "
                "(--map FILE; from Python, mapping={column: item id})."
            )
        plans.append(plan)
    if by is not None and by not in meta.data.columns:  # the in-memory message
        raise UsageError(
            f"--by {by}: no such column in the data (columns include "
            f"{', '.join(map(str, list(meta.data.columns)[:5]))})"
        )
    polychoric = correlations == "polychoric"
    categories = [_categories(inst) for inst in instruments] if polychoric else None
    parts = [{name: _ScaleParts() for name in _item_scores(inst)} for inst in instruments]
    overlap = _overlap_columns(instruments)
    overlap_moments = None
    codings = [_Coding(plan) for plan in plans]
    counted: list[list] = [[] for _ in instruments]
    excluded = _Exclusions()
    if progress is not None:
        progress.start(source.total_rows)
    for chunk in source.chunks:
        part = chunk.data
        found = _exclusions(part, meta, previews, spam)
        excluded.add(found)
        keep = None if found.reasons is None else pd.isna(found.reasons)
        groups = None if by is None else _group_masks(part[by], keep)
        keyed_all = {}
        for i, (inst, plan) in enumerate(zip(instruments, plans, strict=True)):
            items, problems = resolve(
                inst,
                part,
                mapping=mapping_for(inst, options["mapping"]),
                file_missing=fm,
                recodes=plan.partition_recodes(part),
                value_labels=meta.value_labels,
            )
            stop_on_recode_mismatch(problems)  # labels that disagree: the same in every chunk
            codings[i].add(part)
            counted[i].append((len(part), problems))
            if keep is not None:
                items = ItemMatrix(
                    inst, items.codes[keep], items.reason[keep], items.reasons, items.columns
                )
            moments, keyed = score_moments(items, keyed=True)
            values = score(items)
            frames = _keyed_frames(items) if groups is not None or polychoric else {}
            for name, m in moments.items():
                scale = parts[i][name]
                scored = values[f"{inst.output_prefix}_{name}"].to_numpy(dtype=float)
                scale.add(m, scored)
                if polychoric:
                    scale.add_counts(frames[name], categories[i][name])
                for label, mask in groups or ():
                    group = scale.groups.setdefault(label, _ScaleParts())
                    group.add(Moments.from_data(frames[name].loc[mask]), scored[mask])
                    if polychoric:
                        group.add_counts(frames[name].loc[mask], categories[i][name])
            if overlap:
                _keyed_by_name(items, keyed, keyed_all)
        if overlap:
            frame = pd.DataFrame({c: keyed_all[c] for c in overlap})
            m = Moments.from_data(frame)
            overlap_moments = m if overlap_moments is None else overlap_moments + m
        if progress is not None:
            progress.advance(len(part))
    for coding in codings:
        coding.check()
    out = []
    for i, (inst, plan) in enumerate(zip(instruments, plans, strict=True)):
        by_id = {it.id: it for it in inst.items}
        results = []
        for name, spec in inst.scores.items():
            if spec.items is None:
                continue
            scale = parts[i][name]
            published = spec.published_reliability.alpha if spec.published_reliability else None
            settings = dict(
                policy=policy,
                scale_min=min(inst.scale_of(by_id[x]).min for x in spec.items),
                scale_max=max(inst.scale_of(by_id[x]).max for x in spec.items),
                published_alpha=published,
                omega=omega,
                name=f"{inst.output_prefix}_{name}",
                nfactors=nfactors,
                split_half=split_half,
            )
            result = analyse_moments(scale.moments, **settings)
            if polychoric:
                add_ordinal_reliability_from_counts(
                    result, scale.counts, scale.nonwhole, nfactors=nfactors, omega=omega
                )
            _attach_score(result, scale.take_values())
            result.summary["score_method"] = SCORE_METHODS["none"]
            result.by = by
            for label in _group_order(scale.groups):
                group_parts = scale.groups.pop(label)
                group = analyse_moments(group_parts.moments, **settings)
                if polychoric:
                    add_ordinal_reliability_from_counts(
                        group,
                        group_parts.counts,
                        group_parts.nonwhole,
                        nfactors=nfactors,
                        omega=omega,
                    )
                _attach_score(group, group_parts.take_values())
                group.summary["score_method"] = SCORE_METHODS["none"]
                result.groups.append((label, group))
            results.append(result)
        problems = merge_problems(counted[i], plan.instruments, plan.found)
        out.append((results, _with_file_rows(problems, data.name, source)))
    return out, excluded, overlap_moments


# the most whole-number categories a declared scale may span for chunked polychoric counts
# (tables of k x k x c x c per score and group); psych itself takes at most 8 of them
MAX_COUNTED_CATEGORIES = 32


def _categories(inst: Instrument) -> dict[str, np.ndarray]:
    """Per item-based score, every whole number its items' declared scales span (keyed codes
    stay within them): the categories chunks count polychoric tables over."""
    by_id = {it.id: it for it in inst.items}
    out = {}
    for name, spec in inst.scores.items():
        if spec.items is None:
            continue
        lo = math.floor(min(inst.scale_of(by_id[i]).min for i in spec.items))
        hi = math.ceil(max(inst.scale_of(by_id[i]).max for i in spec.items))
        if hi - lo + 1 > MAX_COUNTED_CATEGORIES:
            raise UsageError(
                f"--correlations polychoric with --chunk-rows: {inst.id} {name} spans "
                f"{hi - lo + 1} possible codes ({lo} to {hi}), more than the "
                f"{MAX_COUNTED_CATEGORIES} chunks count tables for (polychoric correlations use "
                "at most 8); leave out --chunk-rows (--chunk-rows 0) or --correlations"
            )
        out[name] = np.arange(lo, hi + 1, dtype=float)
    return out


def _keyed_frames(items) -> dict[str, pd.DataFrame]:
    """Per item-based score, its items keyed as that score keys them (columns: the item ids),
    the frame `psychometrics.instruments.analyse_instrument` analyses."""
    from .scoring import reverse_keyed

    inst = items.instrument
    frames = {}
    for name, spec in inst.scores.items():
        if spec.items is None:
            continue
        index = [inst.item_ids.index(i) for i in spec.items]
        frames[name] = pd.DataFrame(reverse_keyed(items, spec)[:, index], columns=spec.items)
    return frames


def _signed_names(inst: Instrument, spec) -> list[str]:
    """A score's keyed items as the in-memory overlap names them: "id:item", or "-id:item"
    where the score keys the item against its own flag (a per-score `reverse:` list), as
    `psychometrics.instruments.analyse_instrument` gives `keyed_items`."""
    by_item = {it.id: it for it in inst.items}
    return [
        f"{'-' if spec.is_reversed(by_item[i]) != by_item[i].reverse else ''}{inst.id}:{i}"
        for i in spec.items
    ]


def _keyed_by_name(items, keyed: np.ndarray, out: dict) -> None:
    """Each item's keyed answers under its overlap name: keyed by its flag ("id:item", from
    `keyed`), and keyed against it ("-id:item") where a score's own list says so."""
    from .scoring import reverse_keyed

    inst = items.instrument
    for j, item in enumerate(inst.item_ids):
        out.setdefault(f"{inst.id}:{item}", keyed[:, j])
    if not inst.keys_differ_between_scores:
        return
    for spec in inst.scores.values():
        if spec.items is None:
            continue
        names = _signed_names(inst, spec)
        if not any(n.startswith("-") for n in names):
            continue
        own = reverse_keyed(items, spec)
        for name, item in zip(names, spec.items, strict=True):
            out.setdefault(name, own[:, inst.item_ids.index(item)])


def _item_scores(inst: Instrument) -> list[str]:
    return [name for name, spec in inst.scores.items() if spec.items is not None]


def _overlap_columns(instruments: Sequence[Instrument]) -> list[str]:
    """The instrument-qualified keyed items behind `psyscore reliability`'s overlap correction
    (only when two scores share an item), in the order the in-memory command concatenates them."""
    scales = {}
    for inst in instruments:
        for name, spec in inst.scores.items():
            if spec.items is not None and len(spec.items) >= 2:
                scales[(inst.id, name)] = _signed_names(inst, spec)
    keys = list(scales)
    shared = any(set(scales[a]) & set(scales[b]) for i, a in enumerate(keys) for b in keys[i + 1 :])
    if not shared:
        return []
    return list(dict.fromkeys(c for key in keys for c in scales[key]))


# ---- the commands -----------------------------------------------------------------------------


def _overlap(results: list, instruments: Sequence[Instrument], moments) -> dict | None:
    """psych::scoreOverlap-corrected correlations when scores share items, as the in-memory
    command computes them, from the merged moments of the keyed items."""
    from .psychometrics import scale_overlap

    if moments is None:
        return None
    by_name = {f"{inst.output_prefix}_{n}": (inst, n) for inst in instruments for n in inst.scores}
    scales = {}
    for r in results:
        if r.summary["n_items"] < 2:
            continue
        inst, name = by_name[r.score]
        scales[r.score] = _signed_names(inst, inst.scores[name])
    shared = any(
        set(scales[a]) & set(scales[b]) for i, a in enumerate(scales) for b in list(scales)[i + 1 :]
    )
    if not shared:
        return None
    columns = list(dict.fromkeys(c for cols in scales.values() for c in cols))
    R = moments.subset(columns).cor("pairwise")
    if not np.all(np.isfinite(R)):
        return None  # some item pair never answered together: no overlap correction
    return scale_overlap(R, columns, scales).to_dict()
