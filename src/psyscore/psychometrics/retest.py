"""Test-retest reliability: ICCs, SEM and the reliable-change threshold.

References
----------
Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations: Uses in assessing rater
    reliability. Psychological Bulletin, 86, 420-428.
Jacobson, N. S., & Truax, P. (1991). Clinical significance: A statistical approach to
    defining meaningful change in psychotherapy research. Journal of Consulting and
    Clinical Psychology, 59, 12-19.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["RetestReliability", "retest_reliability"]

_PSYCH_TYPES = ["ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"]
_ALIASES = {
    "ICC(1,1)": "ICC1",
    "ICC(A,1)": "ICC2",
    "ICC(C,1)": "ICC3",
    "ICC(1,k)": "ICC1k",
    "ICC(A,k)": "ICC2k",
    "ICC(C,k)": "ICC3k",
}


@dataclass
class RetestReliability:
    """Result of :func:`retest_reliability`."""

    n: int  # respondents with both waves
    icc: pd.DataFrame  # pingouin.intraclass_corr table (ICC1, ICC2, ICC3, ICC1k, ...)
    icc_type: str
    r: float  # the reliability used for SEM (the chosen ICC)
    pearson_r: float
    sd: float  # SD used for SEM (wave 1 SD by default)
    sem: float  # SD * sqrt(1 - r)
    rci_threshold: float  # 1.96 * sqrt(2) * SEM (Jacobson & Truax)
    mean_change: float
    n_dropped: int

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "icc_type": self.icc_type,
            "icc": {
                row["Type"]: {
                    "icc": float(row["ICC"]),
                    "ci95": [float(v) for v in row[_ci_col(self.icc)]],
                    "F": float(row["F"]),
                    "pval": float(row["pval"]),
                }
                for _, row in self.icc.iterrows()
            },
            "r": self.r,
            "pearson_r": self.pearson_r,
            "sd": self.sd,
            "sem": self.sem,
            "rci_threshold": self.rci_threshold,
            "mean_change": self.mean_change,
            "n_dropped": self.n_dropped,
        }


def _ci_col(icc: pd.DataFrame) -> str:
    return "CI95" if "CI95" in icc.columns else "CI95%"  # pingouin >= 0.7 / older


def retest_reliability(
    data: pd.DataFrame,
    wave2: pd.DataFrame | None = None,
    *,
    id: str = "id",
    wave: str = "wave",
    score: str = "score",
    icc_type: str = "ICC2",
    sd_from: str = "wave1",
    z: float = 1.96,
) -> RetestReliability:
    """Test-retest reliability of a score measured twice on the same respondents.

    Input is either one long DataFrame with ``id``, ``wave`` and ``score`` columns (exactly two
    distinct waves; the first in sort order is wave 1), or two DataFrames (wave 1, wave 2) each
    with ``id`` and ``score`` columns. Respondents without both scores are dropped.

    ICCs come from ``pingouin.intraclass_corr`` (Shrout & Fleiss; same values as
    ``psych::ICC``), labelled as psych does (ICC1, ICC2, ICC3, ICC1k, ICC2k, ICC3k; pingouin's
    own labels such as ``ICC(A,1)`` are kept in column ``label`` and accepted as ``icc_type``). ``SEM = SD * sqrt(1 - r)`` with ``r`` the chosen ICC (default ``ICC2``,
    two-way random, absolute agreement, single measure) and ``SD`` the wave-1 SD
    (``sd_from="pooled"`` for the pooled SD of both waves). The reliable-change threshold
    (Jacobson & Truax) is ``z * sqrt(2) * SEM``: a change larger than it is unlikely (p < .05)
    to be measurement error alone.
    """
    import pingouin as pg

    if wave2 is not None:
        a = data[[id, score]].rename(columns={score: "s1"})
        b = wave2[[id, score]].rename(columns={score: "s2"})
        wide = a.merge(b, on=id, how="outer")
    else:
        waves = sorted(pd.unique(data[wave].dropna()))
        if len(waves) != 2:
            raise ValueError(f"expected exactly two waves, found {waves!r}")
        wide = data.pivot_table(index=id, columns=wave, values=score, aggfunc="first")
        wide = wide.reindex(columns=waves)
        wide.columns = ["s1", "s2"]
        wide = wide.reset_index()
    n_all = len(wide)
    wide = wide.dropna(subset=["s1", "s2"])
    n = len(wide)
    if n < 3:
        raise ValueError("test-retest needs at least 3 respondents with both waves")
    long = wide.melt(id_vars=[id], value_vars=["s1", "s2"], var_name="_wave", value_name="_s")
    icc = pg.intraclass_corr(data=long, targets=id, raters="_wave", ratings="_s")
    icc = icc.reset_index(drop=True)
    # pingouin < 0.7 labels ICC1..ICC3k (as psych); >= 0.7 uses ICC(1,1), ICC(A,1), ...
    # Both list the six types in the same (Shrout-Fleiss) order: use psych's labels.
    icc.insert(1, "label", icc["Type"])
    icc["Type"] = _PSYCH_TYPES[: len(icc)]
    icc_type = _ALIASES.get(icc_type, icc_type)
    sel = icc.loc[icc["Type"] == icc_type]
    if sel.empty:
        raise ValueError(f"unknown icc_type {icc_type!r}; choose from {list(icc['Type'])}")
    r = float(sel["ICC"].iloc[0])
    s1 = wide["s1"].to_numpy(float)
    s2 = wide["s2"].to_numpy(float)
    if sd_from == "pooled":
        sd = float(np.sqrt((s1.var(ddof=1) + s2.var(ddof=1)) / 2.0))
    else:
        sd = float(s1.std(ddof=1))
    sem = sd * float(np.sqrt(max(1.0 - r, 0.0)))
    return RetestReliability(
        n=n,
        icc=icc,
        icc_type=icc_type,
        r=r,
        pearson_r=float(np.corrcoef(s1, s2)[0, 1]),
        sd=sd,
        sem=sem,
        rci_threshold=float(z * np.sqrt(2.0) * sem),
        mean_change=float(np.mean(s2 - s1)),
        n_dropped=n_all - n,
    )
