"""`psyscore score` and `psyscore reliability` with --chunk-rows: parse, call psyscore.streaming,
render. The chunked engine (reading, per-chunk scoring, merged moments) is in psyscore.streaming."""

from __future__ import annotations

from pathlib import Path

from ..errors import UsageError
from ..io import Table
from ..io.chunks import check_chunk_input, check_chunk_outputs
from ..streaming import _overlap, reliability_file, score_file


def score_command(
    *,
    data: Path,
    instrument: list[str],
    output: list[Path],
    id_column: str | None,
    map_file: Path | None,
    problems_file: Path | None,
    replace_scores: bool,
    sheet: str | None,
    syntax_file: Path | None,
    include_previews: bool,
    include_spam: bool,
    invalid_as_missing: bool,
    force: bool,
    as_json: bool,
    chunk_rows: int,
    norm_by: str | None = None,
    **_options,
) -> None:
    """`psyscore score` in chunks: the same checks, outputs, messages and exit codes."""
    import typer

    from ..io import plan_outputs, staged_writes
    from ..library import resolve_instruments
    from ..mapping import load_mapping
    from ..report.problems import print_problems, write_problems_csv
    from ..report.score_terminal import print_score_summary
    from ..survey import output_table_of
    from .options import about, err, errors_to_exit, out, print_json, warn
    from .progress import row_progress

    with errors_to_exit():
        if syntax_file is not None:
            # not only metadata: the syntax lists the Status values it excludes and is checked
            # against the scored rows, so one made from a sample could miss what the rest holds
            raise UsageError(
                "--syntax reads every row (the Status values it excludes; it is checked against "
                "the scored rows), which --chunk-rows avoids; give --chunk-rows 0 to read the "
                "whole file, or score without --syntax"
            )
        instruments = resolve_instruments(instrument)
        check_chunk_input(data, sheet)
        check_chunk_outputs(list(output))  # .sav/.xlsx: said before anything is read
        plan = plan_outputs(output, problems=problems_file, inputs=[data], force=force)
        mapping = load_mapping(map_file)
        mapping.check_against(instruments)

        def output_table(meta: Table, result) -> Table:
            return output_table_of(meta, result, instruments, data.name)

        with staged_writes():
            with (
                row_progress(f"scoring {data.name}", err, quiet=as_json, path=data) as bar,
                about(data),
            ):
                done = score_file(
                    data,
                    instruments,
                    plan.data,
                    chunk_rows=chunk_rows,
                    id_column=id_column,
                    mapping=mapping,
                    replace_scores=replace_scores,
                    previews=include_previews,
                    spam=include_spam,
                    invalid_as_missing=invalid_as_missing,
                    norm_by=norm_by,
                    output_table=output_table,
                    progress=bar,
                )
            if problems_file is not None:
                write_problems_csv(done.problems, problems_file)
        targets = plan.all
    if as_json:
        print_json(
            {
                "input": str(data),
                "outputs": [str(t) for t in targets],
                "rows": done.rows,
                "instruments": done.summary,
                "excluded": done.excluded,
                "problems": [p.to_dict() for p in done.problems],
                "warnings": done.warnings,
            }
        )
    else:
        for w in done.warnings:
            warn(w)
        print_score_summary(out, done.summary, err=err)
        print_problems(out, done.problems)
        shape = f"{done.rows} rows, {done.columns} columns"
        out.print(f"wrote {', '.join(map(str, targets))} ({shape})")
    raise typer.Exit(1 if done.problems else 0)


def reliability_command(
    *,
    data: Path,
    instrument: list[str],
    policy: str,
    no_omega: bool,
    bootstrap: int,
    sheet: str | None,
    html: Path | None,
    force: bool,
    split_half: str,
    nfactors: int,
    by: str | None,
    impute: str,
    table_out: Path | None,
    map_file: Path | None,
    include_previews: bool,
    include_spam: bool,
    as_json: bool,
    chunk_rows: int,
    correlations: str = "pearson",
    **_options,
) -> None:
    """`psyscore reliability` in chunks: the same report, messages and exit codes."""
    import typer

    from ..io import staged_writes
    from ..library import resolve_instruments
    from ..mapping import load_mapping
    from ..psychometrics.polychoric import CORRELATIONS
    from ..psychometrics.splithalf import parse_split_half
    from ..report.formatting import apa_sentence
    from ..report.problems import print_problems
    from ..report.reliability_files import (
        check_html_output,
        check_table_output,
        plan_report_outputs,
        write_reliability_html,
        write_reliability_tables,
    )
    from ..report.reliability_terminal import print_instrument, print_intercorrelations
    from ..survey import intercorrelations
    from .options import about, err, errors_to_exit, exclusion_note, out, print_json, warn
    from .progress import row_progress

    with errors_to_exit():
        if policy not in {"pairwise", "listwise"}:
            raise UsageError(f"--policy must be pairwise or listwise, not {policy!r}")
        for flag, given in (
            ("--bootstrap", bootstrap),
            ("--impute", impute != "none"),
        ):
            if given:
                raise UsageError(
                    f"{flag} needs every row in memory, which --chunk-rows avoids; give "
                    f"--chunk-rows 0 to read the whole file, or leave out {flag}"
                )
        if html is not None:
            check_html_output(html, data, force=force)
        if table_out is not None:
            check_table_output(table_out, data, force=force)
        plan_report_outputs(html, table_out, [data, map_file], force=force)
        try:
            parse_split_half(split_half)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if correlations not in CORRELATIONS:  # the in-memory message
            raise UsageError(
                f"--correlations must be one of {', '.join(CORRELATIONS)}, not {correlations!r}"
            )
        instruments = resolve_instruments(instrument)
        mapping = load_mapping(map_file)
        mapping.check_against(instruments)
        check_chunk_input(data, sheet)
        with (
            row_progress(f"reading {data.name}", err, quiet=as_json, path=data) as bar,
            about(data),
        ):
            per_instrument, excluded, overlap_moments = reliability_file(
                data,
                instruments,
                chunk_rows=chunk_rows,
                mapping=mapping,
                policy=policy,
                omega=not no_omega,
                split_half=split_half,
                nfactors=nfactors,
                by=by,
                correlations=correlations,
                previews=include_previews,
                spam=include_spam,
                progress=bar,
            )
        report, problems, warnings, all_results = [], [], [], []
        counts = excluded.ordered()
        if counts:
            warnings.append(exclusion_note(counts, excluded.column, "left out"))
        for inst, (results, found) in zip(instruments, per_instrument, strict=True):
            problems.extend(found)
            warnings.extend(inst.warnings)
            scores = []
            for r in results:
                d = r.to_dict()
                d["apa"] = apa_sentence(d)
                for g in d.get("groups", []):
                    g["apa"] = apa_sentence(g)
                scores.append(d)
                all_results.append(r)
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
        "split_half": split_half,
        "nfactors": nfactors,
        "by": by,
        "impute": impute,
        "correlations": correlations,
        "instruments": report,
        "intercorrelations": intercorrelations(all_results),
        "overlap": _overlap(all_results, instruments, overlap_moments),
        "problems": [p.to_dict() for p in problems],
        "warnings": warnings,
    }
    with errors_to_exit(), staged_writes():
        if html is not None:
            write_reliability_html(html, payload, instruments)
        if table_out is not None:
            write_reliability_tables(table_out, payload)
    if as_json:
        print_json(payload)
    else:
        for w in warnings:
            warn(w)
        for inst in report:
            print_instrument(out, inst, split_half=split_half, nfactors=nfactors)
        print_intercorrelations(out, payload["intercorrelations"])
        print_intercorrelations(out, payload["overlap"], overlap=True)
        print_problems(out, problems)
    for written in (html, table_out):
        if written is not None:
            (err if as_json else out).print(f"wrote {written}", highlight=False, markup=False)
    raise typer.Exit(1 if problems else 0)
