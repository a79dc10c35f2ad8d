"""``InstructionMap``: an affine map from base to instructed embeddings (a scikit-learn estimator)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import Tags
from sklearn.utils.validation import check_is_fitted

from instructlin.core.checks import check_mapped
from instructlin.core.choices import MapMethod, Prior
from instructlin.core.closed_form import fit_closed_form, require_square
from instructlin.core.map_io import CONFIG_FILE, WEIGHTS_FILE
from instructlin.core.metrics import row_cosine
from instructlin.core.params import DEFAULT_CHUNK_SIZE, check_params
from instructlin.core.sgd import EpochCallback, EpochRecord, train_linear
from instructlin.core.solvers import procrustes_solution
from instructlin.core.validation import (
    as_numpy,
    check_finite_tensor,
    float32_weights,
    is_torch,
    validate_pairs,
    validate_rows,
    validate_target,
)

__all__ = ["CONFIG_FILE", "WEIGHTS_FILE", "InstructionMap", "MapMethod", "Prior"]


class InstructionMap(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Learns ``Y_instructed ~ X_base @ W + b`` from a few paired embeddings, then maps the rest.

    ``method``:
    - ``auto`` (default): pca-ridge shrunk toward a fitted multiple of the identity (``prior="scaled"``),
      its size and alpha chosen by k-fold CV on the pairs alone. The learned part carries what the
      instruction changes in the base's main directions; the rest of each vector keeps its own detail at
      the teacher's scale, so mapped vectors sit among the teacher's like re-encoded ones would;
    - ``ridge``: closed-form ridge shrunk toward ``prior`` (``identity``: learn the residual, ``scaled``:
      learn ``Y - cX``, or ``zero``);
    - ``reduced-rank``: ridge whose learned part has rank ``rank``;
    - ``pca-ridge``: ridge from the first ``n_components`` principal coordinates of the base
      embeddings; ``fit(..., X_unpaired=...)`` learns that basis from the whole corpus (no teacher);
    - ``procrustes``: orthogonal W plus bias; ``sgd``: ``nn.Linear`` with Adam.

    Any of ``alpha``, ``prior``, ``rank``, ``n_components`` left at ``"auto"`` is chosen by CV,
    maximising ``criterion``: ``profile`` (each held-out prediction's cosines to the other teacher rows
    against the teacher's own), ``neighbours`` (kNN agreement with the teacher) or ``cosine``. No label is
    ever read. Fitted: ``coef_`` (d_out, d_in), ``intercept_``,
    ``method_``, ``prior_``, ``alpha_``, ``size_`` (rank or components), ``cv_results_``; every one
    is reset by each ``fit``. Output columns are named by ``get_feature_names_out`` (``instructionmap0``,
    ...), so ``set_output(transform="pandas")`` and pipelines work.
    """

    def __init__(
        self,
        method: str = "auto",
        *,
        alpha: float | str = "auto",
        prior: str = "auto",
        rank: int | str = "auto",
        n_components: int | str = "auto",
        criterion: str = "profile",
        alphas: tuple[float, ...] | None = None,
        cv: int = 5,
        epochs: int = 300,
        learning_rate: float = 1e-3,
        batch_size: int = 64,
        weight_decay: float = 0.0,
        loss: str = "mse",
        patience: int = 20,
        validation_fraction: float = 0.1,
        device: str = "auto",
        random_state: int = 42,
        callback: EpochCallback | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        self.method = method
        self.alpha = alpha
        self.prior = prior
        self.rank = rank
        self.n_components = n_components
        self.criterion = criterion
        self.alphas = alphas
        self.cv = cv
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.loss = loss
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.device = device
        self.random_state = random_state
        self.callback = callback
        self.chunk_size = chunk_size

    def fit(
        self, X: Any, y: Any, *, X_unpaired: Any = None, metadata: dict[str, Any] | None = None
    ) -> InstructionMap:
        """Learn the map from paired rows of base ``X`` and instructed ``y`` embeddings (``y`` is 2-D: one
        vector per row, named as scikit-learn names a multi-output target).

        ``X_unpaired``: base embeddings of the whole corpus (no teacher needed); ``pca-ridge`` and
        ``auto`` learn their basis from them, or from ``X`` alone when they are not given.
        """
        check_params(self.get_params())
        self._reset_fitted()
        X, Y = validate_pairs(self, X, y)
        method = MapMethod(self.method)
        self.alpha_, self.prior_, self.size_, self.cv_results_ = None, None, None, []
        self.history_: list[EpochRecord] = []
        if method is MapMethod.PROCRUSTES:
            require_square(X, Y, "method='procrustes'")
            W, b = procrustes_solution(X, Y)
        elif method is MapMethod.SGD:
            from instructlin.core.devices import resolve_device

            W, b, self.history_ = train_linear(
                X, Y, epochs=self.epochs, learning_rate=self.learning_rate,
                batch_size=self.batch_size, weight_decay=self.weight_decay, loss=self.loss,
                patience=self.patience, validation_fraction=self.validation_fraction,
                device=resolve_device(self.device), seed=self.random_state, callback=self.callback,
            )
        else:
            W, b, method = self._fit_closed_form(X, Y, method, X_unpaired)
        self.method_ = method.value
        self.coef_, self.intercept_ = float32_weights(W, b)
        self.metadata_ = dict(metadata or {})
        return self

    def _fit_closed_form(self, X: np.ndarray, Y: np.ndarray, method: MapMethod, X_unpaired: Any):
        fitted = fit_closed_form(
            X, Y, method, X_unpaired, prior=self.prior, alpha=self.alpha, rank=self.rank,
            n_components=self.n_components, alphas=self.alphas, criterion=self.criterion, cv=self.cv,
            random_state=self.random_state,
        )
        self.alpha_, self.prior_, self.size_, self.cv_results_ = (fitted.alpha, fitted.prior, fitted.size,
                                                                   fitted.cv_results)
        return fitted.W, fitted.b, fitted.method

    def transform(self, X: Any) -> Any:
        """Map base embeddings (numpy or torch, any number of rows) in chunks."""
        check_is_fitted(self, "coef_")
        check_params({"chunk_size": self.chunk_size, "device": self.device})
        if is_torch(X):
            return self._transform_torch(X)
        X = validate_rows(self, X)
        out = np.empty((X.shape[0], self.coef_.shape[0]), dtype=np.float32)
        W = self.coef_.T
        for start in range(0, X.shape[0], self.chunk_size):
            block = X[start : start + self.chunk_size]
            with np.errstate(over="ignore", invalid="ignore"):  # refused by check_mapped, naming the row
                out[start : start + len(block)] = block @ W + self.intercept_
            check_mapped(out[start : start + len(block)], start, "X")
        return out

    def _transform_torch(self, X):
        import torch

        from instructlin.core.devices import resolve_device

        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has shape {tuple(X.shape)} but this map expects (n, {self.n_features_in_})."
            )
        check_finite_tensor(X, "X")
        device = resolve_device(self.device)
        W = torch.as_tensor(self.coef_.T, device=device)
        b = torch.as_tensor(self.intercept_, device=device)
        chunks = []
        for s in range(0, X.shape[0], self.chunk_size):
            chunks.append((X[s : s + self.chunk_size].to(device, torch.float32) @ W + b).to(X.device))
            check_finite_tensor(chunks[-1], "X", start=s)
        return torch.cat(chunks) if chunks else X.new_zeros((0, W.shape[1]))

    def score(self, X: Any, y: Any) -> float:
        """Mean cosine between mapped ``X`` and the instructed embeddings ``y`` (higher is better); both checked.

        The target is named ``y`` here, as scikit-learn's scorers and ``Pipeline.score`` pass it.
        """
        check_is_fitted(self, "coef_")
        mapped = np.asarray(as_numpy(self.transform(X)), dtype=np.float64)  # validates X
        return float(row_cosine(mapped, validate_target(y, mapped.shape)).mean())

    def _reset_fitted(self) -> None:
        """Forget everything a previous ``fit`` learned, so no fitted attribute outlives a refit."""
        for name in [k for k in vars(self) if k.endswith("_") and not k.startswith("_")]:
            delattr(self, name)

    @property
    def _n_features_out(self) -> int:
        """The output dimension, which names the output columns (``get_feature_names_out``)."""
        return self.coef_.shape[0]

    def __sklearn_tags__(self) -> Tags:
        """Declare the required target (instructed embeddings: 2-D, or 1-D for one coordinate) and float32 out."""
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.transformer_tags.preserves_dtype = ["float32"]  # the weights and every output are float32
        return tags

    def describe(self) -> str:
        """One line: the fitted method and what CV chose, e.g. ``pca-ridge k=16 prior=zero alpha=0.3``."""
        check_is_fitted(self, "coef_")
        size = "" if self.size_ is None else f" {'k' if self.method_ == 'pca-ridge' else 'r'}={self.size_}"
        prior = f" prior={self.prior_}" if self.prior_ else ""
        alpha = f" alpha={self.alpha_:.3g}" if self.alpha_ is not None else ""
        how = f" (chosen by {self.criterion} CV over {len(self.cv_results_)})" if self.cv_results_ else ""
        return f"{self.method_}{size}{prior}{alpha}{how}"

    def check_compatible(self, *, dim: int | None = None, encoder_id: str | None = None) -> None:
        """Refuse a map made for another dimension or encoder, naming both."""
        check_is_fitted(self, "coef_")
        if dim is not None and dim != self.n_features_in_:
            raise ValueError(
                f"This map takes d={self.n_features_in_} embeddings but the data has d={dim}; "
                "fit a map on embeddings from the same encoder."
            )
        made_for = self.metadata_.get("encoder")
        if encoder_id is not None and made_for and made_for != encoder_id:
            raise ValueError(
                f"This map was fitted for encoder {made_for!r}, not {encoder_id!r}; "
                "fit a map for this encoder or load the matching one."
            )

    def save(self, path: str | Path) -> Path:
        """Write ``model.safetensors`` and ``config.json`` into the folder ``path``, atomically."""
        from instructlin.core.map_io import save_map

        return save_map(self, path)

    @classmethod
    def load(cls, path: str | Path) -> InstructionMap:
        """Read a map written by :meth:`save` (safetensors and JSON only: no code runs)."""
        from instructlin.core.map_io import load_map

        return load_map(cls, path)

