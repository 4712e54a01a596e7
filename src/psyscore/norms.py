"""Standard scores against a norm group, and the reliable-change quantities derived from reliability."""

from __future__ import annotations

import math

import numpy as np

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
