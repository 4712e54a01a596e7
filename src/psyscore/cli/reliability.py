"""`psyscore reliability DATA -i ID`: alpha, omega, split-half and item analysis for every score.

Parse the options, call `Survey.reliability`, render its `ReliabilityReport.to_dict()`:
`psyscore.report.reliability_terminal` (terminal), `report.reliability_files` (--html, --table).
"""

from __future__ import annotations

from pathlib import Path

import typer

from ..io.chunks import CHUNK_ROWS_HELP, chunk_rows_for
from ..report.formatting import apa_sentence  # noqa: F401 (part of this module's API)
from ..report.reliability_files import (  # noqa: F401 (part of this module's API)
    TABLE_SUFFIXES,
    check_html_output,
    check_report_outputs,
    check_table_output,
    plan_report_outputs,
    write_reliability_files,
    write_reliability_html,
    write_reliability_tables,
)
from ..report.reliability_terminal import (
    print_reliability,
)
from .options import (
    INCLUDE_PREVIEWS,
    INCLUDE_SPAM,
    INSTRUMENT,
    JSON,
    MAP,
    err,
    errors_to_exit,
    out,
    print_json,
)

EPILOG = """Examples:

  psyscore reliability sample_data/intake_batch.sav -i program-intake

  psyscore reliability survey.csv -i mrni-sf --policy listwise --json > reliability.json

  psyscore reliability survey.sav -i phq-9 -i gad-7 --html reliability.html --force

--html writes a standalone report: tables, flagged items, plots, APA sentences, citations.

Statistics follow R psych 2.2.9 (alpha, G6(smc), omega with a Schmid-Leiman bifactor solution from
minres factoring and oblimin rotation); items are reverse-keyed per the definition first.
Exit codes: 0 ok; 1 data problems found in the items (see the table); 2 usage error."""


def reliability(
    data: Path = typer.Argument(..., help="Input data: .csv, .tsv, .sav, .zsav or .xlsx."),
    instrument: list[str] = INSTRUMENT,
    policy: str = typer.Option(
        "pairwise", "--policy", help="Missing data: pairwise (psych's default) or listwise."
    ),
    no_omega: bool = typer.Option(False, "--no-omega", help="Skip omega (the slowest statistic)."),
    bootstrap: int = typer.Option(
        0, "--bootstrap", help="Also a bootstrap CI for alpha, N resamples."
    ),
    seed: int = typer.Option(None, "--seed", help="Seed for --bootstrap (reproducible CIs)."),
    sheet: str = typer.Option(None, "--sheet", help="Worksheet of an .xlsx file (default: first)."),
    html: Path = typer.Option(
        None,
        "--html",
        help="Also write a standalone HTML report (tables, plots, citations) to this .html file.",
    ),
    force: bool = typer.Option(
        False, "--force", help="Replace the --html report or --table file if it exists."
    ),
    split_half: str = typer.Option(
        "all",
        "--split-half",
        help="Splits behind max/min split-half (lambda-4, beta): all (every split, default), "
        "psych (the half psych 2.2.9 enumerates for odd k), first-m or first-N (also PSPP's "
        "/MODEL=SPLIT: the first k/2 or N items against the rest).",
    ),
    nfactors: int = typer.Option(
        3,
        "--nfactors",
        min=1,
        help="Group factors of the bifactor model behind omega total and omega_h (psych: 3).",
    ),
    by: str = typer.Option(
        None,
        "--by",
        help="A column of DATA (site, gender, wave): every statistic per group and overall.",
    ),
    impute: str = typer.Option(
        "none",
        "--impute",
        help="Scores behind M, SD and the intercorrelations: none (as psyscore score) or mean/"
        "median (item means with missing answers imputed, as psych::scoreItems). Alpha and "
        "the other reliability statistics never use imputed answers.",
    ),
    correlations: str = typer.Option(
        "pearson",
        "--correlations",
        help="pearson (default), or polychoric: also ordinal alpha and omega from polychoric "
        "correlations (two-step ML, as psych::polychoric; items with at most 8 categories).",
    ),
    table_out: Path = typer.Option(
        None,
        "--table",
        help="Also write APA 7 tables (scores, then items) to a .docx, .md or .tex file.",
    ),
    map_file: Path = MAP,
    include_previews: bool = INCLUDE_PREVIEWS,
    include_spam: bool = INCLUDE_SPAM,
    as_json: bool = JSON,
    chunk_rows: int = typer.Option(None, "--chunk-rows", help=CHUNK_ROWS_HELP, show_default=False),
) -> None:
    """Reliability and item analysis of every score of each instrument in DATA."""
    with errors_to_exit():
        chunk_rows = chunk_rows_for(
            data,
            chunk_rows,
            needs_all_rows=bool(bootstrap) or impute != "none" or bool(sheet),
        )
    if chunk_rows:  # larger than memory: per-chunk moments, merged (psyscore.streaming)
        from .chunked import reliability_command

        reliability_command(**{k: v for k, v in locals().items() if k != "reliability_command"})
    from ..io import read_table
    from ..library import resolve_instruments
    from ..mapping import load_mapping
    from ..survey import ReliabilityOptions, Survey

    with errors_to_exit():
        # every option checked once, before anything is read
        options = ReliabilityOptions(
            policy=policy,
            omega=not no_omega,
            n_boot=bootstrap,
            seed=seed,
            split_half=split_half,
            nfactors=nfactors,
            by=by,
            impute=impute,
            correlations=correlations,
        )
        check_report_outputs(html, table_out, data, map_file=map_file, force=force)
        instruments = resolve_instruments(instrument)
        mapping = load_mapping(map_file)
        mapping.check_against(instruments)
        table = read_table(data, sheet=sheet) if sheet else read_table(data)
        survey = Survey.from_table(
            table, path=data, map=mapping, previews=include_previews, spam=include_spam
        )
        result = survey.reliability(instruments, options=options)
    payload = result.to_dict()
    with errors_to_exit():
        write_reliability_files(payload, instruments, html=html, table_out=table_out)
    if as_json:
        print_json(payload)
    else:
        print_reliability(out, err, payload, result.problems)
    for written in (html, table_out):
        if written is not None:
            # stdout stays pure JSON with --json
            (err if as_json else out).print(f"wrote {written}", highlight=False, markup=False)
    raise typer.Exit(1 if result.problems else 0)


def register(app: typer.Typer) -> None:
    app.command(name="reliability", epilog=EPILOG)(reliability)


def _apa(value: float | None) -> str:
    """APA style drops the leading zero of statistics bounded by 1: .84 (see report.formatting)."""
    from ..report.formatting import apa

    return apa(value)
