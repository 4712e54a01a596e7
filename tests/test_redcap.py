"""REDCap data dictionaries: the calc fields score as psyscore does, and dictionaries round-trip.

The calc expressions are checked by evaluating them here with a small interpreter of the REDCap
calc subset psyscore writes (a recursive-descent parser: nothing is passed to eval), against the
engine on every built-in's golden examples and on random answers with blanks and missing codes.
REDCap semantics kept: a blank field is blank in arithmetic (the result is blank), sum() skips
blanks, `""` is a blank result, isblankormissingcode() is true for a blank field or one holding a
project Missing Data Code.
"""

from __future__ import annotations

import csv
import io
import math
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from psyscore import library
from psyscore.cli import app
from psyscore.columns import score_column
from psyscore.errors import DataError, UsageError
from psyscore.exchange.redcap import (
    CHOICES,
    FIELD,
    HEADER,
    TYPE,
    RedcapExportError,
    draft_from_redcap,
    read_redcap_dictionary,
    redcap_dictionary,
    redcap_name,
    scale_choices,
    write_redcap,
)
from psyscore.instrument import Instrument, parse_definition
from psyscore.responses import INVALID, resolve
from psyscore.scoring import score

BUILTINS = [i for i in library.builtin_instruments()]
runner = CliRunner()


# ---- a tiny interpreter of the REDCap calc subset ----------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d+)?)|(?P<field>\[[a-z][a-z0-9_]*\])|(?P<string>\"\")"
    r"|(?P<name>[a-z]+)|(?P<op><>|>=|<=|[-+*/(),=<>]))"
)


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise SyntaxError(f"unexpected {text[pos : pos + 20]!r}")
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    return tokens


class Calc:
    """Parse once into nested tuples; `evaluate(values, missing_codes)` per record."""

    FUNCTIONS = {"if", "sum", "isblankormissingcode", "rounddown"}

    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.pos = 0
        self.tree = self.expression()
        if self.pos != len(self.tokens):
            raise SyntaxError(f"trailing {self.tokens[self.pos :]}")

    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else (None, None)

    def take(self, value=None):
        token = self.peek()
        if value is not None and token[1] != value:
            raise SyntaxError(f"expected {value!r}, got {token}")
        self.pos += 1
        return token

    def expression(self):
        node = self.conjunction()
        while self.peek() == ("name", "or"):
            self.take()
            node = ("or", node, self.conjunction())
        return node

    def conjunction(self):
        node = self.comparison()
        while self.peek() == ("name", "and"):
            self.take()
            node = ("and", node, self.comparison())
        return node

    def comparison(self):
        node = self.additive()
        if self.peek()[1] in {"=", "<>", ">=", "<=", ">", "<"}:
            op = self.take()[1]
            node = ("cmp", op, node, self.additive())
        return node

    def additive(self):
        node = self.term()
        while self.peek()[1] in {"+", "-"}:
            op = self.take()[1]
            node = ("arith", op, node, self.term())
        return node

    def term(self):
        node = self.unary()
        while self.peek()[1] in {"*", "/"}:
            op = self.take()[1]
            node = ("arith", op, node, self.unary())
        return node

    def unary(self):
        if self.peek()[1] == "-":
            self.take()
            return ("arith", "-", ("num", 0.0), self.unary())
        return self.primary()

    def primary(self):
        kind, value = self.take()
        if kind == "number":
            return ("num", float(value))
        if kind == "string":
            return ("blank",)
        if kind == "field":
            return ("field", value[1:-1])
        if kind == "op" and value == "(":
            node = self.expression()
            self.take(")")
            return node
        if kind == "name" and value in self.FUNCTIONS:
            self.take("(")
            args = [self.expression()]
            while self.peek()[1] == ",":
                self.take()
                args.append(self.expression())
            self.take(")")
            if value == "isblankormissingcode" and (len(args) != 1 or args[0][0] != "field"):
                raise SyntaxError("isblankormissingcode takes one field")
            return ("call", value, args)
        raise SyntaxError(f"unexpected {value!r}")

    def evaluate(self, values: dict, missing_codes=frozenset()):
        return _eval(self.tree, values, missing_codes)


def _eval(node, values, missing):
    kind = node[0]
    if kind == "num":
        return node[1]
    if kind == "blank":
        return None
    if kind == "field":
        value = values[node[1]]  # a KeyError is a reference to a field that does not exist
        return None if value is None or value in missing else float(value)
    if kind == "arith":
        a, b = _eval(node[2], values, missing), _eval(node[3], values, missing)
        if a is None or b is None:
            return None
        return {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else math.nan}[node[1]]
    if kind == "cmp":
        a, b = _eval(node[2], values, missing), _eval(node[3], values, missing)
        assert a is not None and b is not None, "psyscore never compares a blank"
        ops = {"=": a == b, "<>": a != b, ">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b}
        return ops[node[1]]
    if kind in ("or", "and"):
        a, b = _eval(node[1], values, missing), _eval(node[2], values, missing)
        return (a or b) if kind == "or" else (a and b)
    name, args = node[1], node[2]
    if name == "isblankormissingcode":
        raw = values[args[0][1]]
        return raw is None or raw in missing
    if name == "if":
        assert len(args) == 3
        chosen = args[1] if _eval(args[0], values, missing) else args[2]
        return _eval(chosen, values, missing)
    if name == "sum":
        parts = [_eval(a, values, missing) for a in args]
        return float(sum(p for p in parts if p is not None))
    if name == "rounddown":
        number, places = (_eval(a, values, missing) for a in args)
        if number is None:
            return None
        factor = 10.0**places
        return math.floor(number * factor) / factor
    raise AssertionError(name)


def test_the_interpreter_follows_redcap_blank_rules():
    assert Calc("[a]+[b]").evaluate({"a": 1, "b": None}) is None
    assert Calc("sum([a],[b])").evaluate({"a": 1, "b": None}) == 1
    assert Calc('if(isblankormissingcode([a]),"",2)').evaluate({"a": -99}, {-99}) is None
    assert Calc("rounddown(11.57+0.5,0)").evaluate({}) == 12
    with pytest.raises(SyntaxError):
        Calc("__import__('os')")


# ---- helpers ----------------------------------------------------------------------------------


def calc_fields(inst: Instrument) -> dict[str, Calc]:
    rows = redcap_dictionary([inst])
    return {r[FIELD]: Calc(r[CHOICES]) for r in rows if r[TYPE] == "calc"}


def redcap_record(inst: Instrument, codes: np.ndarray) -> dict:
    """Field values of one record: the code, or blank where psyscore has no answer."""
    return {
        redcap_name(item.id): None if np.isnan(code) else float(code)
        for item, code in zip(inst.items, codes, strict=True)
    }


def redcap_scores(inst: Instrument, record: dict, missing_codes=frozenset()) -> dict:
    """Evaluate the calc fields in dictionary order, as REDCap does (composites read earlier ones)."""
    values = dict(record)
    for field, calc in calc_fields(inst).items():
        values[field] = calc.evaluate(values, missing_codes)
    return {name: values[redcap_name(score_column(inst, name))] for name in inst.scores}


def same(engine_value: float, redcap_value) -> bool:
    if np.isnan(engine_value):
        return redcap_value is None
    return redcap_value is not None and math.isclose(
        engine_value, redcap_value, rel_tol=0, abs_tol=1e-9
    )


def check_against_engine(inst: Instrument, table: pd.DataFrame) -> int:
    """Compare every score of every row; rows with invalid answers skip the scores using them
    (a REDCap radio field cannot hold an invalid answer). Returns how many values were compared."""
    items, _ = resolve(inst, table.astype(object), invalid_as_missing=False)
    engine = score(items)
    compared = 0
    calcs = calc_fields(inst)
    for r in range(items.n):
        invalid = {inst.items[j].id for j in np.flatnonzero(items.reason[r] == INVALID)}
        values = redcap_record(inst, items.codes[r])
        for field, calc in calcs.items():
            values[field] = calc.evaluate(values)
        for name in inst.scores:
            if invalid & set(_items_under(inst, name)):
                continue
            got = values[redcap_name(score_column(inst, name))]
            want = engine[score_column(inst, name)].iloc[r]
            assert same(want, got), (inst.id, name, r, want, got)
            compared += 1
    return compared


def _items_under(inst: Instrument, name: str) -> list[str]:
    spec = inst.scores[name]
    if spec.items is not None:
        return list(spec.items)
    return [i for member in spec.scores or [] for i in _items_under(inst, member)]


# ---- the calc fields score as psyscore does ---------------------------------------------------


@pytest.mark.parametrize("inst", BUILTINS, ids=lambda i: i.id)
def test_calc_fields_give_the_engines_scores_on_the_golden_examples(inst):
    table = pd.DataFrame(
        [{item: ex.answers.get(item) for item in inst.item_ids} for ex in inst.examples],
        columns=inst.item_ids,
    )
    assert check_against_engine(inst, table) > 0


@pytest.mark.parametrize("inst", BUILTINS, ids=lambda i: i.id)
def test_calc_fields_give_the_engines_scores_with_random_blanks(inst):
    """Around each score's missing-rule boundary: 0 to all items blank, reverse keys included."""
    rng = np.random.default_rng(sum(map(ord, inst.id)))
    rows = []
    for n in range(300):
        row = {}
        blank_share = (n % 10) / 10
        for item in inst.items:
            codes = list(inst.scale_of(item).values)
            row[item.id] = None if rng.random() < blank_share else rng.choice(codes)
        rows.append(row)
    table = pd.DataFrame(rows, columns=inst.item_ids)
    assert check_against_engine(inst, table) > 0


def test_missing_data_codes_count_as_unanswered():
    """A project Missing Data Code (psyscore's -99) is unanswered for the calc, as for psyscore."""
    phq = library.load("phq-9")
    answers = {f"phq9_{i}": 2 for i in range(1, 10)}
    answers["phq9_4"] = -99
    engine = score(resolve(phq, pd.DataFrame([answers]).astype(object))[0])
    record = {**{redcap_name(k): v for k, v in answers.items()}, "phq9_10": None}
    got = redcap_scores(phq, record, missing_codes={-99.0})
    assert got["total"] == engine["phq9_total"].iloc[0] == 18  # 16 * 9 / 8, prorated


COMPOSITE = """
id: comp
name: composite test
construct: other
citation: test
licence: {status: public-domain}
key: {source: test, verified: true}
response_scales:
  five: {values: {1: a, 2: b, 3: c, 4: d, 5: e}}
items:
  - {id: c-1, label: one, scale: five}
  - {id: c.2, label: two, scale: five, reverse: true}
  - {id: C_3, label: three, scale: five}
  - {id: c_4, label: four, scale: five, reverse: true}
scores:
  first: {label: first, items: [c-1, c.2], method: mean, missing: {min_answered: 1}, rounding: 1}
  second: {label: second, items: [C_3, c_4], method: prorated_sum, missing: {max_missing: 1}}
  both: {label: both, scores: [first, second], method: mean, rounding: 2}
  all: {label: all, scores: [both, first], method: sum}
"""


def test_composites_of_composites_with_rounding_and_renamed_fields():
    inst = parse_definition(COMPOSITE)
    fields = {r[FIELD] for r in redcap_dictionary([inst])}
    assert {"c_1", "c_2", "c_3", "c_4", "comp_first", "comp_all"} <= fields
    rng = np.random.default_rng(7)
    rows = [
        {i: (None if rng.random() < 0.3 else int(rng.integers(1, 6))) for i in inst.item_ids}
        for _ in range(400)
    ]
    assert check_against_engine(inst, pd.DataFrame(rows, columns=inst.item_ids)) == 1600


def test_rounding_agrees_on_float_halves():
    """2.675 is stored as 2.67499...: psyscore rounds it to 2.68, and so must the calc field."""
    inst = parse_definition(
        COMPOSITE.replace("rounding: 1}", "rounding: 2}").replace(
            "min_answered: 1", "min_answered: 2"
        )
    )
    expr = {r[FIELD]: r[CHOICES] for r in redcap_dictionary([inst])}["comp_first"]
    assert "rounddown(" in expr and "+0.5+0.000000001" in expr
    rounded = Calc("(rounddown([x]*100+0.5+0.000000001,0)/100)").evaluate({"x": 2.675})
    assert rounded == 2.68


# ---- what REDCap cannot express is refused ----------------------------------------------------


def _variant(old: str, new: str) -> Instrument:
    return parse_definition(COMPOSITE.replace(old, new))


def test_negative_rounded_scores_are_refused():
    inst = _variant("five: {values: {1: a,", "five: {values: {-9: z, 1: a,")
    with pytest.raises(RedcapExportError, match="negative"):
        redcap_dictionary([inst])


def test_non_integer_codes_are_refused():
    inst = _variant("5: e}}", "5: e, 5.5: f}}")
    with pytest.raises(RedcapExportError, match="whole number"):
        redcap_dictionary([inst])


def test_anchor_with_a_bar_is_refused():
    inst = _variant("{1: a,", "{1: a | b,")
    with pytest.raises(RedcapExportError, match="'\\|'"):
        redcap_dictionary([inst])


def test_field_name_clash_is_refused():
    """An item id that is also a score's REDCap field name."""
    inst = parse_definition(COMPOSITE.replace("c_4", "comp_first"))
    with pytest.raises(RedcapExportError, match="comp_first"):
        redcap_dictionary([inst])


# ---- the dictionary file ----------------------------------------------------------------------


def test_dictionary_has_the_standard_header_and_radio_choices():
    text = write_redcap([library.load("phq-9")])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == HEADER and len(HEADER) == 18
    assert all(len(r) == 18 for r in rows)
    by_name = {r[0]: dict(zip(HEADER, r, strict=True)) for r in rows[1:]}
    assert by_name["record_id"]["Field Type"] == "text"
    item = by_name["phq9_1"]
    assert item["Field Type"] == "radio"
    assert (
        item[CHOICES]
        == "0, Not at all | 1, Several days | 2, More than half the days | 3, Nearly every day"
    )
    assert "licensed item wording" in item["Field Note"]
    assert "-99 = not answered" in item["Field Annotation"]
    assert by_name["phq9_total"]["Field Type"] == "calc"
    assert "isblankormissingcode([phq9_9])" in by_name["phq9_total"][CHOICES]
    assert "phq9_10" not in by_name["phq9_total"][CHOICES]


def test_reverse_keys_appear_as_min_plus_max_minus_the_item():
    pss = library.load("pss-10")
    rows = {r[FIELD]: r for r in redcap_dictionary([pss])}
    reversed_ids = [i.id for i in pss.items if i.reverse]
    assert f"(4-[{reversed_ids[0]}])" in rows["pss10_total"][CHOICES]


def _write(tmp_path, rows, name="dict.csv"):
    path = tmp_path / name
    path.write_text(
        "".join(
            ",".join(f'"{c}"' if ("," in c or '"' in c) else c for c in r) + "\n" for r in rows
        ),
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("inst", BUILTINS, ids=lambda i: i.id)
def test_export_then_import_gives_the_same_items_and_choices(inst, tmp_path):
    path = tmp_path / "dict.csv"
    path.write_text(write_redcap([inst]), encoding="utf-8")
    text, draft = draft_from_redcap(read_redcap_dictionary(path), str(path))
    assert draft.id == redcap_name(inst.id)
    assert [i.id for i in draft.items] == [redcap_name(i.id) for i in inst.items]
    for original, drafted in zip(inst.items, draft.items, strict=True):
        assert drafted.label == original.label
        assert scale_choices(draft.scale_of(drafted)) == scale_choices(inst.scale_of(original))
    assert draft.key.verified is False and "scores to be completed" in draft.key.uncertain
    assert draft.scores == {}  # no guessed score: the user writes them
    assert parse_definition(text).items == draft.items  # the YAML text is the model


def test_a_bundle_exports_one_form_per_instrument_and_import_needs_form(tmp_path):
    path = tmp_path / "intake.csv"
    result = runner.invoke(
        app, ["instruments", "export", "program-intake", "--to", "redcap", "-o", str(path)]
    )
    assert result.exit_code == 0, result.output
    rows = read_redcap_dictionary(path)
    forms = list(dict.fromkeys(r["Form Name"] for _, r in rows))
    assert len(forms) > 1 and [r[FIELD] for _, r in rows].count("record_id") == 1
    with pytest.raises(UsageError, match="--form"):
        draft_from_redcap(rows, str(path))
    _, draft = draft_from_redcap(rows, str(path), form="phq_9")
    assert draft.item_ids[0] == "phq9_1"


def test_import_of_a_hand_made_dictionary(tmp_path):
    path = _write(
        tmp_path,
        [
            HEADER,
            ["study_id", "mood", "", "text", "Study ID"] + [""] * 13,
            ["mood_1", "mood", "", "radio", "<b>Sad</b> lately?", "1, No | 2, Some | 3, Lots"]
            + [""] * 12,
            ["mood_2", "mood", "", "dropdown", "Tired?", "1, No | 2, Some | 3, Lots"] + [""] * 12,
            ["mood_3", "mood", "", "yesno", "Seen a doctor?"] + [""] * 13,
            ["mood_note", "mood", "", "notes", "Anything else?"] + [""] * 13,
            ["mood_sum", "mood", "", "calc", "Sum", "sum([mood_1],[mood_2])"] + [""] * 12,
        ],
    )
    text, draft = draft_from_redcap(read_redcap_dictionary(path), str(path))
    assert draft.item_ids == ["mood_1", "mood_2", "mood_3"]
    assert draft.items[0].label == "Sad lately?"
    assert draft.items[0].scale == draft.items[1].scale
    assert draft.scale_of(draft.items[2]).values == {0: "No", 1: "Yes"}
    assert "mood_sum (calc): sum([mood_1],[mood_2])" in (draft.notes or "")
    assert "mood_note (notes)" in (draft.notes or "")


def test_import_refuses_a_non_numeric_code_naming_line_and_field(tmp_path):
    path = _write(
        tmp_path,
        [HEADER, ["q1", "f", "", "radio", "Q", "a, Yes | b, No"] + [""] * 12],
    )
    with pytest.raises(DataError, match=r"line 2, field q1: choice code 'a' is not a number"):
        draft_from_redcap(read_redcap_dictionary(path), str(path))


def test_import_refuses_a_file_that_is_not_a_dictionary(tmp_path):
    path = _write(tmp_path, [["id", "score"], ["1", "2"]])
    with pytest.raises(DataError, match="not a REDCap data dictionary"):
        read_redcap_dictionary(path)
    cut = _write(tmp_path, [HEADER, ["q1", "f", "", "radio"]], name="cut.csv")
    with pytest.raises(DataError, match="line 2: 4 cells"):
        read_redcap_dictionary(cut)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(
        ",".join(HEADER).encode() + b'\nq1,f,,radio,Caf\xe9,"1, a | 2, b"' + b"," * 12
    )
    with pytest.raises(DataError, match="not UTF-8"):
        read_redcap_dictionary(latin)


def test_import_refuses_a_draft_that_would_not_load(tmp_path):
    path = _write(
        tmp_path,
        [HEADER, ["q1", "f", "", "radio", "Q", "1, Agree | 2, agree."] + [""] * 12],
    )
    with pytest.raises(DataError, match="does not load"):
        draft_from_redcap(read_redcap_dictionary(path), str(path))


# ---- the commands -----------------------------------------------------------------------------


def test_cli_export_import_round_trip_and_exit_codes(tmp_path):
    dictionary, draft = tmp_path / "d.csv", tmp_path / "draft.yaml"
    ok = runner.invoke(
        app, ["instruments", "export", "gad-7", "--to", "redcap", "-o", str(dictionary)]
    )
    assert ok.exit_code == 0, ok.output
    again = runner.invoke(
        app, ["instruments", "export", "gad-7", "--to", "redcap", "-o", str(dictionary)]
    )
    assert again.exit_code == 2 and "--force" in again.output
    bad = runner.invoke(app, ["instruments", "export", "gad-7", "--to", "spss"])
    assert bad.exit_code == 2
    imported = runner.invoke(
        app, ["instruments", "import", str(dictionary), "--from", "redcap", "-o", str(draft)]
    )
    assert imported.exit_code == 0, imported.output
    check = runner.invoke(app, ["instruments", "validate", str(draft)])
    assert check.exit_code == 0, check.output
    over_input = runner.invoke(
        app,
        [
            "instruments",
            "import",
            str(dictionary),
            "--from",
            "redcap",
            "-o",
            str(dictionary),
            "--force",
        ],
    )
    assert over_input.exit_code == 2
    not_dictionary = tmp_path / "x.csv"
    not_dictionary.write_text("a,b\n1,2\n")
    broken = runner.invoke(app, ["instruments", "import", str(not_dictionary), "--from", "redcap"])
    assert broken.exit_code == 1
