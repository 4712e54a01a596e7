"""Reliability statistics for psychometric scales, agreeing with R's psych 2.2.9.

Everything is computed from mergeable sufficient statistics (:class:`Moments`), so large
files can be processed in chunks. Entry points:

* :func:`analyse_scale` -- all statistics of one scale -> :class:`ScaleReliability`
  (``.summary`` dict, ``.items`` DataFrame, ``.warnings``, ``.to_dict()``);
* :func:`analyse_moments` -- the same from precomputed / merged :class:`Moments`;
* :func:`tidy_summaries`, :func:`tidy_items` -- several scales as tidy DataFrames;
* :func:`retest_reliability` -- ICCs, SEM and reliable change for two waves;
* the single statistics (``cronbach_alpha``, ``alpha_if_deleted``, ``omega`` ...).
"""

from .alpha import (
    alpha_ase,
    alpha_ci_ase,
    alpha_ci_feldt,
    alpha_if_deleted,
    average_r,
    bootstrap_alpha,
    cronbach_alpha,
    guttman_lambda6,
    median_r,
    signal_noise,
    smc,
    standardized_alpha,
)
from .intercorrelations import (
    ScaleIntercorrelations,
    ScaleOverlap,
    scale_intercorrelations,
    scale_overlap,
)
from .items import (
    item_r_cor,
    item_rest_r,
    item_statistics,
    item_total_std_r,
    response_frequencies,
)
from .moments import Moments, cov2cor
from .omega import OmegaResult, fa_minres, oblimin, omega, omega_total_1f, varimax
from .retest import RetestReliability, retest_reliability
from .scale import (
    ReliabilityWarning,
    ScaleReliability,
    analyse_moments,
    analyse_scale,
    tidy_items,
    tidy_summaries,
)
from .splithalf import (
    SplitHalf,
    SplitRange,
    first_last_split,
    guttman_lambda2,
    odd_even_split,
    spearman_brown,
    split_half,
    split_half_range,
)

__all__ = [
    "Moments",
    "cov2cor",
    "analyse_scale",
    "analyse_moments",
    "ScaleReliability",
    "ReliabilityWarning",
    "tidy_summaries",
    "tidy_items",
    "cronbach_alpha",
    "standardized_alpha",
    "alpha_ase",
    "alpha_ci_feldt",
    "alpha_ci_ase",
    "alpha_if_deleted",
    "bootstrap_alpha",
    "average_r",
    "median_r",
    "signal_noise",
    "smc",
    "guttman_lambda6",
    "guttman_lambda2",
    "item_statistics",
    "item_rest_r",
    "item_total_std_r",
    "item_r_cor",
    "response_frequencies",
    "SplitHalf",
    "SplitRange",
    "split_half",
    "odd_even_split",
    "first_last_split",
    "split_half_range",
    "spearman_brown",
    "OmegaResult",
    "omega",
    "omega_total_1f",
    "fa_minres",
    "varimax",
    "oblimin",
    "ScaleIntercorrelations",
    "scale_intercorrelations",
    "ScaleOverlap",
    "scale_overlap",
    "RetestReliability",
    "retest_reliability",
]
