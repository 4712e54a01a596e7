"""Standard scores against a norm group, and the reliable-change quantities derived from reliability."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr


def standard_scores(values: np.ndarray, mean: float, sd: float) -> tuple[np.ndarray, ...]:
    """z, T (mean 50, SD 10) and percentile, assuming the norm group's scores are normal.

    Percentiles are from the normal CDF, not an empirical table: psyscore says so in reports, and
    a definition that ships a published percentile table should be preferred when one exists.
    """
    z = (values - mean) / sd
    t = 50.0 + 10.0 * z
    pct = ndtr(z) * 100.0
    return np.round(z, 2), np.round(t, 1), np.round(pct, 1)


def sem(sd: float, reliability: float) -> float:
    """Standard error of measurement: SD * sqrt(1 - r)."""
    return sd * math.sqrt(1.0 - reliability)


def reliable_change_threshold(sd: float, reliability: float, z: float = 1.96) -> float:
    """Smallest difference that is reliable (Jacobson & Truax, 1991): z * sqrt(2) * SEM."""
    return z * math.sqrt(2.0) * sem(sd, reliability)
