"""Alpha-family internal-consistency statistics from a covariance / correlation matrix.

All functions take a ``k x k`` covariance matrix ``C`` (raw statistics) or correlation matrix
``R`` (standardised statistics), as numpy arrays; they reproduce psych 2.2.9 ``alpha()``
(``alpha.1`` and the ``alpha.drop`` table), ``alpha.ci`` and ``smc``. Everything is closed
form: the alpha-if-item-deleted table is computed from the one full matrix (and its inverse)
without refitting ``k`` times.

References
----------
Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
    Psychometrika, 16, 297-334.
Duhachek, A., & Iacobucci, D. (2004). Alpha's standard error (ASE): An accurate and precise
    confidence interval estimate. Journal of Applied Psychology, 89, 792-808.
Feldt, L. S., Woodruff, D. J., & Salih, F. A. (1987). Statistical inference for coefficient
    alpha. Applied Psychological Measurement, 11, 93-103.
Guttman, L. (1945). A basis for analyzing test-retest reliability. Psychometrika, 10, 255-282.
Revelle, W. (2022). psych: Procedures for Psychological, Psychometric, and Personality
    Research. R package version 2.2.9.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from .moments import Moments, as_item_matrix, cov2cor

__all__ = [
    "cronbach_alpha",
    "standardized_alpha",
    "average_r",
    "median_r",
    "signal_noise",
    "smc",
    "guttman_lambda6",
    "alpha_ase",
    "alpha_ci_feldt",
    "alpha_ci_ase",
    "alpha_if_deleted",
    "bootstrap_alpha",
]


def cronbach_alpha(C: np.ndarray) -> float:
    """Cronbach's alpha from a covariance matrix.

    ``alpha = k / (k - 1) * (1 - tr(C) / sum(C))``

    Examples
    --------
    Checked against R 4.2.2 / psych 2.2.9 ``alpha(x)$total$raw_alpha`` (0.9282202557):

    >>> import numpy as np
    >>> x = np.array([[1, 2, 1, 2], [2, 2, 3, 1], [3, 4, 3, 4], [4, 5, 5, 4],
    ...               [5, 4, 4, 5], [2, 1, 2, 2], [3, 3, 2, 3], [4, 5, 4, 3]])
    >>> round(cronbach_alpha(np.cov(x, rowvar=False)), 10)
    0.9282202557
    """
    C = np.asarray(C, dtype=float)
    k = C.shape[0]
    if k < 2:
        return float("nan")
    return float((1.0 - np.trace(C) / C.sum()) * k / (k - 1.0))


def standardized_alpha(R: np.ndarray) -> float:
    """Standardised alpha from a correlation matrix: ``k/(k-1) * (1 - k/sum(R))``.

    Equivalent to ``k rbar / (1 + (k-1) rbar)`` with ``rbar`` the average inter-item r.
    """
    R = np.asarray(R, dtype=float)
    k = R.shape[0]
    if k < 2:
        return float("nan")
    return float((1.0 - k / R.sum()) * k / (k - 1.0))


def _lower(R: np.ndarray) -> np.ndarray:
    return R[np.tril_indices(R.shape[0], -1)]


def average_r(R: np.ndarray) -> float:
    """Average inter-item correlation ``(sum(R) - k) / (k (k-1))`` (psych ``average_r``)."""
    k = R.shape[0]
    return float((R.sum() - k) / (k * (k - 1.0))) if k > 1 else float("nan")


def median_r(R: np.ndarray) -> float:
    """Median of the off-diagonal inter-item correlations (psych ``median_r``)."""
    v = _lower(R)
    return float(np.nanmedian(v)) if v.size else float("nan")


def signal_noise(R: np.ndarray) -> float:
    """Signal-to-noise ratio ``S/N = k rbar / (1 - rbar)`` (psych ``S/N``)."""
    k = R.shape[0]
    r = average_r(R)
    if r == 1.0:
        return math.inf  # identical items: R's arithmetic gives Inf, Python's would raise
    return float(k * r / (1.0 - r))


def _pinv(R: np.ndarray) -> np.ndarray:
    # psych::Pinv: SVD pseudo-inverse dropping singular values <= sqrt(eps) * max
    return np.linalg.pinv(R, rcond=np.sqrt(np.finfo(float).eps), hermitian=True)


def smc(R: np.ndarray) -> np.ndarray:
    """Squared multiple correlations ``1 - 1/diag(R^-1)`` clipped to [0, 1] (psych ``smc``).

    Uses the pseudo-inverse, as psych does, so a singular matrix still gives an answer.
    """
    R = cov2cor(np.asarray(R, dtype=float))
    s = 1.0 - 1.0 / np.diag(_pinv(R))
    return np.clip(s, 0.0, 1.0)


def guttman_lambda6(R: np.ndarray) -> float:
    """Guttman's lambda-6 as psych's ``G6(smc)``: ``1 - (k - sum(smc)) / sum(R)``.

    Each item's error variance is estimated by ``1 - smc`` (its unexplained variance when
    regressed on the other items).
    """
    R = np.asarray(R, dtype=float)
    k = R.shape[0]
    return float(1.0 - (k - smc(R).sum()) / R.sum())


def _duhachek_q(k, sum_c, tr_c, tr_cc, sum_cc):
    """psych's Q: ``2k^2/((k-1)^2 S^3) * (S (tr(C C) + tr(C)^2) - 2 tr(C) sum(C C))``."""
    return (2.0 * k**2 / ((k - 1.0) ** 2 * sum_c**3)) * (
        sum_c * (tr_cc + tr_c**2) - 2.0 * tr_c * sum_cc
    )


def alpha_ase(C: np.ndarray, n_obs: int) -> float:
    """Duhachek & Iacobucci (2004) asymptotic standard error of alpha, as psych's ``ase``.

    ``ase = sqrt(Q / n)`` with
    ``Q = 2 k^2 / ((k-1)^2 (1'C1)^3) * [ (1'C1) (tr(C^2) + tr(C)^2) - 2 tr(C) (1'C^2 1) ]``
    and ``n`` the number of rows (psych uses ``nrow(x)``, all rows, under pairwise deletion).
    """
    C = np.asarray(C, dtype=float)
    k = C.shape[0]
    q = _duhachek_q(k, C.sum(), np.trace(C), np.sum(C * C), np.sum(C.sum(axis=0) ** 2))
    return float(np.sqrt(q / n_obs))


def alpha_ci_feldt(alpha: float, n_obs: int, k: int, level: float = 0.95) -> tuple[float, float]:
    """Feldt et al. (1987) confidence interval (psych ``alpha.ci``, pingouin ``cronbach_alpha``).

    ``lower = 1 - (1 - alpha) F_{1-p/2}(n-1, (n-1)(k-1))``,
    ``upper = 1 - (1 - alpha) F_{p/2}(n-1, (n-1)(k-1))``, with ``p = 1 - level``.
    """
    # scipy.stats.f.ppf is scipy.special.fdtri; importing scipy.stats alone takes 0.6 s
    from scipy.special import fdtri

    p = 1.0 - level
    df1, df2 = n_obs - 1, (n_obs - 1) * (k - 1)
    lo = 1.0 - (1.0 - alpha) * fdtri(df1, df2, 1.0 - p / 2.0)
    hi = 1.0 - (1.0 - alpha) * fdtri(df1, df2, p / 2.0)
    return float(lo), float(hi)


PSYCH_Z95 = 1.96  # psych's print.alpha: raw_alpha -/+ 1.96 * ase


def alpha_ci_ase(
    alpha: float, ase: float, level: float = 0.95, z: float | None = None
) -> tuple[float, float]:
    """Duhachek-Iacobucci interval ``alpha -/+ z * ase``, as psych's print.alpha prints it.

    For the 95% level ``z`` is 1.96 exactly, as psych 2.2.9 (``print.psych`` for ``alpha``:
    ``raw_alpha -/+ 1.96 * ase``), not the normal quantile 1.959964 (which would move the bounds
    by about 4e-7 per .01 of ase). Other levels use the normal quantile; ``z`` overrides both.
    """
    if z is None:
        if level == 0.95:
            z = PSYCH_Z95
        else:
            from scipy.special import ndtri  # = scipy.stats.norm.ppf

            z = float(ndtri(0.5 + level / 2.0))
    return float(alpha - z * ase), float(alpha + z * ase)


def alpha_if_deleted(
    C: np.ndarray, R: np.ndarray | None = None, n_obs: int | None = None, columns=None
) -> pd.DataFrame:
    """psych's "Reliability if an item is dropped" table, in closed form.

    For item ``i`` dropped, with ``s = 1'C1``, ``c = C1`` (column sums), ``d = diag(C)``:
    ``alpha_(-i) = (k-1)/(k-2) * (1 - (tr(C) - d_i) / (s - 2 c_i + d_i))``; the same with ``R``
    gives std.alpha, average_r and S/N. ``G6(smc)`` needs the SMCs of ``R_(-i,-i)``, obtained
    from the full inverse ``P = R^-1`` by ``(R_(-i,-i))^-1 = P_(-i,-i) - P_(-i,i) P_(i,-i) / P_ii``.
    The Duhachek ``alpha se`` uses ``tr(C_(-i)^2) = ||C||_F^2 - 2 ||C_i||^2 + C_ii^2`` and
    ``1'C_(-i)^2 1 = sum_(m != i) (c_m - C_im)^2``.

    Columns: raw_alpha, std_alpha, g6_smc, average_r, s_n, alpha_se, var_r, med_r (as psych).
    """
    C = np.asarray(C, dtype=float)
    R = cov2cor(C) if R is None else np.asarray(R, dtype=float)
    k = C.shape[0]
    index = list(columns) if columns is not None else [f"V{i + 1}" for i in range(k)]
    cols = ["raw_alpha", "std_alpha", "g6_smc", "average_r", "s_n", "alpha_se", "var_r", "med_r"]
    if k < 3:
        return pd.DataFrame(np.nan, index=index, columns=cols)
    kk = k - 1.0
    d = np.diag(C)
    c = C.sum(axis=0)
    s_i = C.sum() - 2.0 * c + d
    tr_i = np.trace(C) - d
    raw = (1.0 - tr_i / s_i) * kk / (kk - 1.0)
    rs_i = R.sum() - 2.0 * R.sum(axis=0) + np.diag(R)
    std = (1.0 - kk / rs_i) * kk / (kk - 1.0)
    av = (rs_i - kk) / (kk * (kk - 1.0))
    sn = kk * av / (1.0 - av)
    smc_sum = _smc_sums_dropped(R)
    g6 = 1.0 - (kk - smc_sum) / rs_i
    # Duhachek Q of each reduced matrix
    tr_cc = np.sum(C * C) - 2.0 * np.sum(C * C, axis=0) + d**2
    red = c[None, :] - C  # red[i, m] = c_m - C_im  (column sums of C without row i)
    red_sq = red**2
    sum_cc = red_sq.sum(axis=1) - red_sq[np.arange(k), np.arange(k)]
    q = _duhachek_q(kk, s_i, tr_i, tr_cc, sum_cc)
    se = np.sqrt(q / n_obs) if n_obs is not None else np.full(k, np.nan)
    # var.r and med.r of the remaining correlations: mask pairs touching item i
    iu, ju = np.tril_indices(k, -1)
    vals = R[iu, ju]
    keep = (iu[None, :] != np.arange(k)[:, None]) & (ju[None, :] != np.arange(k)[:, None])
    vm = np.where(keep, vals[None, :], np.nan)
    # with 3 items, dropping one leaves a single correlation: its variance is undefined (NaN, as
    # in psych), which numpy would announce with a RuntimeWarning on the user's terminal
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        var_r = np.nanvar(vm, axis=1, ddof=1) if vals.size > 1 else np.full(k, np.nan)
        med_r = np.nanmedian(vm, axis=1)
    out = np.column_stack([raw, std, g6, av, sn, se, var_r, med_r])
    return pd.DataFrame(out, index=index, columns=cols)


def _smc_sums_dropped(R: np.ndarray) -> np.ndarray:
    """Sum of psych-style SMCs of ``R_(-i,-i)`` for every i (closed form via the inverse)."""
    k = R.shape[0]
    cond = np.linalg.cond(R)
    if not np.isfinite(cond) or cond > 1e8:
        out = np.empty(k)
        for i in range(k):  # loop over items (rare ill-conditioned case), psych uses Pinv
            idx = np.delete(np.arange(k), i)
            out[i] = smc(R[np.ix_(idx, idx)]).sum()
        return out
    P = np.linalg.inv(R)
    diagP = np.diag(P)
    sub_diag = diagP[None, :] - P**2 / diagP[:, None]  # [i, j]: diag of inv(R_-i) at j
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.clip(1.0 - 1.0 / sub_diag, 0.0, 1.0)
    s[np.arange(k), np.arange(k)] = 0.0
    return s.sum(axis=1)


def _weighted_cov_batch(x0: np.ndarray, m: np.ndarray | None, w: np.ndarray) -> np.ndarray:
    """Pairwise covariance matrices for a batch of row weights ``w`` (B x n) -> (B, k, k)."""
    if m is None:
        n = w.sum(axis=1)[:, None, None]
        sx = w @ x0  # (B, k)
        cross = np.einsum("bn,ni,nj->bij", w, x0, x0, optimize=True)
        return (n * cross - sx[:, :, None] * sx[:, None, :]) / (n * (n - 1.0))
    n = np.einsum("bn,ni,nj->bij", w, m, m, optimize=True)
    s = np.einsum("bn,ni,nj->bij", w, x0, m, optimize=True)
    cross = np.einsum("bn,ni,nj->bij", w, x0, x0, optimize=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (n * cross - s * s.transpose(0, 2, 1)) / (n * (n - 1.0))


def bootstrap_alpha(
    items: pd.DataFrame | np.ndarray,
    *,
    n_boot: int = 1000,
    seed: int | None = None,
    level: float = 0.95,
    policy: str = "pairwise",
    batch: int | None = None,
) -> dict:
    """Percentile bootstrap CI of raw alpha, vectorised over resamples.

    Each resample is represented by multiplicity weights (how often each row was drawn), so
    a batch of resamples is a handful of weighted ``k x k`` moment computations (einsum).
    psych::alpha(n.iter=) does the same statistic (``quantile(boot, c(.025, .5, .975))``) with
    a different random stream, so results agree only in distribution.

    Returns dict with ``lower``, ``median``, ``upper``, ``n_boot``, ``seed`` and ``alphas``.
    """
    x, _ = as_item_matrix(items)
    if policy == "listwise":
        x = x[~np.isnan(x).any(axis=1)]
    n, k = x.shape
    rng = np.random.default_rng(seed)
    nan = np.isnan(x)
    x0 = np.where(nan, 0.0, x)
    m = (~nan).astype(float) if nan.any() else None
    if batch is None:
        batch = max(1, min(n_boot, int(2e7 // max(1, n * k * (3 if m is not None else 1)))))
    alphas = np.empty(n_boot)
    done = 0
    while done < n_boot:
        b = min(batch, n_boot - done)
        idx = rng.integers(0, n, size=(b, n))
        flat = (idx + (np.arange(b) * n)[:, None]).ravel()
        w = np.bincount(flat, minlength=b * n).reshape(b, n).astype(np.float64)
        cov = _weighted_cov_batch(x0, m, w)
        tr = np.trace(cov, axis1=1, axis2=2)
        tot = cov.sum(axis=(1, 2))
        alphas[done : done + b] = (1.0 - tr / tot) * k / (k - 1.0)
        done += b
    p = 1.0 - level
    lo, med, hi = np.nanquantile(alphas, [p / 2.0, 0.5, 1.0 - p / 2.0])
    return {
        "lower": float(lo),
        "median": float(med),
        "upper": float(hi),
        "n_boot": int(n_boot),
        "seed": seed,
        "alphas": alphas,
    }


def alpha_from_moments(m: Moments, policy: str = "pairwise") -> float:
    """Raw alpha straight from :class:`Moments` (convenience)."""
    return cronbach_alpha(m.cov(policy))
