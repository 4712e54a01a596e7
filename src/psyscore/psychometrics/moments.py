"""Mergeable sufficient statistics for reliability analysis.

Every reliability statistic in :mod:`psyscore.psychometrics` is a function of a few
sufficient statistics of the item-score matrix. :class:`Moments` holds them in a form that
can be computed chunk by chunk and merged (``a + b``) with results equal to one pass over all
rows. For integer-coded responses (the usual case) every sum is an exactly representable
integer below 2**53, so merging is exact bit for bit; for non-integer scores it is exact up
to floating-point summation order.

Statistics kept (``k`` items, ``x_i`` the score of item ``i`` in a row):

* pairwise (rows where items ``i`` and ``j`` are both observed): ``pair_n[i, j]``,
  ``pair_sum[i, j]`` = sum of ``x_i``, ``pair_sumsq[i, j]`` = sum of ``x_i**2``,
  ``cross[i, j]`` = sum of ``x_i * x_j``; the diagonal is the per-item statistics;
* listwise (rows with every item observed): ``n_complete``, ``complete_sum``,
  ``complete_cross``;
* the "total" score of psych::alpha (row mean of the observed items, as ``rowMeans(x,
  na.rm=TRUE)``) against each item, over rows where that item is observed, for the
  pairwise item-total correlation ``raw.r``;
* response frequencies (counts per code per item) while there are at most ``max_codes``
  distinct codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Moments", "as_item_matrix"]

MAX_CODES = 50
BLOCK_ROWS = 131072


def _integer_frame(items: pd.DataFrame) -> bool:
    return items.shape[1] > 0 and all(
        isinstance(dt, np.dtype) and dt.kind in "iub" for dt in items.dtypes
    )


def as_item_matrix(
    items: pd.DataFrame | np.ndarray,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Return (float64 array with NaN for missing, column names) for a DataFrame or array.

    Non-finite values (inf) count as missing.
    """
    x, cols, _ = _prepare(items)
    return x, cols


def _prepare(items) -> tuple[np.ndarray, tuple[str, ...], np.ndarray | None]:
    """(float64 matrix, names, missing mask or None if nothing is missing)."""
    if isinstance(items, pd.DataFrame):
        cols = tuple(str(c) for c in items.columns)
        if _integer_frame(items):  # plain numpy integer columns cannot hold missing values
            return items.to_numpy(dtype=np.float64), cols, None
        try:
            x = items.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            x = items.apply(pd.to_numeric, errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
    else:
        arr = np.asarray(items)
        if arr.ndim != 2:
            raise ValueError("items must be a 2-D array (rows = respondents, columns = items)")
        cols = tuple(f"V{i + 1}" for i in range(arr.shape[1]))
        if arr.dtype.kind in "iub":
            return arr.astype(np.float64), cols, None
        x = np.array(arr, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError("items must be 2-D")
    bad = ~np.isfinite(x)
    if not bad.any():
        return x, cols, None
    x = np.where(bad, np.nan, x)
    return x, cols, bad


def _frequencies(x: np.ndarray, nan: np.ndarray | None, max_codes: int):
    """Counts per distinct code per item (codes sorted); (None, None) if too many codes.

    Integer codes in a compact range are counted by one vectorised comparison pass per code
    (few codes) or one ``bincount`` per item; the counts adding up to the number of observed
    responses proves that every response is such an integer code. Other values fall back to
    ``np.unique``. No loop runs over respondents.
    """
    n, k = x.shape
    if n == 0 or k == 0 or (nan is not None and nan.all()):
        return np.empty(0), np.zeros((k, 0), dtype=np.int64)
    lo = float(np.nanmin(x) if nan is not None else x.min())
    hi = float(np.nanmax(x) if nan is not None else x.max())
    n_obs = np.full(k, n, dtype=np.int64) if nan is None else n - nan.sum(axis=0)
    if lo.is_integer() and hi - lo <= 4 * max_codes:
        width = int(hi - lo) + 1
        if width <= 16:
            counts = np.stack([(x == lo + v).sum(axis=0) for v in range(width)], axis=1)
        else:
            counts = np.zeros((k, width), dtype=np.int64)
            for j in range(k):  # one bincount per item
                col = x[:, j] if nan is None else x[~nan[:, j], j]
                off = col - lo
                ioff = off.astype(np.intp)
                if np.array_equal(ioff, off):
                    counts[j] = np.bincount(ioff, minlength=width)
        if np.array_equal(counts.sum(axis=1), n_obs):
            used = counts.sum(axis=0) > 0
            if used.sum() > max_codes:
                return None, None
            codes = lo + np.nonzero(used)[0].astype(np.float64)
            return codes, counts[:, used].astype(np.int64)
    obs = x if nan is None else x[~nan]
    codes = np.unique(obs)
    if codes.size > max_codes:
        return None, None
    counts = np.zeros((k, codes.size), dtype=np.int64)
    for j in range(k):
        col = x[:, j] if nan is None else x[~nan[:, j], j]
        counts[j] = np.bincount(np.searchsorted(codes, col), minlength=codes.size)
    return codes, counts


@dataclass(eq=False)
class Moments:
    """Mergeable sufficient statistics of an item-score matrix (see module docstring).

    Build with :meth:`from_data`; combine chunks with ``a + b`` or :meth:`merge`.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({"a": [1, 2, 3, 4], "b": [2, 2, 4, 5], "c": [1, 3, 3, np.nan]})
    >>> m = Moments.from_data(df.iloc[:2]) + Moments.from_data(df.iloc[2:])
    >>> bool(np.allclose(m.cov(), Moments.from_data(df).cov()))
    True
    """

    columns: tuple[str, ...]
    n_rows: int
    pair_n: np.ndarray
    pair_sum: np.ndarray
    pair_sumsq: np.ndarray
    cross: np.ndarray
    n_total: int
    total_sum: float
    total_sumsq: float
    item_total_sum: np.ndarray
    item_total_sumsq: np.ndarray
    item_total_cross: np.ndarray
    n_complete: int
    complete_sum: np.ndarray
    complete_cross: np.ndarray
    codes: np.ndarray | None = None
    freq: np.ndarray | None = None
    max_codes: int = field(default=MAX_CODES)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_data(
        cls,
        items: pd.DataFrame | np.ndarray,
        *,
        frequencies: bool = True,
        max_codes: int = MAX_CODES,
    ) -> Moments:
        """Compute the statistics of one chunk of rows (vectorised, a few k x k matmuls).

        Large inputs are processed in blocks of ``BLOCK_ROWS`` rows whose statistics are
        merged, which bounds temporary memory (and keeps the 0/1 count products exact).
        """
        n_rows = items.shape[0]
        if n_rows > BLOCK_ROWS:
            if isinstance(items, pd.DataFrame):
                blocks = (items.iloc[i : i + BLOCK_ROWS] for i in range(0, n_rows, BLOCK_ROWS))
            else:
                arr = np.asarray(items)
                blocks = (arr[i : i + BLOCK_ROWS] for i in range(0, n_rows, BLOCK_ROWS))
            out = None
            for b in blocks:
                mb = cls.from_data(b, frequencies=frequencies, max_codes=max_codes)
                out = mb if out is None else out.merge(mb)
            return out
        x, cols, nan = _prepare(items)
        n, k = x.shape
        if nan is None:
            cross = x.T @ x
            colsum = x.sum(axis=0)
            colsq = np.diag(cross).copy()
            pair_n = np.full((k, k), n, dtype=np.int64)
            pair_sum = np.repeat(colsum[:, None], k, axis=1)
            pair_sumsq = np.repeat(colsq[:, None], k, axis=1)
            t = x @ np.full(k, 1.0 / k) if k else np.zeros(n)
            n_total = n if k else 0
            item_total_sum = np.full(k, t.sum())
            item_total_sumsq = np.full(k, t @ t)
            item_total_cross = x.T @ t
            n_complete = n
            complete_sum = colsum
            complete_cross = cross.copy()
        else:
            obs = ~nan
            m = obs.astype(np.float64)
            x0 = np.where(obs, x, 0.0)
            pair_n = np.rint(m.T @ m).astype(np.int64)
            pair_sum = x0.T @ m
            pair_sumsq = (x0 * x0).T @ m
            cross = x0.T @ x0
            cnt = obs.sum(axis=1)
            has = cnt > 0
            t = np.where(has, x0.sum(axis=1) / np.maximum(cnt, 1), 0.0)
            n_total = int(has.sum())
            item_total_sum = m.T @ t
            item_total_sumsq = m.T @ (t * t)
            item_total_cross = x0.T @ t
            complete = cnt == k
            n_complete = int(complete.sum())
            xc = x0[complete]
            complete_sum = xc.sum(axis=0)
            complete_cross = xc.T @ xc
        codes = freq = None
        if frequencies:
            codes, freq = _frequencies(x, nan, max_codes)
        return cls(
            columns=cols,
            n_rows=int(n),
            pair_n=pair_n,
            pair_sum=pair_sum,
            pair_sumsq=pair_sumsq,
            cross=cross,
            n_total=int(n_total),
            total_sum=float(t.sum()),
            total_sumsq=float(t @ t),
            item_total_sum=item_total_sum,
            item_total_sumsq=item_total_sumsq,
            item_total_cross=item_total_cross,
            n_complete=int(n_complete),
            complete_sum=complete_sum,
            complete_cross=complete_cross,
            codes=codes,
            freq=freq,
            max_codes=max_codes,
        )

    @classmethod
    def from_chunks(cls, chunks, **kwargs: Any) -> Moments:
        """Merge the statistics of an iterable of chunks (DataFrames or arrays)."""
        out = None
        for chunk in chunks:
            m = cls.from_data(chunk, **kwargs)
            out = m if out is None else out + m
        if out is None:
            raise ValueError("no chunks given")
        return out

    # ------------------------------------------------------------------ merging
    def merge(self, other: Moments) -> Moments:
        """Combine with the statistics of other rows of the same items."""
        if tuple(self.columns) != tuple(other.columns):
            raise ValueError("cannot merge Moments of different item sets")
        codes = freq = None
        if self.codes is not None and other.codes is not None:
            codes = np.union1d(self.codes, other.codes)
            if codes.size <= min(self.max_codes, other.max_codes):
                freq = np.zeros((len(self.columns), codes.size), dtype=np.int64)
                freq[:, np.searchsorted(codes, self.codes)] += self.freq
                freq[:, np.searchsorted(codes, other.codes)] += other.freq
            else:
                codes = None
        return Moments(
            columns=self.columns,
            n_rows=self.n_rows + other.n_rows,
            pair_n=self.pair_n + other.pair_n,
            pair_sum=self.pair_sum + other.pair_sum,
            pair_sumsq=self.pair_sumsq + other.pair_sumsq,
            cross=self.cross + other.cross,
            n_total=self.n_total + other.n_total,
            total_sum=self.total_sum + other.total_sum,
            total_sumsq=self.total_sumsq + other.total_sumsq,
            item_total_sum=self.item_total_sum + other.item_total_sum,
            item_total_sumsq=self.item_total_sumsq + other.item_total_sumsq,
            item_total_cross=self.item_total_cross + other.item_total_cross,
            n_complete=self.n_complete + other.n_complete,
            complete_sum=self.complete_sum + other.complete_sum,
            complete_cross=self.complete_cross + other.complete_cross,
            codes=codes,
            freq=freq,
            max_codes=min(self.max_codes, other.max_codes),
        )

    __add__ = merge

    def __radd__(self, other: Any) -> Moments:  # lets sum([m1, m2, ...]) work
        if other == 0:
            return self
        return NotImplemented

    # ------------------------------------------------------------------ subsetting
    @property
    def k(self) -> int:
        return len(self.columns)

    def subset(self, columns) -> Moments:
        """Statistics of a subset of the items.

        Pairwise parts and frequencies are exact. Listwise parts keep referring to the rows
        complete on the *original* item set. The psych total-score parts (row mean of the
        observed items) cannot be re-derived for a subset and become NaN (``item_total_r``
        then needs complete data).
        """
        idx = [self.columns.index(c) for c in columns]
        ix = np.ix_(idx, idx)
        same = idx == list(range(self.k))
        nan_k = np.full(len(idx), np.nan)
        return Moments(
            columns=tuple(self.columns[i] for i in idx),
            n_rows=self.n_rows,
            pair_n=self.pair_n[ix],
            pair_sum=self.pair_sum[ix],
            pair_sumsq=self.pair_sumsq[ix],
            cross=self.cross[ix],
            n_total=self.n_total if same else -1,
            total_sum=self.total_sum if same else np.nan,
            total_sumsq=self.total_sumsq if same else np.nan,
            item_total_sum=self.item_total_sum[idx] if same else nan_k,
            item_total_sumsq=self.item_total_sumsq[idx] if same else nan_k.copy(),
            item_total_cross=self.item_total_cross[idx] if same else nan_k.copy(),
            n_complete=self.n_complete,
            complete_sum=self.complete_sum[idx],
            complete_cross=self.complete_cross[ix],
            codes=self.codes,
            freq=None if self.freq is None else self.freq[idx],
            max_codes=self.max_codes,
        )

    # ------------------------------------------------------------------ derived matrices
    def n_obs(self, policy: str = "pairwise") -> int:
        """Number of rows behind the scale: all rows (pairwise, as psych) or complete rows."""
        return self.n_rows if _policy(policy) == "pairwise" else self.n_complete

    def cov(self, policy: str = "pairwise") -> np.ndarray:
        """Covariance matrix, as R's ``cov(x, use="pairwise")`` or on complete rows.

        ``C_ij = (n_ij P_ij - S_i|j S_j|i) / (n_ij (n_ij - 1))`` with ``P`` the cross-products
        and ``S_i|j`` the sum of item ``i`` over rows where ``i`` and ``j`` are observed.
        """
        if _policy(policy) == "listwise":
            n = float(self.n_complete)
            s = self.complete_sum
            with np.errstate(invalid="ignore", divide="ignore"):
                return (n * self.complete_cross - np.outer(s, s)) / (n * (n - 1.0))
        n = self.pair_n.astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            c = (n * self.cross - self.pair_sum * self.pair_sum.T) / (n * (n - 1.0))
        return c

    def cor(self, policy: str = "pairwise") -> np.ndarray:
        """Correlation matrix as R's ``cor(x, use="pairwise")`` (pairwise means and SDs).

        This is what psych::omega and psych::fa use. psych::alpha and psych::splitHalf
        instead use ``cov2cor(cov(x, use="pairwise"))``, see :meth:`cov2cor`.
        """
        if _policy(policy) == "listwise":
            return cov2cor(self.cov("listwise"))
        n = self.pair_n.astype(np.float64)
        s = self.pair_sum
        num = n * self.cross - s * s.T
        var = n * self.pair_sumsq - s * s
        with np.errstate(invalid="ignore", divide="ignore"):
            r = num / np.sqrt(var * var.T)
        np.fill_diagonal(r, 1.0)
        return r

    def cov2cor(self, policy: str = "pairwise") -> np.ndarray:
        """``cov2cor(cov(x, use=...))``: the correlation matrix psych::alpha works with."""
        return cov2cor(self.cov(policy))

    def item_n(self, policy: str = "pairwise") -> np.ndarray:
        if _policy(policy) == "listwise":
            return np.full(self.k, self.n_complete, dtype=np.int64)
        return np.diag(self.pair_n).copy()

    def item_means(self, policy: str = "pairwise") -> np.ndarray:
        if _policy(policy) == "listwise":
            with np.errstate(invalid="ignore", divide="ignore"):
                return self.complete_sum / self.n_complete
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.diag(self.pair_sum) / np.diag(self.pair_n)

    def item_sds(self, policy: str = "pairwise") -> np.ndarray:
        return np.sqrt(np.diag(self.cov(policy)))

    def total_stats(self, policy: str = "pairwise") -> tuple[float, float, int]:
        """(mean, sd, n) of psych's total score: the row mean of the observed items."""
        if _policy(policy) == "listwise":
            n = self.n_complete
            c = self.cov("listwise")
            mean = float(self.complete_sum.sum() / (n * self.k)) if n else np.nan
            return mean, float(np.sqrt(c.sum()) / self.k), n
        n = self.n_total
        if n < 1:
            return np.nan, np.nan, 0
        mean = self.total_sum / n
        var = (n * self.total_sumsq - self.total_sum**2) / (n * (n - 1.0)) if n > 1 else np.nan
        return float(mean), float(np.sqrt(max(var, 0.0))), int(n)

    def item_total_r(self, policy: str = "pairwise") -> np.ndarray:
        """psych's ``raw.r``: ``cor(total, x, use=...)`` with total = row mean of observed items."""
        c = self.cov(policy)
        if _policy(policy) == "listwise" or np.all(self.pair_n == self.n_rows):
            with np.errstate(invalid="ignore", divide="ignore"):
                return c.sum(axis=0) / np.sqrt(np.diag(c) * c.sum())
        n = np.diag(self.pair_n).astype(np.float64)
        sx = np.diag(self.pair_sum)
        sxx = np.diag(self.pair_sumsq)
        st, stt, sxt = self.item_total_sum, self.item_total_sumsq, self.item_total_cross
        with np.errstate(invalid="ignore", divide="ignore"):
            return (n * sxt - sx * st) / np.sqrt((n * sxx - sx * sx) * (n * stt - st * st))

    def frequencies(self) -> pd.DataFrame | None:
        """Response counts: one row per item, one column per observed code (None if too many)."""
        if self.freq is None or self.codes is None:
            return None
        labels = [_code_label(c) for c in self.codes]
        return pd.DataFrame(self.freq, index=list(self.columns), columns=labels)


def _code_label(c: float):
    return int(c) if float(c).is_integer() else float(c)


def _policy(policy: str) -> str:
    p = str(policy).lower()
    if p in ("pairwise", "pairwise.complete.obs"):
        return "pairwise"
    if p in ("listwise", "complete", "complete.obs", "na.omit"):
        return "listwise"
    raise ValueError(f"unknown missing-data policy {policy!r}: use 'pairwise' or 'listwise'")


def cov2cor(c: np.ndarray) -> np.ndarray:
    """R's ``cov2cor``: ``R = D^-1/2 C D^-1/2`` with ``D = diag(C)``."""
    d = np.sqrt(np.diag(c))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = c / np.outer(d, d)
    np.fill_diagonal(r, 1.0)
    return r
