"""Per-item statistics: descriptives, floor/ceiling, frequencies, item-total correlations.

The correlational columns reproduce psych 2.2.9 ``alpha()$item.stats`` (``raw.r``, ``std.r``,
``r.cor``, ``r.drop``) and ``alpha()$alpha.drop``; ``scale_mean_if_deleted`` /
``scale_var_if_deleted`` reproduce SPSS / PSPP "Item-Total Statistics" (sum scores).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .alpha import alpha_if_deleted, smc
from .moments import Moments, cov2cor

__all__ = [
    "item_statistics",
    "item_rest_r",
    "item_total_std_r",
    "item_r_cor",
    "response_frequencies",
]


def item_rest_r(C: np.ndarray) -> np.ndarray:
    """Corrected item-total (item-rest) correlation, psych ``r.drop``.

    ``r_drop_i = (c_i - C_ii) / sqrt(C_ii * (1'C1 - 2 c_i + C_ii))`` with ``c = C 1``: the
    correlation of item ``i`` with the sum of the other items.
    """
    C = np.asarray(C, dtype=float)
    d = np.diag(C)
    c = C.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (c - d) / np.sqrt(d * (C.sum() - 2.0 * c + d))


def item_total_std_r(R: np.ndarray) -> np.ndarray:
    """psych ``std.r``: item correlation with the standardised total, ``colSums(R)/sqrt(sum(R))``."""
    return R.sum(axis=0) / np.sqrt(R.sum())


def item_r_cor(R: np.ndarray) -> np.ndarray:
    """psych ``r.cor``: ``std.r`` corrected for item overlap, using SMCs on the diagonal of R."""
    RC = R.copy()
    np.fill_diagonal(RC, smc(R))
    return RC.sum(axis=0) / np.sqrt(RC.sum())


def response_frequencies(m: Moments, proportions: bool = True) -> pd.DataFrame | None:
    """Response frequencies per item and code (mergeable counts from :class:`Moments`).

    With ``proportions=True`` reproduces psych ``response.frequencies``: shares of the
    non-missing responses per code plus ``miss`` (share of rows missing the item).
    """
    f = m.frequencies()
    if f is None:
        return None
    if not proportions:
        return f
    n = np.diag(m.pair_n).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = f.div(n, axis=0)
        out["miss"] = 1.0 - n / m.n_rows
    return out


def item_statistics(
    m: Moments,
    *,
    policy: str = "pairwise",
    scale_min: float | None = None,
    scale_max: float | None = None,
    exclude=(),
) -> pd.DataFrame:
    """One row per item: n, mean, sd, % missing, floor/ceiling %, correlations, if-deleted.

    ``n``/``mean``/``sd`` are per item over its observed rows (pairwise) or over the complete
    rows (listwise); ``pct_missing`` always refers to all rows. ``floor_pct``/``ceiling_pct``
    are the shares (in %) of observed responses at the declared ``scale_min``/``scale_max``.
    Items in ``exclude`` (e.g. without variance) get descriptives only; the correlational
    columns are computed on the remaining items.
    """
    k = m.k
    cols = list(m.columns)
    C_all = m.cov(policy)
    nn = np.diag(m.pair_n).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        pct_missing = 100.0 * (1.0 - nn / m.n_rows)
    floor = np.full(k, np.nan)
    ceiling = np.full(k, np.nan)
    f = m.frequencies()
    if f is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            if scale_min is not None:
                lab = _label(scale_min)
                floor = 100.0 * (f[lab].to_numpy() if lab in f else np.zeros(k)) / nn
            if scale_max is not None:
                lab = _label(scale_max)
                ceiling = 100.0 * (f[lab].to_numpy() if lab in f else np.zeros(k)) / nn
    means = m.item_means(policy)
    desc = pd.DataFrame(
        {
            "item": cols,
            "n": m.item_n(policy),
            "mean": means,
            "sd": np.sqrt(np.maximum(np.diag(C_all), 0.0)),
            "pct_missing": pct_missing,
            "floor_pct": floor,
            "ceiling_pct": ceiling,
        }
    )
    excl = set(exclude)
    used = [c for c in cols if c not in excl]
    corr_cols = [
        "raw_r", "std_r", "r_cor", "r_drop", "alpha_if_deleted", "std_alpha_if_deleted",
        "g6_if_deleted", "average_r_if_deleted", "s_n_if_deleted", "alpha_se_if_deleted",
        "var_r_if_deleted", "med_r_if_deleted", "scale_mean_if_deleted", "scale_var_if_deleted",
    ]  # fmt: skip
    if len(used) < 2:
        for c in corr_cols:
            desc[c] = np.nan
        return desc
    mu = m if not excl else m.subset(used)
    C = mu.cov(policy)
    R = cov2cor(C)
    drop = alpha_if_deleted(C, R, mu.n_obs(policy), used)
    mu_means = mu.item_means(policy)
    corr = pd.DataFrame(
        {
            "item": used,
            "raw_r": mu.item_total_r(policy),
            "std_r": item_total_std_r(R),
            "r_cor": item_r_cor(R),
            "r_drop": item_rest_r(C),
            "alpha_if_deleted": drop["raw_alpha"].to_numpy(),
            "std_alpha_if_deleted": drop["std_alpha"].to_numpy(),
            "g6_if_deleted": drop["g6_smc"].to_numpy(),
            "average_r_if_deleted": drop["average_r"].to_numpy(),
            "s_n_if_deleted": drop["s_n"].to_numpy(),
            "alpha_se_if_deleted": drop["alpha_se"].to_numpy(),
            "var_r_if_deleted": drop["var_r"].to_numpy(),
            "med_r_if_deleted": drop["med_r"].to_numpy(),
            "scale_mean_if_deleted": mu_means.sum() - mu_means,
            "scale_var_if_deleted": C.sum() - 2.0 * C.sum(axis=0) + np.diag(C),
        }
    )
    if not excl:
        return pd.concat([desc, corr.drop(columns="item")], axis=1)
    return desc.merge(corr, on="item", how="left")


def _label(v):
    v = float(v)
    return int(v) if v.is_integer() else v
