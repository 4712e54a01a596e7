"""The options of a reliability analysis, checked once where they enter (the CLI, `Survey`, the
notebook functions), so no impossible one reaches the statistics."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import UsageError

__all__ = ["ReliabilityOptions", "check_reliability_options"]


def check_reliability_options(
    *,
    policy: str = "pairwise",
    split_half: str = "all",
    impute: str = "none",
    correlations: str = "pearson",
) -> None:
    """Refuse an unknown --policy, --split-half, --impute or --correlations (UsageError) before
    any reading; :class:`ReliabilityOptions` checks every option."""
    from .instruments import CORRELATIONS, IMPUTE_CHOICES
    from .splithalf import parse_split_half

    if policy not in {"pairwise", "listwise"}:
        raise UsageError(f"--policy must be pairwise or listwise, not {policy!r}")
    try:
        parse_split_half(split_half)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if impute not in IMPUTE_CHOICES:
        raise UsageError(f"--impute must be one of {', '.join(IMPUTE_CHOICES)}, not {impute!r}")
    if correlations not in CORRELATIONS:
        raise UsageError(
            f"--correlations must be one of {', '.join(CORRELATIONS)}, not {correlations!r}"
        )


def _whole_number(value: object) -> bool:
    """An int (numpy's too), never a bool or a float: 2.5 factors or True resamples mean nothing."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


@dataclass(frozen=True)
class ReliabilityOptions:
    """The options of a reliability analysis, as ``psyscore reliability`` takes them, checked
    once when made (UsageError naming the option), so no impossible one reaches the statistics.

    ``policy`` (``--policy``: pairwise or listwise missing data), ``omega`` (False:
    ``--no-omega``), ``n_boot`` and ``seed`` (``--bootstrap`` resamples for alpha's CI),
    ``split_half`` (``--split-half``), ``nfactors`` (group factors behind omega, at least 1),
    ``by`` (a column: every statistic per group too), ``impute`` (``--impute``: the scores
    behind M, SD and the intercorrelations) and ``correlations`` (pearson, or polychoric: also
    ordinal alpha and omega).

    >>> ReliabilityOptions(nfactors=0)
    Traceback (most recent call last):
    ...
    psyscore.errors.UsageError: --nfactors (nfactors=) must be a whole number of at least 1, not 0
    """

    policy: str = "pairwise"
    omega: bool = True
    n_boot: int = 0
    seed: int | None = None
    split_half: str = "all"
    nfactors: int = 3
    by: str | None = None
    impute: str = "none"
    correlations: str = "pearson"

    def __post_init__(self) -> None:
        check_reliability_options(
            policy=self.policy,
            split_half=self.split_half,
            impute=self.impute,
            correlations=self.correlations,
        )
        if not isinstance(self.omega, bool | np.bool_):
            raise UsageError(f"omega= must be True or False, not {self.omega!r}")
        if not _whole_number(self.nfactors) or self.nfactors < 1:
            raise UsageError(
                "--nfactors (nfactors=) must be a whole number of at least 1, "
                f"not {self.nfactors!r}"
            )
        if not _whole_number(self.n_boot) or self.n_boot < 0:
            raise UsageError(
                "--bootstrap (n_boot=) must be a whole number of resamples, 0 for none, "
                f"not {self.n_boot!r}"
            )

    def analysis_options(self) -> dict[str, Any]:
        """Every option, as the statistics take them (``analyse_resolved``)."""
        return dataclasses.asdict(self)

    def report_options(self) -> dict[str, Any]:
        """The options a report states (its JSON, HTML and APA table notes)."""
        return {
            "policy": self.policy,
            "split_half": self.split_half,
            "nfactors": self.nfactors,
            "by": self.by,
            "impute": self.impute,
            "correlations": self.correlations,
        }
