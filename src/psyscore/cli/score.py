"""`psyscore score DATA -i ID -o OUT`: score a batch and write it with every input column kept."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import typer
from rich.table import Table as RichTable

from .. import __version__
from ..batch import BatchResult, score_table
from ..columns import output_columns
from ..instrument import definition_hash
from ..io import Table, check_fits, plan_outputs, read_table, staged_writes, write_table
from ..io.chunks import CHUNK_ROWS_HELP, chunk_rows_for
from ..library import resolve_instruments
from ..mapping import load_mapping
from ..problems import with_file
from ..report.problems import print_problems, write_problems_csv
from .options import (
    FORCE,
    INCLUDE_PREVIEWS,
    INCLUDE_SPAM,
    INSTRUMENT,
    INVALID_AS_MISSING,
    JSON,
    MAP,
    about,
    err,
    errors_to_exit,
    exclusion_note,
    out,
    print_json,
    qualtrics_exclusions,
    table_file_missing,
    warn,
)

EPILOG = """Examples:

  psyscore score sample_data/intake_batch.sav -i program-intake -o scored.sav -o scored.csv

  psyscore score survey.sav -i phq-9 -i gad-7 -o scored.csv --id-column respondent_id --json

  psyscore score survey.sav -i program-intake -o scored.sav --syntax scoring.sps

  psyscore score qualtrics.sav -i program-intake --map map.yaml -o scored.sav

Exit codes: 0 ok; 1 scored, but data problems were found (see the table or --problems FILE);
2 usage error (nothing written); 3 not enough memory (nothing written)."""


def score(
    data: Path = typer.Argument(
        ...,
        help="Input data: .csv, .tsv, .sav, .zsav, .por or .xlsx (Qualtrics exports too).",
        show_default=False,
    ),
    instrument: list[str] = INSTRUMENT,
    output: list[Path] = typer.Option(
        ...,
        "--output",
        "-o",
        help="Output file: .csv, .tsv, .sav, .zsav or .xlsx. Repeat to write several formats at once.",
    ),
    id_column: str = typer.Option(
        None, "--id-column", help="Respondent id column; repeated ids are reported as problems."
    ),
    map_file: Path = MAP,
    problems_file: Path = typer.Option(
        None, "--problems", help="Also write every problem found to this CSV file."
    ),
    replace_scores: bool = typer.Option(
        False, "--replace-scores", help="Recompute score columns that the data already has."
    ),
    sheet: str = typer.Option(
        None, "--sheet", help="Sheet of an .xlsx workbook to read (default: the first sheet)."
    ),
    syntax_file: Path = typer.Option(
        None,
        "--syntax",
        help="Also write SPSS syntax (.sps) that redoes this scoring in SPSS or PSPP, to show "
        "your work: run it on the unscored data.",
    ),
    include_previews: bool = INCLUDE_PREVIEWS,
    include_spam: bool = INCLUDE_SPAM,
    invalid_as_missing: bool = INVALID_AS_MISSING,
    force: bool = FORCE,
    as_json: bool = JSON,
    chunk_rows: int = typer.Option(None, "--chunk-rows", help=CHUNK_ROWS_HELP, show_default=False),
) -> None:
    """Score DATA with one or more instruments and write all input columns plus the scores."""
    with errors_to_exit():
        chunk_rows = chunk_rows_for(
            data, chunk_rows, outputs=output, needs_all_rows=syntax_file is not None or bool(sheet)
        )
    if chunk_rows:  # larger than memory: psyscore.streaming reads, scores and writes in chunks
        from ..streaming import score_command

        score_command(**{k: v for k, v in locals().items() if k != "score_command"})
    with errors_to_exit():
        instruments = resolve_instruments(instrument)
        # every target checked before anything is read or written (nothing written: exit 2)
        plan = plan_outputs(
            output, problems=problems_file, syntax=syntax_file, inputs=[data], force=force
        )
        targets = list(plan.data)
        mapping = load_mapping(map_file)
        mapping.check_against(instruments)
        with _progress(f"reading {data.name}", quiet=as_json):
            table = read_table(data, sheet=sheet)
        excluded = qualtrics_exclusions(table, previews=include_previews, spam=include_spam)
        with about(data):
            result = score_table(
                table.data,
                instruments,
                id_column=id_column,
                mapping=mapping.items,
                recodes=mapping.recodes,
                value_labels=table.value_labels,
                file_missing=table_file_missing(table),
                replace_scores=replace_scores,
                exclude=excluded.reasons,
                invalid_as_missing=invalid_as_missing,
            )
        result.warnings[:0] = table.warnings  # what the reader had to tell (renamed columns...)
        if excluded.counts:
            result.warnings.append(
                exclusion_note(excluded.counts, excluded.column, "not scored (rows kept)")
            )
        problems = with_file(result.problems, data.name, table.row_numbers)
        if syntax_file is not None:  # before anything is written: the syntax may be refused
            syntax = _syntax(
                result,
                instruments,
                data,
                table,
                mapping,
                include_previews,
                include_spam,
                invalid_as_missing,
            )
        scored = _output_table(table, result, instruments, data)
        if invalid_as_missing:  # the file itself says how its scores were made
            scored.notes.append(next(w for w in result.warnings if "--invalid-as-missing" in w))
        for target in targets:
            check_fits(scored, target)  # refuse what a format cannot hold before writing any
        # all outputs are renamed into place together at the end: an error or Ctrl-C while
        # writing one leaves none of them (and no temporary) behind
        with staged_writes():
            for target in targets:
                with _progress(f"writing {target.name}", quiet=as_json):
                    result.warnings.extend(write_table(scored, target, problems=problems))
            if problems_file is not None:
                write_problems_csv(problems, problems_file)
            if syntax_file is not None:
                from ..io.sps_syntax import write_spss_syntax

                write_spss_syntax(syntax, syntax_file)
        targets = plan.all
    summary = _summary(result, instruments)
    if as_json:
        print_json(
            {
                "input": str(data),
                "outputs": [str(t) for t in targets],
                "rows": len(result.table),
                "instruments": summary,
                "excluded": excluded.counts,
                "problems": [p.to_dict() for p in problems],
                "warnings": result.warnings,
            }
        )
    else:
        for w in result.warnings:
            warn(w)
        _print_summary(summary)
        print_problems(out, problems)
        shape = f"{len(result.table)} rows, {result.table.shape[1]} columns"
        out.print(f"wrote {', '.join(map(str, targets))} ({shape})")
    raise typer.Exit(1 if problems else 0)


def _syntax(
    result,
    instruments,
    data: Path,
    table: Table,
    mapping,
    previews: bool,
    spam: bool,
    invalid_as_missing: bool,
):
    """SPSS syntax for this run: the same columns, recodes, user-missing values, exclusions and
    treatment of invalid answers."""
    from ..io.sps_syntax import exclusion_rule, spss_syntax_for

    return spss_syntax_for(
        result,
        instruments,
        source_name=data.name,
        recodes=mapping.recodes,
        file_missing=table_file_missing(table),
        exclusions=exclusion_rule(table.data, table.value_labels, previews=previews, spam=spam),
        invalid_as_missing=invalid_as_missing,
    )


def _progress(what: str, *, quiet: bool):
    """A spinner on stderr while a large file is read or written (terminals only, never --json)."""
    import contextlib

    if quiet or not err.is_terminal:
        return contextlib.nullcontext()
    return err.status(f"{what}...", spinner="dots")


def _output_table(table: Table, result: BatchResult, instruments, data: Path) -> Table:
    labels = dict(table.labels)
    measure = dict(table.measure)
    value_labels = dict(table.value_labels)
    formats = dict(table.formats)
    for inst in instruments:
        for col, info in output_columns(inst).items():
            if col not in result.table.columns:
                continue
            labels[col] = info.label
            measure[col] = info.measure
            if info.value_labels:
                value_labels[col] = {float(k): v for k, v in info.value_labels.items()}
            # scores show their decimals; codes (bands, statuses, flags) show none
            formats[col] = f"F8.{info.decimals}" if info.measure == "scale" else "F8.0"
    stamp = "; ".join(f"{i.id} v{i.version} sha256:{definition_hash(i)}" for i in instruments)
    notes = list(table.notes) + [
        f"Scored by psyscore {__version__} from {data.name}: {stamp}",
    ]
    # replace() carries every other field (file label, weight, compression...) along
    return dataclasses.replace(
        table,
        data=result.table,
        labels=labels,
        value_labels=value_labels,
        measure=measure,
        formats=formats,
        notes=notes,
        row_numbers=None,
        warnings=[],
    )


def _summary(result: BatchResult, instruments) -> list[dict]:
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


def _print_summary(summary: list[dict]) -> None:
    table = RichTable(title="Scores", title_justify="left")
    for col in ("column", "scored", "prorated", "not scored", "mean", "sd"):
        table.add_column(col, justify="left" if col == "column" else "right")
    for inst in summary:
        for s in inst["scores"]:
            table.add_row(
                s["column"],
                str(s["scored"]),
                str(s["prorated"]),
                str(s["not_scored"]),
                "" if s["mean"] is None else f"{s['mean']:.2f}",
                "" if s["sd"] is None else f"{s['sd']:.2f}",
            )
    out.print(table)
    for inst in summary:
        endorsed, unanswered = inst["critical_flags"], inst["critical_unanswered"]
        if endorsed or unanswered:
            err.print(
                f"[bold red]ALERT:[/] critical items of {inst['id']}: {endorsed} respondent(s) "
                f"endorsed, {unanswered} with the critical item unanswered: see columns "
                f"{inst['critical_column']} and {inst['critical_unanswered_column']}",
                highlight=False,
            )
