"""`psyscore score DATA -i ID -o OUT`: score a batch and write it with every input column kept."""

from __future__ import annotations

import contextlib
from pathlib import Path

import typer

from ..io import check_fits, plan_outputs, read_table, staged_writes, write_table
from ..io.chunks import CHUNK_ROWS_HELP, chunk_rows_for
from ..library import resolve_instruments
from ..mapping import load_mapping
from ..report.problems import write_problems_csv
from ..report.score_terminal import print_score_summary, print_scored_survey
from ..survey import Survey, score_summary
from .options import (
    FORCE,
    INCLUDE_PREVIEWS,
    INCLUDE_SPAM,
    INSTRUMENT,
    INVALID_AS_MISSING,
    JSON,
    MAP,
    err,
    errors_to_exit,
    out,
    print_json,
)
from .progress import row_progress

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
    norm_by: str = typer.Option(
        None,
        "--norm-by",
        help="Choose each row's norm group (z, T, percentile) from its sex and age columns, "
        "e.g. sex=gender,age=age_years; adds SCORE_norm_group saying which group each row used.",
    ),
    chunk_rows: int = typer.Option(None, "--chunk-rows", help=CHUNK_ROWS_HELP, show_default=False),
) -> None:
    """Score DATA with one or more instruments and write all input columns plus the scores."""
    with errors_to_exit():
        chunk_rows = chunk_rows_for(
            data, chunk_rows, outputs=output, needs_all_rows=syntax_file is not None or bool(sheet)
        )
    if chunk_rows:  # larger than memory: psyscore.streaming reads, scores and writes in chunks
        from .chunked import score_command

        score_command(**{k: v for k, v in locals().items() if k != "score_command"})
    with errors_to_exit():
        instruments = resolve_instruments(instrument)
        # every target checked before anything is read or written (nothing written: exit 2)
        plan = plan_outputs(
            output, problems=problems_file, syntax=syntax_file, inputs=[data], force=force
        )
        mapping = load_mapping(map_file)
        mapping.check_against(instruments)
        with _progress(f"reading {data.name}", quiet=as_json):
            table = read_table(data, sheet=sheet)
        survey = Survey.from_table(
            table, path=data, map=mapping, previews=include_previews, spam=include_spam
        )
        result = survey.score(
            instruments,
            id_column=id_column,
            replace_scores=replace_scores,
            invalid_as_missing=invalid_as_missing,
            norm_by=norm_by,
        )
        # the syntax may be refused, and a format may not hold the table: before writing any
        syntax = result.spss_syntax() if syntax_file is not None else None
        scored = result.output_table()
        for target in plan.data:
            check_fits(scored, target)
        # all outputs are renamed into place together at the end: an error or Ctrl-C while
        # writing one leaves none of them (and no temporary) behind
        with staged_writes():
            for target in plan.data:
                with _write_progress(target, len(scored.data), quiet=as_json) as advance:
                    result.warnings.extend(
                        write_table(scored, target, problems=result.problems, progress=advance)
                    )
            if problems_file is not None:
                write_problems_csv(result.problems, problems_file)
            if syntax is not None:
                from ..io.sps_syntax import write_spss_syntax

                write_spss_syntax(syntax, syntax_file)
    if as_json:
        print_json(result.to_dict(outputs=plan.all))
    else:
        print_scored_survey(out, err, result, plan.all)
    raise typer.Exit(1 if result.problems else 0)


def _progress(what: str, *, quiet: bool):
    """A spinner on stderr while a large file is read or written (terminals only, never --json)."""

    if quiet or not err.is_terminal:
        return contextlib.nullcontext()
    return err.status(f"{what}...", spinner="dots")


@contextlib.contextmanager
def _write_progress(target: Path, rows: int, *, quiet: bool):
    """A bar (rows, rows/s, time left) where the writer reports its rows (CSV/TSV), else the
    spinner; terminals only, never with --json. Yields the callback for `write_table`."""
    if target.suffix.lower() not in {".csv", ".tsv"}:
        with _progress(f"writing {target.name}", quiet=quiet):
            yield None
        return
    with row_progress(f"writing {target.name}", err, quiet=quiet) as bar:
        bar.start(rows)
        yield bar.advance


# kept under their old names for callers of the former helpers
_summary = score_summary


def _print_summary(summary: list[dict]) -> None:
    """See :func:`psyscore.report.score_terminal.print_score_summary`."""
    print_score_summary(out, summary, err=err)
