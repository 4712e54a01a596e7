"""`psyscore instruments list|show|validate|schema|docs|new|export|import`: the library and your definitions."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from .. import library
from ..errors import DefinitionError, UsageError
from ..instrument import Bundle, Instrument, json_schema, load_definition
from .options import FORCE, JSON, errors_to_exit, out, print_json

NO_EXAMPLES = (
    "no golden examples, so nothing checks that this definition scores as intended; add some, "
    "e.g.\n       examples:\n         - name: all zeros\n           answers: {item_1: 0, item_2: 0}"
    "\n           expect: {total: 0}"
)

app = typer.Typer(help="List, show and validate instrument definitions.", no_args_is_help=True)


def _summary(defn: Instrument | Bundle) -> dict:
    if isinstance(defn, Bundle):
        return {"id": defn.id, "name": defn.name, "kind": "bundle", "instruments": defn.instruments}
    return {
        "id": defn.id,
        "name": defn.name,
        "kind": "instrument",
        "construct": defn.construct,
        "items": len(defn.items),
        "scores": list(defn.scores),
        "verified": defn.key.verified,
        "licence": defn.licence.status,
    }


@app.command("list", epilog="Example: psyscore instruments list --json")
def list_(as_json: bool = JSON) -> None:
    """List the built-in instruments and bundles."""
    with errors_to_exit():
        rows = [_summary(e.definition) for e in library.builtin_entries()]
    if as_json:
        print_json(rows)
        return
    table = Table(title="Built-in instruments", title_justify="left")
    for col in ("id", "name", "construct", "items", "scores", "key"):
        table.add_column(
            col, no_wrap=col in {"id", "construct", "key"}, min_width=24 if col == "name" else None
        )
    for r in rows:
        if r["kind"] == "bundle":
            table.add_row(r["id"], r["name"], "bundle", "", ", ".join(r["instruments"]), "")
        else:
            key = "verified" if r["verified"] else "[yellow]unverified[/]"
            table.add_row(
                r["id"], r["name"], r["construct"], str(r["items"]), str(len(r["scores"])), key
            )
    out.print(table)
    out.print("`psyscore instruments show ID` prints a scoring sheet with every score's name.")


@app.command("show", epilog="Example: psyscore instruments show phq-9")
def show(
    ref: str = typer.Argument(..., metavar="ID|PATH", help="Instrument id or definition file."),
    as_json: bool = JSON,
) -> None:
    """Print a scoring sheet: items, keys, missing rules, bands, norms, citation."""
    with errors_to_exit():
        defn = library.load(ref)
    if as_json:
        print_json(defn.model_dump(mode="json", exclude_none=True))
        return
    from rich.markdown import Markdown  # markdown-it and pygments: only when a sheet is shown

    from ..report.scoresheet import bundle_markdown, scoresheet_markdown

    text = bundle_markdown(defn) if isinstance(defn, Bundle) else scoresheet_markdown(defn)
    out.print(Markdown(text))


@app.command(
    "validate",
    epilog="Examples: psyscore instruments validate my-scale.yaml ; psyscore instruments validate "
    "(all built-ins)",
)
def validate(
    paths: list[str] = typer.Argument(None, metavar="[PATH|ID]...", help="Definitions to check."),
    as_json: bool = JSON,
) -> None:
    """Check definitions against the schema and run their golden examples through the engine."""
    from ..examples import check_examples

    refs = paths or [str(e.path) for e in library.builtin_entries()]
    report = []
    for ref in refs:
        try:
            defn = (
                load_definition(ref) if Path(ref).suffix in {".yaml", ".yml"} else library.load(ref)
            )
        except (DefinitionError, UsageError) as exc:
            report.append({"definition": ref, "ok": False, "errors": str(exc).splitlines()})
            continue
        if isinstance(defn, Bundle):
            errors = []
            for member in defn.instruments:
                try:
                    library.load(member)
                except UsageError as exc:
                    errors.append(f"bundle member {member!r}: {exc}")
            report.append({"definition": ref, "ok": not errors, "errors": errors, "examples": 0})
            continue
        failures = check_examples(defn)
        warnings = list(defn.warnings)
        if not defn.examples:
            # `score` accepts such a definition, so `validate` must not call it broken
            warnings.append(NO_EXAMPLES)
        report.append(
            {
                "definition": ref,
                "ok": not failures,
                "errors": failures,
                "examples": len(defn.examples),
                "warnings": warnings,
            }
        )
    bad = [r for r in report if not r["ok"]]
    if as_json:
        print_json(report)
    else:
        for r in report:
            if r["ok"]:
                n = r.get("examples", 0)
                out.print(f"[green]ok[/]   {r['definition']} ({n} examples pass)")
                for w in r.get("warnings") or []:
                    out.print(f"     [yellow]warning:[/] {escape(w)}", markup=True)
            else:
                out.print(f"[red]FAIL[/] {r['definition']}")
                for e in r["errors"]:
                    out.print(f"     {e}", markup=False)
    # a broken definition is a usage problem (2), not a data problem
    raise typer.Exit(2 if bad else 0)


@app.command("schema", epilog="Example: psyscore instruments schema -o instruments/schema.json")
def schema(
    output: Path = typer.Option(None, "--output", "-o", help="Write here instead of printing."),
) -> None:
    """Print the JSON Schema of the definition format (generated from the models)."""
    text = json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@app.command("docs", epilog="Example: psyscore instruments docs -o docs/instruments")
def docs(
    output: Path = typer.Option(
        Path("docs/instruments"), "--output", "-o", help="Folder for the pages."
    ),
) -> None:
    """Write one Markdown scoring-sheet page per built-in definition, plus an index."""
    from ..report.scoresheet import bundle_markdown, scoresheet_markdown

    with errors_to_exit():
        entries = library.builtin_entries()
        if not output.exists():
            output.mkdir(parents=True)
        if not output.is_dir():
            raise UsageError(f"{output}: not a folder")
    index = [
        "# Built-in instruments",
        "",
        "| id | name | construct | items | key |",
        "|---|---|---|---|---|",
    ]
    for e in entries:
        d = e.definition
        if isinstance(d, Bundle):
            (output / f"{d.id}.md").write_text(bundle_markdown(d), encoding="utf-8")
            index.append(f"| [{d.id}]({d.id}.md) | {d.name} | bundle | | |")
            continue
        (output / f"{d.id}.md").write_text(scoresheet_markdown(d), encoding="utf-8")
        key = "verified" if d.key.verified else "unverified"
        index.append(f"| [{d.id}]({d.id}.md) | {d.name} | {d.construct} | {len(d.items)} | {key} |")
    (output / "README.md").write_text("\n".join(index) + "\n", encoding="utf-8")
    out.print(f"wrote {len(entries) + 1} pages to {output}")


EXPORT_FORMATS = {"redcap": ".csv", "fhir": ".json"}


def _check_new_output(output: Path, *, force: bool, inputs: tuple[Path, ...] = ()) -> None:
    for source in inputs:
        if output.exists() and source.exists() and output.resolve() == source.resolve():
            raise UsageError(f"{output}: refusing to overwrite the input file; choose another -o")
    if output.exists() and not force:
        raise UsageError(f"{output}: already exists; use --force to replace it")
    if not output.parent.exists():
        raise UsageError(f"{output.parent}: output folder does not exist")


def _write_text(output: Path | None, text: str) -> None:
    if output is None:
        typer.echo(text, nl=False)
        return
    from ..io import atomic_write

    atomic_write(output, lambda tmp: tmp.write_text(text, encoding="utf-8", newline=""))
    out.print(f"wrote {output}", markup=False)


@app.command(
    "export",
    epilog="Examples: psyscore instruments export phq-9 --to redcap -o phq9_dictionary.csv ; "
    "psyscore instruments export gad-7 --to fhir -o gad7_questionnaire.json",
)
def export(
    ref: str = typer.Argument(..., metavar="ID|PATH", help="Instrument or bundle id, or a file."),
    to: str = typer.Option(..., "--to", help="redcap (data dictionary CSV) or fhir (R4 JSON)."),
    output: Path = typer.Option(None, "--output", "-o", help="Write here instead of printing."),
    force: bool = FORCE,
) -> None:
    """Export a definition: a REDCap data dictionary with scoring calc fields, or a FHIR
    Questionnaire. What the target cannot express the same way is refused, not approximated."""
    with errors_to_exit():
        if to not in EXPORT_FORMATS:
            raise UsageError(f"--to {to!r}: choose one of {', '.join(EXPORT_FORMATS)}")
        defn = library.load(ref)
        if output is not None:
            _check_new_output(output, force=force)
        if to == "redcap":
            from ..exchange.redcap import write_redcap

            members = (
                [library.load(m) for m in defn.instruments] if isinstance(defn, Bundle) else [defn]
            )
            text = write_redcap(members)
        else:
            if isinstance(defn, Bundle):
                raise UsageError(
                    f"{defn.id} is a bundle: export its instruments one Questionnaire at a time "
                    f"({', '.join(defn.instruments)})"
                )
            from ..exchange.fhir import questionnaire_json

            text = questionnaire_json(defn)
        _write_text(output, text)


@app.command(
    "import",
    epilog="Example: psyscore instruments import dictionary.csv --from redcap -o draft.yaml",
)
def import_(
    source: Path = typer.Argument(..., metavar="FILE", help="A REDCap data dictionary (CSV)."),
    from_: str = typer.Option(..., "--from", help="redcap"),
    output: Path = typer.Option(None, "--output", "-o", help="Write here instead of printing."),
    form: str = typer.Option(None, "--form", help="The form to draft, when there are several."),
    force: bool = FORCE,
) -> None:
    """Draft a definition from a REDCap data dictionary: items and response scales, an unverified
    key and no scores, for you to complete (see the comments at the top of the draft)."""
    with errors_to_exit():
        if from_ != "redcap":
            raise UsageError(f"--from {from_!r}: only redcap is supported")
        if output is not None:
            _check_new_output(output, force=force, inputs=(source,))
        from ..exchange.redcap import draft_from_redcap, read_redcap_dictionary

        text, draft = draft_from_redcap(read_redcap_dictionary(source), str(source), form)
        _write_text(output, text)
    if output is not None:
        out.print(
            f"{draft.id}: {len(draft.items)} items, {len(draft.response_scales)} response scales; "
            "add the scores, reverse keys and citation before scoring with it",
            markup=False,
        )


@app.command(
    "new",
    epilog="Example: psyscore instruments new --from survey.sav --items 'A1-A5,C1-C5' "
    "-o my-scale.yaml --scale-name 'Lab wellbeing scale'",
)
def new(
    data: Path = typer.Option(
        ..., "--from", help="Data file whose columns are the items (.sav, .csv, .xlsx ...)."
    ),
    items: str = typer.Option(
        ...,
        "--items",
        help="The item columns: names and ranges, e.g. 'A1-A5,C1-C5' (one score per part).",
    ),
    output: Path = typer.Option(..., "--output", "-o", help="The draft definition (.yaml)."),
    scale_name: str = typer.Option(
        None, "--scale-name", help="The instrument's full name (else a TODO in the draft)."
    ),
    sheet: str = typer.Option(None, "--sheet", help="Worksheet of an .xlsx file."),
    force: bool = FORCE,
) -> None:
    """Draft a definition from a data file's columns and value labels, for you to complete.

    SPSS value labels give the codes and anchors (user-missing values become missing codes); a
    CSV gives the observed range, to check. Every fact the data cannot tell (citation, licence,
    key source, reverse keys, method, missing rule) is a TODO: psyscore refuses the definition,
    naming each line, until they are filled.
    """
    with errors_to_exit():
        if output.suffix.lower() not in {".yaml", ".yml"}:
            raise UsageError(f"{output}: a definition is YAML; name it *.yaml")
        _check_new_output(output, force=force, inputs=(data,))
        from ..draft import draft_definition, instrument_id_for, parse_item_spec
        from ..io import read_table
        from .options import table_file_missing

        table = read_table(data, sheet=sheet) if sheet else read_table(data)
        parts = parse_item_spec(items, [str(c) for c in table.data.columns])
        text = draft_definition(
            table,
            parts,
            source=data.name,
            instrument_id=instrument_id_for(output),
            name=scale_name,
            file_missing=table_file_missing(table),
        )
        _write_text(output, text)
    todo = sum(1 for line in text.splitlines() if "TODO" in line.split("#")[0])
    out.print(
        f"{sum(map(len, parts))} items, {len(parts)} score(s); {todo} TODO(s) to complete, "
        f"then: psyscore instruments validate {output}",
        markup=False,
    )
