"""``InstructionMap``: an affine map from base to instructed embeddings (a scikit-learn estimator)."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from instructlin.atomic import atomic_write
from instructlin.sgd import EpochCallback, EpochRecord, train_linear

MAP_FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


class MapMethod(str, Enum):
    RIDGE = "ridge"
    PROCRUSTES = "procrustes"
    SGD = "sgd"


class Prior(str, Enum):
    """What ridge shrinks the matrix toward: the identity (residual form) or zero."""

    IDENTITY = "identity"
    ZERO = "zero"


def row_cosine(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Cosine similarity of each row of ``A`` with the same row of ``B``."""
    num = np.einsum("ij,ij->i", A, B)
    den = np.linalg.norm(A, axis=1) * np.linalg.norm(B, axis=1)
    return num / np.maximum(den, 1e-12)


def _ridge_parts(X: np.ndarray, Y: np.ndarray, prior: Prior):
    """Means, the thin SVD of centred X and the centred target that ridge shrinks to zero."""
    x_mean, y_mean = X.mean(axis=0), Y.mean(axis=0)
    Xc, Yc = X - x_mean, Y - y_mean
    R = Yc - Xc if prior is Prior.IDENTITY else Yc
    U, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    return x_mean, y_mean, U, s, Vt, R


def ridge_solution(X: np.ndarray, Y: np.ndarray, alpha: float, prior: Prior) -> tuple:
    """Closed-form ridge ``argmin |XW + b - Y|^2 + alpha |W - P|^2`` with ``P`` = I or 0."""
    x_mean, y_mean, U, s, Vt, R = _ridge_parts(X, Y, prior)
    W = Vt.T @ ((s / (s**2 + alpha))[:, None] * (U.T @ R))
    if prior is Prior.IDENTITY:
        W += np.eye(X.shape[1])
    return W, y_mean - x_mean @ W


def ridge_cv_scores(
    X: np.ndarray, Y: np.ndarray, alphas: np.ndarray, prior: Prior, *, folds: int, seed: int
) -> np.ndarray:
    """Mean held-out cosine for each alpha, by k-fold CV; one SVD per fold serves every alpha."""
    from sklearn.model_selection import KFold

    scores = np.zeros(len(alphas))
    for train, val in KFold(folds, shuffle=True, random_state=seed).split(X):
        x_mean, y_mean, U, s, Vt, R = _ridge_parts(X[train], Y[train], prior)
        Xv = X[val] - x_mean
        base = (Xv if prior is Prior.IDENTITY else 0.0) + y_mean
        A, B = Xv @ Vt.T, U.T @ R
        for i, alpha in enumerate(alphas):
            pred = base + (A * (s / (s**2 + alpha))) @ B
            scores[i] += row_cosine(pred, Y[val]).mean() / folds
    return scores


def procrustes_solution(X: np.ndarray, Y: np.ndarray) -> tuple:
    """Orthogonal ``W`` and bias ``b`` minimising ``|XW + b - Y|`` (centred Procrustes)."""
    x_mean, y_mean = X.mean(axis=0), Y.mean(axis=0)
    U, _, Vt = np.linalg.svd((X - x_mean).T @ (Y - y_mean))
    W = U @ Vt
    return W, y_mean - x_mean @ W


class InstructionMap(TransformerMixin, BaseEstimator):
    """Learns ``Y_instructed ~ X_base @ W + b`` from a few paired embeddings, then maps the rest.

    ``method``: ``ridge`` (closed form; ``prior`` identity or zero; ``alpha="auto"`` picks alpha
    by k-fold CV on the training rows), ``procrustes`` (orthogonal W plus bias) or ``sgd`` (the
    seed's ``nn.Linear`` with Adam; ``callback`` sees each epoch). Fitted: ``coef_`` (d_out, d_in)
    as in scikit-learn's linear models, ``intercept_``, ``n_features_in_``, ``alpha_``.
    """

    def __init__(
        self,
        method: str = "ridge",
        *,
        alpha: float | str = "auto",
        prior: str = "identity",
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
        chunk_size: int = 65536,
    ) -> None:
        self.method = method
        self.alpha = alpha
        self.prior = prior
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

    def fit(self, X: Any, Y: Any, *, metadata: dict[str, Any] | None = None) -> InstructionMap:
        """Learn the map from paired rows of base ``X`` and instructed ``Y`` embeddings."""
        X, Y = _as_numpy(X), _as_numpy(Y)
        if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0]:
            raise ValueError(
                f"X_base has shape {X.shape} and Y_instructed has shape {Y.shape}; both must be 2-D "
                "with the same number of rows (one base and one instructed embedding per text)."
            )
        if X.shape[0] < 2:
            raise ValueError(f"Need at least 2 paired rows to fit, got {X.shape[0]}.")
        X, Y = validate_data(self, X, Y, multi_output=True, y_numeric=True, dtype=np.float64)
        method, prior = MapMethod(self.method), Prior(self.prior)
        if X.shape[1] != Y.shape[1] and (method is MapMethod.PROCRUSTES or prior is Prior.IDENTITY):
            raise ValueError(
                f"method={method.value!r} with prior={prior.value!r} needs equal dimensions, got "
                f"X_base d={X.shape[1]} and Y_instructed d={Y.shape[1]}; use prior='zero'."
            )
        self.alpha_ = None
        self.history_: list[EpochRecord] = []
        if method is MapMethod.RIDGE:
            self.alpha_ = self._choose_alpha(X, Y, prior)
            W, b = ridge_solution(X, Y, self.alpha_, prior)
        elif method is MapMethod.PROCRUSTES:
            W, b = procrustes_solution(X, Y)
        else:
            from instructlin.encoders import resolve_device

            W, b, self.history_ = train_linear(
                X, Y, epochs=self.epochs, learning_rate=self.learning_rate,
                batch_size=self.batch_size, weight_decay=self.weight_decay, loss=self.loss,
                patience=self.patience, validation_fraction=self.validation_fraction,
                device=resolve_device(self.device), seed=self.random_state, callback=self.callback,
            )
        self.coef_ = np.ascontiguousarray(W.T, dtype=np.float32)
        self.intercept_ = np.asarray(b, dtype=np.float32)
        self.metadata_ = dict(metadata or {})
        return self

    def _choose_alpha(self, X: np.ndarray, Y: np.ndarray, prior: Prior) -> float:
        if self.alpha != "auto":
            return float(self.alpha)
        scale = float(np.sum((X - X.mean(axis=0)) ** 2)) / min(X.shape)
        grid = np.asarray(self.alphas or np.logspace(-3, 3, 13)) * max(scale, 1e-12)
        folds = min(self.cv, X.shape[0])
        if folds < 2:
            return float(grid[len(grid) // 2])
        self.cv_scores_ = ridge_cv_scores(X, Y, grid, prior, folds=folds, seed=self.random_state)
        self.cv_alphas_ = grid
        return float(grid[int(np.argmax(self.cv_scores_))])

    def transform(self, X: Any) -> Any:
        """Map base embeddings (numpy or torch, any number of rows) in chunks."""
        check_is_fitted(self, "coef_")
        if _is_torch(X):
            return self._transform_torch(X)
        X = validate_data(self, _as_numpy(X), reset=False, dtype=(np.float32, np.float64))
        out = np.empty((X.shape[0], self.coef_.shape[0]), dtype=np.float32)
        W = self.coef_.T
        for start in range(0, X.shape[0], self.chunk_size):
            block = X[start : start + self.chunk_size]
            out[start : start + len(block)] = block @ W + self.intercept_
        return out

    def _transform_torch(self, X):
        import torch

        from instructlin.encoders import resolve_device

        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has shape {tuple(X.shape)} but this map expects (n, {self.n_features_in_})."
            )
        device = resolve_device(self.device)
        W = torch.as_tensor(self.coef_.T, device=device)
        b = torch.as_tensor(self.intercept_, device=device)
        chunks = [
            (X[s : s + self.chunk_size].to(device, torch.float32) @ W + b).to(X.device)
            for s in range(0, X.shape[0], self.chunk_size)
        ]
        return torch.cat(chunks) if chunks else X.new_zeros((0, W.shape[1]))

    def score(self, X: Any, Y: Any) -> float:
        """Mean cosine between mapped ``X`` and the instructed ``Y`` (higher is better)."""
        return float(row_cosine(_as_numpy(self.transform(X)), _as_numpy(Y)).mean())

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
        from safetensors.numpy import save_file

        check_is_fitted(self, "coef_")
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        params = {k: v for k, v in self.get_params().items() if k != "callback"}
        config = {
            "format_version": MAP_FORMAT_VERSION,
            "params": params,
            "n_features_in": int(self.n_features_in_),
            "n_features_out": int(self.coef_.shape[0]),
            "alpha": self.alpha_,
            "metadata": self.metadata_,
        }
        tensors = {"coef": self.coef_, "intercept": self.intercept_}
        atomic_write(folder / WEIGHTS_FILE, lambda tmp: save_file(tensors, tmp))
        atomic_write(
            folder / CONFIG_FILE,
            lambda tmp: Path(tmp).write_text(json.dumps(config, indent=2), encoding="utf-8"),
        )
        return folder

    @classmethod
    def load(cls, path: str | Path) -> InstructionMap:
        """Read a map written by :meth:`save` (safetensors and JSON only: no code runs)."""
        from safetensors.numpy import load_file

        folder = Path(path)
        if not (folder / WEIGHTS_FILE).exists() or not (folder / CONFIG_FILE).exists():
            raise FileNotFoundError(
                f"{folder} is not a saved map: it needs {WEIGHTS_FILE} and {CONFIG_FILE}."
            )
        config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        if config.get("format_version") != MAP_FORMAT_VERSION:
            raise ValueError(
                f"{folder} has map format {config.get('format_version')!r}; this instructlin "
                f"reads format {MAP_FORMAT_VERSION}. Re-fit the map with this version."
            )
        tensors = load_file(str(folder / WEIGHTS_FILE))
        coef, intercept = tensors["coef"], tensors["intercept"]
        if coef.shape != (config["n_features_out"], config["n_features_in"]):
            raise ValueError(f"{folder}: weights of shape {coef.shape} disagree with config.json.")
        estimator = cls(**config["params"])
        estimator.coef_, estimator.intercept_ = coef, intercept
        estimator.n_features_in_ = int(config["n_features_in"])
        estimator.alpha_ = config.get("alpha")
        estimator.metadata_ = config.get("metadata", {})
        estimator.history_ = []
        return estimator


def _is_torch(X: Any) -> bool:
    return type(X).__module__.startswith("torch")


def _as_numpy(X: Any) -> np.ndarray:
    if _is_torch(X):
        return X.detach().float().cpu().numpy()
    return np.asarray(X)
