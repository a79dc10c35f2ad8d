"""CV scores of held-out predictions: the similarity profile and cosine, from predictions or factored.

The profile score asks how each held-out prediction would sit in the teacher's index: its cosines
to the other rows' teacher vectors against the teacher's own. Computed from materialised predictions
it costs one n x d prediction and an n x n product per candidate; :class:`FactoredFold` gets the same
numbers from the ridge problem's factors (prior part plus a mix of r learned directions), so a
candidate costs O(n r) per held-out row instead of O(n d) and no prediction is ever formed.
"""

from __future__ import annotations

import numpy as np


def profile_agreement(predicted: np.ndarray, teacher_unit: np.ndarray) -> float:
    """``1 - RMS`` over pairs i != j of ``cos(t_i, p_j) - cos(t_i, t_j)``: how well each prediction
    stands in for its teacher row in the teacher's index (neighbours, spread and tightness alike).
    ``teacher_unit``: the teacher rows already scaled to unit length."""
    n = len(teacher_unit)
    if n < 2:
        return float("nan")
    norms = np.linalg.norm(predicted, axis=1, keepdims=True)
    D = teacher_unit - predicted / np.maximum(norms, 1e-12).astype(predicted.dtype)  # t_i . d_j = the gap
    G = teacher_unit @ D.T
    off = float(np.einsum("ij,ij->", G, G, dtype=np.float64)) - float(
        np.sum(np.einsum("ij,ij->i", teacher_unit, D, dtype=np.float64) ** 2))
    return profile_from_error(off, n)


def profile_from_error(squared_error: float, n: int) -> float:
    """The profile score from the summed squared cosine gaps over the ``n (n - 1)`` off-diagonal pairs."""
    return 1.0 - float(np.sqrt(max(squared_error, 0.0) / (n * (n - 1)))) if n > 1 else float("nan")


class ProfileScorer:
    """The teacher side of the scores, computed once per CV: unit rows ``T`` and their cosines ``T T^T``."""

    def __init__(self, teacher_unit: np.ndarray):
        self.T = np.ascontiguousarray(teacher_unit, dtype=np.float32)
        self.similarity = self.T @ self.T.T

    def fold(self, prior_part: np.ndarray, learned: np.ndarray, val: np.ndarray) -> FactoredFold:
        """Factors of one fold's predictions ``prior_part + A @ learned`` for the held-out rows ``val``."""
        return FactoredFold(self, np.asarray(prior_part, dtype=np.float32), np.asarray(learned, dtype=np.float32), val)


class FactoredFold:
    """One ridge problem's held-out rows: predictions ``P + A @ L`` for any coefficients ``A`` (n_val x r)."""

    def __init__(self, scorer: ProfileScorer, prior_part: np.ndarray, learned: np.ndarray, val: np.ndarray):
        T = scorer.T
        self.val = val
        self.teacher_dots = T @ prior_part.T  # (n, n_val): t_i . prior_j
        self.teacher_learned = T @ learned.T  # (n, r)
        self.prior_learned = (prior_part @ learned.T).astype(np.float64)  # (n_val, r)
        self.learned_gram = (learned @ learned.T).astype(np.float64)  # (r, r)
        self.prior_norm2 = np.einsum("ij,ij->i", prior_part, prior_part, dtype=np.float64)
        self.target = scorer.similarity[:, val]  # the teacher's own cosines, column j for held-out row j

    def score(self, A: np.ndarray) -> tuple[float, float]:
        """``(squared error, cosine sum)``: the summed squared cosine gaps to every other teacher row
        (i != j) and the summed cosine of each held-out prediction with its own teacher row."""
        A64 = np.asarray(A, dtype=np.float64)
        norm2 = self.prior_norm2 + 2 * np.einsum("ij,ij->i", self.prior_learned, A64) + np.einsum(
            "ij,ij->i", A64 @ self.learned_gram, A64)
        inverse = (1.0 / np.sqrt(np.maximum(norm2, 1e-24))).astype(np.float32)
        cosines = (self.teacher_dots + self.teacher_learned @ A.astype(np.float32).T) * inverse
        own = cosines[self.val, np.arange(len(self.val))]
        gaps = cosines - self.target
        error = float(np.einsum("ij,ij->", gaps, gaps, dtype=np.float64)) - float(
            np.sum((own - self.target[self.val, np.arange(len(self.val))]).astype(np.float64) ** 2))
        return error, float(own.sum(dtype=np.float64))
