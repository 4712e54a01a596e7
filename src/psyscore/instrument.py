"""Declarative instrument definitions: pydantic models, YAML loading and JSON Schema.

A definition is validated once, here, at the edge. Everything downstream (scoring, labels, reports,
docs) trusts the validated model. Errors name the file, the field path and the YAML line.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import operator
import re
import sys
import types
import typing
import unicodedata
import warnings
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import DefinitionError
from .yamlsafe import YamlProblem, load_yaml, scalar_value

Code = int | float
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]*$"
_SCORE_ID_PATTERN = r"^[a-z][a-z0-9_]*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _loinc_check_digit(number: str) -> int:
    """LOINC's mod-10 check digit (Luhn): doubles every other digit from the right."""
    total = 0
    for position, digit in enumerate(reversed(number)):
        value = int(digit) * (2 if position % 2 == 0 else 1)
        total += value // 10 + value % 10
    return (10 - total % 10) % 10


def _valid_loinc(code: str) -> str:
    """A LOINC code like 44261-6 whose check digit fits, so a mistyped code is refused."""
    match = re.fullmatch(r"(\d{1,7})-(\d)", code)
    if not match:
        raise ValueError(f"{code!r} is not a LOINC code like 44261-6")
    if _loinc_check_digit(match.group(1)) != int(match.group(2)):
        raise ValueError(
            f"LOINC code {code!r} fails its check digit (expected "
            f"{match.group(1)}-{_loinc_check_digit(match.group(1))}): a typo?"
        )
    return code


Loinc = Annotated[str, AfterValidator(_valid_loinc)]
_LOINC_DESCRIPTION = "LOINC code (e.g. 44261-6), exported to FHIR; only a code checked at loinc.org"


class _At(ValueError):
    """A validation error about one field below the model being validated.

    A model validator can only raise at the model's own location; `parse_definition` appends `loc`
    so the message points at the offending entry's line, not at the top of the file.
    """

    def __init__(self, loc: tuple, message: str) -> None:
        super().__init__(message)
        self.loc = loc


PRIVATE = "private"


def _is_private(value: str) -> bool:
    """'private' (any case, surrounding spaces ignored) marks a lab's own, unpublished source."""
    return value.strip().lower() == PRIVATE


def _did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _finite_codes(codes, field: str) -> None:
    for code in codes:
        if isinstance(code, float) and not math.isfinite(code):
            raise _At((field,), f"code {code} is not a finite number")


class Licence(_Model):
    """Who owns the instrument and what psyscore may ship of it."""

    status: Literal[
        "public-domain",
        "free-to-use",
        "free-for-research",
        "permission-required",
        "proprietary",
        "private",
    ] = Field(
        description="licence of the instrument; 'private' for a lab's own unpublished scale "
        "(the definition is then marked as not independently verified)"
    )
    item_text_shipped: bool = Field(
        False, description="True only when the licence allows shipping verbatim item wording."
    )
    note: str | None = None


class KeyProvenance(_Model):
    """Where the scoring key comes from and how sure we are of it."""

    source: str = Field(
        description="Primary source of the key (paper, manual, author's sheet), or 'private' "
        "for a lab's own scale (marked as not independently verified)."
    )
    verified: bool = Field(
        description="True only when checked against a primary source or two independent ones."
    )
    checked_against: list[str] = Field(default_factory=list)
    uncertain: list[str] = Field(
        default_factory=list,
        description="What is not settled; printed as a warning whenever the key is used.",
    )
    item_order_source: str | None = Field(
        None, description="Which published form the item numbering follows."
    )

    @model_validator(mode="after")
    def _unverified_needs_reason(self) -> KeyProvenance:
        if not self.verified and not self.uncertain:
            raise ValueError("an unverified key must list what is uncertain in 'uncertain'")
        return self


# Typographic variants that must not make two spellings of one anchor differ
_TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u02bc": "'",
        "\u0060": "'",
        "\u00b4": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u00a0": " ",
    }
)
_APOSTROPHE = re.compile(r"'")
_PUNCTUATION = re.compile(r"[^\w\s]|_")


def anchor_key(value: object) -> str:
    """Spelling-insensitive key of an answer text, for comparing answers with anchors.

    Case, repeated or surrounding spaces, curly quotes and apostrophes, `&` for "and" and
    punctuation do not matter: "Agree & Disagree Equally", "agree and disagree equally." and
    " AGREE AND  DISAGREE EQUALLY " all give "agree and disagree equally"; "Don’t know" gives
    "dont know". Text that reads as a number is never put through this (see
    `responses._ItemLookup.classify`), so "-1" cannot become "1".
    """
    text = unicodedata.normalize("NFKC", str(value)).translate(_TYPOGRAPHY).casefold()
    text = _APOSTROPHE.sub("", text.replace("&", " and "))
    return " ".join(_PUNCTUATION.sub(" ", text).split())


def _reads_as_number(value: object) -> bool:
    try:
        float(str(value).strip())
    except ValueError:
        return False
    return True


class AlternativeCoding(_Model):
    """Another published or common coding of the same answers, e.g. K10 coded 0-4 (US) not 1-5.

    Data in this coding hold each code of the definition plus `shift` (0-4 data for a 1-5
    definition: shift -1). The recode check names the coding when the data fit it, so the
    message can say what to do (`use`: the instrument that scores such data as they are).
    """

    shift: int = Field(description="data code = definition code + shift, e.g. -1 for 0-4 data")
    name: str = Field(description="what this coding is called, e.g. 'US 0-4 coding'")
    use: Annotated[str, Field(pattern=_ID_PATTERN)] | None = Field(
        None, description="id of the instrument that scores data in this coding, if any"
    )
    source: str | None = Field(None, description="where this coding is used or published")

    @field_validator("shift")
    @classmethod
    def _nonzero(cls, v: int) -> int:
        if v == 0:
            raise ValueError("an alternative coding needs a shift other than 0")
        return v


class ResponseScale(_Model):
    """Numeric codes with anchor labels, accepted text aliases and declared missing codes."""

    values: dict[Code, str] = Field(description="code -> anchor label, e.g. {0: Not at all}")
    aliases: dict[str, Code] = Field(
        default_factory=dict, description="extra accepted text -> code, e.g. {SA: 5}"
    )
    missing: dict[str | Code, str] = Field(
        default_factory=dict,
        description="declared missing code or text -> reason, e.g. {9: refused, -99: not asked}",
    )

    @field_validator("values")
    @classmethod
    def _at_least_two(cls, v: dict[Code, str]) -> dict[Code, str]:
        if len(v) < 2:
            raise ValueError("a response scale needs at least two codes")
        return v

    @model_validator(mode="after")
    def _no_overlaps(self) -> ResponseScale:
        _finite_codes(self.values, "values")
        _finite_codes(self.aliases.values(), "aliases")
        _finite_codes(self.missing, "missing")
        for code in self.missing:
            if not isinstance(code, str) and code in self.values:
                raise ValueError(f"missing code {code} is also a valid answer code")
        for alias, code in self.aliases.items():
            if code not in self.values:
                raise ValueError(
                    f"alias {alias!r} points at {code}, which is not a code of the scale"
                )
        return self

    @model_validator(mode="after")
    def _texts_stay_distinct(self) -> ResponseScale:
        """Answer texts are compared by `anchor_key`: two that read the same must mean the same."""
        meaning: dict[str, tuple[str, object]] = {}
        texts = [(label, code) for code, label in self.values.items()]
        texts += list(self.aliases.items())
        texts += [(c, f"missing ({why})") for c, why in self.missing.items() if isinstance(c, str)]
        for text, code in texts:
            if _reads_as_number(text):
                # a number-like label must be its own code: "2" typed is the code 2
                if not isinstance(code, str) and float(str(text).strip()) != float(code):
                    raise ValueError(f"label {text!r} reads as a number but is code {code}")
                continue
            key = anchor_key(text)
            if not key:
                raise ValueError(f"answer text {text!r} is empty once punctuation is ignored")
            seen = meaning.setdefault(key, (text, code))
            if seen[1] != code:
                raise ValueError(
                    f"{seen[0]!r} ({seen[1]}) and {text!r} ({code}) read the same once case, "
                    "spaces, '&' and punctuation are ignored; answers could not tell them apart"
                )
        return self

    @property
    def min(self) -> float:
        return float(min(self.values))

    @property
    def max(self) -> float:
        return float(max(self.values))


_CRITICAL_RULE = re.compile(r"^\s*(>=|<=|==|>|<)\s*(-?\d+(?:\.\d+)?)\s*$")
_OPS = {">=": operator.ge, "<=": operator.le, "==": operator.eq, ">": operator.gt, "<": operator.lt}


class CriticalRule(_Model):
    """An answer that must be surfaced at once (e.g. any thoughts of self-harm)."""

    when: str = Field(description="comparison on the raw answer code, e.g. '>= 1'")
    message: str = Field("critical item endorsed", description="what the alert says")

    @field_validator("when")
    @classmethod
    def _parse(cls, v: str) -> str:
        if not _CRITICAL_RULE.match(v):
            raise ValueError(f"{v!r} is not a comparison like '>= 1' or '== 3'")
        return v

    @property
    def op_and_value(self) -> tuple[Any, float]:
        m = _CRITICAL_RULE.match(self.when)
        assert m is not None
        return _OPS[m.group(1)], float(m.group(2))


class Item(_Model):
    id: Annotated[str, Field(pattern=_ID_PATTERN)]
    label: str = Field(description="short paraphrase in our own words, never the item text")
    text: str | None = Field(None, description="verbatim wording, only if the licence allows it")
    scale: str = Field(description="name of one of the instrument's response_scales")
    reverse: bool = Field(
        False,
        description="reverse-keyed: the code is replaced by min + max - code of its scale "
        "before scoring (1-5 scale: 1 becomes 5)",
    )
    critical: CriticalRule | None = Field(
        None, description="an answer to surface at once, e.g. {when: '>= 1'}"
    )
    aliases: list[str] = Field(default_factory=list, description="other accepted column names")
    loinc: Loinc | None = Field(None, description=_LOINC_DESCRIPTION)


class Band(_Model):
    upto: FiniteFloat = Field(description="inclusive upper bound of this band")
    label: str


class BandSet(_Model):
    name: str = Field(pattern=_SCORE_ID_PATTERN)
    source: str | None = None
    bands: list[Band]

    @field_validator("bands")
    @classmethod
    def _increasing(cls, v: list[Band]) -> list[Band]:
        bounds = [b.upto for b in v]
        if not bounds:
            raise ValueError("a band set needs at least one band")
        if bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
            raise ValueError(f"band upper bounds must strictly increase, got {bounds}")
        return v


class PercentileTable(_Model):
    """A published raw-score -> percentile table of a norm group (never interpolated)."""

    percentiles: dict[float, Annotated[float, Field(ge=0, le=100)]] = Field(
        description="raw score -> percentile, as printed in the source"
    )
    source: str
    page: str = Field(description="page or table number in the source, so it can be checked")

    @field_validator("percentiles")
    @classmethod
    def _monotone(cls, v: dict[float, float]) -> dict[float, float]:
        if not v:
            raise ValueError("a percentile table needs at least one row")
        ordered = sorted(v.items())
        for (raw_a, pct_a), (raw_b, pct_b) in zip(ordered, ordered[1:], strict=False):
            if pct_b < pct_a:
                raise ValueError(
                    f"percentile table decreases: {raw_a:g} -> {pct_a:g} but {raw_b:g} -> "
                    f"{pct_b:g}; percentiles never fall as the raw score rises"
                )
        return dict(ordered)


class NormGroup(_Model):
    group: str
    mean: FiniteFloat
    sd: Annotated[FiniteFloat, Field(gt=0)]
    n: int | None = None
    source: str
    distribution: Literal["normal", "skewed"] = Field(
        "skewed",
        description="'normal' only where the source treats the scores as normal: then a "
        "percentile comes from the normal approximation. Default 'skewed' (clinical screens pile "
        "up near 0): no percentile unless the group has a published `table`",
    )
    table: PercentileTable | None = None
    sex: Literal["male", "female", "any"] = Field(
        "any", description="who the group is for; intake picks the group from --sex"
    )
    age: tuple[FiniteFloat, FiniteFloat] | None = Field(
        None, description="[min, max] age in years (inclusive) the group covers; none: any age"
    )

    @field_validator("age")
    @classmethod
    def _age_range(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and not 0 <= v[0] <= v[1]:
            raise ValueError(f"age {list(v)} is not a range [min, max] with 0 <= min <= max")
        return v

    @property
    def percentile_method(self) -> str:
        """'table', 'normal-approximation' or 'none' (a skewed scale with no published table)."""
        if self.table is not None:
            return "table"
        return "normal-approximation" if self.distribution == "normal" else "none"

    def covers(self, sex: str | None, age: float | None) -> bool:
        """Whether a client of this sex and age belongs to the group (unknown: only 'any')."""
        if self.sex != "any" and sex != self.sex:
            return False
        return self.age is None or (age is not None and self.age[0] <= age <= self.age[1])

    @field_validator("sd")
    @classmethod
    def _normal_sd(cls, v: float) -> float:
        # a denormal SD loses precision and turns every z into +-inf
        if v < sys.float_info.min:
            raise ValueError(f"sd {v!r} is too small to divide by (denormal)")
        return v


class PublishedReliability(_Model):
    alpha: Annotated[float, Field(ge=0, le=1)] | None = None
    retest: Annotated[float, Field(ge=0, le=1)] | None = None
    source: str


class ClinicalCutoff(_Model):
    """The clinical range of a score, as a comparison on the score: '>= 10', '< 13.5'."""

    clinical: str = Field(description="comparison that is true in the clinical range")
    source: str

    @field_validator("clinical")
    @classmethod
    def _parse(cls, v: str) -> str:
        if not _CRITICAL_RULE.match(v) or v.strip().startswith("=="):
            raise ValueError(f"{v!r} is not a comparison like '>= 10' or '< 13.5'")
        return v

    @property
    def op_and_value(self) -> tuple[Any, float]:
        m = _CRITICAL_RULE.match(self.clinical)
        assert m is not None
        return _OPS[m.group(1)], float(m.group(2))

    def is_clinical(self, value: float) -> bool:
        op, threshold = self.op_and_value
        return bool(op(value, threshold))


_DEFAULT_MISSING = (
    "How many answered items the score needs. Default (no rule given): every item must be "
    "answered, so one blank item leaves the score unscored and lowers its n. A published rule "
    "that tolerates gaps must be declared, e.g. {min_answered: 1} (psych's scoreItems), "
    "{max_missing: 2} or {min_proportion: 0.8}; only 'mean' and 'prorated_sum' may tolerate gaps"
)


class MissingRule(_Model):
    """How many answered items a score needs; at most one of the three may be given.

    With none given (the default) every item must be answered.
    """

    min_answered: Annotated[int, Field(ge=1)] | None = None
    max_missing: Annotated[int, Field(ge=0)] | None = None
    min_proportion: Annotated[float, Field(gt=0, le=1)] | None = None
    source: str | None = Field(None, description="published rule, or 'psyscore policy'")

    @model_validator(mode="after")
    def _one_rule(self) -> MissingRule:
        given = [
            x for x in (self.min_answered, self.max_missing, self.min_proportion) if x is not None
        ]
        if len(given) > 1:
            raise ValueError("give only one of min_answered, max_missing, min_proportion")
        return self

    def needed(self, k: int) -> int:
        """Minimum number of answered items out of k."""
        if self.min_answered is not None:
            return self.min_answered
        if self.max_missing is not None:
            return max(k - self.max_missing, 1)
        if self.min_proportion is not None:
            # ceil with a tolerance so 0.8 * 10 is 8, not 9 from float error
            return max(int(-(-round(self.min_proportion * k, 9) // 1)), 1)
        return k


class Score(_Model):
    """One score: a sum, mean or prorated sum of items, or a composite of other scores."""

    label: str
    items: list[str] | None = Field(
        None, description="item ids whose (reverse-keyed) codes make the score"
    )
    scores: list[str] | None = Field(
        None, description="a composite of other scores of this instrument"
    )
    reverse: list[str] | None = Field(
        None,
        description="the items reverse-keyed in this score (psych's '-A1' keys): when given, "
        "exactly these items are reversed here and the items' own 'reverse' flags are ignored "
        "for this score, so an item can be reversed in one score and forward in another; "
        "'reverse: []' reverses none. Every listed item must be one of the score's items",
    )
    method: Literal["sum", "mean", "prorated_sum"] = Field(
        "sum",
        description="'sum' of the keyed item codes (default; needs every item), 'mean' of the "
        "answered items, or 'prorated_sum' (mean of answered items x number of items)",
    )
    missing: MissingRule = Field(MissingRule(), description=_DEFAULT_MISSING)
    rounding: Annotated[int, Field(ge=0, le=6)] | None = Field(
        None,
        description="decimal places (round half up) applied to the stored value before banding; "
        "only where the published scoring rule rounds (e.g. prorated totals to integers)",
    )
    decimals: Annotated[int, Field(ge=0, le=6)] | None = Field(
        None,
        description="decimal places shown (SPSS format, reports); the value keeps full precision. "
        "Default: the rounding, else 0 for sums and 2 for means and prorated sums",
    )
    bands: list[BandSet] = Field(default_factory=list, description="first set is the default")
    norms: list[NormGroup] = Field(default_factory=list, description="first group is the default")
    published_reliability: PublishedReliability | None = None
    higher_means: str | None = None
    loinc: Loinc | None = Field(None, description=_LOINC_DESCRIPTION)
    better: Literal["lower", "higher"] | None = Field(
        None,
        description="which direction is improvement; change is classified (Jacobson-Truax) only "
        "when declared",
    )
    clinical_cutoff: ClinicalCutoff | None = Field(
        None,
        description="the clinical range (e.g. '>= 10'): a reliable improvement that leaves it is "
        "'recovered'",
    )

    def is_reversed(self, item: Item) -> bool:
        """Whether `item` is reverse-keyed in this score (its own list, else the item's flag)."""
        return item.id in self.reverse if self.reverse is not None else item.reverse

    @model_validator(mode="after")
    def _items_xor_scores(self) -> Score:
        if (self.items is None) == (self.scores is None):
            raise ValueError(
                "a score has either 'items' or 'scores' (a composite), not both or neither"
            )
        members = self.items if self.items is not None else self.scores
        if not members:
            raise ValueError("a score needs at least one member")
        if len(set(members)) != len(members):
            raise ValueError("a score lists the same member twice")
        if self.reverse is not None:
            if self.items is None:
                raise ValueError("'reverse' lists items, so it belongs to a score of items")
            if len(set(self.reverse)) != len(self.reverse):
                raise ValueError("'reverse' lists the same item twice")
        if self.method == "sum" and self.missing != MissingRule() and self.items is not None:
            k = len(self.items)
            if self.missing.needed(k) < k:
                raise ValueError(
                    "method 'sum' cannot tolerate missing items; use 'prorated_sum' or 'mean'"
                )
        if self.items is not None and self.missing.needed(len(self.items)) > len(self.items):
            raise ValueError(
                f"the missing rule needs {self.missing.needed(len(self.items))} answered items, "
                f"but the score has only {len(self.items)}"
            )
        names = [b.name for b in self.bands]
        if len(set(names)) != len(names):
            raise ValueError(f"band set names must be unique, got {names}")
        return self


class Example(_Model):
    """A golden vector: answers in, expected outputs out. Run by tests and `instruments validate`."""

    name: str
    answers: dict[str, Code | str | None]
    expect: dict[str, Code | str | None] = Field(
        description="keys are score ids or '{score}_band', '{score}_band_{set}', '{score}_status', "
        "'{score}_n', '{score}_t', 'critical'"
    )
    note: str | None = None
    # None rather than False when unset, so definition_hash (which leaves nulls out) of a
    # definition that does not use the flag is what it was before the flag existed
    invalid_on_purpose: bool | None = Field(
        None,
        description="true when the example deliberately gives an answer that is not an answer "
        "of its item's scale (to show it is refused); otherwise every answer must be a code, "
        "anchor text or alias of the item's scale, a declared missing code, or null",
    )


warnings.filterwarnings("ignore", message='Field name "construct"', category=UserWarning)


class Instrument(_Model):
    # "construct" is the natural field name; pydantic warns it shadows the deprecated
    # BaseModel.construct classmethod, which psyscore never uses.
    kind: Literal["instrument"] = "instrument"
    id: Annotated[str, Field(pattern=_ID_PATTERN)]
    name: str
    version: str = "1"
    construct: Literal[
        "masculine_norms",
        "emotional_competence",
        "help_seeking",
        "clinical_screen",
        "relationship",
        "other",
    ]
    citation: str = Field(
        description="the publication of the instrument, or 'private' for a lab's own scale "
        "(marked as not independently verified)"
    )
    doi: str | None = None
    licence: Licence
    key: KeyProvenance
    prefix: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,30}$")] | None = Field(
        None, description="output column prefix; default: id with non-alphanumerics removed"
    )
    column_prefixes: list[str] = Field(
        default_factory=list,
        description="prefixes of item columns, matched as PREFIX + item number",
    )
    timeframe: str | None = None
    missing_codes: dict[str | Code, str] = Field(
        default_factory=dict, description="missing codes shared by all scales: code -> reason"
    )
    alternative_codings: list[AlternativeCoding] = Field(
        default_factory=list,
        description="other codings of the same answers in use (e.g. 0-4 for a 1-5 definition), "
        "named in the message when data fit one",
    )
    response_scales: dict[str, ResponseScale] = Field(
        description="named answer scales: scale name -> codes with anchor labels, aliases and "
        "missing codes"
    )
    items: list[Item] = Field(
        description="the items in published order; item n also matches a column PREFIX + n"
    )
    scores: dict[Annotated[str, Field(pattern=_SCORE_ID_PATTERN)], Score] = Field(
        description="score id -> score; output columns are named PREFIX_ID"
    )
    examples: list[Example] = Field(
        default_factory=list,
        description="golden vectors (answers -> expected outputs) run by `psyscore instruments "
        "validate` and the tests",
    )
    notes: str | None = None
    loinc: Loinc | None = Field(None, description=_LOINC_DESCRIPTION + " (the panel)")

    @model_validator(mode="after")
    def _cross_references(self) -> Instrument:
        _finite_codes(self.missing_codes, "missing_codes")
        ids = [i.id for i in self.items]
        seen: dict[str, int] = {}
        for n, item_id in enumerate(ids):
            if item_id in seen:
                raise _At(
                    ("items", n, "id"),
                    f"duplicate item id {item_id!r} (also item {seen[item_id] + 1})",
                )
            seen[item_id] = n
        for n, item in enumerate(self.items):
            if item.scale not in self.response_scales:
                raise _At(
                    ("items", n, "scale"),
                    f"item {item.id} uses scale {item.scale!r}; declared scales: "
                    f"{sorted(self.response_scales)}",
                )
        self._no_spellings_shared()
        known = set(ids)
        order = list(self.scores)
        for name, score in self.scores.items():
            if score.items is not None:
                unknown = [i for i in score.items if i not in known]
                if unknown:
                    raise _At(
                        ("scores", name, "items", score.items.index(unknown[0])),
                        f"score {name!r} lists unknown items {unknown}{_did_you_mean(unknown[0], ids)}",
                    )
                outside = [i for i in score.reverse or [] if i not in score.items]
                if outside:
                    raise _At(
                        ("scores", name, "reverse", score.reverse.index(outside[0])),
                        f"score {name!r} reverses {outside[0]!r}, which is not one of its items "
                        f"({', '.join(score.items)}){_did_you_mean(outside[0], score.items)}",
                    )
            else:
                for member in score.scores or []:
                    if member not in self.scores:
                        raise _At(
                            ("scores", name, "scores", score.scores.index(member)),
                            f"score {name!r} combines unknown score {member!r}"
                            f"{_did_you_mean(member, order)}",
                        )
                    if order.index(member) >= order.index(name):
                        raise _At(
                            ("scores", name, "scores", score.scores.index(member)),
                            f"score {name!r} combines {member!r}, which must be defined before it",
                        )
        for name in self.scores:
            self._bands_and_norms_fit(name)
        for n, ex in enumerate(self.examples):
            unknown = [a for a in ex.answers if a not in known]
            if unknown:
                raise _At(
                    ("examples", n, "answers"),
                    f"example {ex.name!r} answers unknown items {unknown}"
                    f"{_did_you_mean(unknown[0], ids)}",
                )
        return self

    def _example_answers_fit(self, n: int, ex: Example) -> None:
        """An example's answers must be answers, unless it says it is about an invalid one.

        A golden example with a typo (5 on a 0-3 scale) would otherwise test the refusal of an
        invalid answer while its author believes it tests a score.
        """
        by_id = {i.id: i for i in self.items}
        invalid = [
            (item_id, answer)
            for item_id, answer in ex.answers.items()
            if not self._is_answer(by_id[item_id], answer)
        ]
        if invalid and not ex.invalid_on_purpose:
            item_id, answer = invalid[0]
            scale = self.scale_of(by_id[item_id])
            codes = ", ".join(f"{c:g}" for c in scale.values)
            raise _At(
                ("examples", n, "answers", item_id),
                f"example {ex.name!r}: {item_id} = {answer!r} is not an answer of scale "
                f"{by_id[item_id].scale!r} (codes {codes}, their anchor texts or aliases, or a "
                "declared missing code); fix it, or set 'invalid_on_purpose: true' if the "
                "example shows an invalid answer being refused",
            )
        if ex.invalid_on_purpose and not invalid:
            raise _At(
                ("examples", n, "invalid_on_purpose"),
                f"example {ex.name!r} has invalid_on_purpose: true but every answer is valid",
            )

    def _is_answer(self, item: Item, answer: object) -> bool:
        """Whether `answer` is a code, anchor text or alias of the item's scale, missing, or null."""
        if answer is None:
            return True
        scale = self.scale_of(item)
        missing = self.missing_codes_for(item)
        if isinstance(answer, str) and _reads_as_number(answer):
            answer = float(answer)
        if isinstance(answer, str):
            texts = {anchor_key(label) for label in scale.values.values()}
            texts |= {anchor_key(alias) for alias in scale.aliases}
            texts |= {anchor_key(code) for code in missing if isinstance(code, str)}
            return anchor_key(answer) in texts
        numeric_missing = {
            float(code) for code in missing if not isinstance(code, str) or _reads_as_number(code)
        }
        return answer in scale.values or float(answer) in numeric_missing

    @model_validator(mode="after")
    def _proration_on_one_scale(self) -> Instrument:
        """A mean or prorated sum that tolerates missing items needs its items on one range.

        Otherwise the value depends on which items are missing and can leave the stated range
        (a prorated sum of a 0-1 and a 0-10 item with only the 0-10 item answered is 20 of 0-11).
        """
        by_id = {i.id: i for i in self.items}
        for name, score in self.scores.items():
            if score.items is None or score.method == "sum":
                continue
            if score.missing.needed(len(score.items)) >= len(score.items):
                continue
            ranges = {
                (self.scale_of(by_id[i]).min, self.scale_of(by_id[i]).max)
                for i in score.items
                if i in by_id and by_id[i].scale in self.response_scales
            }
            if len(ranges) > 1:
                raise ValueError(
                    f"score {name!r} is a {score.method} that tolerates missing items, so its "
                    "items need scales with the same minimum and maximum; found "
                    + ", ".join(f"{lo:g}-{hi:g}" for lo, hi in sorted(ranges))
                )
        return self

    @model_validator(mode="after")
    def _missing_texts_differ_from_anchors(self) -> Instrument:
        for text, why in self.missing_codes.items():
            if not isinstance(text, str) or _reads_as_number(text):
                continue
            for scale_name, scale in self.response_scales.items():
                anchors = {anchor_key(v) for v in scale.values.values()}
                anchors |= {anchor_key(a) for a in scale.aliases}
                if anchor_key(text) in anchors:
                    raise ValueError(
                        f"missing code {text!r} ({why}) reads the same as an answer of scale "
                        f"{scale_name!r}"
                    )
        return self

    @model_validator(mode="after")
    def _examples_answer_the_scale(self) -> Instrument:
        """Run after the structural checks, so their clearer messages come first."""
        for n, ex in enumerate(self.examples):
            self._example_answers_fit(n, ex)
        return self

    def _no_spellings_shared(self) -> None:
        """Refuse two items that one data column would match equally well (no silent pick).

        Column matching (responses.match_columns) tries the exact id, then the lower-cased id or
        alias, then a spelling-insensitive key ('q-1', 'q_1' and 'q.1' all give '1'); two items
        sharing a key at one of those levels would leave a column such as 'Q 1' to whichever item
        sorts first.
        """
        from .responses import column_key  # psyscore's package import has loaded it already

        owners: dict[tuple[int, str], tuple[int, str]] = {}
        for n, item in enumerate(self.items):
            names = [item.id, *item.aliases]
            keys = {(1, name.lower()) for name in names} | {(2, column_key(name)) for name in names}
            keys |= {(2, column_key(f"{p}_{n + 1}")) for p in self.column_prefixes}
            for key in sorted(keys):
                other = owners.setdefault(key, (n, item.id))
                if other[0] != n:
                    raise _At(
                        ("items", n, "id"),
                        f"items {other[1]} and {item.id} would both match a data column spelt "
                        f"like {key[1]!r} (names are matched ignoring case, spaces, '-', '_' and "
                        "'.'): rename one, or change its aliases or the column_prefixes",
                    )

    def _bands_and_norms_fit(self, name: str) -> None:
        """Bands must cover the score's whole range; norms must give finite z and T on it."""
        score = self.scores[name]
        low, high = self.score_range(name)
        for s, band_set in enumerate(score.bands):
            last = band_set.bands[-1].upto
            if last < high:
                raise _At(
                    ("scores", name, "bands", s, "bands", len(band_set.bands) - 1, "upto"),
                    f"band set {band_set.name!r} ends at {last:g}, but score {name!r} can reach "
                    f"{high:g}: scores above {last:g} would get no band; raise the last 'upto' "
                    f"to {high:g} or more",
                )
        for g, norm in enumerate(score.norms):
            furthest = max(abs(low - norm.mean), abs(high - norm.mean))
            t_score = 50 + 10 * (furthest / norm.sd)  # Python floats overflow to inf, not raise
            if not math.isfinite(t_score):
                raise _At(
                    ("scores", name, "norms", g, "sd"),
                    f"sd {norm.sd!r} makes z and T infinite for scores in {low:g}-{high:g}",
                )

    # ---- derived, never stored -------------------------------------------------------------
    @cached_property
    def output_prefix(self) -> str:
        return self.prefix or re.sub(r"[^a-z0-9]", "", self.id.lower())

    @cached_property
    def item_ids(self) -> list[str]:
        return [i.id for i in self.items]

    def scale_of(self, item: Item) -> ResponseScale:
        return self.response_scales[item.scale]

    def missing_codes_for(self, item: Item) -> dict[str | Code, str]:
        return {**self.missing_codes, **self.scale_of(item).missing}

    def score_range(self, name: str) -> tuple[float, float]:
        """Theoretical minimum and maximum of a score from the declared scales."""
        score = self.scores[name]
        if score.items is not None:
            by_id = {i.id: i for i in self.items}
            lows = [self.scale_of(by_id[i]).min for i in score.items]
            highs = [self.scale_of(by_id[i]).max for i in score.items]
        else:
            ranges = [self.score_range(m) for m in score.scores or []]
            lows, highs = [r[0] for r in ranges], [r[1] for r in ranges]
        if score.method == "mean":
            lo, hi = sum(lows) / len(lows), sum(highs) / len(highs)
        else:
            lo, hi = float(sum(lows)), float(sum(highs))
        if score.rounding is None:
            return lo, hi
        # the stored value is rounded: so is its range, or a value could sit outside it
        import numpy as np

        from .norms import round_half_up

        bounds = round_half_up(np.array([lo, hi]), score.rounding)
        return float(bounds[0]), float(bounds[1])

    def reversed_items(self, name: str) -> list[str]:
        """The items reverse-keyed in score `name`, in the score's order ([] for a composite)."""
        score = self.scores[name]
        by_id = {i.id: i for i in self.items}
        return [i for i in score.items or [] if score.is_reversed(by_id[i])]

    @cached_property
    def keys_differ_between_scores(self) -> bool:
        """True when some item is reverse-keyed in one score and forward in another."""
        by_id = {i.id: i for i in self.items}
        directions: dict[str, set[bool]] = {}
        for score in self.scores.values():
            for item_id in score.items or []:
                directions.setdefault(item_id, set()).add(score.is_reversed(by_id[item_id]))
        return any(len(d) > 1 for d in directions.values())

    @property
    def private_provenance(self) -> list[str]:
        """The provenance fields given as 'private' (citation, licence, key source)."""
        fields = {
            "citation": self.citation,
            "licence": self.licence.status,
            "key source": self.key.source,
        }
        return [name for name, value in fields.items() if _is_private(value)]

    @property
    def independently_verified(self) -> bool:
        """A verified key from a source others can check (not a private one)."""
        return self.key.verified and not self.private_provenance

    @property
    def warnings(self) -> list[str]:
        out = []
        if self.private_provenance:
            out.append(
                f"{self.id}: private definition ({', '.join(self.private_provenance)} private): "
                "its key is not independently verified; check it against your own records"
            )
        if not self.key.verified:
            out += [f"{self.id}: scoring key not verified: {u}" for u in self.key.uncertain]
        return out


class Bundle(_Model):
    """A named group of instruments scored together (e.g. a program's intake battery)."""

    kind: Literal["bundle"]
    id: Annotated[str, Field(pattern=_ID_PATTERN)]
    name: str
    instruments: list[str]
    notes: str | None = None


# ---- loading --------------------------------------------------------------------------------


def _line_map(node: yaml.Node, path: tuple = (), out: dict | None = None) -> dict[tuple, int]:
    """Map every field path in a YAML document to its 1-based line number.

    The node comes from `yamlsafe.load_yaml`, which has bounded its expansion and depth.
    """
    out = {} if out is None else out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = scalar_value(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str | int | float | bool) or key is None:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key)
            out[path + (key,)] = key_node.start_mark.line + 1
            _line_map(value_node, path + (key,), out)
            # pydantic reports dict keys as str: keep a string alias for numeric keys
            if not isinstance(key, str):
                _line_map(value_node, path + (str(key),), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, child in enumerate(node.value):
            _line_map(child, path + (i,), out)
    return out


def _nearest_line(lines: dict[tuple, int], loc: tuple) -> int | None:
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())


def _format_loc(loc: tuple) -> str:
    parts: list[str] = []
    for p in loc:
        if isinstance(p, int):
            parts.append(f"[{p}]")
        else:
            parts.append(("." if parts else "") + str(p))
    return "".join(parts) or "(top level)"


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The model class that the field path `loc` lands in (for naming the allowed fields)."""
    annotation: Any = model
    for part in loc:
        annotation = _unwrap_model(annotation, part)
        if annotation is None:
            return None
    return _unwrap_model(annotation, None)


def _unwrap_model(annotation: Any, part: object) -> Any:
    """Step from `annotation` into field/index/key `part` (None: just strip wrappers)."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            models = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(models) != 1:
                return None
            annotation = models[0]
        else:
            break
    if part is None:
        return (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(str(part))
        return field.annotation if field is not None else None
    origin = typing.get_origin(annotation)
    if origin is list:
        return typing.get_args(annotation)[0]
    if origin is dict:
        return typing.get_args(annotation)[1]
    return None


def _error_message(model: type[BaseModel], loc: tuple, err: dict) -> tuple[tuple, str]:
    """Location and message of one pydantic error, with a field-name suggestion for typos."""
    located = (err.get("ctx") or {}).get("error")
    if isinstance(located, _At):
        return loc + located.loc, str(located)
    if err["type"] == "extra_forbidden" and loc:
        owner = _model_at(model, loc[:-1])
        if owner is not None:
            allowed = list(owner.model_fields)
            return loc, (
                f"unknown field{_did_you_mean(loc[-1], allowed)}; allowed here: "
                f"{', '.join(allowed)}"
            )
    return loc, err["msg"]


def parse_definition(text: str, source: str = "<string>") -> Instrument | Bundle:
    """Validate a YAML definition; raise DefinitionError naming file, field and line.

    The YAML is read by `yamlsafe.load_yaml` (libyaml when available): alias bombs, duplicate keys
    and unbuildable values are refused before validation.
    """
    try:
        data, root = load_yaml(text)
    except YamlProblem as exc:
        where = f"{source}:{exc.line}" if exc.line else source
        raise DefinitionError(f"{where}: {exc.message}") from None
    if data is None:
        raise DefinitionError(
            f"{source}: the definition is empty; it needs at least id, name, items and scores "
            "(see `psyscore instruments show phq-9` for a complete one)"
        )
    if not isinstance(data, dict):
        raise DefinitionError(
            f"{source}: a definition must be a YAML mapping (id: ..., items: ...), "
            f"not {_yaml_kind(data)}"
        )
    odd_keys = [k for k in data if not isinstance(k, str)]
    if odd_keys:
        raise DefinitionError(
            f"{source}: top-level keys must be field names such as id, name, items and scores, "
            f"not {', '.join(repr(k) for k in odd_keys[:5])}"
        )
    _no_todo_left(data, root, source)
    model = Bundle if data.get("kind") == "bundle" else Instrument
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = _line_map(root) if root is not None else {}
        messages = []
        for err in exc.errors():
            loc = tuple(
                p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))
            )
            loc, message = _error_message(model, loc, err)
            line = _nearest_line(lines, loc)
            where = f"{source}:{line}" if line else source
            messages.append(f"{where}: {_format_loc(loc)}: {message}")
        raise DefinitionError("\n".join(messages)) from None


TODO = "TODO"  # the marker `psyscore instruments new` puts where a fact is needed


def _todo_values(data: object, path: tuple = ()):
    """(field path, text) of every string value that starts with TODO."""
    if isinstance(data, str):
        if data.lstrip().startswith(TODO):
            yield path, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _todo_values(value, path + (key,))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _todo_values(value, path + (i,))


def _no_todo_left(data: dict, root, source: str) -> None:
    """A drafted definition with a TODO left is not finished: refuse it, naming each line
    (replace each TODO with the fact it asks for)."""
    left = list(_todo_values(data))
    if not left:
        return
    lines = _line_map(root) if root is not None else {}
    messages = []
    for loc, text in left:
        line = _nearest_line(lines, loc)
        where = f"{source}:{line}" if line else source
        messages.append(f"{where}: {_format_loc(loc)}: still to be completed: {text.strip()}")
    raise DefinitionError("\n".join(messages))


def _yaml_kind(data: object) -> str:
    if isinstance(data, list):
        return "a list"
    if isinstance(data, str):
        return f"the text {data[:40]!r}"
    return f"a single value ({type(data).__name__})"


def load_definition(path: str | Path) -> Instrument | Bundle:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DefinitionError(f"{path}: no such definition file") from None
    except IsADirectoryError:
        raise DefinitionError(f"{path}: is a folder, not a definition file") from None
    except OSError as exc:
        raise DefinitionError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise DefinitionError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return parse_definition(text, str(path))


def definition_hash(defn: Instrument | Bundle) -> str:
    """Short stable hash of a validated definition, stamped into outputs for provenance.

    The first 12 hex digits of the SHA-256 of the validated definition as JSON, keys sorted, with
    every unset (null) field left out: ``json.dumps(defn.model_dump(mode="json",
    exclude_none=True), sort_keys=True)``. Leaving nulls out means an optional field added to the
    format later does not change the hash of a definition that does not use it (intake compares
    hashes before comparing visits).
    """
    payload = json.dumps(defn.model_dump(mode="json", exclude_none=True), sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def json_schema() -> dict:
    """JSON Schema of the definition format, generated from the models (never hand-written)."""
    schema = Instrument.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "psyscore instrument definition"
    return schema
