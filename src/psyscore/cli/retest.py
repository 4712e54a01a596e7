"""`psyscore retest WAVE1 WAVE2 -i ID --id-column COL`: test-retest ICC, SEM and reliable change."""

from __future__ import annotations

from pathlib import Path

import typer

from ..report.retest_terminal import print_retest, retest_payload
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

  psyscore retest wave1.csv wave2.sav -i phq-9 -i gad-7 --id-column respondent_id

  psyscore retest visits.csv -i phq-9 --id-column respondent_id --wave-column visit --waves 1,3 --json

Each wave is scored from its items with the instrument definitions, then respondents are joined by
--id-column (7, 7.0 and " 7 " are the same id). An id that occurs twice within a wave is a data
problem and all its rows in that wave are left out. Qualtrics survey previews, tests and spam
are left out of the pairs, as by score and reliability (--include-previews / --include-spam let
them in). In a long file the wave column must hold two values (numbers in numeric order, text in
order of appearance) or --waves picks two, baseline first.

ICC: default ICC2 = ICC(2,1), two-way random effects, absolute agreement, single measurement
(McGraw & Wong's ICC(A,1)): a systematic shift between waves counts against retest reliability.
--icc ICC3 gives consistency (ICC(3,1)), which ignores such a shift. ICCs and their F-based 95%
CIs come from pingouin.intraclass_corr and equal psych::ICC. SEM = SD(wave 1) x sqrt(1 - ICC);
reliable-change threshold = 1.96 x sqrt(2) x SEM (Jacobson & Truax 1991).

Exit codes: 0 ok; 1 data problems (duplicate or missing ids, bad answers, no respondents in
common, a single wave); 2 usage error (missing column, wrong number of files or waves)."""

ICC_HELP = (
    "ICC type for the SEM: ICC2 = ICC(2,1) absolute agreement (default), ICC3 = ICC(3,1) "
    "consistency, ICC1 one-way; ICC1k/ICC2k/ICC3k for the mean of both waves. "
    "ICC(A,1), ICC(C,1), ICC(2,1), ICC(3,1) are accepted too."
)


def retest(
    data: list[Path] = typer.Argument(
        ...,
        help="WAVE1 WAVE2 (one file per wave), or one long file with --wave-column. "
        ".csv, .tsv, .sav, .zsav or .xlsx.",
        show_default=False,
        metavar="FILE",
    ),
    instrument: list[str] = INSTRUMENT,
    id_column: str = typer.Option(
        ..., "--id-column", help="Respondent id column joining the waves.", show_default=False
    ),
    wave_column: str = typer.Option(
        None, "--wave-column", help="Wave column of a long file (one row per respondent and wave)."
    ),
    waves: str = typer.Option(
        None, "--waves", help="Two values of --wave-column to compare, baseline first: 1,2."
    ),
    icc: str = typer.Option("ICC2", "--icc", help=ICC_HELP),
    sd_from: str = typer.Option(
        "wave1", "--sd", help="SD for the SEM: wave1 (Jacobson & Truax) or pooled (both waves)."
    ),
    sheet: str = typer.Option(None, "--sheet", help="Worksheet of .xlsx input (default: first)."),
    map_file: Path = MAP,
    include_previews: bool = INCLUDE_PREVIEWS,
    include_spam: bool = INCLUDE_SPAM,
    as_json: bool = JSON,
) -> None:
    """Test-retest reliability of every score over two waves: ICC with 95% CI, SEM, reliable change."""
    from ..errors import UsageError
    from ..io import read_table
    from ..library import resolve_instruments
    from ..mapping import load_mapping
    from ..psychometrics.retest import icc_type_name
    from ..retest_table import Wave, file_notes, retest_long, retest_two
    from ..survey import Survey

    with errors_to_exit():
        try:
            icc_type = icc_type_name(icc)
        except ValueError as exc:
            raise UsageError(f"--icc: {exc}") from None
        if sd_from not in {"wave1", "pooled"}:
            raise UsageError(f"--sd must be wave1 or pooled, not {sd_from!r}")
        if len(data) not in (1, 2):
            raise UsageError(
                f"give two files (WAVE1 WAVE2) or one long file with --wave-column; got {len(data)}"
            )
        wave_list = None
        if waves is not None:
            wave_list = [w.strip() for w in waves.split(",")]
            if len(wave_list) != 2 or not all(wave_list) or wave_list[0] == wave_list[1]:
                raise UsageError(
                    f"--waves takes two different wave values, baseline first (e.g. 1,2), "
                    f"not {waves!r}"
                )
        if len(data) == 2:
            if wave_column is not None or waves is not None:
                raise UsageError(
                    "--wave-column and --waves are for one long file; with two files each file "
                    "is one wave"
                )
            if data[0].resolve() == data[1].resolve():
                raise UsageError(f"{data[0]} is given as both waves; give two different files")
        elif wave_column is None:
            raise UsageError(
                f"{data[0]}: one file needs --wave-column (one row per respondent and wave); "
                "or give two files, one per wave"
            )
        instruments = resolve_instruments(instrument)
        mapping = load_mapping(map_file)
        mapping.check_against(instruments)
        kw = {
            "id_column": id_column,
            "icc_type": icc_type,
            "sd_from": sd_from,
            "mapping": mapping.items,
            "recodes": mapping.recodes,
        }
        # each file read once, with its value labels and user-missing codes (as score does);
        # its Qualtrics previews and spam are no respondents, so they are in no pair
        surveys = [
            Survey.from_table(
                read_table(path, sheet=sheet),
                path=path,
                map=mapping,
                previews=include_previews,
                spam=include_spam,
            )
            for path in data
        ]
        if len(data) == 2:
            result = retest_two(
                *(Wave.from_survey(s, n) for s, n in zip(surveys, ("1", "2"), strict=True)),
                instruments,
                **kw,
            )
        else:
            (survey,) = surveys
            result = retest_long(
                survey.data,
                instruments,
                wave_column=wave_column,
                waves=wave_list,
                file=survey.name,
                file_missing=survey.file_missing,
                value_labels=survey.value_labels,
                file_rows=survey.table.row_numbers,
                keep=survey.respondents,
                **kw,
            )
        result.warnings = file_notes(surveys) + result.warnings
    payload = retest_payload(result, data, sd_from)
    if as_json:
        print_json(payload)
    else:
        print_retest(out, err, payload, result.problems)
    raise typer.Exit(1 if result.problems else 0)


def register(app: typer.Typer) -> None:
    app.command(name="retest", epilog=EPILOG)(retest)
