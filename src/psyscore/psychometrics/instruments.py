"""Reliability of every score of an instrument: reverse-key per the definition, then analyse.

The link between the definition (which items form a score, which are reversed, the published
alpha) and the statistics in this package, which know nothing about instruments.
"""

from __future__ import annotations

import pandas as pd

from ..instrument import Instrument
from ..responses import ItemMatrix, resolve
from ..scoring import reverse_keyed
from .scale import ScaleReliability, analyse_scale, tidy_items, tidy_summaries


def analyse_instrument(
    items: ItemMatrix,
    *,
    policy: str = "pairwise",
    omega: bool = True,
    n_boot: int = 0,
    seed: int | None = None,
) -> list[ScaleReliability]:
    """One ScaleReliability per item-based score (composites of scores are skipped)."""
    inst = items.instrument
    keyed = reverse_keyed(items)
    by_id = {it.id: it for it in inst.items}
    results = []
    for name, spec in inst.scores.items():
        if spec.items is None:
            continue
        index = [inst.item_ids.index(i) for i in spec.items]
        frame = pd.DataFrame(keyed[:, index], columns=spec.items)
        # floor/ceiling use the widest declared range when items differ (e.g. CSI-4 item 1 is 0-6)
        lows = [inst.scale_of(by_id[i]).min for i in spec.items]
        highs = [inst.scale_of(by_id[i]).max for i in spec.items]
        published = spec.published_reliability.alpha if spec.published_reliability else None
        results.append(
            analyse_scale(
                frame,
                policy=policy,
                scale_min=min(lows),
                scale_max=max(highs),
                published_alpha=published,
                omega=omega,
                name=f"{inst.output_prefix}_{name}",
                n_boot=n_boot,
                seed=seed,
            )
        )
    return results


def reliability(
    df: pd.DataFrame, instrument: Instrument, *, policy: str = "pairwise", omega: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Notebook entry point: (summary per score, item statistics) as tidy DataFrames.

    >>> import psyscore  # doctest: +SKIP
    >>> summary, items = psyscore.reliability(df, psyscore.load("phq-9"))  # doctest: +SKIP
    """
    items, _ = resolve(instrument, df)
    results = analyse_instrument(items, policy=policy, omega=omega)
    return tidy_summaries(results), tidy_items(results)
