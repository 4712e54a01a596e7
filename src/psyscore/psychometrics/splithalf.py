"""Split-half reliability: fixed splits (odd-even, first-last) and the range over all splits.

References
----------
Guttman, L. (1945). A basis for analyzing test-retest reliability. Psychometrika, 10, 255-282.
Revelle, W. (1979). Hierarchical cluster analysis and the internal structure of tests.
    Multivariate Behavioral Research, 14, 57-74 (beta = worst split half).
Revelle, W. (2022). psych 2.2.9, ``splitHalf``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from math import ceil, comb

import numpy as np

from .alpha import cronbach_alpha
from .moments import cov2cor

__all__ = [
    "SplitHalf",
    "SplitRange",
    "split_half",
    "odd_even_split",
    "first_last_split",
    "split_half_range",
    "spearman_brown",
    "guttman_lambda2",
    "parse_split_half",
    "SPLIT_HALF_CHOICES",
]


def spearman_brown(r: float, factor: float = 2.0) -> float:
    """Spearman-Brown prophecy ``factor r / (1 + (factor - 1) r)`` (2 = double the length)."""
    return float(factor * r / (1.0 + (factor - 1.0) * r))


def _sb_unequal(r: float, k1: int, k2: int) -> float:
    # Horst (1951) as used by SPSS / PSPP "Spearman-Brown, unequal length"
    k = k1 + k2
    c = k1 * k2 / k**2
    r2 = r * r
    if r2 >= 1.0:
        return float(r)
    return float((np.sqrt(r2 * r2 + 4.0 * r2 * (1.0 - r2) * c) - r2) / (2.0 * (1.0 - r2) * c))


@dataclass
class SplitHalf:
    """One split of the items into parts A and B (raw scores, i.e. from the covariances)."""

    part_a: tuple[str, ...]
    part_b: tuple[str, ...]
    r_forms: float  # correlation between the two half-scale sums
    spearman_brown: float  # 2r / (1 + r)
    spearman_brown_unequal: float  # Horst's correction for unequal halves (SPSS / PSPP)
    guttman: float  # 2 (1 - (var A + var B) / var total) (Flanagan-Rulon)
    alpha_a: float
    alpha_b: float

    def to_dict(self) -> dict:
        return {
            "part_a": list(self.part_a),
            "part_b": list(self.part_b),
            "r_forms": self.r_forms,
            "spearman_brown": self.spearman_brown,
            "spearman_brown_unequal": self.spearman_brown_unequal,
            "guttman": self.guttman,
            "alpha_a": self.alpha_a,
            "alpha_b": self.alpha_b,
        }


def split_half(C: np.ndarray, part_a, columns=None) -> SplitHalf:
    """Split-half statistics of a given split from the covariance matrix ``C``.

    ``part_a`` holds the indices of the items in part A (the rest form part B). With
    ``a``/``b`` indicator vectors: ``var A = a'Ca``, ``var B = b'Cb``, ``cov = a'Cb``,
    ``r = cov / sqrt(var A var B)``, Spearman-Brown ``2r/(1+r)``, Guttman
    ``2 (1 - (var A + var B)/1'C1)``. Agrees with PSPP ``RELIABILITY /MODEL=SPLIT``.
    """
    C = np.asarray(C, dtype=float)
    k = C.shape[0]
    names = list(columns) if columns is not None else [f"V{i + 1}" for i in range(k)]
    a = np.zeros(k, dtype=bool)
    a[list(part_a)] = True
    b = ~a
    va = C[np.ix_(a, a)].sum()
    vb = C[np.ix_(b, b)].sum()
    cab = C[np.ix_(a, b)].sum()
    r = cab / np.sqrt(va * vb)
    return SplitHalf(
        part_a=tuple(n for n, f in zip(names, a, strict=True) if f),
        part_b=tuple(n for n, f in zip(names, b, strict=True) if f),
        r_forms=float(r),
        spearman_brown=spearman_brown(r),
        spearman_brown_unequal=_sb_unequal(r, int(a.sum()), int(b.sum())),
        guttman=float(2.0 * (1.0 - (va + vb) / C.sum())),
        alpha_a=cronbach_alpha(C[np.ix_(a, a)]),
        alpha_b=cronbach_alpha(C[np.ix_(b, b)]),
    )


def odd_even_split(C: np.ndarray, columns=None) -> SplitHalf:
    """Odd items (1st, 3rd, ...) against even items, with Spearman-Brown correction."""
    return split_half(C, range(0, np.shape(C)[0], 2), columns)


def first_last_split(C: np.ndarray, n_first: int | None = None, columns=None) -> SplitHalf:
    """First ``n_first`` items (default ``k // 2``) against the rest (PSPP ``/MODEL=SPLIT(n)``)."""
    k = np.shape(C)[0]
    return split_half(C, range(k // 2 if n_first is None else n_first), columns)


def guttman_lambda2(C: np.ndarray) -> float:
    """Guttman's lambda-2 ``(sum_off + sqrt(k/(k-1) sum_off2)) / 1'C1`` (psych splitHalf)."""
    C = np.asarray(C, dtype=float)
    k = C.shape[0]
    off = C - np.diag(np.diag(C))
    return float((off.sum() + np.sqrt(np.sum(off**2) * k / (k - 1.0))) / C.sum())


@dataclass
class SplitRange:
    """Range of split-half reliabilities over (all or sampled) splits, as psych::splitHalf."""

    lambda4: float  # maximum split half (psych maxrb)
    beta: float  # minimum split half (psych minrb)
    mean: float  # mean split half (psych meanr)
    max_split: tuple[tuple[str, ...], tuple[str, ...]]
    min_split: tuple[tuple[str, ...], tuple[str, ...]]
    n_splits: int
    method: str  # "all", "psych" or "sampled"
    values: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0))

    def to_dict(self) -> dict:
        return {
            "lambda4": self.lambda4,
            "beta": self.beta,
            "mean": self.mean,
            "max_split": [list(self.max_split[0]), list(self.max_split[1])],
            "min_split": [list(self.min_split[0]), list(self.min_split[1])],
            "n_splits": self.n_splits,
            "method": self.method,
        }


def _combination_matrix(k: int, m: int, limit: int | None = None) -> np.ndarray:
    it = combinations(range(k), m)
    total = comb(k, m) if limit is None else min(limit, comb(k, m))
    idx = np.fromiter(
        (i for c in (next(it) for _ in range(total)) for i in c), dtype=np.int64, count=total * m
    ).reshape(total, m)
    a = np.zeros((total, k), dtype=np.float64)
    np.put_along_axis(a, idx, 1.0, axis=1)
    return a


def split_half_range(
    R: np.ndarray,
    columns=None,
    *,
    max_items: int = 16,
    n_sample: int = 10000,
    seed: int | None = 42,
    covar: bool = False,
    psych_compat: bool = False,
    method: str | None = None,
) -> SplitRange:
    """Maximum (lambda-4) and minimum (beta) split-half reliability over splits.

    As ``psych::splitHalf(r, brute=TRUE)`` with its default ``covar=FALSE``: ``R`` is turned into
    a correlation matrix and each split ``(A, B)``, ``|A| = floor(k/2)``, gets the
    Guttman/Flanagan coefficient ``4 a'Rb / 1'R1``. All splits are evaluated at once as one
    matrix product over the indicator matrix of splits (vectorised).

    With ``k <= max_items`` every split is enumerated (``C(k, k/2)/2`` splits for even ``k``,
    ``C(k, floor(k/2))`` for odd ``k``); otherwise ``n_sample`` random splits are drawn
    (seeded), as psych does for large ``k``.

    ``method="psych"`` (or ``psych_compat=True``) reproduces a psych 2.2.9 quirk for odd ``k``:
    psych enumerates only the first ``ceil(C(k, m)/2)`` combinations in lexicographic order (and
    divides their sum by ``C(k, m)/2`` for the mean), so for odd ``k`` its max/min may miss some
    splits (on 5-item scales by up to about .05). ``method="all"`` (the default) evaluates every
    distinct split. For even ``k`` both are identical.
    """
    if method is None:
        method = "psych" if psych_compat else "all"
    if method not in {"all", "psych"}:
        raise ValueError(f"split-half range method must be 'all' or 'psych', not {method!r}")
    psych_compat = method == "psych"
    R = np.asarray(R, dtype=float)
    if not covar:
        R = cov2cor(R)
    k = R.shape[0]
    names = list(columns) if columns is not None else [f"V{i + 1}" for i in range(k)]
    m = k // 2
    if k < 2:
        raise ValueError("split halves need at least 2 items")
    total = R.sum()
    count_psych = comb(k, m) / 2.0
    if k <= max_items:
        if psych_compat:
            n_eval = ceil(count_psych)
            method = "psych"
        else:
            n_eval = comb(k, m) // 2 if k % 2 == 0 else comb(k, m)
            method = "all"
        A = _combination_matrix(k, m, n_eval)
    else:
        rng = np.random.default_rng(seed)
        keys = rng.random((n_sample, k))
        idx = np.argsort(keys, axis=1)[:, :m]
        A = np.zeros((n_sample, k))
        np.put_along_axis(A, idx, 1.0, axis=1)
        method = "sampled"
    row = R.sum(axis=1)
    ar = A @ R
    rab = 4.0 * (A @ row - np.einsum("ij,ij->i", ar, A)) / total
    i_max, i_min = int(np.argmax(rab)), int(np.argmin(rab))
    mean = float(rab.sum() / count_psych) if method == "psych" else float(rab.mean())

    def _split(i):
        a = A[i] > 0
        return (
            tuple(n for n, f in zip(names, a, strict=True) if f),
            tuple(n for n, f in zip(names, a, strict=True) if not f),
        )

    return SplitRange(
        lambda4=float(rab[i_max]),
        beta=float(rab[i_min]),
        mean=mean,
        max_split=_split(i_max),
        min_split=_split(i_min),
        n_splits=int(A.shape[0]),
        method=method,
        values=rab,
    )


SPLIT_HALF_CHOICES = "all | psych | first-m | first-N"


def parse_split_half(spec: str) -> tuple[str, int | None]:
    """``--split-half`` value -> (mode, m).

    ``"all"``: max/min over every distinct split; ``"psych"``: over the splits psych 2.2.9's
    ``splitHalf`` enumerates; ``"first-m"`` (or ``"first"``): PSPP's ``/MODEL=SPLIT`` with the
    first ``floor(k/2)`` items against the rest; ``"first-N"``: the first ``N`` items (PSPP
    ``/MODEL=SPLIT(N)``). With a first-m split the max/min still cover all splits.

    Raises ``ValueError`` for anything else.
    """
    text = str(spec).strip().lower()
    if text in {"all", "psych"}:
        return text, None
    if text in {"first", "first-m"}:
        return "first", None
    if text.startswith("first-") and text[6:].isdigit() and int(text[6:]) >= 1:
        return "first", int(text[6:])
    raise ValueError(f"--split-half must be one of {SPLIT_HALF_CHOICES}, not {spec!r}")
