"""Closed-form affine maps ``Y ~ X @ W + b``: the ridge family (factored once) and Procrustes.

Every solver returns ``(W, b)`` with ``W`` of shape (d_in, d_out). The ridge family shares one
form: features ``F`` (the base rows, or their coordinates in a PCA basis learned from unpaired
base rows), a prior ``P`` (identity: learn the residual ``Y - X``; scaled: learn ``Y - c X``; zero:
learn ``Y``), a ridge penalty and an optional rank limit on the learned part.

The scaled prior is what makes a map a stand-in for the teacher: the learned part only sees the few
feature directions, so without a prior every other direction of the output collapses to the mean
(mapped vectors crowd together); with the identity they keep the base's own spread, which the
teacher does not have. ``c`` is the teacher's least-squares scale on the base rows' part outside
the features, so the rest of each vector keeps the spread the teacher gives it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from instructlin.core.choices import Prior
from instructlin.core.moments import PairMoments, pair_moments

__all__ = ["PCABasis", "Prior", "RidgeProblem", "affine_from_features", "alpha_scale", "alpha_scale_of",
           "complement_scale",
           "pca_basis", "procrustes_solution"]


@dataclass(frozen=True)
class PCABasis:
    """Mean and principal directions (k, d) of base embeddings, learned without any teacher."""

    mean: np.ndarray
    components: np.ndarray

    def project(self, X: np.ndarray, k: int) -> np.ndarray:
        """Coordinates of the rows of ``X`` along the first ``k`` directions."""
        return (X - self.mean) @ self.components[:k].T


def pca_basis(X: np.ndarray, n_components: int) -> PCABasis:
    """The top principal directions of ``X``, from the eigenvectors of its smaller Gram matrix: exact and
    deterministic, and cheaper than an SVD when one side of ``X`` is small."""
    X = np.asarray(X, dtype=np.float64)
    mean = X.mean(axis=0)
    Xc = X - mean
    k = max(1, min(n_components, *Xc.shape))
    _, Vt = _top_right_singular(Xc, k)
    return PCABasis(mean, Vt)


def _top_right_singular(A: np.ndarray, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(s, Vt)``: the top ``k`` singular values and right singular vectors of ``A`` (all when None),
    through an eigendecomposition of the smaller of ``A^T A`` and ``A A^T``; directions whose singular
    value is numerically zero are dropped (they carry nothing a ridge or PCA could use)."""
    n, d = A.shape
    if d <= n:
        return singular_from_gram(A.T @ A, k)
    w, U = np.linalg.eigh(A @ A.T)
    order = np.argsort(w)[::-1]
    s, keep = _kept(np.sqrt(np.clip(w[order], 0.0, None)), k)
    U = U[:, order][:, keep]
    Vt = (U.T @ A) / np.where(s > 0, s, 1.0)[:, None]
    return s, np.ascontiguousarray(Vt)


def singular_from_gram(gram: np.ndarray, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(s, Vt)`` of any ``A`` with ``A^T A = gram``, numerically zero directions dropped (see above)."""
    w, V = np.linalg.eigh(gram)
    order = np.argsort(w)[::-1]
    s, keep = _kept(np.sqrt(np.clip(w[order], 0.0, None)), k)
    return s, np.ascontiguousarray(V[:, order].T[keep])


def _kept(s: np.ndarray, k: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The singular values worth keeping (above 1e-7 of the largest; at least one; at most ``k``) and their mask."""
    keep = s > s[0] * 1e-7 if len(s) and s[0] > 0 else np.zeros(len(s), dtype=bool)
    keep[: 1] = True  # at least one direction, even for an all-zero A
    if k is not None:
        keep[k:] = False
    return s[keep], keep


def alpha_scale(F: np.ndarray) -> float:
    """The mean squared singular value of centred ``F``: relative alphas are multiples of it."""
    Fc = F - F.mean(axis=0)
    return alpha_scale_of(float(np.sum(Fc**2)), Fc.shape)


def alpha_scale_of(energy: float, shape: tuple[int, int]) -> float:
    """:func:`alpha_scale` from the centred features' summed squares (a Gram trace) and their shape."""
    return max(energy / max(1, min(shape)), 1e-12)


@dataclass(frozen=True)
class RidgeProblem:
    """One ridge problem factored once (thin SVD of the centred features) for many alphas and ranks."""

    f_mean: np.ndarray
    x_mean: np.ndarray
    y_mean: np.ndarray
    s: np.ndarray
    Vt: np.ndarray
    UtR: np.ndarray  # U^T times the centred residual that the ridge part learns
    scale: float  # the multiple of the identity the prior keeps (1 identity, c scaled, 0 zero)

    @classmethod
    def build(cls, F: np.ndarray, X: np.ndarray, Y: np.ndarray, prior: Prior,
              components: np.ndarray | None = None) -> RidgeProblem:
        """Factor one problem; ``components`` (k, d): the orthonormal directions ``F`` measures X along
        (a PCA basis), whose complement sets the scaled prior's ``c``; None when ``F`` is X itself."""
        f_mean, x_mean, y_mean = F.mean(axis=0), X.mean(axis=0), Y.mean(axis=0)
        Xc, target = X - x_mean, Y - y_mean
        Fc = F - f_mean
        scale = {Prior.IDENTITY: 1.0, Prior.ZERO: 0.0}.get(prior)
        if scale is None:
            scale = complement_scale(Xc, target, Fc if components is not None else None, components)
        if scale:
            target = target - scale * Xc
        s, Vt = _top_right_singular(Fc)
        Ut = (Vt @ Fc.T) / np.where(s > 0, s, 1.0)[:, None]  # U^T of the thin SVD of Fc
        return cls(f_mean, x_mean, y_mean, s, Vt, Ut @ target, float(scale))

    @classmethod
    def from_moments(cls, m: PairMoments, prior: Prior, components: np.ndarray | None = None) -> RidgeProblem:
        """The problem :meth:`build` factors, from block-summed moments (any number of rows, O(p d) memory):
        ``Fc^T Fc`` gives the singular directions, ``Fc^T (Yc - c Xc)`` the learned part."""
        scale = {Prior.IDENTITY: 1.0, Prior.ZERO: 0.0}.get(prior)
        if scale is None:  # complement_scale, with the sums the moments already hold
            cross, energy = m.xy, m.xx
            if components is not None:
                cross -= float(np.sum(m.FY * components))
                energy -= float(np.trace(m.FF))
            scale = _least_squares_scale(cross, energy, m.xx)
        features_target = m.FY - scale * m.FX if scale else m.FY
        s, Vt = singular_from_gram(m.FF)
        UtR = (Vt @ features_target) / np.where(s > 0, s, 1.0)[:, None]
        return cls(m.f_mean, m.x_mean, m.y_mean, s, Vt, UtR, float(scale))

    def shrinkage(self, alpha: float) -> np.ndarray:
        """Ridge's factor ``s / (s^2 + alpha)`` on each singular direction of the features."""
        return self.s / (self.s**2 + alpha)

    def prior_part(self, X: np.ndarray) -> np.ndarray:
        """What every prediction has before the learned part: the mean plus the prior's multiple of ``X``."""
        return self.y_mean + self.scale * (X - self.x_mean) if self.scale else np.broadcast_to(
            self.y_mean, (len(X), len(self.y_mean)))

    def _rank_projection(self, alpha: float, rank: int | None) -> np.ndarray | None:
        """With ``rank``: the top-r output directions of the fitted values (reduced-rank ridge)."""
        if rank is None or rank >= min(self.UtR.shape):
            return None
        fitted = (self.s**2 / (self.s**2 + alpha))[:, None] * self.UtR
        return _top_right_singular(fitted, rank)[1]

    def coefficients(self, alpha: float, rank: int | None = None) -> np.ndarray:
        """Feature-space coefficients ``B`` (p, d_out); with ``rank``, the best rank-r part of the fit."""
        B = self.Vt.T @ (self.shrinkage(alpha)[:, None] * self.UtR)
        top = self._rank_projection(alpha, rank)
        return B if top is None else (B @ top.T) @ top

    def features(self, F: np.ndarray) -> np.ndarray:
        """New rows' coordinates along the right singular vectors: computed once, reused per alpha."""
        return (F - self.f_mean) @ self.Vt.T

    def predict(self, F: np.ndarray, X: np.ndarray, alpha: float, rank: int | None = None, *,
                coords: np.ndarray | None = None) -> np.ndarray:
        """Predictions for new rows (features ``F``, base ``X``) without forming the d x d matrix;
        ``coords`` (from :meth:`features`) skips the projection."""
        A = (self.features(F) if coords is None else coords) * self.shrinkage(alpha)
        learned = A @ self.UtR
        top = self._rank_projection(alpha, rank)
        if top is not None:
            learned = (learned @ top.T) @ top
        return self.prior_part(X) + learned


def affine_from_features(
    problem: RidgeProblem, B: np.ndarray, d_in: int, basis: PCABasis | None, k: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Fold features, prior and centring into one ``(W, b)`` acting on raw base rows."""
    W = basis.components[:k].T @ B if basis is not None else B.copy()
    if problem.scale:
        W = W + problem.scale * np.eye(d_in)
    # predict(x) = y_mean + P(x - x_mean) + (f(x) - f_mean) B, and f is affine in x
    b = problem.y_mean - problem.x_mean @ W
    return W, b


def complement_scale(Xc: np.ndarray, Yc: np.ndarray, Fc: np.ndarray | None,
                     components: np.ndarray | None) -> float:
    """Least-squares ``c`` in ``Yc ~ c * X_perp``: X_perp is centred ``Xc`` less its part along
    ``components`` (whose coordinates are ``Fc``), or all of ``Xc``. No n x d residual is formed."""
    total = float(np.einsum("ij,ij->", Xc, Xc))
    cross, energy = float(np.einsum("ij,ij->", Xc, Yc)), total
    if components is not None and Fc is not None:
        cross -= float(np.einsum("ij,ij->", Fc, Yc @ components.T))
        energy -= float(np.einsum("ij,ij->", Fc, Fc))
    return _least_squares_scale(cross, energy, total)


def _least_squares_scale(cross: float, energy: float, total: float) -> float:
    """``cross / energy``, or 0 where the complement holds (numerically) none of the base's ``total`` energy."""
    return cross / energy if energy > 1e-9 * max(total, 1e-300) else 0.0


def procrustes_solution(X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Orthogonal ``W`` and bias ``b`` minimising ``|XW + b - Y|`` (centred Procrustes); the rows enter
    through their block-summed cross moment only."""
    moments = pair_moments(X, Y)
    try:
        U, _, Vt = np.linalg.svd(moments.FY)
    except np.linalg.LinAlgError:  # LAPACK's divide-and-conquer can fail to converge; QR iteration does not
        from scipy.linalg import svd

        U, _, Vt = svd(moments.FY, lapack_driver="gesvd")
    W = U @ Vt
    return W, moments.y_mean - moments.x_mean @ W
