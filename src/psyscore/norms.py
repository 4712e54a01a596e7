"""Standard scores against a norm group, and the reliable-change quantities derived from reliability."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

# Below this many values the normal CDF comes from math.erfc, so scoring one intake form does not
# pay for importing scipy (~0.2 s); batches use scipy's vectorised ndtr.
_SMALL = 256


def normal_cdf(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=float)
    if z.size <= _SMALL:
        flat = [
            math.nan if math.isnan(x) else 0.5 * math.erfc(-x / math.sqrt(2.0)) for x in z.ravel()
        ]
        return np.array(flat, dtype=float).reshape(z.shape)
    from scipy.special import ndtr

    return ndtr(z)


def round_half_up(values: np.ndarray, decimals: int | None) -> np.ndarray:
    """Round half away from zero (clinical convention: 11.5 -> 12), not numpy's half-to-even."""
    if decimals is None:
        return values
    factor = 10.0**decimals
    # the tiny nudge keeps 2.675 (stored as 2.67499999...) rounding the way a person expects
    return np.sign(values) * np.floor(np.abs(values) * factor + 0.5 + 1e-9) / factor


def standard_scores(values: np.ndarray, mean: float, sd: float) -> tuple[np.ndarray, ...]:
    """z, T (mean 50, SD 10) and percentile, assuming the norm group's scores are normal.

    Percentiles are from the normal CDF, not an empirical table: psyscore says so in reports, and
    a definition that ships a published percentile table should be preferred when one exists.
    """
    z = (values - mean) / sd
    t = 50.0 + 10.0 * z
    pct = normal_cdf(z) * 100.0
    # half up, as every other number psyscore rounds (z 0.125 -> 0.13, T 51.25 -> 51.3)
    return round_half_up(z, 2), round_half_up(t, 1), round_half_up(pct, 1)


def sem(sd: float, reliability: float) -> float:
    """Standard error of measurement: SD * sqrt(1 - r)."""
    return sd * math.sqrt(1.0 - reliability)


def reliable_change_threshold(sd: float, reliability: float, z: float = 1.96) -> float:
    """Smallest difference that is reliable (Jacobson & Truax, 1991): z * sqrt(2) * SEM."""
    return z * math.sqrt(2.0) * sem(sd, reliability)


# A standard score further than this from the norm mean is not reported: neither a normal model
# nor a norm sample of a few thousand says anything reliable about |z| > 4 (1 in 15,000).
Z_LIMIT = 4.0

PERCENTILE_METHOD_TEXT = {
    "table": "from the published percentile table",
    "normal-approximation": "from the normal approximation",
    "none": "not given",
}


def percentile_method_text(group) -> str:
    """How a norm group's percentiles are obtained, for reports and column labels."""
    method = group.percentile_method
    if method == "table":
        return f"percentile from the published table ({group.table.source}, {group.table.page})"
    if method == "normal-approximation":
        return "percentile from the normal approximation (the source treats scores as normal)"
    return (
        "no percentile: the scores of this norm group are skewed and the definition has no "
        "published percentile table, so a normal-curve percentile would be wrong"
    )


# A score matches a table row within this distance (float noise of a prorated integer total).
_ROW_TOLERANCE = 1e-9


def percentiles(values: np.ndarray, group) -> np.ndarray:
    """Percentile of each value against `group`, or NaN where the norm gives none.

    A published table is used for the raw scores it lists, exactly (never interpolated, never
    extended beyond its rows); the normal approximation only for a group declared `normal`; a
    skewed group without a table gives no percentile at all.
    """
    values = np.asarray(values, dtype=float)
    method = group.percentile_method
    if method == "normal-approximation":
        z = (values - group.mean) / group.sd
        return round_half_up(normal_cdf(z) * 100.0, 1)
    out = np.full(values.shape, np.nan)
    if method == "table":
        raws = np.array(list(group.table.percentiles), dtype=float)
        pcts = np.array(list(group.table.percentiles.values()), dtype=float)
        # search from just below the value, so float noise on either side finds the row
        idx = np.clip(np.searchsorted(raws, values - _ROW_TOLERANCE), 0, len(raws) - 1)
        exact = np.isclose(raws[idx], values, rtol=0.0, atol=_ROW_TOLERANCE)
        out[exact] = pcts[idx[exact]]
    return out


def beyond_norm(z: np.ndarray) -> np.ndarray:
    """Per value: 1 above, -1 below the range a norm supports (|z| > Z_LIMIT), else 0.

    Intake and batch both leave z and T empty there (never extrapolated) and say so.
    """
    z = np.asarray(z, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(z > Z_LIMIT, 1, np.where(z < -Z_LIMIT, -1, 0))


def covering_group(groups, sex: np.ndarray, age: np.ndarray) -> np.ndarray:
    """Per row, the index of the first norm group that covers it, or -1 where none does.

    `sex` holds "male", "female", None (not known) or any other text (a sex no group is for);
    `age` holds years, NaN where not known. A group for one sex or an age range covers only rows
    known to belong to it: an unknown sex is never compared with men. This is the one rule for
    intake (`psyscore.intake.select_norm_group`, one row) and batch (`--norm-by`, every row).
    """
    sex = np.asarray(sex, dtype=object)
    age = np.asarray(age, dtype=float)
    chosen = np.full(sex.shape, -1, dtype=np.int64)
    for index, group in enumerate(groups):
        fits = np.ones(sex.shape, dtype=bool)
        if group.sex != "any":
            fits &= sex == group.sex
        if group.age is not None:
            with np.errstate(invalid="ignore"):
                fits &= (age >= group.age[0]) & (age <= group.age[1])
        chosen[(chosen == -1) & fits] = index
    return chosen


def group_label(group) -> str:
    """'women [female, age 18-60]': a norm group with whom it is for (as reports name it)."""
    who = [group.sex] if group.sex != "any" else []
    if group.age is not None:
        who.append(f"age {group.age[0]:g}-{group.age[1]:g}")
    return group.group + (f" [{', '.join(who)}]" if who else "")


# Why a row has no norm group (`--norm-by`), in the order they are decided: as intake says it.
NO_GROUP_SEX_UNKNOWN = "none: sex not known"
NO_GROUP_AGE_UNKNOWN = "none: age not known"
NO_GROUP_OUTSIDE = "none: no norm group for this sex and age"


def no_group_reasons(groups, sex: np.ndarray, age: np.ndarray) -> np.ndarray:
    """Per row, the index in (sex unknown, age unknown, outside) of why no group covers it."""
    sex = np.asarray(sex, dtype=object)
    age = np.asarray(age, dtype=float)
    by_sex = any(g.sex != "any" for g in groups)
    by_age = any(g.age is not None for g in groups)
    sex_unknown = np.array([s is None for s in sex], dtype=bool) if by_sex else np.zeros(0, bool)
    reason = np.full(sex.shape, 2, dtype=np.int64)
    if by_age:
        reason[np.isnan(age)] = 1
    if by_sex:
        reason[sex_unknown] = 0
    return reason


def standardise(values: np.ndarray, groups, chosen: np.ndarray) -> dict[str, np.ndarray]:
    """z, T, percentile and the beyond flag of each value against its row's group.

    `chosen` holds per row an index into `groups`, or -1 (no group: all NaN). z and T are left
    empty beyond |z| > Z_LIMIT (never extrapolated; `beyond` is 1 above, -1 below), as is a
    normal-approximation percentile there; a table percentile only for a raw score it lists.
    """
    values = np.asarray(values, dtype=float)
    means = np.array([g.mean for g in groups] + [np.nan])[chosen]
    sds = np.array([g.sd for g in groups] + [np.nan])[chosen]
    z = (values - means) / sds
    beyond = beyond_norm(z)
    out_of_range = beyond != 0
    z = np.where(out_of_range, np.nan, z)
    pct = np.full(values.shape, np.nan)
    for index, group in enumerate(groups):
        rows = chosen == index
        if rows.any():
            pct[rows] = percentiles(values[rows], group)
            if group.percentile_method == "normal-approximation":
                pct[rows & out_of_range] = np.nan
    return {
        "z": round_half_up(z, 2),
        "t": round_half_up(50.0 + 10.0 * z, 1),
        "pct": pct,
        "beyond": beyond,
    }


# ---- --norm-by: each row's sex and age from declared columns ----------------------------------

# Text that says a sex without doubt. A number (1, 2) does not: which one is female differs
# between surveys, so a code counts only where the file's value labels name it.
SEX_WORDS = {
    "male": "male",
    "m": "male",
    "man": "male",
    "female": "female",
    "f": "female",
    "woman": "female",
}


@dataclass(frozen=True)
class NormRows:
    """Per row, the sex ("male", "female", None unknown, other text) and age (NaN unknown)."""

    sex: np.ndarray | None = None
    age: np.ndarray | None = None

    def sex_of(self, n: int) -> np.ndarray:
        return self.sex if self.sex is not None else np.full(n, None, dtype=object)

    def age_of(self, n: int) -> np.ndarray:
        return self.age if self.age is not None else np.full(n, np.nan)


def parse_norm_by(spec: str | Mapping[str, str] | None) -> dict[str, str]:
    """'sex=gender,age=age_years' -> {"sex": "gender", "age": "age_years"}; UsageError if not."""
    from .errors import UsageError

    if spec is None:
        return {}
    if isinstance(spec, Mapping):
        pairs = dict(spec)
    else:
        pairs = {}
        for part in [p.strip() for p in spec.split(",") if p.strip()]:
            key, sep, column = part.partition("=")
            if not sep or not column.strip():
                raise UsageError(
                    f"--norm-by {spec!r}: give WHO=COLUMN pairs, e.g. sex=gender,age=age_years"
                )
            if key.strip() in pairs:
                raise UsageError(f"--norm-by {spec!r}: {key.strip()} is given twice")
            pairs[key.strip()] = column.strip()
    unknown = sorted(set(pairs) - {"sex", "age"})
    if unknown or not pairs:
        raise UsageError(
            f"--norm-by: {', '.join(unknown) or 'nothing given'}: norm groups are chosen by sex "
            "and age only (e.g. --norm-by sex=gender,age=age_years)"
        )
    return pairs


def norm_rows_from_table(
    table: pd.DataFrame, norm_by: Mapping[str, str], value_labels: Mapping[str, Mapping] | None
) -> tuple[NormRows, list[str]]:
    """Read each row's sex and age from the columns `norm_by` names; notes say how.

    A sex is male or female text (m/f, man/woman, any case), or a code whose value label (SPSS)
    says so; codes without such labels are refused (DataError with the values found), as are ages
    that are not numbers of years. A missing cell is an unknown sex or age (no group by it).
    """
    from .errors import DataError, UsageError

    for what, column in norm_by.items():
        if column not in table.columns:
            raise UsageError(
                f"--norm-by {what}={column}: the data has no column {column!r} "
                f"(columns: {', '.join(map(str, list(table.columns)[:8]))} ...)"
            )
    notes: list[str] = []
    sex = age = None
    if "sex" in norm_by:
        column = norm_by["sex"]
        labels = (value_labels or {}).get(column) or {}
        sex, meaning = _decode_sex(table[column], labels, column)
        notes.append(f"--norm-by sex={column}: {meaning}")
    if "age" in norm_by:
        column = norm_by["age"]
        raw = table[column]
        years = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        missing = raw.isna().to_numpy() | (raw.astype(str).str.strip() == "").to_numpy()
        bad = ~missing & (np.isnan(years) | (years < 0) | (years > 130))
        if bad.any():
            found = ", ".join(repr(v) for v in pd.unique(raw[bad])[:5])
            rows = ", ".join(str(r) for r in (np.flatnonzero(bad) + 1)[:5])
            raise DataError(
                f"--norm-by age={column}: {found} (row {rows}) is not an age in years (0-130); "
                "fix the column or leave the cell empty (an unknown age)"
            )
        age = np.where(missing, np.nan, years)
    return NormRows(sex=sex, age=age), notes


def _decode_sex(column: pd.Series, labels: Mapping, name: str) -> tuple[np.ndarray, str]:
    """Per row "male", "female", None (missing) or the value as text (a sex no group is for)."""
    from .errors import DataError

    uniques = pd.unique(column.dropna())
    meaning: dict[object, str | None] = {}
    said: dict[str, list[str]] = {}
    unlabelled = []
    for value in uniques:
        text = str(value).strip()
        if not text:
            meaning[value] = None
            continue
        label = _label_of(labels, value)
        word = SEX_WORDS.get(text.casefold())
        via_label = False
        if word is None and label is not None:
            word, via_label = SEX_WORDS.get(label.strip().casefold()), True
        if word is not None:
            meaning[value] = word
            shown = f"{_show(value)} ({label})" if via_label else _show(value)
            said.setdefault(word, []).append(shown)
        elif _is_number(value) and label is None:
            unlabelled.append(_show(value))
        else:
            meaning[value] = f"{text} ({label})" if label and label != text else text
    if unlabelled:
        raise DataError(
            f"--norm-by sex={name}: the codes {', '.join(sorted(unlabelled))} do not say which "
            "sex they are (no value labels name them male or female). Give the column male/female "
            "text (or m/f), or value labels in an SPSS file"
        )
    mapped = column.map(meaning).to_numpy(dtype=object)
    mapped = np.where(pd.isna(mapped), None, mapped)
    parts = [f"{', '.join(v)} = {w}" for w, v in sorted(said.items(), reverse=True)]
    others = sorted({m for m in meaning.values() if m not in (None, "male", "female")})
    if others:
        parts.append(f"{', '.join(others)}: no norm group (the groups are for male or female)")
    return mapped, "; ".join(parts) or "no value"


def _label_of(labels: Mapping, value) -> str | None:
    for code, label in labels.items():
        try:
            if float(code) == float(value):
                return str(label)
        except (TypeError, ValueError):
            if str(code) == str(value):
                return str(label)
    return None


def _is_number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _show(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
