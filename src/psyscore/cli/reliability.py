"""`psyscore reliability DATA -i ID`: alpha, omega, split-half and item analysis for every score."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.table import Table as RichTable

from ..report.formatting import apa_sentence  # noqa: F401 (part of this module's API)
from .options import (
    INCLUDE_PREVIEWS,
    INCLUDE_SPAM,
    INSTRUMENT,
    JSON,
    MAP,
    about,
    err,
    errors_to_exit,
    exclusion_note,
    out,
    print_json,
    qualtrics_exclusions,
    warn,
)

EPILOG = """Examples:

  psyscore reliability sample_data/intake_batch.sav -i program-intake

  psyscore reliability survey.csv -i mrni-sf --policy listwise --json > reliability.json

  psyscore reliability survey.sav -i phq-9 -i gad-7 --html reliability.html --force

--html writes a standalone report: tables, flagged items, plots, APA sentences, citations.

Statistics follow R psych 2.2.9 (alpha, G6(smc), omega with a Schmid-Leiman bifactor solution from
minres factoring and oblimin rotation); items are reverse-keyed per the definition first.
Exit codes: 0 ok; 1 data problems found in the items (see the table); 2 usage error."""


def _apa(value: float | None) -> str:
    """APA style drops the leading zero of statistics bounded by 1: .84 (see report.formatting)."""
    from ..report.formatting import apa

    return apa(value)


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
    force: bool = typer.Option(False, "--force", help="Replace the --html report if it exists."),
    map_file: Path = MAP,
    include_previews: bool = INCLUDE_PREVIEWS,
    include_spam: bool = INCLUDE_SPAM,
    as_json: bool = JSON,
) -> None:
    """Reliability and item analysis of every score of each instrument in DATA."""
    import pandas as pd

    from ..io import read_table
    from ..library import resolve_instruments
    from ..mapping import load_mapping
    from ..problems import with_file
    from ..psychometrics.instruments import reliability_of
    from ..report.problems import print_problems
    from .options import table_file_missing

    with errors_to_exit():
        if policy not in {"pairwise", "listwise"}:
            from ..errors import UsageError

            raise UsageError(f"--policy must be pairwise or listwise, not {policy!r}")
        if html is not None:
            check_html_output(html, data, force=force)
        instruments = resolve_instruments(instrument)
        mapping = load_mapping(map_file)
        mapping.check_against(instruments)
        table = read_table(data, sheet=sheet) if sheet else read_table(data)
        fm = table_file_missing(table)
        excluded = qualtrics_exclusions(table, previews=include_previews, spam=include_spam)
        report, problems, warnings = [], [], []
        if excluded.counts:
            warnings.append(exclusion_note(excluded.counts, excluded.column, "left out"))
        # previews and spam are not respondents: they leave every statistic and every n
        keep = None if excluded.reasons is None else pd.isna(excluded.reasons)
        for inst in instruments:
            with about(data):
                results, found = reliability_of(  # the same checks as psyscore.reliability()
                    table.data,
                    inst,
                    mapping=mapping.items,
                    recodes=mapping.recodes,
                    value_labels=table.value_labels,
                    file_missing=fm,
                    keep=keep,
                    policy=policy,
                    omega=not no_omega,
                    n_boot=bootstrap,
                    seed=seed,
                )
            problems.extend(with_file(found, data.name, table.row_numbers))
            warnings.extend(inst.warnings)
            scores = []
            for r in results:
                d = r.to_dict()
                d["apa"] = apa_sentence(d)
                scores.append(d)
            report.append(
                {
                    "instrument": inst.id,
                    "prefix": inst.output_prefix,
                    "citation": inst.citation.strip(),
                    "scores": scores,
                }
            )
    payload = {
        "input": str(data),
        "policy": policy,
        "instruments": report,
        "problems": [p.to_dict() for p in problems],
        "warnings": warnings,
    }
    if html is not None:
        with errors_to_exit():
            _write_html(html, payload, instruments)
    if as_json:
        print_json(payload)
    else:
        for w in warnings:
            warn(w)
        for inst in report:
            _print_instrument(inst)
        print_problems(out, problems)
    if html is not None:
        # stdout stays pure JSON with --json
        (err if as_json else out).print(f"wrote {html}", highlight=False, markup=False)
    raise typer.Exit(1 if problems else 0)


def check_html_output(path: Path, data: Path, *, force: bool) -> None:
    """As `psyscore.io.check_output`, for the .html report: never the input, never an existing
    file without --force, and the folder must exist. Raises UsageError (exit 2)."""
    from ..errors import UsageError

    if path.suffix.lower() not in {".html", ".htm"}:
        raise UsageError(f"{path}: --html writes HTML; name the report *.html")
    if path.exists() and data.exists() and path.resolve() == data.resolve():
        raise UsageError(f"{path}: refusing to overwrite the input file; choose another --html")
    if path.is_dir():
        raise UsageError(f"{path}: is a folder; give a file name for --html")
    if path.exists() and not force:
        raise UsageError(f"{path}: already exists; use --force to replace it")
    if not path.parent.exists():
        raise UsageError(f"{path.parent}: output folder does not exist")


def _write_html(path: Path, payload: dict, instruments: list) -> None:
    from ..errors import UsageError
    from ..io import atomic_write
    from ..report.reliability_html import render_reliability_html

    text = render_reliability_html(payload, instruments)

    def writer(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")
        # the temporary file is private (0600); a report gets the usual permissions
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)

    try:
        atomic_write(path, writer)
    except OSError as exc:
        raise UsageError(f"{path}: could not write: {exc.strerror or exc}") from None


def _print_instrument(inst: dict) -> None:
    table = RichTable(
        title=f"{inst['instrument']}: reliability",
        title_justify="left",
        caption="std: standardised alpha; G6: Guttman lambda-6 (smc); w_t, w_h: omega total and "
        "hierarchical (Schmid-Leiman, 3 factors; blank under 6 items); w_1f: one-factor omega",
        caption_justify="left",
    )
    for col in ("score", "n", "k", "alpha", "95% CI", "std", "G6", "w_t", "w_h", "w_1f", "avg r"):
        table.add_column(col, justify="left" if col == "score" else "right", no_wrap=col != "score")
    for s in inst["scores"]:
        ci = s.get("alpha_ci") or [None, None]
        table.add_row(
            s["score"].removeprefix(inst["prefix"] + "_"),
            str(s.get("n")),
            str(s.get("n_items")),
            _apa(s.get("alpha")),
            f"{_apa(ci[0])}-{_apa(ci[1])}",
            _apa(s.get("alpha_std")),
            _apa(s.get("lambda6")),
            _apa(s.get("omega_total")),
            _apa(s.get("omega_h")),
            _apa(s.get("omega_total_1f")),
            _apa(s.get("average_r")),
        )
    out.print(table)
    for s in inst["scores"]:
        out.print(f"  {s['score']}: {s['apa']}", highlight=False)
        for w in s.get("warnings") or []:
            out.print(f"    [yellow]warning:[/] {w['message']}", highlight=False)
    out.print("  item-rest r and alpha if deleted per item: use --json", highlight=False)


def register(app: typer.Typer) -> None:
    app.command(name="reliability", epilog=EPILOG)(reliability)
