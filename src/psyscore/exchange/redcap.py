"""REDCap data dictionaries: export a definition, and draft a definition from a dictionary.

Export writes one form per instrument: a radio field per item (the scale's codes and anchors) and a
calc field per score that scores as psyscore does, with the definition's reverse keys and missing
rule, counting an item as unanswered when it is blank or holds one of the project's Missing Data
Codes (`isblankormissingcode`). A REDCap radio field cannot hold an answer outside its choices, so
the engine's "invalid answer" case does not arise there.

Item labels are psyscore's paraphrases (psyscore never ships licensed wording unless the licence
allows it): the field note says the licensed wording must be entered.

Import drafts a definition from a dictionary's radio, dropdown, yes/no and true/false fields, with
an unverified key and no scores: the user completes them (a guessed score would be a silent wrong
number).
"""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

import yaml

from ..columns import score_column
from ..errors import DataError, DefinitionError, UsageError
from ..instrument import Instrument, Item, ResponseScale, parse_definition

HEADER = [
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
]
FIELD, FORM, SECTION, TYPE, LABEL, CHOICES, NOTE = HEADER[:7]
ANNOTATION = HEADER[-1]
RECORD_ID = "record_id"
# REDCap: lower-case letters, digits and underscores, starting with a letter, at most 100 characters
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
_MAX_FIELD_NAME = 100


class RedcapExportError(UsageError):
    """The definition uses something a REDCap dictionary cannot express the same way."""


# ---- export ---------------------------------------------------------------------------------


def redcap_name(text: str) -> str:
    """A REDCap variable or form name for a psyscore id: lower case, `_` for anything else."""
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9_]", "_", text.lower())).strip("_")


def _number(value: float) -> str:
    """A code or constant as REDCap reads it: integers without a decimal point."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def _claim(names: dict[str, str], name: str, what: str) -> str:
    if not _FIELD_NAME.match(name):
        raise RedcapExportError(
            f"{what}: {name!r} is not a REDCap variable name (lower-case letters, digits and '_', "
            f"starting with a letter, at most {_MAX_FIELD_NAME} characters); rename it in the "
            "definition"
        )
    if name in names:
        raise RedcapExportError(
            f"{what} and {names[name]} would both be the REDCap field {name!r} (REDCap names are "
            "lower case with '_' for '-' and '.'); rename one in the definition"
        )
    names[name] = what
    return name


def _choices(inst: Instrument, item: Item) -> str:
    scale = inst.scale_of(item)
    parts = []
    for code, label in scale.values.items():
        if not float(code).is_integer():
            raise RedcapExportError(
                f"item {item.id}: code {code} of scale {item.scale!r} is not a whole number; "
                "REDCap choice codes used in calculations must be whole numbers"
            )
        if "|" in label or "\n" in label:
            raise RedcapExportError(
                f"item {item.id}: anchor {label!r} contains '|' or a line break, which separate "
                "REDCap choices; change the anchor in the definition"
            )
        parts.append(f"{_number(code)}, {label.strip()}")
    return " | ".join(parts)


def _blank(field: str) -> str:
    return f"isblankormissingcode([{field}])"


def _keyed(inst: Instrument, item: Item, field: str, reversed_: bool) -> str:
    """The item's keyed value, 0 when unanswered (so it adds nothing to the sum)."""
    if reversed_:
        scale = inst.scale_of(item)
        value = f"({_number(scale.min + scale.max)}-[{field}])"
    else:
        value = f"[{field}]"
    return f"if({_blank(field)},0,{value})"


def _rounded(value: str, decimals: int | None) -> str:
    """Round half up exactly as psyscore does (`norms.round_half_up`, for values >= 0).

    floor(x * 10^d + 0.5 + 1e-9) / 10^d, the same operations in the same order, so REDCap and
    psyscore agree even where x sits a hair below a half from float error (2.675).
    """
    if decimals is None:
        return value
    factor = _number(10.0**decimals)
    return f"(rounddown({value}*{factor}+0.5+0.000000001,0)/{factor})"


def calc_expression(
    inst: Instrument, name: str, item_fields: dict[str, str], score_fields: dict[str, str]
) -> str:
    """REDCap calc expression of score `name`, given the REDCap fields of items and scores."""
    score = inst.scores[name]
    if score.rounding is not None and inst.score_range(name)[0] < 0:
        raise RedcapExportError(
            f"score {name!r} rounds values that can be negative; REDCap's rounding of negative "
            "halves differs between its browser and server calculations, so psyscore does not "
            "export it"
        )
    if score.items is None:
        members = [score_fields[m] for m in score.scores or []]
        total = "(" + "+".join(f"[{m}]" for m in members) + ")"
        value = f"{total}/{len(members)}" if score.method == "mean" else total
        any_blank = " or ".join(_blank(m) for m in members)
        return f'if({any_blank},"",{_rounded(value, score.rounding)})'
    by_id = {item.id: item for item in inst.items}
    items = [by_id[i] for i in score.items]
    k, needed = len(items), score.missing.needed(len(items))
    answered = "sum(" + ",".join(f"if({_blank(item_fields[i.id])},0,1)" for i in items) + ")"
    total = (
        "sum("
        + ",".join(_keyed(inst, i, item_fields[i.id], score.is_reversed(i)) for i in items)
        + ")"
    )
    if score.method == "mean":
        value = f"{total}/{answered}"
    elif score.method == "prorated_sum":
        value = f"{total}/{answered}*{k}"
    else:
        value = total
    return f'if({answered}>={needed},{_rounded(value, score.rounding)},"")'


def _describe_score(inst: Instrument, name: str) -> str:
    score = inst.scores[name]
    if score.items is None:
        how = f"{score.method} of scores {', '.join(score.scores or [])}; blank if any is blank"
    else:
        k = len(score.items)
        needed = score.missing.needed(k)
        how = f"{score.method.replace('_', ' ')} of {k} items, needs {needed} answered"
        reversed_ = inst.reversed_items(name)
        if reversed_:
            how += f"; reverse-keyed: {', '.join(reversed_)}"
    if score.rounding is not None:
        how += f"; rounded half up to {score.rounding} decimals"
    return f"psyscore {inst.id} {name}: {how}"


def _item_annotation(inst: Instrument, item: Item) -> str:
    notes = []
    missing = inst.missing_codes_for(item)
    if missing:
        listed = ", ".join(f"{code} = {why}" for code, why in missing.items())
        notes.append(
            f"declared missing codes ({listed}): add them as project Missing Data Codes, "
            "not as choices"
        )
    using = [n for n, spec in inst.scores.items() if item.id in (spec.items or [])]
    reversing = [n for n in using if inst.scores[n].is_reversed(item)]
    if reversing:
        scale = inst.scale_of(item)
        where = "scores" if len(reversing) == len(using) else "scores " + ", ".join(reversing)
        notes.append(f"reverse-keyed in {where} ({_number(scale.min + scale.max)} - answer)")
    if item.critical is not None:
        notes.append(f"critical item: answer {item.critical.when}: {item.critical.message}")
    return "; ".join(f"psyscore: {n}" for n in notes)


def _row(**cells: str) -> dict[str, str]:
    row = dict.fromkeys(HEADER, "")
    row.update(cells)
    return row


def redcap_dictionary(instruments: list[Instrument]) -> list[dict[str, str]]:
    """Data dictionary rows (dicts keyed by `HEADER`): a record id, then one form per instrument.

    REDCap takes the first field of the first form as the record identifier, so a `record_id`
    text field comes first; delete that row when adding the forms to a project that has one.
    """
    if not instruments:
        raise UsageError("nothing to export: no instrument given")
    names: dict[str, str] = {RECORD_ID: "the record id field"}
    forms: dict[str, str] = {}
    rows: list[dict[str, str]] = []
    for inst in instruments:
        form = redcap_name(inst.id)
        if not form or not form[0].isalpha():
            raise RedcapExportError(
                f"{inst.id}: {form!r} is not a REDCap form name; the id must start with a letter"
            )
        if form in forms:
            raise RedcapExportError(
                f"{inst.id} and {forms[form]} would both be the REDCap form {form!r}"
            )
        forms[form] = inst.id
        if not rows:
            rows.append(_row(**{FIELD: RECORD_ID, FORM: form, TYPE: "text", LABEL: "Record ID"}))
        rows += _form_rows(inst, form, names)
    return rows


def _form_rows(inst: Instrument, form: str, names: dict[str, str]) -> list[dict[str, str]]:
    fields: dict[str, str] = {}
    score_fields: dict[str, str] = {}
    rows = []
    verbatim = inst.licence.item_text_shipped
    header = inst.name + (f" (time frame: {inst.timeframe})" if inst.timeframe else "")
    for n, item in enumerate(inst.items):
        field = _claim(names, redcap_name(item.id), f"{inst.id} item {item.id}")
        fields[item.id] = field
        if verbatim and item.text:
            label, note = item.text, ""
        else:
            label = item.label
            note = (
                "Enter the licensed item wording here: psyscore ships a paraphrase only "
                f"(licence: {inst.licence.status})."
            )
        rows.append(
            _row(
                **{
                    FIELD: field,
                    FORM: form,
                    SECTION: header if n == 0 else "",
                    TYPE: "radio",
                    LABEL: label,
                    CHOICES: _choices(inst, item),
                    NOTE: note,
                    ANNOTATION: _item_annotation(inst, item),
                }
            )
        )
    for name, score in inst.scores.items():
        field = _claim(names, redcap_name(score_column(inst, name)), f"{inst.id} score {name}")
        expression = calc_expression(inst, name, fields, score_fields)
        score_fields[name] = field
        rows.append(
            _row(
                **{
                    FIELD: field,
                    FORM: form,
                    TYPE: "calc",
                    LABEL: score.label,
                    CHOICES: expression,
                    NOTE: _describe_score(inst, name),
                }
            )
        )
    return rows


def dictionary_csv(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(
        buffer, fieldnames=HEADER, quoting=csv.QUOTE_MINIMAL, lineterminator="\n"
    )
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_redcap(instruments: list[Instrument]) -> str:
    """The data dictionary as CSV text (UTF-8 when written), as REDCap's upload expects."""
    return dictionary_csv(redcap_dictionary(instruments))


# ---- import ---------------------------------------------------------------------------------

_REQUIRED_COLUMNS = [FIELD, FORM, TYPE, LABEL, CHOICES]
_FIXED_SCALES = {
    "yesno": {0: "No", 1: "Yes"},
    "truefalse": {0: "False", 1: "True"},
}
_CHOICE_TYPES = {"radio", "dropdown"}
_TAG = re.compile(r"<[^>]+>")


def read_redcap_dictionary(path: str | Path) -> list[tuple[int, dict[str, str]]]:
    """Rows of a REDCap data dictionary CSV with their line numbers; refuse a malformed file."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a folder, not a data dictionary") from None
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: not UTF-8 text (byte {exc.start}); download the data dictionary from REDCap "
            "again, or save it as CSV UTF-8"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise DataError(f"{path}: empty file, not a REDCap data dictionary") from None
    except csv.Error as exc:
        raise DataError(f"{path}: line 1: not CSV ({exc})") from None
    header = [h.strip() for h in header]
    absent = [c for c in _REQUIRED_COLUMNS if c not in header]
    if absent:
        raise DataError(
            f"{path}: not a REDCap data dictionary: the header lacks "
            + ", ".join(repr(c) for c in absent)
            + f" (found {', '.join(repr(h) for h in header[:6])}...)"
        )
    rows = []
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise DataError(
                    f"{path}: line {line}: {len(cells)} cells where the header has "
                    f"{len(header)}; the file is cut or has a stray delimiter"
                )
            rows.append((line, dict(zip(header, cells, strict=True))))
    except csv.Error as exc:
        raise DataError(f"{path}: line {reader.line_num}: not valid CSV ({exc})") from None
    if not rows:
        raise DataError(f"{path}: the data dictionary has a header but no fields")
    return rows


def _parse_code(text: str, where: str) -> int | float:
    try:
        number = float(text)
    except ValueError:
        raise DataError(
            f"{where}: choice code {text!r} is not a number; psyscore scores numeric codes "
            "(recode the field in REDCap, or edit the dictionary)"
        ) from None
    if not math.isfinite(number):
        raise DataError(f"{where}: choice code {text!r} is not a finite number")
    return int(number) if number.is_integer() and re.fullmatch(r"-?\d+", text) else number


def parse_choices(text: str, where: str) -> dict[int | float, str]:
    """REDCap choices `0, Not at all | 1, Several days` as {code: label}."""
    choices: dict[int | float, str] = {}
    for part in text.split("|"):
        if not part.strip():
            continue
        code, sep, label = part.partition(",")
        if not sep:
            raise DataError(f"{where}: choice {part.strip()!r} has no 'code, label' comma")
        value = _parse_code(code.strip(), where)
        if value in choices:
            raise DataError(f"{where}: choice code {code.strip()} is listed twice")
        choices[value] = _TAG.sub("", label).strip()
    if len(choices) < 2:
        raise DataError(f"{where}: fewer than two choices in {text!r}")
    return choices


def draft_from_redcap(
    rows: list[tuple[int, dict[str, str]]], source: str, form: str | None = None
) -> tuple[str, Instrument]:
    """A draft definition (YAML text, and the loaded model) from dictionary rows of one form.

    Items come from radio, dropdown, yes/no and true/false fields; other fields are listed in the
    notes (calc fields with their expressions, to help write the scores). The key is unverified
    and there are no scores: the user completes them.
    """
    forms = list(dict.fromkeys(r[FORM].strip() for _, r in rows))
    if form is None:
        if len(forms) > 1:
            raise UsageError(
                f"{source}: the dictionary has {len(forms)} forms ({', '.join(forms)}); choose one "
                "with --form"
            )
        form = forms[0]
    elif form not in forms:
        raise UsageError(f"{source}: no form {form!r}; its forms: {', '.join(forms)}")
    first_field = rows[0][1][FIELD].strip()
    scales: dict[tuple, str] = {}
    items: list[dict] = []
    skipped: list[str] = []
    for line, row in rows:
        if row[FORM].strip() != form:
            continue
        field, kind = row[FIELD].strip(), row[TYPE].strip().lower()
        where = f"{source}: line {line}, field {field}"
        if field == first_field and kind == "text":
            continue  # REDCap's record identifier, not an item
        if kind in _CHOICE_TYPES:
            choices = parse_choices(row[CHOICES], where)
        elif kind in _FIXED_SCALES:
            choices = dict(_FIXED_SCALES[kind])
        else:
            extra = f": {row[CHOICES].strip()}" if kind == "calc" else ""
            skipped.append(f"{field} ({kind}){extra}")
            continue
        key = tuple(choices.items())
        scale = scales.setdefault(key, f"scale_{len(scales) + 1}")
        label = _TAG.sub("", row[LABEL]).strip() or field
        items.append({"id": field, "label": label, "scale": scale})
    if not items:
        raise DataError(
            f"{source}: form {form!r} has no radio, dropdown, yes/no or true/false fields to draft "
            "items from"
        )
    draft = _draft_document(source, form, items, scales, skipped)
    text = _draft_yaml(draft, source, form)
    try:
        loaded = parse_definition(text, f"draft from {source}")
    except DefinitionError as exc:
        raise DataError(
            f"{source}: form {form!r} gives a definition that does not load, fix the dictionary "
            f"(or write the definition by hand):\n{exc}"
        ) from None
    assert isinstance(loaded, Instrument)
    return text, loaded


def _draft_document(
    source: str, form: str, items: list[dict], scales: dict[tuple, str], skipped: list[str]
) -> dict:
    notes = [
        f"Drafted by psyscore from the REDCap data dictionary {Path(source).name}, form {form}.",
        "Labels are the REDCap field labels: if they are the licensed item wording, replace them "
        "with short paraphrases before sharing this definition.",
    ]
    if skipped:
        notes.append("Fields not drafted as items: " + "; ".join(skipped))
    return {
        "id": form,
        "name": form.replace("_", " "),
        "construct": "other",
        "citation": "to be completed: the publication that defines the instrument",
        "licence": {
            "status": "permission-required",
            "item_text_shipped": False,
            "note": "to be completed: who owns the instrument and what may be shipped",
        },
        "key": {
            "source": f"REDCap data dictionary {Path(source).name}, form {form}",
            "verified": False,
            "uncertain": [
                "scores to be completed",
                "reverse-keyed items to be marked",
                "missing-data rule to be set",
            ],
        },
        "response_scales": {name: {"values": dict(choices)} for choices, name in scales.items()},
        "items": items,
        "scores": {},
        "notes": "\n".join(notes),
    }


def _draft_yaml(draft: dict, source: str, form: str) -> str:
    body = yaml.safe_dump(draft, sort_keys=False, allow_unicode=True, width=100)
    return (
        f"# DRAFT definition from REDCap form {form} ({Path(source).name}).\n"
        "# To complete before scoring: scores (items, method, missing rule), reverse keys,\n"
        "# citation and licence; then set key.verified: true only once checked against the\n"
        "# published key, add golden examples, and run `psyscore instruments validate` on it.\n"
        + body
    )


def scale_choices(scale: ResponseScale) -> dict[float, str]:
    """{code: anchor} of a scale, codes as floats, for comparing with parsed choices."""
    return {float(code): label for code, label in scale.values.items()}
