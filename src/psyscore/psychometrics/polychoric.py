"""Polychoric correlations by two-step maximum likelihood, as ``psych::polychoric`` 2.2.9.

Method (psych 2.2.9 ``polychoric`` with its defaults ``global = TRUE, correct = .5,
smooth = TRUE``):

1. Codes are shifted so the smallest code of the whole matrix is category 1; psych refuses
   more than ``max.cat = 8`` categories, and so does this module.
2. Thresholds: ``tau_ic = qnorm(cumulative proportion of item i up to category c)``, from all
   of item i's answers (global thresholds, not per pair).
3. Per pair, over the rows answering both: ``rho`` maximises ``sum n_ab log P_ab(rho)``, where
   ``P_ab`` is the bivariate normal probability of the threshold rectangle of cell (a, b);
   cells with ``P_ab <= 0`` (an unused category) are left out, as psych sets their log to NA.
   psych uses ``optimize`` on (-1, 1) (tolerance about 1e-4); here a golden-section search
   runs to 1e-10, vectorised over all pairs.
4. When the items do not share the same highest category, psych 2.2.9 switches to
   ``global = FALSE``: thresholds per pair from the pair's own table, without its empty rows
   and columns, after the ``correct = .5`` correction (each empty cell counts as half an
   answer, when there is one). This module does the same.
5. A matrix that is not positive definite is smoothed as ``psych::cor.smooth``.

Everything comes from contingency tables (counts per item pair and category), which add up
over chunks of rows: :class:`OrdinalCounts` merges like :class:`~psyscore.psychometrics.Moments`.

The bivariate normal CDF is Genz's (2004) ``bvnl`` (Drezner & Wesolowsky 1990, with
Gauss-Legendre quadrature), vectorised; it agrees with
``scipy.stats.multivariate_normal.cdf`` to about 1e-12 and is hundreds of times faster.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "MAX_CATEGORIES",
    "OrdinalCounts",
    "PolychoricResult",
    "bvn_cdf",
    "polychoric",
    "polychoric_from_counts",
    "cor_smooth",
    "add_ordinal_reliability_from_counts",
    "whole_code_counts",
]

MAX_CATEGORIES = 8  # psych::polychoric(max.cat = 8)
CORRECT = 0.5  # psych::polychoric(correct = .5)

# Gauss-Legendre nodes and weights, 20 points (half of them; Genz's bvnl)
_GL_W = np.array(
    [
        0.01761400713915212,
        0.04060142980038694,
        0.06267204833410906,
        0.08327674157670475,
        0.1019301198172404,
        0.1181945319615184,
        0.1316886384491766,
        0.1420961093183821,
        0.1491729864726037,
        0.1527533871307259,
    ]
)
_GL_X = np.array(
    [
        0.9931285991850949,
        0.9639719272779138,
        0.9122344282513259,
        0.8391169718222188,
        0.7463319064601508,
        0.6360536807265150,
        0.5108670019508271,
        0.3737060887154196,
        0.2277858511416451,
        0.07652652113349733,
    ]
)
_W = np.concatenate([_GL_W, _GL_W])
_X = np.concatenate([1 - _GL_X, 1 + _GL_X])


def _phi(x: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr

    return ndtr(x)


def bvn_cdf(h, k, r) -> np.ndarray:
    """P(X < h, Y < k) for a standard bivariate normal with correlation ``r`` (broadcast).

    ``h`` and ``k`` may be infinite; ``|r| <= 1``. Genz's ``bvnl`` algorithm with 20-point
    Gauss-Legendre quadrature throughout (accurate to about 1e-15).
    """
    h, k, r = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (h, k, r)))
    out = np.empty(h.shape, dtype=float)
    lo = np.isneginf(h) | np.isneginf(k)
    hi_h = np.isposinf(h) & ~lo
    hi_k = np.isposinf(k) & ~lo & ~hi_h
    finite = ~(lo | hi_h | hi_k)
    out[lo] = 0.0
    out[hi_h] = _phi(k[hi_h])
    out[hi_k] = _phi(h[hi_k])
    if finite.any():
        out[finite] = _bvnu(-h[finite], -k[finite], r[finite])
    return out


def _bvnu(h: np.ndarray, k: np.ndarray, r: np.ndarray) -> np.ndarray:
    """P(X > h, Y > k), finite h and k (Genz's ``bvnu``), element-wise over 1-d arrays."""
    out = np.empty(h.shape, dtype=float)
    small = np.abs(r) < 0.925
    if small.any():
        hs_, ks_, rs_ = h[small], k[small], r[small]
        hk = hs_ * ks_
        hs = (hs_ * hs_ + ks_ * ks_) / 2
        asr = np.arcsin(rs_) / 2
        sn = np.sin(asr[:, None] * _X[None, :])
        bvn = np.exp((sn * hk[:, None] - hs[:, None]) / (1 - sn**2)) @ _W
        out[small] = bvn * asr / (2 * np.pi) + _phi(-hs_) * _phi(-ks_)  # hs_, ks_: h and k
    large = ~small
    if large.any():
        out[large] = _bvnu_high(h[large], k[large], r[large])
    return np.clip(out, 0.0, 1.0)


def _bvnu_high(h: np.ndarray, k: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Genz's branch for |r| >= 0.925 (a series in 1 - r^2 plus quadrature)."""
    k = np.where(r < 0, -k, k)
    hk = h * k
    bvn = np.zeros(h.shape)
    inner = np.abs(r) < 1
    if inner.any():
        hi, ki, ri, hki = h[inner], k[inner], r[inner], hk[inner]
        as_ = (1 - ri) * (1 + ri)
        a = np.sqrt(as_)
        bs = (hi - ki) ** 2
        asr = -(bs / as_ + hki) / 2
        c = (4 - hki) / 8
        d = (12 - hki) / 80
        with np.errstate(under="ignore", over="ignore", invalid="ignore"):
            b1 = np.where(
                asr > -100,
                a * np.exp(asr) * (1 - c * (bs - as_) * (1 - d * bs) / 3 + c * d * as_**2),
                0.0,
            )
            b = np.sqrt(bs)
            sp = np.sqrt(2 * np.pi) * _phi(-b / a)
            b1 = np.where(
                hki > -100, b1 - np.exp(-hki / 2) * sp * b * (1 - c * bs * (1 - d * bs) / 3), b1
            )
            a2 = a / 2
            xs = (a2[:, None] * _X[None, :]) ** 2
            asr2 = -(bs[:, None] / xs + hki[:, None]) / 2
            keep = asr2 > -100
            spx = 1 + c[:, None] * xs * (1 + 5 * d[:, None] * xs)
            rs = np.sqrt(1 - xs)
            ep = np.exp(-(hki[:, None] / 2) * xs / (1 + rs) ** 2) / rs
            terms = np.where(keep, np.exp(np.where(keep, asr2, 0.0)) * (spx - ep), 0.0)
            bvn[inner] = (a2 * (terms @ _W) - b1) / (2 * np.pi)
    pos = r > 0
    out = np.empty(h.shape)
    out[pos] = bvn[pos] + _phi(-np.maximum(h[pos], k[pos]))
    neg = ~pos
    hn, kn, bn = h[neg], k[neg], bvn[neg]
    lower = np.where(hn < 0, _phi(kn) - _phi(hn), _phi(-hn) - _phi(-kn))
    out[neg] = np.where(hn >= kn, -bn, lower - bn)
    return out


@dataclass
class OrdinalCounts:
    """Contingency tables of every item pair over fixed categories; they add up over chunks.

    ``tables[i, j, a, b]`` counts the rows answering item i with category a and item j with
    category b (``tables[i, i]`` is diagonal: item i's own frequencies, over all its answers).
    """

    columns: list[str]
    categories: np.ndarray  # the code of each category, ascending
    tables: np.ndarray  # (k, k, c, c) counts

    @classmethod
    def from_data(cls, items: pd.DataFrame, categories=None) -> OrdinalCounts:
        """Count the answers of ``items`` (NaN = missing) per pair and category.

        ``categories`` (the codes, e.g. the scale's declared range) keeps chunks comparable;
        by default the integers from the smallest to the largest code present, as psych.

        Raises
        ------
        ValueError
            When a code is not a whole number or not among ``categories``, or there are more
            than 8 categories (psych's ``max.cat``).
        """
        x = items.to_numpy(dtype=float)
        seen = x[np.isfinite(x)]
        if seen.size and not np.all(seen == np.round(seen)):
            raise ValueError(
                "polychoric correlations need whole-number category codes; the items have "
                "codes such as " + ", ".join(f"{v:g}" for v in np.unique(seen[seen % 1 != 0])[:3])
            )
        if categories is None:  # psych: every integer from the smallest to the largest code
            categories = np.arange(seen.min(), seen.max() + 1) if seen.size else np.zeros(1)
        categories = np.asarray(categories, dtype=float)
        if categories.size > MAX_CATEGORIES:
            raise ValueError(
                f"polychoric correlations need at most {MAX_CATEGORIES} categories (as "
                f"psych::polychoric's max.cat); these items have {categories.size} "
                f"({categories.min():g} to {categories.max():g})"
            )
        unknown = seen[~np.isin(seen, categories)]
        if unknown.size:
            raise ValueError(f"code {unknown[0]:g} is not one of the categories {categories}")
        k, c = x.shape[1], categories.size
        onehot = np.zeros((x.shape[0], k, c))
        for j, code in enumerate(categories):
            onehot[:, :, j] = x == code
        flat = onehot.reshape(x.shape[0], k * c)
        tables = (flat.T @ flat).reshape(k, c, k, c).transpose(0, 2, 1, 3)
        return cls([str(col) for col in items.columns], categories, tables)

    def merge(self, other: OrdinalCounts) -> OrdinalCounts:
        """The counts of both chunks (same columns and categories)."""
        if self.columns != other.columns or not np.array_equal(self.categories, other.categories):
            raise ValueError("cannot merge counts of different items or categories")
        return OrdinalCounts(self.columns, self.categories, self.tables + other.tables)

    def subset(self, columns: list[str]) -> OrdinalCounts:
        idx = [self.columns.index(c) for c in columns]
        return OrdinalCounts(list(columns), self.categories, self.tables[np.ix_(idx, idx)])

    def frequencies(self) -> np.ndarray:
        """(k, c) each item's category counts over all its answers."""
        k = len(self.columns)
        return self.tables[np.arange(k), np.arange(k)].diagonal(axis1=1, axis2=2).copy()


@dataclass
class PolychoricResult:
    """``rho`` (k x k), ``tau`` (k x c-1 global thresholds), as ``psych::polychoric``."""

    columns: list[str]
    rho: np.ndarray
    tau: np.ndarray
    global_thresholds: bool
    smoothed: bool
    corrected_cells: int  # empty cells given half an answer (global = FALSE only)
    n_pairs_min: int

    def to_dict(self) -> dict:
        return {
            "items": list(self.columns),
            "rho": self.rho.tolist(),
            "tau": np.where(np.isfinite(self.tau), self.tau, np.nan).tolist(),
            "global_thresholds": self.global_thresholds,
            "smoothed": self.smoothed,
            "corrected_cells": self.corrected_cells,
        }


def polychoric(items: pd.DataFrame, categories=None) -> PolychoricResult:
    """Polychoric correlation matrix of ordinal items (NaN = missing), as psych::polychoric.

    Items without variance should be left out first (psych deletes them).
    """
    return polychoric_from_counts(OrdinalCounts.from_data(items, categories))


def _thresholds(freq: np.ndarray) -> np.ndarray:
    """qnorm of the cumulative proportions, without the last (always 1): (..., c-1)."""
    from scipy.special import ndtri

    total = freq.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        cum = np.cumsum(freq, axis=-1)[..., :-1] / total
        return ndtri(np.clip(cum, 0.0, 1.0))


def polychoric_from_counts(counts: OrdinalCounts) -> PolychoricResult:
    """:func:`polychoric` from (merged) contingency tables."""
    k = len(counts.columns)
    freq = counts.frequencies()
    # psych shifts every code by the smallest code of the matrix; its tables and thresholds
    # then run to the largest code: trailing categories nobody used are dropped the same way
    used = np.nonzero(freq.sum(axis=0) > 0)[0]
    c_lo, c_hi = (used[0], used[-1] + 1) if used.size else (0, 1)
    freq = freq[:, c_lo:c_hi]
    tables = counts.tables[:, :, c_lo:c_hi, c_lo:c_hi]
    tau = _thresholds(freq)
    # psych 2.2.9: items with different highest categories -> per-pair thresholds (global=FALSE)
    top = np.array([np.nonzero(f > 0)[0].max() if (f > 0).any() else -1 for f in freq])
    global_tau = bool(np.all(top == top[0]))
    il, jl = np.tril_indices(k, -1)
    tab = tables[il, jl].astype(float)  # (pairs, c, c)
    tot = tab.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        weights = tab / tot[:, None, None]
    corrected = 0
    if global_tau:
        rc, cc = tau[il], tau[jl]
    else:
        weights, rc, cc, corrected = _pair_thresholds(tab, tot)
    rho_pairs = _max_likelihood(weights, rc, cc)
    rho_pairs[tot == 0] = np.nan
    rho = np.eye(k)
    rho[il, jl] = rho_pairs
    rho[jl, il] = rho_pairs
    smoothed = False
    if np.all(np.isfinite(rho)):
        rho, smoothed = cor_smooth(rho)
    return PolychoricResult(
        columns=list(counts.columns),
        rho=rho,
        tau=tau,
        global_thresholds=global_tau,
        smoothed=smoothed,
        corrected_cells=int(corrected),
        n_pairs_min=int(tot.min()) if tot.size else 0,
    )


def _pair_thresholds(tab: np.ndarray, tot: np.ndarray):
    """psych's ``global = FALSE`` branch: per pair, the table without its empty rows and
    columns, empty cells set to ``correct / n`` (when any), thresholds from its margins."""
    with np.errstate(invalid="ignore", divide="ignore"):
        weights = tab / tot[:, None, None]
    rows_used = tab.sum(axis=2) > 0  # (pairs, c)
    cols_used = tab.sum(axis=1) > 0
    inside = rows_used[:, :, None] & cols_used[:, None, :]
    empty = inside & (tab == 0)
    correction = np.where(tot > 0, CORRECT / np.where(tot > 0, tot, 1), 0.0)
    weights = np.where(empty, correction[:, None, None], weights)
    rc = _pair_cuts(weights.sum(axis=2), rows_used)
    cc = _pair_cuts(weights.sum(axis=1), cols_used)
    return weights, rc, cc, int(empty.sum())


def _pair_cuts(margin: np.ndarray, used: np.ndarray) -> np.ndarray:
    """Thresholds after each category, +inf after the last used one (psych drops it)."""
    from scipy.special import ndtri

    cum = np.cumsum(margin, axis=1)[:, :-1]
    later = np.flip(np.cumsum(np.flip(used, axis=1), axis=1), axis=1)[:, 1:] > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        cuts = ndtri(np.clip(cum, 0.0, 1.0))
    return np.where(later, cuts, np.inf)


def _cell_probabilities(rho: np.ndarray, rc: np.ndarray, cc: np.ndarray) -> np.ndarray:
    """(pairs, c, c) rectangle probabilities; NaN where the rectangle is empty (psych: NA)."""
    pairs, m = rc.shape
    ninf = np.full((pairs, 1), -np.inf)
    pinf = np.full((pairs, 1), np.inf)
    rows = np.concatenate([ninf, rc, pinf], axis=1)  # (pairs, c+1)
    cols = np.concatenate([ninf, cc, pinf], axis=1)
    F = bvn_cdf(rows[:, :, None], cols[:, None, :], rho[:, None, None])
    P = F[:, 1:, 1:] - F[:, :-1, 1:] - F[:, 1:, :-1] + F[:, :-1, :-1]
    width_r = rows[:, 1:] > rows[:, :-1]
    width_c = cols[:, 1:] > cols[:, :-1]
    valid = width_r[:, :, None] & width_c[:, None, :] & (P > 0)
    return np.where(valid, P, np.nan)


def _neg_loglik(rho, weights, rc, cc) -> np.ndarray:
    P = _cell_probabilities(rho, rc, cc)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = weights * np.log(P)
    return -np.nansum(terms, axis=(1, 2))


def _max_likelihood(weights, rc, cc, tol: float = 1e-10) -> np.ndarray:
    """Golden-section search for every pair at once on (-1, 1), as psych's ``optimize``."""
    n = weights.shape[0]
    if n == 0:
        return np.zeros(0)
    g = (np.sqrt(5) - 1) / 2
    a = np.full(n, -1.0)
    b = np.full(n, 1.0)
    c = b - g * (b - a)
    d = a + g * (b - a)
    fc = _neg_loglik(c, weights, rc, cc)
    fd = _neg_loglik(d, weights, rc, cc)
    while np.max(b - a) > tol:
        left = fc < fd  # the minimum is in [a, d]
        b = np.where(left, d, b)
        a = np.where(left, a, c)
        new_c = np.where(left, b - g * (b - a), d)
        new_d = np.where(left, c, a + g * (b - a))
        f_new = _neg_loglik(np.where(left, new_c, new_d), weights, rc, cc)
        fc, fd = np.where(left, f_new, fd), np.where(left, fc, f_new)
        c, d = new_c, new_d
    return (a + b) / 2


def cor_smooth(R: np.ndarray, eig_tol: float = 1e-12) -> tuple[np.ndarray, bool]:
    """``psych::cor.smooth``: a matrix with an eigenvalue below machine epsilon gets those
    eigenvalues set to ``100 * eig_tol``, rescaled to sum k, and back to a correlation matrix.

    Returns ``(R, smoothed)``.
    """
    values, vectors = np.linalg.eigh(R)
    if values.min() >= np.finfo(float).eps:
        return R, False
    warnings.warn(
        "the polychoric matrix was not positive definite; it was smoothed (psych::cor.smooth)",
        stacklevel=3,
    )
    values = np.where(values < eig_tol, 100 * eig_tol, values)
    values = values * R.shape[0] / values.sum()
    S = (vectors * values) @ vectors.T
    d = np.sqrt(np.diag(S))
    return S / np.outer(d, d), True


CORRELATIONS = ("pearson", "polychoric")


def add_ordinal_reliability(result, items: pd.DataFrame, *, nfactors: int = 3, omega: bool = True):
    """Add ordinal alpha and omega from the polychoric matrix to a ScaleReliability.

    ``items`` are the scale's reverse-keyed answers (the frame behind ``result``). Adds to
    ``result.summary``: ``correlations`` ("polychoric"), ``ordinal_alpha`` (alpha of the
    polychoric matrix: psych::alpha on it), ``ordinal_average_r``, ``ordinal_omega_total_1f``
    (psych::omega(poly = TRUE, nfactors = 1)), ``ordinal_omega_total`` and ``ordinal_omega_h``
    (``nfactors`` group factors, when the scale has ``2 * nfactors`` items), ``ordinal_reason``
    (None, or why a value is missing) and ``polychoric`` (items, rho, thresholds). The Pearson
    statistics are left as they are.
    """
    summary = result.summary
    used = [str(c) for c in summary.get("items_used", items.columns)]
    frame = items.set_axis([str(c) for c in items.columns], axis=1)[used]
    return _add_ordinal(result, used, lambda: polychoric(frame), nfactors=nfactors, omega=omega)


def add_ordinal_reliability_from_counts(
    result, counts: OrdinalCounts, nonwhole=None, *, nfactors: int = 3, omega: bool = True
):
    """:func:`add_ordinal_reliability` from merged contingency tables (chunks of a file).

    ``counts`` holds the score's keyed items (any categories covering their whole codes, e.g.
    every whole number of the declared scale: the ones nobody used are dropped as psych drops
    them); ``nonwhole`` maps an item to the codes that are not whole numbers it had (not in the
    tables). The result is the one :func:`add_ordinal_reliability` gives on the rows.
    """
    used = [str(c) for c in result.summary.get("items_used", counts.columns)]

    def fit() -> PolychoricResult:
        found = np.array(sorted({v for c in used for v in (nonwhole or {}).get(c, ())}))
        if found.size:  # as OrdinalCounts.from_data words it
            raise ValueError(
                "polychoric correlations need whole-number category codes; the items have "
                "codes such as " + ", ".join(f"{v:g}" for v in found[:3])
            )
        sub = counts.subset(used)
        answered = np.nonzero(sub.frequencies().sum(axis=0) > 0)[0]
        if answered.size and answered[-1] - answered[0] + 1 > MAX_CATEGORIES:
            lo, hi = sub.categories[answered[0]], sub.categories[answered[-1]]
            raise ValueError(
                f"polychoric correlations need at most {MAX_CATEGORIES} categories (as "
                f"psych::polychoric's max.cat); these items have {answered[-1] - answered[0] + 1} "
                f"({lo:g} to {hi:g})"
            )
        return polychoric_from_counts(sub)

    return _add_ordinal(result, used, fit, nfactors=nfactors, omega=omega)


def whole_code_counts(items: pd.DataFrame, categories) -> OrdinalCounts:
    """:class:`OrdinalCounts` of ``items`` over the whole-number ``categories`` (any number of
    them), codes that are none of them left out: the counts of one chunk, to be merged."""
    x = items.to_numpy(dtype=float)
    categories = np.asarray(categories, dtype=float)
    k, c = x.shape[1], categories.size
    # rows a block at a time: the one-hot codes stay small whatever the chunk (the counts are
    # whole numbers, so the blocks add up to the same tables exactly)
    block = max(1, BLOCK_CELLS // max(k * c, 1))
    tables = np.zeros((k * c, k * c))
    for start in range(0, x.shape[0], block):
        part = x[start : start + block]
        onehot = np.zeros((part.shape[0], k, c))
        for j, code in enumerate(categories):
            onehot[:, :, j] = part == code
        flat = onehot.reshape(part.shape[0], k * c)
        tables += flat.T @ flat
    tables = tables.reshape(k, c, k, c).transpose(0, 2, 1, 3)
    return OrdinalCounts([str(col) for col in items.columns], categories, tables)


BLOCK_CELLS = 1 << 21  # one-hot cells per block of rows in whole_code_counts (16 MB)


def _add_ordinal(result, used: list[str], fit, *, nfactors: int, omega: bool):
    """The ordinal statistics of `result` from `fit()` (a PolychoricResult of the `used`
    items; a ValueError says why there is none)."""
    from . import alpha as A
    from .omega import omega as fit_omega
    from .scale import ReliabilityWarning, omega_reason

    summary = result.summary
    summary.update(
        correlations="polychoric",
        ordinal_alpha=float("nan"),
        ordinal_average_r=float("nan"),
        ordinal_omega_total=float("nan"),
        ordinal_omega_h=float("nan"),
        ordinal_omega_total_1f=float("nan"),
        ordinal_reason=None,
    )
    if len(used) < 2:
        summary["ordinal_reason"] = "ordinal alpha needs at least 2 items with variance"
        return result
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            poly = fit()
    except ValueError as exc:
        summary["ordinal_reason"] = f"no polychoric correlations: {exc}"
        result.warnings.append(ReliabilityWarning("ordinal_failed", summary["ordinal_reason"]))
        return result
    for w in caught:
        result.warnings.append(ReliabilityWarning("polychoric_smoothed", str(w.message)))
    R = poly.rho
    summary["polychoric"] = poly.to_dict()
    if not np.all(np.isfinite(R)):
        summary["ordinal_reason"] = "some item pairs have no rows in common"
        return result
    summary["ordinal_alpha"] = A.standardized_alpha(R)
    summary["ordinal_average_r"] = A.average_r(R)
    k = len(used)
    summary["ordinal_reason"] = omega_reason(k, nfactors, omega)
    if omega and k >= 3:
        try:
            summary["ordinal_omega_total_1f"] = fit_omega(R, 1, used).omega_total
            if k >= 2 * nfactors:
                fitted = fit_omega(R, nfactors, used)
                summary["ordinal_omega_total"] = fitted.omega_total
                summary["ordinal_omega_h"] = fitted.omega_h
        except (np.linalg.LinAlgError, ValueError, FloatingPointError) as exc:
            summary["ordinal_reason"] = f"ordinal omega could not be computed: {exc}"
    return result
