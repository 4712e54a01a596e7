"""Seeded two-wave PHQ-9 + GAD-7 item data for the test-retest reference (`psyscore retest`).

Re-run from the repository root (deterministic: same seed, same files):

    python tests/reference/make_retest.py
    Rscript tests/reference/run_retest_psych.R     # writes fixtures/retest_psych.json

Writes to tests/reference/data/:

``retest_wave1.csv``  respondent_id + phq9_1..9 + gad7_1..7, 150 respondents (p001-p150)
``retest_wave2.csv``  the same columns, 150 respondents in shuffled order: p001-p005 and five
                      later drop-outs are missing, p151-p160 are new; p020 answered only 6 PHQ-9
                      items (3 missing: PHQ-9 total not scored, so that pair drops out for PHQ-9
                      only)
``retest_long.csv``   both waves stacked, one row per respondent and wave, with a ``wave``
                      column (1, 2), sorted by respondent then wave

Model: one latent severity per respondent at each wave, correlated .85 across waves with a small
improvement at wave 2 (-0.15 SD), and graded 0-3 answers with item-specific discrimination.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).parent / "data"
SEED = 20240605
N = 160
PHQ = [f"phq9_{i}" for i in range(1, 10)]
GAD = [f"gad7_{i}" for i in range(1, 8)]


def graded(rng: np.random.Generator, theta: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """0-3 answers from a graded response model: P(X >= c) = logistic(a * (theta - b_c))."""
    p = 1.0 / (1.0 + np.exp(-a[None, :, None] * (theta[:, None, None] - b[None, :, :])))
    u = rng.uniform(size=(len(theta), len(a), 1))
    return (u < p).sum(axis=2)


def main() -> None:
    rng = np.random.default_rng(SEED)
    ids = np.array([f"p{i + 1:03d}" for i in range(N)])
    rho = 0.85
    t1 = rng.standard_normal(N)
    t2 = rho * t1 + np.sqrt(1 - rho**2) * rng.standard_normal(N) - 0.15
    k = len(PHQ) + len(GAD)
    a = rng.uniform(1.0, 2.2, size=k)
    b = np.sort(rng.normal(0.0, 0.4, size=(k, 3)) + np.array([-0.2, 0.7, 1.5]), axis=1)
    w1 = pd.DataFrame(graded(rng, t1, a, b), columns=PHQ + GAD)
    w2 = pd.DataFrame(graded(rng, t2, a, b), columns=PHQ + GAD)
    w1.insert(0, "respondent_id", ids)
    w2.insert(0, "respondent_id", ids)
    w1 = w1.iloc[:150].astype(object)
    dropouts = {"p001", "p002", "p003", "p004", "p005", "p037", "p058", "p091", "p112", "p140"}
    w2 = w2[~w2["respondent_id"].isin(dropouts)].astype(object)
    w2.loc[w2["respondent_id"] == "p020", ["phq9_2", "phq9_5", "phq9_7"]] = None
    w2 = w2.sample(frac=1.0, random_state=np.random.RandomState(SEED)).reset_index(drop=True)
    long = pd.concat([w1.assign(wave=1), w2.assign(wave=2)], ignore_index=True)
    long = long[["respondent_id", "wave", *PHQ, *GAD]]
    long = long.sort_values(["respondent_id", "wave"], kind="stable").reset_index(drop=True)
    OUT.mkdir(parents=True, exist_ok=True)
    for name, df in (("retest_wave1", w1), ("retest_wave2", w2), ("retest_long", long)):
        df.to_csv(OUT / f"{name}.csv", index=False, na_rep="")
        print(f"wrote {name}.csv {df.shape}")


if __name__ == "__main__":
    main()
