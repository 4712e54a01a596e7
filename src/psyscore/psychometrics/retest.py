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

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..norms import reliable_change_threshold
from ..norms import sem as _sem

__all__ = ["ICC_TYPES", "RetestReliability", "icc_type_name", "retest_reliability"]

_PSYCH_TYPES = ["ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"]
_ALIASES = {
    "ICC(1,1)": "ICC1",
    "ICC(A,1)": "ICC2",
    "ICC(C,1)": "ICC3",
    "ICC(1,k)": "ICC1k",
    "ICC(A,k)": "ICC2k",
    "ICC(C,k)": "ICC3k",
    # Shrout & Fleiss (1979) notation
    "ICC(2,1)": "ICC2",
    "ICC(3,1)": "ICC3",
    "ICC(2,k)": "ICC2k",
    "ICC(3,k)": "ICC3k",
}

#: What each ICC type measures (Shrout & Fleiss 1979; McGraw & Wong 1996 in brackets).
ICC_TYPES = {
    "ICC1": "ICC(1,1): one-way random effects, single measurement",
    "ICC2": "ICC(2,1) [ICC(A,1)]: two-way random effects, absolute agreement, single measurement",
    "ICC3": "ICC(3,1) [ICC(C,1)]: two-way mixed effects, consistency, single measurement",
    "ICC1k": "ICC(1,k): one-way random effects, mean of the k=2 waves",
    "ICC2k": "ICC(2,k) [ICC(A,k)]: two-way random effects, absolute agreement, mean of the k=2 waves",
    "ICC3k": "ICC(3,k) [ICC(C,k)]: two-way mixed effects, consistency, mean of the k=2 waves",
}


def icc_type_name(name: str) -> str:
    """psych's name (ICC1 ... ICC3k) for an ICC type given as psych, pingouin or Shrout-Fleiss
    spells it, in any case (``icc2``, ``ICC(A,1)``, ``ICC(2,1)``); ValueError if unknown."""
    key = "".join(str(name).split()).upper().replace("K", "k")
    key = _ALIASES.get(key, key)
    if key not in _PSYCH_TYPES:
        raise ValueError(
            f"unknown ICC type {name!r}; choose from {', '.join(_PSYCH_TYPES)} "
            "(or ICC(2,1), ICC(3,1), ICC(A,1), ICC(C,1), ...)"
        )
    return key


@contextlib.contextmanager
def _full_precision() -> Iterator[None]:
    """pingouin rounds the CI95 column to 2 decimals by default (``options['round.column.CI95']``):
    switch its rounding off while we compute, and restore the user's options after."""
    import pingouin as pg

    saved = dict(pg.options)
    for key in [k for k in pg.options if str(k).startswith("round.")]:
        del pg.options[key]
    pg.options["round"] = None
    try:
        yield
    finally:
        pg.options.clear()
        pg.options.update(saved)


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
    # added later, with defaults so that existing constructors keep working
    ci95: tuple[float, float] = (float("nan"), float("nan"))  # of the chosen ICC
    mean1: float = float("nan")
    mean2: float = float("nan")
    sd1: float = float("nan")
    sd2: float = float("nan")
    sd_change: float = float("nan")

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "icc_type": self.icc_type,
            "icc": {
                row["Type"]: {
                    "icc": float(row["ICC"]),
                    "ci95": [float(v) for v in row["CI95"]],
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
            "ci95": [float(v) for v in self.ci95],
            "mean1": self.mean1,
            "mean2": self.mean2,
            "sd1": self.sd1,
            "sd2": self.sd2,
            "sd_change": self.sd_change,
        }


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
    own labels such as ``ICC(A,1)`` are kept in column ``label`` and accepted as ``icc_type``, as
    are Shrout-Fleiss names such as ``ICC(2,1)``). The 95% CIs are at full precision (pingouin
    rounds them to 2 decimals unless told otherwise; they agree with psych's to about 1e-15).
    ``SEM = SD * sqrt(1 - r)`` with ``r`` the chosen ICC (default ``ICC2``, two-way random,
    absolute agreement, single measure) and ``SD`` the wave-1 SD (``sd_from="pooled"`` for the
    pooled SD of both waves). The reliable-change threshold (Jacobson & Truax) is
    ``z * sqrt(2) * SEM``: a change larger than it is unlikely (p < .05) to be measurement error
    alone. Degenerate data give NaN rather than warnings: no variance between respondents leaves
    the ICC undefined; identical waves give ICC 1 and SEM 0 (up to rounding, about 1e-7), with an
    F-based CI that is undefined when the error mean square is exactly 0.
    """
    import pingouin as pg

    icc_type = icc_type_name(icc_type)
    if sd_from not in {"wave1", "pooled"}:
        raise ValueError(f"sd_from must be 'wave1' or 'pooled', not {sd_from!r}")

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
    long["_s"] = long["_s"].astype(float)
    with _full_precision(), np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        icc = pg.intraclass_corr(data=long, targets=id, raters="_wave", ratings="_s")
    # pingouin >= 0.7 names the interval column CI95, older versions CI95%: one name for callers
    icc = icc.reset_index(drop=True).rename(columns={"CI95%": "CI95"})
    # pingouin < 0.7 labels ICC1..ICC3k (as psych); >= 0.7 uses ICC(1,1), ICC(A,1), ...
    # Both list the six types in the same (Shrout-Fleiss) order: use psych's labels.
    icc.insert(1, "label", icc["Type"])
    icc["Type"] = _PSYCH_TYPES[: len(icc)]
    sel = icc.loc[icc["Type"] == icc_type]
    r = float(sel["ICC"].iloc[0])
    lo, hi = (float(v) for v in sel["CI95"].iloc[0])
    s1 = wide["s1"].to_numpy(float)
    s2 = wide["s2"].to_numpy(float)
    sd1, sd2 = float(s1.std(ddof=1)), float(s2.std(ddof=1))
    sd = float(np.sqrt((sd1**2 + sd2**2) / 2.0)) if sd_from == "pooled" else sd1
    if np.isfinite(r):
        rel = min(r, 1.0)  # an ICC never exceeds 1; guard the square root against rounding
        sem = _sem(sd, rel)
        rci = reliable_change_threshold(sd, rel, z)
    else:
        sem = rci = float("nan")
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        pearson = float(np.corrcoef(s1, s2)[0, 1])
    return RetestReliability(
        n=n,
        icc=icc,
        icc_type=icc_type,
        r=r,
        pearson_r=pearson,
        sd=sd,
        sem=sem,
        rci_threshold=rci,
        mean_change=float(np.mean(s2 - s1)),
        n_dropped=n_all - n,
        ci95=(lo, hi),
        mean1=float(s1.mean()),
        mean2=float(s2.mean()),
        sd1=sd1,
        sd2=sd2,
        sd_change=float((s2 - s1).std(ddof=1)),
    )
