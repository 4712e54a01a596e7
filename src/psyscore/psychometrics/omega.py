"""McDonald's omega: one-factor omega and Schmid-Leiman bifactor omega (as psych::omega).

Method (a numpy/scipy port of psych 2.2.9 ``fa``/``schmid``/``omega`` and GPArotation
2022.10 ``oblimin``):

1. ``fa(R, nfactors, fm="minres", rotate="varimax")``: minimum-residual factoring. The
   uniquenesses ``psi`` minimise the sum of squared off-diagonal residuals of
   ``R - L L'`` where ``L`` holds the first ``nf`` eigenvectors of ``R - diag(psi)`` scaled by
   the root eigenvalues; L-BFGS-B on ``psi in [0.005, max(smc, 1)]`` started from
   ``1 - smc`` with psych's gradient ``diag(L L' + diag(psi) - R)`` and ``parscale = 0.01``.
   Columns are sign-flipped to positive sums, varimax-rotated (``stats::varimax``, Kaiser
   normalised), flipped again and sorted by variance.
2. Oblique quartimin rotation (``GPArotation::oblimin``, ``gam = 0``, gradient projection
   algorithm GPFoblq, ``eps = 1e-5``), giving pattern ``F`` and factor correlations ``Phi``.
3. Second-order factor: ``fa(Phi, 1, fm="minres")`` gives ``g`` loadings of the group factors
   (for 2 factors psych's ``option="equal"``: ``sqrt(|phi_12|)``).
4. Schmid-Leiman: general loadings ``F g``; communalities ``h2 = rowSums(L_varimax^2)``,
   ``u2 = 1 - h2``. Items with negative general loadings are flipped (``flip=TRUE``).
5. ``omega_h = (sum g_i)^2 / 1'R1`` and ``omega_t = (1'R1 - sum u2) / 1'R1``.

With ``nfactors=1`` the same gives the one-factor (congeneric) omega: ``omega_h`` is then
McDonald's ``(sum lambda)^2 / 1'R1`` and ``omega_t = (1'R1 - sum(1 - lambda^2)) / 1'R1``.

References
----------
McDonald, R. P. (1999). Test theory: A unified treatment. Erlbaum.
Schmid, J., & Leiman, J. M. (1957). The development of hierarchical factor solutions.
    Psychometrika, 22, 53-61.
Zinbarg, R. E., Revelle, W., Yovel, I., & Li, W. (2005). Cronbach's alpha, Revelle's beta,
    and McDonald's omega_h. Psychometrika, 70, 123-133.
Bernaards, C. A., & Jennrich, R. I. (2005). Gradient projection algorithms and software for
    arbitrary rotation criteria in factor analysis. Educational and Psychological
    Measurement, 65, 676-696.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._threads import single_thread
from .alpha import smc
from .moments import cov2cor

__all__ = ["OmegaResult", "omega", "omega_total_1f", "fa_minres", "varimax", "oblimin"]

_EPS = np.finfo(float).eps


def _top_eig(S: np.ndarray, nf: int) -> tuple[np.ndarray, np.ndarray]:
    vals, vecs = np.linalg.eigh(S)
    return vals[::-1][:nf], vecs[:, ::-1][:, :nf]


def fa_minres(R: np.ndarray, nfactors: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Unrotated minres factor loadings and uniquenesses (psych ``fa(fm="minres")``).

    Returns ``(loadings k x nf, psi)``; columns are flipped to have positive sums.
    """
    from scipy.optimize import minimize

    R = cov2cor(np.asarray(R, dtype=float))
    k = R.shape[0]
    nf = int(nfactors)
    s = smc(R)
    upper = max(float(s.max()), 1.0)
    start = np.diag(R) - s
    lower_idx = np.tril_indices(k, -1)
    scale = 0.01  # R's optim parscale

    def fit(p):
        psi = p * scale
        S = R.copy()
        np.fill_diagonal(S, 1.0 - psi)
        vals, vecs = _top_eig(S, nf)
        vals = np.where(vals < _EPS, 100.0 * _EPS, vals)
        L = vecs * np.sqrt(vals)
        res = (S - L @ L.T)[lower_idx]
        return float(res @ res)

    def grad(p):
        psi = p * scale
        S = R - np.diag(psi)
        vals, vecs = _top_eig(S, nf)
        L = vecs * np.sqrt(np.maximum(vals, 0.0))
        g = np.einsum("ij,ij->i", L, L) + psi - np.diag(R)
        return g * scale

    res = minimize(
        fit,
        start / scale,
        jac=grad,
        method="L-BFGS-B",
        bounds=[(0.005 / scale, upper / scale)] * k,
        options={"maxcor": 5, "ftol": 1e7 * _EPS, "gtol": 0.0, "maxiter": 100},
    )
    psi = res.x * scale
    S = R.copy()
    np.fill_diagonal(S, np.diag(R) - psi)
    vals, vecs = _top_eig(S, nf)
    L = vecs * np.sqrt(np.maximum(vals, 0.0))
    sgn = np.sign(L.sum(axis=0))
    sgn[sgn == 0] = 1.0
    L = L * sgn
    return L, psi


def varimax(L: np.ndarray, normalize: bool = True, eps: float = 1e-5) -> np.ndarray:
    """Varimax rotation, a port of R's ``stats::varimax`` (Kaiser normalisation)."""
    x = np.asarray(L, dtype=float)
    p, nc = x.shape
    if nc < 2:
        return x
    sc = np.sqrt((x**2).sum(axis=1)) if normalize else np.ones(p)
    x = x / sc[:, None]
    T = np.eye(nc)
    d = 0.0
    for _ in range(1000):
        z = x @ T
        B = x.T @ (z**3 - z * ((z**2).sum(axis=0) / p))
        u, sv, vt = np.linalg.svd(B)
        T = u @ vt
        dpast, d = d, sv.sum()
        if d < dpast * (1.0 + eps):
            break
    return (x @ T) * sc[:, None]


def _vgq_quartimin(L: np.ndarray) -> tuple[np.ndarray, float]:
    L2 = L * L
    X = L2.sum(axis=1, keepdims=True) - L2  # L^2 %*% (1 - I)
    return L * X, float(np.einsum("ij,ij->", L2, X)) / 4.0


def _inv_small(M: np.ndarray) -> np.ndarray:
    """Inverse of a 2x2 / 3x3 matrix by the adjugate (np.linalg.inv overhead dominates)."""
    if M.shape == (3, 3):
        (a, b, c), (d, e, f), (g, h, i) = M.tolist()
        A, B, C = e * i - f * h, f * g - d * i, d * h - e * g
        det = a * A + b * B + c * C
        return (
            np.array(
                [
                    [A, c * h - b * i, b * f - c * e],
                    [B, a * i - c * g, c * d - a * f],
                    [C, b * g - a * h, a * e - b * d],
                ]
            )
            / det
        )
    if M.shape == (2, 2):
        (a, b), (c, d) = M.tolist()
        return np.array([[d, -b], [-c, a]]) / (a * d - b * c)
    return np.linalg.inv(M)


def oblimin(
    A: np.ndarray, eps: float = 1e-5, maxit: int = 1000
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Oblique quartimin (oblimin, gam=0) by gradient projection: GPArotation ``GPFoblq``.

    Same iterations, step-size rule and stopping criterion (``||Gp|| < eps``) as GPArotation.
    Returns ``(pattern loadings, Phi, converged)``.
    """
    A = np.asarray(A, dtype=float)
    inv = _inv_small
    T = np.eye(A.shape[1])
    Ti = T
    al = 1.0
    L = A @ Ti.T
    Gq, f = _vgq_quartimin(L)
    G = -(L.T @ Gq @ Ti).T
    s = np.inf
    for _ in range(maxit + 1):
        Gp = G - T * np.einsum("ij,ij->j", T, G)
        s = float(np.sqrt(np.einsum("ij,ij->", Gp, Gp)))
        if s < eps:
            break
        al *= 2.0
        for _ in range(11):
            X = T - al * Gp
            Tt = X / np.sqrt(np.einsum("ij,ij->j", X, X))
            Tti = inv(Tt)
            L = A @ Tti.T
            Gqt, ft = _vgq_quartimin(L)
            if f - ft > 0.5 * s**2 * al:
                break
            al /= 2.0
        T, Ti, f = Tt, Tti, ft
        G = -(L.T @ Gqt @ Ti).T
    return L, T.T @ T, s < eps


def _fa_psych(R: np.ndarray, nf: int, rotate: str) -> np.ndarray:
    """psych ``fa(R, nf, fm="minres", rotate=...)`` loadings for rotate in {none, varimax}."""
    L, _ = fa_minres(R, nf)
    L = np.where(L == 0.0, 1e-15, L)
    if nf > 1 and rotate == "varimax":
        L = varimax(L)
    sgn = np.sign(L.sum(axis=0))
    sgn[sgn == 0] = 1.0
    L = L * sgn
    if nf > 1:
        order = np.argsort(-np.sum(L**2, axis=0), kind="stable")
        L = L[:, order]
    return L


@dataclass
class OmegaResult:
    """psych::omega-style result (correlation-matrix based)."""

    omega_h: float
    omega_total: float
    omega_limit: float
    nfactors: int
    general: np.ndarray  # Schmid-Leiman general-factor loadings (after flipping)
    h2: np.ndarray
    u2: np.ndarray
    ecv: float
    phi: np.ndarray | None = None
    flipped: tuple[str, ...] = ()
    converged: bool = True
    columns: tuple[str, ...] = field(default_factory=tuple)
    omega_group: dict | None = None

    def to_dict(self) -> dict:
        return {
            "omega_h": self.omega_h,
            "omega_total": self.omega_total,
            "omega_limit": self.omega_limit,
            "nfactors": self.nfactors,
            "ecv": self.ecv,
            "general": dict(zip(self.columns, map(float, self.general), strict=True)),
            "flipped": list(self.flipped),
            "converged": self.converged,
        }


def omega(R: np.ndarray, nfactors: int = 3, columns=None) -> OmegaResult:
    """Omega hierarchical and omega total from a Schmid-Leiman solution (psych::omega).

    ``R`` is the correlation matrix; psych::omega on raw data uses ``cor(x, use="pairwise")``
    (see :meth:`Moments.cor`). Defaults match ``omega(x, nfactors=3, fm="minres",
    rotate="oblimin")``; the algorithm is described in the module docstring.

    ``omega_h = (sum_i g_i)^2 / 1'R1``, ``omega_t = (1'R1 - sum_i u2_i) / 1'R1``,
    ``omega_limit = (sum g)^2 / (1'R1 - sum u2)``, ``ECV = sum g^2 / sum(all squared SL
    loadings)``.

    Examples
    --------
    >>> import numpy as np
    >>> lam = np.array([.7, .6, .5, .6, .7, .5])
    >>> R = np.outer(lam, lam); np.fill_diagonal(R, 1)
    >>> round(omega(R, nfactors=1).omega_h, 6)  # psych::omega(R, nfactors=1): 0.7732695
    0.773269
    """
    with single_thread():
        return _omega(np.asarray(R, dtype=float), int(nfactors), columns)


def _omega(R: np.ndarray, nf: int, columns) -> OmegaResult:
    R = cov2cor(R)
    k = R.shape[0]
    names = tuple(columns) if columns is not None else tuple(f"V{i + 1}" for i in range(k))
    orth = _fa_psych(R, nf, "varimax")
    converged = True
    phi = None
    if nf == 1:
        fload = orth
        gload = np.array([1.0])
    else:
        fload, phi, converged = oblimin(orth)
        if nf > 2:
            gl = _fa_psych(phi, 1, "none")
            gload = gl[:, 0]
        else:
            gload = np.array(
                [np.sqrt(abs(phi[0, 1])), np.sign(phi[0, 1]) * np.sqrt(abs(phi[0, 1]))]
            )
    g = fload @ gload
    h2 = np.sum(orth**2, axis=1)
    u2 = np.diag(R) - h2
    primeload = fload * gload[None, :]
    uniq2 = np.diag(R)[:, None] - (np.diag(R)[:, None] - fload**2) - primeload**2
    uniq2 = np.maximum(uniq2, 0.0)
    sm = np.sign(fload) * np.sqrt(uniq2)
    key = np.sign(g)
    key[key == 0] = 1.0
    flipped = tuple(n for n, kk in zip(names, key, strict=True) if kk < 0)
    if np.any(key < 0):
        R = R * np.outer(key, key)
        g = g * key
        sm = sm * key[:, None]
    vt = R.sum()
    gsq = g.sum() ** 2
    om_tot = (vt - u2.sum()) / vt
    ev = np.concatenate([[np.sum(g**2)], np.sum(sm**2, axis=0)]) if nf > 1 else np.array([1.0])
    ecv = float(ev[0] / ev.sum()) if nf > 1 else 1.0
    group = None
    if nf > 1:
        sub = np.argmax(np.abs(sm), axis=1)
        group = {}
        for j in range(nf):
            idx = np.nonzero(sub == j)[0]
            if idx.size:
                vgr = R[np.ix_(idx, idx)].sum()
                gr = sm[idx, j].sum()
                group[f"F{j + 1}*"] = {
                    "items": [names[i] for i in idx],
                    "omega_group": float(gr**2 / vgr),
                    "omega_general": float(g[idx].sum() ** 2 / vgr),
                    "omega_total": float((gr**2 + g[idx].sum() ** 2) / vgr),
                }
    return OmegaResult(
        omega_h=float(gsq / vt),
        omega_total=float(om_tot),
        omega_limit=float(gsq / (vt - u2.sum())),
        nfactors=nf,
        general=g,
        h2=h2,
        u2=u2,
        ecv=ecv,
        phi=phi,
        flipped=flipped,
        converged=bool(converged),
        columns=names,
        omega_group=group,
    )


def omega_total_1f(R: np.ndarray, columns=None) -> OmegaResult:
    """One-factor (congeneric) omega: ``psych::omega(x, nfactors=1)``.

    ``omega_h = (sum lambda)^2 / 1'R1`` is McDonald's omega for a unidimensional scale;
    ``omega_total = 1 - sum(1 - lambda^2) / 1'R1``.
    """
    return omega(R, nfactors=1, columns=columns)
