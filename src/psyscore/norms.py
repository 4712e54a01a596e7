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
