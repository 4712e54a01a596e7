"""Seeded generator for the committed reliability reference datasets.

Re-run (from the repository root)::

    python tests/reference/make_datasets.py

It (re)writes ``tests/reference/data/*.csv``. The R script ``run_psych.R`` and the PSPP
runner ``run_pspp.py`` read these files and write ``tests/reference/fixtures/``. The datasets
are deterministic (numpy ``default_rng`` with fixed seeds), small (< 100 kB in total) and
are committed together with the fixtures so that the tests never need R or PSPP.

Datasets
--------
``bifactor12.csv``  500 x 12 five-point items from a graded response model with one general
                    and three group factors (4 items each) -- the omega / Schmid-Leiman case.
``unidim7.csv``     500 x 7 seven-point items, one latent trait (odd k: split-half quirks).
``missing8.csv``    400 x 8 five-point items with ~25% values missing (MAR-ish, pairwise matters),
                    including a few all-missing rows.
``miskeyed8.csv``   300 x 8 five-point items where item ``m5`` was left un-reversed.
``retest.csv``      long format (id, wave, score): 150 respondents measured twice.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent / "data"


def graded_response(
    rng: np.random.Generator, theta: np.ndarray, a: np.ndarray, n_cat: int
) -> np.ndarray:
    """Samejima graded response model: theta (n,) or (n, f); a (k,) or (k, f) slopes.

    Thresholds are spread over [-2, 2] with an item-specific shift. Returns codes 1..n_cat.
    """
    theta = np.atleast_2d(theta.T).T  # (n, f)
    a = np.atleast_2d(a.T).T  # (k, f)
    k = a.shape[0]
    eta = theta @ a.T  # (n, k)
    base = np.linspace(-2.0, 2.0, n_cat - 1)
    shift = rng.uniform(-0.6, 0.6, size=k)
    b = base[None, :] + shift[:, None]  # (k, n_cat-1)
    p_ge = 1.0 / (1.0 + np.exp(-(eta[:, :, None] - a.sum(axis=1)[None, :, None] * b[None])))
    u = rng.uniform(size=eta.shape)
    return 1 + (u[:, :, None] < p_ge).sum(axis=2)


def bifactor12(rng: np.random.Generator) -> pd.DataFrame:
    n, k = 500, 12
    g = rng.standard_normal(n)
    s = rng.standard_normal((n, 3))
    theta = np.column_stack([g, s])
    a = np.zeros((k, 4))
    a[:, 0] = rng.uniform(0.8, 1.6, size=k)
    for j in range(3):
        a[4 * j : 4 * j + 4, j + 1] = rng.uniform(0.6, 1.3, size=4)
    x = graded_response(rng, theta, a, 5)
    return pd.DataFrame(x, columns=[f"b{i + 1}" for i in range(k)])


def unidim7(rng: np.random.Generator) -> pd.DataFrame:
    n, k = 500, 7
    theta = rng.standard_normal(n)
    a = rng.uniform(0.7, 2.0, size=k)
    x = graded_response(rng, theta, a, 7)
    return pd.DataFrame(x, columns=[f"u{i + 1}" for i in range(k)])


def missing8(rng: np.random.Generator) -> pd.DataFrame:
    n, k = 400, 8
    theta = rng.standard_normal(n)
    a = rng.uniform(0.8, 1.8, size=k)
    x = graded_response(rng, theta, a, 5).astype(float)
    # MAR-ish: missingness probability depends on the (observed) first item and on the item.
    p = 0.15 + 0.05 * (x[:, [0]] - 3) + np.linspace(0.0, 0.15, k)[None, :]
    p[:, 0] = 0.08
    miss = rng.uniform(size=x.shape) < p
    x[miss] = np.nan
    x[:5, :] = np.nan  # a few all-missing rows (count in psych's n.obs, not in any n_ij)
    return pd.DataFrame(x, columns=[f"x{i + 1}" for i in range(k)])


def miskeyed8(rng: np.random.Generator) -> pd.DataFrame:
    n, k = 300, 8
    theta = rng.standard_normal(n)
    a = rng.uniform(0.8, 1.8, size=k)
    a[4] = -1.2  # m5 is a reversed item whose reverse keying was "forgotten"
    x = graded_response(rng, theta, a, 5)
    return pd.DataFrame(x, columns=[f"m{i + 1}" for i in range(k)])


def retest(rng: np.random.Generator) -> pd.DataFrame:
    n = 150
    true = rng.normal(30.0, 6.0, size=n)
    w1 = true + rng.normal(0.0, 2.5, size=n)
    w2 = true + 0.8 + rng.normal(0.0, 2.5, size=n)  # small practice effect
    ids = [f"p{i + 1:03d}" for i in range(n)]
    df = pd.DataFrame(
        {
            "id": ids * 2,
            "wave": [1] * n + [2] * n,
            "score": np.round(np.concatenate([w1, w2]), 1),
        }
    )
    return df


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    makers = {
        "bifactor12": (bifactor12, 20240101),
        "unidim7": (unidim7, 20240102),
        "missing8": (missing8, 20240103),
        "miskeyed8": (miskeyed8, 20240104),
        "retest": (retest, 20240105),
    }
    for name, (fn, seed) in makers.items():
        df = fn(np.random.default_rng(seed))
        df.to_csv(OUT / f"{name}.csv", index=False, na_rep="")
        print(f"wrote {name}.csv {df.shape}")


if __name__ == "__main__":
    main()
