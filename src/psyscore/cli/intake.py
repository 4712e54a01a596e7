"""`psyscore intake`: score ONE client's form and print a report a clinician can act on safely."""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from ..errors import UsageError
from ..instrument import Bundle, Instrument
from .options import MAP, about, err, errors_to_exit, out, print_json, warn

EPILOG = """Examples:

  psyscore intake --bundle program-intake --answers sample_data/intake_form_single.csv

  psyscore intake -i phq-9 -i gad-7 --client-id C17 --json > visit1.json

  psyscore intake -i phq-9 --client-id C17 --sex female --previous visit1.json --html report.html

  psyscore intake -i phq-9 --sex male --age 40 --previous visit1.json --previous visit2.json

  psyscore intake -i phq-9 -i gad-7 --answers form.yaml --pdf report.pdf --paper letter

  psyscore intake -i phq-9 --answers form.yaml --client-id C17 --fhir visit.fhir.json

  psyscore intake -i gad-7 --answers one_row.sav --map sample_data/qualtrics_map.yaml

An --answers file gets the checks of `psyscore score`: SPSS value labels and user-missing codes are read, --map renames columns and recodes values, and codes that disagree with the scale (value labels saying 1 = Not at all where the definition codes it 0) stop with the mapping that fixes them. The JSON of `psyscore intake --json` is also an --answers file: its answered codes are scored again (the instruments, client and date taken from it unless given). --previous is compared only with scores from the same definition (its hash is in the --json output); repeat it for several earlier visits (put in date order: trajectory, change from the first and from the last). Each change is classified by Jacobson & Truax (1991): reliable improvement, reliable deterioration, no reliable change, recovered, or not assessable.

--sex and --age choose the norm group for T-scores; where the norm groups are by sex, no standard score is given without --sex. Percentiles come only from a published table or a norm declared normal.

Without --answers the items are asked one by one: type the code or the answer text; `s` skips an \
item (missing), `b` goes back to the previous answer (Enter keeps it), `g N` goes to item N of \
the form (counted over all its instruments), `r` reviews the answers so far; once every item is \
answered a review screen lists them all (Enter scores, N changes item N). Answers are saved after every item \
to the --save-progress file, by default .psyscore-intake-CLIENT.json in the current folder \
(deleted when the form is complete), so Ctrl-C loses nothing: continue with --resume FILE.

--fhir writes the result as a FHIR R4 Bundle: a QuestionnaireResponse per instrument and an Observation per score (LOINC code where the definition lists one) and per critical alert.

--pdf prints the same report to PDF with headless Chromium (chromium, chromium-browser or google-chrome on PATH, or the browser named by PSYSCORE_CHROMIUM); without a browser, write --html and print it from any browser.

Exit codes: 0 ok; 1 scored, but some answers were not understood; 2 usage error; \
130 interrupted (answers kept in the progress file)."""

PROGRESS_FORMAT = 1


def register(app: typer.Typer) -> None:
    app.command(name="intake", epilog=EPILOG)(intake)


def intake(
    instrument: list[str] = typer.Option(
        None,
        "--instrument",
        "-i",
        help="Built-in instrument id or a path to a YAML definition. Repeat for several.",
    ),
    bundle: str = typer.Option(
        None, "--bundle", "-b", help="A bundle of instruments, e.g. program-intake."
    ),
    answers: Path = typer.Option(
        None,
        "--answers",
        "-a",
        help="The form's answers: YAML or JSON mapping item id -> answer, a one-row CSV/SAV, or "
        "the JSON of an earlier `psyscore intake --json` (scored again). Without it, the items "
        "are asked interactively.",
    ),
    client_id: str = typer.Option(None, "--client-id", help="Client identifier for the report."),
    date: str = typer.Option(None, "--date", help="Date of the form, YYYY-MM-DD (default: today)."),
    previous: list[Path] = typer.Option(
        None,
        "--previous",
        help="JSON from an earlier `psyscore intake --json`: report change and reliable change "
        "(Jacobson-Truax). Repeat for several earlier visits: they are put in date order.",
    ),
    sex: str = typer.Option(
        None,
        "--sex",
        help="The client's sex, male or female: chooses the norm group (norms by sex give no "
        "standard score without it).",
    ),
    age: float = typer.Option(
        None, "--age", help="The client's age in years: chooses the norm group by age."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the result as JSON (accepted later by --previous)."
    ),
    html: Path = typer.Option(None, "--html", help="Also write a standalone HTML report here."),
    pdf: Path = typer.Option(
        None,
        "--pdf",
        help="Also write the report as PDF here (rendered by headless Chromium: install chromium, "
        "or set PSYSCORE_CHROMIUM to the browser).",
    ),
    paper: str = typer.Option(
        None,
        "--paper",
        help="Paper size of the printed report: a4 or letter. Default: a4 for --pdf; for --html "
        "the printer's paper.",
    ),
    fhir: Path = typer.Option(
        None,
        "--fhir",
        help="Also write the result as a FHIR R4 Bundle (JSON): a QuestionnaireResponse per "
        "instrument and an Observation per score, for a clinic's record system.",
    ),
    force: bool = typer.Option(
        False, "--force", help="Replace the --html, --pdf and --fhir files if they exist."
    ),
    save_progress: Path = typer.Option(
        None,
        "--save-progress",
        help="Interactive mode: save answers after every item to this file (default: "
        ".psyscore-intake-CLIENT.json in the current folder; deleted when the form is complete).",
    ),
    resume: Path = typer.Option(
        None, "--resume", help="Continue an interrupted interactive form from its progress file."
    ),
    map_file: Path = MAP,
) -> None:
    """Score ONE client's intake form: critical alerts first, then scores, bands, norms and change."""
    with errors_to_exit():
        when = _check_date(date)
        page_size = _check_paper(paper)
        if html is not None:
            _check_html(html, force)
        if pdf is not None:
            _check_pdf(pdf, force)  # before anything is asked or scored
        if fhir is not None:
            _check_fhir(fhir, force)
        _plan_reports(
            html, pdf, [answers, *(previous or []), resume], save_progress, force, fhir=fhir
        )
        if map_file is not None and answers is None:
            raise UsageError("--map applies to an --answers file (its column names and codes)")
        from ..mapping import load_mapping

        mapping = load_mapping(map_file)
        sex = _check_sex(sex)
        if age is not None and not 0 <= age <= 130:
            raise UsageError(f"--age {age:g}: give the age in years (0-130)")
        previous = list(previous or [])
        prev_payloads = [_read_previous(path) for path in previous]
        progress: dict[str, Any] | None = None
        if resume is not None:
            progress = _read_progress(resume)
            client_id = client_id or progress.get("client_id")
            when = date and when or progress.get("date") or when
        rescoring = _saved_result(answers) if answers is not None else None
        if rescoring is not None:
            if map_file is not None:
                raise UsageError(
                    f"{answers}: the codes of an intake result are already mapped; leave out --map"
                )
            client_id = client_id or rescoring.get("client_id")
            when = date and when or rescoring.get("date") or when
        refs = list(instrument or [])
        if bundle:
            refs.append(bundle)
            _check_bundle(bundle)
        if not refs and progress is not None:
            refs = list(progress.get("instruments") or [])
        if not refs and rescoring is not None:
            refs = [inst["id"] for inst in rescoring["instruments"]]
        if not refs:
            raise UsageError("name the instruments: --instrument ID (repeatable) or --bundle ID")
        from ..library import resolve_instruments

        instruments = resolve_instruments(refs)
        # as `psyscore score` does: an entry for an item none of them has names the map file
        # and line, before any answer is read
        mapping.check_against(instruments)
        if progress is not None and progress.get("instruments") not in (None, refs):
            raise UsageError(
                f"{resume} was started with {', '.join(progress['instruments'])}; "
                "leave out --instrument/--bundle to continue it"
            )
        if rescoring is not None:
            _check_same_instruments(answers, rescoring, instruments)
        for path, payload in zip(previous, prev_payloads, strict=True):
            _check_previous_client(path, payload, client_id)  # before anything is asked
        if prev_payloads:
            from ..intake import IntakeResult, order_visits

            order_visits(
                IntakeResult(client_id, when, []), prev_payloads, [str(p) for p in previous]
            )

    progress_path: Path | None = None
    if answers is not None:
        with errors_to_exit():
            if resume is not None:
                raise UsageError("give either --answers or --resume, not both")
            try:
                form = _read_answers(answers, instruments, mapping)
            except MalformedAnswers as exc:
                _alerts_of_wellformed(instruments, exc.wellformed, mapping)
                raise
    else:
        progress_path = resume or save_progress or _default_progress(client_id)
        with errors_to_exit():
            if progress is None and progress_path.exists():
                raise UsageError(
                    f"{progress_path} already exists (an unfinished form?). Continue it with "
                    f"--resume {progress_path}, or delete it first"
                )
        state = progress or {
            "psyscore_intake_progress": PROGRESS_FORMAT,
            "client_id": client_id,
            "date": when,
            "instruments": refs,
            "position": 0,
            "answers": {},
        }
        ui = err if as_json else out
        form = _ask(instruments, state, progress_path, ui, as_json)

    from ..intake import compare, score_form

    with errors_to_exit(), about(answers) if answers is not None else contextlib.nullcontext():
        result = score_form(
            instruments,
            form,  # a Survey of the --answers file (its map included), or the answers asked
            client_id=client_id,
            date=when,
            sex=sex,
            age=age,
            options=_options_used(refs, map_file, previous, answers),
        )

    from ..report.intake_terminal import print_alerts, render

    # From here on there is a result: whatever fails, its critical alerts are printed first.
    with errors_to_exit(), _alerts_survive(result) as alerts_shown:
        if prev_payloads:
            compare(result, prev_payloads, instruments, [str(p) for p in previous])
        if html is not None or pdf is not None or fhir is not None:
            _write_reports(result, html, pdf, page_size, fhir=fhir, instruments=instruments)
        if as_json:
            print_alerts(err, result)  # unmissable even when stdout goes to a file
            alerts_shown()
            for note in result.change_notes():
                warn(f"--previous: {note}")
            print_json(result.to_dict())
        else:
            render(out, result)
            alerts_shown()
            for path in (html, pdf, fhir):
                if path is not None:
                    out.print(f"wrote {escape(str(path))}")
        # the result must be out (stdout on a full disk fails only when flushed) before the
        # answers it came from are deleted
        _flush_stdout(progress_path)
    if progress_path is not None:
        progress_path.unlink(missing_ok=True)
    raise typer.Exit(1 if result.problems else 0)


# ---- options ----------------------------------------------------------------------------------


def _check_date(date: str | None) -> str:
    if date is None:
        return _dt.date.today().isoformat()
    try:
        return _dt.date.fromisoformat(date).isoformat()
    except ValueError:
        raise UsageError(f"--date {date!r} is not a date like 2026-01-31") from None


def _check_sex(sex: str | None) -> str | None:
    if sex is None:
        return None
    value = sex.strip().lower()
    aliases = {"m": "male", "male": "male", "f": "female", "female": "female"}
    if value not in aliases:
        raise UsageError(f"--sex {sex!r}: choose male or female (the norm groups' categories)")
    return aliases[value]


def _options_used(refs, map_file, previous, answers) -> dict[str, Any]:
    """The options recorded in the report's provenance (file names only, never their content)."""
    return {
        "instruments": list(refs),
        "answers": None if answers is None else Path(answers).name,
        "map": None if map_file is None else Path(map_file).name,
        "previous": [Path(p).name for p in previous],
    }


def _check_report_target(path: Path, suffixes: tuple[str, ...], what: str, force: bool) -> None:
    """One report file: the right extension, not an existing file unless --force, a folder."""
    if path.suffix.lower() not in suffixes:
        raise UsageError(f"{path}: {what} needs a {suffixes[0]} name")
    if path.exists() and not force:
        raise UsageError(f"{path}: already exists; use --force to replace it")
    if not path.parent.exists():
        raise UsageError(f"{path.parent}: output folder does not exist")


def _check_html(path: Path, force: bool) -> None:
    _check_report_target(path, (".html", ".htm"), "the HTML report", force)


def _check_paper(paper: str | None) -> str | None:
    """CSS page size for --paper, or None (PDF: A4; HTML: the printer's paper)."""
    if paper is None:
        return None
    sizes = {"a4": "A4", "letter": "letter"}
    if paper.strip().lower() not in sizes:
        raise UsageError(f"--paper {paper!r}: choose a4 or letter")
    return sizes[paper.strip().lower()]


def _check_pdf(path: Path, force: bool) -> None:
    _check_report_target(path, (".pdf",), "the PDF report", force)
    from ..report.browser import require_browser

    require_browser()


def _check_fhir(path: Path, force: bool) -> None:
    _check_report_target(path, (".json",), "the FHIR Bundle", force)
    from ..exchange.fhir import require_fhir

    require_fhir()


def _plan_reports(
    html: Path | None,
    pdf: Path | None,
    inputs: list,
    progress: Path | None,
    force: bool,
    fhir: Path | None = None,
) -> None:
    """Every output checked together, as `psyscore score` checks its outputs: distinct, never an
    input (the answers, a --previous, the progress file), in a folder where files can be made."""
    import os

    from ..io import plan_outputs

    targets = [p for p in (html, pdf, fhir) if p is not None]
    if not targets:
        return
    if progress is not None:  # written from the first answer on, so it may not exist yet
        same = [
            t
            for t in targets
            if os.path.normcase(t.resolve()) == os.path.normcase(progress.resolve())
        ]
        if same:
            raise UsageError(
                f"{same[0]}: named twice as an output (also as --save-progress); give each "
                "its own file"
            )
    plan_outputs(
        targets,
        inputs=[p for p in inputs if p is not None],
        force=force,
        suffixes={".html", ".htm", ".pdf", ".json"},
    )


def _write_reports(
    result,
    html: Path | None,
    pdf: Path | None,
    page_size: str | None,
    fhir: Path | None = None,
    instruments=(),
) -> None:
    """Write the FHIR Bundle (validated first), --pdf (the slow, fallible part), then --html,
    staged: all are renamed into place together at the end, so a failure leaves none behind and
    an earlier file untouched."""
    from ..io import atomic_write, staged_writes
    from ..report import browser, intake_html

    with staged_writes():
        if fhir is not None:
            from ..exchange.fhir import intake_bundle_json

            text = intake_bundle_json(result, instruments)
            try:
                atomic_write(fhir, lambda tmp: tmp.write_text(text, encoding="utf-8"))
            except OSError as exc:
                raise UsageError(f"{fhir}: could not write: {exc.strerror or exc}") from None
        if pdf is not None:
            page = intake_html.render_html(result, page_size=page_size or "A4")
            browser_temp = tempfile.tempdir

            def print_pdf(tmp: Path) -> None:
                # atomic_write points temporaries beside the target; the browser's page and
                # profile belong in its own private temp folder, not in the output folder
                beside, tempfile.tempdir = tempfile.tempdir, browser_temp
                try:
                    browser.html_to_pdf(page, tmp)
                finally:
                    tempfile.tempdir = beside

            try:
                atomic_write(pdf, print_pdf)
            except browser.BrowserError as exc:
                raise UsageError(f"{pdf}: could not write the PDF: {exc}") from None
            except OSError as exc:
                raise UsageError(f"{pdf}: could not write: {exc.strerror or exc}") from None
        if html is not None:
            try:
                intake_html.write_html(result, html, page_size=page_size)
            except OSError as exc:
                raise UsageError(f"{html}: could not write: {exc.strerror or exc}") from None


def _flush_stdout(progress_path: Path | None) -> None:
    try:
        sys.stdout.flush()
    except OSError as exc:
        kept = f"; the answers are kept in {progress_path}" if progress_path is not None else ""
        raise UsageError(f"could not write the result: {exc.strerror or exc}{kept}") from None


def _alerts_of_wellformed(instruments, answers: dict[str, Any], mapping) -> None:
    """Print the critical alerts of the well-formed answers of a file that is refused."""
    from ..intake import score_form
    from ..report.intake_terminal import print_alerts

    try:
        result = score_form(instruments, answers, mapping=mapping.items, recodes=mapping.recodes)
    except Exception:  # the refusal that follows is the message; nothing to add here
        return
    endorsed = [
        inst for inst in result.instruments if any(a.kind == "endorsed" for a in inst.alerts)
    ]
    if endorsed:
        for inst in result.instruments:
            inst.alerts = [a for a in inst.alerts if a.kind == "endorsed"]
        print_alerts(err, result)


@contextlib.contextmanager
def _alerts_survive(result) -> Iterator[Any]:
    """Print `result`'s critical alerts on stderr if anything fails before they were shown.

    Yields a callable to call once the alerts have been printed. An error after scoring (a PDF
    that cannot be written, a bad --previous, a bug) must never hide an alert: the clinician sees
    it before the error message (or the traceback).
    """
    shown = False

    def mark_shown() -> None:
        nonlocal shown
        shown = True

    try:
        yield mark_shown
    except BaseException as exc:
        if isinstance(exc, typer.Exit) and exc.exit_code == 0:
            raise
        if not shown:
            from ..report.intake_terminal import print_alerts

            print_alerts(err, result)
        raise


def _check_bundle(ref: str) -> None:
    from ..library import load

    if not isinstance(load(ref), Bundle):
        raise UsageError(f"{ref!r} is an instrument, not a bundle: use --instrument {ref}")


def _load_mapping(path: Path, what: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None
    from ..yamlsafe import YamlProblem, load_yaml

    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        # bounded alias expansion and duplicate keys refused, as for definitions and --map files
        return load_yaml(text)[0]
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not valid {what}: {exc}") from None
    except YamlProblem as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        raise UsageError(f"{where}: not valid {what}: {exc.message}") from None


def _read_previous(path: Path) -> dict[str, Any]:
    from ..intake import check_previous

    data = _load_mapping(path, "JSON")
    if not isinstance(data, dict) or "psyscore_intake" not in data:
        raise UsageError(f"{path}: not the JSON of `psyscore intake --json`")
    check_previous(data, source=str(path))
    return data


def _saved_result(path: Path) -> dict[str, Any] | None:
    """The JSON of `psyscore intake --json` given as --answers (to re-score it), else None."""
    if path.suffix.lower() not in {".json", ".yaml", ".yml"} or not path.is_file():
        return None  # a missing file is reported where the answers are read
    data = _load_mapping(path, "JSON" if path.suffix.lower() == ".json" else "YAML")
    if not isinstance(data, dict) or "psyscore_intake" not in data:
        return None
    from ..intake import check_previous

    check_previous(data, source=str(path))
    return data


def _check_same_instruments(path: Path, saved: dict[str, Any], instruments) -> None:
    in_file = [inst["id"] for inst in saved["instruments"]]
    asked = [inst.id for inst in instruments]
    if sorted(in_file) != sorted(asked):
        raise UsageError(
            f"{path}: this result holds {', '.join(in_file)}, not {', '.join(asked)}; "
            "name the same instruments, or leave out --instrument/--bundle to take them from it"
        )
    from ..instrument import definition_hash

    hashes = {inst["id"]: inst.get("definition_sha256") for inst in saved["instruments"]}
    for inst in instruments:
        if hashes.get(inst.id) not in (None, definition_hash(inst)):
            warn(
                f"{path}: {inst.id} was scored with another version of its definition; its "
                "answered codes are scored again with the definition used now"
            )


def _answers_of_result(path: Path, saved: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each instrument's answered codes, grouped by instrument; a blank item stays blank.

    Any other missing reason is refused: the result does not keep what was given, and an
    invalid answer must never come back as a missing one (that would change the score silently).
    """
    grouped: dict[str, dict[str, Any]] = {}
    for i, inst in enumerate(saved["instruments"]):
        answered = inst.get("answered")
        if not isinstance(answered, dict):
            raise UsageError(f"{path}: instruments[{i}].answered: must map item id to its answer")
        codes: dict[str, Any] = {}
        for item, given in answered.items():
            where = f"{path}: instruments[{i}].answered.{item}"
            if not isinstance(given, dict):
                raise UsageError(f"{where}: must be {{code, anchor}} or {{missing: reason}}")
            if "code" in given and given["code"] is not None:
                code = given["code"]
                if isinstance(code, bool) or not isinstance(code, int | float):
                    raise UsageError(f"{where}: code {code!r} is not a number")
                codes[str(item)] = int(code) if float(code).is_integer() else code
            elif given.get("missing") == "blank":
                codes[str(item)] = None
            else:
                raise UsageError(
                    f"{where}: not scored ({given.get('missing', 'no code')}); the result does "
                    "not keep the answer given: enter it in a YAML answers file instead"
                )
        grouped[str(inst["id"])] = codes
    return grouped


def _check_previous_client(path: Path, previous: dict[str, Any], client_id: str | None) -> None:
    earlier = previous.get("client_id")
    if client_id and earlier and earlier != client_id:
        raise UsageError(f"{path}: --previous is for client {earlier!r}, not {client_id!r}")


def _read_progress(path: Path) -> dict[str, Any]:
    data = _load_mapping(path, "JSON")
    if not isinstance(data, dict) or data.get("psyscore_intake_progress") != PROGRESS_FORMAT:
        raise UsageError(f"{path}: not a psyscore intake progress file")

    def fail(field: str, what: str) -> None:
        raise UsageError(f"{path}: {field}: {what} (is it a psyscore intake progress file?)")

    for key in ("client_id", "date"):
        if not isinstance(data.get(key), str | None):
            fail(key, "must be text or null")
    refs = data.get("instruments")
    if refs is not None and not (isinstance(refs, list) and all(isinstance(r, str) for r in refs)):
        fail("instruments", "must be a list of instrument ids")
    position = data.get("position", 0)
    if isinstance(position, bool) or not isinstance(position, int) or position < 0:
        fail("position", "must be a whole number of items, 0 or more")
    answers = data.get("answers", {})
    if not isinstance(answers, dict) or not all(isinstance(a, dict) for a in answers.values()):
        fail("answers", "must map each instrument id to its answers")
    for inst_id, given in answers.items():
        for item, value in given.items():
            if not isinstance(value, SCALAR):
                fail(f"answers.{inst_id}.{item}", "an answer is one value (the code or the text)")
    return data


def _default_progress(client_id: str | None) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", client_id or "anonymous")
    return Path(f".psyscore-intake-{safe}.json")


SCALAR = (str, int, float, bool, type(None))


class MalformedAnswers(UsageError):
    """An answers file with values that are not one answer each (exit 2).

    `wellformed` holds the other answers, so that the critical alerts they raise can still be
    printed before the error: a malformed item 3 must not hide an endorsed item 9.
    """

    def __init__(self, message: str, wellformed: dict[str, Any]):
        super().__init__(message)
        self.wellformed = wellformed


def _flat_answers(path: Path, data: dict) -> dict[str, Any]:
    """'item: answer' lines, optionally grouped by instrument; anything else is a usage error."""
    flat: dict[str, Any] = {}
    wrong: list[str] = []
    for key, value in data.items():
        group = value if isinstance(value, dict) else {key: value}  # grouped by instrument
        for item, answer in group.items():
            field = f"{key}.{item}" if group is value else str(key)
            if isinstance(answer, SCALAR):
                flat[str(item)] = answer
            else:
                kind = "a list" if isinstance(answer, list) else f"a {type(answer).__name__}"
                wrong.append(f"{field} is {kind}")
    if wrong:
        raise MalformedAnswers(
            f"{path}: {'; '.join(wrong[:8])}: an answer is one value (the code or the answer "
            "text); leave it empty (null) for an unanswered item",
            flat,
        )
    return flat


def _warn_if_not_a_response(path: Path, survey) -> None:
    """A Qualtrics preview, test or spam row is scored as asked (its alerts still show), but said."""
    excluded = survey.exclusions
    if excluded.reasons is not None and excluded.reasons[0] is not None:
        warn(
            f"{path}: this row is a {excluded.reasons[0]} (by the {excluded.column} column of the "
            "Qualtrics export), not a respondent's answers; `psyscore score` leaves such rows out"
        )


def _read_answers(path: Path, instruments: list[Instrument], mapping) -> Any:
    """The --answers file as a one-row Survey, read as `psyscore score` reads its data (the same
    readers, value labels, user-missing codes and --map `ColumnMap`)."""
    from ..io import Table, read_table
    from ..survey import Survey

    suffix = path.suffix.lower()
    if suffix in {".yaml", ".yml", ".json"}:
        data = _load_mapping(path, "YAML" if suffix != ".json" else "JSON")
        if isinstance(data, dict) and data.get("psyscore_intake_progress"):
            data = data.get("answers", {})
        if isinstance(data, dict) and "psyscore_intake" in data:
            data = _answers_of_result(path, data)
        if not isinstance(data, dict):
            raise UsageError(f"{path}: answers are a mapping 'item id: answer', e.g. 'phq9_1: 2'")
        from ..intake import answers_frame

        flat = _flat_answers(path, data)
        columns = list(flat)
        form = Survey.from_table(Table(answers_frame(flat)), path=path, map=mapping)
    else:
        form = Survey.from_table(read_table(path), path=path, map=mapping)
        if form.rows != 1:
            raise UsageError(
                f"{path}: an intake form is one row; this file has {form.rows} rows "
                "(use `psyscore score` for a batch)"
            )
        columns = [str(c) for c in form.data.columns]
        _warn_if_not_a_response(path, form)
    from ..intake import matched_items

    used: set[str] = set()
    for inst in instruments:
        found = matched_items(inst, columns, mapping.items)
        if not found:
            raise UsageError(
                f"{path}: no answer matches an item of {inst.id} (expected names like "
                f"{', '.join(inst.item_ids[:3])}; or map yours with --map)"
            )
        used.update(found.values())
    if suffix in {".yaml", ".yml", ".json"}:
        unknown = [c for c in columns if c not in used]
        if unknown:
            raise UsageError(
                f"{path}: {', '.join(unknown[:8])} {'is' if len(unknown) == 1 else 'are'} not an "
                "item of the instruments asked for"
            )
    return form


# ---- interactive ------------------------------------------------------------------------------


def _save(path: Path, state: dict[str, Any]) -> None:
    from ..io import atomic_write

    text = json.dumps(state, indent=1, ensure_ascii=False)
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _shown(value: Any, inst: Instrument, item) -> str:
    if value is None:
        return "skipped"
    for code, label in inst.scale_of(item).values.items():
        if isinstance(value, int | float) and float(code) == float(value):
            return f"{code:g} = {label}" if isinstance(code, float) else f"{code} = {label}"
    return f"{value} (missing)"


class _Interrupted(Exception):
    """Ctrl-C or the end of input while a form is being asked."""


def _prompt(to_err: bool) -> str:
    """One typed answer. The end of input (Ctrl-D, a closed pipe) is an interruption, never an
    empty answer: read as "", it used to re-ask the same item forever."""
    stream = sys.stderr if to_err else sys.stdout
    stream.write("answer: ")
    stream.flush()
    try:
        line = sys.stdin.readline()
    except KeyboardInterrupt:
        raise _Interrupted from None
    if not line:
        raise _Interrupted
    return line.strip()


def _ask(instruments, state, path: Path, ui, to_err: bool) -> dict[str, Any]:
    from ..intake import check_answer

    sequence = [(inst, item) for inst in instruments for item in inst.items]
    answers: dict[str, dict[str, Any]] = state.setdefault("answers", {})
    pos = int(state.get("position", 0))
    if pos >= len(sequence):
        ui.print(f"Resuming at the review screen (answers from {path}).")
    elif pos:
        ui.print(f"Resuming at item {pos + 1} of {len(sequence)} (answers from {path}).")
    ui.print(
        f"Answers are saved after every item to {path}. Type the number or the answer text; "
        "s = skip, b = back (Enter keeps the answer shown), g N = go to item N "
        f"(1-{len(sequence)}), r = review."
    )
    back_to_review = False  # an answer changed from the review screen returns to it
    try:
        while True:
            if pos >= len(sequence):
                unasked = _first_unasked(sequence, answers)
                if unasked is None:
                    state["position"] = len(sequence)
                    _save(path, state)  # --resume comes back to the review screen
                    change = _review_before_scoring(ui, sequence, answers, to_err)
                    if change is None:
                        break
                    pos, back_to_review = change, True
                    continue
                pos = unasked
                ui.print(f"item {pos + 1} was not asked yet (g jumped over it)")
            inst, item = sequence[pos]
            given = answers.get(inst.id, {})
            number = inst.items.index(item) + 1
            ui.print()
            frame = f" (in the {inst.timeframe})" if inst.timeframe else ""
            ui.print(
                f"[bold]{escape(inst.id.upper())} item {number} of {len(inst.items)}[/]{escape(frame)}: "
                f"{escape(item.text or item.label)}"
            )
            for code, label in inst.scale_of(item).values.items():
                ui.print(
                    f"  {code:g}  {escape(label)}"
                    if isinstance(code, float)
                    else f"  {code}  {escape(label)}"
                )
            if item.id in given:
                ui.print(f"  current answer: {escape(_shown(given[item.id], inst, item))}")
            raw = _prompt(to_err)
            low = raw.lower()
            if low == "b":
                if pos == 0:
                    ui.print("already at the first item")
                pos = max(pos - 1, 0)
                back_to_review = False
            elif low == "r":
                _review(ui, sequence, answers)
            elif low == "g" or low.startswith("g "):
                target = _go_to(low[1:].strip(), len(sequence))
                if target is None:
                    ui.print(f"g N goes to item N: give a number from 1 to {len(sequence)}")
                else:
                    pos, back_to_review = target, False
            elif low == "s":
                answers.setdefault(inst.id, {})[item.id] = None
                pos = len(sequence) if back_to_review else pos + 1
            elif not raw and item.id in given:
                # Enter keeps the answer shown (after b, g, the review or --resume)
                pos = len(sequence) if back_to_review else pos + 1
            elif not raw:
                ui.print("no answer typed: give one of the values above, or s to skip")
            else:
                kind, value = check_answer(inst, item, raw)
                if kind == "invalid":
                    ui.print(
                        f"[red]{escape(raw)!s} is not an answer here.[/] Allowed: {escape(value)}; "
                        "or s = skip, b = back, r = review"
                    )
                    continue
                answers.setdefault(inst.id, {})[item.id] = value
                if kind == "answer" and item.critical is not None:
                    op, threshold = item.critical.op_and_value
                    if op(float(value), threshold):
                        ui.print(
                            f"[bold white on red] CRITICAL: {escape(item.critical.message)} [/]"
                        )
                pos = len(sequence) if back_to_review else pos + 1
            state["position"] = pos
            _save(path, state)
    except (_Interrupted, KeyboardInterrupt):
        state["position"] = pos
        _save(path, state)
        err.print(
            f"\n[bold]interrupted:[/] answers so far are saved in {path}; continue with "
            f"`psyscore intake --resume {path}`"
        )
        raise typer.Exit(130) from None
    return {item_id: v for inst_answers in answers.values() for item_id, v in inst_answers.items()}


def _go_to(number: str, count: int) -> int | None:
    """The 0-based position of `g N` (N counted 1-based over the whole form), None if not one."""
    if not number.isdigit() or not 1 <= int(number) <= count:
        return None
    return int(number) - 1


def _first_unasked(sequence, answers) -> int | None:
    """The first item never answered nor skipped: a `g` past it must not leave it out unseen."""
    for i, (inst, item) in enumerate(sequence):
        if item.id not in answers.get(inst.id, {}):
            return i
    return None


def _review_before_scoring(ui, sequence, answers, to_err: bool) -> int | None:
    """Every answer on one screen before scoring: None to score them, or the item to change.

    Enter scores; `N` or `g N` changes item N (then the screen comes back). The end of input is
    an interruption here as everywhere (the answers stay in the progress file), never a yes.
    """
    while True:
        ui.print()
        _review(ui, sequence, answers, title="Review before scoring: every answer")
        ui.print(f"Enter = score these answers; N (or g N) = change item N (1-{len(sequence)})")
        raw = _prompt(to_err).lower()
        if not raw:
            return None
        target = _go_to(raw.removeprefix("g").strip(), len(sequence))
        if target is not None:
            return target
        ui.print(
            f"{escape(raw)} is not an item number: give 1 to {len(sequence)}, or Enter to score"
        )


def _review(ui, sequence, answers, title: str = "Answers so far") -> None:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for col in ("#", "item", "label", "answer"):
        table.add_column(col)
    rows = 0
    for i, (inst, item) in enumerate(sequence):
        given = answers.get(inst.id, {})
        if item.id not in given:
            continue
        rows += 1
        shown = escape(_shown(given[item.id], inst, item))
        table.add_row(str(i + 1), item.id, escape(item.label), shown)
    if not rows:
        ui.print("no answers yet")
    else:
        ui.print(table)
