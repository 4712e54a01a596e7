"""Correlations between scale scores, raw and corrected for attenuation (psych::scoreItems).

psych::scoreItems reports ``corrected``: the raw correlations between scale scores below the
diagonal, each scale's alpha on the diagonal and the disattenuated correlations
``r_ij / sqrt(alpha_i alpha_j)`` (Spearman, 1904) above it. Here the scores are the ones
``psyscore score`` computes (the definition's sum or mean, missing-data rule included), and the
correlations use pairwise-complete rows, with their ``n`` per pair.

References
----------
Spearman, C. (1904). The proof and measurement of association between two things. American
    Journal of Psychology, 15, 72-101.
Revelle, W. (2022). psych 2.2.9, ``scoreItems`` (``corrected``) and ``scoreOverlap``.
Cureton, E. E. (1966). Corrected item-test correlations. Psychometrika, 31, 93-96.
Bashaw, W. L., & Anderson, H. E. (1967). A correction for replicated error in correlation
    coefficients. Psychometrika, 32, 435-441.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .moments import Moments

__all__ = ["ScaleIntercorrelations", "scale_intercorrelations", "ScaleOverlap", "scale_overlap"]


@dataclass
class ScaleIntercorrelations:
    """``raw`` r, ``corrected`` (psych's layout), ``disattenuated`` (full), pairwise ``n``."""

    raw: pd.DataFrame
    corrected: pd.DataFrame
    disattenuated: pd.DataFrame
    n: pd.DataFrame
    alpha: pd.Series

    def to_dict(self) -> dict:
        def grid(frame: pd.DataFrame) -> list[list[float | None]]:
            return [[None if not np.isfinite(v) else float(v) for v in row] for row in frame.values]

        return {
            "scores": list(self.raw.columns),
            "raw": grid(self.raw),
            "corrected": grid(self.corrected),
            "corrected_layout": "lower triangle raw r, diagonal alpha, upper triangle "
            "r / sqrt(alpha_i alpha_j) (psych::scoreItems corrected)",
            "n": [[int(v) for v in row] for row in self.n.values],
        }


def scale_intercorrelations(
    scores: pd.DataFrame, alphas: dict[str, float] | pd.Series
) -> ScaleIntercorrelations:
    """Correlations between the score columns of ``scores``, raw and corrected for attenuation.

    Parameters
    ----------
    scores : DataFrame
        One column per score, one row per respondent (NaN = not scored).
    alphas : mapping
        Each score's reliability (alpha) by column name.

    Returns
    -------
    ScaleIntercorrelations
        ``corrected[i, j]`` is ``r_ij`` for ``i > j``, ``alpha_i`` for ``i == j`` and
        ``r_ij / sqrt(alpha_i alpha_j)`` for ``i < j``. A corrected value above 1 is kept (as
        psych does): it says the two scales cannot be told apart at their reliabilities.
    """
    names = [str(c) for c in scores.columns]
    m = Moments.from_data(scores.astype(float))
    R = m.cor("pairwise")
    alpha = np.array([float(pd.Series(alphas)[n]) for n in names])
    with np.errstate(invalid="ignore", divide="ignore"):
        dis = R / np.sqrt(np.outer(alpha, alpha))
    k = len(names)
    lower = np.tril(np.ones((k, k), dtype=bool), -1)
    corrected = np.where(lower, R, dis)
    corrected[np.diag_indices(k)] = alpha
    np.fill_diagonal(dis, np.nan)

    def frame(values: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(values, index=names, columns=names)

    return ScaleIntercorrelations(
        raw=frame(R),
        corrected=frame(corrected),
        disattenuated=frame(dis),
        n=frame(np.asarray(m.pair_n, dtype=float)),
        alpha=pd.Series(alpha, index=names),
    )


@dataclass
class ScaleOverlap:
    """Scale correlations corrected for shared items, as psych::scoreOverlap (av.r=TRUE).

    ``cor``: overlap-adjusted r; ``corrected``: lower triangle ``cor``, diagonal standardised
    alpha, upper triangle ``cor / sqrt(alpha_i alpha_j)``; ``shared``: items in common.
    """

    cor: pd.DataFrame
    corrected: pd.DataFrame
    alpha_std: pd.Series
    shared: pd.DataFrame

    def to_dict(self) -> dict:
        def grid(frame: pd.DataFrame) -> list[list[float | None]]:
            return [[None if not np.isfinite(v) else float(v) for v in row] for row in frame.values]

        return {
            "scores": list(self.cor.columns),
            "cor": grid(self.cor),
            "corrected": grid(self.corrected),
            "shared_items": [[int(v) for v in row] for row in self.shared.values],
            "corrected_layout": "lower triangle overlap-adjusted r, diagonal standardised alpha, "
            "upper triangle r / sqrt(alpha_i alpha_j) (psych::scoreOverlap, av.r = TRUE)",
        }


def scale_overlap(R: np.ndarray, items: list[str], scales: dict[str, list[str]]) -> ScaleOverlap:
    """Correlations between scales from the item correlations ``R``, corrected for item overlap.

    psych::scoreOverlap's algorithm (Cureton, 1966; Bashaw & Anderson, 1967) with its defaults:
    with the 0/1 key matrix ``K`` (items x scales; items already reverse-keyed; an item named
    ``-X`` when ``X`` is also among ``items`` is ``X`` with key -1), scale
    covariances ``S = K'RK``; each scale's standardised alpha from ``S_ii`` and its ``k_i``
    items, and its average r ``alpha / (k - alpha (k - 1))``. A shared item adds its
    self-correlation 1 to ``S_ij``; that 1 is replaced by ``sqrt(avr_i avr_j)``, an estimate of
    the item's reliability: ``S_ij - s_ij + s_ij sqrt(avr_i avr_j)`` with ``s_ij`` shared items.
    The diagonal is kept and the result turned into correlations. Scales without shared items
    get the plain ``K'RK`` correlation.
    """
    names = list(scales)
    position = {item: i for i, item in enumerate(items)}
    K = np.zeros((len(items), len(names)))
    for j, name in enumerate(names):
        for member in scales[name]:
            # "-X": item X keyed the other way in this scale (a signed key, as psych's -A1)
            if member.startswith("-") and member[1:] in position:
                K[position[member[1:]], j] = -1.0
            else:
                K[position[member], j] = 1.0
    S = K.T @ np.asarray(R, dtype=float) @ K
    var = np.diag(S)
    k = np.abs(K).sum(axis=0)  # items per scale (a key of -1 counts too)
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = (var - k) / var * k / (k - 1.0)
    alpha = np.where(np.isfinite(alpha), alpha, 1.0)  # one-item scale: psych takes 1
    av_r = alpha / (k - alpha * (k - 1.0))
    shared = K.T @ K
    adjusted = S - shared + shared * np.sqrt(np.outer(av_r, av_r))
    np.fill_diagonal(adjusted, var)
    sd = np.sqrt(var)
    cor = adjusted / np.outer(sd, sd)
    lower = np.tril(np.ones_like(cor, dtype=bool), -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        corrected = np.where(lower, cor, cor / np.sqrt(np.outer(alpha, alpha)))
    np.fill_diagonal(corrected, alpha)

    def frame(values: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(values, index=names, columns=names)

    return ScaleOverlap(
        cor=frame(cor),
        corrected=frame(corrected),
        alpha_std=pd.Series(alpha, index=names),
        shared=frame(shared),
    )
