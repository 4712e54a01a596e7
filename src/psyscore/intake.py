"""Score ONE intake form for a clinician: alerts first, then every score with what is and is not known.

Pure logic, no I/O. `score_form(instruments, answers)` takes a one-row `Survey` (what
`psyscore.read` returns for an answers file) or builds one from a dict of answers, resolves it with
`Survey.resolve` and scores it with `batch.score_table`, the pipeline of every command (so a one-row
file gets every check `psyscore score` makes: mapping and recodes, value labels, user-missing
codes, shifted codes, with the same messages), and returns an `IntakeResult`:

- critical alerts (and critical items left unanswered) per instrument, before anything else;
- per score: value, status, n answered of k, band label(s), T-score and percentile against the
  default norm group with a 95% CI from the SEM (norm SD * sqrt(1 - published alpha));
- with missing items: the range the score could take (missing items at their keyed minimum and
  maximum, same method and rounding, scored by the same engine) and whether each band is settled;
- with a previous result: difference, Jacobson-Truax RCI and whether a band boundary was crossed.

`IntakeResult.to_dict()` is the `--json` payload; `compare(result, previous_dict)` accepts it back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import __version__
from .errors import UsageError
from .instrument import Instrument, Item, NormGroup, Score, definition_hash
from .norms import (
    Z_LIMIT,
    beyond_norm,
    covering_group,
    percentile_method_text,
    percentiles,
    reliable_change_threshold,
    round_half_up,
    sem,
)
from .report import formatting
from .responses import ANSWERED, FileMissing, ItemMatrix, match_columns
from .scoring import score as score_engine

if TYPE_CHECKING:
    from .survey import Survey

NOT_A_DIAGNOSIS = "Screening result, not a diagnosis: interpret with a clinical interview and the client's context."
FORMAT_VERSION = 1
Z95 = 1.96


@dataclass
class Alert:
    instrument: str
    item: str
    label: str
    code: float | None
    anchor: str | None
    message: str
    kind: str = "endorsed"  # "endorsed", or "unanswered" for a critical item left blank


@dataclass
class Norm:
    group: str
    source: str
    z: float | None  # None when beyond the norm's range (|z| > 4): never extrapolated
    t: float | None
    percentile: float | None  # None where the norm gives no percentile (see percentile_note)
    percentile_method: str = "none"  # "table", "normal-approximation" or "none"
    percentile_note: str = ""
    sem: float | None = None  # in raw-score units
    ci95: tuple[float, float] | None = None  # raw-score units, within the score's range
    ci_truncated: bool = False  # the interval was cut at the score's minimum or maximum
    t_ci95: tuple[float, float] | None = None
    alpha: float | None = None
    alpha_source: str | None = None
    beyond: str | None = None  # "above" or "below" the range the norm supports
    note: str | None = None  # what a reader must know (truncation, beyond the norm)
    chosen_by: str = ""  # why this group: "sex male", "the only group"


@dataclass
class Range:
    low: float
    high: float
    missing_items: list[str]
    bands_low: dict[str, str | None]
    bands_high: dict[str, str | None]
    settled: dict[str, bool]  # band set name -> settled
    possible: dict[str, list[str]]  # band set name -> labels the score could still fall in
    text: str


CATEGORIES = (
    "recovered",
    "reliable improvement",
    "no reliable change",
    "reliable deterioration",
    "not assessable",
)


@dataclass
class Change:
    previous: float
    current: float
    difference: float
    previous_date: str | None
    sem: float | None
    rci: float | None
    reliable: bool | None
    reliable_threshold: float | None  # smallest reliable difference, raw units
    previous_band: str | None
    current_band: str | None
    band_changed: bool | None
    criterion: str
    text: str
    # Jacobson & Truax (1991): one of CATEGORIES; "recovered" = reliable improvement out of
    # the clinical range (the definition's clinical_cutoff)
    category: str = "not assessable"
    reliability: dict[str, Any] | None = None  # coefficient, value, source, sd, sd_source
    crossed_cutoff: bool | None = None  # moved between the clinical and non-clinical range


@dataclass
class ScoreResult:
    name: str
    label: str
    column: str
    value: float | None
    display: str
    status: str
    n: int
    k: int
    method: str
    bands: dict[str, str | None]  # band set name -> label (first set is the default)
    band_sources: dict[str, str | None]
    higher_means: str | None
    norm: Norm | None = None
    range: Range | None = None
    change: Change | None = None  # since the last earlier visit
    reliability_note: str | None = None
    change_note: str | None = None  # why there is no change, or a caveat about it
    change_from_first: Change | None = None  # since the first of several earlier visits
    trajectory: list[dict[str, Any]] = field(default_factory=list)  # [{date, value}], by date
    better: str | None = None  # "lower" or "higher" scores are better (the definition's)


@dataclass
class InstrumentResult:
    id: str
    name: str
    short: str
    verified: bool
    warnings: list[str]
    alerts: list[Alert]
    scores: list[ScoreResult]
    citation: str
    doi: str | None
    licence: dict[str, Any]
    timeframe: str | None
    answered: dict[str, Any]  # item id -> {"code", "anchor"} or {"missing": reason}
    problems: list[dict[str, Any]] = field(default_factory=list)
    # instrument.definition_hash: scores from another version of the definition are not compared
    definition_sha256: str | None = None
    version: str | None = None  # the definition's version
    construct: str | None = None  # "clinical_screen" leads the summary; the rest are research

    @property
    def is_clinical_screen(self) -> bool:
        return self.construct == "clinical_screen"


def instrument_change_notes(inst: InstrumentResult) -> list[str]:
    """Distinct change notes of one instrument, in score order (one line, not one per score)."""
    return list(dict.fromkeys(sc.change_note for sc in inst.scores if sc.change_note))


@dataclass
class IntakeResult:
    client_id: str | None
    date: str | None
    instruments: list[InstrumentResult]
    previous_date: str | None = None
    note: str = NOT_A_DIAGNOSIS
    version: str = __version__
    options: dict[str, Any] = field(default_factory=dict)  # sex, age and the options used
    previous_dates: list[str | None] = field(default_factory=list)  # every earlier visit, by date

    @property
    def alerts(self) -> list[Alert]:
        return [a for inst in self.instruments for a in inst.alerts]

    @property
    def problems(self) -> list[dict[str, Any]]:
        return [p for inst in self.instruments for p in inst.problems]

    def change_notes(self) -> list[str]:
        """Each distinct note on a comparison with --previous (why not compared, or a caveat)."""
        notes = (sc.change_note for inst in self.instruments for sc in inst.scores)
        return list(dict.fromkeys(n for n in notes if n))

    def to_dict(self) -> dict[str, Any]:
        return {
            "psyscore_intake": FORMAT_VERSION,
            "psyscore_version": self.version,
            "client_id": self.client_id,
            "date": self.date,
            "previous_date": self.previous_date,
            "note": self.note,
            "alerts": [asdict(a) for a in self.alerts],
            "provenance": self.provenance(),
            "instruments": [asdict(i) for i in self.instruments],
        }

    def provenance(self) -> dict[str, Any]:
        """What produced these numbers: psyscore, each definition, norm group, options."""
        return {
            "psyscore_version": self.version,
            "definitions": [
                {"id": i.id, "version": i.version, "sha256": i.definition_sha256}
                for i in self.instruments
            ],
            "norm_groups": {
                sc.column: sc.norm.group if sc.norm else None
                for i in self.instruments
                for sc in i.scores
            },
            "options": dict(self.options),
            "previous_dates": list(self.previous_dates),
        }


# ---- helpers ----------------------------------------------------------------------------------


def _short(inst: Instrument) -> str:
    return inst.id.upper()


def fmt_value(value: float | None, rounding: int | None) -> str:
    """A score as the reports show it: its definition's decimals, else up to two."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not scored"
    if rounding is not None:
        return formatting.number(value, rounding)
    return formatting.compact(value, 2)


def _or_list(labels: Sequence[str]) -> str:
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " or " + labels[-1]


def _items_of(inst: Instrument, name: str) -> list[str]:
    spec = inst.scores[name]
    if spec.items is not None:
        return list(spec.items)
    out: list[str] = []
    for member in spec.scores or []:
        out.extend(i for i in _items_of(inst, member) if i not in out)
    return out


def _anchor(inst: Instrument, item: Item, code: float) -> str | None:
    for c, label in inst.scale_of(item).values.items():
        if float(c) == float(code):
            return label
    return None


def _float(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _fill(items: ItemMatrix, high: bool, reversed_: dict[str, bool] | None = None) -> np.ndarray:
    """Row 0's codes with every missing item at the raw code that keys to its scale min (max).

    `reversed_` (item id -> reverse-keyed) keys as one score does; default the items' flags.
    """
    inst = items.instrument
    row = items.codes[0].copy()
    for j, item in enumerate(inst.items):
        if np.isnan(row[j]):
            scale = inst.scale_of(item)
            rev = item.reverse if reversed_ is None else reversed_.get(item.id, item.reverse)
            want_max = high != rev  # a reverse item reaches its keyed max at raw min
            row[j] = scale.max if want_max else scale.min
    return row


def _score_keys(inst: Instrument, name: str) -> dict[str, bool] | None:
    """Item id -> reversed, as score `name` (and the parts of a composite) key them; None when
    the parts of a composite key an item in opposite directions (no single fill bounds it)."""
    spec = inst.scores[name]
    if spec.items is not None:
        by_id = {i.id: i for i in inst.items}
        return {i: spec.is_reversed(by_id[i]) for i in spec.items}
    keys: dict[str, bool] = {}
    for member in spec.scores or []:
        part = _score_keys(inst, member)
        if part is None or any(keys.get(i, rev) != rev for i, rev in part.items()):
            return None
        keys.update(part)
    return keys


def _bounds(items: ItemMatrix, reversed_: dict[str, bool] | None = None) -> pd.DataFrame:
    """Scores of row 0 with every missing item at its keyed minimum (row 0) and maximum (row 1)."""
    inst = items.instrument
    codes = np.empty((2, len(inst.items)), order="F")
    codes[0] = _fill(items, high=False, reversed_=reversed_)
    codes[1] = _fill(items, high=True, reversed_=reversed_)
    reason = np.full(codes.shape, ANSWERED, dtype=items.reason.dtype, order="F")
    return score_engine(ItemMatrix(inst, codes, reason, items.reasons, items.columns))


def _bands_of(frame: pd.DataFrame, inst: Instrument, name: str, spec: Score, row: int):
    from .columns import band_column

    out: dict[str, str | None] = {}
    for i, band_set in enumerate(spec.bands):
        label = frame[band_column(inst, name, band_set, i)].iloc[row]
        out[band_set.name] = None if pd.isna(label) else str(label)
    return out


def _labels_between(spec: Score, set_index: int, low: float, high: float) -> list[str]:
    bands = spec.bands[set_index].bands
    labels, lower = [], -math.inf
    for band in bands:
        if band.upto >= low and lower < high:
            labels.append(band.label)
        lower = band.upto
    return labels


def select_norm_group(
    spec: Score, sex: str | None, age: float | None
) -> tuple[NormGroup | None, str]:
    """The first norm group that covers this client, and why (or why none does).

    A group declared for one sex or an age range is used only for a client known to belong to
    it: without --sex a woman is never compared with men.
    """
    groups = list(spec.norms)
    chosen = covering_group(groups, np.array([sex], dtype=object), np.array([_nan_if_none(age)]))
    if chosen[0] >= 0:
        g = groups[int(chosen[0])]
        why = []
        if g.sex != "any":
            why.append(f"sex {g.sex}")
        if g.age is not None:
            why.append(f"age {formatting.compact(age)} in {_age_text(g)}")
        return g, ", ".join(why) or (
            "the only norm group" if len(groups) == 1 else "the first group for anyone"
        )
    wanted = "; ".join(_group_text(g) for g in groups)
    if sex is None and any(g.sex != "any" for g in groups):
        return None, (
            f"no standard score: the norm groups are by sex ({wanted}); give --sex male or "
            "--sex female"
        )
    if age is None and any(g.age is not None for g in groups):
        return None, f"no standard score: the norm groups are by age ({wanted}); give --age"
    who = ", ".join(
        x
        for x in (f"sex {sex}" if sex else "", f"age {formatting.compact(age)}" if age else "")
        if x
    )
    return None, f"no standard score: no norm group covers this client ({who}); groups: {wanted}"


def _nan_if_none(age: float | None) -> float:
    return math.nan if age is None else float(age)


def _age_text(g: NormGroup) -> str:
    assert g.age is not None
    return f"{formatting.compact(g.age[0])}-{formatting.compact(g.age[1])}"


def _group_text(g: NormGroup) -> str:
    who = [g.sex] if g.sex != "any" else []
    if g.age is not None:
        who.append(f"age {_age_text(g)}")
    return g.group + (f" [{', '.join(who)}]" if who else "")


def _reliability(spec: Score) -> tuple[str, float, str] | None:
    """(coefficient, value, source) of the published reliability: alpha, else retest."""
    rel = spec.published_reliability
    if rel is None:
        return None
    if rel.alpha is not None:
        return "alpha", rel.alpha, rel.source
    if rel.retest is not None:
        return "retest", rel.retest, rel.source
    return None


def _norm(
    inst: Instrument, name: str, value: float | None, sex: str | None, age: float | None
) -> tuple[Norm | None, str | None]:
    spec = inst.scores[name]
    if not spec.norms:
        return None, "no published norms in the definition"
    group, why = select_norm_group(spec, sex, age)
    if group is None:
        return None, why
    if value is None:
        return None, None
    z = (value - group.mean) / group.sd
    pct = float(percentiles(np.array([value]), group)[0])
    norm = Norm(
        group=group.group,
        source=group.source,
        z=float(round_half_up(np.array([z]), 2)[0]),
        t=float(round_half_up(np.array([50.0 + 10.0 * z]), 1)[0]),
        percentile=None if math.isnan(pct) else pct,
        percentile_method=group.percentile_method,
        percentile_note=percentile_method_text(group),
        chosen_by=why,
    )
    notes = []
    if group.table is not None and norm.percentile is None:
        rows = list(group.table.percentiles)
        if value < rows[0] or value > rows[-1]:
            norm.beyond = "below" if value < rows[0] else "above"
            notes.append(f"score {fmt_value(value, spec.rounding)} is beyond the percentile table")
        norm.percentile_note += f"; score {fmt_value(value, spec.rounding)} is not in the table"
    if beyond_norm(np.array([z]))[0]:
        norm.beyond = "above" if z > 0 else "below"
        norm.z = norm.t = None
        if norm.percentile_method == "normal-approximation":
            norm.percentile = None
        notes.append(
            f"score {fmt_value(value, spec.rounding)} is beyond the range the norm supports "
            f"(|z| > {Z_LIMIT:g} {'above' if z > 0 else 'below'} the mean of {group.group}): "
            "z and T are not extrapolated"
        )
    rel = _reliability(spec)
    note = None
    if rel is not None and rel[0] == "alpha":
        s = sem(group.sd, rel[1])
        half = Z95 * s
        lo, hi = inst.score_range(name)
        low, high = max(value - half, lo), min(value + half, hi)
        norm.ci_truncated = low > value - half or high < value + half
        norm.sem = round(s, 3)
        norm.ci95 = (round(low, 2), round(high, 2))
        if norm.t is not None:
            t_of = lambda raw: 50.0 + 10.0 * (raw - group.mean) / group.sd  # noqa: E731
            norm.t_ci95 = (round(t_of(low), 1), round(t_of(high), 1))
        if norm.ci_truncated:
            notes.append(
                f"95% CI truncated to the score's range "
                f"({fmt_value(lo, spec.rounding)}-{fmt_value(hi, spec.rounding)})"
            )
        norm.alpha, norm.alpha_source = rel[1], rel[2]
    else:
        note = "no published alpha in the definition: no SEM or confidence interval"
    norm.note = "; ".join(notes) or None
    return norm, note


# ---- scoring one form -------------------------------------------------------------------------


def answers_frame(answers: Mapping[str, Any]) -> pd.DataFrame:
    """One-row table from item id (or any accepted column spelling) -> code / text / None."""
    data = {str(k): pd.Series([v], dtype=object) for k, v in answers.items()}
    return pd.DataFrame(data, index=pd.RangeIndex(1))


def form_survey(
    answers: Mapping[str, Any] | pd.DataFrame | Survey,
    *,
    mapping: Mapping[str, str] | None = None,
    recodes: Mapping[str, Mapping[object, float]] | None = None,
    file_missing: FileMissing | None = None,
    value_labels: Mapping[str, Mapping] | None = None,
) -> Survey:
    """The :class:`~psyscore.survey.Survey` of one form's answers (see `score_form`)."""
    from .io import Table
    from .mapping import ColumnMap
    from .survey import Survey

    if isinstance(answers, Survey):
        given = [mapping, recodes, file_missing, value_labels]
        if any(g is not None for g in given):
            raise UsageError(
                "a Survey holds its own mapping, value labels and user-missing codes: give "
                "them to psyscore.read (map=...), not to score_form"
            )
        return answers
    frame = answers if isinstance(answers, pd.DataFrame) else answers_frame(answers)
    column_map = ColumnMap(dict(mapping or {}), {c: dict(r) for c, r in (recodes or {}).items()})
    survey = Survey.from_table(
        Table(frame.reset_index(drop=True), value_labels=dict(value_labels or {})),
        map=column_map,
    )
    if file_missing is not None:
        # declarations already parsed (not the file's ranges): they stand in for what
        # `Survey.file_missing` (a cached property) would derive from the table
        survey.__dict__["file_missing"] = file_missing
    return survey


def score_form(
    instruments: Sequence[Instrument],
    answers: Mapping[str, Any] | pd.DataFrame | Survey,
    *,
    client_id: str | None = None,
    date: str | None = None,
    mapping: Mapping[str, str] | None = None,
    file_missing: FileMissing | None = None,
    recodes: Mapping[str, Mapping[object, float]] | None = None,
    value_labels: Mapping[str, Mapping] | None = None,
    sex: str | None = None,
    age: float | None = None,
    options: Mapping[str, Any] | None = None,
) -> IntakeResult:
    """Score one form through the pipeline of every command (`Survey.resolve`, then
    `batch.score_table`).

    Parameters
    ----------
    instruments
        The instruments of the form.
    answers
        Item id (or any accepted column spelling) -> answer, a one-row DataFrame (a CSV row), or
        a one-row :class:`~psyscore.survey.Survey` (``psyscore.read("form.sav", map="map.yaml")``:
        its value labels, user-missing codes and mapping are used, and errors name its files,
        as `psyscore score` names them).
    mapping, recodes
        Column -> item id and column -> {file value: code}, as from a ``--map`` file (not with a
        Survey, which holds its own).
    file_missing, value_labels
        User-missing declarations and value labels of the file the row came from (SPSS). Value
        labels are the evidence that codes are shifted ("1 = Not at all" where the definition
        codes "Not at all" as 0). Not with a Survey, which holds its own.
    sex, age
        The client's sex ("male", "female") and age in years: they choose the norm group. A
        score whose norm groups are by sex or age gets no standard score without them.
    options
        Further options to record in the provenance (e.g. the command line's).

    Raises
    ------
    DataError
        When the codes disagree with an instrument's scale, exactly as `psyscore score` refuses
        them: a plausible but shifted score is never reported.
    """
    from .batch import score_table

    if sex not in (None, "male", "female"):
        raise UsageError(f"sex {sex!r}: choose male or female")
    if age is not None and not (isinstance(age, int | float) and 0 <= age <= 130):
        raise UsageError(f"age {age!r}: give the age in years (0-130)")
    survey = form_survey(
        answers,
        mapping=mapping,
        recodes=recodes,
        file_missing=file_missing,
        value_labels=value_labels,
    )
    if survey.rows != 1:
        raise UsageError(f"an intake form is one respondent; the data has {survey.rows} rows")
    # the one resolve step of `score` and `reliability` (map checked against the instruments,
    # recodes, value labels, user-missing codes, shifted codings), then the same engine; a
    # preview or spam row is scored as asked: a clinician sees its alerts (the CLI warns)
    resolved = survey.resolve(list(instruments))
    with survey._naming_file():
        batch = score_table(
            survey.data,
            instruments,
            mapping=survey.mapping.items,
            replace_scores=True,  # a row of an already scored file: its old scores are not used
            resolved=resolved,
        )
    results = [
        _score_instrument(
            inst,
            batch.items[inst.id],
            batch.scores[inst.id],
            [p for p in batch.problems if p.instrument == inst.id],
            sex,
            age,
        )
        for inst in instruments
    ]
    return IntakeResult(
        client_id=client_id,
        date=date,
        instruments=results,
        options={"sex": sex, "age": age, **dict(options or {})},
    )


def _score_instrument(
    inst: Instrument,
    items: ItemMatrix,
    scored: pd.DataFrame,
    problems: list,
    sex: str | None = None,
    age: float | None = None,
) -> InstrumentResult:
    # an item with no column is simply unanswered on a single form
    problems = [p for p in problems if p.kind != "missing_column"]
    frame = pd.concat([scored.reset_index(drop=True), _bounds(items)], ignore_index=True)

    by_id = {it.id: it for it in inst.items}
    answered: dict[str, Any] = {}
    for j, item in enumerate(inst.items):
        code = _float(items.codes[0, j])
        if code is not None:
            answered[item.id] = {"code": code, "anchor": _anchor(inst, item, code)}
        else:
            answered[item.id] = {"missing": items.reasons[int(items.reason[0, j])]}

    alerts: list[Alert] = []
    for j, item in enumerate(inst.items):
        if item.critical is None:
            continue
        code = _float(items.codes[0, j])
        if code is None:
            alerts.append(
                Alert(
                    inst.id,
                    item.id,
                    item.label,
                    None,
                    None,
                    f"Critical item {item.id} ({item.label}) was not answered "
                    f"({answered[item.id]['missing']}): ask it directly before the client leaves.",
                    kind="unanswered",
                )
            )
            continue
        op, threshold = item.critical.op_and_value
        if op(code, threshold):
            alerts.append(
                Alert(
                    inst.id,
                    item.id,
                    item.label,
                    code,
                    _anchor(inst, item, code),
                    item.critical.message,
                )
            )
    # endorsed alerts before unanswered ones
    alerts.sort(key=lambda a: a.kind != "endorsed")

    scores = []
    for name, spec in inst.scores.items():
        col = f"{inst.output_prefix}_{name}"
        value = _float(frame[col].iloc[0])
        member_items = _items_of(inst, name)
        missing = [i for i in member_items if answered[i].get("code") is None]
        bands = _bands_of(frame, inst, name, spec, 0)
        norm, rel_note = _norm(inst, name, value, sex, age)
        result = ScoreResult(
            name=name,
            label=spec.label,
            column=col,
            value=value,
            display=fmt_value(value, spec.rounding),
            status=str(frame[f"{col}_status"].iloc[0]),
            n=len(member_items) - len(missing),
            k=len(member_items),
            method=spec.method,
            bands=bands,
            band_sources={b.name: b.source for b in spec.bands},
            higher_means=spec.higher_means,
            better=spec.better,
            norm=norm,
            reliability_note=rel_note,
        )
        if missing and not inst.keys_differ_between_scores:
            result.range = _range(inst, name, spec, frame, missing, by_id)
        elif missing:
            # an item reversed in one score and forward in another: bound each score by its
            # own keys (a composite whose parts disagree on a missing item gets no range)
            keys = _score_keys(inst, name)
            if keys is not None:
                own = pd.concat([scored.reset_index(drop=True), _bounds(items, keys)])
                own = own.reset_index(drop=True)
                result.range = _range(inst, name, spec, own, missing, by_id)
        scores.append(result)

    return InstrumentResult(
        id=inst.id,
        name=inst.name,
        short=_short(inst),
        verified=inst.independently_verified,  # a private key is not independently verified
        warnings=inst.warnings,
        alerts=alerts,
        scores=scores,
        citation=" ".join(inst.citation.split()),
        doi=inst.doi,
        licence=inst.licence.model_dump(),
        timeframe=inst.timeframe,
        answered=answered,
        problems=[_problem_dict(p) for p in problems],
        definition_sha256=definition_hash(inst),
        version=inst.version,
        construct=inst.construct,
    )


def _problem_dict(p) -> dict[str, Any]:
    d = p.to_dict()
    d.pop("row", None)  # always row 1 of a one-form table
    return d


def _range(inst, name, spec: Score, frame, missing, by_id) -> Range:
    col = f"{inst.output_prefix}_{name}"
    low, high = float(frame[col].iloc[1]), float(frame[col].iloc[2])
    bands_low = _bands_of(frame, inst, name, spec, 1)
    bands_high = _bands_of(frame, inst, name, spec, 2)
    settled, possible = {}, {}
    for i, band_set in enumerate(spec.bands):
        settled[band_set.name] = bands_low[band_set.name] == bands_high[band_set.name]
        possible[band_set.name] = _labels_between(spec, i, low, high)
    lo_s, hi_s = fmt_value(low, spec.rounding), fmt_value(high, spec.rounding)
    span = lo_s if lo_s == hi_s else f"{lo_s}-{hi_s}"
    m = len(missing)
    text = f"{_short(inst)} {name} {span} with {m} item{'s' if m != 1 else ''} missing"
    whatever = "the missing item" if m == 1 else f"the {m} missing items"
    # each band set (a severity scale, a cut-off) is its own decision: one may be settled
    # (>= 10 whatever the missing answers) while the other is still open
    decisions = []
    for band_set in spec.bands:
        key = band_set.name
        if settled[key]:
            decisions.append(f"{key} band settled: {bands_low[key]} whatever {whatever}")
        else:
            decisions.append(f"{key} band not determined ({_or_list(possible[key])})")
    cut = spec.clinical_cutoff
    if cut is not None and not spec.bands:  # band sets already carry their cut-offs
        at_low, at_high = cut.is_clinical(low), cut.is_clinical(high)
        if at_low == at_high:
            where = "in" if at_low else "outside"
            decisions.append(
                f"clinical range ({cut.clinical.strip()}) settled: {where} it whatever {whatever}"
            )
        else:
            decisions.append(f"clinical range ({cut.clinical.strip()}) not determined")
    if decisions:
        text += ": " + "; ".join(decisions)
    return Range(
        low=low,
        high=high,
        missing_items=list(missing),
        bands_low=bands_low,
        bands_high=bands_high,
        settled=settled,
        possible=possible,
        text=text,
    )


# ---- change since a previous visit ------------------------------------------------------------


def check_previous(previous: Any, source: str = "--previous") -> None:
    """Raise UsageError naming `source` and the field unless `previous` is an intake JSON.

    Only the fields that `compare` reads are checked, each for its type: a malformed file is a
    clear error before anything is scored, never a traceback or a comparison of wrong values.
    """

    def fail(where: str, what: str) -> None:
        raise UsageError(
            f"{source}: {where}: {what} (is it the JSON written by `psyscore intake --json`?)"
        )

    if not isinstance(previous, Mapping):
        fail("top level", "not a JSON object")
    version = previous.get("psyscore_intake")
    if isinstance(version, bool) or version != FORMAT_VERSION:
        fail("psyscore_intake", f"format {version!r}, expected {FORMAT_VERSION}")
    for key in ("client_id", "date"):
        if not isinstance(previous.get(key), str | None):
            fail(key, "must be text or null")
    instruments = previous.get("instruments")
    if not isinstance(instruments, list):
        fail("instruments", "must be a list of instruments")
    for i, inst in enumerate(instruments):
        where = f"instruments[{i}]"
        if not isinstance(inst, Mapping):
            fail(where, "must be an object")
        if not isinstance(inst.get("id"), str):
            fail(f"{where}.id", "must be an instrument id (text)")
        if not isinstance(inst.get("definition_sha256"), str | None):
            fail(f"{where}.definition_sha256", "must be a hash (text)")
        scores = inst.get("scores")
        if not isinstance(scores, list):
            fail(f"{where}.scores", "must be a list of scores")
        for j, score in enumerate(scores):
            at = f"{where}.scores[{j}]"
            if not isinstance(score, Mapping):
                fail(at, "must be an object")
            if not isinstance(score.get("name"), str):
                fail(f"{at}.name", "must be a score name (text)")
            value = score.get("value")
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
            ):
                fail(f"{at}.value", f"must be a number or null, not {value!r}")
            bands = score.get("bands")
            if bands is not None and (
                not isinstance(bands, Mapping)
                or not all(isinstance(b, str | None) for b in bands.values())
            ):
                fail(f"{at}.bands", "must map band set names to band labels")


def order_visits(
    result: IntakeResult, previous: Sequence[Mapping[str, Any]], sources: Sequence[str] = ()
) -> list[Mapping[str, Any]]:
    """The earlier visits by date, oldest first; UsageError if one cannot be placed before now.

    `sources` names each visit (its file) in the messages.
    """
    names = list(sources) + [f"--previous #{i + 1}" for i in range(len(previous))]
    named = list(zip(previous, names[: len(previous)], strict=True))
    if len(named) > 1:
        for visit, source in named:
            if not visit.get("date"):
                raise UsageError(
                    f"{source}: has no date, so the visits cannot be put in order; give each "
                    "earlier result's date (psyscore intake --date)"
                )
    for visit, source in named:
        when = visit.get("date")
        if when and result.date and when > result.date:
            raise UsageError(
                f"{source}: dated {when}, after this form ({result.date}): --previous is an "
                "earlier visit (check --date)"
            )
    named.sort(key=lambda vs: vs[0].get("date") or "")
    return [v for v, _ in named]


def compare(
    result: IntakeResult,
    previous: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    instruments: Sequence[Instrument],
    sources: Sequence[str] = (),
) -> None:
    """Attach the change since the earlier visit(s) to every comparable score.

    `previous` is an intake JSON (`IntakeResult.to_dict()`) or several. They are put in date
    order; `change` is the change since the last of them, `change_from_first` (with two or more)
    since the first, and `trajectory` lists every comparable value with its date, this one last.
    Scores are compared only when the instrument was scored with the same definition (same
    `definition_sha256`); otherwise, or when a score is missing on either side, the change stays
    None and `change_note` says why. A previous result that predates the hash is compared, with
    that caveat in `change_note`.
    """
    visits = [previous] if isinstance(previous, Mapping) else list(previous)
    if not visits:
        return
    for i, visit in enumerate(visits):
        check_previous(visit, sources[i] if i < len(sources) else "--previous")
    visits = order_visits(result, visits, sources)
    result.previous_dates = [v.get("date") for v in visits]
    result.previous_date = visits[-1].get("date")
    by_id = {i.id: i for i in instruments}
    for inst_res in result.instruments:
        inst = by_id[inst_res.id]
        history: dict[str, list[dict[str, Any]]] = {sc.name: [] for sc in inst_res.scores}
        for position, visit in enumerate(visits):
            last = position == len(visits) - 1
            for sc, prev, note in _pairs(inst, inst_res, visit):
                if prev is not None:
                    history[sc.name].append({"date": visit.get("date"), "value": prev["value"]})
                if last:
                    sc.change_note = note
                    if prev is not None:
                        sc.change = _change(inst, sc, prev, visit.get("date"), result.options)
                elif position == 0 and prev is not None:
                    sc.change_from_first = _change(
                        inst, sc, prev, visit.get("date"), result.options
                    )
        for sc in inst_res.scores:
            if history[sc.name] and sc.value is not None:
                sc.trajectory = history[sc.name] + [{"date": result.date, "value": sc.value}]


def _pairs(inst: Instrument, inst_res: InstrumentResult, visit: Mapping[str, Any]):
    """(score, previous score or None, note) for each score of `inst_res` against one visit."""
    prev_inst = next((pi for pi in visit["instruments"] if pi["id"] == inst_res.id), None)
    if prev_inst is None:
        note = f"not compared: the previous result has no {inst.id} scores"
        yield from ((sc, None, note) for sc in inst_res.scores)
        return
    prev_hash = prev_inst.get("definition_sha256")
    if prev_hash is not None and prev_hash != inst_res.definition_sha256:
        note = (
            f"not compared: the previous {inst.id} result was scored with a different "
            f"definition (sha256 {prev_hash[:12]}, now {str(inst_res.definition_sha256)[:12]}), "
            "so the two scores are not comparable"
        )
        yield from ((sc, None, note) for sc in inst_res.scores)
        return
    caveat = (
        None
        if prev_hash is not None
        else "the previous result does not record its definition's hash: compared on the "
        "assumption that it was scored with this definition"
    )
    prev_scores = {ps["name"]: ps for ps in prev_inst["scores"]}
    for sc in inst_res.scores:
        prev = prev_scores.get(sc.name)
        if prev is None:
            yield sc, None, f"not compared: the previous result has no {sc.column}"
        elif sc.value is None or prev.get("value") is None:
            when = "now" if sc.value is None else "in the previous result"
            yield sc, None, f"not compared: {sc.column} is not scored {when}"
        else:
            yield sc, prev, caveat


def _change(
    inst: Instrument,
    sc: ScoreResult,
    prev: Mapping[str, Any],
    prev_date,
    options: Mapping[str, Any],
) -> Change:
    """Jacobson & Truax (1991): the reliable change index and the category of the change."""
    spec = inst.scores[sc.name]
    x1, x2 = float(prev["value"]), float(sc.value)
    diff = round(x2 - x1, 6)
    s = rci = threshold = None
    reliable = None
    reliability = None
    why_not = None
    rel = _reliability(spec)
    group, group_note = (
        select_norm_group(spec, options.get("sex"), options.get("age"))
        if spec.norms
        else (None, "")
    )
    if rel is None or not spec.norms:
        why_not = "no norm SD and published reliability in the definition"
    elif group is None:
        why_not = group_note.replace("no standard score", "no norm SD for this client")
    else:
        coefficient, r, r_source = rel
        s = sem(group.sd, r)
        rci = round(diff / (math.sqrt(2.0) * s), 2)
        threshold = round(reliable_change_threshold(group.sd, r), 2)
        reliable = abs(diff / (math.sqrt(2.0) * s)) > Z95
        s = round(s, 3)
        reliability = {
            "coefficient": coefficient,
            "value": r,
            "source": r_source,
            "sd": group.sd,
            "sd_source": group.group,
        }
    cut = spec.clinical_cutoff
    crossed = None if cut is None else cut.is_clinical(x1) != cut.is_clinical(x2)
    if reliable is None:
        category = "not assessable"
    elif not reliable:
        category = "no reliable change"
    elif spec.better is None:
        category = "not assessable"
        why_not = "direction not declared (the definition does not say whether lower is better)"
    else:
        improved = (diff < 0) == (spec.better == "lower")
        if not improved:
            category = "reliable deterioration"
        elif cut is not None and cut.is_clinical(x1) and not cut.is_clinical(x2):
            category = "recovered"
        else:
            category = "reliable improvement"

    prev_band = cur_band = None
    band_changed = None
    if spec.bands:
        first = spec.bands[0]
        prev_band = (prev.get("bands") or {}).get(first.name)
        cur_band = sc.bands.get(first.name)
        band_changed = prev_band != cur_band
    criterion = _criterion(spec, reliability, threshold)
    digits = spec.rounding if spec.rounding is not None else 2
    shown_diff = formatting.signed(diff, digits)
    parts = [f"{sc.column} {fmt_value(x1, spec.rounding)} -> {sc.display} ({shown_diff})"]
    if rci is None:
        parts.append(f"not assessable: {why_not}")
    else:
        head = f"RCI {formatting.signed(rci, 2, trim=False)}: "
        if category == "not assessable":
            parts.append(head + f"reliable change, but not assessable: {why_not}")
        elif category == "recovered":
            parts.append(
                head + f"recovered (reliable improvement that crosses the cut-off "
                f"{cut.clinical.strip()}, out of the clinical range)"
            )
        else:
            parts.append(head + category)
    if band_changed is not None:
        band_name = spec.bands[0].name
        if not band_changed:
            parts.append(f"{band_name} band {cur_band} both times")
        elif category in ("no reliable change", "not assessable"):
            parts.append(
                f"{band_name} band {prev_band} -> {cur_band}, but the change is "
                + ("within measurement error" if reliable is False else "not assessable")
            )
        else:
            parts.append(f"{band_name} band {prev_band} -> {cur_band}")
    return Change(
        previous=x1,
        current=x2,
        difference=diff,
        previous_date=prev_date,
        sem=s,
        rci=rci,
        reliable=reliable,
        reliable_threshold=threshold,
        previous_band=prev_band,
        current_band=cur_band,
        band_changed=band_changed,
        criterion=criterion,
        text="; ".join(parts),
        category=category,
        reliability=reliability,
        crossed_cutoff=crossed,
    )


def _criterion(spec: Score, reliability: dict[str, Any] | None, threshold: float | None) -> str:
    """The rule behind the category, with the numbers and their sources."""
    text = (
        "Jacobson & Truax (1991): reliable when |RCI| > 1.96, RCI = difference / (sqrt(2) x SEM), "
        "SEM = SD x sqrt(1 - r)"
    )
    if reliability is not None:
        text += (
            f"; SD {formatting.compact(reliability['sd'])} ({reliability['sd_source']}), "
            f"r = {reliability['coefficient']} {formatting.apa(reliability['value'])} "
            f"({reliability['source']}): a reliable difference is at least "
            f"{formatting.compact(threshold)}"
        )
    cut = spec.clinical_cutoff
    if cut is not None:
        text += (
            f"; recovered = reliable improvement from the clinical range ({cut.clinical.strip()}, "
            f"{cut.source}) into the non-clinical range"
        )
    if spec.better is not None:
        text += f"; {spec.better} scores are better"
    return text


# ---- answers given interactively --------------------------------------------------------------


def check_answer(inst: Instrument, item: Item, text: str) -> tuple[str, Any]:
    """Classify one typed answer: ("answer", code), ("missing", text) or ("invalid", allowed)."""
    from .responses import INVALID, _ItemLookup

    reasons: list[str] = ["answered", "blank", "invalid"]
    lookup = _ItemLookup(inst, item, reasons)
    code, why = lookup.classify(text)
    if why == ANSWERED:
        return "answer", int(code) if float(code).is_integer() else code
    if why == INVALID or why == 1:
        return "invalid", lookup.allowed
    return "missing", text.strip()


def matched_items(
    inst: Instrument, columns: Sequence[str], mapping: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Item id -> column of the answers that match this instrument (as `psyscore score` matches).

    `mapping` (column -> item id, from ``--map``) may name items of other instruments too.
    """
    wanted = set(inst.item_ids)
    own = {c: i for c, i in (mapping or {}).items() if i in wanted}
    found, _ = match_columns(inst, list(columns), own)
    return found
