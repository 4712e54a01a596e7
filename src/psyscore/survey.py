"""One path from a data file to results: ``psyscore.read(...)`` -> :class:`Survey` -> results.

A :class:`Survey` is the data plus everything the file said about it (variable and value labels,
user-missing declarations, measurement levels, formats, notes, the row each data row has in the
file), the column mapping and recodes of a ``--map`` file, and the rows that are no respondents
(Qualtrics previews, tests and spam). It is read once; every command, the Python API and a chunk
of a large file go through the same three steps::

    survey = psyscore.read("survey.sav", map="map.yaml")   # read (io/, one reader per format)
    resolved = survey.resolve("program-intake")            # codes + problems; refuses bad codings
    scored = survey.score("program-intake")                # ScoredSurvey: .table, .problems, ...
    report = survey.reliability("phq-9")                   # ReliabilityReport: .summary, ...

:meth:`Survey.resolve` is the one resolve step (mapping, recodes, value labels, user-missing codes,
exclusions, shifted-coding checks); :meth:`Survey.score` and :meth:`Survey.reliability` use it.
The results are what every output renders from: ``ScoredSurvey.output_table()`` is the table a
``.sav``/``.xlsx``/``.csv``/``.parquet`` writer takes (SPSS labels, value labels, measurement
levels and formats of the score columns, the provenance note), ``.to_dict()`` the JSON, and the
terminal, HTML and .docx reports take ``ReliabilityReport.to_dict()``.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .batch import BatchResult, ResolvedItems, resolve_items, score_table
from .errors import DataError, UsageError
from .instrument import Bundle, Instrument, definition_hash
from .io import Table, read_table
from .io.qualtrics import Exclusions, response_exclusions
from .mapping import ColumnMap, load_mapping, parse_mapping
from .problems import Problem, with_file
from .psychometrics.options import ReliabilityOptions
from .responses import FileMissing

if TYPE_CHECKING:
    from .psychometrics.instruments import InstrumentReliability

# What `score` and `reliability` accept: a built-in id, a path to a YAML definition, a loaded
# Instrument or Bundle, or a list of any of these.
Definitions = str | Path | Instrument | Bundle | Iterable[str | Path | Instrument | Bundle]

__all__ = [
    "ReliabilityOptions",
    "ReliabilityReport",
    "ScoredSurvey",
    "Survey",
    "as_instruments",
    "file_missing_of",
    "read",
]


def read(
    source: str | Path | pd.DataFrame,
    *,
    sheet: str | None = None,
    map: str | Path | ColumnMap | Mapping | None = None,  # noqa: A002 (the CLI's --map)
    previews: bool = False,
    spam: bool = False,
) -> Survey:
    """Read a data file (or take a DataFrame) once, with everything the file says about it.

    Parameters
    ----------
    source
        A ``.csv``/``.tsv``/``.sav``/``.zsav``/``.por``/``.xlsx``/``.parquet`` file, or a pandas
        DataFrame (its index is kept in every result).
    sheet
        The worksheet of an ``.xlsx`` file (default: the first).
    map
        A mapping file (``--map``), its parsed content (``{"Q1": "phq9_1", "GAD7_1": {"recode":
        {1: 0, 2: 1}}}``) or a :class:`~psyscore.mapping.ColumnMap`.
    previews, spam
        Score Qualtrics survey previews and tests (``previews=True``) or responses flagged as spam
        (``spam=True``); by default such rows are kept but not scored, as by the command line.

    Returns
    -------
    Survey

    Examples
    --------
    >>> import psyscore
    >>> survey = psyscore.read("sample_data/intake_batch.sav")
    >>> survey.rows, survey.name
    (400, 'intake_batch.sav')
    >>> survey.labels["phq9_1"]
    'PHQ-9 little interest or pleasure'

    A DataFrame keeps its index through every result:

    >>> import pandas as pd
    >>> df = pd.DataFrame({f"gad7_{i}": [0, 3] for i in range(1, 8)}, index=["ann", "bob"])
    >>> psyscore.read(df).score("gad-7").table["gad7_total_band"].to_dict()
    {'ann': 'minimal', 'bob': 'severe'}
    """
    if isinstance(source, pd.DataFrame):
        if sheet is not None:
            raise UsageError("sheet= applies to .xlsx workbooks only, not to a DataFrame")
        return Survey.from_table(Table(source), map=map, previews=previews, spam=spam)
    path = Path(source)
    return Survey.from_table(
        read_table(path, sheet=sheet), path=path, map=map, previews=previews, spam=spam
    )


def _column_map(map: str | Path | ColumnMap | Mapping | None) -> ColumnMap:  # noqa: A002
    if map is None:
        return ColumnMap()
    if isinstance(map, ColumnMap):
        return map
    if isinstance(map, Mapping):
        return parse_mapping(map, "map")
    return load_mapping(Path(map))


def as_instruments(definitions: Definitions) -> list[Instrument]:
    """Instruments from ids, paths, Instrument and Bundle objects (or a list of them).

    Bundles are expanded into their members and repeats dropped, in the order given, as
    ``-i`` options are.

    >>> [i.id for i in as_instruments(["phq-9", "program-intake"])][:3]
    ['phq-9', 'mrni-sf', 'erq']
    """
    from .library import load, resolve_instruments

    if isinstance(definitions, str | Path | Instrument | Bundle):
        definitions = [definitions]
    elif not isinstance(definitions, Iterable):
        definitions = [definitions]  # refused below, with the message
    seen: dict[str, Instrument] = {}
    for ref in definitions:
        if isinstance(ref, str | Path):
            members = resolve_instruments([ref])
        elif isinstance(ref, Bundle):
            members = [load(m) for m in ref.instruments]
        elif isinstance(ref, Instrument):
            members = [ref]
        else:
            raise UsageError(
                f"not an instrument: {ref!r}; give a built-in id, a path to a YAML definition, "
                "or what psyscore.load returns"
            )
        for inst in members:
            if isinstance(inst, Bundle):
                raise UsageError(f"bundle {ref.id!r} contains another bundle {inst.id!r}")
            seen.setdefault(inst.id, inst)
    if not seen:
        raise UsageError("no instrument given")
    return list(seen.values())


def file_missing_of(table: Table) -> FileMissing:
    """User-missing declarations of the file (SPSS), with reasons taken from value labels."""
    fm = FileMissing()
    for column, ranges in table.missing_ranges.items():
        labels = table.value_labels.get(column, {})
        for r in ranges:
            lo, hi = r["lo"], r["hi"]
            if lo == hi:
                reason = labels.get(lo) or (labels.get(float(lo)) if _numeric(lo) else None)
                fm.values.setdefault(column, {})[lo] = str(reason or "user-missing").lower()
            else:
                fm.ranges.setdefault(column, []).append((float(lo), float(hi), "user-missing"))
    return fm


def exclusion_note(counts: Mapping[str, int], column: str | None, done: str = "not scored") -> str:
    """The warning that says which rows a Qualtrics export's Status left out, and how to let them
    in: ``not scored: 2 survey previews, 1 spam response (by the Status column ...)``."""
    nouns = {"spam": "spam response"}
    parts = ", ".join(
        f"{n} {nouns.get(reason, reason)}{'s' if n != 1 else ''}" for reason, n in counts.items()
    )
    return (
        f"{done}: {parts} (by the {column} column of the Qualtrics export); "
        "--include-previews / --include-spam include them"
    )


def _numeric(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(eq=False, repr=False)
class Survey:
    """Survey data and what its file said about it; the start of every psyscore job.

    Build it with :func:`psyscore.read`, or with :meth:`from_table` from a :class:`Table` a
    reader returned (e.g. one chunk of a large file: give ``row_offset``, the data rows before
    the chunk, so problems keep their rows in the whole file).
    """

    table: Table
    path: Path | None = None  # the file as given (None for a DataFrame)
    mapping: ColumnMap = field(default_factory=ColumnMap)
    previews: bool = False  # score Qualtrics previews and tests
    spam: bool = False  # score responses flagged as spam
    row_offset: int = 0  # data rows before this table in its file (a chunk)

    @classmethod
    def from_table(
        cls,
        table: Table,
        *,
        path: str | Path | None = None,
        map: str | Path | ColumnMap | Mapping | None = None,  # noqa: A002
        previews: bool = False,
        spam: bool = False,
        row_offset: int = 0,
    ) -> Survey:
        """A Survey of a table a reader returned (``path``: the file it came from)."""
        return cls(
            table,
            None if path is None else Path(path),
            _column_map(map),
            previews=previews,
            spam=spam,
            row_offset=row_offset,
        )

    def chunk(
        self,
        data: pd.DataFrame | Table,
        row_offset: int,
        row_numbers: np.ndarray | None = None,
    ) -> Survey:
        """The same survey (file, metadata, mapping, previews/spam choice) for a chunk of rows.

        Give the chunk's rows as a DataFrame: the file's metadata (value labels, user-missing
        codes, formats...) is this survey's, so no chunk loses a user-missing declaration;
        `row_numbers` are the chunk's rows as the file shows them, if the format has them. A
        :class:`Table` is taken as it is. `row_offset` is the number of data rows before the
        chunk, so problems name the row in the whole file. What a chunk cannot see alone (a
        coding shifted only over the whole file, an id repeated in another chunk) is for the
        streaming loop to check over all chunks.
        """
        table = (
            data
            if isinstance(data, Table)
            else dataclasses.replace(self.table, data=data, row_numbers=row_numbers, warnings=[])
        )
        return dataclasses.replace(self, table=table, row_offset=row_offset)

    def __repr__(self) -> str:
        # a summary, never the answers (a repr can end up in logs and notebooks' outputs)
        where = repr(self.name) if self.path is not None else "DataFrame"
        mapped = f", map: {len({*self.mapping.items, *self.mapping.recodes})} entries"
        return (
            f"<Survey {where}: {self.rows} rows x {self.data.shape[1]} columns"
            f"{mapped if self.mapping else ''}>"
        )

    # ---- what the file said ----------------------------------------------------------------

    @property
    def data(self) -> pd.DataFrame:
        return self.table.data

    @property
    def rows(self) -> int:
        return len(self.table.data)

    @property
    def name(self) -> str:
        """The file's name, as problems and notes give it ("" for a DataFrame)."""
        return self.path.name if self.path is not None else ""

    @property
    def labels(self) -> dict[str, str]:
        return self.table.labels

    @property
    def value_labels(self) -> dict[str, dict]:
        return self.table.value_labels

    @property
    def notes(self) -> list[str]:
        return self.table.notes

    @property
    def warnings(self) -> list[str]:
        """What the reader had to tell (renamed columns, dropped trailing delimiters...)."""
        return self.table.warnings

    @cached_property
    def file_missing(self) -> FileMissing:
        """User-missing codes the file declares (SPSS), with their reasons."""
        return file_missing_of(self.table)

    @cached_property
    def flagged(self) -> Exclusions:
        """Every row a Qualtrics export marks as preview, test or spam (before ``previews=`` and
        ``spam=`` let any in)."""
        return response_exclusions(self.table.data, self.table.value_labels)

    @cached_property
    def exclusions(self) -> Exclusions:
        """The rows not scored: ``.reasons`` per row (None: scored), ``.counts`` per reason."""
        return self.flagged.keep(previews=self.previews, spam=self.spam)

    @property
    def respondents(self) -> np.ndarray | None:
        """Boolean mask of the rows that are respondents (None: every row)."""
        reasons = self.exclusions.reasons
        return None if reasons is None else pd.isna(reasons)

    def exclusion_note(self, done: str = "not scored") -> str | None:
        """The warning that says which rows were left out and how to let them in."""
        found = self.exclusions
        return exclusion_note(found.counts, found.column, done) if found.counts else None

    # ---- the pipeline ----------------------------------------------------------------------

    def instruments(self, definitions: Definitions) -> list[Instrument]:
        """The instruments `definitions` name, checked against the mapping (an entry for an item
        none of them has is an error with a did-you-mean)."""
        instruments = as_instruments(definitions)
        self.mapping.check_against(instruments)
        return instruments

    def resolve(
        self, definitions: Definitions, *, invalid_as_missing: bool = False
    ) -> ResolvedItems:
        """Resolve each instrument's answers: the one step behind scoring and reliability.

        Applies the mapping and recodes, the file's value labels and user-missing codes, and
        checks the codes against each scale. Problems have data rows (1-based) of this table;
        :meth:`locate` adds the file and the file's rows.

        Raises
        ------
        DataError
            Codes that disagree with a definition's scale (shifted by one, or value labels that
            say another coding); the message holds the mapping file that fixes them.
        UsageError
            A mapping entry for an unknown item, duplicate column names, or no column for any
            item of an instrument.
        """
        instruments = self.instruments(definitions)
        with self._naming_file():
            return resolve_items(
                self.table.data,
                instruments,
                mapping=self.mapping.items,
                recodes=self.mapping.recodes,
                value_labels=self.table.value_labels,
                file_missing=self.file_missing,
                invalid_as_missing=invalid_as_missing,
            )

    def locate(self, problems: Iterable[Problem]) -> list[Problem]:
        """Problems with this file's name and rows (the chunk's offset added)."""
        located = with_file(list(problems), self.name, self.table.row_numbers)
        if self.row_offset:
            located = [
                dataclasses.replace(p, row=p.row + self.row_offset) if p.row is not None else p
                for p in located
            ]
        return located

    def score(
        self,
        definitions: Definitions,
        *,
        id_column: str | None = None,
        replace_scores: bool = False,
        invalid_as_missing: bool = False,
        norm_group: str | None = None,
        **engine_options: Any,
    ) -> ScoredSurvey:
        """Score every instrument; every input row and column is kept, in order, with the index.

        Rows that are no respondents (previews, spam) stay, with empty scores and the status
        ``excluded: survey preview``. An invalid answer leaves every score that uses it unscored
        for that row unless ``invalid_as_missing=True``. Further keywords go to
        :func:`psyscore.batch.score_table`.

        Examples
        --------
        >>> import psyscore
        >>> scored = psyscore.read("sample_data/intake_batch.sav").score("phq-9")
        >>> scored.table["phq9_total"].iloc[:3].tolist()
        [4.0, 11.0, 4.0]
        >>> [(p.row, p.column, p.value) for p in scored.problems]
        [(18, 'phq9_3', '33'), (212, 'phq9_6', '5')]
        >>> scored.table.loc[17, "phq9_total_status"]
        'not scored: invalid answer in phq9_3'
        """
        instruments = self.instruments(definitions)
        resolved = self.resolve(instruments, invalid_as_missing=invalid_as_missing)
        with self._naming_file():
            batch = score_table(
                self.table.data,
                instruments,
                id_column=id_column,
                mapping=self.mapping.items,
                replace_scores=replace_scores,
                exclude=self.exclusions.reasons,
                invalid_as_missing=invalid_as_missing,
                norm_group=norm_group,
                resolved=resolved,
                **engine_options,
            )
        warnings = [*self.table.warnings, *batch.warnings]
        note = self.exclusion_note("not scored (rows kept)")
        if note:
            warnings.append(note)
        return ScoredSurvey(
            self,
            instruments,
            batch,
            self.locate(batch.problems),
            warnings,
            invalid_as_missing=invalid_as_missing,
        )

    def reliability(
        self,
        definitions: Definitions,
        *,
        options: ReliabilityOptions | None = None,
        policy: str = "pairwise",
        omega: bool = True,
        n_boot: int = 0,
        seed: int | None = None,
        split_half: str = "all",
        nfactors: int = 3,
        by: str | None = None,
        impute: str = "none",
        correlations: str = "pearson",
    ) -> ReliabilityReport:
        """Reliability and item analysis of every score, after the checks of :meth:`score`.

        Items are reverse-keyed per the definition; previews and spam leave every statistic;
        answers that are not valid count as missing and are reported in ``.problems``.
        Options as ``psyscore reliability`` (``n_boot``: ``--bootstrap``), as keywords or as one
        :class:`ReliabilityOptions` (``options=``), not both; an impossible one is a UsageError
        before any work.

        Examples
        --------
        >>> import psyscore
        >>> report = psyscore.read("sample_data/intake_batch.sav").reliability("gad-7")
        >>> row = report.summary.iloc[0]
        >>> row["score"], int(row["n"]), round(float(row["alpha"]), 3)
        ('gad7_total', 400, 0.882)
        >>> report.to_dict()["instruments"][0]["scores"][0]["apa"][:24]
        "Cronbach's alpha = .88, "
        """
        from .psychometrics.instruments import InstrumentReliability, analyse_resolved
        from .psychometrics.scale import tidy_items, tidy_summaries

        keywords = ReliabilityOptions(
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
        if options is None:
            options = keywords
        elif keywords != ReliabilityOptions():
            raise UsageError(
                "give the reliability options as options=ReliabilityOptions(...) or as "
                "keywords, not both"
            )
        instruments = self.instruments(definitions)
        # an invalid answer is left out of the statistics, as missing (the records say so)
        resolved = self.resolve(instruments, invalid_as_missing=True)
        parts = []
        for inst in instruments:
            with self._naming_file():
                results = analyse_resolved(
                    self.table.data,
                    resolved.items[inst.id],
                    keep=self.respondents,
                    **options.analysis_options(),
                )
            parts.append(
                InstrumentReliability(
                    tidy_summaries(results),
                    tidy_items(results),
                    self.locate(resolved.problems[inst.id]),
                    results,
                    list(inst.warnings),
                )
            )
        return ReliabilityReport(self, instruments, parts, options.report_options())

    @contextlib.contextmanager
    def _naming_file(self) -> Iterator[None]:
        """Name the input file in data errors (the engine does not know file names)."""
        if self.path is None:
            yield
            return
        try:
            yield
        except DataError as exc:
            if str(exc).startswith(str(self.path)):
                raise
            raise DataError(f"{self.path}: {exc}") from None


@dataclass(eq=False, repr=False)
class ScoredSurvey:
    """The result of :meth:`Survey.score`, which every output renders from.

    ``.table`` (input columns, then the scores; the input's index), ``.scores`` (instrument id
    -> its score columns), ``.problems`` (with file and rows), ``.warnings``.
    """

    survey: Survey
    instruments: list[Instrument]
    batch: BatchResult
    problems: list[Problem]
    warnings: list[str]
    invalid_as_missing: bool = False

    def __repr__(self) -> str:
        ids = ", ".join(i.id for i in self.instruments)
        return (
            f"<ScoredSurvey {ids}: {len(self.table)} rows, {len(self.problems)} problems, "
            f"{len(self.warnings)} warnings>"
        )

    @property
    def table(self) -> pd.DataFrame:
        return self.batch.table

    @property
    def scores(self) -> dict[str, pd.DataFrame]:
        return self.batch.scores

    def output_table(self) -> Table:
        """The scored data as a writer takes it, with full SPSS metadata.

        Input columns keep the file's metadata; each score column gets its variable label,
        value labels (bands, statuses), measurement level and format (scores show their
        decimals, codes none); a note stamps the psyscore version and each definition's hash
        (and records ``invalid_as_missing``). File label, compression, etc. are carried along.
        """
        return output_table_of(
            self.survey.table,
            self.batch,
            self.instruments,
            self.survey.name or "a pandas DataFrame",
            invalid_as_missing=self.invalid_as_missing,
        )

    def spss_syntax(self) -> str:
        """SPSS syntax that redoes this scoring (same recodes, user-missing values, exclusions
        and treatment of invalid answers); raises UsageError where SPSS cannot do the same."""
        from .io.sps_syntax import exclusion_rule, spss_syntax_for

        survey = self.survey
        return spss_syntax_for(
            self.batch,
            self.instruments,
            source_name=survey.name or "data",
            recodes=survey.mapping.recodes,
            file_missing=survey.file_missing,
            exclusions=exclusion_rule(
                survey.data, survey.value_labels, previews=survey.previews, spam=survey.spam
            ),
            invalid_as_missing=self.invalid_as_missing,
        )

    def summary(self) -> list[dict]:
        """Per instrument: counts scored / prorated / not scored, M and SD of each score,
        critical flags."""
        return score_summary(self.batch, self.instruments)

    def to_dict(self, outputs: Sequence[str | Path] | None = None) -> dict:
        """What ``psyscore score --json`` prints.

        Parameters
        ----------
        outputs
            The files the scores were written to: given, the dict starts with ``input`` (the
            file read, None for a DataFrame) and ``outputs``, as the command prints it.
        """
        written = {}
        if outputs is not None:
            path = self.survey.path
            written = {
                "input": None if path is None else str(path),
                "outputs": list(map(str, outputs)),
            }
        return {
            **written,
            "rows": len(self.table),
            "instruments": self.summary(),
            "excluded": self.survey.exclusions.counts,
            "problems": [p.to_dict() for p in self.problems],
            "warnings": self.warnings,
        }


def output_table_of(
    table: Table,
    batch: BatchResult,
    instruments: Sequence[Instrument],
    source: str,
    *,
    invalid_as_missing: bool = False,
) -> Table:
    """`batch`'s table with the metadata of `table` (the input as read) and of every score
    column; what :meth:`ScoredSurvey.output_table` returns, and what each chunk of a chunked run
    writes."""
    from . import __version__
    from .columns import output_columns

    labels = dict(table.labels)
    measure = dict(table.measure)
    value_labels = dict(table.value_labels)
    formats = dict(table.formats)
    for inst in instruments:
        for col, info in output_columns(inst, batch.norm_group, batch.norm_by).items():
            if col not in batch.table.columns:
                continue
            labels[col] = info.label
            measure[col] = info.measure
            if info.value_labels:
                value_labels[col] = {float(k): v for k, v in info.value_labels.items()}
            # scores show their decimals; codes (bands, statuses, flags) show none
            formats[col] = f"F8.{info.decimals}" if info.measure == "scale" else "F8.0"
    stamp = "; ".join(f"{i.id} v{i.version} sha256:{definition_hash(i)}" for i in instruments)
    notes = [*table.notes, f"Scored by psyscore {__version__} from {source}: {stamp}"]
    if invalid_as_missing:  # the file itself says how its scores were made
        notes.append(next(w for w in batch.warnings if "--invalid-as-missing" in w))
    # replace() carries every other field (file label, weight, compression...) along
    return dataclasses.replace(
        table,
        data=batch.table,
        labels=labels,
        value_labels=value_labels,
        measure=measure,
        formats=formats,
        notes=notes,
        row_numbers=None,
        warnings=[],
    )


def score_summary(result: BatchResult, instruments: list[Instrument]) -> list[dict]:
    """Per instrument and score: how many rows were scored, prorated, not scored; M and SD."""
    rows = []
    for inst in instruments:
        frame = result.scores[inst.id]
        scores = []
        for name in inst.scores:
            col = f"{inst.output_prefix}_{name}"
            status = frame[f"{col}_status"]
            values = frame[col].to_numpy(dtype=float)
            ok = ~np.isnan(values)
            scores.append(
                {
                    "score": name,
                    "column": col,
                    "scored": int((status == "scored").sum()),
                    "prorated": int((status == "prorated").sum()),
                    "not_scored": int((~ok).sum()),
                    "mean": round(float(values[ok].mean()), 3) if ok.any() else None,
                    "sd": round(float(values[ok].std(ddof=1)), 3) if ok.sum() > 1 else None,
                }
            )
        crit = f"{inst.output_prefix}_critical"
        flags = frame.get(crit)
        rows.append(
            {
                "id": inst.id,
                "verified": inst.key.verified,
                "definition_sha256": definition_hash(inst),
                "critical_flags": int((flags == 1).sum()) if flags is not None else None,
                # not endorsed, but a critical item has no valid answer: ask it
                "critical_unanswered": int(flags.isna().sum()) if flags is not None else None,
                "critical_column": f"{inst.output_prefix}_critical_items",
                "critical_unanswered_column": f"{inst.output_prefix}_critical_unanswered",
                "scores": scores,
            }
        )
    return rows


@dataclass(eq=False, repr=False)
class ReliabilityReport:
    """The result of :meth:`Survey.reliability`: what the terminal, JSON, HTML and .docx render.

    ``.summary`` and ``.items`` are tidy DataFrames over every instrument; ``.instruments_results``
    holds one :class:`~psyscore.psychometrics.instruments.InstrumentReliability` per instrument;
    ``.problems`` (file and rows) and ``.warnings`` as for scoring.
    """

    survey: Survey
    instruments: list[Instrument]
    instrument_results: list[InstrumentReliability]
    options: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        scores = ", ".join(r.score for r in self.results) if self.results else "no scores"
        return f"<ReliabilityReport {scores}: {len(self.problems)} problems>"

    @property
    def summary(self) -> pd.DataFrame:
        return pd.concat([r.summary for r in self.instrument_results], ignore_index=True)

    @property
    def items(self) -> pd.DataFrame:
        return pd.concat([r.items for r in self.instrument_results], ignore_index=True)

    @property
    def problems(self) -> list[Problem]:
        return [p for r in self.instrument_results for p in r.problems]

    @property
    def warnings(self) -> list[str]:
        note = self.survey.exclusion_note("left out")
        return [
            *([note] if note else []),
            *(w for r in self.instrument_results for w in r.warnings),
        ]

    @property
    def results(self) -> list:
        """Every score's ScaleReliability, in order."""
        return [s for r in self.instrument_results for s in r.results]

    def to_dict(self) -> dict:
        """What ``psyscore reliability --json`` prints; the HTML and APA tables render it."""
        from .report.formatting import apa_sentence

        report = []
        for inst, part in zip(self.instruments, self.instrument_results, strict=True):
            scores = []
            for r in part.results:
                d = r.to_dict()
                d["apa"] = apa_sentence(d)
                for g in d.get("groups", []):
                    g["apa"] = apa_sentence(g)
                scores.append(d)
            report.append(
                {
                    "instrument": inst.id,
                    "prefix": inst.output_prefix,
                    "citation": inst.citation.strip(),
                    "scores": scores,
                }
            )
        return {
            "input": None if self.survey.path is None else str(self.survey.path),
            **self.options,
            "instruments": report,
            "intercorrelations": intercorrelations(self.results),
            "overlap": overlap(self.results),
            "problems": [p.to_dict() for p in self.problems],
            "warnings": self.warnings,
        }


def intercorrelations(results: list) -> dict | None:
    """Scale intercorrelations of every score in the run (None with fewer than two)."""
    from .psychometrics import scale_intercorrelations

    usable = [r for r in results if r.score_values is not None]
    if len(usable) < 2:
        return None
    scores = pd.DataFrame({r.score: r.score_values for r in usable})
    alphas = {r.score: r.summary["alpha"] for r in usable}
    return scale_intercorrelations(scores, alphas).to_dict()


def overlap(results: list) -> dict | None:
    """psych::scoreOverlap-corrected correlations when some scores share items (else None)."""
    from .psychometrics import Moments, scale_overlap

    usable = [r for r in results if r.keyed_items is not None and r.summary["n_items"] >= 2]
    scales = {r.score: list(r.keyed_items.columns) for r in usable}
    shared = any(
        set(scales[a]) & set(scales[b]) for i, a in enumerate(scales) for b in list(scales)[i + 1 :]
    )
    if not shared:
        return None
    frames = [r.keyed_items for r in usable]
    items = pd.concat(frames, axis=1)
    items = items.loc[:, ~items.columns.duplicated()]
    R = Moments.from_data(items).cor("pairwise")
    if not np.all(np.isfinite(R)):
        return None  # some item pair never answered together: no overlap correction
    return scale_overlap(R, list(items.columns), scales).to_dict()
