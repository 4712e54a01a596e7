"""One-call reliability analysis of a scale: :func:`analyse_scale` -> :class:`ScaleReliability`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import alpha as A
from ._threads import single_thread
from .items import item_statistics, response_frequencies
from .moments import Moments, _policy, cov2cor
from .omega import OmegaResult, omega
from .splithalf import (
    SplitHalf,
    SplitRange,
    first_last_split,
    guttman_lambda2,
    odd_even_split,
    parse_split_half,
    split_half_range,
)

__all__ = [
    "ReliabilityWarning",
    "ScaleReliability",
    "analyse_scale",
    "analyse_moments",
    "tidy_summaries",
    "tidy_items",
]

LOW_ALPHA = 0.70
PUBLISHED_GAP = 0.10
MIN_CASES = 30


@dataclass(frozen=True)
class ReliabilityWarning:
    """A structured warning: machine-readable ``code``, human ``message``, optional ``item``.

    Codes: ``too_few_items``, ``too_few_cases``, ``zero_variance``, ``negative_item_rest``,
    ``low_alpha``, ``below_published``, ``omega_failed``, ``omega_not_converged``,
    ``insufficient_overlap``.
    """

    code: str
    message: str
    item: str | None = None

    def to_dict(self) -> dict:
        d = {"code": self.code, "message": self.message}
        if self.item is not None:
            d["item"] = self.item
        return d


@dataclass
class ScaleReliability:
    """Reliability of one scale.

    ``summary`` is a flat dict of scale-level statistics (see :func:`analyse_scale`),
    ``items`` a DataFrame with one row per item, ``warnings`` structured warnings.
    """

    score: str
    summary: dict[str, Any]
    items: pd.DataFrame
    warnings: list[ReliabilityWarning] = field(default_factory=list)
    frequencies: pd.DataFrame | None = None
    split: SplitHalf | None = None
    split_range: SplitRange | None = None
    split_first: SplitHalf | None = None  # --split-half first-m (PSPP /MODEL=SPLIT(m))
    omega: OmegaResult | None = None
    omega_1f: OmegaResult | None = None
    moments: Moments | None = field(default=None, repr=False)
    groups: list[tuple[str | None, ScaleReliability]] = field(default_factory=list, repr=False)
    by: str | None = None  # the grouping column of .groups
    score_values: np.ndarray | None = field(default=None, repr=False)  # the score per row
    keyed_items: pd.DataFrame | None = field(default=None, repr=False)  # reverse-keyed answers

    def summary_frame(self) -> pd.DataFrame:
        """The summary as a one-row DataFrame (CI bounds as separate columns)."""
        row = {}
        for key, v in self.summary.items():
            if isinstance(v, (list, tuple)) and len(v) == 2:
                row[f"{key}_lower"], row[f"{key}_upper"] = v
            elif not isinstance(v, (list, dict)):
                row[key] = v
        row["warnings"] = "; ".join(w.code for w in self.warnings)
        return pd.DataFrame([row])

    def to_dict(self) -> dict:
        """JSON-friendly dict (NaN -> None; numpy scalars -> Python)."""
        d = {k: _py(v) for k, v in self.summary.items()}
        d["warnings"] = [w.to_dict() for w in self.warnings]
        d["items"] = [
            {k: _py(v) for k, v in rec.items()} for rec in self.items.to_dict(orient="records")
        ]
        if self.split is not None:
            d["split_half"] = _py(self.split.to_dict())
        if self.split_range is not None:
            d["split_range"] = _py(self.split_range.to_dict())
        if self.split_first is not None:
            d["split_first_m"] = _py(self.split_first.to_dict())
        if self.omega is not None:
            d["omega"] = _py(self.omega.to_dict())
        if self.groups:
            d["by"] = self.by
            d["groups"] = [{"group": label, **res.to_dict()} for label, res in self.groups]
        if self.frequencies is not None:
            f = self.frequencies
            d["response_frequencies"] = {
                str(item): {str(c): _py(v) for c, v in row.items()} for item, row in f.iterrows()
            }
        return d


def _py(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _py(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_py(x) for x in v]
    if isinstance(v, np.ndarray):
        return [_py(x) for x in v.tolist()]
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def analyse_scale(
    items: pd.DataFrame,
    *,
    policy: str = "pairwise",
    scale_min: float | None = None,
    scale_max: float | None = None,
    published_alpha: float | None = None,
    omega: bool = True,
    name: str = "scale",
    nfactors: int = 3,
    n_boot: int = 0,
    seed: int | None = None,
    split_max_items: int = 16,
    min_cases: int = MIN_CASES,
    split_half: str = "all",
) -> ScaleReliability:
    """Reliability analysis of one scale (a DataFrame of already reverse-keyed item scores).

    Parameters
    ----------
    items : DataFrame
        Rows = respondents, columns = items (numeric; NaN = missing).
    policy : {"pairwise", "listwise"}
        Missing-data handling. ``"pairwise"`` (psych's default ``use="pairwise"``): covariances
        over pairwise-complete rows, item statistics over each item's observed rows, ``n`` =
        all rows (as psych's ``nrow(x)`` behind ``ase`` and Feldt's CI). ``"listwise"``: all
        statistics on the complete rows (as PSPP/SPSS, or psych on ``na.omit(x)``).
    scale_min, scale_max : float, optional
        Declared response range, for floor / ceiling percentages.
    published_alpha : float, optional
        Published alpha; a warning is raised if the sample alpha is more than 0.10 below it.
    omega : bool
        Compute omega from ``cor(x, use="pairwise")`` as psych::omega: ``omega_h`` and
        ``omega_total`` from the Schmid-Leiman solution with ``nfactors`` group factors
        (minres + oblimin; needs ``k >= 2 * nfactors`` items, else NaN) and
        ``omega_total_1f`` from the one-factor model (``psych::omega(x, nfactors=1)``).
    name : str
        Scale (score) name, reported as ``score``.
    nfactors : int
        Group factors of the bifactor model behind ``omega_total`` / ``omega_h`` (3 as psych).
        Scales with fewer than ``2 * nfactors`` items get ``omega_reason`` instead.
    split_half : {"all", "psych", "first-m", "first-N"}
        Which splits the split-half range covers (``lambda4``, ``beta``): every distinct split
        (default) or the ones psych 2.2.9 enumerates (half of them for odd ``k``). ``first-m``
        / ``first-N`` add PSPP's ``/MODEL=SPLIT`` split (first ``k // 2`` or ``N`` items
        against the rest: ``split_half_first_m`` = Spearman-Brown for unequal lengths, the
        full split in ``split_first``); the range then covers all splits.
    n_boot, seed : int
        ``n_boot > 0`` adds a percentile bootstrap CI of alpha (``alpha_ci_boot``).

    Returns
    -------
    ScaleReliability
        ``summary`` keys: score, policy, n, n_complete, n_items, alpha, alpha_std, alpha_ci
        (Feldt 95%), alpha_ase, alpha_ci_ase, lambda6, lambda2, average_r, median_r, var_r,
        signal_noise, mean, sd, split_half_odd_even, lambda4, beta, split_half_mean,
        omega_total, omega_h, omega_total_1f, min_pairwise_n, split_half_method, n_splits,
        omega_nfactors, omega_reason (None or why omega is not given), split_half_first_m
        (with ``split_half="first-m"``) and alpha_ci_boot when asked.
    """
    m = Moments.from_data(items)
    res = analyse_moments(
        m,
        policy=policy,
        scale_min=scale_min,
        scale_max=scale_max,
        published_alpha=published_alpha,
        omega=omega,
        name=name,
        nfactors=nfactors,
        split_max_items=split_max_items,
        min_cases=min_cases,
        split_half=split_half,
    )
    if n_boot and res.summary["n_items"] >= 2:
        keep = [c for c in res.summary["items_used"]]
        sub = items.loc[:, [c for c in items.columns if str(c) in keep]]
        b = A.bootstrap_alpha(sub, n_boot=n_boot, seed=seed, policy=_policy(policy))
        res.summary["alpha_ci_boot"] = [b["lower"], b["upper"]]
        res.summary["n_boot"] = n_boot
    return res


def analyse_moments(
    m: Moments,
    *,
    policy: str = "pairwise",
    scale_min: float | None = None,
    scale_max: float | None = None,
    published_alpha: float | None = None,
    omega: bool = True,
    name: str = "scale",
    nfactors: int = 3,
    split_max_items: int = 16,
    min_cases: int = MIN_CASES,
    split_half: str = "all",
) -> ScaleReliability:
    """:func:`analyse_scale` from precomputed (e.g. merged, chunked) :class:`Moments`."""
    with single_thread():
        return _analyse_moments(
            m,
            policy=policy,
            scale_min=scale_min,
            scale_max=scale_max,
            published_alpha=published_alpha,
            omega=omega,
            name=name,
            nfactors=nfactors,
            split_max_items=split_max_items,
            min_cases=min_cases,
            split_half=split_half,
        )


def _analyse_moments(
    m: Moments,
    *,
    policy: str,
    scale_min: float | None,
    scale_max: float | None,
    published_alpha: float | None,
    omega: bool,
    name: str,
    nfactors: int,
    split_max_items: int,
    min_cases: int,
    split_half: str = "all",
) -> ScaleReliability:
    pol = _policy(policy)
    split_mode, first_m = parse_split_half(split_half)
    warns: list[ReliabilityWarning] = []
    all_items = list(m.columns)
    # items without variance (or without data) are left out, as psych::alpha(delete=TRUE)
    var = np.diag(m.cov(pol))
    bad = [c for c, v in zip(all_items, var, strict=True) if not (np.isfinite(v) and v > 0)]
    for c in bad:
        warns.append(
            ReliabilityWarning(
                "zero_variance",
                f"item {c} has no variance (or too few responses) and was left out of the "
                "reliability statistics",
                c,
            )
        )
    used = [c for c in all_items if c not in bad]
    mu = m.subset(used) if bad else m
    k = len(used)
    n_obs = mu.n_obs(pol)
    summary: dict[str, Any] = {
        "score": name,
        "policy": pol,
        "n": int(n_obs),
        "n_rows": int(m.n_rows),
        "n_complete": int(m.n_complete),
        "n_items": k,
        "items_used": used,
        "split_half_method": split_half_label(split_mode, first_m, len(used)),
        "omega_nfactors": nfactors,
        "omega_reason": omega_reason(len(used), nfactors, omega),
    }
    nan_keys = [
        "alpha",
        "alpha_std",
        "alpha_ase",
        "lambda6",
        "lambda2",
        "average_r",
        "median_r",
        "var_r",
        "signal_noise",
        "mean",
        "sd",
        "split_half_odd_even",
        "lambda4",
        "beta",
        "split_half_mean",
        "omega_total",
        "omega_h",
        "omega_total_1f",
        "min_pairwise_n",
    ]
    for key in nan_keys:
        summary[key] = float("nan")
    summary["alpha_ci"] = [float("nan"), float("nan")]
    summary["alpha_ci_ase"] = [float("nan"), float("nan")]
    if k < 2:
        warns.append(
            ReliabilityWarning("too_few_items", f"{k} usable item(s): reliability needs >= 2")
        )
        items_df = item_statistics(
            m, policy=pol, scale_min=scale_min, scale_max=scale_max, exclude=all_items
        )
        return ScaleReliability(
            name, summary, items_df, warns, response_frequencies(m, proportions=False), moments=m
        )

    C = mu.cov(pol)
    min_n = int(mu.pair_n.min()) if pol == "pairwise" else int(mu.n_complete)
    summary["min_pairwise_n"] = min_n
    if not np.all(np.isfinite(C)):
        warns.append(
            ReliabilityWarning(
                "insufficient_overlap",
                "some item pairs have fewer than 2 rows in common: covariances undefined",
            )
        )
        items_df = item_statistics(
            m, policy=pol, scale_min=scale_min, scale_max=scale_max, exclude=all_items
        )
        return ScaleReliability(
            name, summary, items_df, warns, response_frequencies(m, proportions=False), moments=m
        )
    if min_n < min_cases:
        what = "complete cases" if pol == "listwise" else "rows for some item pair"
        warns.append(
            ReliabilityWarning(
                "too_few_cases", f"only {min_n} {what} (< {min_cases}): estimates are unstable"
            )
        )
    R = cov2cor(C)
    alpha = A.cronbach_alpha(C)
    ase = A.alpha_ase(C, n_obs)
    mean_t, sd_t, _ = mu.total_stats(pol)
    summary.update(
        alpha=alpha,
        alpha_std=A.standardized_alpha(R),
        alpha_ci=list(A.alpha_ci_feldt(alpha, n_obs, k)) if n_obs > 1 else summary["alpha_ci"],
        alpha_ase=ase,
        alpha_ci_ase=list(A.alpha_ci_ase(alpha, ase)),
        lambda6=A.guttman_lambda6(R),
        lambda2=guttman_lambda2(C),
        average_r=A.average_r(R),
        median_r=A.median_r(R),
        var_r=float(np.var(R[np.tril_indices(k, -1)], ddof=1)) if k > 2 else float("nan"),
        signal_noise=A.signal_noise(R),
        mean=mean_t,
        sd=sd_t,
    )
    split = odd_even_split(C, used)
    summary["split_half_odd_even"] = split.spearman_brown
    srange = split_half_range(
        R, used, max_items=split_max_items, method="psych" if split_mode == "psych" else "all"
    )
    summary.update(lambda4=srange.lambda4, beta=srange.beta, split_half_mean=srange.mean)
    summary["n_splits"] = srange.n_splits
    split_first = None
    if split_mode == "first":
        m_first = k // 2 if first_m is None else first_m
        if 1 <= m_first < k:
            split_first = first_last_split(C, m_first, used)
            summary["split_half_first_m"] = split_first.spearman_brown_unequal
        else:
            summary["split_half_first_m"] = float("nan")
            warns.append(
                ReliabilityWarning(
                    "split_half_first_m",
                    f"--split-half first-{m_first}: the scale has {k} usable items, so the "
                    f"first {m_first} leave no second part (choose 1 to {k - 1})",
                )
            )

    om = om1 = None
    if omega and k >= 3:
        Rc = mu.cor(pol)
        try:
            om1 = _omega_fit(Rc, 1, used)
            summary["omega_total_1f"] = om1.omega_total
            if k >= 2 * nfactors:
                om = _omega_fit(Rc, nfactors, used)
                summary["omega_total"], summary["omega_h"] = om.omega_total, om.omega_h
                if not om.converged:
                    warns.append(
                        ReliabilityWarning(
                            "omega_not_converged",
                            "the oblimin rotation behind omega_h did not converge",
                        )
                    )
        except (np.linalg.LinAlgError, ValueError, FloatingPointError) as exc:
            warns.append(ReliabilityWarning("omega_failed", f"omega could not be computed: {exc}"))
            summary["omega_reason"] = f"omega could not be computed: {exc}"

    items_df = item_statistics(m, policy=pol, scale_min=scale_min, scale_max=scale_max, exclude=bad)

    for item, r_drop in zip(items_df["item"], items_df["r_drop"].to_numpy(), strict=True):
        if np.isfinite(r_drop) and r_drop < 0:
            warns.append(
                ReliabilityWarning(
                    "negative_item_rest",
                    f"item {item} correlates negatively with the rest of the scale "
                    f"(r.drop = {r_drop:.2f}): it may be mis-keyed: is it reverse-scored?",
                    item,
                )
            )
    if alpha < LOW_ALPHA:
        warns.append(
            ReliabilityWarning("low_alpha", f"alpha = {alpha:.2f} is below {LOW_ALPHA:.2f}")
        )
    if published_alpha is not None and published_alpha - alpha > PUBLISHED_GAP:
        warns.append(
            ReliabilityWarning(
                "below_published",
                f"alpha = {alpha:.2f} is more than {PUBLISHED_GAP:.2f} below the published "
                f"value {published_alpha:.2f}",
            )
        )
    if published_alpha is not None:
        summary["published_alpha"] = published_alpha
    return ScaleReliability(
        score=name,
        summary=summary,
        items=items_df,
        warnings=warns,
        frequencies=response_frequencies(m, proportions=False),
        split=split,
        split_range=srange,
        split_first=split_first,
        omega=om,
        omega_1f=om1,
        moments=m,
    )


def split_half_label(mode: str, first_m: int | None, k: int) -> str:
    """The split-half method as the output states it: ``all``, ``psych`` or ``first-N``."""
    if mode != "first":
        return mode
    return f"first-{k // 2 if first_m is None else first_m}"


def omega_reason(k: int, nfactors: int, wanted: bool = True) -> str | None:
    """Why omega_total / omega_h are not given for a scale of ``k`` items (None: they are).

    The Schmid-Leiman solution behind them needs at least ``2 * nfactors`` items (psych::omega
    warns and fails below 3 items per factor pair); with 3 to ``2 * nfactors - 1`` items only
    the one-factor omega (``omega_total_1f``) is given.
    """
    if not wanted:
        return "omega not computed (--no-omega)"
    if k < 3:
        return f"omega needs at least 3 items; this score has {k} usable item(s)"
    if k < 2 * nfactors:
        return (
            f"omega_total and omega_h need at least {2 * nfactors} items for a bifactor model "
            f"with {nfactors} group factors (--nfactors); this score has {k} items, so only "
            "omega_total_1f (omega total, one-factor model) is given"
        )
    return None


def _omega_fit(R: np.ndarray, nf: int, cols) -> OmegaResult:
    if not np.all(np.isfinite(R)):
        raise ValueError("correlation matrix has undefined entries")
    return omega(R, nfactors=nf, columns=cols)


def tidy_summaries(results: list[ScaleReliability]) -> pd.DataFrame:
    """One row per scale (CI bounds as ``*_lower``/``*_upper`` columns).

    With groups (``by=``), each scale's overall row (``level`` "overall") is followed by one
    row per group (``level`` "group", ``group`` its label, None for rows without a value).
    """
    if not results:
        return pd.DataFrame()
    if not any(r.groups for r in results):
        return pd.concat([r.summary_frame() for r in results], ignore_index=True)
    # by group: the overall row first (group "overall" in `level`), then one row per group
    frames = []
    for r in results:
        frames.append(r.summary_frame().assign(by=r.by, level="overall", group=None))
        for label, g in r.groups:
            frames.append(g.summary_frame().assign(by=r.by, level="group", group=label))
    return pd.concat(frames, ignore_index=True)


def tidy_items(results: list[ScaleReliability]) -> pd.DataFrame:
    """Item statistics of several scales stacked, with a leading ``score`` column."""
    if not results:
        return pd.DataFrame()
    frames = [r.items.assign(score=r.score) for r in results]
    out = pd.concat(frames, ignore_index=True)
    return out[["score", *[c for c in out.columns if c != "score"]]]
