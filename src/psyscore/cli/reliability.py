"""`psyscore reliability DATA -i ID`: alpha, omega, split-half and item analysis for every score."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table as RichTable

from ..io.chunks import CHUNK_ROWS_HELP, chunk_rows_for
from ..report.formatting import (
    apa_sentence,  # noqa: F401 (part of this module's API)
    count,
)
from ..survey import intercorrelations, overlap
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
            needs_all_rows=bool(bootstrap) or by is not None or impute != "none" or bool(sheet),
        )
    if chunk_rows:  # larger than memory: per-chunk moments, merged (psyscore.streaming)
        from .chunked import reliability_command

        reliability_command(**{k: v for k, v in locals().items() if k != "reliability_command"})
    from ..io import read_table
    from ..library import resolve_instruments
    from ..mapping import load_mapping
    from ..report.problems import print_problems
    from ..survey import Survey, check_reliability_options

    with errors_to_exit():
        check_reliability_options(policy=policy, split_half=split_half)
        if html is not None:
            check_html_output(html, data, force=force)
        if table_out is not None:
            check_table_output(table_out, data, force=force)
        _plan_outputs(html, table_out, [data, map_file], force=force)
        instruments = resolve_instruments(instrument)
        mapping = load_mapping(map_file)
        mapping.check_against(instruments)
        table = read_table(data, sheet=sheet) if sheet else read_table(data)
        survey = Survey.from_table(
            table, path=data, map=mapping, previews=include_previews, spam=include_spam
        )
        result = survey.reliability(
            instruments,
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
    payload = result.to_dict()
    problems, warnings, report = result.problems, payload["warnings"], payload["instruments"]
    from ..io import staged_writes

    # both files are renamed into place together: a failure writing one leaves neither
    with errors_to_exit(), staged_writes():
        if html is not None:
            _write_html(html, payload, instruments)
        if table_out is not None:
            _write_table(table_out, payload)
    if as_json:
        print_json(payload)
    else:
        for w in warnings:
            warn(w)
        for inst in report:
            _print_instrument(inst, split_half=split_half, nfactors=nfactors)
        _print_intercorrelations(payload["intercorrelations"])
        _print_intercorrelations(payload["overlap"], overlap=True)
        print_problems(out, problems)
    for written in (html, table_out):
        if written is not None:
            # stdout stays pure JSON with --json
            (err if as_json else out).print(f"wrote {written}", highlight=False, markup=False)
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


TABLE_SUFFIXES = {".docx", ".md", ".tex"}


def _plan_outputs(html: Path | None, table_out: Path | None, inputs: list, *, force: bool) -> None:
    """--html and --table checked together with `psyscore.io.plan_outputs`, as `psyscore score`
    checks its outputs: distinct files, never an input, in a folder where files can be made."""
    from ..io import plan_outputs

    targets = [p for p in (html, table_out) if p is not None]
    if targets:
        plan_outputs(
            targets,
            inputs=[p for p in inputs if p is not None],
            force=force,
            suffixes={".html", ".htm", *TABLE_SUFFIXES},
        )


def check_table_output(path: Path, data: Path, *, force: bool) -> None:
    """As :func:`check_html_output`, for --table (.docx, .md or .tex)."""
    from ..errors import UsageError

    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise UsageError(f"{path}: --table writes .docx, .md or .tex; name the file so")
    if path.exists() and data.exists() and path.resolve() == data.resolve():
        raise UsageError(f"{path}: refusing to overwrite the input file; choose another --table")
    if path.is_dir():
        raise UsageError(f"{path}: is a folder; give a file name for --table")
    if path.exists() and not force:
        raise UsageError(f"{path}: already exists; use --force to replace it")
    if not path.parent.exists():
        raise UsageError(f"{path.parent}: output folder does not exist")


def _write_table(path: Path, payload: dict) -> None:
    from ..errors import UsageError
    from ..io import atomic_write
    from ..report.apa_table import write_apa_tables

    def writer(tmp: Path) -> None:
        write_apa_tables(payload, tmp, kind=path.suffix.lower())
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)

    try:
        atomic_write(path, writer)
    except OSError as exc:
        raise UsageError(f"{path}: could not write: {exc.strerror or exc}") from None


# kept under their old names for callers of the former helpers
_intercorrelations = intercorrelations
_overlap = overlap


def _print_intercorrelations(ic: dict | None, *, overlap: bool = False) -> None:
    if not ic:
        return
    names = ic["scores"]
    if overlap:
        title = "Scale intercorrelations corrected for shared items"
        caption = (
            "psych::scoreOverlap: below the diagonal r with each shared item's self-correlation "
            "replaced by sqrt(avg r_i avg r_j); diagonal: standardised alpha; above: corrected "
            "for attenuation"
        )
    else:
        title = "Scale intercorrelations"
        caption = (
            "below the diagonal: r between scores (pairwise); diagonal: alpha; above: r "
            "corrected for attenuation, r / sqrt(alpha_i alpha_j) (psych::scoreItems corrected)"
        )
    table = RichTable(title=title, title_justify="left", caption=caption, caption_justify="left")
    table.add_column("score")
    for i in range(len(names)):
        table.add_column(str(i + 1), justify="right", no_wrap=True)
    for i, (name, row) in enumerate(zip(names, ic["corrected"], strict=True)):
        table.add_row(f"{i + 1}. {name}", *(_apa(v) for v in row))
    out.print(table)


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


def _print_instrument(inst: dict, *, split_half: str = "all", nfactors: int = 3) -> None:
    splits = {
        "all": "every split",
        "psych": "the splits psych 2.2.9 enumerates (half of them for odd k)",
    }.get(split_half, "every split; first-m split in --json")
    table = RichTable(
        title=f"{inst['instrument']}: reliability",
        title_justify="left",
        caption="std: standardised alpha; G6: Guttman lambda-6 (smc); w_t, w_h: omega total and "
        f"hierarchical (Schmid-Leiman, {nfactors} group factors; blank under {2 * nfactors} "
        "items); w_1f: omega total, one-factor model; "
        f"split-half max/min (lambda-4, beta; in --json) over {splits} (--split-half "
        f"{split_half})",
        caption_justify="left",
    )
    columns = ("score", "n", "k", "alpha", "95% CI", "std", "G6", "w_t", "w_h", "w_1f", "avg r")
    for col in columns:
        table.add_column(col, justify="left" if col == "score" else "right", no_wrap=col != "score")
    rows = []
    for s in inst["scores"]:
        rows.append((s["score"].removeprefix(inst["prefix"] + "_"), s))
        for g in s.get("groups", []):
            # a group label is data: never rich markup
            label = "(no value)" if g["group"] is None else escape(g["group"])
            rows.append((f"  {escape(str(s.get('by')))} = {label}", g))
    for label, s in rows:
        ci = s.get("alpha_ci") or [None, None]
        table.add_row(
            label,
            count(s.get("n")),
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
        for g in s.get("groups", []):
            codes = list(dict.fromkeys(w["code"] for w in g.get("warnings") or []))
            if codes:
                label = "(no value)" if g["group"] is None else escape(g["group"])
                out.print(
                    f"    [yellow]warning:[/] {escape(str(s.get('by')))} = {label} (n = {count(g.get('n'))}): "
                    f"{', '.join(codes)} (messages in --json)",
                    highlight=False,
                    markup=True,
                )
    _print_ordinal(inst)
    out.print("  item-rest r and alpha if deleted per item: use --json", highlight=False)


def _print_ordinal(inst: dict) -> None:
    """--correlations polychoric: ordinal alpha and omega per score (and group)."""
    for s in inst["scores"]:
        if s.get("correlations") != "polychoric":
            continue
        rows = [(s["score"], s)] + [
            (f"{s['score']}, {s.get('by')} = {g['group']}", g) for g in s.get("groups", [])
        ]
        for label, r in rows:
            parts = [f"ordinal alpha = {_apa(r.get('ordinal_alpha'))}"]
            for key, name in (
                ("ordinal_omega_total", "omega total"),
                ("ordinal_omega_h", "omega_h"),
                ("ordinal_omega_total_1f", "omega total (one-factor model)"),
            ):
                if r.get(key) is not None:
                    parts.append(f"{name} = {_apa(r.get(key))}")
            reason = r.get("ordinal_reason")
            note = f" ({reason})" if reason and r.get("ordinal_alpha") is None else ""
            out.print(
                f"  {label}: polychoric: {', '.join(parts)}{note}", highlight=False, markup=False
            )


def register(app: typer.Typer) -> None:
    app.command(name="reliability", epilog=EPILOG)(reliability)
