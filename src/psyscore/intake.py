"""Score ONE intake form for a clinician: alerts first, then every score with what is and is not known.

Pure logic, no I/O. `score_form(instruments, answers)` builds a one-row table, scores it through
`batch.score_table` like any batch (so a one-row file gets every check `psyscore score` makes:
mapping and recodes, value labels, user-missing codes, shifted codes), and returns an `IntakeResult`:

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
from typing import Any

import numpy as np
import pandas as pd

from . import __version__
from .errors import UsageError
from .instrument import Instrument, Item, Score, definition_hash
from .norms import reliable_change_threshold, sem
from .norms import standard_scores as _standard_scores
from .report import formatting
from .responses import ANSWERED, FileMissing, ItemMatrix, match_columns
from .scoring import score as score_engine

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
    z: float
    t: float
    percentile: float
    sem: float | None = None  # in raw-score units
    ci95: tuple[float, float] | None = None  # raw-score units
    t_ci95: tuple[float, float] | None = None
    alpha: float | None = None
    alpha_source: str | None = None


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
    change: Change | None = None
    reliability_note: str | None = None
    change_note: str | None = None  # why there is no change, or a caveat about it


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
            "instruments": [asdict(i) for i in self.instruments],
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


def _fill(items: ItemMatrix, high: bool) -> np.ndarray:
    """Row 0's codes with every missing item at the raw code that keys to its scale min (max)."""
    inst = items.instrument
    row = items.codes[0].copy()
    for j, item in enumerate(inst.items):
        if np.isnan(row[j]):
            scale = inst.scale_of(item)
            want_max = high != item.reverse  # a reverse item reaches its keyed max at raw min
            row[j] = scale.max if want_max else scale.min
    return row


def _bounds(items: ItemMatrix) -> pd.DataFrame:
    """Scores of row 0 with every missing item at its keyed minimum (row 0) and maximum (row 1)."""
    inst = items.instrument
    codes = np.empty((2, len(inst.items)), order="F")
    codes[0] = _fill(items, high=False)
    codes[1] = _fill(items, high=True)
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


def _norm(spec: Score, value: float | None) -> tuple[Norm | None, str | None]:
    if not spec.norms or value is None:
        return None, None if spec.norms else "no published norms in the definition"
    group = spec.norms[0]
    z, t, pct = (float(a[0]) for a in _standard_scores(np.array([value]), group.mean, group.sd))
    norm = Norm(group=group.group, source=group.source, z=z, t=t, percentile=pct)
    rel = spec.published_reliability
    note = None
    if rel is not None and rel.alpha is not None:
        s = sem(group.sd, rel.alpha)
        half = Z95 * s
        t_half = Z95 * s / group.sd * 10.0
        raw_t = 50.0 + 10.0 * (value - group.mean) / group.sd
        norm.sem = round(s, 3)
        norm.ci95 = (round(value - half, 2), round(value + half, 2))
        norm.t_ci95 = (round(raw_t - t_half, 1), round(raw_t + t_half, 1))
        norm.alpha, norm.alpha_source = rel.alpha, rel.source
    else:
        note = "no published alpha in the definition: no SEM, confidence interval or RCI"
    return norm, note


# ---- scoring one form -------------------------------------------------------------------------


def answers_frame(answers: Mapping[str, Any]) -> pd.DataFrame:
    """One-row table from item id (or any accepted column spelling) -> code / text / None."""
    data = {str(k): pd.Series([v], dtype=object) for k, v in answers.items()}
    return pd.DataFrame(data, index=pd.RangeIndex(1))


def score_form(
    instruments: Sequence[Instrument],
    answers: Mapping[str, Any] | pd.DataFrame,
    *,
    client_id: str | None = None,
    date: str | None = None,
    mapping: Mapping[str, str] | None = None,
    file_missing: FileMissing | None = None,
    recodes: Mapping[str, Mapping[object, float]] | None = None,
    value_labels: Mapping[str, Mapping] | None = None,
) -> IntakeResult:
    """Score one form through the same path as a batch (`psyscore.batch.score_table`).

    Parameters
    ----------
    instruments
        The instruments of the form.
    answers
        Item id (or any accepted column spelling) -> answer, or a one-row DataFrame (a CSV row).
    mapping, recodes
        Column -> item id and column -> {file value: code}, as from a ``--map`` file.
    file_missing, value_labels
        User-missing declarations and value labels of the file the row came from (SPSS). Value
        labels are the evidence that codes are shifted ("1 = Not at all" where the definition
        codes "Not at all" as 0).

    Raises
    ------
    DataError
        When the codes disagree with an instrument's scale, exactly as `psyscore score` refuses
        them: a plausible but shifted score is never reported.
    """
    from .batch import score_table

    table = answers if isinstance(answers, pd.DataFrame) else answers_frame(answers)
    if len(table) != 1:
        raise UsageError(f"an intake form is one respondent; the data has {len(table)} rows")
    table = table.reset_index(drop=True)
    batch = score_table(
        table,
        instruments,
        mapping=mapping,
        file_missing=file_missing,
        recodes=recodes,
        value_labels=value_labels,
        replace_scores=True,  # a row of an already scored file: its old scores are not used
    )
    results = [
        _score_instrument(
            inst,
            batch.items[inst.id],
            batch.scores[inst.id],
            [p for p in batch.problems if p.instrument == inst.id],
        )
        for inst in instruments
    ]
    return IntakeResult(client_id=client_id, date=date, instruments=results)


def _score_instrument(
    inst: Instrument, items: ItemMatrix, scored: pd.DataFrame, problems: list
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
        norm, rel_note = _norm(spec, value)
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
            norm=norm,
            reliability_note=rel_note,
        )
        if missing:
            result.range = _range(inst, name, spec, frame, missing, by_id)
        scores.append(result)

    return InstrumentResult(
        id=inst.id,
        name=inst.name,
        short=_short(inst),
        verified=inst.key.verified,
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
    if spec.bands:
        first = spec.bands[0].name
        if settled[first]:
            text += f": band settled ({bands_low[first]})"
        else:
            text += f": band not determined ({_or_list(possible[first])})"
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


def compare(result: IntakeResult, previous: Mapping[str, Any], instruments: Sequence[Instrument]):
    """Attach a `Change` to every score that has a comparable value now and in `previous`.

    `previous` is an intake JSON (`IntakeResult.to_dict()`). Scores are compared only when the
    instrument was scored with the same definition (same `definition_sha256`); otherwise, or when
    a score is missing on either side, `change` stays None and `change_note` says why. A previous
    result that predates the hash is compared, with that caveat in `change_note`.
    """
    check_previous(previous)
    result.previous_date = previous.get("date")
    by_id = {i.id: i for i in instruments}
    earlier = {pi["id"]: pi for pi in previous["instruments"]}
    for inst_res in result.instruments:
        inst = by_id[inst_res.id]
        prev_inst = earlier.get(inst_res.id)
        if prev_inst is None:
            _note_all(inst_res, f"not compared: the previous result has no {inst.id} scores")
            continue
        prev_hash = prev_inst.get("definition_sha256")
        if prev_hash is not None and prev_hash != inst_res.definition_sha256:
            _note_all(
                inst_res,
                f"not compared: the previous {inst.id} result was scored with a different "
                f"definition (sha256 {prev_hash[:12]}, now {str(inst_res.definition_sha256)[:12]}), "
                "so the two scores are not comparable",
            )
            continue
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
                sc.change_note = f"not compared: the previous result has no {sc.column}"
            elif sc.value is None or prev.get("value") is None:
                when = "now" if sc.value is None else "in the previous result"
                sc.change_note = f"not compared: {sc.column} is not scored {when}"
            else:
                sc.change = _change(inst, sc, prev, result.previous_date)
                sc.change_note = caveat


def _note_all(inst_res: InstrumentResult, note: str) -> None:
    for sc in inst_res.scores:
        sc.change_note = note


def _change(inst: Instrument, sc: ScoreResult, prev: Mapping[str, Any], prev_date) -> Change:
    spec = inst.scores[sc.name]
    x1, x2 = float(prev["value"]), float(sc.value)
    diff = round(x2 - x1, 6)
    s = rci = threshold = None
    reliable = None
    rel = spec.published_reliability
    if spec.norms and rel is not None and rel.alpha is not None:
        sd = spec.norms[0].sd
        s = sem(sd, rel.alpha)
        rci = round(diff / (math.sqrt(2.0) * s), 2)
        threshold = round(reliable_change_threshold(sd, rel.alpha), 2)
        reliable = abs(diff / (math.sqrt(2.0) * s)) > Z95
        s = round(s, 3)
    prev_band = cur_band = None
    band_changed = None
    criterion = "no bands in the definition: clinical significance not assessed"
    if spec.bands:
        first = spec.bands[0]
        prev_band = (prev.get("bands") or {}).get(first.name)
        cur_band = sc.bands.get(first.name)
        band_changed = prev_band != cur_band
        criterion = (
            f"change of {first.name} band"
            + (f" ({first.source})" if first.source else "")
            + "; Jacobson-Truax criterion c needs clinical and functional norms, not available"
        )
    digits = spec.rounding if spec.rounding is not None else 2
    shown_diff = formatting.signed(diff, digits)
    parts = [f"{sc.column} {fmt_value(x1, spec.rounding)} -> {sc.display} ({shown_diff})"]
    if rci is None:
        parts.append("reliability of change not assessable (no norm SD and published alpha)")
    else:
        parts.append(
            f"RCI {formatting.signed(rci, 2, trim=False)}: "
            + ("reliable change" if reliable else "not a reliable change")
            + f" (|RCI| > 1.96, i.e. a difference of at least {formatting.compact(threshold)})"
        )
    if band_changed is not None:
        parts.append(
            f"band {prev_band} -> {cur_band}: "
            + ("clinically significant (band boundary crossed)" if band_changed else "same band")
        )
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
    )


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
