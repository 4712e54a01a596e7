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


def standard_scores(values: np.ndarray, mean: float, sd: float) -> tuple[np.ndarray, ...]:
    """z, T (mean 50, SD 10) and percentile, assuming the norm group's scores are normal.

    Percentiles are from the normal CDF, not an empirical table: psyscore says so in reports, and
    a definition that ships a published percentile table should be preferred when one exists.
    """
    z = (values - mean) / sd
    t = 50.0 + 10.0 * z
    pct = normal_cdf(z) * 100.0
    return np.round(z, 2), np.round(t, 1), np.round(pct, 1)


def sem(sd: float, reliability: float) -> float:
    """Standard error of measurement: SD * sqrt(1 - r)."""
    return sd * math.sqrt(1.0 - reliability)


def reliable_change_threshold(sd: float, reliability: float, z: float = 1.96) -> float:
    """Smallest difference that is reliable (Jacobson & Truax, 1991): z * sqrt(2) * SEM."""
    return z * math.sqrt(2.0) * sem(sd, reliability)
