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
Revelle, W. (2022). psych 2.2.9, ``scoreItems`` (``corrected``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .moments import Moments

__all__ = ["ScaleIntercorrelations", "scale_intercorrelations"]


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
