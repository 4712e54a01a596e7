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

from . import _threads

__all__ = ["Moments", "as_item_matrix"]

MAX_CODES = 50
BLOCK_ROWS = 8192  # rows per block (< 2**16): a block's temporaries stay in the CPU caches
BLOCK_CELLS = 262144  # ... and at most about this many cells for many items
PARALLEL_ROWS = 32768  # at least this many rows per worker thread
EQ_CODES = 16  # integer codes in a range this wide are counted by comparison passes
F32_EXACT = 2**24  # float32 represents every integer up to this exactly
F64_EXACT = 2**53  # ... and float64 up to this


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


def _source(items) -> tuple[np.ndarray, tuple[str, ...]]:
    """The item scores as a 2-D array (a view where possible) and the column names.

    The array is float64 (NaN or inf = missing) or of an integer / bool dtype (nothing
    missing). Nothing is written to it.
    """
    if isinstance(items, pd.DataFrame):
        cols = tuple(str(c) for c in items.columns)
        dts = list(items.dtypes)
        if dts and all(isinstance(dt, np.dtype) for dt in dts):
            kinds = {dt.kind for dt in dts}
            if kinds <= set("iu") or kinds == {"b"} or kinds == {"f"}:
                x = items.to_numpy()
                if x.dtype.kind in "iub" or x.dtype == np.float64:
                    return x, cols
        return _prepare(items)[0], cols
    arr = np.asarray(items)
    if arr.ndim != 2:
        raise ValueError("items must be a 2-D array (rows = respondents, columns = items)")
    cols = tuple(f"V{i + 1}" for i in range(arr.shape[1]))
    if arr.dtype.kind in "iub" or arr.dtype == np.float64:
        return arr, cols
    return np.asarray(arr, dtype=np.float64), cols


class _Accumulator:
    """Running sums of the statistics of consecutive row blocks (one worker's rows).

    Per block of ``nb`` rows, with ``x0`` the scores (0 where missing) and ``m`` the 0/1
    observed mask: the symmetric product ``[x0, m]' [x0, m]`` gives the cross-products, the
    pairwise sums and the pairwise counts, ``(x0**2)' m`` the pairwise sums of squares and
    ``[x0, m]' [t, t**2]``, with ``t`` the float64 row means of the observed items, the psych
    total-score sums. A complete block needs only ``x0' x0``. Integer codes with
    ``max|x|**2 * nb < 2**24`` are multiplied in float32 (exact: every partial sum is an
    integer below 2**24; twice as fast), other data in float64. Frequencies of integer codes
    in a narrow range are counted with one comparison pass per code; the counts adding up to
    the observed responses proves that all responses are such codes, which is what makes
    float32 exact.
    """

    def __init__(self, k: int, frequencies: bool, max_codes: int, block_rows: int):
        self.k = k
        self.max_codes = max_codes
        self.block_rows = block_rows
        self.n_rows = 0
        self.pair_n = np.zeros((k, k))
        self.pair_sum = np.zeros((k, k))
        self.pair_sumsq = np.zeros((k, k))
        self.cross = np.zeros((k, k))
        self.n_total = 0
        self.total_sum = 0.0
        self.total_sumsq = 0.0
        self.it_sum = np.zeros(k)
        self.it_sumsq = np.zeros(k)
        self.it_cross = np.zeros(k)
        self.n_complete = 0
        self.complete_sum = np.zeros(k)
        self.complete_cross = np.zeros((k, k))
        self.want_freq = frequencies
        self.freq: dict[float, np.ndarray] | None = {} if frequencies else None
        self.range: tuple[int, int] | None = None  # integer code range of the last block
        self._bufs: dict = {}
        # integer codes: the total-score sums grouped by the row's number of observed items,
        # all integers (see `_exact_totals`), so chunks merge into the very same numbers
        self.by_count: np.ndarray | None = np.zeros((k + 1, 2 + 3 * k))

    # -------------------------------------------------------------- buffers
    def _buf(self, name: str, dtype, cols: int) -> np.ndarray:
        key = (name, np.dtype(dtype).char)
        b = self._bufs.get(key)
        if b is None:
            b = self._bufs[key] = np.empty((self.block_rows, cols), dtype=dtype, order="F")
        return b

    # -------------------------------------------------------------- frequencies
    def _count(self, xb: np.ndarray, lo: int, hi: int) -> np.ndarray:
        """(hi - lo + 1, k) counts of each integer code per item."""
        nb = xb.shape[0]
        eq = self._buf("eq", bool, self.k)[:nb]
        eq8 = eq.view(np.uint8)
        out = np.empty((hi - lo + 1, self.k), dtype=np.int64)
        for i, v in enumerate(range(lo, hi + 1)):
            np.equal(xb, v, out=eq)
            out[i] = np.add.reduce(eq8, axis=0, dtype=np.uint16)  # nb <= BLOCK_ROWS < 2**16
        return out

    def _add_freq(self, codes, counts: np.ndarray | None) -> None:
        """Add (codes, counts (k, n_codes)); counts None = more than max_codes codes."""
        if self.freq is None:
            return
        if counts is None:
            self.freq = None
            return
        for c, col in zip(codes, counts.T, strict=True):
            if col.any():
                key = float(c)
                prev = self.freq.get(key)
                self.freq[key] = col.astype(np.int64) if prev is None else prev + col
        if len(self.freq) > self.max_codes:
            self.freq = None

    def _codes(self, xb: np.ndarray, n_obs: int) -> tuple[int | None, int]:
        """Count the codes of a block; return (max |value|, lowest value) for integer data.

        A float block counts as integer data when its finite values are all integer codes in
        a range narrower than ``EQ_CODES``: the counts over the range (first the previous
        block's range) summing to ``n_obs``, the number of finite values, proves it.
        Otherwise returns (None, 0) and leaves the counting to the caller.
        """
        if n_obs == 0:
            return 0, 0
        if xb.dtype.kind in "iub":
            lo, hi = int(xb.min()), int(xb.max())
            if hi - lo < EQ_CODES:
                counts = self._count(xb, lo, hi)
                self._add_freq(range(lo, hi + 1), counts.T)
            elif self.freq is not None:
                codes, counts = _frequencies(xb.astype(np.float64), None, self.max_codes)
                self._add_freq(codes, counts)
            return max(abs(lo), abs(hi)), lo
        counts = None
        if self.range is not None:
            lo, hi = self.range
            counts = self._count(xb, lo, hi)
            if counts.sum() != n_obs:
                counts = None
        if counts is None:
            flo = float(np.fmin.reduce(xb, axis=None))
            fhi = float(np.fmax.reduce(xb, axis=None))
            if not (np.isfinite(flo) and np.isfinite(fhi) and flo.is_integer()):
                return None, 0
            if not fhi.is_integer() or fhi - flo >= EQ_CODES:
                return None, 0
            lo, hi = int(flo), int(fhi)
            if self.range is not None:  # widen to the union with the previous range
                ulo, uhi = min(lo, self.range[0]), max(hi, self.range[1])
                if uhi - ulo < EQ_CODES:
                    lo, hi = ulo, uhi
            counts = self._count(xb, lo, hi)
            if counts.sum() != n_obs:
                return None, 0
            self.range = (lo, hi)
        self._add_freq(range(lo, hi + 1), counts.T)
        return max(abs(lo), abs(hi)), lo

    # -------------------------------------------------------------- one block
    def add(self, xb: np.ndarray) -> None:
        nb, k = xb.shape
        self.n_rows += nb
        is_float = xb.dtype.kind == "f"
        if is_float:
            o = np.isfinite(xb, out=self._buf("o", bool, k)[:nb])
            n_obs = int(np.count_nonzero(o))
        else:
            o, n_obs = None, nb * k
        vmax, lo = self._codes(xb, n_obs)
        if vmax is None and self.freq is not None:  # not integer codes: generic counting
            nan = None if o is None or n_obs == nb * k else ~o
            xf = xb if nan is None else np.where(o, xb, np.nan)
            self._add_freq(*_frequencies(xf.astype(np.float64, copy=False), nan, self.max_codes))
        exact = vmax is not None and vmax * vmax * nb < F32_EXACT and vmax * k < F32_EXACT
        dt = np.float32 if exact else np.float64
        if self.by_count is not None and (
            vmax is None or (vmax * k) ** 2 * max(self.n_rows, 1) * k >= F64_EXACT
        ):
            self.by_count = None  # not integers, or sums past 2**53: plain float sums
        if n_obs == nb * k:
            self._add_complete(xb, dt)
        else:
            self._add_missing(xb, o, dt, exact, nonneg=vmax is not None and lo >= 0)

    def _add_complete(self, xb: np.ndarray, dt) -> None:
        nb, k = xb.shape
        x0 = self._buf("z", dt, 3 * k)[:nb, :k]
        np.copyto(x0, xb, casting="unsafe")
        g = x0.T @ x0
        colsum = x0.sum(axis=0, dtype=np.float64)
        self.cross += g
        self.pair_n += nb
        self.pair_sum += colsum[:, None]
        self.pair_sumsq += np.diag(g)[:, None]
        self.n_complete += nb
        self.complete_sum += colsum
        self.complete_cross += g
        t = np.divide(x0 @ np.ones(k, dtype=dt), k, dtype=np.float64)
        if xb.dtype == np.float64:
            x64 = xb
        elif dt == np.float64:
            x64 = x0
        else:
            x64 = self._buf("w", np.float64, 2 * k)[:nb, :k]
            np.copyto(x64, x0)
        ts, tss = float(t.sum()), float(t @ t)
        if self.by_count is not None:
            self._add_by_count(k, x0.sum(axis=1, dtype=np.float64), x64, None)
        self.n_total += nb
        self.total_sum += ts
        self.total_sumsq += tss
        self.it_sum += ts
        self.it_sumsq += tss
        self.it_cross += x64.T @ t

    def _fill_x0(self, x0: np.ndarray, xb: np.ndarray, o: np.ndarray, fast: bool) -> None:
        if fast:  # values >= 0 (or NaN): fmax(NaN, 0) = 0
            np.fmax(xb, 0, out=x0, casting="unsafe")
        else:
            x0.fill(0)
            np.copyto(x0, xb, where=o, casting="unsafe")

    def _add_missing(self, xb: np.ndarray, o: np.ndarray, dt, exact: bool, nonneg: bool) -> None:
        nb, k = xb.shape
        z = self._buf("z", dt, 3 * k)[:nb]
        x0, m, x2 = z[:, :k], z[:, k : 2 * k], z[:, 2 * k :]
        self._fill_x0(x0, xb, o, nonneg)
        np.copyto(m, o)
        xm = z[:, : 2 * k]
        g = xm.T @ xm  # [x0, m]' [x0, m] (a symmetric product)
        if nonneg and not np.isfinite(np.trace(g[:k, :k])):  # +inf (= missing) was kept
            self._fill_x0(x0, xb, o, False)
            g = xm.T @ xm
        np.multiply(x0, x0, out=x2)
        cross = g[:k, :k]
        self.cross += cross
        self.pair_sum += g[:k, k:]
        self.pair_n += g[k:, k:]
        self.pair_sumsq += x2.T @ m
        # psych's total score: the mean of the observed items of a row
        sel = np.zeros((2 * k, 2), dtype=dt)
        sel[:k, 0] = 1.0
        sel[k:, 1] = 1.0
        rows = xm @ sel  # row sums and counts (exact)
        s, cnt = rows[:, 0], rows[:, 1]
        tt = np.empty((nb, 2))
        t = tt[:, 0]
        np.divide(s, np.maximum(cnt, 1), out=t, dtype=np.float64)
        np.multiply(t, t, out=tt[:, 1])
        if dt == np.float64:
            w = xm
        else:
            w = self._buf("w", np.float64, 2 * k)[:nb]
            np.copyto(w, xm)
        h = w.T @ tt
        if self.by_count is not None:
            counts = cnt.astype(np.int64)
            sums = s.astype(np.float64)
            for c in np.unique(counts[counts > 0]).tolist():
                sel = counts == c
                self._add_by_count(c, sums[sel], w[sel, :k], w[sel, k:])
        self.n_total += int(np.count_nonzero(cnt))
        self.total_sum += float(t.sum())
        self.total_sumsq += float(t @ t)
        self.it_cross += h[:k, 0]
        self.it_sum += h[k:, 0]
        self.it_sumsq += h[k:, 1]
        # listwise: rows with every item observed
        comp = cnt == k
        nc = int(np.count_nonzero(comp))
        if nc == 0:
            return
        self.n_complete += nc
        if exact and 2 * nc > nb:  # subtract the (fewer) incomplete rows: exact for integers
            xi = x0[~comp]
            self.complete_cross += cross - xi.T @ xi
            self.complete_sum += np.diag(g[:k, k:]) - xi.sum(axis=0, dtype=np.float64)
        else:
            xc = x0[comp]
            self.complete_cross += xc.T @ xc
            self.complete_sum += xc.sum(axis=0, dtype=np.float64)

    def _add_by_count(self, c: int, s: np.ndarray, x: np.ndarray, m: np.ndarray | None) -> None:
        """Rows with `c` observed items: their item sums `s`, scores `x` (0 if missing) and
        observed masks `m` (None: all observed). Integer products and sums: exact."""
        k = self.k
        row = self.by_count[c]
        ss = float(s @ s)
        row[0] += float(s.sum())
        row[1] += ss
        row[2 : 2 + k] += x.T @ s
        if m is None:
            row[2 + k : 2 + 2 * k] += float(s.sum())
            row[2 + 2 * k :] += ss
        else:
            row[2 + k : 2 + 2 * k] += m.T @ s
            row[2 + 2 * k :] += m.T @ (s * s)

    # -------------------------------------------------------------- result
    def moments(self, cols: tuple[str, ...]) -> Moments:
        codes = freq = None
        if self.want_freq and self.freq is not None:
            codes = np.array(sorted(self.freq), dtype=np.float64)
            freq = np.zeros((self.k, codes.size), dtype=np.int64)
            for j, c in enumerate(codes):
                freq[:, j] = self.freq[float(c)]
        return Moments(
            columns=cols,
            n_rows=int(self.n_rows),
            pair_n=np.rint(self.pair_n).astype(np.int64),
            pair_sum=self.pair_sum,
            pair_sumsq=self.pair_sumsq,
            cross=self.cross,
            n_total=int(self.n_total),
            total_sum=float(self.total_sum),
            total_sumsq=float(self.total_sumsq),
            item_total_sum=self.it_sum,
            item_total_sumsq=self.it_sumsq,
            item_total_cross=self.it_cross,
            n_complete=int(self.n_complete),
            complete_sum=self.complete_sum,
            complete_cross=self.complete_cross,
            codes=codes,
            freq=freq,
            max_codes=self.max_codes,
            by_count=self.by_count,
        )._exact_totals()


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
    # integer codes: per number of observed items c (row), the sums of the item sum s, s**2,
    # x_j s, m_j s and m_j s**2: integers, so merged chunks give the same bits as one pass
    by_count: np.ndarray | None = field(default=None, repr=False)

    def _exact_totals(self) -> Moments:
        """The psych total-score sums (row means t = s / c) from `by_count`, in one fixed order:
        the same numbers however the rows were split into blocks, threads or chunks."""
        b = self.by_count
        if b is None:
            return self
        k = len(self.columns)
        c = np.arange(1, k + 1, dtype=np.float64)
        self.total_sum = float(np.sum(b[1:, 0] / c))
        self.total_sumsq = float(np.sum(b[1:, 1] / (c * c)))
        self.item_total_cross = (b[1:, 2 : 2 + k] / c[:, None]).sum(axis=0)
        self.item_total_sum = (b[1:, 2 + k : 2 + 2 * k] / c[:, None]).sum(axis=0)
        self.item_total_sumsq = (b[1:, 2 + 2 * k :] / (c * c)[:, None]).sum(axis=0)
        return self

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_data(
        cls,
        items: pd.DataFrame | np.ndarray,
        *,
        frequencies: bool = True,
        max_codes: int = MAX_CODES,
    ) -> Moments:
        """Compute the statistics of one chunk of rows (vectorised, one matrix product per block).

        Rows are processed in blocks of at most ``BLOCK_ROWS`` rows (bounded temporary memory)
        and, for large inputs, in one contiguous share of the rows per CPU thread; the
        statistics of the shares are merged. Small integer codes (the usual Likert data) are
        multiplied in float32, which is exact for them (every partial sum is an integer below
        2**24), other data in float64.
        """
        x, cols = _source(items)
        n, k = x.shape
        if n == 0 or k == 0:
            acc = _Accumulator(k, frequencies, max_codes, 0)
            acc.n_rows = n
            if k == 0:
                acc.n_complete = n
            return acc.moments(cols)
        workers = _threads.n_workers(n, PARALLEL_ROWS)
        bounds = np.linspace(0, n, workers + 1).astype(int)
        block = min(BLOCK_ROWS, max(256, BLOCK_CELLS // k), n)

        def share(i: int) -> Moments:
            acc = _Accumulator(k, frequencies, max_codes, block)
            for a in range(bounds[i], bounds[i + 1], block):
                acc.add(x[a : min(a + block, bounds[i + 1])])
            return acc.moments(cols)

        if n <= block:
            return share(0)
        with _threads.single_thread():
            parts = _threads.parallel_map(share, list(range(workers)))
        out = parts[0]
        for p in parts[1:]:
            out = out.merge(p)
        return out

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
            by_count=(
                self.by_count + other.by_count
                if self.by_count is not None and other.by_count is not None
                else None
            ),
        )._exact_totals()

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
